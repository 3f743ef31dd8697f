"""Lesson 6's slider: samples from the same static for several samplers, over the number of network evaluations.

Not essential on first read: display plumbing around ``course_utils.sampling``.
"""

from __future__ import annotations

import torch

from .core import FrameSlider
from .lesson4 import image_rows_slider


def evals_slider(samples: dict[str, dict[int, torch.Tensor]], evals: dict[str, dict[int, int]] | None = None, *,
                 start: torch.Tensor | None = None, n_show: int = 8, precompute: bool = True) -> FrameSlider:
    """A slider over the budget of network evaluations (the keys of each sampler's dict), one row per sampler.

    ``samples``: sampler name -> {budget: its samples (n, C, H, W)}, every sampler with the same budgets;
    ``evals``: sampler name -> {budget: the evaluations it actually made} (Heun's 2n - 1 can fall short of an even
    budget), shown in the row's label. ``start``: the static every sampler started from (n, C, H, W), shown at 0
    evaluations (the slider's first value)."""
    if not samples:
        raise ValueError("give at least one sampler's samples.")
    budgets = [sorted(s) for s in samples.values()]
    if any(b != budgets[0] for b in budgets):
        raise ValueError("every sampler must have samples at the same budgets of network evaluations.")
    frames = {}
    if start is not None:
        frames[0] = [(f"{name}\nthe static", start[:n_show]) for name in samples]
    for b in budgets[0]:
        rows = []
        for name, by_budget in samples.items():
            made = (evals or {}).get(name, {}).get(b, b)
            rows.append((f"{name}\n{made} evaluation{'s' if made != 1 else ''}", by_budget[b][:n_show].clamp(-1, 1)))
        frames[b] = rows
    titles = {b: f"at most {b} network evaluation{'s' if b != 1 else ''} per sample, from the same static"
              for b in budgets[0]}
    titles[0] = "0 network evaluations: the static every sampler starts from"
    return image_rows_slider(frames, titles, description="evaluations", precompute=precompute)
