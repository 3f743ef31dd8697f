"""Pictures that ship with installed packages: nothing is downloaded, ever.

- ``load_digits``: the 1,797 handwritten 8x8 digits bundled with scikit-learn (the lessons train on them).
- ``load_photo``: a colour photograph bundled with matplotlib (Grace Hopper, in matplotlib's sample data).

Both return float32 tensors shaped (N, C, H, W) with values in [-1, 1], the range the models use.
"""

from __future__ import annotations

import numpy as np
import torch

from ._validate import check_real, is_int


def to_model_range(pixels: np.ndarray, max_value: float) -> torch.Tensor:
    """Map pixel values in [0, max_value] to [-1, 1] (Lesson 1, eq. 1.0): x = 2 * p / max_value - 1."""
    max_value = check_real(max_value, "max_value", low=0.0, low_open=True,
                           what=" (the value of full brightness: 255 for 8-bit pixels, 16 for the digits)")
    return torch.as_tensor(2.0 * np.asarray(pixels, dtype=np.float32) / max_value - 1.0)


DIGITS_TEST_SIZE = 180  # about 10 %, held out from training (Lesson 2) for honest losses and Lesson 3's checks


def load_digits(*, split: str = "all", return_labels: bool = False):
    """The scikit-learn digits as a float32 tensor of shape (N, 1, 8, 8) in [-1, 1].

    The raw pixels are integers 0..16 (16 = full ink), so x = p / 8 - 1; ink is +1, paper is -1.
    ``split``: "all" (1,797 digits), "train" (1,617) or "test" (180, never trained on); the split is a
    fixed shuffle, the same on every machine. With ``return_labels=True`` also returns the digit classes,
    a long tensor of shape (N,).
    """
    from sklearn.datasets import load_digits as _load

    if split not in ("all", "train", "test"):
        raise ValueError(f"split must be 'all', 'train' or 'test', got {split!r}.")
    d = _load()
    x = to_model_range(d.images, 16.0)[:, None]  # (N, 1, 8, 8)
    y = torch.as_tensor(d.target, dtype=torch.long)
    if split != "all":
        order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))
        keep = order[:DIGITS_TEST_SIZE] if split == "test" else order[DIGITS_TEST_SIZE:]
        x, y = x[keep], y[keep]
    return (x, y) if return_labels else x


def load_photo(size: int = 64) -> torch.Tensor:
    """A colour photograph from matplotlib's sample data, centre-cropped and resized: (1, 3, size, size) in [-1, 1]."""
    if not is_int(size) or not (8 <= size <= 512):
        raise ValueError(f"size must be an int between 8 and 512 pixels, got {size!r}.")
    size = int(size)
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        img = Image.open(f).convert("RGB")
        w, h = img.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 4  # keep the face: crop nearer the top
        img = img.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)
        arr = np.asarray(img)  # (size, size, 3) uint8
    return to_model_range(arr, 255.0).permute(2, 0, 1)[None].contiguous().clamp(-1, 1)


def crayon_drawing(size: int = 64) -> torch.Tensor:
    """A child's crayon drawing (a house, a sun, a tree and grass), drawn here in code: (1, 3, size, size) in [-1, 1].

    The course's opening picture: smudge it until only TV static is left, then learn to bring it back.
    Drawn with matplotlib's Agg renderer, so it needs no file and is the same on every machine.
    """
    if not is_int(size) or not (16 <= size <= 512):
        raise ValueError(f"size must be an int between 16 and 512 pixels, got {size!r}.")
    size = int(size)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, Polygon, Rectangle

    fig = Figure(figsize=(1, 1), dpi=size)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.axis("off")
    ax.add_patch(Rectangle((0, 0), 10, 10, color="#fdf6e3"))  # paper
    ax.add_patch(Rectangle((0, 0), 10, 2.2, color="#4caf50"))  # grass
    ax.add_patch(Circle((8.0, 8.0), 1.2, color="#ffc107"))  # sun
    for k in range(8):  # sun rays
        a = k * np.pi / 4
        ax.plot([8 + 1.5 * np.cos(a), 8 + 2.1 * np.cos(a)], [8 + 1.5 * np.sin(a), 8 + 2.1 * np.sin(a)],
                color="#ff9800", lw=size / 40, solid_capstyle="round")
    ax.add_patch(Rectangle((1.5, 2.2), 4.0, 3.3, color="#e53935"))  # house
    ax.add_patch(Polygon([(1.0, 5.5), (3.5, 8.0), (6.0, 5.5)], color="#6d4c41"))  # roof
    ax.add_patch(Rectangle((3.0, 2.2), 1.0, 1.9, color="#1e88e5"))  # door
    ax.add_patch(Rectangle((1.9, 3.9), 0.8, 0.8, color="#fff59d"))  # window
    ax.add_patch(Rectangle((7.6, 2.2), 0.5, 2.3, color="#795548"))  # trunk
    ax.add_patch(Circle((7.85, 5.0), 1.1, color="#2e7d32"))  # tree top
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())[:, :, :3]  # (size, size, 3) uint8
    return to_model_range(rgba.copy(), 255.0).permute(2, 0, 1)[None].contiguous().clamp(-1, 1)


def load_points(n: int = 2000, seed: int = 0) -> torch.Tensor:
    """A 2-D toy data set: two interleaved half-moons (scikit-learn's ``make_moons``), shape (n, 2).

    Centred and scaled by one common factor (the shape is kept) to overall standard deviation 1, so the
    points and the static N(0, I) are on the same scale. Generated from ``seed``; nothing is downloaded.
    """
    if not is_int(n) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}.")
    n = int(n)
    from sklearn.datasets import make_moons

    x, _ = make_moons(n_samples=n, noise=0.06, random_state=seed)
    x = (x - x.mean(axis=0)) / x.std()
    return torch.as_tensor(x, dtype=torch.float32)
