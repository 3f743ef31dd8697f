"""Lesson 0's quiz: the whole idea, the first slider, pictures as numbers in [-1, 1] (eq. 0.1)."""

from course_utils.quiz import Choice, Question

QUESTIONS = (
    Question(
        kind="predict",
        prompt=(
            "The first slider starts at `t = 0`. Before you drag it to `t = 999`, predict: what will the "
            "histogram under the **blur only** panel (the left one) look like at the end?"
        ),
        choices=(
            Choice(
                "The red bell curve, like the two noisy panels: by `t = 999` everything has become static.",
                why=(
                    "Tempting, because the strip above the slider does end in static. But blur only adds no "
                    "random numbers: it moves the colour that is already there. Its histogram can only squeeze "
                    "together; the bell curve comes from the noise, which this panel never gets."
                ),
            ),
            Choice(
                "Narrower than at the start, gathered around the drawing's average colour, and not a bell curve.",
                correct=True,
                why=(
                    "Blur makes each pixel more like its neighbours, so the values crowd towards the average "
                    "colour, which blur never changes (the pattern $k = (0, 0)$ of Lesson 1 fades at rate 0). "
                    "For this drawing the standard deviation of the pixels falls from 0.63 to 0.40 at "
                    "`t = 999`, with the mean unchanged at 0.35."
                ),
            ),
            Choice(
                "Exactly the histogram of `t = 0`: blur moves colour around but keeps every value.",
                why=(
                    "Half right, which makes it tempting: blur keeps the *average* colour exactly. But it does "
                    "not move pixel values around like cards in a deck; it averages them, so the bright and the "
                    "dark values both move towards the middle and the histogram gets narrower."
                ),
            ),
            Choice(
                "Wider than at the start: blur spreads the colour out.",
                why=(
                    "The word 'spreads' invites it: blur spreads colour over *space*, across neighbouring "
                    "pixels. Over *values* it does the opposite: averaging neighbours never makes a pixel "
                    "brighter than the brightest or darker than the darkest, so the range shrinks."
                ),
            ),
        ),
    ),
    Question(
        kind="bug",
        prompt=(
            "A learner's answer to Exercise 0.1. The pictures come as `torch.uint8` (whole numbers 0..255, "
            "as in a PNG file). What is wrong?"
        ),
        code=(
            "def to_model_range(pixels):  # pixels: torch.uint8, 0..255\n"
            "    x = 2 * pixels / 255 - 1\n"
            "    return x"
        ),
        choices=(
            Choice(
                "Nothing: `2 * pixels / 255 - 1` is eq. 0.1 exactly, term for term.",
                why=(
                    "On paper it is: $x = 2p/255 - 1$. But the code runs left to right, and `2 * pixels` is "
                    "computed first, in `uint8`, which wraps around above 255: pixel 200 becomes "
                    "$400 - 256 = 144$, so it comes out as $-0.44$ instead of $+0.57$."
                ),
            ),
            Choice(
                "`/ 255` divides whole numbers, so every value is rounded down and the result is only ever "
                "-1, 0 or +1.",
                why=(
                    "Tempting if you know C or Python 2, where dividing integers rounds. In PyTorch (and "
                    "Python 3) `/` is always true division and returns floats: `pixels / 255` keeps the "
                    "fractions. The trouble happens one operation earlier."
                ),
            ),
            Choice(
                "`2 * pixels` is computed in `uint8` and wraps around past 255: every pixel above 127 comes "
                "out wrong.",
                correct=True,
                why=(
                    "`uint8` holds 0..255 and arithmetic on it wraps around, so `2 * 200` is 144, `2 * 128` is 0, "
                    "and `2 * 255` is 254, giving $-0.004$ instead of $+1$. Dividing first, "
                    "`2 * (pixels / 255) - 1`, turns the numbers into floats before anything can overflow (the "
                    "hint's advice)."
                ),
            ),
            Choice(
                "The `- 1` should be `- 0.5`: to centre the values it must shift them by half the range.",
                why=(
                    "Shifting by half *a* range is the right idea, but which range? After `2 * p / 255` the "
                    "values run from 0 to 2, and half of that is 1. Check the ends: with `- 0.5`, pixel 0 "
                    "would give $-0.5$, not $-1$."
                ),
            ),
        ),
    ),
    Question(
        kind="equation",
        prompt=(
            "Diffusion models want pictures centred on zero, in [-1, 1], because the static they add is "
            "centred on zero too. Which map sends a pixel value $p$ from 0..255 there, with 0 going to $-1$ "
            "and 255 to $+1$?"
        ),
        choices=(
            Choice(
                r"$x = p / 255$",
                why=(
                    "The usual way to scale pictures for a neural network, so it comes to mind first. But it "
                    "lands in [0, 1]: every picture would sit to one side of the static, which is centred on "
                    "zero, and pixel 0 would go to 0, not to $-1$."
                ),
            ),
            Choice(
                r"$x = (p - 127.5) / 255$",
                why=(
                    "It does centre the values on zero, which is half the job. But dividing by 255 after "
                    "centring leaves the range $[-0.5, 0.5]$: pixel 255 goes to $+0.5$. The width of the "
                    "target range is 2, so divide by 127.5 instead, which is eq. 0.1 rearranged."
                ),
            ),
            Choice(
                r"$x = 2p / 255 - 1$",
                correct=True,
                why=(
                    "Eq. 0.1: a straight line through $(0, -1)$ and $(255, +1)$. Dividing by 255 gives [0, 1], "
                    "doubling gives [0, 2], subtracting 1 gives [-1, 1]."
                ),
            ),
            Choice(
                r"$x = 1 - 2p / 255$",
                why=(
                    "It has the right range, [-1, 1], so it passes a quick check of the minimum and the "
                    "maximum. But the ends are swapped: pixel 0 goes to $+1$ and 255 to $-1$, a photographic "
                    "negative. The question asked for 0 to go to $-1$."
                ),
            ),
        ),
    ),
    Question(
        kind="concept",
        prompt=(
            "Static adds random numbers that are just as strong at every scale, from broad shapes down to "
            "single pixels. Partway along the strip, when the drawing is half drowned in static, what is "
            "still recognisable?"
        ),
        choices=(
            Choice(
                "Everything equally faint: static is as strong at every scale, so all detail drowns at the "
                "same moment.",
                why=(
                    "Tempting, since the premise says the static is the same at every scale. But whether detail "
                    "drowns depends on how strong the *picture* is at that scale, and a picture has far less in "
                    "its fine detail than in its broad shapes. Equal static, unequal signal: the weak fine "
                    "detail goes under first."
                ),
            ),
            Choice(
                "The fine detail (thin lines, sharp edges): pixel-sized static hides only the big areas.",
                why=(
                    "Static does look like fine speckle, so one might think it only disturbs other fine "
                    "things. But it is there at every scale, and the fine detail, holding the least of the "
                    "picture, is the first thing it covers."
                ),
            ),
            Choice(
                "The broad shapes and the overall brightness; the fine detail has already gone under.",
                correct=True,
                why=(
                    "The static is equally strong at every scale, but the drawing is much stronger in its broad "
                    "shapes than in its fine detail, so the fine detail is drowned first and the broad shapes "
                    "and the average brightness last. Lesson 1 measures it: on the digits, the finest pattern "
                    "at code timestep 121, the average brightness at 803."
                ),
            ),
        ),
    ),
    Question(
        kind="concept",
        prompt=(
            "Read the strip right to left and you have generation. What exactly will the network of "
            "Lessons 2 and 3 learn, so that it can walk from static back to a drawing?"
        ),
        choices=(
            Choice(
                "To turn pure static into a finished picture in one go, from a single look at the static.",
                why=(
                    "That is what we want at the end, so it is natural to ask for it directly. But the lesson's "
                    "story, and the course, go one small step at a time: each step only has to undo a little "
                    "smudge or a little static, which is a far easier thing to learn than the whole way back."
                ),
            ),
            Choice(
                "To guess the static in a noisy picture, told its timestep $t$, so that a little can be taken "
                "away at each step.",
                correct=True,
                why=(
                    "The network learns one small step back, from a noisy picture and how noisy it is "
                    "($t$). Repeating that step, from pure static at $t = 999$ down to $t = 0$, walks back to a "
                    "drawing, and a new static start gives a new drawing."
                ),
            ),
            Choice(
                "To remember the strips of its training pictures and play one of them backwards.",
                why=(
                    "It can look like that, since every strip it trains on is a real picture going to static. "
                    "But pure static is the same for every picture, so there is nothing in it to say which "
                    "strip to replay; a model that only replayed would only ever give back its training "
                    "pictures, never 'a drawing that never existed before'."
                ),
            ),
        ),
    ),
)
