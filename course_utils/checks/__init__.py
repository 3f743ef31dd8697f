"""Exercise checks: each compares a learner's function with the package's reference on fixed inputs.

One module per lesson: the checks of Lesson N are in ``lessonN.py``; ``core.py`` holds what they share.
A check cell calls ``checks.check_<name>(your_function)``. A failing check gives one readable line
that says what is wrong and how to think about it, and names the common mistake when the answer
matches one. Under pytest/nbval or ``COURSE_CHECKS=strict`` it raises ``ExerciseFailed`` (IPython and
nbval show that line, not a traceback); otherwise it prints the line in red and returns, so "Run All"
goes on. A passing check prints one line. ``use_yours(your_fn, fallback)`` lets a later cell use the
learner's function once it has passed its check (see ``core.py``).

The references are the package's own functions, so a check also ties the notebook's derivation to
the code that later lessons import.
"""

from .core import ExerciseFailed, strict_mode, use_yours
from .lesson0 import check_to_model_range
from .lesson1 import check_alphas_cumprod, check_forward_step, check_heat_blur, check_q_sample
from .lesson2 import check_diffusion_loss, check_ideal_denoiser, check_predict_x0, check_timestep_embedding
from .lesson3 import check_ddim_step, check_ddpm_step, check_sample_loop
from .lesson4 import check_blur_step, check_frequency_alpha, check_posterior
from .lesson5 import check_drop_labels, check_guided_eps, check_guided_sample_loop

__all__ = [
    "ExerciseFailed",
    "check_alphas_cumprod",
    "check_blur_step",
    "check_ddim_step",
    "check_ddpm_step",
    "check_diffusion_loss",
    "check_drop_labels",
    "check_forward_step",
    "check_frequency_alpha",
    "check_guided_eps",
    "check_guided_sample_loop",
    "check_heat_blur",
    "check_ideal_denoiser",
    "check_posterior",
    "check_predict_x0",
    "check_q_sample",
    "check_sample_loop",
    "check_timestep_embedding",
    "check_to_model_range",
    "strict_mode",
    "use_yours",
]

from .lesson6 import check_euler_step, check_flow_loss, check_heun_step  # noqa: E402  (Lesson 6)

__all__ += ["check_euler_step", "check_flow_loss", "check_heun_step"]

# Lesson 7 (crayon drawings from words)
from .lesson7 import check_guided_eps_negative, check_mean_word_vector, check_prompt_to_ids  # noqa: E402

__all__ += ["check_guided_eps_negative", "check_mean_word_vector", "check_prompt_to_ids"]

# Lesson 8 (your drawing: image to image, inpainting)
from .lesson8 import check_blur_then_static, check_img2img_start, check_inpaint_merge  # noqa: E402

__all__ += ["check_blur_then_static", "check_img2img_start", "check_inpaint_merge"]
