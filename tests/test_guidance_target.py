"""Guidance does not sample the tilted target p(x_0) p(y | x_0)^w (Lesson 5, section 3; course_utils/guidance_1d.py).

A 1-D mixture of Gaussians with exact noise guesses, so that only guidance is left to blame: at w = 1 (no
guidance) the course's DDPM and DDIM land on the asked component within their standard error; at w = 3 each
lands away from the tilted target by many standard errors, and away from each other.
"""

from __future__ import annotations

import math

import pytest
import torch

from course_utils.guidance_1d import (
    MIXTURE,
    Mixture1D,
    guidance_target_table,
    guided_mixture_eps,
    mixture_eps,
    tilted_at_t_mean,
    tilted_moments,
)
from course_utils.scheduler import NoiseScheduler

SEEDS = (0, 1, 2)
N = 20_000


def _log_pt(x: torch.Tensor, abar: float, label: int | None) -> torch.Tensor:
    """log p_t(x) (label None) or log pi_k p_t(x | k), written out independently of the module."""
    out = []
    for pi, mu, s in zip(MIXTURE.weights, MIXTURE.means, MIXTURE.stds, strict=True):
        var = s * s * abar + 1 - abar
        out.append(math.log(pi) - (x - math.sqrt(abar) * mu) ** 2 / (2 * var) - 0.5 * math.log(2 * math.pi * var))
    out = torch.stack(out)
    return torch.logsumexp(out, 0) if label is None else out[label]


@pytest.mark.parametrize("t", [0, 250, 600, 950])
def test_exact_eps_is_minus_sqrt_one_minus_abar_times_the_score(t):
    sched = NoiseScheduler(1000, beta_schedule="cosine")
    abar = float(sched.alphas_cumprod[t])
    x = torch.linspace(-3, 3, 13, dtype=torch.float64, requires_grad=True)
    for label in (None, 0, 1):
        (score,) = torch.autograd.grad(_log_pt(x, abar, label).sum(), x)
        assert torch.allclose(mixture_eps(x.detach(), t, sched, label=label), -math.sqrt(1 - abar) * score,
                              atol=1e-9)
    # eq. 5.2 is the score of p_t(x) p_t(y | x)^w, p_t(y | x) = pi_y p_t(x | y) / p_t(x), at every t
    w = 3.0
    tilted = (1 - w) * _log_pt(x, abar, None) + w * _log_pt(x, abar, 1)
    (score,) = torch.autograd.grad(tilted.sum(), x)
    assert torch.allclose(guided_mixture_eps(x.detach(), t, sched, 1, w), -math.sqrt(1 - abar) * score, atol=1e-9)


def test_tilted_target_by_integration():
    mean, std = tilted_moments(1, 1.0)  # w = 1: p(x_0, y) is the asked component itself
    assert abs(mean - 1.0) < 1e-6 and abs(std - 0.5) < 1e-6
    mean, std = tilted_moments(1, 3.0)
    assert abs(mean - 1.051) < 1e-3 and abs(std - 0.457) < 1e-3  # the numbers Lesson 5 quotes
    one = Mixture1D((1.0,), (0.3,), (0.7,))  # one component: p(y | x) = 1, nothing to tilt
    assert abs(tilted_moments(0, 5.0, one)[0] - 0.3) < 1e-6 and abs(tilted_moments(0, 5.0, one)[1] - 0.7) < 1e-6


def test_guided_densities_are_not_the_noised_target():
    """The reason: noising the tilted target does not give p_t(x) p_t(y | x)^w (w = 1: it does)."""
    for t in (300, 500, 700):
        guided, noised = tilted_at_t_mean(t, 1, 3.0, n_grid=20_001)
        assert guided - noised > 0.1, (t, guided, noised)
        guided, noised = tilted_at_t_mean(t, 1, 1.0, n_grid=20_001)
        assert abs(guided - noised) < 1e-6


def test_without_guidance_both_samplers_land_on_the_asked_component():
    """The control: exact scores, w = 1. Each seed's mean within 4 standard errors of 1 (the samplers are right)."""
    rows = guidance_target_table(1, 1.0, seeds=SEEDS, n=N)
    for sampler in ("ddpm", "ddim"):
        r = rows[sampler]
        assert all(abs(m - 1.0) < 4 * r["stderr"] for m in r["means"]), (sampler, r)
        assert all(abs(s - 0.5) < 0.02 for s in r["stds"]), (sampler, r)


def test_guided_samplers_miss_the_tilted_target():
    """w = 3: target mean 1.051 (std 0.457); guided DDPM about 1.24, guided DDIM about 1.52, every seed."""
    rows = guidance_target_table(1, 3.0, seeds=SEEDS, n=N)
    target = rows["target"]["mean"]
    for sampler in ("ddpm", "ddim"):
        r = rows[sampler]
        spread = max(r["means"]) - min(r["means"])
        assert all(m - target > 20 * r["stderr"] for m in r["means"]), (sampler, r)  # far beyond the noise
        assert min(r["means"]) - target > 5 * spread, (sampler, r)  # and far beyond the spread over seeds
    assert min(rows["ddim"]["means"]) > max(rows["ddpm"]["means"]) + 0.1  # and the two samplers disagree
    assert rows["ddim"]["std"] < rows["ddpm"]["std"] < rows["target"]["std"]  # both narrower than the target
