"""Lesson 1's (and Lesson 0's) timestep slider: blur only, noise only and blur-to-static side by side.

Not essential on first read: display plumbing around ``course_utils.forward``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from .._validate import as_float_tensor, check_image_batch
from ..forward import BlurToStatic
from ..plotting import figure_to_png, to_display
from ..scheduler import NoiseScheduler
from .core import FrameSlider, timestep_grid

PANELS = {
    "blur": "blur only",
    "noise": "noise only (DDPM)",
    "blur_to_static": "blur + static",
}


def forward_process_slider(
    x0: torch.Tensor,
    scheduler: NoiseScheduler,
    *,
    max_blur_sigma: float = 4.0,
    panels: Sequence[str] = ("blur", "noise", "blur_to_static"),
    histograms: bool = True,
    n_frames: int = 101,
    seed: int = 0,
    precompute: bool = True,
    panel_size: float = 2.4,
) -> FrameSlider:
    """Lesson 1's timestep slider: drag t from 0 to T-1 and watch the picture turn into static.

    Args:
        x0: one clean image, shape (1, C, H, W), values in [-1, 1].
        scheduler: the noise schedule (alpha_bar_t).
        max_blur_sigma: the blur width (pixels) reached at t = T-1 by the blurring panels.
        panels: which of "blur", "noise", "blur_to_static" to show, left to right.
        histograms: show each panel's pixel histogram under it, against the standard normal N(0, 1).
        n_frames: how many timesteps the slider stops at (0 and T-1 included).
        seed: the static eps is drawn once from this seed and reused for every t, so the picture changes smoothly.
    """
    from matplotlib.figure import Figure  # a bare Figure: no pyplot state, nothing shown twice

    x0 = as_float_tensor(x0, "x0")
    check_image_batch(x0, "x0")
    if x0.shape[0] != 1:
        raise ValueError(f"x0 must be one image, shape (1, C, H, W), got {tuple(x0.shape)}. Use x0[i:i+1].")
    unknown = [p for p in panels if p not in PANELS]
    if unknown or not panels:
        raise ValueError(f"panels must be a non-empty list from {list(PANELS)}, got {list(panels)}.")

    x0 = x0.detach().cpu()
    ts = timestep_grid(scheduler.num_train_timesteps, n_frames)
    t = torch.tensor(ts)
    n = len(ts)
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed)).expand(n, *x0.shape[1:])
    batch = x0.expand(n, *x0.shape[1:])
    process = BlurToStatic(scheduler, max_blur_sigma)
    frames = {
        "blur": process.blur_only(batch, t),
        "noise": scheduler.add_noise(batch, eps, t),
        "blur_to_static": process.add_noise(batch, eps, t),
    }
    sigmas = process.blur_sigmas()[t]
    abar = scheduler.alphas_cumprod[t]

    # Histograms of every frame up front: they fix each panel's y range once, so the bars never run off the top.
    edges = np.linspace(-3.5, 3.5, 36)
    centers = (edges[:-1] + edges[1:]) / 2
    normal_pdf = np.exp(-centers**2 / 2) / math.sqrt(2 * math.pi)
    counts = {name: np.stack([np.histogram(frames[name][i].numpy().ravel(), bins=edges, density=True)[0]
                              for i in range(n)]) for name in panels} if histograms else {}

    # One persistent figure; each frame only swaps pixel data and bar heights.
    ncols = len(panels)
    nrows = 2 if histograms else 1
    fig = Figure(figsize=(panel_size * ncols, panel_size * (1.75 if histograms else 1.0) + 0.35))
    gs = fig.add_gridspec(nrows, ncols, height_ratios=[1.0, 0.75] if histograms else [1.0])
    artists = []
    for j, name in enumerate(panels):
        ax = fig.add_subplot(gs[0, j])
        arr = to_display(frames[name][0])
        im = ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        title = ax.set_title(PANELS[name], fontsize=9)
        bars = None
        if histograms:
            hax = fig.add_subplot(gs[1, j])
            bars = hax.bar(centers, np.zeros_like(centers), width=edges[1] - edges[0], color="tab:blue", alpha=0.7)
            hax.plot(centers, normal_pdf, color="tab:red", lw=1.2, label=r"$\mathcal{N}(0, 1)$")
            hax.set_xlim(-3.5, 3.5)
            hax.set_ylim(0, 1.05 * max(float(counts[name].max()), normal_pdf.max()))  # fits every frame
            hax.tick_params(labelsize=7)
            hax.set_xlabel("pixel value", fontsize=7)
            if j == 0:
                hax.set_ylabel("density", fontsize=7)
                hax.legend(fontsize=7, loc="upper left", frameon=False)
        artists.append((name, im, title, bars))
    suptitle = fig.suptitle("", fontsize=10)
    fig.subplots_adjust(left=0.07 if histograms else 0.03, right=0.97, top=0.86, bottom=0.1 if histograms else 0.02,
                        wspace=0.2 if histograms else 0.08, hspace=0.25)
    index = {v: i for i, v in enumerate(ts)}

    # Titles in plain Unicode (sigma, alpha-bar, square root): mathtext would be parsed again for every frame.
    def render(value: int) -> bytes:
        i = index[value]
        for name, im, title, bars in artists:
            im.set_data(to_display(frames[name][i]))
            if name == "blur":
                title.set_text(f"blur only, \u03c3 = {sigmas[i]:.2f} px")
            elif name == "noise":
                title.set_text(f"noise only, \u1fb1 = {abar[i]:.3f}")
            else:
                title.set_text(f"blur + static, \u03c3 = {sigmas[i]:.2f} px")
            if bars is not None:
                for b, h in zip(bars, counts[name][i], strict=True):
                    b.set_height(h)
        suptitle.set_text(f"code timestep t = {value} of 0..{scheduler.num_train_timesteps - 1}   "
                          f"(signal kept: \u221a\u1fb1 = {abar[i].sqrt():.3f})")
        return figure_to_png(fig)

    fs = FrameSlider(render, ts, description="t")
    fs.figure = fig
    fs.frames = frames
    if precompute:
        fs.precompute()
    return fs


