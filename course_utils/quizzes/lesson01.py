"""Lesson 1's quiz: blur as heat spreading, the forward steps (eq. 1.3-1.5), the schedules, which detail
drowns first (eq. 1.8), and why the process ends in static (eq. 1.9)."""

from course_utils.quiz import Choice, Question

QUESTIONS = (
    Question(
        kind="bug",
        prompt=(
            "An answer to Exercise 1.4, the jump to code timestep `t` (eq. 1.5). It runs, and the shapes are "
            "right. Which line is wrong?"
        ),
        code=(
            "alpha_bar_t = alphas_cumprod[t].view(-1, 1, 1, 1)  # (N,) -> (N, 1, 1, 1)\n"
            "noise = (1 - alpha_bar_t) * eps\n"
            "x_t = alpha_bar_t.sqrt() * x0 + noise"
        ),
        choices=(
            Choice(
                "Line 1: `.view(-1, 1, 1, 1)` is not needed, `alphas_cumprod[t]` already holds one number "
                "per picture.",
                why=(
                    "It does hold one number per picture, shape (N,). But broadcasting lines shapes up from the "
                    "right, so (N,) against (N, C, H, W) pairs the N numbers with the W columns of every picture: "
                    "an error unless N is 1 or W, and wrong pictures when N = W. The reshape to (N, 1, 1, 1) is "
                    "what gives each picture its own number."
                ),
            ),
            Choice(
                "Line 2: the noise must be scaled by `(1 - alpha_bar_t).sqrt()`, not `(1 - alpha_bar_t)`.",
                correct=True,
                why=(
                    r"$1-\bar\alpha_t$ is the *variance* of the noise in $x_t$, and $\epsilon$ is scaled by "
                    r"its square root, the standard deviation. With the bug, at $\bar\alpha_t = 0.5$ the noise has "
                    "standard deviation 0.5 instead of 0.71: in the middle of the schedule every $x_t$ is too "
                    r"quiet and shows more of the picture than its $t$ says. Only at the ends, where "
                    r"$1-\bar\alpha_t$ is 0 or 1, do the two agree, which is why a quick look at `t = 999` misses it."
                ),
            ),
            Choice(
                "Line 3: `x0` must be scaled by `alpha_bar_t`, the same way as the noise in line 2.",
                why=(
                    "Making the two lines match looks tidy, and it fixes the asymmetry you may have noticed. "
                    r"But it fixes it the wrong way round: $\bar\alpha_t$ is the share of the signal's "
                    r"*variance* that is left, so the picture is scaled by $\sqrt{\bar\alpha_t}$, which line 3 "
                    "already does. It is line 2 that lacks its square root."
                ),
            ),
            Choice(
                r"None: $q(x_t \mid x_0) = \mathcal N(\sqrt{\bar\alpha_t}\,x_0,\ (1-\bar\alpha_t)\,I)$ has "
                r"$1-\bar\alpha_t$ in it, just as line 2 does.",
                why=(
                    r"The formula is right, and that is the trap: the second argument of $\mathcal N$ is the "
                    r"*covariance*. To draw from it you scale standard normal noise by the square root, "
                    r"$\sqrt{1-\bar\alpha_t}\,\epsilon$ (eq. 1.5)."
                ),
            ),
        ),
    ),
    Question(
        kind="predict",
        prompt=(
            "Going further 1: set `T = 100` and keep the linear schedule, $\\beta_t$ from $10^{-4}$ to 0.02 "
            "as before. Predict the last of the 100 steps, before you run it."
        ),
        choices=(
            Choice(
                "Pure static, as with `T = 1000`: the betas run over the same range, so they end in the "
                "same place.",
                why=(
                    r"Tempting, because the schedule looks the same on a plot. But what is left of the signal "
                    r"is a *product*, $\bar\alpha_T = \prod_s (1-\beta_s)$: 100 factors shrink it far less "
                    r"than 1,000. For `T = 1000` the betas add up to about 10 and $\bar\alpha_T = 4 \times 10^{-5}$; "
                    r"for `T = 100` they add up to 1 and $\bar\alpha_T = 0.36$."
                ),
            ),
            Choice(
                "The photo still shows clearly under the static ($\\bar\\alpha_T \\approx 0.36$), and the "
                "variance check fails.",
                correct=True,
                why=(
                    r"The product of the 100 alphas is $\bar\alpha_T = 0.36$ (run "
                    r"`cu.NoiseScheduler(100).alphas_cumprod[-1]`: linear is its default), so "
                    r"$x_T = 0.60\,x_0 + 0.80\,\epsilon$: the end depends on the picture (in the course's run "
                    "its correlation with the photo is 0.39 and its variance 0.74, which fails the check). "
                    "Generation could not start from `torch.randn`, which knows nothing of that 0.6 of a photo."
                ),
            ),
            Choice(
                "The variance blows up: each step adds noise and there are no longer enough steps to "
                "shrink it back.",
                why=(
                    r"The variance check failing makes this tempting. But every single step preserves the "
                    r"variance by itself: $(1-\beta_t)\cdot 1 + \beta_t \cdot 1 = 1$ (eq. 1.3), and starting "
                    "below 1 it only rises towards 1. It fails because it ends *below* 1 (about 0.74), the "
                    "photo's own variance (0.32) being only partly replaced by static."
                ),
            ),
        ),
    ),
    Question(
        kind="equation",
        prompt=(
            r"Which expression is $\bar\alpha_t$, the share of the clean picture's variance that is left "
            r"after steps $1, \dots, t$ of eq. 1.3?"
        ),
        choices=(
            Choice(
                r"$\prod_{s=1}^{t} (1-\beta_s)$",
                correct=True,
                why=(
                    r"Each step multiplies the signal by $\sqrt{1-\beta_s}$, so its variance by $1-\beta_s$; "
                    r"after $t$ steps the variance that is left is the product (eq. 1.4). In code: "
                    "`torch.cumprod(1 - betas, dim=0)`."
                ),
            ),
            Choice(
                r"$1 - \sum_{s=1}^{t} \beta_s$",
                why=(
                    r"For the first few steps it is almost right: with tiny betas, "
                    r"$(1-\beta_1)(1-\beta_2) \approx 1 - \beta_1 - \beta_2$. But the error grows: the linear "
                    r"betas add up to about 10 over 1,000 steps, so this would go far below zero, while a share "
                    "of a variance stays between 0 and 1."
                ),
            ),
            Choice(
                r"$\prod_{s=1}^{t} \beta_s$",
                why=(
                    "The hint asks 'the betas, or the alphas?', and multiplying the betas is the slip it "
                    r"warns about. The betas are the *noise* added at each step; their product, about "
                    r"$10^{-4} \cdot 10^{-4} \cdots$, is nearly zero after two steps, which would mean the "
                    "picture vanished at once."
                ),
            ),
            Choice(
                r"$\prod_{s=1}^{t} \sqrt{1-\beta_s}$",
                why=(
                    r"This is a real quantity of the process, which makes it tempting: it is "
                    r"$\sqrt{\bar\alpha_t}$, the factor that multiplies the picture's *amplitude* in eq. 1.5. "
                    "The question asked for the share of the *variance*, which is its square."
                ),
            ),
        ),
    ),
    Question(
        kind="plot",
        prompt=(
            "Section 4's bar chart 'when each kind of detail drowns' shows, for each group $k_y + k_x$ "
            r"(0: mean brightness, 14: finest), the first code timestep at which $\mathrm{SNR}_k < 1$ on the "
            "digits, cosine schedule, no blur. Which group has the tallest bar?"
        ),
        choices=(
            Choice(
                "None: the bars are all the same height, because the static puts the same power on every "
                "pattern.",
                why=(
                    "The premise is right, and the lesson stresses it: the static's power is "
                    r"$1-\bar\alpha_t$ on every pattern. But the ratio also has the picture's power in it, "
                    r"$\mathrm{SNR}_k(t) = \mathrm{SNR}(t)\,P_k$ (eq. 1.8), and the groups' power ranges from "
                    "10 (mean brightness) to 0.04 (finest), so the crossings range from 803 to 121."
                ),
            ),
            Choice(
                "Group 14, the finest checkerboard: blur removes fine detail first, so noise, working the "
                "other way, removes it last.",
                why=(
                    "Noise and blur do differ, so expecting the opposite order is natural. But static is a "
                    "cover, not a filter: whatever is weakest goes under first, and the digits hold the least "
                    "power in their finest patterns (0.04). Group 14 has the *shortest* bar, 121: static, like "
                    "blur, drowns fine detail first."
                ),
            ),
            Choice(
                "Group 2, which holds pattern $(0, 2)$, the digits' strongest pattern.",
                why=(
                    "A good reading of the lesson: pattern $(0, 2)$ is the digits' strongest, power 16, more "
                    "than the mean brightness's 10, and group 2 lasts until code timestep 748, far longer than its "
                    "neighbours (groups 1 and 3: 419 and 394). But a bar belongs to a whole group, whose SNR is "
                    "its total signal over its total noise. Group 2's other two patterns, $(1, 1)$ and $(2, 0)$, "
                    "are weak (0.5 and 0.9), so the group averages 5.8 and drowns before group 0 (power 10, at "
                    "803)."
                ),
            ),
            Choice(
                "Group 0, the mean brightness: it drowns last, at code timestep 803.",
                correct=True,
                why=(
                    r"Group 0 is the mean brightness alone, with power $P_0 \approx 10$ (the digits are mostly "
                    r"paper, at $-1$): more than any other group (group 2 holds the single strongest pattern, but "
                    r"averages 5.8 over its three). With the same static on every pattern, the group with the most "
                    r"power keeps $\mathrm{SNR}_k > 1$ longest (eq. 1.8). The finest group goes first, at 121."
                ),
            ),
        ),
    ),
    Question(
        kind="concept",
        prompt=(
            "Blurring diffusion (eq. 1.9) blurs *and* mixes in static, ending in pure static rather than in "
            "a flat blurred square. Why does generation want the process to end in static?"
        ),
        choices=(
            Choice(
                "Static keeps more of the picture than a heavy blur, so there is more to work back from.",
                why=(
                    "It is true that static hides detail where blur removes it, which makes this sound "
                    r"plausible. But at the end nothing of the picture is kept: $\bar\alpha_T = 2.4 \times "
                    r"10^{-9}$, and $x_T$ from the photo and from a different picture agree to $10^{-4}$. The "
                    "reason is the opposite: the end keeps *nothing* of the picture."
                ),
            ),
            Choice(
                "Its end point, $\\mathcal N(0, I)$, is the same for every picture and can be drawn exactly "
                "with `torch.randn`.",
                correct=True,
                why=(
                    "Generation must start from the end point with no picture in hand. Pure static is the same "
                    "for every picture and we know its distribution exactly. A blurred end keeps the picture's "
                    "average colour (so we would need a fitted density to draw it), and undoing a deterministic "
                    "blur is one-to-many: one start could only ever lead to one picture."
                ),
            ),
            Choice(
                "A blur can never be completed: heat spreading only ever approaches a flat square.",
                why=(
                    r"There is a grain of truth (the lesson even keeps a floor $d_{\min} = 0.001$ of every "
                    "frequency). But 'nearly flat' would be good enough if that were the problem: inverse heat "
                    "dissipation starts from fully blurred pictures. The problem is that the flat end still "
                    "depends on the picture (a dark photo ends dark) and has no randomness to give variety."
                ),
            ),
            Choice(
                "Static is easier for a network to learn to remove than blur, so each step back is easier.",
                why=(
                    "Undoing blur is indeed hard, so this sounds reasonable. But it is a claim about the "
                    "*steps*, and the question is about the *end point*: where generation starts. The lesson's "
                    "two reasons are that the static end can be drawn exactly and that it gives variety."
                ),
            ),
        ),
    ),
)
