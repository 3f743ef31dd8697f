"""Lesson 3's sliders: scrub through a whole sampling run, for digits and for points.

Not essential on first read: display plumbing around ``course_utils.sampling``.
"""

from __future__ import annotations

import torch

from .._validate import check_image_batch
from ..plotting import figure_to_png, to_display
from .core import FrameSlider


def _frames(trajectory, every: int) -> list[int]:
    """Slider values = steps done: 0 (the static), every ``every``-th, the last sample before the end, and the end."""
    S = len(trajectory.timesteps)
    if trajectory.start is None:
        raise ValueError("this trajectory has no starting static: make it with sample(..., keep_trajectory=True).")
    return sorted(set(range(0, S + 1, every)) | {S - 1, S})


def _label(trajectory, k: int, end: str) -> str:
    """What frame k shows, in code timesteps: the samples after k of S steps."""
    S, ts = len(trajectory.timesteps), trajectory.timesteps
    if k == S:
        return f"after {S} of {S} steps: {end}"
    return f"after {k} of {S} steps: the samples at t = {ts[k]}" + (" (pure static)" if k == 0 else "")


def _samples_at(trajectory, k: int) -> torch.Tensor:
    """The samples after k steps: the static for k = 0, else what the step from timesteps[k - 1] landed on."""
    return trajectory.start if k == 0 else trajectory.samples[k - 1]


def trajectory_slider(trajectory, *, n_show: int = 16, ncols: int = 8, every: int = 1,
                      precompute: bool = True, panel_size: float = 0.75) -> FrameSlider:
    """Lesson 3: scrub through a sampling run. Left, the samples x_t; right, the model's guess x0_hat made at t.

    ``trajectory`` is what ``sampling.sample(..., keep_trajectory=True)`` returns, for pictures (N, C, H, W).
    The slider counts the steps done: 0 shows the static x_{T-1}, k the samples at ``timesteps[k]`` (code
    timesteps, as in the text), the last value the clean pictures x_0."""
    from matplotlib.figure import Figure

    steps = _frames(trajectory, every)
    S = len(trajectory.timesteps)
    first = trajectory.start
    check_image_batch(first, "trajectory samples", check_range=False)
    n = min(n_show, first.shape[0])
    nrows = (n + ncols - 1) // ncols
    fig = Figure(figsize=(2 * ncols * panel_size + 0.6, nrows * panel_size + 0.6))
    grids = fig.subfigures(1, 2, wspace=0.02)
    ims = {}
    names = ["the samples $x_t$", r"the model's guess $\hat x_0$ made at $t$"]
    for side, (sub, name) in enumerate(zip(grids, names, strict=True)):
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
    labels = {k: _label(trajectory, k, "the clean pictures $x_0$ (left and right agree)") for k in steps}

    def render(k: int) -> bytes:
        x = _samples_at(trajectory, k)
        guess = trajectory.x0_guesses[min(k, S - 1)]  # at the end: the last guess, which is the result
        for i in range(n):
            ims[0, i].set_data(to_display(x[i]))
            ims[1, i].set_data(to_display(guess[i]))
        title.set_text(labels[k])
        return figure_to_png(fig)

    fs = FrameSlider(render, steps, description="steps")
    fs.figure = fig
    if precompute:
        fs.precompute()
    return fs


def points_trajectory_slider(trajectory, data: torch.Tensor, *, every: int = 1,
                             precompute: bool = True) -> FrameSlider:
    """Lesson 3: the 2-D cloud flowing back onto the data, step by step (a trajectory of points (N, 2)).

    The slider counts the steps done, as ``trajectory_slider``'s does."""
    from matplotlib.figure import Figure

    steps = _frames(trajectory, every)
    fig = Figure(figsize=(4.6, 4.6))
    ax = fig.add_subplot()
    ax.scatter(data[:, 0], data[:, 1], s=3, color="0.85", label="training data")
    pts = ax.scatter([], [], s=5, color="tab:blue", label="samples")
    ax.set_xlim(-3.2, 3.2)
    ax.set_ylim(-3.2, 3.2)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    title = ax.set_title(_label(trajectory, 0, ""), fontsize=9)
    fig.tight_layout()

    def render(k: int) -> bytes:
        pts.set_offsets(_samples_at(trajectory, k).numpy())
        title.set_text(_label(trajectory, k, "the finished samples"))
        return figure_to_png(fig)

    fs = FrameSlider(render, steps, description="steps")
    fs.figure = fig
    if precompute:
        fs.precompute()
    return fs
