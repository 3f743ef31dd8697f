"""Lesson 5's quiz (course_utils.quiz.take_quiz(5)): asking for a picture.

Labels and the null label, label dropout, classifier-free guidance (eq. 5.2) and its two ways of writing the scale,
what guidance does and does not sample, and guided DDIM with a clipped clean guess (eq. 5.3).
"""

from course_utils.quiz import Choice, Question

QUESTIONS = (
    Question(
        kind="predict",
        prompt=(
            "The guidance slider: one row per digit asked for, six drawings each, every scale from the same static "
            "with deterministic DDIM. Predict what you see as you drag $w$ from 0 through 1 to 8."
        ),
        choices=(
            Choice(
                "$w = 0$: blank pictures, as the null label asks for nothing; from 1 to 8, better and better digits.",
                why=(
                    "Tempting: 'no request' sounds like 'draw nothing'. But the null label is the unconditional "
                    "model of Lessons 2-3: it draws random digits, about one in ten the digit of its row. And more "
                    "$w$ does not keep improving them: the Frechet distance to the real digits rises with $w$."
                ),
            ),
            Choice(
                "$w = 0$: random digits; $w = 1$: the digits asked; by $w = 8$ six identical copies in each row.",
                why=(
                    "Tempting: guidance does trade variety for the request, and recall falls. But the pixel spread "
                    "across a row hardly moves: the drawings do not become copies of each other, they become "
                    "exaggerated versions of fewer styles."
                ),
            ),
            Choice(
                "$w = 0$: random digits; from 1: the digits asked; then more alike and bolder, caricatures at 8.",
                correct=True,
                why=(
                    "The null label draws any digit; $w = 1$ is the request alone, already heard almost every "
                    "time on these digits; past that eq. 5.2 steps further than the request, and the drawings of a "
                    "row become more alike, thicker and brighter, until over-saturated caricatures at $w = 8$."
                ),
            ),
            Choice(
                "Nothing changes past $w = 1$: the network already draws the digit asked for.",
                why=(
                    "Tempting: at $w = 1$ the rows are already the right digits. But eq. 5.2 with $w > 1$ steps "
                    "beyond $\\epsilon(x_t, y)$ along $\\epsilon(x_t, y) - \\epsilon(x_t, \\varnothing)$, so the same "
                    "static turns into a different picture: section 5 measures recall falling from $w = 1$ to 3 and "
                    "the Frechet distance rising."
                ),
            ),
        ),
    ),
    Question(
        kind="bug",
        prompt=(
            "Three lines from a guided sampling loop (Exercise 5.3), meant to give eq. 5.2 with the course's $w$ "
            "(diffusers' `guidance_scale`). Exactly one line is wrong. Which?"
        ),
        code=(
            "eps_y = model(x, tt, labels)                                          # the request\n"
            "eps_null = model(x, tt, torch.full_like(labels, model.num_classes))  # no request\n"
            "eps = eps_y + w * (eps_y - eps_null)                                 # eq. 5.2"
        ),
        choices=(
            Choice(
                "Line 3: it starts from `eps_y`, which makes every scale one too strong.",
                correct=True,
                why=(
                    "It is $(1 + w)\\,\\epsilon_y - w\\,\\epsilon_\\varnothing$: Ho & Salimans' form with their "
                    "$w'$ set to our $w$, so our $w + 1$. At $w = 0$ it draws the request alone instead of no "
                    "request, and the command line's $w = 3$ becomes 4. Eq. 5.2 starts from the null label's guess: "
                    "`eps_null + w * (eps_y - eps_null)`."
                ),
            ),
            Choice(
                "Line 2: the null label should be 0, the first row of the table, standing for 'nothing'.",
                why=(
                    "Tempting: zero often means 'nothing'. But label 0 is the digit zero. The null label is one "
                    "more row of the embedding table, `model.num_classes` (10 for the digits), so line 2 is right."
                ),
            ),
            Choice(
                "Line 1: the labels must be one-hot vectors of length 10 before the network can hear them.",
                why=(
                    "Tempting: a classifier's targets are often one-hot. But here the label picks one row of a "
                    "learned table `label_emb` (an `nn.Embedding`), added to the time embedding (eq. 5.0): "
                    "`torch.long` ids are exactly what it takes."
                ),
            ),
            Choice(
                "Line 2: the guess without a request needs a second network, trained without labels.",
                why=(
                    "Tempting: two predictions, two networks, and that would work. But label dropout (eq. 5.1, Ho & "
                    "Salimans' Algorithm 1) trains one network for both jobs: given the null label it *is* the "
                    "unconditional model."
                ),
            ),
        ),
    ),
    Question(
        kind="equation",
        prompt=(
            "Ho & Salimans (2022) write $\\tilde\\epsilon = (1 + w')\\,\\epsilon(x_t, y) - w'\\,\\epsilon(x_t, "
            "\\varnothing)$. The course's command line guides with $w = 3$ in eq. 5.2 (diffusers' `guidance_scale = "
            "3`). Which $w'$ of the paper gives the same guess?"
        ),
        choices=(
            Choice(
                "$w' = 3$: the same knob, written another way.",
                why=(
                    "Tempting: both are called $w$ and both turn the request up. But expand eq. 5.2: "
                    "$\\epsilon_\\varnothing + w\\,(\\epsilon_y - \\epsilon_\\varnothing) = w\\,\\epsilon_y - "
                    "(w - 1)\\,\\epsilon_\\varnothing$. Matching $1 + w' = w$ gives $w' = w - 1$; the paper's "
                    "$w' = 3$ is the course's 4."
                ),
            ),
            Choice(
                "$w' = 2$",
                correct=True,
                why=(
                    "Eq. 5.2 is $w\\,\\epsilon_y - (w - 1)\\,\\epsilon_\\varnothing$, so $1 + w' = w$ and "
                    "$w' = w - 1 = 2$. The lesson's table: the course's 0, 1, 3 are the paper's -1, 0, 2; the "
                    "request alone is $w = 1$ for us and $w' = 0$ for them."
                ),
            ),
            Choice(
                "$w' = 4$",
                why=(
                    "Tempting: the paper's $(1 + w')$ looks like adding one to something. But it is the paper's "
                    "$w'$ plus one that equals our $w$, not ours plus one that equals theirs: $w' = w - 1 = 2$. The "
                    "paper's $w' = 4$ is the course's 5."
                ),
            ),
        ),
    ),
    Question(
        kind="plot",
        prompt=(
            "Section 3's exact test: a 1-D mixture of two Gaussians at -1 and +1 (std 0.5 each), asking for the one "
            "at +1 with exact noise guesses (no network at all), $w = 3$, every one of the 1,000 timesteps. The "
            "histogram's target $p(x_0)\\,p(y \\mid x_0)^3$ has mean about 1.05. Where do guided DDPM and guided DDIM "
            "land?"
        ),
        choices=(
            Choice(
                "Both on the target: eq. 5.2 is exactly the score of the tilted density, and they follow it.",
                why=(
                    "Tempting: the line under eq. 5.2 is true, and the lesson checks it by autograd at three $t$. "
                    "But it is the score of $p(x_t)\\,p(y \\mid x_t)^w$, and these tilted densities are not the "
                    "target noised to $t$ (at $t = 500$ their means differ), so they are not the marginals of one "
                    "diffusion, and following their scores need not land on the target."
                ),
            ),
            Choice(
                "DDPM on the target, DDIM off it: fresh noise corrects the drift; a deterministic walk cannot.",
                why=(
                    "Tempting: fresh noise at every step often forgives mistakes. But guided DDPM lands near 1.24, "
                    "every seed many standard errors from 1.05: it misses too, only by less."
                ),
            ),
            Choice(
                "Both off, but only by the network's error: a perfect model would land on 1.05.",
                why=(
                    "Tempting: errors usually come from the network. But there is none here: the noise guesses are "
                    "exact, in closed form, so nothing but guidance is left to blame. The control proves the "
                    "samplers sound: at $w = 1$ both land on the asked component within their standard error."
                ),
            ),
            Choice(
                "Both off the target and off each other: DDPM near 1.24, DDIM near 1.52 and narrower.",
                correct=True,
                why=(
                    "Eq. 5.2 follows the score of $p(x_t)\\,p(y \\mid x_t)^w$ at each $t$, but those densities "
                    "are not the marginals of one diffusion, so DDPM and DDIM, which agree for any true diffusion, "
                    "disagree here, and neither samples $p(x_0)\\,p(y \\mid x_0)^w$. Guidance is a useful heuristic "
                    "that trades variety for the request."
                ),
            ),
        ),
    ),
    Question(
        kind="concept",
        prompt=(
            "Guided DDIM with $\\hat x_0$ clipped to [-1, 1] and $\\hat\\epsilon$ kept as the network gave it, asked "
            "for 9s at $w = 3$: under half are read as 9, in every seed. In the full ablation (all ten digits) the "
            "same sampler, on the grid from $T-1$, scores 98.3 % at $w = 1$ and 14.1 % at $w = 3$. Why?"
        ),
        choices=(
            Choice(
                "After clipping, the step's two halves disagree: a clipped $\\hat x_0$ with the unclipped "
                "$\\hat\\epsilon$.",
                correct=True,
                why=(
                    "$x_s = \\sqrt{\\bar\\alpha_s}\\,\\hat x_0 + \\sqrt{1-\\bar\\alpha_s}\\,\\hat\\epsilon$ "
                    "describes the same $x_t$ only while $\\hat x_0$ comes from $\\hat\\epsilon$. At $w = 1$ the "
                    "clip does little harm (eps kept 98.3 %, re-derived 98.6 %); the guided guess at $w = 3$ steps "
                    "beyond the request, and there the mismatch breaks the walk. Re-derive the noise from the "
                    "clipped guess (eq. 5.3, diffusers' `use_clipped_model_output=True`) and the same DDIM scores "
                    "100.0 %."
                ),
            ),
            Choice(
                "A deterministic walk cannot follow guidance; DDPM's fresh noise keeps it on course.",
                why=(
                    "Tempting: DDPM does score 100 %, and it differs from DDIM by its fresh noise. But the lesson "
                    "changes one switch alone, eq. 5.3, and the same deterministic DDIM scores 100.0 %. Fresh noise "
                    "is not what DDPM had; it simply had no second half to get wrong."
                ),
            ),
            Choice(
                "The first step from $T-1$, where $\\bar\\alpha = 2.4 \\times 10^{-9}$ amplifies the network's error.",
                why=(
                    "Tempting: that is Lesson 4's trap, and it is real. But this run's grid starts at 980, one "
                    "stride below, and the full table shows the same failure from either start (13.7 % one stride "
                    "below, 14.1 % from $T-1$)."
                ),
            ),
            Choice(
                "$w = 3$ is too much for ten classes of 8 x 8 digits: the caricatures no longer read as 9s.",
                why=(
                    "Tempting: large $w$ does make over-inked caricatures. But at the same $w = 3$ DDPM with "
                    "clipping and DDIM with eq. 5.3 score 100.0 %, and 99.9 % even at $w = 8$."
                ),
            ),
        ),
    ),
    Question(
        kind="predict",
        prompt=(
            "Section 4 prints the held-out loss of the conditional digit model you trained, on the same test "
            "digits, twice: told each digit's true label, and told the null label. Before you run it: which is "
            "lower?"
        ),
        choices=(
            Choice(
                "Neither: the static $\\epsilon$ is drawn independently of the label, so the label cannot help.",
                why=(
                    "Tempting: $\\epsilon$ and $y$ are indeed independent. But the network sees $x_t$, not "
                    "$\\epsilon$, and guessing $\\epsilon$ from $x_t$ is guessing $x_0$ (eq. 2.2). Given $x_t$, the "
                    "label narrows down $x_0$, and so the static hidden in it."
                ),
            ),
            Choice(
                "The null label's: with a dropout of 0.2 it is the row the network saw most often.",
                why=(
                    "Tempting: one example in five trained on the null row, more than on any single digit's row. "
                    "But how often a row was seen is not what the loss measures: without the label the network "
                    "must hedge over all ten digits, and that guess is worse."
                ),
            ),
            Choice(
                "The true label's: knowing the digit narrows down $x_0$, and so the static.",
                correct=True,
                why=(
                    "The lesson asserts it: the label makes the noise easier to guess, so the network does "
                    "listen to it. The null label's loss is that of the unconditional model of Lessons 2-3."
                ),
            ),
        ),
    ),
)
