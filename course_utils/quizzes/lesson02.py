"""Lesson 2's quiz: the noise-prediction loss (eq. 2.1), a noise guess as a picture guess (eq. 2.2), where
denoising is hard, the slider at t = 999, and the ideal denoiser (eq. 2.3)."""

from course_utils.quiz import Choice, Question

QUESTIONS = (
    Question(
        kind="equation",
        prompt=(
            r"The network guessed the noise, $\hat\epsilon = \epsilon_\theta(x_t, t)$. Which expression is its "
            r"guess of the clean picture $\hat x_0$?"
        ),
        choices=(
            Choice(
                r"$\hat x_0 = x_t - \sqrt{1-\bar\alpha_t}\;\hat\epsilon$",
                why=(
                    "Taking the noise away is the right first move, and it is where most first attempts stop. "
                    r"But eq. 1.5 also shrank the picture: $x_t$ holds $\sqrt{\bar\alpha_t}\,x_0$, not $x_0$. "
                    r"Without dividing by $\sqrt{\bar\alpha_t}$ you get a faint picture, at $t = 999$ about "
                    r"$5 \times 10^{-5}$ of the real one."
                ),
            ),
            Choice(
                r"$\hat x_0 = \big(x_t - (1-\bar\alpha_t)\,\hat\epsilon\big) / \sqrt{\bar\alpha_t}$",
                why=(
                    r"The structure is right, and $1-\bar\alpha_t$ does appear in the lesson, as the noise's "
                    r"*variance*. But $\hat\epsilon$ is standard normal, so the noise in $x_t$ is "
                    r"$\epsilon$ times the standard deviation, $\sqrt{1-\bar\alpha_t}$ (eq. 1.5); subtracting "
                    "the wrong amount leaves some noise behind, magnified by the division."
                ),
            ),
            Choice(
                r"$\hat x_0 = \big(x_t - \sqrt{1-\bar\alpha_t}\;\hat\epsilon\big) / \sqrt{\bar\alpha_t}$",
                correct=True,
                why=(
                    r"Eq. 2.2: solve eq. 1.5, $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon$, "
                    r"for $x_0$ with the guess in place of $\epsilon$. Take the noise part away, then divide by "
                    "the number that multiplied the picture."
                ),
            ),
            Choice(
                r"$\hat x_0 = \sqrt{\bar\alpha_t}\,x_t - \sqrt{1-\bar\alpha_t}\;\hat\epsilon$",
                why=(
                    r"It reuses the pieces of eq. 1.5, which makes it look familiar, but it runs the jump "
                    r"forward again instead of undoing it: multiplying by $\sqrt{\bar\alpha_t}$ shrinks the "
                    "picture a second time. Undoing a multiplication means dividing."
                ),
            ),
        ),
    ),
    Question(
        kind="bug",
        prompt=(
            "A learner's `diffusion_loss` (Exercise 2.2; `alphas_cumprod[t]` already reshaped as `a`). It "
            "runs, and training starts, but the loss stays at 1.0 however long it trains. Why?"
        ),
        code=(
            "t = torch.randint(0, T, (N,), generator=generator)\n"
            "a = alphas_cumprod[t].view(-1, *([1] * (x0.ndim - 1)))\n"
            "x_t = a.sqrt() * x0 + (1 - a).sqrt() * torch.randn(x0.shape, generator=generator)\n"
            "loss = ((model(x_t, t) - torch.randn(x0.shape, generator=generator)) ** 2).mean()"
        ),
        choices=(
            Choice(
                "`t` must be drawn from 1 to `T`, as in Ho et al.'s eq. 14, not from 0 to `T - 1`.",
                why=(
                    "Ho et al. do draw $t$ from $1..T$, so this is a fair suspicion. But the code counts the "
                    "same steps from 0: `alphas_cumprod[t]` for `t` in 0..T-1 is the paper's "
                    r"$\bar\alpha_{t+1}$. Drawing 1..T would index past the end of the table, and either way "
                    "it would not pin the loss at 1."
                ),
            ),
            Choice(
                "The target is a *second*, fresh draw of noise, not the one inside `x_t`: nothing about it "
                "can be learned.",
                correct=True,
                why=(
                    r"The network sees $x_t$, which contains the first draw; the target is an independent "
                    r"second one. No function of $x_t$ predicts it, so the loss is at least 1 (its variance), "
                    r"reached by $\hat\epsilon = 0$: the 'learned nothing' score of the lesson. Draw `eps` "
                    "once, use it in `x_t` and as the target."
                ),
            ),
            Choice(
                "The loss should be summed over the pixels, as in the norm $\\|\\cdot\\|^2$ of eq. 2.1, not "
                "averaged.",
                why=(
                    r"Eq. 2.1 does write a squared norm, a sum. But the mean only divides the loss by the "
                    "number of pixels (64 for a digit): the same minimum, the same network, a different "
                    "scale. A summed loss stuck at 64 would be the same failure."
                ),
            ),
        ),
    ),
    Question(
        kind="plot",
        prompt=(
            "Section 5 splits the held-out loss of the digit U-Net by timestep (20 bins over 0..999). What "
            "shape do the bars have?"
        ),
        choices=(
            Choice(
                r"Lowest at small $t$, rising towards $t = 999$: a nearly clean digit is easy to denoise, "
                "pure static impossible.",
                why=(
                    r"It matches the intuition that a clearer picture is an easier one. But the network guesses "
                    r"the *noise*, not the picture. At large $t$, $x_t$ is almost all noise, so "
                    r"$\hat\epsilon \approx x_t$ is nearly perfect; at small $t$ the noise is a faint sprinkle "
                    "and telling specks of noise from ink is hard."
                ),
            ),
            Choice(
                "About the same height everywhere: the simplified loss weights every timestep equally.",
                why=(
                    "The simplified objective does give every $t$ the same weight, which is a true and "
                    "relevant fact. But equal weight is not equal difficulty: the bars measure how hard the "
                    "guess is at each $t$, and with the shipped model they fall from about 0.5 to about 0.001."
                ),
            ),
            Choice(
                r"Highest at small $t$, falling to nearly 0 at large $t$.",
                correct=True,
                why=(
                    r"With the shipped model, from about 0.5 in the first bar ($t < 50$) to about 0.001 in the "
                    r"last. At large $t$ the noise is nearly all of $x_t$, so guessing it is easy; at small "
                    r"$t$ it is a faint sprinkle on a clear digit. (For the *picture* it is the reverse: eq. 2.2 "
                    r"multiplies an error in $\hat\epsilon$ by $\sqrt{1-\bar\alpha_t}/\sqrt{\bar\alpha_t}$, tiny "
                    r"at small $t$ and huge at large $t$.)"
                ),
            ),
        ),
    ),
    Question(
        kind="predict",
        prompt=(
            "In the digits slider, the bottom row is the network's guess $\\hat x_0$ (eq. 2.2), clipped to "
            "[-1, 1]. Predict what it shows when you drag the slider to the far right, `t = 999`."
        ),
        choices=(
            Choice(
                "A blurry average digit, since with that much static the best single guess is an average.",
                why=(
                    "That is what the *ideal* guess of the clean picture does at large $t$ (the green crosses "
                    r"of the points slider). But $\hat x_0$ here comes from the noise guess through eq. 2.2, which at "
                    r"`t = 999` divides by $\sqrt{\bar\alpha_t} \approx 5 \times 10^{-5}$: the average never "
                    "survives that."
                ),
            ),
            Choice(
                "Hard black-and-white speckle: eq. 2.2 blows small errors in the noise guess up enormously.",
                correct=True,
                why=(
                    r"At `t = 999`, $\bar\alpha_t = 2.4 \times 10^{-9}$ and "
                    r"$\sqrt{1-\bar\alpha_t}/\sqrt{\bar\alpha_t} \approx 20{,}000$. A noise guess off by 0.05 "
                    "puts the picture guess off by 1,000; clipped to [-1, 1], only the sign is left. The "
                    "network is not failing: the formula is."
                ),
            ),
            Choice(
                "The true digit: the noise guess is very good at large $t$, so the picture guess is too.",
                why=(
                    "The first half is right: at large $t$ the noise guess is excellent (the loss is nearly "
                    "0 there). But 'nearly' is multiplied by about 20,000 in eq. 2.2, so even a tiny error "
                    "swamps the digit."
                ),
            ),
            Choice(
                "Flat grey everywhere: there is no information left, so the guess is 0.",
                why=(
                    "Right that almost no information is left, and an ideal guess would indeed be close to "
                    "an average. But this guess is not chosen to be cautious: it is whatever eq. 2.2 makes "
                    r"of the noise guess, with its errors magnified about 20,000 times."
                ),
            ),
        ),
    ),
    Question(
        kind="concept",
        prompt=(
            "Section 3's ideal denoiser (eq. 2.3) is the best possible guess of $x_0$ for the training set. "
            "Suppose a sampler used it, instead of a network, all the way down to $t = 0$. What would it "
            "produce?"
        ),
        choices=(
            Choice(
                "Copies of training points: at small $t$ the softmax puts nearly all its weight on one of them.",
                correct=True,
                why=(
                    r"At small $t$ the Gaussian weights of eq. 2.3 are so sharp that the ideal guess *is* the "
                    "nearest training point (the orange curve starts near zero). A network that generalises "
                    "must be a little worse than ideal on its training set; Lesson 3 checks its digits for copies."
                ),
            ),
            Choice(
                "The best new samples possible: it makes no mistakes, so nothing it draws can be wrong.",
                why=(
                    "'Best possible guess' sounds like 'best possible sampler'. But it is best at predicting "
                    "*this* training set, and the best prediction of a training point is that training point: "
                    "nothing new can come out."
                ),
            ),
            Choice(
                "Blends of the training points: the ideal guess is a weighted average, so it lands between "
                "them.",
                why=(
                    r"It is a weighted average, and at large $t$ it does blend them all: every guess collapses "
                    r"to the middle of the moons. But as $t$ falls, $1-\bar\alpha_t$ shrinks and the softmax "
                    "sharpens, until one training point takes nearly all the weight, and the blend is that point."
                ),
            ),
        ),
    ),
)
