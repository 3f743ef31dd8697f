"""Lesson 5's slider: the guidance scale w, for every digit at once, from the same static.

Not essential on first read: display plumbing around ``course_utils.sampling.sample`` (labels, guidance). The
default sampler is the command line's (``sample.make_scheduler(model, "ddim", 50)``): deterministic DDIM (eta 0),
x0_hat clipped with eps re-derived from it, the grid one stride below T-1. Deterministic, so every frame walks
the same static back and only w changes the picture.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .core import FrameSlider
from .lesson4 import image_rows_slider

GUIDANCE_SCALES = (0, 0.5, 1, 1.5, 2, 3, 4, 5, 6, 8)  # w: 0 no request, 1 the request alone, then more


@torch.no_grad()
def guidance_frames(model, scheduler=None, scales: Sequence[float] = GUIDANCE_SCALES, labels: Sequence[int] = range(10),
                    n_show: int = 8, seed: int = 0) -> dict[float, list[tuple[str, torch.Tensor]]]:
    """For each scale w, one row per label of ``n_show`` samples (clipped to [-1, 1]). Every w starts from the
    same static (``seed``), so only the strength of the request changes from frame to frame. ``scheduler`` None:
    deterministic DDIM, 50 steps, as the command line (then the drawings depend on nothing but the static and w)."""
    from ..guidance import check_guidance
    from ..sample import make_scheduler
    from ..sampling import sample

    if scheduler is None:
        scheduler = make_scheduler(model, "ddim", 50)

    labels = [int(k) for k in labels]
    if not labels or not scales:
        raise ValueError("give at least one label and one guidance scale.")
    y = torch.tensor(labels).repeat_interleave(n_show)  # (len(labels) * n_show,): row by row
    frames = {}
    for w in scales:
        w = check_guidance(w)
        x = sample(model, scheduler, len(y), labels=y, guidance=w, progress=False,
                   generator=torch.Generator().manual_seed(seed)).clamp(-1, 1).cpu()
        frames[w] = [(f"asked: {k}", x[i * n_show:(i + 1) * n_show]) for i, k in enumerate(labels)]
    return frames


def guidance_slider(model, scheduler=None, scales: Sequence[float] = GUIDANCE_SCALES, labels: Sequence[int] = range(10),
                    n_show: int = 8, seed: int = 0, precompute: bool = True) -> FrameSlider:
    """Lesson 5: drag the guidance scale w; one row per digit asked for, the same static in every row and frame.

    ``scheduler`` None: deterministic DDIM, 50 steps (``guidance_frames``)."""
    frames = guidance_frames(model, scheduler, scales, labels, n_show, seed)
    titles = {w: f"guidance w = {w:g}" + {0.0: " (no request: the null label)", 1.0: " (the request alone)"}.get(w, "")
              for w in frames}
    return image_rows_slider(frames, titles, description="w", precompute=precompute, panel_size=0.55)
