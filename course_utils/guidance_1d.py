"""What classifier-free guidance samples, measured exactly in one dimension (Lesson 5, section 3).

Guidance (eq. 5.2) replaces the noise guess by eps_null + w (eps_y - eps_null). Since eps(x_t) = -sqrt(1 - abar_t)
grad log p(x_t), that is the score of p(x_t) p(y | x_t)^w at every t (Ho & Salimans 2022, sec. 3). It is tempting
to read this as "the guided sampler draws from the tilted target p(x_0) p(y | x_0)^w". It does not: the tilted
densities p_t(x) p_t(y | x)^w of the different t are not the marginals of one diffusion started from the tilted
target (noising p(x_0) p(y | x_0)^w does not give p_t(x) p_t(y | x)^w), so no sampler that follows their scores
lands on it, and DDPM and DDIM, which agree for a true diffusion's scores, land on different distributions
(Chidambaram et al. 2024, "What does guidance do? A fine-grained analysis in a simple setting"; Bradley &
Nakkiran 2024, "Classifier-free guidance is a predictor-corrector").

Here everything is exact, so nothing but guidance is left to blame: the data are a mixture of Gaussians in 1-D,
p(x_0) = sum_k pi_k N(mu_k, s_k^2), the label y is the component, and under the course's forward process
(x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps) every p(x_t | y = k) is again Gaussian, N(sqrt(abar) mu_k,
abar s_k^2 + 1 - abar), so the conditional and unconditional noise guesses are known in closed form
(``mixture_eps``). The tilted target's mean and std come from numerical integration on a fine grid
(``tilted_moments``); the guided samples from the course's own ``NoiseScheduler`` (DDPM) and ``DDIMScheduler``
(eta 0) with clip_sample=False (``guided_samples``). Not essential on first read.

The course's mixture (``MIXTURE``): two components, weights 1/2, means -1 and +1, std 0.5 each; the label asks
for the component at +1, and w = 3. At w = 1 (no guidance) both samplers land on that component (mean 1, std
0.5) within their standard error: the samplers are right, the difference at w = 3 is guidance's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .ddim import DDIMScheduler
from .scheduler import NoiseScheduler


@dataclass(frozen=True)
class Mixture1D:
    """A 1-D mixture of Gaussians: p(x_0) = sum_k weights[k] N(means[k], stds[k]^2); the label y is the component."""

    weights: tuple[float, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]

    def __post_init__(self) -> None:
        k = len(self.weights)
        if not (k >= 1 and len(self.means) == k and len(self.stds) == k):
            raise ValueError("weights, means and stds must be non-empty and of the same length.")
        if any(p <= 0 for p in self.weights) or abs(sum(self.weights) - 1) > 1e-9:
            raise ValueError(f"the weights must be positive and sum to 1, got {self.weights}.")
        if any(s <= 0 for s in self.stds):
            raise ValueError(f"the stds must be positive, got {self.stds}.")


MIXTURE = Mixture1D(weights=(0.5, 0.5), means=(-1.0, 1.0), stds=(0.5, 0.5))  # the lesson's; y = 1 asks for +1


def _component_log_densities(x: torch.Tensor, abar: torch.Tensor, mix: Mixture1D) -> tuple[torch.Tensor, ...]:
    """log pi_k + log N(x; sqrt(abar) mu_k, abar s_k^2 + 1 - abar) (K, N) and the components' d/dx log N (K, N)."""
    mu = torch.tensor(mix.means, dtype=torch.float64)[:, None] * abar.sqrt()
    var = torch.tensor(mix.stds, dtype=torch.float64)[:, None] ** 2 * abar + (1 - abar)
    logw = torch.tensor(mix.weights, dtype=torch.float64).log()[:, None]
    log_n = logw - 0.5 * (x[None] - mu) ** 2 / var - 0.5 * torch.log(2 * math.pi * var)
    return log_n, -(x[None] - mu) / var


def mixture_eps(x: torch.Tensor, t: int, scheduler: NoiseScheduler, mix: Mixture1D = MIXTURE,
                label: int | None = None) -> torch.Tensor:
    """The exact noise guess E[eps | x_t] at timestep t: -sqrt(1 - abar_t) d/dx log p(x_t) (eq. 2.2 reversed).

    ``label`` k: conditional on the component, p(x_t | y = k); None: the unconditional mixture. x: (N,) or (N, 1),
    returned in x's shape and dtype (computed in float64).
    """
    xf = x.reshape(-1).double()
    abar = scheduler.alphas_cumprod[int(t)].double()
    log_n, score_k = _component_log_densities(xf, abar, mix)
    if label is None:
        resp = torch.softmax(log_n, dim=0)  # (K, N): p(y = k | x_t)
        score = (resp * score_k).sum(0)
    else:
        score = score_k[int(label)]
    return (-(1 - abar).sqrt() * score).to(x.dtype).reshape(x.shape)


def guided_mixture_eps(x: torch.Tensor, t: int, scheduler: NoiseScheduler, label: int, w: float,
                       mix: Mixture1D = MIXTURE) -> torch.Tensor:
    """Eq. 5.2 with the exact guesses: eps_null + w (eps_y - eps_null)."""
    e_u = mixture_eps(x, t, scheduler, mix, None)
    return e_u + w * (mixture_eps(x, t, scheduler, mix, label) - e_u)


