"""Lesson 3's quiz: one DDPM step (eq. 3.1-3.3), the walk back and its slider, the mean without fresh noise,
DDIM (eq. 3.5), and reading the memorisation histogram."""

from course_utils.quiz import Choice, Question

QUESTIONS = (
    Question(
        kind="bug",
        prompt=(
            "An answer to Exercise 3.1, one DDPM step (`t` an int, `z` standard normal noise). It runs "
            "without an error. Which line is wrong?"
        ),
        code=(
            "x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\n"
            "mean = (alpha_bar_prev.sqrt() * beta_t / (1 - alpha_bar_t)) * x0_hat \\\n"
            "    + ((1 - beta_t).sqrt() * (1 - alpha_bar_prev) / (1 - alpha_bar_t)) * x_t\n"
            "x_prev = mean + (1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t * z if t > 0 else mean"
        ),
        choices=(
            Choice(
                "The first: `.clamp(-1, 1)` does not belong there, Algorithm 2 of Ho et al. 2020 has no "
                "clipping.",
                why=(
                    "True of the paper's Algorithm 2, so it is a well-informed suspicion. But clipping is a "
                    "choice, not a bug: their released code and `diffusers` clip, and so does the course, "
                    "since pictures live in [-1, 1]. Without it the samples would still be digits."
                ),
            ),
            Choice(
                "The mean: the factor of `x_t` should be `alpha_bar_t.sqrt()`, not `(1 - beta_t).sqrt()`.",
                why=(
                    r"With $\alpha$ and $\bar\alpha$ side by side, mixing them up is easy. But eq. 3.1 "
                    r"multiplies $x_t$ by $\sqrt{\alpha_t}\,(1-\bar\alpha_{t-1})/(1-\bar\alpha_t)$, with the "
                    r"one-step $\alpha_t = 1 - \beta_t$: going back one step undoes one step's shrinking, not "
                    "all of them."
                ),
            ),
            Choice(
                "The last: the noise must be scaled by the square root of $\\tilde\\beta_t$.",
                correct=True,
                why=(
                    r"$\tilde\beta_t$ (eq. 3.2) is a *variance*; $z$ is standard normal and needs the standard "
                    r"deviation, $\sqrt{\tilde\beta_t}$ (eq. 3.3). Since $\tilde\beta_t < 1$, the bug adds too "
                    r"little noise at every step (at $\tilde\beta_t = 0.01$, a tenth of what it should): the "
                    "very slip the hint warns about."
                ),
            ),
            Choice(
                "The last: the noise term must also be added at `t = 0`, or the last step is not a DDPM step.",
                why=(
                    "Every other step adds noise, so leaving out the last looks like an inconsistency. But eq. "
                    r"3.3 says $z = 0$ at the last step on purpose: it lands on the clean picture $x_0$, and "
                    "fresh noise there would only sprinkle static on the result."
                ),
            ),
        ),
    ),
    Question(
        kind="predict",
        prompt=(
            "The run slider counts the steps done: 0 is the static $x_{T-1}$, 1,000 the clean $x_0$. Left the "
            "samples $x_t$, right the guess $\\hat x_0$. Predict what you see after 500 of the 1,000 steps "
            "(code timestep 499)."
        ),
        choices=(
            Choice(
                "Both still pure static: the digit appears only in the last hundred steps.",
                why=(
                    "The lesson does say the sample stays noisy almost to the end, and the last steps do "
                    r"remove the remaining static. But at code timestep 499 the cosine schedule has "
                    r"$\bar\alpha = 0.49$: half of the variance is already picture, and the guess on the "
                    "right settled into a digit long before."
                ),
            ),
            Choice(
                "A digit on the right, mostly the one the run ends on; on the left the same, under heavy "
                "static.",
                correct=True,
                why=(
                    r"The guess settles early into a blurry average digit and sharpens as $t$ falls (in a run "
                    "of 16 from the shipped model, the lesson's classifier already reads 13 of the 16 guesses "
                    "at code timestep 499 as the digit the run ends on); the sample carries noise of standard "
                    r"deviation $\sqrt{1-\bar\alpha_t} \approx 0.71$ until the last few hundred steps take it away."
                ),
            ),
            Choice(
                "A clean digit on the left, and static on the right: the guess only catches up at the end.",
                why=(
                    r"It swaps the two panels. The guess $\hat x_0$ is the network's best picture *at this "
                    r"step*, and it has no noise term in it; the sample $x_t$ is the one that must still hold "
                    r"noise of standard deviation $\sqrt{1-\bar\alpha_t}$ for the walk to be right."
                ),
            ),
        ),
    ),
    Question(
        kind="predict",
        prompt=(
            "Section 3 runs the mean of eq. 3.1 alone, with no fresh noise, 16 times from 16 different "
            "pictures of static. Predict the 16 results."
        ),
        choices=(
            Choice(
                "16 different digits, as with DDIM at $\\eta = 0$, which adds no fresh noise either.",
                why=(
                    "DDIM's runs do stay apart without fresh noise, so 'no noise' cannot be the whole problem, "
                    r"and that is the lesson's point. But the mean pushes about twice as hard as DDIM's step "
                    r"(the reverse SDE's push, without the noise that balances it): at $t = 999$, where "
                    r"$\beta = 0.999$, it keeps 3 % of $x_t$, and the runs merge within the first ten steps."
                ),
            ),
            Choice(
                "16 blurry grey averages: without noise the sampler cannot commit to any digit.",
                why=(
                    "A natural guess if fresh noise is what makes pictures sharp. But the runs do commit: they "
                    r"all collapse, within ten steps, onto the path that starts at $x = 0$, and that path ends "
                    "on one crisp digit."
                ),
            ),
            Choice(
                "The same crisp digit 16 times (for the shipped model an 8), whatever static each run "
                "started from.",
                correct=True,
                why=(
                    r"The spread between the runs falls from 1 to about 0.03 in the first step and below "
                    r"$10^{-3}$ by $t = 950$; at the end it is about $10^{-4}$, against 0.45 for DDPM and for "
                    "real digits. DDPM's fresh noise puts back exactly what that squeeze takes."
                ),
            ),
            Choice(
                "16 pictures of static: taking noise away without adding any leaves the static where it is.",
                why=(
                    "It treats the mean as doing nothing. It does a lot: each step subtracts part of the noise "
                    r"guess and scales by $1/\sqrt{\alpha_t}$, and the result is a digit, only the same one "
                    "every time."
                ),
            ),
        ),
    ),
    Question(
        kind="equation",
        prompt=(
            r"DDIM with $\eta = 0$ jumps from $t$ to an earlier $t'$ (eq. 3.5). With $\hat x_0$ and "
            r"$\hat\epsilon$ from the network at $t$, which is $x_{t'}$?"
        ),
        choices=(
            Choice(
                r"$x_{t'} = \sqrt{\bar\alpha_{t'}}\;\hat x_0 + \sqrt{1-\bar\alpha_{t'}}\;z$, with fresh "
                r"$z \sim \mathcal N(0, I)$",
                why=(
                    r"It is eq. 1.5 applied to the guess, a natural way to 'make $x_{t'}$'. But it throws "
                    r"away the noise direction $\hat\epsilon$ that $x_t$ already had and draws a new one "
                    r"each step: more noise than even $\eta = 1$ adds, and no longer deterministic. With "
                    r"$\eta = 0$ there is no $z$ at all."
                ),
            ),
            Choice(
                r"$x_{t'} = \sqrt{\bar\alpha_{t'}}\;\hat x_0 + \sqrt{1-\bar\alpha_t}\;\hat\epsilon$",
                why=(
                    r"It keeps the network's own noise guess, which is right, but at the level of noise of "
                    r"$t$. The point of the jump is to land at $t'$, so the noise must be scaled for $t'$: "
                    r"$\sqrt{1-\bar\alpha_{t'}}$. As written, the last jump would leave the full noise of its "
                    "starting step in the 'clean' picture."
                ),
            ),
            Choice(
                r"$x_{t'} = \sqrt{\bar\alpha_{t'}}\;\hat x_0 + \sqrt{1-\bar\alpha_{t'}}\;\hat\epsilon$",
                correct=True,
                why=(
                    r"Eq. 3.5 with $\sigma_t = 0$: rebuild $x_{t'}$ the way eq. 1.5 would make it, from the "
                    "guessed clean picture and the guessed noise. No fresh noise, so the same static always "
                    r"gives the same digit; the last jump ($t' = -1$, $\bar\alpha = 1$) lands on $\hat x_0$."
                ),
            ),
            Choice(
                r"$x_{t'} = \sqrt{\bar\alpha_{t'} / \bar\alpha_t}\;x_t$",
                why=(
                    r"It undoes the difference in signal scale between $t$ and $t'$, which is part of the "
                    r"step. But it scales the noise in $x_t$ up along with the picture and removes none of it: "
                    r"the last jump, to $\bar\alpha = 1$, would divide $x_t$ by $\sqrt{\bar\alpha_t}$ and blow "
                    "its noise up."
                ),
            ),
        ),
    ),
    Question(
        kind="plot",
        prompt=(
            "Section 6's histogram: for each digit, the distance to the nearest training digit, for held-out "
            "real digits and for generated ones. The generated histogram sits a little to the left of the "
            "held-out one. What does that say?"
        ),
        choices=(
            Choice(
                "The model copies its training digits: its samples are training digits, redrawn.",
                why=(
                    "Closer to the training set does point that way, so it is tempting. But copies would pile "
                    "up near distance 0, and they do not: the generated digits are *somewhat* closer than new "
                    "real digits, not identical to training ones."
                ),
            ),
            Choice(
                "Some memorisation: the samples lean a little more towards the training digits than new real "
                "ones do.",
                correct=True,
                why=(
                    "Held-out digits show how far a genuinely new drawing usually is from its nearest training "
                    "digit. Sitting a little to the left means a little closer than that: the model leans "
                    "towards its training set, the first sign of what the ideal denoiser would do all the way; "
                    "that is why the shipped checkpoint trains with dropout."
                ),
            ),
            Choice(
                "The generated digits are better than real ones: they are closer to real data.",
                why=(
                    "Closer to real data sounds like higher quality. But closer to the *training* digits, "
                    "specifically, is not what quality means: new real digits are the reference for how far a "
                    "good new drawing sits, and quality is measured separately (Frechet distance, precision "
                    "and recall)."
                ),
            ),
        ),
    ),
)
