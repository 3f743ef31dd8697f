"""Lesson 2's sliders: what the trained denoiser guesses at each timestep, for points and for digits.

Not essential on first read: display plumbing around the models of ``course_utils.models``.
"""

from __future__ import annotations

import numpy as np
import torch

from .._validate import as_float_tensor, check_image_batch
from ..plotting import figure_to_png, to_display
from ..scheduler import NoiseScheduler
from .core import FrameSlider, timestep_grid


@torch.no_grad()
def points_denoiser_slider(model: torch.nn.Module, data: torch.Tensor, scheduler: NoiseScheduler, *,
                           n_show: int = 300, n_arrows: int = 40, show_ideal: bool = True, n_frames: int = 51,
                           seed: int = 0, precompute: bool = True) -> FrameSlider:
    """Lesson 2's slider on 2-D points: the noisy cloud x_t, and where the model (and the ideal denoiser)
    thinks each point came from (its predicted x_0), with arrows from x_t to the model's guess."""
    from matplotlib.figure import Figure

    from ..ideal import ideal_denoiser

    data = as_float_tensor(data, "data")
    if data.ndim != 2 or data.shape[1] != 2:
        raise ValueError(f"data must be 2-D points shaped (N, 2), got {tuple(data.shape)}.")
    device = next(model.parameters()).device
    g = torch.Generator().manual_seed(seed)
    pick = torch.randperm(data.shape[0], generator=g)[:n_show]
    x0 = data[pick]
    eps = torch.randn(x0.shape, generator=g)
    ts = timestep_grid(scheduler.num_train_timesteps, n_frames)
    lim = 3.2
    frames = {}
    for t in ts:
        tt = torch.full((x0.shape[0],), t)
        x_t = scheduler.add_noise(x0, eps, tt)
        guess = scheduler.predict_x0(x_t, model(x_t.to(device), tt.to(device)).cpu(), tt).clamp(-lim, lim)
        ideal = ideal_denoiser(x_t, tt, data, scheduler) if show_ideal else None
        frames[t] = (x_t, guess, ideal)

    fig = Figure(figsize=(5.2, 5.2))
    ax = fig.add_subplot()
    ax.scatter(data[:, 0], data[:, 1], s=3, color="0.85", label="training data")
    noisy = ax.scatter([], [], s=8, color="tab:blue", label="noisy x_t")
    guess_pts = ax.scatter([], [], s=8, color="tab:orange", label="model's x_0 guess")
    ideal_pts = ax.scatter([], [], s=8, marker="x", color="tab:green", label="ideal x_0 guess") if show_ideal else None
    quiv = ax.quiver(np.zeros(n_arrows), np.zeros(n_arrows), np.zeros(n_arrows), np.zeros(n_arrows),
                     angles="xy", scale_units="xy", scale=1, width=0.004, color="tab:orange", alpha=0.6)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    title = ax.set_title("t = 999   alpha_bar = 0.000")  # a placeholder of full height for the layout
    fig.tight_layout()

    def render(value: int) -> bytes:
        x_t, guess, ideal = frames[value]
        noisy.set_offsets(x_t.numpy())
        guess_pts.set_offsets(guess.numpy())
        if ideal_pts is not None:
            ideal_pts.set_offsets(ideal.numpy())
        k = min(n_arrows, x_t.shape[0])
        quiv.set_offsets(x_t[:k].numpy())
        quiv.set_UVC((guess[:k] - x_t[:k])[:, 0].numpy(), (guess[:k] - x_t[:k])[:, 1].numpy())
        title.set_text(f"t = {value}   alpha_bar = {float(scheduler.alphas_cumprod[value]):.3f}")
        return figure_to_png(fig)

    fs = FrameSlider(render, ts, description="t")
    fs.figure, fs.frames = fig, frames
    if precompute:
        fs.precompute()
    return fs


@torch.no_grad()
def digits_denoiser_slider(model: torch.nn.Module, images: torch.Tensor, scheduler: NoiseScheduler, *,
                           n_frames: int = 51, seed: int = 0, precompute: bool = True,
                           panel_size: float = 1.1) -> FrameSlider:
    """Lesson 2's slider on pictures: for each image (a column), x_t, the model's noise guess and its x_0 guess.

    ``frames[t]`` holds (x_t, eps_hat, x0_hat) with x0_hat unclipped (eq. 2.2); the picture clips it to
    [-1, 1]. Where sqrt(alpha_bar_t) < 0.1 (t >= 935 on the cosine schedule) eq. 2.2 multiplies any error in
    eps_hat by more than ten, so the title says so: the x_0 row there saturates to black and white.
    """
    from matplotlib.figure import Figure

    images = as_float_tensor(images, "images")
    check_image_batch(images, "images")
    device = next(model.parameters()).device
    n = images.shape[0]
    eps = torch.randn(images.shape, generator=torch.Generator().manual_seed(seed))
    ts = timestep_grid(scheduler.num_train_timesteps, n_frames)
    frames = {}
    for t in ts:
        tt = torch.full((n,), t)
        x_t = scheduler.add_noise(images, eps, tt)
        eps_hat = model(x_t.to(device), tt.to(device)).cpu()
        frames[t] = (x_t, eps_hat, scheduler.predict_x0(x_t, eps_hat, tt))  # x0_hat unclipped

    rows = [("clean x_0", None), ("noisy x_t", 0), ("true noise", "eps"), ("predicted noise", 1),
            ("predicted x_0\n(clipped)", 2)]
    fig = Figure(figsize=(panel_size * n + 1.2, panel_size * len(rows) + 0.4))
    axes = fig.subplots(len(rows), n, squeeze=False)
    ims = {}
    for r, (name, _) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            first = images[c] if r == 0 else torch.zeros_like(images[c])
            arr = to_display(first)
            ims[r, c] = ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=1,
                                  interpolation="nearest")
        axes[r, 0].set_ylabel(name, fontsize=8)
    title = fig.suptitle("", fontsize=9)
    fig.subplots_adjust(left=0.12, right=0.98, top=0.86, bottom=0.02, wspace=0.05, hspace=0.08)

    def render(value: int) -> bytes:
        x_t, eps_hat, x0_hat = frames[value]
        shown = {1: x_t, 2: eps / 2.5, 3: eps_hat / 2.5, 4: x0_hat.clamp(-1, 1)}  # noise shown at +-2.5 std
        for r, batch in shown.items():
            for c in range(n):
                ims[r, c].set_data(to_display(batch[c]))
        abar = float(scheduler.alphas_cumprod[value])
        text = f"t = {value}   alpha_bar = {abar:.3g}"
        if abar < 0.01:  # sqrt(abar) < 0.1: eq. 2.2 blows up the noise guess's errors
            gain = (1 - abar) ** 0.5 / abar**0.5
            lo, hi = float(x0_hat.min()), float(x0_hat.max())
            text += (f"\neq. 2.2 multiplies errors in the noise guess by {gain:,.0f}: "
                     f"x_0 guesses span {lo:,.0f} to {hi:,.0f}, clipped to [-1, 1]")
        title.set_text(text)
        return figure_to_png(fig)

    fs = FrameSlider(render, ts, description="t")
    fs.figure, fs.frames = fig, frames
    if precompute:
        fs.precompute()
    return fs