def tilted_log_density(x: torch.Tensor, abar, label: int, w: float, mix: Mixture1D = MIXTURE) -> torch.Tensor:
    """log of p_t(x) p_t(y | x)^w up to a constant, at a noise level alpha_bar = ``abar`` (1: the data, x_0).

    p_t(y = k | x) = pi_k p_t(x | k) / p_t(x), so this is (1 - w) log p_t(x) + w log(pi_k p_t(x | k)). Its
    gradient times -sqrt(1 - abar) is eq. 5.2 with the exact guesses (tests/test_guidance_target.py). x: (N,)
    float64 (differentiable).
    """
    log_n, _ = _component_log_densities(x, torch.as_tensor(abar, dtype=torch.float64), mix)
    return (1 - w) * torch.logsumexp(log_n, dim=0) + w * log_n[int(label)]


def tilted_moments(label: int, w: float, mix: Mixture1D = MIXTURE, lo: float = -10.0, hi: float = 10.0,
                   n_grid: int = 200_001) -> tuple[float, float]:
    """Mean and std of the tilted target p(x_0) p(y | x_0)^w, normalised by integration on a grid (trapezoid).

    p(y = k | x_0) = pi_k N_k(x_0) / p(x_0), so the target is proportional to p(x_0)^(1 - w) (pi_k N_k(x_0))^w.
    """
    x = torch.linspace(lo, hi, n_grid, dtype=torch.float64)
    log_target = tilted_log_density(x, 1.0, label, w, mix)  # abar = 1: the data
    dens = torch.exp(log_target - log_target.max())
    z = torch.trapezoid(dens, x)
    mean = torch.trapezoid(x * dens, x) / z
    var = torch.trapezoid((x - mean) ** 2 * dens, x) / z
    return float(mean), float(var.sqrt())


def tilted_at_t_mean(t: int, label: int, w: float, mix: Mixture1D = MIXTURE, lo: float = -10.0, hi: float = 10.0,
                     n_grid: int = 200_001) -> tuple[float, float]:
    """At timestep t: the mean of the density guidance follows, p_t(x) p_t(y | x)^w normalised (grid), and the mean
    of the tilted target noised to t, sqrt(abar_t) * (the target's mean) (the forward process is linear in x_0).

    If the guided densities were one diffusion's marginals the two would agree at every t; they do not.
    """
    sched = NoiseScheduler(1000, beta_schedule="cosine")
    abar = sched.alphas_cumprod[int(t)].double()
    x = torch.linspace(lo, hi, n_grid, dtype=torch.float64)
    log_tilt = tilted_log_density(x, abar, label, w, mix)
    dens = torch.exp(log_tilt - log_tilt.max())
    guided_mean = float(torch.trapezoid(x * dens, x) / torch.trapezoid(dens, x))
    return guided_mean, float(abar.sqrt()) * tilted_moments(label, w, mix, lo, hi, n_grid)[0]


def guided_samples(label: int, w: float, sampler: str = "ddpm", n: int = 20_000, steps: int = 1000,
                   seed: int = 0, mix: Mixture1D = MIXTURE, spacing: str = "leading") -> torch.Tensor:
    """n guided samples (n,) float64 drawn with the course's DDPM (``NoiseScheduler.step``) or DDIM (eta 0) with
    the exact guided noise guess, clip_sample=False, the cosine schedule with T = 1000, ``steps`` steps."""
    if sampler not in ("ddpm", "ddim"):
        raise ValueError(f'sampler must be "ddpm" or "ddim", got {sampler!r}.')
    cls = DDIMScheduler if sampler == "ddim" else NoiseScheduler
    sched = cls(1000, beta_schedule="cosine", clip_sample=False)
    sched.set_timesteps(steps, timestep_spacing=spacing)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, generator=g, dtype=torch.float64)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 1-D vectors of 20k numbers: one thread is fastest (2 busy threads: 15x slower)
    try:
        for t in sched.timesteps.tolist():
            eps = guided_mixture_eps(x, t, sched, label, w, mix)
            x = sched.step(eps, t, x, generator=g).prev_sample
    finally:
        torch.set_num_threads(threads)
    return x


def guidance_target_table(label: int = 1, w: float = 3.0, seeds=(0, 1, 2), n: int = 20_000, steps: int = 1000,
                          mix: Mixture1D = MIXTURE) -> dict:
    """The tilted target's mean and std next to guided DDPM's and DDIM's: for each sampler the per-seed means and
    stds, their averages, the standard error of one seed's mean (its largest std / sqrt(n)), and the first seed's
    samples ("first")."""
    target = tilted_moments(label, w, mix)
    rows = {"target": {"mean": target[0], "std": target[1]}}
    for sampler in ("ddpm", "ddim"):
        runs = [guided_samples(label, w, sampler, n, steps, s, mix) for s in seeds]
        means = [float(x.mean()) for x in runs]
        stds = [float(x.std()) for x in runs]
        rows[sampler] = {"means": means, "stds": stds, "mean": sum(means) / len(means),
                         "std": sum(stds) / len(stds), "stderr": max(stds) / math.sqrt(n), "first": runs[0]}
    return rows
