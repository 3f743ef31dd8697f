"""scripts/unet_side_by_side.py: the course U-Net against diffusers' UNet2DModel, on a tiny budget."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("diffusers")
ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("unet_side_by_side", ROOT / "scripts" / "unet_side_by_side.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_wrapper_has_the_course_signature_and_a_similar_size():
    uss = _script()
    course, library = uss.models().values()
    x, t = torch.randn(3, 1, 8, 8), torch.tensor([0, 500, 999])
    assert library(x, t).shape == (3, 1, 8, 8)
    ratio = uss.parameters(library) / uss.parameters(course)
    assert 0.9 < ratio < 1.1, ratio  # "configured to a similar parameter count"


def test_comparison_on_a_tiny_budget_has_both_rows_and_finite_numbers():
    uss = _script()
    result = uss.compare(seconds=0.05, n_samples=16, threads=1, timing_steps=1, timing_rounds=1, ddim_steps=3,
                         equal_steps=True, log=lambda *a: None)
    names = [r["model"] for r in result["rows"]]
    assert names == ["course UNet (channels=32)", "diffusers UNet2DModel"]
    assert uss._finite(result)
    for r in result["rows"]:
        assert r["steps"] >= 1 and math.isfinite(r["heldout_loss_equal_steps"])
    assert result["settings"]["threads"] == 1
    table = "\n".join(result["lines"])
    for name in names:
        row = next(line for line in result["lines"] if line.startswith(f"| {name} |"))
        assert "nan" not in row and "inf" not in row, row
    assert "| reference: real training digits |" in table
    assert all(line.count("|") == result["lines"][2].count("|") for line in result["lines"][2:])
