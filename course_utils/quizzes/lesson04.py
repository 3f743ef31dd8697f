"""Lesson 4's quiz (course_utils.quiz.take_quiz(4)): blur to static, walked backwards.

Why a smudge alone cannot be undone, the clean guess and the step per DCT frequency (eq. 4.1-4.5), the first step
from T-1 (eq. 4.6), coarse to fine, and SDEdit.
"""

from course_utils.quiz import Choice, Question

QUESTIONS = (
    Question(
        kind="predict",
        prompt=(
            "Section 1 rounds the eight full smudges ($t = T-1$, a 3-pixel blur, no static) to 256 grey levels, an "
            "error of at most 0.004, and then un-blurs them exactly: every DCT coefficient divided by the share "
            "$d_{T-1}(k)$ the blur kept of it. Before you run the cell: what will the bottom row show?"
        ),
        choices=(
            Choice(
                "The eight digits, sharp, with a faint grain of about 0.004: an error that small stays small.",
                why=(
                    "Tempting: the top row, un-blurred from the exact smudges, does give the digits back (error "
                    "below $10^{-3}$), and 0.004 is a tiny error. But the division multiplies each frequency's error "
                    "by $1/d_{T-1}(k)$, and the finest frequency keeps only about 0.001 of itself: its share of the "
                    "rounding error comes back about 1,000 times larger. The cell measures a largest pixel error "
                    "above 1, in pictures that live in [-1, 1]."
                ),
            ),
            Choice(
                "Something like static: pixel errors above 1, the rounding amplified about 1,000 times.",
                correct=True,
                why=(
                    "The floor $d_{\\min} = 0.001$ makes the blur invertible on paper, but undoing it divides "
                    "the finest frequency by about 0.001, and any error there, even rounding to 256 grey levels, "
                    "grows about 1,000 times. So a deterministic deblurrer must *choose* one picture per smudge; blur "
                    "to static lets every step back draw instead."
                ),
            ),
            Choice(
                "Eight copies of the same grey smudge: blur is many to one, so nothing comes back.",
                why=(
                    "Tempting: the cell before it shows the eight smudges all alike (their spread falls below a "
                    "quarter). But the exact division is a true inverse: the top row gets the digits back from the "
                    "unrounded smudges. What ruins the bottom row is the amplified rounding error, and it looks like "
                    "static, not like a smudge."
                ),
            ),
            Choice(
                "A division by zero: the 3-pixel blur wiped the finest frequency out completely.",
                why=(
                    "Tempting: to the eye a 3-pixel blur on an 8 x 8 picture leaves no fine detail at all. But "
                    "$d_t(k) = (1-d_{\\min})\\,e^{-\\lambda_k \\tau_t} + d_{\\min}$ never falls below $d_{\\min} = "
                    "0.001$, and even without the floor $e^{-\\lambda\\tau} \\approx 9 \\times 10^{-16}$ at $T-1$: "
                    "tiny, not zero, even in float32."
                ),
            ),
        ),
    ),
    Question(
        kind="equation",
        prompt=(
            "In the DCT basis each frequency is its own small diffusion, $u_t = \\alpha_t(k)\\,u_0 + "
            "\\sigma_t\\,\\epsilon_u$ (eq. 4.1, with $\\alpha_t(k) = \\sqrt{\\bar\\alpha_t}\\,d_t(k)$). The network "
            "guesses the static $\\hat\\epsilon$ in pixels, and $\\hat\\epsilon_u = \\mathrm{DCT}(\\hat\\epsilon)$. "
            "Which clean guess does one step back use?"
        ),
        choices=(
            Choice(
                "$\\hat u_0 = (u_t - \\sigma_t\\,\\hat\\epsilon_u)\\,/\\,\\alpha_t(k)$",
                correct=True,
                why=(
                    "Eq. 4.1 solved for $u_0$, frequency by frequency (eq. 4.2). $\\sigma_t$ is the same at "
                    "every frequency, because the DCT is orthonormal and the static stays standard normal there; "
                    "$\\alpha_t(k)$ carries both the static's factor $\\sqrt{\\bar\\alpha_t}$ and the share "
                    "$d_t(k)$ the blur kept."
                ),
            ),
            Choice(
                "$\\hat u_0 = (u_t - \\sigma_t\\,\\hat\\epsilon_u)\\,/\\,\\sqrt{\\bar\\alpha_t}$",
                why=(
                    "Tempting: it is Lesson 2's eq. 2.2, and it is exactly right when there is no blur ($d_t(k) = 1$). "
                    "With the blur it leaves $d_t(k)$ in: it guesses $d_t(k)\\,u_0$, the coefficients of the "
                    "*blurred* digit, so a walk built on it would aim at a smudge instead of a digit."
                ),
            ),
            Choice(
                "$\\hat u_0 = (u_t - \\sigma_t\\,d_t(k)\\,\\hat\\epsilon_u)\\,/\\,\\alpha_t(k)$",
                why=(
                    "Tempting: at frequency $k$ everything seems to be damped by the blur. But the process blurs "
                    "the picture and *then* adds the static (Lesson 1), so the static is never blurred: it has the "
                    "same size $\\sigma_t$ at every frequency."
                ),
            ),
            Choice(
                "$\\hat u_0 = \\alpha_t(k)\\,(u_t - \\sigma_t\\,\\hat\\epsilon_u)$",
                why=(
                    "Tempting: the blur and the schedule multiply by $\\alpha_t(k)$, so the step seems to as well. "
                    "But the forward process multiplied $u_0$ by $\\alpha_t(k)$; undoing that is a division. "
                    "Multiplying again would damp the guess a second time, to nearly nothing at large $t$."
                ),
            ),
        ),
    ),
    Question(
        kind="bug",
        prompt=(
            "A learner's Exercise 4.3 (one step back, eq. 4.2-4.5). `z` is fresh noise in pixels, `alpha_t` and "
            "`alpha_s` are (8, 8), and `var` comes back (8, 8): one variance per frequency. Exactly one line is "
            "wrong. Which?"
        ),
        code=(
            "u0_hat = (dct2(x_t) - sigma_t * dct2(eps_hat)) / alpha_t                      # eq. 4.2\n"
            "mean, var = posterior(dct2(x_t), u0_hat, alpha_t, alpha_s, sigma_t, sigma_s)  # eq. 4.3, 4.4\n"
            "x_prev = idct2(mean) + var.sqrt() * z                                         # eq. 4.5"
        ),
        choices=(
            Choice(
                "Line 1: `dct2(eps_hat)` should be `eps_hat`: noise looks the same in every orthonormal basis.",
                why=(
                    "Tempting: the static is standard normal in pixels and in the DCT basis alike, as the lesson "
                    "says. But that is the same *distribution*, not the same numbers. `dct2(x_t)` is in DCT "
                    "coefficients, so this particular guess must be taken there too; otherwise the subtraction "
                    "mixes pixel (i, j) with frequency (i, j)."
                ),
            ),
            Choice(
                "Line 2: `u0_hat` should be clipped to [-1, 1] first, as Lesson 3 clips $\\hat x_0$.",
                why=(
                    "Tempting: Lesson 3's sampler clips its clean guess. But these are DCT coefficients, where "
                    "[-1, 1] means nothing, and clipping in pixels is the trap of section 6: with blur to static it "
                    "makes the Frechet distance over 3 times worse and lets one class take over. `BlurToStatic` "
                    "does not clip."
                ),
            ),
            Choice(
                "Line 3: the noise is scaled in pixels; it should be `idct2(mean + var.sqrt() * dct2(z))`.",
                correct=True,
                why=(
                    "The fresh noise has its own size at every frequency, so it is scaled in the DCT basis "
                    "(eq. 4.5); `dct2(z)` is standard normal there too. As written, pixel (i, j) gets the standard "
                    "deviation of frequency (i, j): the bottom-right pixel the finest frequency's, the top-left the "
                    "mean brightness's."
                ),
            ),
            Choice(
                "None: at the last step the variance is 0, so where the noise is scaled makes no difference.",
                why=(
                    "Tempting: at $s = -1$ eq. 4.4 does give 0 and the noise drops out. But at every earlier step "
                    "the variance is positive and differs from frequency to frequency, so there it matters which "
                    "basis it is applied in."
                ),
            ),
        ),
    ),
    Question(
        kind="plot",
        prompt=(
            "Section 4 plots, for the slider's 32 runs, how far the guess $\\hat x_0$ still is from the finished "
            "picture in three bands of frequencies (low, middle, high), for blur to static (solid lines) and static "
            "only (dashed). A band counts as settled once it is below 10 %. What do the lines show?"
        ),
        choices=(
            Choice(
                "Only blur to static goes coarse to fine; with static only the bands settle together.",
                why=(
                    "Tempting: the static has the same power at every frequency, and it is the blur that wipes out "
                    "fine detail first. But what counts is each frequency's signal-to-noise ratio: a digit's power "
                    "falls steeply with frequency while the static's is flat (Lesson 1, eq. 1.8), so with static "
                    "alone the fine bands still drown first going forward and come back last. The cell asserts "
                    "low, then middle, then high for both processes."
                ),
            ),
            Choice(
                "Blur to static settles every band earlier: a blurred picture is a simpler problem for the network.",
                why=(
                    "Tempting: smooth pictures feel easier to guess. But the blur damps every frequency except the "
                    "mean brightness, so each band's signal-to-noise ratio falls below 1 earlier going forward (the "
                    "printed crossings), and it comes back later going backward. The cell asserts later with blur, "
                    "band by band."
                ),
            ),
            Choice(
                "Every band settles only at the last step: the guess is right once the walk is over.",
                why=(
                    "Tempting: the sample $x_t$ is still noisy until near the end. But $\\hat x_0$ is a guess at "
                    "every step, and its low band is within 10 % of the finished picture long before the strokes "
                    "are; the three bands cross the line at clearly different $t$."
                ),
            ),
            Choice(
                "Both go coarse to fine, low band first and high band last; with blur every band settles later.",
                correct=True,
                why=(
                    "Coarse to fine needs no blur: the static alone drowns the fine detail first. The blur "
                    "makes each band settle later, and early on its guess is far off (lines far above 1), because "
                    "eq. 4.2 divides by the small $\\alpha_t(k)$."
                ),
            ),
        ),
    ),
    Question(
        kind="predict",
        prompt=(
            "Section 5 smudges 100 held-out digits to code timestep $t$ and walks them back from there (SDEdit). "
            "Move the slider from $t = 100$ to $t = 900$ and watch the 'brought back' rows; the plot under it "
            "counts how many are still the same digit. What do you expect?"
        ),
        choices=(
            Choice(
                "Your digits at every $t$: the walk starts from your smudged digit, so it ends at your digit.",
                why=(
                    "Tempting, and true at $t = 100$. But by $t = 900$ the cosine schedule has left little of the "
                    "digit in $x_t$, and the walk back *draws* what the static allows: the classifier agrees with "
                    "the original about as often as chance, 1 in 10."
                ),
            ),
            Choice(
                "$t = 100$: your digits, redrawn; $t = 900$: new digits, the class kept about as often as chance.",
                correct=True,
                why=(
                    "A little smudge brings back your digit (over 85 % the same class at $t = 100$), a "
                    "lot brings back a new one; in between the model keeps the coarse shape it can still see "
                    "and invents the rest. With blur the class drops below half at a smaller $t$ than with static "
                    "only."
                ),
            ),
            Choice(
                "With blur the class survives longer: the blur keeps the coarse shape that the static drowns.",
                why=(
                    "Tempting: the blur spares the lowest frequencies. But it takes away the middle frequencies, "
                    "the ones that tell a 3 from an 8, long before the static alone would; the lesson measures the "
                    "class lost at a smaller $t$ with blur."
                ),
            ),
            Choice(
                "At $t = 900$ the blur model brings back a blurred digit: what was smudged stays smudged.",
                why=(
                    "Tempting if the model only learned to remove static. But it was trained on blur to static "
                    "(`proc.add_noise` does both), and every walk ends at $s = -1$, where $\\alpha = 1$ and "
                    "$\\sigma = 0$: a sharp picture."
                ),
            ),
        ),
    ),
    Question(
        kind="concept",
        prompt=(
            "The deterministic step from $t = 999$ to $s = 979$ moves by $g\\,\\delta$ when the noise guess is off by "
            "$\\delta$, with $g = \\sigma_s - \\frac{\\alpha_s(k)}{\\alpha_t(k)}\\,\\sigma_t$ (eq. 4.6), and the "
            "cell measures $|g| \\approx 630$: an error of 0.01 becomes about 6. What is to blame?"
        ),
        choices=(
            Choice(
                "The blur: eq. 4.2 divides by $\\alpha_{T-1}(k)$, as small as $5 \\times 10^{-8}$.",
                why=(
                    "Tempting: that division is real, and it makes $\\hat x_0$ look like wild static early on. But "
                    "the step multiplies by $\\alpha_s(k)$ again, so only the ratio counts, and near the end of the "
                    "schedule the blur hardly changes between $s$ and $t$. The cell finds the gain the same at all "
                    "64 frequencies within 1 %, and the same with no blur at all."
                ),
            ),
            Choice(
                "The floor $d_{\\min} = 0.001$ is too small: raise it and the gain falls.",
                why=(
                    "Tempting: $d_{\\min}$ sets the smallest $\\alpha_t(k)$. But it cancels in the ratio "
                    "$\\alpha_s(k)/\\alpha_t(k)$ just as the blur does, and the gain is the same without any blur, "
                    "where $d_{\\min}$ plays no part."
                ),
            ),
            Choice(
                "The schedule: its last $\\beta$ reaches the cap of 0.999, so $\\bar\\alpha$ drops 1,000-fold "
                "in one step.",
                correct=True,
                why=(
                    "$\\bar\\alpha_{T-2} = 2.4 \\times 10^{-6}$, $\\bar\\alpha_{T-1} = 2.4 \\times 10^{-9}$, "
                    "and the gain is about $\\sqrt{\\bar\\alpha_{979}/\\bar\\alpha_{999}} \\approx 630$ at every "
                    "frequency. "
                    "From one step lower it is about 20, from $t = 980$ about 1, so the noise-only model fails from "
                    "$T-1$ too (Frechet 608.7 against 7.3 one stride below). The ways out: start one stride below "
                    "$T-1$, or a zero-terminal-SNR schedule with $v$-prediction (Lin et al. 2024)."
                ),
            ),
            Choice(
                "Determinism: with $\\eta = 0$ nothing corrects the error; DDPM's fresh noise would wash it out.",
                why=(
                    "Tempting: fresh noise at every step often forgives small mistakes. But the lesson measures it: "
                    "with DDPM, Frechet 580.5 from $t = 999$ against 7.4 one stride below. Fresh noise does not save "
                    "the first step."
                ),
            ),
        ),
    ),
)
