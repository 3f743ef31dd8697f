"""Bundled pictures (digits, photo) and the device / seed helpers."""

from __future__ import annotations

import platform
import random

import numpy as np
import pytest
import torch

from course_utils.data import load_digits, load_photo, to_model_range
from course_utils.env import environment_report, get_device, seed_everything

# ---------------------------------------------------------------- data

@pytest.fixture(scope="module")
def digits_and_labels():
    return load_digits(return_labels=True)


def test_load_digits_shape_dtype_range(digits_and_labels):
    x = load_digits()
    assert isinstance(x, torch.Tensor)
    assert x.shape == (1797, 1, 8, 8) and x.dtype == torch.float32
    assert x.min().item() == -1.0 and x.max().item() == 1.0  # paper and full ink both occur
    assert bool((x == -1).any()) and bool((x == 1).any())
    # raw pixels are integers 0..16, so values lie on the grid p / 8 - 1
    torch.testing.assert_close((x + 1) * 8, ((x + 1) * 8).round(), atol=1e-5, rtol=0)
    assert torch.equal(x, digits_and_labels[0])


def test_load_digits_labels(digits_and_labels):
    x, y = digits_and_labels
    assert y.shape == (1797,) and y.dtype == torch.long
    assert y.min().item() == 0 and y.max().item() == 9
    assert sorted(torch.unique(y).tolist()) == list(range(10))
    assert torch.bincount(y).min().item() > 150  # roughly balanced classes
    # matches scikit-learn's own copy
    from sklearn.datasets import load_digits as sk_load

    d = sk_load()
    assert torch.equal(y, torch.as_tensor(d.target))
    np.testing.assert_allclose(x[5, 0].numpy(), d.images[5] / 8 - 1, atol=1e-6)


@pytest.mark.parametrize("size", [32, 64])
def test_load_photo_shape_and_range(size):
    x = load_photo(size)
    assert x.shape == (1, 3, size, size) and x.dtype == torch.float32
    assert x.min().item() >= -1.0 and x.max().item() <= 1.0
    assert x.max().item() - x.min().item() > 1.0  # real contrast, not a flat image
    assert x.is_contiguous()


def test_load_photo_is_deterministic():
    assert torch.equal(load_photo(32), load_photo(32))


def test_load_photo_has_colour():
    x = load_photo(32)[0]
    r, g, b = x
    assert (r - g).abs().mean().item() > 0.02
    assert (r - b).abs().mean().item() > 0.02
    assert (r - g).abs().max().item() > 0.2


def test_load_photo_sizes_agree():
    big, small = load_photo(64), load_photo(32)
    pooled = torch.nn.functional.avg_pool2d(big, 2)
    assert (pooled - small).abs().mean().item() < 0.05  # the same picture at two resolutions


@pytest.mark.parametrize("size", [0, 7, 513, 32.0, True, "64", None])
def test_load_photo_bad_size(size):
    with pytest.raises(ValueError, match="size must be an int between 8 and 512"):
        load_photo(size)


def test_to_model_range():
    out = to_model_range(np.array([0, 4, 8, 16]), 16.0)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    torch.testing.assert_close(out, torch.tensor([-1.0, -0.5, 0.0, 1.0]))
    out255 = to_model_range(np.array([[0, 255]], dtype=np.uint8), 255.0)
    assert out255.shape == (1, 2)
    assert out255.tolist() == [[-1.0, 1.0]]


# ---------------------------------------------------------------- env

def test_get_device_default():
    dev = get_device()
    assert isinstance(dev, torch.device)
    if torch.cuda.is_available():
        assert dev.type == "cuda"
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        assert dev.type == "mps"
    else:
        assert dev == torch.device("cpu")
    torch.zeros(2, device=dev)  # usable


def test_get_device_prefer_cpu():
    assert get_device("cpu") == torch.device("cpu")
    assert get_device(prefer="cpu").type == "cpu"


@pytest.mark.parametrize("prefer", ["gpu", "CPU", "tpu", ""])
def test_get_device_bad_prefer(prefer):
    with pytest.raises(ValueError, match="prefer must be 'cpu', 'cuda' or 'mps'"):
        get_device(prefer)


def test_seed_everything_makes_torch_reproducible():
    seed_everything(123)
    a = torch.randn(5)
    seed_everything(123)
    b = torch.randn(5)
    assert torch.equal(a, b)
    seed_everything(124)
    assert not torch.equal(a, torch.randn(5))


def test_seed_everything_seeds_numpy_and_random():
    seed_everything(5)
    n1, r1 = np.random.rand(3), random.random()
    seed_everything(5)
    n2, r2 = np.random.rand(3), random.random()
    np.testing.assert_array_equal(n1, n2)
    assert r1 == r2


def test_seed_everything_returns_seeded_generator():
    g = seed_everything(7)
    assert isinstance(g, torch.Generator)
    assert g.initial_seed() == 7
    assert torch.equal(torch.randn(4, generator=g), torch.randn(4, generator=torch.Generator().manual_seed(7)))
    # the generator is independent of the global stream, which is seeded the same way
    g2 = seed_everything(7)
    assert torch.equal(torch.randn(4, generator=g2), torch.randn(4))


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0", None])
def test_seed_everything_bad_seed(seed):
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        seed_everything(seed)


def test_environment_report():
    rep = environment_report()
    assert isinstance(rep, dict)
    assert {"python", "torch", "device"} <= set(rep)
    assert all(isinstance(v, str) for v in rep.values())
    assert rep["python"] == platform.python_version()
    assert rep["torch"] == torch.__version__
    assert rep["device"].startswith(get_device().type)
