"""Checks of Lesson 3 (notebooks/03_sampling.ipynb): one ``check_*`` function per exercise."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..scheduler import NoiseScheduler
from .core import _call, _compare, _fail, _passed, _StepRecorder, exercise


@exercise("Exercise 3.1 (ddpm_step)")
def check_ddpm_step(fn: Callable, ex: str) -> None:
    """Exercise 3.1: one DDPM reverse step (Lesson 3, eq. 3.1-3.3; Ho et al. 2020, Algorithm 2)."""
    sched = NoiseScheduler(1000, beta_schedule="cosine")
    abar = sched.alphas_cumprod
    g = torch.Generator().manual_seed(31)
    x_t = torch.randn(6, 1, 8, 8, generator=g) * 1.2
    eps_hat = torch.randn(6, 1, 8, 8, generator=g)
    z = torch.randn(6, 1, 8, 8, generator=g)
    for t in (600, 40, 1, 0):
        got = _call(ex, fn, x_t.clone(), eps_hat.clone(), t, abar.clone(), z.clone(), hints={
            IndexError: "at t = 0 there is no alphas_cumprod[t - 1]: the step lands on the clean picture, "
                        "where alpha_bar = 1"})
        expected = sched.step(eps_hat, t, x_t, variance_noise=z).prev_sample
        a = abar[t]
        a_prev = abar[t - 1] if t > 0 else torch.tensor(1.0)
        beta = 1 - a / a_prev
        x0 = ((x_t - (1 - a).sqrt() * eps_hat) / a.sqrt()).clamp(-1, 1)
        x0_raw = (x_t - (1 - a).sqrt() * eps_hat) / a.sqrt()
        mean = a_prev.sqrt() * beta / (1 - a) * x0 + (1 - beta).sqrt() * (1 - a_prev) / (1 - a) * x_t
        var = (1 - a_prev) / (1 - a) * beta
        mistakes = {} if t != 1 else {
            "noise skipped at t = 1: in code the last step is t = 0 (Algorithm 2's 'if t > 1' counts steps from "
            "1; here it is 'if t > 0').": mean,
        }
        mistakes |= {
            "the variance is beta_t; the posterior's is beta_tilde = (1 - abar_{t-1}) / (1 - abar_t) * beta_t "
            "(eq. 3.2).": mean + beta.sqrt() * z * (t > 0),
            "the noise is scaled by the variance, not the standard deviation: multiply z by sqrt(beta_tilde).":
            mean + var * z * (t > 0),
            "noise was added at the last step (t = 0): the last step returns the mean, so the result is clean.":
            mean + var.sqrt() * z + (beta.sqrt() * z if t == 0 else 0),
            "no fresh noise: DDPM adds sqrt(beta_tilde) z at every step but the last.": mean,
            "x0_hat was not clipped to [-1, 1] before it went into the mean (eq. 3.3 uses the clipped guess).":
            (a_prev.sqrt() * beta / (1 - a) * x0_raw + (1 - beta).sqrt() * (1 - a_prev) / (1 - a) * x_t)
            + var.sqrt() * z * (t > 0),
        }
        if t > 0:  # alpha-bar of t where t-1 belongs, in the mean and the variance
            mistakes["you used alpha_bar of t where eq. 3.1 and 3.2 need alpha_bar of t - 1 (the step lands on "
                     "t - 1)."] = (a.sqrt() * beta / (1 - a) * x0 + (1 - beta).sqrt() * x_t + beta.sqrt() * z)
        _compare(ex, got, expected, mistakes, "x0_hat (eq. 2.2, clipped), the posterior mean (eq. 3.1), plus "
                 "sqrt(beta_tilde) z if t > 0 (eq. 3.2, 3.3).", atol=1e-3)  # betas[t] vs the ratio: 5e-4 at t=0
    _passed(ex, "matches NoiseScheduler.step (and diffusers' DDPMScheduler) at t = 600, 40, 1 and 0.")


@exercise("Exercise 3.2 (sample_loop)")
def check_sample_loop(fn: Callable, ex: str) -> None:
    """Exercise 3.2: the sampling loop (Lesson 3, eq. 3.4)."""
    from ..sampling import sample

    sched = NoiseScheduler(1000, beta_schedule="cosine")
    sched.set_timesteps(10)
    model = _StepRecorder()
    got = _call(ex, fn, model, sched, 5, torch.Generator().manual_seed(32))
    seen = list(model.seen)
    if got is None:
        _fail(ex, "your function returned None: replace the stub's None with your code (and keep the `return`).")
    if not seen:
        _fail(ex, "the model was never called: ask it for the noise at every timestep.")
    ts = [int(t.reshape(-1)[0]) if isinstance(t, torch.Tensor) else int(t) for t in seen]
    want = sched.timesteps.tolist()
    if ts == want[::-1]:
        _fail(ex, "the timesteps run the wrong way: sampling starts at the noisiest (T-1) and ends at 0; "
                  "scheduler.timesteps is already in that order.")
    if ts != want:
        _fail(ex, f"the model was asked about timesteps {ts[:4]}...; loop over scheduler.timesteps, "
                  f"{want[:4]}..., once each.")
    if any(isinstance(t, torch.Tensor) and torch.is_floating_point(t) for t in seen):
        _fail(ex, "the model got floating-point timesteps: give it integers, torch.full((n,), t) with an int t.")
    if not all(isinstance(t, torch.Tensor) and t.shape == (5,) for t in seen):
        _fail(ex, "give the model one timestep per sample, a tensor of shape (N,): torch.full((n,), t).")
    model.seen.clear()
    expected = sample(model, sched, 5, generator=torch.Generator().manual_seed(32), shape=(1, 8, 8), progress=False)
    model.seen.clear()
    zeros_start = _StepRecorder()
    mistakes = {
        "the loop starts from zeros: it must start from pure static, torch.randn((n, *shape), generator=generator)."
        : _sample_from(zeros_start, sched, torch.zeros(5, 1, 8, 8), torch.Generator().manual_seed(32)),
    }
    _compare(ex, got, expected, mistakes, "Start from torch.randn((n, 1, 8, 8), generator=generator), then for "
             "each t in scheduler.timesteps: eps = model(x, torch.full((n,), t)); x = scheduler.step(eps, t, x, "
             "generator=generator).prev_sample.", atol=1e-5)
    _passed(ex, "walks scheduler.timesteps from noisy to clean and matches course_utils.sampling.sample.")


@torch.no_grad()
def _sample_from(model, sched, x, generator):
    for t in sched.timesteps.tolist():
        x = sched.step(model(x, torch.full((x.shape[0],), t)), t, x, generator=generator).prev_sample
    return x


@exercise("Exercise 3.3 (ddim_step)")
def check_ddim_step(fn: Callable, ex: str) -> None:
    """Exercise 3.3: one DDIM step (Lesson 3, eq. 3.5; Song et al. 2021, eq. 12)."""
    from ..ddim import DDIMScheduler

    sched = DDIMScheduler(1000, beta_schedule="cosine")
    sched.set_timesteps(20)  # jumps of 50
    abar = sched.alphas_cumprod
    g = torch.Generator().manual_seed(33)
    x_t = torch.randn(6, 1, 8, 8, generator=g)
    eps_hat = torch.randn(6, 1, 8, 8, generator=g)
    for t, eta in ((950, 0.0), (500, 1.0), (200, 0.5), (0, 0.0)):
        prev_t = t - 50
        zg = torch.Generator().manual_seed(7)
        z = torch.randn(x_t.shape, generator=zg)
        got = _call(ex, fn, x_t.clone(), eps_hat.clone(), t, prev_t, abar.clone(), eta, z.clone())
        expected = sched.step(eps_hat, t, x_t, eta=eta, generator=torch.Generator().manual_seed(7)).prev_sample
        a = abar[t]
        a_prev = abar[prev_t] if prev_t >= 0 else torch.tensor(1.0)
        x0 = ((x_t - (1 - a).sqrt() * eps_hat) / a.sqrt()).clamp(-1, 1)
        sigma_ddpm = ((1 - a_prev) / (1 - a) * (1 - a / a_prev)).sqrt()
        sigma = eta * sigma_ddpm
        a_t_as_prev = a
        mistakes = {
            "the direction term must leave room for the fresh noise: sqrt(1 - abar_prev - sigma^2), not "
            "sqrt(1 - abar_prev).": a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps_hat + sigma * z,
            "sigma_t is eta times the DDPM standard deviation: you left out eta.":
            a_prev.sqrt() * x0 + (1 - a_prev - sigma_ddpm**2).sqrt() * eps_hat + sigma_ddpm * z,
            "you used alpha_bar of t where the step needs alpha_bar of the landing timestep prev_t.":
            a_t_as_prev.sqrt() * x0 + (1 - a_t_as_prev).sqrt() * eps_hat,
            "x0_hat was not clipped to [-1, 1].":
            a_prev.sqrt() * ((x_t - (1 - a).sqrt() * eps_hat) / a.sqrt())
            + (1 - a_prev - sigma**2).sqrt() * eps_hat + sigma * z,
            "use the network's eps_hat in the direction term, not one re-derived from the clipped x0_hat "
            "(diffusers' default, use_clipped_model_output=False).":
            a_prev.sqrt() * x0 + (1 - a_prev - sigma**2).sqrt() * ((x_t - a.sqrt() * x0) / (1 - a).sqrt())
            + sigma * z,
            "past the last step (prev_t < 0) alpha_bar is 1, the clean picture: use 1.0 there.":
            abar[max(prev_t, 0)].sqrt() * x0 + (1 - abar[max(prev_t, 0)] - sigma**2).clamp(min=0).sqrt() * eps_hat
            + sigma * z,
        }
        _compare(ex, got, expected, mistakes, "x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) "
                 "eps_hat + sigma z, sigma = eta sqrt((1 - abar_prev)/(1 - abar_t) (1 - abar_t/abar_prev)).",
                 atol=1e-4)
    _passed(ex, "matches DDIMScheduler.step (and diffusers') for eta = 0, 0.5 and 1, including the last step.")
