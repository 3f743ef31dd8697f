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


def figure_to_png(fig, dpi: int = 72) -> bytes:
    """Render a matplotlib Figure to PNG bytes (for an ``ipywidgets.Image``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
