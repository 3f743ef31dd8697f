"""Lesson 3's sliders: scrub through a whole sampling run, for digits and for points.

Not essential on first read: display plumbing around ``course_utils.sampling``.
"""

from __future__ import annotations

import torch

from .._validate import check_image_batch
from ..plotting import figure_to_png, to_display
from .core import FrameSlider


def trajectory_slider(trajectory, *, n_show: int = 16, ncols: int = 8, every: int = 1,
                      precompute: bool = True, panel_size: float = 0.75) -> FrameSlider:
    """Lesson 3: scrub through a sampling run. Left, the samples x_t; right, the model's current guess x0_hat.

    ``trajectory`` is what ``sampling.sample(..., keep_trajectory=True)`` returns, for pictures (N, C, H, W)."""
    from matplotlib.figure import Figure

    steps = list(range(0, len(trajectory.timesteps), every))
    if steps[-1] != len(trajectory.timesteps) - 1:
        steps.append(len(trajectory.timesteps) - 1)
    first = trajectory.samples[0]
    check_image_batch(first, "trajectory samples", check_range=False)
    n = min(n_show, first.shape[0])
    nrows = (n + ncols - 1) // ncols
    fig = Figure(figsize=(2 * ncols * panel_size + 0.6, nrows * panel_size + 0.6))
    grids = fig.subfigures(1, 2, wspace=0.02)
    ims = {}
    for side, (sub, name) in enumerate(zip(grids, ["samples x_t", "the model's guess x0_hat"], strict=True)):
        axes = sub.subplots(nrows, ncols, squeeze=False)
        sub.suptitle(name, fontsize=9)
        for i, ax in enumerate(axes.flat):
            ax.set_xticks([])
            ax.set_yticks([])
            if i < n:
                arr = to_display(first[i])
                ims[side, i] = ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=1,
                                         interpolation="nearest")
            else:
                ax.axis("off")
    title = fig.suptitle("", fontsize=10, y=0.02, va="bottom")
    labels = {k: f"after step {k + 1} of {len(trajectory.timesteps)} (the step from t = {trajectory.timesteps[k]})"
              for k in steps}

    def render(k: int) -> bytes:
        for i in range(n):
            ims[0, i].set_data(to_display(trajectory.samples[k][i]))
            ims[1, i].set_data(to_display(trajectory.x0_guesses[k][i]))
        title.set_text(labels[k])
        return figure_to_png(fig)

    fs = FrameSlider(render, steps, description="step")
    fs.figure = fig
    if precompute:
        fs.precompute()
    return fs


def points_trajectory_slider(trajectory, data: torch.Tensor, *, every: int = 1,
                             precompute: bool = True) -> FrameSlider:
    """Lesson 3: the 2-D cloud flowing back onto the data, step by step (a trajectory of points (N, 2))."""
    from matplotlib.figure import Figure

    steps = list(range(0, len(trajectory.timesteps), every))
    if steps[-1] != len(trajectory.timesteps) - 1:
        steps.append(len(trajectory.timesteps) - 1)
    fig = Figure(figsize=(4.6, 4.6))
    ax = fig.add_subplot()
    ax.scatter(data[:, 0], data[:, 1], s=3, color="0.85", label="training data")
    pts = ax.scatter([], [], s=5, color="tab:blue", label="samples")
    ax.set_xlim(-3.2, 3.2)
    ax.set_ylim(-3.2, 3.2)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    title = ax.set_title("after step 1000 of 1000 (t = 999)")
    fig.tight_layout()

    def render(k: int) -> bytes:
        pts.set_offsets(trajectory.samples[k].numpy())
        title.set_text(f"after step {k + 1} of {len(trajectory.timesteps)} (from t = {trajectory.timesteps[k]})")
        return figure_to_png(fig)

    fs = FrameSlider(render, steps, description="step")
    fs.figure = fig
    if precompute:
        fs.precompute()
    return fs


