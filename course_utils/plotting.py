"""Pictures: turn (C, H, W) tensors in [-1, 1] into something matplotlib can show.

Plumbing, not essential on first read. No pyplot state is kept: functions return their Figure.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import torch

from ._validate import as_float_tensor


def to_display(image: torch.Tensor, *, clip: bool = True) -> np.ndarray:
    """One image (C, H, W) in [-1, 1] -> a numpy array for ``imshow`` in [0, 1]: (H, W) for grey, (H, W, 3) for colour.

    Values outside [-1, 1] (noisy images have them) are clipped for display only.
    """
    x = as_float_tensor(image, "image").detach().cpu()
    if x.ndim == 4 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 3 or x.shape[0] not in (1, 3):
        raise ValueError(f"image must be shaped (C, H, W) with C = 1 or 3, got shape {tuple(x.shape)}.")
    arr = ((x + 1) / 2).numpy()
    if clip:
        arr = np.clip(arr, 0.0, 1.0)
    return arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)


def show_image(ax, image: torch.Tensor, title: str | None = None):
    """Draw one (C, H, W) image on ``ax`` without interpolation (so 8x8 digits stay crisp); returns the AxesImage."""
    arr = to_display(image)
    im = ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=9)
    return im


def show_images(images: torch.Tensor, titles: Sequence[str] | None = None, *, ncols: int | None = None,
                size: float = 1.6, suptitle: str | None = None):
    """A grid of images (N, C, H, W) in [-1, 1]; returns the matplotlib Figure."""
    import matplotlib.pyplot as plt

    x = as_float_tensor(images, "images")
    if x.ndim != 4:
        raise ValueError(f"images must be shaped (N, C, H, W), got shape {tuple(x.shape)}.")
    n = x.shape[0]
    if titles is not None and len(titles) != n:
        raise ValueError(f"got {len(titles)} titles for {n} images.")
    ncols = ncols or n
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if suptitle else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < n:
            show_image(ax, x[i], titles[i] if titles is not None else None)
        else:
            ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def figure_to_png(fig, dpi: int = 90) -> bytes:
    """Render a matplotlib Figure to PNG bytes (for an ``ipywidgets.Image``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def draw_unet(channels: int = 32):
    """A picture of the course's U-Net (Lesson 2): resolutions down and up, and the skip connections."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, Rectangle

    c = channels
    fig, ax = plt.subplots(figsize=(9, 4.2))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 5.2)
    ax.axis("off")
    boxes = {  # name: (x, y, height, label)
        "in": (0.2, 3.4, 1.4, "x_t\n1 x 8x8"),
        "d1": (1.6, 3.4, 1.4, f"ResBlock\n{c} x 8x8"),
        "d2": (3.2, 1.9, 1.0, f"ResBlock\n{2 * c} x 4x4"),
        "mid": (4.6, 0.5, 0.7, f"ResBlock\n{2 * c} x 2x2"),
        "u2": (6.0, 1.9, 1.0, f"ResBlock\n{2 * c} x 4x4"),
        "u1": (7.4, 3.4, 1.4, f"ResBlock\n{c} x 8x8"),
        "out": (8.8, 3.4, 1.4, "eps_hat\n1 x 8x8"),
    }
    colours = {"in": "#e3f2fd", "out": "#fff3e0"}
    for name, (x, y, h, label) in boxes.items():
        ax.add_patch(Rectangle((x, y), 1.05, h, facecolor=colours.get(name, "#e8f5e9"), edgecolor="0.3"))
        ax.text(x + 0.525, y + h / 2, label, ha="center", va="center", fontsize=8)

    def arrow(a, b, style="-|>", colour="0.2", rad=0.0, label=None):
        (xa, ya, ha, _), (xb, yb, hb, _) = boxes[a], boxes[b]
        p = FancyArrowPatch((xa + 1.05, ya + ha / 2), (xb, yb + hb / 2), arrowstyle=style, mutation_scale=12,
                            color=colour, connectionstyle=f"arc3,rad={rad}")
        ax.add_patch(p)
        if label:
            ax.text((xa + 1.05 + xb) / 2, (ya + ha / 2 + yb + hb / 2) / 2 + 0.15, label, fontsize=7,
                    ha="center", color=colour)

    arrow("in", "d1")
    arrow("d1", "d2", label="halve")
    arrow("d2", "mid", label="halve")
    arrow("mid", "u2", label="double")
    arrow("u2", "u1", label="double")
    arrow("u1", "out")
    for a, b in (("d1", "u1"), ("d2", "u2")):  # skip connections: copy across, concatenate
        (xa, ya, ha, _), (xb, yb, hb, _) = boxes[a], boxes[b]
        ax.add_patch(FancyArrowPatch((xa + 1.05, ya + ha * 0.85), (xb, yb + hb * 0.85), arrowstyle="-|>",
                                     mutation_scale=12, color="tab:red", linestyle="--"))
        ax.text((xa + 1.05 + xb) / 2, ya + ha * 0.85 + 0.08, "copy, concatenate", color="tab:red", ha="center",
                fontsize=7)
    ax.text(5.1, 4.95, "skip connections: the fine detail of the way down, handed straight to the way up",
            color="tab:red", ha="center", fontsize=8)
    ax.text(5.1, 0.1, "timestep t -> sinusoidal embedding -> MLP -> added inside every ResBlock",
            ha="center", fontsize=8, color="tab:purple")
    fig.tight_layout()
    return fig
