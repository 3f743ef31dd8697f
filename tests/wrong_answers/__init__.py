"""The common wrong answers each exercise check claims to catch, one module per lesson (``lessonN.py``).

For every exercise (keyed by notebook and by the name of the function the learner writes) a list of
(code that replaces the solution region, a fragment the check's one-line message must contain).
``tests/test_exercises.py`` substitutes each one into the solution notebook, in a real kernel, runs
the check cell and asserts that it fails with that message. ``RIGHT_ANSWERS`` lists other correct
ways to write an exercise (equivalent forms); the same test asserts that they pass. The empty stub is
tested separately (every check must fail on the generated learner notebook).
"""

from . import lesson0, lesson1, lesson2, lesson3, lesson4, lesson5

_LESSONS = {
    "00_welcome.ipynb": lesson0,
    "01_picture_to_static.ipynb": lesson1,
    "02_denoiser.ipynb": lesson2,
    "03_sampling.ipynb": lesson3,
    "04_static_to_picture.ipynb": lesson4,
    "05_asking_for_a_picture.ipynb": lesson5,
}

_LESSONS["06_straight_paths.ipynb"] = __import__(__name__ + ".lesson6", fromlist=["lesson6"])  # Lesson 6

WRONG_ANSWERS = {notebook: module.WRONG_ANSWERS for notebook, module in _LESSONS.items()}
RIGHT_ANSWERS = {notebook: module.RIGHT_ANSWERS for notebook, module in _LESSONS.items()}

# Lesson 7 (crayon drawings from words)
from . import lesson7  # noqa: E402

WRONG_ANSWERS["07_crayons_from_words.ipynb"] = lesson7.WRONG_ANSWERS
RIGHT_ANSWERS["07_crayons_from_words.ipynb"] = lesson7.RIGHT_ANSWERS

# Lesson 8 (your drawing: image to image, inpainting)
from . import lesson8  # noqa: E402

WRONG_ANSWERS["08_your_drawing.ipynb"] = lesson8.WRONG_ANSWERS
RIGHT_ANSWERS["08_your_drawing.ipynb"] = lesson8.RIGHT_ANSWERS
