"""The ideal denoiser of a finite data set (Lesson 2, eq. 2.3): the best possible guess of x_0 from x_t.

If the data were exactly the N training points x^(1..N), then given x_t the posterior over which point
it came from is a softmax of Gaussian log-likelihoods, and the best guess (in squared error) is the
weighted average

    E[x_0 | x_t] = sum_i w_i x^(i),   w = softmax_i( -|| x_t - sqrt(abar_t) x^(i) ||^2 / (2 (1 - abar_t)) ).

A network that matched it perfectly could only ever give back training points (Lesson 3 checks this
when it looks for memorisation). Exact for any data; memory grows as (batch x N), fine for the toy sets.

Blur-to-static (Lesson 4): x_t = sqrt(abar_t) B_t x_0 + sqrt(1 - abar_t) eps, so the data points move to
sqrt(abar_t) B_t x^(i) (blurred) and the weights compare x_t with those; the guess is still the weighted
average of the sharp x^(i). ``IdealDenoiser`` wraps the exact noise guess E[eps | x_t] as a model for ``sample``.
"""

from __future__ import annotations

import torch
from torch import nn

from ._validate import as_float_tensor, check_timesteps
from .forward import BlurToStatic
from .scheduler import NoiseScheduler
from .training import schedule_alphas_cumprod


def ideal_denoiser_weights(x_t: torch.Tensor, timesteps, data: torch.Tensor,
                           scheduler: NoiseScheduler | torch.Tensor) -> torch.Tensor:
    """The posterior weights w (M, N) over the N data points for each of the M noisy inputs (eq. 2.3).

    ``scheduler`` may also be its ``alphas_cumprod`` (T,), or a ``BlurToStatic`` (the data points blurred by
    step t's blur, Lesson 4); ``timesteps`` is one int or one per input (M,).
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
    if isinstance(scheduler, BlurToStatic):
        return _blurred_weights(x_t, t.expand(x_t.shape[0]), data, scheduler, abar)
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


def _blurred_weights(x_t: torch.Tensor, t: torch.Tensor, data: torch.Tensor, process: BlurToStatic,
                     abar: torch.Tensor) -> torch.Tensor:
    """eq. 2.3 for blur-to-static: softmax_i( -|| x_t - sqrt(abar_t) B_t x^(i) ||^2 / (2 (1 - abar_t)) ), (M, N)."""
    if data.ndim != 4:
        raise ValueError(f"blur-to-static blurs pictures: data must be (N, C, H, W), got shape {tuple(data.shape)}.")
    w = torch.empty(x_t.shape[0], data.shape[0], dtype=torch.float64, device=x_t.device)
    flat_x = x_t.flatten(1).double()
    for step in t.unique().tolist():  # one blur per distinct timestep
        rows = (t == step).nonzero().flatten().to(x_t.device)
        blurred = process.blur_only(data.to(x_t.device), step).flatten(1).double()  # (N, D): B_t x^(i)
        a = abar[rows].double()[:, None]  # (m, 1)
        xr = flat_x[rows]
        dist2 = (xr**2).sum(1, keepdim=True) - 2 * a.sqrt() * (xr @ blurred.T) + a * (blurred**2).sum(1)[None]
        w[rows] = torch.softmax(-dist2 / (2 * (1 - a)), dim=1)
    return w.to(x_t.dtype)


def ideal_noise(x_t: torch.Tensor, timesteps, data: torch.Tensor, process: NoiseScheduler | BlurToStatic):
    """E[eps | x_t] under the data set: the exact noise guess, (x_t - sqrt(abar_t) B_t E[x_0 | x_t]) / sqrt(1 - abar_t).

    B_t is the identity for a NoiseScheduler; the blur is linear, so B_t of the average is the average of the B_t x^(i).
    """
    w = ideal_denoiser_weights(x_t, timesteps, data, process).double()  # (M, N)
    t = check_timesteps(timesteps, process.num_train_timesteps, x_t.shape[0]).expand(x_t.shape[0])
    abar = process.alphas_cumprod.double()[t.cpu()].to(x_t.device).reshape((-1,) + (1,) * (x_t.ndim - 1))
    if isinstance(process, BlurToStatic):
        signal = torch.empty(w.shape[0], data[0].numel(), dtype=torch.float64, device=x_t.device)
        for step in t.unique().tolist():  # sum_i w_i B_t x^(i), one blur per distinct timestep
            rows = (t == step).nonzero().flatten().to(x_t.device)
            signal[rows] = w[rows] @ process.blur_only(data.to(x_t.device), step).flatten(1).double()
        signal = signal.reshape(x_t.shape)
    else:
        signal = (w @ data.flatten(1).to(w)).reshape(x_t.shape)
    return ((x_t.double() - abar.sqrt() * signal) / (1 - abar).sqrt()).to(x_t.dtype)


class IdealDenoiser(nn.Module):
    """The ideal denoiser of ``data`` as a model for ``sample``: forward(x_t, t) = E[eps | x_t] (exact, eq. 2.3).

    Driven through the sampler of its process it gives back training pictures (Lessons 3-4). ``process`` is a
    NoiseScheduler or a BlurToStatic; ``model.trained_on`` records it, as a trained model's does.
    """

    def __init__(self, data: torch.Tensor, process: NoiseScheduler | BlurToStatic) -> None:
        super().__init__()
        from .process import describe_process

        data = as_float_tensor(data, "data")
        if data.ndim < 2 or data.shape[0] < 1:
            raise ValueError(f"data must be a batch of examples (N, ...), got shape {tuple(data.shape)}.")
        self.register_buffer("data", data.detach().clone())
        self._anchor = nn.Parameter(torch.zeros(0), requires_grad=False)  # tells sample() the device
        self.proc = process
        self.trained_on = {"process": describe_process(process), "sample_shape": list(data.shape[1:])}
        self.config = {"arch": "IdealDenoiser", "shape": list(data.shape[1:])}

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return ideal_noise(x_t, t, self.data, self.proc)
