"""course_utils: the helper package of the course "How diffusion models make images".

Each piece is derived in a lesson first, then imported from here by the later lessons:

- ``scheduler.NoiseScheduler``: the DDPM noise schedule (Lesson 1).
- ``forward.blur``, ``forward.BlurToStatic``, ``forward.frequency_snr``: blur as heat spreading,
  blur-to-static, and which detail the static drowns first (Lesson 1).
- ``data.load_digits``, ``data.load_photo``: pictures that ship with installed packages (Lesson 1).
- ``models.UNet``, ``models.PointDenoiser``, ``training.train``, ``ideal.ideal_denoiser``,
  ``checkpoints``: the denoisers, their training loop, the ideal denoiser, safe save/load (Lesson 2).
- ``flow.FlowMatchScheduler``, ``flow.flow_matching_loss``: flow matching, its Euler and Heun solvers (Lesson 6).
- ``sliders``, ``plotting``: display helpers; ``checks``: the exercise checks (one module per lesson,
  like ``sliders``); ``env``: device and seed; ``quiz.take_quiz``: the quiz at the end of every lesson.

Importing it has no side effects: no device probing, no downloads.
"""

from .checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from .crayons import Drawings, make_drawings, read_colour, read_object, tokenize  # Lesson 7: crayon drawings
from .data import crayon_drawing, load_digits, load_photo, load_points, to_model_range
from .env import environment_report, get_device, seed_everything
from .flow import FlowMatchScheduler, flow_matching_loss  # Lesson 6
from .forward import BlurToStatic, blur, dct_matrix, forward_step, frequency_snr, heat_frequencies, snr_crossings
from .ideal import ideal_denoiser
from .models import PointDenoiser, UNet, timestep_embedding
from .quiz import take_quiz  # the quiz at the end of every lesson
from .scheduler import NoiseScheduler
from .training import diffusion_loss, evaluate_loss, train

__version__ = "0.1.0"

__all__ = [
    "BlurToStatic",
    "CheckpointError",
    "PointDenoiser",
    "UNet",
    "diffusion_loss",
    "evaluate_loss",
    "ideal_denoiser",
    "load_checkpoint",
    "load_points",
    "save_checkpoint",
    "timestep_embedding",
    "train",
    "NoiseScheduler",
    "blur",
    "crayon_drawing",
    "dct_matrix",
    "environment_report",
    "forward_step",
    "frequency_snr",
    "snr_crossings",
    "get_device",
    "heat_frequencies",
    "load_digits",
    "load_photo",
    "seed_everything",
    "to_model_range",
    "Drawings",
    "make_drawings",
    "read_colour",
    "read_object",
    "tokenize",
]
__all__ += ["FlowMatchScheduler", "flow_matching_loss"]  # Lesson 6
__all__ += ["take_quiz"]  # the quiz at the end of every lesson
