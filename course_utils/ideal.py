"""The ideal denoiser of a finite data set (Lesson 2, eq. 2.3): the best possible guess of x_0 from x_t.

If the data were exactly the N training points x^(1..N), then given x_t the posterior over which point
it came from is a softmax of Gaussian log-likelihoods, and the best guess (in squared error) is the
weighted average

    E[x_0 | x_t] = sum_i w_i x^(i),   w = softmax_i( -|| x_t - sqrt(abar_t) x^(i) ||^2 / (2 (1 - abar_t)) ).

A network that matched it perfectly could only ever give back training points (Lesson 3 checks this
when it looks for memorisation). Exact for any data; memory grows as (batch x N), fine for the toy sets.
"""

from __future__ import annotations

import torch

from ._validate import as_float_tensor, check_timesteps
from .scheduler import NoiseScheduler
from .training import schedule_alphas_cumprod


def ideal_denoiser_weights(x_t: torch.Tensor, timesteps, data: torch.Tensor,
                           scheduler: NoiseScheduler | torch.Tensor) -> torch.Tensor:
    """The posterior weights w (M, N) over the N data points for each of the M noisy inputs (eq. 2.3).

    ``scheduler`` may also be its ``alphas_cumprod`` (T,); ``timesteps`` is one int or one per input (M,).
    """
    x_t = as_float_tensor(x_t, "x_t")
    data = as_float_tensor(data, "data")
    if x_t.shape[1:] != data.shape[1:]:
        raise ValueError(f"x_t examples {tuple(x_t.shape[1:])} and data examples {tuple(data.shape[1:])} "
                         "must have the same shape.")
    alphas_cumprod = schedule_alphas_cumprod(scheduler)
    t = check_timesteps(timesteps, alphas_cumprod.shape[0], x_t.shape[0])
    abar = alphas_cumprod[t.to(alphas_cumprod.device)].to(x_t)  # (M,) or (1,)
    abar = abar.expand(x_t.shape[0])
    flat_x, flat_d = x_t.flatten(1).double(), data.flatten(1).double()  # (M, D), (N, D)
    a = abar.double()[:, None]  # (M, 1)
    # || x_t - sqrt(a) x_i ||^2 = |x_t|^2 - 2 sqrt(a) x_t . x_i + a |x_i|^2, for all pairs at once: (M, N)
    dist2 = (flat_x**2).sum(1, keepdim=True) - 2 * a.sqrt() * (flat_x @ flat_d.T) + a * (flat_d**2).sum(1)[None]
    logits = -dist2 / (2 * (1 - a))
    return torch.softmax(logits, dim=1).to(x_t.dtype)


def ideal_denoiser(x_t: torch.Tensor, timesteps, data: torch.Tensor,
                   scheduler: NoiseScheduler | torch.Tensor) -> torch.Tensor:
    """E[x_0 | x_t] under the data set ``data`` (N, ...): shape of x_t (eq. 2.3).

    ``scheduler`` may also be its ``alphas_cumprod`` (T,), which gives this function the signature of
    Lesson 2's Exercise 2.3, ``(x_t, t, data, alphas_cumprod)``.
    """
    w = ideal_denoiser_weights(x_t, timesteps, data, scheduler)  # (M, N)
    return (w @ data.flatten(1).to(w)).reshape(x_t.shape)
