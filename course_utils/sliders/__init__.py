"""Sliders that feel instant: every picture is rendered once, then a slider move is a dictionary lookup.

``core``: ``FrameSlider`` (one slider and its cached pictures), ``GridSliders`` (several sliders over a grid),
``timestep_grid``. Each lesson's slider builders are in ``lessonN.py``, found from the lesson's number:

- Lesson 0 and 1: ``forward_process_slider`` (``lesson1.py``);
- Lesson 2: ``points_denoiser_slider``, ``digits_denoiser_slider`` (``lesson2.py``);
- Lesson 3: ``trajectory_slider``, ``points_trajectory_slider`` (``lesson3.py``);
- Lesson 4: ``race_slider`` (two processes side by side), ``image_rows_slider`` (``lesson4.py``);
- Lesson 5: ``guidance_slider`` (the guidance scale w, a row per digit asked for) (``lesson5.py``);
- Lesson 6: ``evals_slider`` (samplers side by side over the number of network evaluations, ``lesson6.py``).

Not essential on first read: display plumbing.
"""

from .core import FrameSlider, GridSliders, timestep_grid
from .lesson1 import PANELS, forward_process_slider
from .lesson2 import digits_denoiser_slider, points_denoiser_slider
from .lesson3 import points_trajectory_slider, trajectory_slider
from .lesson4 import image_rows_slider, race_slider
from .lesson5 import guidance_slider

__all__ = [
    "PANELS",
    "FrameSlider",
    "GridSliders",
    "digits_denoiser_slider",
    "forward_process_slider",
    "guidance_slider",
    "image_rows_slider",
    "points_denoiser_slider",
    "points_trajectory_slider",
    "race_slider",
    "timestep_grid",
    "trajectory_slider",
]

from .lesson6 import evals_slider  # noqa: E402  (Lesson 6)

__all__ += ["evals_slider"]
