"""Checks of Lesson 0 (notebooks/00_welcome.ipynb): one ``check_*`` function per exercise."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .core import _call, _compare, _fail, _passed, _want_dtype, exercise


@exercise("Exercise 0.1 (to_model_range)")
def check_to_model_range(fn: Callable, ex: str) -> None:
    """Exercise 0.1: pixels 0..255 to [-1, 1] (Lesson 0, eq. 0.1)."""
    p = torch.tensor([[0.0, 51.0, 127.5], [200.0, 254.0, 255.0]])
    expected = p / 127.5 - 1
    got = _call(ex, fn, p.clone())
    mistakes = {
        "your values are in [0, 1]. The models want [-1, 1]: stretch to [0, 2], then shift down by 1.": p / 255,
        "your values are in [0, 2]: shift them down by 1.": p / 127.5,
        "black and white are swapped: pixel 0 (black) must map to -1 and 255 (white) to +1.": 1 - p / 127.5,
        "your values are in [-0.5, 0.5]: dividing by 255 and subtracting 0.5 halves the range.": p / 255 - 0.5,
        "divide by 127.5 (= 255 / 2), not by 128: white, 255, must land exactly on +1.": p / 128 - 1,
    }
    _compare(ex, got, expected, mistakes, "Map 0 to -1, 255 to +1, and everything in between on a straight line.",
             dtype=torch.float32)

    # Pictures are usually stored as uint8 (whole numbers 0..255): integer arithmetic wraps around there.
    p8 = torch.tensor([[0, 51, 127], [128, 200, 255]], dtype=torch.uint8)
    in_place = ("in-place arithmetic on integer pixels: a uint8 tensor cannot hold fractions, so pixels /= 127.5 "
                "(or div_, sub_) fails. Compute a new tensor, x = pixels / 127.5 - 1.")
    got8 = _call(ex, fn, p8.clone(), named={(RuntimeError, "can't be cast to the desired output type"): in_place})
    wraps = ("right on float pixels, wrong on uint8 pixels (whole numbers 0..255, as pictures are stored): "
             "uint8 arithmetic wraps around above 255, so 2 * 200 gives 144. Divide first (pixels / 127.5 - 1) "
             "or convert first (2 * pixels.float() / 255 - 1).")
    if not isinstance(got8, torch.Tensor) or not torch.is_floating_point(got8):
        kind = type(got8).__name__ if not isinstance(got8, torch.Tensor) else f"a {got8.dtype} tensor"
        _fail(ex, f"on uint8 pixels your function returned {kind}: the result must be floating point, in [-1, 1]. "
                  "Divide by 127.5 (true division gives floats), or convert first with pixels.float().")
    _want_dtype(ex, got8, torch.float32, "pictures become float32 tensors, the dtype the models take (true "
                                         "division of uint8 pixels gives float32).")
    expected8 = p8.float() / 127.5 - 1
    if tuple(got8.shape) != tuple(expected8.shape) or not torch.allclose(got8.double(), expected8.double(), atol=1e-5):
        _fail(ex, wraps)
    _passed(ex, "0 -> -1, 127.5 -> 0 and 255 -> +1, as eq. 0.1 says, for float and for uint8 pixels.")
