"""Lesson 8's quiz (course_utils.quiz.take_quiz(8)): your drawing, smudged to static and brought back in colour.

Blur against static, image to image (SDEdit: which steps run, for what strength, smudged by which process), what a
prompt changes there, and inpainting's merge (RePaint: mask 1 redraws, the kept part re-smudged to each step).
"""

from course_utils.quiz import Choice, Question

QUESTIONS = (
    Question(
        kind="predict",
        prompt=(
            "`proc` is the lesson's grid of 20 steps. Before you run it: what does "
            "`image_to_image(blur_model, proc, my_drawing, 0.04, n=4)` return?"
        ),
        choices=(
            Choice(
                "Four slightly different drawings: each of the four runs starts from its own static.",
                why=(
                    "Tempting: at any strength that runs a step, each result does get its own static. But "
                    "$20 \\times 0.04 = 0.8$, and `int` makes that 0: no step runs, so no static is even drawn; "
                    "the four results are the same picture."
                ),
            ),
            Choice(
                "Your drawing under a faint film of static: it was smudged, and no step took the static off.",
                why=(
                    "Tempting: smudge first, then walk back, and here there is nothing to walk. But the smudge goes "
                    "to the first timestep that runs, and with no timestep there is nowhere to smudge to: "
                    "Exercise 8.2's rule is that `x_start` is then `x0` unchanged."
                ),
            ),
            Choice(
                "Your drawing, very slightly redrawn: a 4 % smudge, taken back in one small step.",
                why=(
                    "Tempting: a small strength sounds like a small smudge and a short walk. But the strength is "
                    "turned into a whole number of the grid's steps, rounded down: int(0.8) = 0. The smallest "
                    "strength that runs a step here is $1/20 = 0.05$: one step, from $t = 0$."
                ),
            ),
            Choice(
                "Four copies of your drawing, exactly as it was: not a single step runs.",
                correct=True,
                why=(
                    "Of the $n = 20$ steps, the last int(20 x 0.04) = int(0.8) = 0 run: the tail of the grid is "
                    "empty, and `image_to_image` hands the picture back untouched, once per result. Any strength "
                    "below $1/n$ does the same as strength 0, where the slider's line reads 'no step'."
                ),
            ),
        ),
    ),
    Question(
        kind="predict",
        prompt=(
            "The lesson's grid of 20 steps is `[950, 900, ..., 50, 0]`. What does `strength_timesteps(proc, 0.38)` "
            "return, the steps an image-to-image run at strength 0.38 takes?"
        ),
        choices=(
            Choice(
                "8 timesteps, 350 down to 0: $20 \\times 0.38 = 7.6$ steps, rounded to 8.",
                why=(
                    "Tempting: 7.6 is nearer 8. But the count is `int(n * strength)`, as in diffusers' "
                    "`get_timesteps`, and `int` drops the fraction: 7. (Rounding would also make strength 0.04 "
                    "run a step, where `int` gives none.)"
                ),
            ),
            Choice(
                "7 timesteps, 300 down to 0: the last int(7.6) = 7 of the grid.",
                correct=True,
                why=(
                    "init = min(int(20 x 0.38), 20) = 7, and the run takes `timesteps[20 - 7:]`, that is 300, 250, "
                    "..., 50, 0. The drawing is smudged to the first of them, $t = 300$, where eq. 1.9 keeps "
                    "$\\sqrt{\\bar\\alpha_{300}} \\approx 0.89$ of the blurred drawing under "
                    "$\\sqrt{1-\\bar\\alpha_{300}} \\approx 0.46$ of static."
                ),
            ),
            Choice(
                "13 timesteps, 600 down to 0: a strength of 0.38 skips the first 7 steps of the grid.",
                why=(
                    "Tempting: the same 7 appears, on the other side. But the strength counts the steps that *run*, "
                    "not the ones skipped: strength 1 runs all 20 (a new drawing), strength 0 none (your drawing). "
                    "Here 13 are skipped and 7 run."
                ),
            ),
            Choice(
                "All 20 timesteps, on a grid squeezed below $t = 1000 \\times 0.38 = 380$.",
                why=(
                    "Tempting: a finer grid below the start would give the same number of steps at every strength. "
                    "But SDEdit here, like diffusers' `StableDiffusionImg2ImgPipeline`, takes a *tail* of the "
                    "sampler's own grid: fewer steps at a lower strength, each as long as before. 380 is not even "
                    "on the grid."
                ),
            ),
        ),
    ),
    Question(
        kind="plot",
        prompt=(
            "Section 2's grid shows your drawing at $t$ = 0, 200, ..., 950 in three rows: blur only $B_t(x_0)$, "
            "static only, and both (eq. 1.9). Before you look: what is the last picture of the top row, blur only "
            "at $t = 950$?"
        ),
        choices=(
            Choice(
                "TV static, like the last picture of the bottom row: by $t = 950$ nothing of the drawing is left.",
                why=(
                    "Tempting: the process does end in static. But the static is the $\\varepsilon$ term of eq. 1.9, "
                    "and the top row has none: a blur only averages each pixel with its neighbours, and averaging "
                    "never makes anything random."
                ),
            ),
            Choice(
                "A flat grey square: a blur that wide has averaged every colour away.",
                why=(
                    "Tempting: a wide blur averages a lot. But the average colour itself is kept exactly (the blur "
                    "keeps all of frequency (0, 0), $d = 1$), and a red house on cream paper does not average to "
                    "grey; the coarsest patterns fade slowest, and every frequency keeps at least $d_{\\min}$."
                ),
            ),
            Choice(
                "A soft blob in the drawing's own colours, with no static in it at all.",
                correct=True,
                why=(
                    "The blur is deterministic averaging: it wipes out fine detail first, runs the colours into each "
                    "other, keeps the mean colour exactly and a floor $d_{\\min}$ of every frequency. So on its own it "
                    "never reaches static, however wide; it is the static of eq. 1.9 that ends the process."
                ),
            ),
            Choice(
                "Your drawing, still sharp: the blur grows like $\\sin^2$, so it only arrives in the last steps.",
                why=(
                    "Tempting: $\\sin^2$ does start slowly. But it is nearly at its top by the end: "
                    "$\\sigma_{\\text{blur}}(950)$ is "
                    "$\\sin^2(\\frac{\\pi}{2} \\cdot \\frac{951}{1000}) \\approx 0.994$ times the widest blur, "
                    "`max_blur_sigma`."
                ),
            ),
        ),
    ),
    Question(
        kind="bug",
        prompt=(
            "A learner's Exercise 8.2, called with `process` = `proc`, a `BlurToStatic`, at a strength of at least "
            "$1/n$ (so at least one step runs). Exactly one line is wrong. Which?"
        ),
        code=(
            "n = len(process.timesteps)\n"
            "k = min(int(n * strength), n)\n"
            "timesteps = process.timesteps[n - k:]\n"
            "t = torch.full((x0.shape[0],), int(timesteps[0]))\n"
            "x_start = process.scheduler.add_noise(x0, noise, t)"
        ),
        choices=(
            Choice(
                "Line 5: `process.scheduler` is the static alone; the smudge must be `process.add_noise`.",
                correct=True,
                why=(
                    "`BlurToStatic.add_noise` blurs first and then calls its scheduler on $B_t(x_0)$; calling the "
                    "scheduler directly gives "
                    "$\\sqrt{\\bar\\alpha_t}\\,x_0 + \\sqrt{1-\\bar\\alpha_t}\\,\\varepsilon$, static without the "
                    "blur: section 2's middle row, not its bottom one. The model learned to walk back from "
                    "blurred-and-static pictures only, and gets a sharp drawing under the static."
                ),
            ),
            Choice(
                "Line 2: `round(n * strength)`, not `int`: at 0.38 that is 8 steps, not 7.6 cut down to 7.",
                why=(
                    "Tempting: rounding looks fairer. But `int` is the rule of diffusers' `get_timesteps` and of "
                    "the exercise: the number of steps is rounded down, so a strength below $1/n$ gives no step at all."
                ),
            ),
            Choice(
                "Line 3: `process.timesteps[:k]`, the first k steps of the grid, from its top.",
                why=(
                    "Tempting: a walk back starts at the top. But the first k steps would start from $t = 950$, near "
                    "pure static, whatever the strength, and end far from the clean picture. The walk must end at "
                    "$t = 0$, so it is a tail of the grid (`sample` refuses anything else); the strength sets where "
                    "it starts."
                ),
            ),
            Choice(
                "None: `BlurToStatic.add_noise` calls `process.scheduler.add_noise` itself, so the two agree.",
                why=(
                    "Tempting: it does call it. But it calls it on `blur_only(x0, t)`, the drawing blurred to "
                    "$\\sigma_{\\text{blur}}(t)$, not on `x0`: skip the wrapper and the blur is skipped with it."
                ),
            ),
        ),
    ),
    Question(
        kind="equation",
        prompt=(
            "Inpainting (RePaint): the mask $m$ is 1 where the model is to draw. After a reverse step that lands on "
            "timestep $s \\ge 0$ with the model's sample $x_s$, the kept part is put back in, with fresh static "
            "$\\varepsilon$ and "
            "$q_r(x_0) = \\sqrt{\\bar\\alpha_r}\\,B_r(x_0) + \\sqrt{1-\\bar\\alpha_r}\\,\\varepsilon$, your "
            "drawing smudged to step $r$ (eq. 1.9). The step started from $t$. Which sample goes on to the next "
            "step?"
        ),
        choices=(
            Choice(
                "$(1 - m)\\,x_s + m\\,q_s(x_0)$",
                why=(
                    "Tempting if a mask marks what to keep. But the course follows diffusers' convention, "
                    "white (1) is repainted: this keeps the model's picture where you kept yours and puts your "
                    "drawing back into the hole, so nothing you erased is ever redrawn."
                ),
            ),
            Choice(
                "$m\\,x_s + (1 - m)\\,x_0$",
                why=(
                    "Tempting: the kept part should be exactly yours, and after the last step ($s = -1$) it is $x_0$ "
                    "itself. But before that the hole is at smudge level $s$, and the network is handed one picture "
                    "half smudged and half clean, unlike anything it saw in training, where the whole picture had "
                    "one $t$. What it draws in the hole is then fitted to surroundings it misreads."
                ),
            ),
            Choice(
                "$m\\,x_s + (1 - m)\\,q_s(x_0)$",
                correct=True,
                why=(
                    "The model's sample where $m = 1$, your drawing, blurred and drowned to the *same* step $s$, "
                    "where $m = 0$: the next step sees one picture at one smudge level, as in training, and draws the "
                    "hole to fit around your drawing. At $s = -1$, after the last step, $q$ is replaced by $x_0$ "
                    "itself, so the kept part comes back exactly."
                ),
            ),
            Choice(
                "$m\\,x_s + (1 - m)\\,q_t(x_0)$",
                why=(
                    "Tempting: the step began at $t$. But the model's sample has already moved on to $s$, so this "
                    "kept part would be one step more smudged than the hole, at every step, and the next step is "
                    "taken at $s$."
                ),
            ),
        ),
    ),
    Question(
        kind="concept",
        prompt=(
            "`image_to_image(blur_model, proc, my_drawing, strength, seed=0)`, once without a prompt and once with "
            "`prompt=\"a blue boat\"`, starting from a red house. What does the prompt change?"
        ),
        choices=(
            Choice(
                "The start as well: `x_start` is your drawing smudged towards a blue boat before the walk back.",
                why=(
                    "Tempting: the prompt shapes everything else. But the smudge is the forward process, eq. 1.9: "
                    "blur and static, which know no words. With the same seed both calls start from the very same "
                    "`x_start`."
                ),
            ),
            Choice(
                "Only the model's guesses at the steps that run; the start and the number of steps stay the same.",
                correct=True,
                why=(
                    "Neither `strength_timesteps` nor the smudge takes a prompt; it enters through the model's guess "
                    "and guidance (eq. 5.2) at each step back. How much that changes is measured, not given: section "
                    "4's table shows `crayons_blur` without guidance (w = 1) recolouring a red house blue already at "
                    "strength 0.1 (2 steps), its shape changing only from about 0.3, while Lesson 7's `crayons` keeps "
                    "the red longer."
                ),
            ),
            Choice(
                "Nothing, below strength 1: a run that starts from your drawing has no use for a prompt.",
                why=(
                    "Tempting: the drawing seems to say already what to draw. But `image_to_image` passes the prompt "
                    "and guidance to every step that runs, whatever the strength; with `crayons_blur` it recolours "
                    "a red house blue even at strength 0.1 (section 4)."
                ),
            ),
            Choice(
                "The number of steps: a prompt far from your drawing needs a longer walk, so $t_{\\text{start}}$ "
                "moves up.",
                why=(
                    "Tempting: a bigger change ought to need more steps. But the steps are the last "
                    "int(n x strength) of the grid, computed from $n$ and the strength alone: you choose the "
                    "strength, and with it how much the prompt may change."
                ),
            ),
        ),
    ),
)
