"""course_utils: the helper package of the course "How diffusion models make images".

Each piece is derived in a lesson first, then imported from here by the later lessons:

- ``scheduler.NoiseScheduler``: the DDPM noise schedule (Lesson 1).
- ``forward.blur``, ``forward.BlurToStatic``: blur as heat spreading, and blur-to-static (Lesson 1).
- ``data.load_digits``, ``data.load_photo``: pictures that ship with installed packages (Lesson 1).
- ``sliders``, ``plotting``: display helpers; ``checks``: the exercise checks; ``env``: device and seed.

Importing it has no side effects: no device probing, no downloads.
"""

from .data import crayon_drawing, load_digits, load_photo, to_model_range
from .env import environment_report, get_device, seed_everything
from .forward import BlurToStatic, blur, dct_matrix, forward_step, heat_frequencies
from .scheduler import NoiseScheduler

__version__ = "0.1.0"

__all__ = [
    "BlurToStatic",
    "NoiseScheduler",
    "blur",
    "crayon_drawing",
    "dct_matrix",
    "environment_report",
    "forward_step",
    "get_device",
    "heat_frequencies",
    "load_digits",
    "load_photo",
    "seed_everything",
    "to_model_range",
]
