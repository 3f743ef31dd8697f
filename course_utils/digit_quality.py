"""A quality measure that can tell digit samplers apart (review part 3; used from Lesson 6 on).

Lesson 3's Frechet distance (``metrics.digit_metrics``) compares 64 features of a one-layer classifier with the
180 held-out digits. It ranks a blank page far from digits, but with 180 references and one seed most sampler
comparisons fall inside its noise. This measure changes three things, each a known remedy for FID's bias and
variance (Chong & Forsyth 2020, "Effectively Unbiased FID"; Heusel et al. 2017 for FID itself):

1. **A feature space that sees strokes**: the 128 features before the last layer of a small convolutional
   network (about 150 k weights) trained to name the 1,797 digits from copies shifted by up to a pixel and
   lightly noised, so that a stroke moved by a pixel is still the same stroke but a missing or broken stroke
   is not. Shipped as ``weights/digit_features.safetensors``; ``scripts/train_digit_features.py`` remakes it
   bit for bit on a CPU (about 30 s).
2. **More references**: all 1,797 digits (the Frechet distance's bias shrinks with the number of examples on
   both sides; Chong & Forsyth 2020).
3. **A spread**: ``score(draw, seeds)`` draws the samples once per seed and reports the mean and the standard
   deviation over seeds. A difference smaller than the spreads is not a difference.

``tests/test_digit_quality.py`` proves that it ranks known-better samples better: two halves of the real
digits (drawn with replacement) score lowest, then 50, 8, 4 and 2 DDIM steps of the shipped ``digits`` in that order.
Call it with ``frechet_to_digits(samples)`` (one number) or ``score(draw, seeds)`` (mean and spread).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from ._validate import as_float_tensor

FEATURES_FILE = Path(__file__).parent / "weights" / "digit_features.safetensors"
FEATURES_SEED = 8_000_003  # the training run's seed (shifts, noise, batches, initial weights)
N_FEATURES = 128


def _features_net() -> torch.nn.Module:
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),  # (n, 32, 8, 8): short stroke pieces
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),  # (n, 64, 8, 8): corners, crossings
        nn.MaxPool2d(2),  # (n, 64, 4, 4)
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),  # (n, 64, 4, 4)
        nn.Flatten(), nn.Linear(64 * 16, N_FEATURES), nn.ReLU(),  # (n, 128): the features
        nn.Linear(N_FEATURES, 10),  # (n, 10) logits, used only for training
    )


def _shift(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Each picture moved by -1, 0 or +1 pixel in each direction (background -1 fills in)."""
    n = x.shape[0]
    pad = torch.nn.functional.pad(x, (1, 1, 1, 1), value=-1.0)  # (n, 1, 10, 10)
    dy, dx = torch.randint(0, 3, (n,), generator=g), torch.randint(0, 3, (n,), generator=g)
    rows = (dy[:, None] + torch.arange(8)[None, :])  # (n, 8)
    cols = (dx[:, None] + torch.arange(8)[None, :])  # (n, 8)
    idx = torch.arange(n)[:, None, None]
    return pad[idx, 0, rows[:, :, None], cols[:, None, :]][:, None]  # (n, 1, 8, 8)


def train_features(steps: int = 3000, seed: int = FEATURES_SEED) -> torch.nn.Module:
    """Train the feature network on all 1,797 digits (the shipped recipe; deterministic for a seed, one thread).

    Adam (lr 2e-3, one-cycle), batches of 128, each picture shifted by up to a pixel and given static of a random
    strength up to 0.2 half of the time.
    """
    from .data import load_digits

    x, y = load_digits(return_labels=True)
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = _features_net()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    for _ in range(steps):
        idx = torch.randint(0, x.shape[0], (128,), generator=g)
        xb = _shift(x[idx], g)
        strength = 0.2 * torch.rand(128, 1, 1, 1, generator=g) * (torch.rand(128, 1, 1, 1, generator=g) < 0.5)
        xb = xb + strength * torch.randn(xb.shape, generator=g)
        loss = torch.nn.functional.cross_entropy(net(xb), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return net.eval()


@functools.lru_cache(maxsize=1)
def features_net() -> torch.nn.Module:
    """The feature network: loaded from FEATURES_FILE (trained if the file is missing), then kept."""
    if not FEATURES_FILE.is_file():
        return train_features()
    from safetensors.torch import load_file

    net = _features_net()
    state = load_file(str(FEATURES_FILE))
    if {k: tuple(v.shape) for k, v in state.items()} != {k: tuple(v.shape) for k, v in net.state_dict().items()}:
        raise RuntimeError(f"{FEATURES_FILE} does not hold the digit feature network (names or shapes differ); "
                           "remake it with scripts/train_digit_features.py.")
    net.load_state_dict(state)
    return net.eval()


def _check_digits(samples, name: str = "samples") -> torch.Tensor:
    x = as_float_tensor(samples, name).detach().cpu().float()
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, 8, 8) or x.shape[0] < 2:
        raise ValueError(f"{name} must be digits shaped (N, 1, 8, 8) with N >= 2 and values in [-1, 1], "
                         f"got {tuple(x.shape)}.")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values: the sampler diverged.")
    return x.clamp(-1, 1)  # as they are shown and saved


def features(samples) -> np.ndarray:
    """The 128 stroke features of digits (N, 1, 8, 8) in [-1, 1] (clipped to it first): (N, 128) float64."""
    x = _check_digits(samples)
    body = features_net()[:-1]  # everything but the last layer
    with torch.no_grad():
        return torch.cat([body(b) for b in x.split(2048)]).double().numpy()


@functools.lru_cache(maxsize=1)
def _reference_features() -> np.ndarray:
    from .data import load_digits

    return features(load_digits())  # all 1,797 digits


def frechet_to_digits(samples) -> float:
    """Frechet distance between the stroke features of ``samples`` (N, 1, 8, 8) and of all 1,797 real digits.

    Lower is better; compare values from the same N only (1,000 samples in the course's tables).
    """
    from .metrics import frechet_distance

    return frechet_distance(_reference_features(), features(samples))


class Score(NamedTuple):
    """``score``'s result: the mean and the spread (standard deviation over seeds) of the Frechet distance."""

    mean: float
    std: float
    values: tuple[float, ...]  # one per seed

    def __str__(self) -> str:
        return f"{self.mean:.1f} +- {self.std:.1f}"


def score(draw: Callable[[int], torch.Tensor], seeds=(0, 1, 2)) -> Score:
    """``frechet_to_digits(draw(seed))`` for each seed: mean, standard deviation over seeds (ddof 1), values.

    ``draw(seed)`` returns the samples (N, 1, 8, 8) drawn with that seed (for example from the static of
    ``torch.Generator().manual_seed(seed)``).
    """
    seeds = tuple(seeds)
    if len(seeds) < 2:
        raise ValueError(f"score needs at least 2 seeds for a spread (3 or more in the course's tables), got {seeds}.")
    values = tuple(frechet_to_digits(draw(int(s))) for s in seeds)
    return Score(float(np.mean(values)), float(np.std(values, ddof=1)), values)


def real_halves(seeds=(0, 1, 2), n: int = 1000) -> Score:
    """The floor: ``n`` real digits drawn with replacement from the 1,797 references, scored like samples.

    What a sampler that had learned the data set perfectly (and copied it) would score with ``n`` samples: the
    Frechet distance's finite-sample bias alone. One draw per seed.
    """
    from .data import load_digits

    x = load_digits()

    def draw(seed: int) -> torch.Tensor:
        return x[torch.randint(0, len(x), (int(n),), generator=torch.Generator().manual_seed(seed))]

    return score(draw, seeds)
