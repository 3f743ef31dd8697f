"""Checks of Lesson 0 (notebooks/00_welcome.ipynb): one ``check_*`` function per exercise."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .core import _call, _compare, _passed, exercise


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
    }
    _compare(ex, got, expected, mistakes, "Map 0 to -1, 255 to +1, and everything in between on a straight line.")
    _passed(ex, "0 -> -1, 127.5 -> 0 and 255 -> +1, as eq. 0.1 says.")
