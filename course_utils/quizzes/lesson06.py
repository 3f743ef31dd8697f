"""Lesson 6's quiz (course_utils.quiz.take_quiz(6)): straight paths.

DDIM as an Euler step of the probability-flow ODE, flow matching's straight lines and velocity (eq. 6.1-6.4), Euler
against Heun, and a sampler as a time grid plus a parametrisation.
"""

from course_utils.quiz import Choice, Question

QUESTIONS = (
    Question(
        kind="equation",
        prompt=(
            "A flow-matching model predicts the velocity $\\hat v$ at $x_t$, time $t \\in (0, 1]$, where "
            "$x_t = (1-t)\\,x_0 + t\\,\\epsilon$ (eq. 6.1) and $v = \\epsilon - x_0$ (eq. 6.2). Which clean guess "
            "$\\hat x_0$ follows from it?"
        ),
        choices=(
            Choice(
                "$\\hat x_0 = (x_t - t\\,\\hat v)\\,/\\,(1 - t)$",
                why=(
                    "Tempting: Lesson 2's eq. 2.2 removes the noise and then divides by the picture's coefficient. "
                    "But here $x_t - t\\,v = (1-t)\\,x_0 + t\\,\\epsilon - t\\,\\epsilon + t\\,x_0 = x_0$ already; "
                    "dividing by $1 - t$ gives $x_0/(1-t)$, too bright, and without bound near $t = 1$."
                ),
            ),
            Choice(
                "$\\hat x_0 = x_t + t\\,\\hat v$",
                why=(
                    "Tempting: add the velocity times the time. But $v = \\epsilon - x_0$ points from the picture "
                    "to the static: adding it walks further into static, to $(1-2t)\\,x_0 + 2t\\,\\epsilon$. Back to "
                    "the picture is against the velocity."
                ),
            ),
            Choice(
                "$\\hat x_0 = x_t - t\\,\\hat v$",
                correct=True,
                why=(
                    "Walk back from $t$ to 0 at the constant velocity of the line, "
                    "$(1-t)\\,x_0 + t\\,\\epsilon - t\\,(\\epsilon - x_0) = x_0$. It multiplies the network's error by "
                    "$t \\le 1$, where a noise model's $\\hat x_0$ multiplies it by $1/\\sqrt{\\bar\\alpha_t}$, about "
                    "20,000 at $t = T-1$ (the lesson prints it): the parametrisation matters."
                ),
            ),
            Choice(
                "$\\hat x_0 = x_t - (1 - t)\\,\\hat v$",
                why=(
                    "Tempting: $1 - t$ is the picture's weight in eq. 6.1. But the step back in time is $t$, not "
                    "$1 - t$: at $t = 1$ this gives $\\hat x_0 = x_1 = \\epsilon$, pure static for a clean guess."
                ),
            ),
        ),
    ),
    Question(
        kind="bug",
        prompt=(
            "A flow-matching Euler sampler in three lines (eq. 6.4), from the static at $t = 1$ to the picture at "
            "$t = 0$. Exactly one line is wrong. Which?"
        ),
        code=(
            "times = torch.linspace(1.0, 0.0, n + 1).tolist()  # 1 = static, 0 = the picture\n"
            "for t, t_next in zip(times[:-1], times[1:]):\n"
            "    x = x + (t - t_next) * model(x, torch.full((x.shape[0],), t))  # eq. 6.4"
        ),
        choices=(
            Choice(
                "Line 1: the grid must run from 0 to 1, the way eq. 6.1 goes from picture to static.",
                why=(
                    "Tempting: training draws $t$ from 0 to 1, and eq. 6.1 walks from the picture to the static. "
                    "But sampling runs that ODE backwards, from the static at $t = 1$ down to the picture at "
                    "$t = 0$: this grid is right."
                ),
            ),
            Choice(
                "Line 3: the sign. $t - t'$ is positive, so the step goes *with* the velocity, into static.",
                correct=True,
                why=(
                    "Eq. 6.4 is $x_{t'} = x_t + (t' - t)\\,v_\\theta(x_t, t)$ with $t' < t$: a negative step, "
                    "against the velocity $\\epsilon - x_0$, away from the static. As written, every step walks "
                    "along $\\epsilon - x_0$, away from the picture, and the samples end far from any digit."
                ),
            ),
            Choice(
                "Line 3: the network must be given `t * 1000`, the timestep its embedding knows.",
                why=(
                    "Tempting: the embedding does see $t \\cdot 1000$. But the velocity model multiplies by "
                    "$T = 1000$ itself ($t = 0.25$ is embedded like the integer timestep 250) and refuses integer "
                    "timesteps; `t * 1000` would be multiplied twice."
                ),
            ),
            Choice(
                "Line 2: the last pair steps onto $t = 0$, where the velocity is undefined; stop one step early.",
                why=(
                    "Tempting: Karras et al.'s slope divides by $\\sigma = 0$ at the end. But Euler asks the "
                    "network at $t$, never at $t'$, so it never evaluates at $t = 0$; and even there the flow's "
                    "velocity is defined (the best guess of $\\epsilon - x_0$ when $x_t = x_0$ is $-x$)."
                ),
            ),
        ),
    ),
    Question(
        kind="predict",
        prompt=(
            "The evaluations slider shows, from the same static, DDIM on the noise model and flow matching "
            "(Heun) on the velocity model: two networks trained apart, on different targets, sampled on different "
            "grids. Slide to 32 evaluations and compare the columns. How often do they draw the same digit?"
        ),
        choices=(
            Choice(
                "In most runs: the classifier agrees in over half, against under a fifth from shifted static.",
                correct=True,
                why=(
                    "Perfectly trained, the noise model and the velocity model define the same ODE up to a "
                    "rescaling of $x$, so from the same static they head for the same picture; the trained ones get "
                    "close enough to agree on the class in more than half the runs. Shift one run's static to "
                    "another's and the agreement drops below a fifth."
                ),
            ),
            Choice(
                "About one time in ten, as for any two random digits: nothing ties the two networks together.",
                why=(
                    "Tempting: different training targets, different solvers. But trained perfectly, both learn "
                    "the *same* deterministic map from static to pictures: the DDIM ODE rescaled by "
                    "$1/(\\sqrt{\\bar\\alpha} + \\sqrt{1-\\bar\\alpha})$ is the flow-matching ODE of the same data "
                    "(Gao et al. 2024)."
                ),
            ),
            Choice(
                "Always, pixel for pixel: with exact denoisers flow Euler and DDIM are one sampler.",
                why=(
                    "Tempting: section 4 shows exactly that identity. But it needs exact denoisers, Euler, and the "
                    "matched grid; here two trained networks with their own errors run Heun against DDIM on "
                    "different grids. Same map in the limit, so often the same digit, not the same pixels."
                ),
            ),
            Choice(
                "Never: the flow's straight paths end at other digits than DDIM's curved ones.",
                why=(
                    "Tempting: straight and curved paths sound like different roads. But with perfect networks they "
                    "are the same paths, rescaled; how straight a path looks in $x$ says nothing about where it ends."
                ),
            ),
        ),
    ),
    Question(
        kind="concept",
        prompt=(
            "Section 4 takes networks out of the question: DDIM with the exact noise guess, and flow-matching "
            "Euler with the exact velocity on the *matched* grid ($t/(1-t) = \\sigma$), from the same static. In "
            "$x$, DDIM's paths bend 0.215 and the flow's 0.135. What does it find for the few-step error?"
        ),
        choices=(
            Choice(
                "The flow's is smaller at every step count: Euler is exact on straight lines.",
                why=(
                    "Tempting: it is the usual story for flow matching, and Euler is exact on a straight line at "
                    "constant speed. But the two give the same samples to rounding (a largest gap below "
                    "$10^{-10}$) at every step count, although they bend differently: the bend in $x$ does not set "
                    "the error."
                ),
            ),
            Choice(
                "DDIM's is smaller: its Euler step (eq. 6.0) walks Lesson 1's arc without error.",
                why=(
                    "Tempting: in $(\\sigma, x/\\sqrt{\\bar\\alpha})$ one picture's path to one static is a straight "
                    "line at constant speed, which eq. 6.0 walks exactly. But the sampler follows the *average* of "
                    "all paths through $x_t$, which bends where the pictures split; and the matched flow gives the "
                    "very same samples, so neither error is smaller."
                ),
            ),
            Choice(
                "They cannot be compared: DDIM steps between integer timesteps, the flow in continuous time.",
                why=(
                    "Tempting: the two clocks look different. But the matched grid maps each DDIM timestep to the "
                    "flow time of the same noise-to-signal ratio, $t = \\sqrt{1-\\bar\\alpha}/(\\sqrt{\\bar\\alpha} + "
                    "\\sqrt{1-\\bar\\alpha})$, with the states scaled by $\\sqrt{\\bar\\alpha} + "
                    "\\sqrt{1-\\bar\\alpha}$; matched, they are one sampler."
                ),
            ),
            Choice(
                "The same samples, to rounding: the bend does not set the error; the grid does.",
                correct=True,
                why=(
                    "On the matched grid flow-matching Euler *is* DDIM ($\\eta = 0$, an Euler step of the "
                    "probability-flow ODE), whatever the bend in $x$. What changes the error is where the steps are "
                    "taken: the flow's own uniform grid, from the same static, lands further from the ODE's end at "
                    "4 and 8 steps. A sampler is a time grid plus a parametrisation."
                ),
            ),
        ),
    ),
    Question(
        kind="plot",
        prompt=(
            "Section 3 solves $dx/dt = t\\,x$ from $x(1) = 1$ to $x(0) = e^{-1/2}$ with Euler, with Heun as the "
            "course runs it (an Euler step onto $t = 0$: $2n - 1$ evaluations), and with Heun with a full last step "
            "($2n$), and plots the error against the number of steps on log-log axes. Which reading is right?"
        ),
        choices=(
            Choice(
                "Euler: slope about -1; both Heuns about -2, the full last step 11 to 45 times lower.",
                correct=True,
                why=(
                    "Halve the step and Euler's error halves (first order), Heun's falls about four times (second "
                    "order; the fitted slopes are about 1.0, 2.1 and 1.8). One Euler step at the end adds an error "
                    "of order $h^2$, the size of Heun's whole error, so it changes the constant, not the order."
                ),
            ),
            Choice(
                "Euler: slope -1; the course's Heun: slope -1 too, dragged down by its Euler last step.",
                why=(
                    "Tempting: a chain is as strong as its weakest link. But one Euler step makes a local error of "
                    "order $h^2$, and Heun's global error is of order $h^2$ as well: the course's Heun stays second "
                    "order (the cell asserts a slope within 0.2 of 2), only with a larger constant."
                ),
            ),
            Choice(
                "Euler: -1; Heun: -2; the full last step lies *above* the course's Heun, as on the digits.",
                why=(
                    "Tempting: on the digits the full last step does score worse, in every seed (110.1 against "
                    "102.2 at 2 steps, 22.5 against 13.8 at 4). But on this ODE it is the other way round: 11 to 45 "
                    "times more accurate for one more evaluation. The lesson does not isolate why the digits differ."
                ),
            ),
        ),
    ),
    Question(
        kind="plot",
        prompt=(
            "Section 5's ablation at 4 network evaluations (stroke-feature Frechet distance, lower is better, mean "
            "of 3 seeds from the same static): DDIM on the command line's grid 62.5 clipped, 62.0 unclipped; DDIM on "
            "the trailing grid from $T-1$ 91.1; flow Euler on DDIM's grid 52.2; flow Euler on its own uniform grid "
            "73.7. What does the table say?"
        ),
        choices=(
            Choice(
                "Flow matching beats DDIM at few evaluations, because its paths are straighter: 52.2 is the best.",
                why=(
                    "Tempting: 52.2 is the best score and it is the flow model's. But on its own uniform grid flow "
                    "Euler scores 73.7, worse than the command line's DDIM in every seed; 52.2 is the velocity "
                    "network on DDIM's grid, where with perfect networks the two samplers would be identical."
                ),
            ),
            Choice(
                "Clipping is what saves DDIM: unclipped, the noise model's 4-step pixels land in the thousands.",
                why=(
                    "Tempting: section 4's last cell does show unclipped 4-step DDIM pixels in the thousands. But "
                    "that run used the trailing grid, from $T-1$. On the command line's grid, unclipped scores 62.0 "
                    "against 62.5 clipped: clipping makes no difference there."
                ),
            ),
            Choice(
                "Nothing: spreads of 5 to 16 are as large as the differences, so no ranking is possible.",
                why=(
                    "Tempting: the spreads over seeds are large. But every sampler starts from the same static in "
                    "each seed, so each seed is a paired comparison, and the orderings named in the lesson hold in "
                    "every seed."
                ),
            ),
            Choice(
                "The grid matters most (62 against 91, 52 against 74); on one grid the velocity network wins.",
                correct=True,
                why=(
                    "Skipping the purest static helps both networks, in every seed. On the same grid, where "
                    "exact denoisers would make the samplers identical, the velocity network beats the noise network "
                    "(52.2 against 62.0, by 8 to 13 in every seed): that is the parametrisation, whose clean guess "
                    "does not amplify errors near the static."
                ),
            ),
        ),
    ),
)
