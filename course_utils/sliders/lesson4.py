"""Lesson 4's sliders: rows of digits that change with one slider (two processes side by side, or SDEdit).

Not essential on first read: display plumbing around ``course_utils.sampling``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .._validate import check_image_batch
from ..plotting import figure_to_png, to_display
from .core import FrameSlider
from .lesson3 import _frames, _samples_at


def image_rows_slider(frames: dict[int, Sequence[tuple[str, torch.Tensor]]], titles: dict[int, str] | None = None, *,
                      description: str = "t", precompute: bool = True, panel_size: float = 0.7) -> FrameSlider:
    """A slider over ``frames``' keys; each frame is a list of rows (label, pictures (n, C, H, W)) shown one above
    the other. Every frame must have the same number of rows and pictures per row (pictures shown clipped)."""
    from matplotlib.figure import Figure

    if not frames:
        raise ValueError("frames must hold at least one slider value.")
    values = sorted(frames)
    first = frames[values[0]]
    layout = [(len(rows), tuple(int(r[1].shape[0]) for r in rows)) for rows in frames.values()]
    if len(set(layout)) != 1:
        raise ValueError("every frame must have the same rows, with the same number of pictures in each.")
    for _, pics in first:
        check_image_batch(pics, "frames' pictures", check_range=False)
    nrows, ncols = len(first), max(int(p.shape[0]) for _, p in first)
    fig = Figure(figsize=(ncols * panel_size + 1.9, nrows * panel_size + 0.5))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    ims, labels = {}, []
    for r, (label, pics) in enumerate(first):
        for c, ax in enumerate(axes[r]):
            ax.set_xticks([])
            ax.set_yticks([])
            if c < pics.shape[0]:
                arr = to_display(pics[c])
                ims[r, c] = ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=1,
                                      interpolation="nearest")
            else:
                ax.axis("off")
        labels.append(axes[r][0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8))
    title = fig.suptitle("", fontsize=9, y=0.99, va="top")
    fig.subplots_adjust(left=1.8 / (ncols * panel_size + 1.9), right=0.99, top=1 - 0.35 / (nrows * panel_size + 0.5),
                        bottom=0.02, wspace=0.05, hspace=0.08)

    def render(v: int) -> bytes:
        for r, (label, pics) in enumerate(frames[v]):
            labels[r].set_text(label)
            for c in range(pics.shape[0]):
                ims[r, c].set_data(to_display(pics[c]))
        title.set_text((titles or {}).get(v, f"{description} = {v}"))
        return figure_to_png(fig)

    fs = FrameSlider(render, values, description=description)
    fs.figure = fig
    if precompute:
        fs.precompute()
    return fs


def race_slider(trajectories: dict[str, object], *, n_show: int = 8, every: int = 20,
                precompute: bool = True) -> FrameSlider:
    """Lesson 4: several sampling runs side by side, one row per run (its samples x_t), from the same static.

    ``trajectories``: label -> what ``sample(..., keep_trajectory=True)`` returns, all over the same timesteps.
    The slider counts the steps done, as Lesson 3's ``trajectory_slider`` does (0: the static)."""
    trajs = list(trajectories.values())
    if not trajs:
        raise ValueError("give at least one trajectory.")
    if any(tr.timesteps != trajs[0].timesteps for tr in trajs):
        raise ValueError("the trajectories must run over the same timesteps (the same set_timesteps).")
    steps = _frames(trajs[0], every)
    S, ts = len(trajs[0].timesteps), trajs[0].timesteps
    frames = {k: [(label, _samples_at(tr, k)[:n_show]) for label, tr in trajectories.items()] for k in steps}
    titles = {k: (f"after {k} of {S} steps: " + ("the clean pictures $x_0$" if k == S else
                                                 f"the samples at t = {ts[k]}" + (" (pure static)" if k == 0 else "")))
              for k in steps}
    return image_rows_slider(frames, titles, description="steps", precompute=precompute)
