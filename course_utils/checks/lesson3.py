"""Checks of Lesson 3 (notebooks/03_sampling.ipynb): one ``check_*`` function per exercise."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..scheduler import NoiseScheduler
from .core import ExerciseFailed, _call, _compare, _compare_steps, _fail, _passed, _same_twice, _StepRecorder, exercise


@exercise("Exercise 3.1 (ddpm_step)")
def check_ddpm_step(fn: Callable, ex: str) -> None:
    """Exercise 3.1: one DDPM reverse step (Lesson 3, eq. 3.1-3.3; Ho et al. 2020, Algorithm 2)."""
    sched = NoiseScheduler(1000, beta_schedule="cosine")
    abar = sched.alphas_cumprod
    g = torch.Generator().manual_seed(31)
    x_t = torch.randn(6, 1, 8, 8, generator=g) * 1.2
    eps_hat = torch.randn(6, 1, 8, 8, generator=g)
    z = torch.randn(6, 1, 8, 8, generator=g)
    cases = []  # (got, expected, mistakes) per timestep: a mistake is named only if it fits at every t
    for t in (600, 40, 1, 0):
        got = _call(ex, fn, x_t.clone(), eps_hat.clone(), t, abar.clone(), z.clone(), hints={
            IndexError: "at t = 0 there is no alphas_cumprod[t - 1]: the step lands on the clean picture, "
                        "where alpha_bar = 1"})
        if t == 600:
            _same_twice(ex, got, _call(ex, fn, x_t.clone(), eps_hat.clone(), t, abar.clone(), z.clone()), "the noise z")
        expected = sched.step(eps_hat, t, x_t, variance_noise=z).prev_sample
        a = abar[t]
        a_prev = abar[t - 1] if t > 0 else torch.tensor(1.0)
        beta = 1 - a / a_prev
        x0 = ((x_t - (1 - a).sqrt() * eps_hat) / a.sqrt()).clamp(-1, 1)
        x0_raw = (x_t - (1 - a).sqrt() * eps_hat) / a.sqrt()
        mean = a_prev.sqrt() * beta / (1 - a) * x0 + (1 - beta).sqrt() * (1 - a_prev) / (1 - a) * x_t
        var = (1 - a_prev) / (1 - a) * beta
        noise = var.sqrt() * z * (t > 0)
        alpha = 1 - beta  # alpha_t, the one-step share
        x0_alpha = ((x_t - (1 - alpha).sqrt() * eps_hat) / alpha.sqrt()).clamp(-1, 1)
        one_step = "you used alpha_t = 1 - beta_t, the one-step share, where alpha_bar_t, the product up to t, belongs"
        ho = ("Ho et al.'s Algorithm 2 form, mean = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_hat) / sqrt(alpha_t) "
              "(eq. 3.1 with an unclipped x0_hat)")
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
            f"your step matches {ho}: right in substance, but the course's step (like diffusers') computes "
            "x0_hat (eq. 2.2), clips it to [-1, 1], and puts the clipped x0_hat into eq. 3.1; do that.":
            (a_prev.sqrt() * beta / (1 - a) * x0_raw + (1 - beta).sqrt() * (1 - a_prev) / (1 - a) * x_t) + noise,
            f"your step matches {ho} with Ho et al.'s sigma_t^2 = beta_t: the course's step clips x0_hat to "
            "[-1, 1] before eq. 3.1, and its noise has the posterior variance beta_tilde (eq. 3.2).":
            (x_t - beta / (1 - a).sqrt() * eps_hat) / alpha.sqrt() + beta.sqrt() * z * (t > 0),
            f"{one_step} in x0_hat: eq. 2.2 is x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps_hat) / sqrt(alpha_bar_t).":
            a_prev.sqrt() * beta / (1 - a) * x0_alpha + (1 - beta).sqrt() * (1 - a_prev) / (1 - a) * x_t + noise,
            f"{one_step}: in Ho et al.'s form the noise guess is scaled by beta_t / sqrt(1 - alpha_bar_t), "
            "not beta_t / sqrt(1 - alpha_t) (and the course clips x0_hat: compute it with eq. 2.2, then eq. 3.1).":
            (x_t - beta / (1 - alpha).sqrt() * eps_hat) / alpha.sqrt() + noise,
            "you divided by sqrt(alpha_bar_t) where Ho et al.'s form divides by sqrt(alpha_t) = sqrt(1 - beta_t), "
            "the one-step share (and the course clips x0_hat: compute it with eq. 2.2, then eq. 3.1).":
            (x_t - beta / (1 - a).sqrt() * eps_hat) / a.sqrt() + noise,
        }
        if t > 0:  # alpha-bar of t where t-1 belongs, in the mean and the variance
            mistakes["you used alpha_bar of t where eq. 3.1 and 3.2 need alpha_bar of t - 1 (the step lands on "
                     "t - 1)."] = (a.sqrt() * beta / (1 - a) * x0 + (1 - beta).sqrt() * x_t + beta.sqrt() * z)
        cases.append((got, expected, mistakes))
    _compare_steps(ex, cases, "x0_hat (eq. 2.2, clipped), the posterior mean (eq. 3.1), plus sqrt(beta_tilde) z "
                   "if t > 0 (eq. 3.2, 3.3).", atol=1e-3, dtype=torch.float32)  # betas[t] vs the ratio: 5e-4 at t=0
    _passed(ex, "matches NoiseScheduler.step (and diffusers' DDPMScheduler) at t = 600, 40, 1 and 0.")


@exercise("Exercise 3.2 (sample_loop)")
def check_sample_loop(fn: Callable, ex: str) -> None:
    """Exercise 3.2: the sampling loop (Lesson 3, eq. 3.4)."""
    from ..sampling import sample

    n = 5
    sched = NoiseScheduler(1000, beta_schedule="cosine")
    sched.set_timesteps(10)
    want = sched.timesteps.tolist()  # read before the learner's loop runs: the loop must not change them
    model = _StepRecorder()
    try:
        got = _call(ex, fn, model, sched, n, torch.Generator().manual_seed(32))
    except ExerciseFailed:
        _loop_mistakes(ex, model, sched, want, n, finished=False)  # what the model saw may name the mistake
        raise
    if got is None:
        _fail(ex, "your function returned None: replace the stub's None with your code (and keep the `return`).")
    _loop_mistakes(ex, model, sched, want, n, finished=True)
    seen = list(model.seen)
    if any(isinstance(t, torch.Tensor) and torch.is_floating_point(t) for t in seen):
        _fail(ex, "the model got floating-point timesteps: give it integers, torch.full((n,), t) with an int t.")
    if not all(isinstance(t, torch.Tensor) and t.shape == (n,) for t in seen):
        _fail(ex, "give the model one timestep per sample, a tensor of shape (N,): torch.full((n,), t).")
    again = _call(ex, fn, _StepRecorder(), sched, n, torch.Generator().manual_seed(32))
    if isinstance(got, torch.Tensor) and isinstance(again, torch.Tensor) and got.shape == again.shape \
            and not torch.equal(got, again):
        _fail(ex, "two runs with the same seed gave different samples: draw all the randomness from the "
                  "generator, torch.randn(..., generator=generator) and scheduler.step(..., generator=generator).")
    model.seen.clear()
    expected = sample(model, sched, n, generator=torch.Generator().manual_seed(32), shape=(1, 8, 8), progress=False)
    zeros_start = _StepRecorder()
    mistakes = {
        "the loop starts from zeros: it must start from pure static, torch.randn((n, *shape), generator=generator)."
        : _sample_from(zeros_start, sched, torch.zeros(n, 1, 8, 8), torch.Generator().manual_seed(32)),
    }
    _compare(ex, got, expected, mistakes, "Start from torch.randn((n, 1, 8, 8), generator=generator), then for "
             "each t in scheduler.timesteps: eps = model(x, torch.full((n,), t)); x = scheduler.step(eps, t, x, "
             "generator=generator).prev_sample.", atol=1e-5, dtype=torch.float32)
    _passed(ex, "walks scheduler.timesteps from noisy to clean and matches course_utils.sampling.sample.")


def _loop_mistakes(ex: str, model: _StepRecorder, sched: NoiseScheduler, want: list[int], n: int,
                   finished: bool) -> None:
    """Name a sampling-loop mistake from what the stand-in model was asked (``finished``: the loop ran to its end)."""
    if sched.timesteps.tolist() != want or sched.num_inference_steps != len(want):
        _fail(ex, f"your sample_loop called scheduler.set_timesteps(...) itself (now {sched.num_inference_steps} "
                  f"steps): the caller chose the steps (here {len(want)}) before calling it. Loop over "
                  "scheduler.timesteps as given; do not call set_timesteps inside.")
    if model.batch and model.batch[0] != n:
        _fail(ex, f"you drew {model.batch[0]} samples; draw n (the argument, {n} in this check): "
                  "torch.randn((n, 1, 8, 8), generator=generator).")
    ts = [int(t.reshape(-1)[0]) if isinstance(t, torch.Tensor) and t.numel() else t for t in model.seen]
    ts = [int(t) if isinstance(t, int | float) else t for t in ts]
    if not finished and all(t in want for t in ts):
        return  # the loop stopped early for another reason: the error itself says why
    if finished and not ts:
        _fail(ex, "the model was never called: ask it for the noise at every timestep.")
    if ts == want:
        return
    shown = ", ".join(map(str, want))
    if ts == want[::-1]:
        _fail(ex, "the timesteps run the wrong way: sampling starts at the noisiest (T-1) and ends at 0; "
                  "scheduler.timesteps is already in that order.")
    missing = [t for t in want if t not in ts]
    extra = [t for t in ts if t not in want]
    twice = sorted({t for t in ts if t in want and ts.count(t) > 1}, reverse=True)
    if missing and not extra and not twice and ts == [t for t in want if t in ts]:
        last = " (t = 0 is the last step, the one that lands on the clean picture)" if 0 in missing else ""
        _fail(ex, f"your loop skipped timestep {', '.join(map(str, missing))}{last}: loop over all of "
                  f"scheduler.timesteps, [{shown}], e.g. for t in scheduler.timesteps.tolist().")
    if twice and not missing and not extra:
        _fail(ex, f"your loop asked the model about timestep {', '.join(map(str, twice))} more than once: loop over "
                  f"scheduler.timesteps, [{shown}], once each.")
    if extra:
        _fail(ex, f"the model was asked about timestep {extra[0]}, which is not one of scheduler.timesteps, "
                  f"[{shown}]: loop over scheduler.timesteps (set_timesteps chose them), not over range(T) or "
                  "range(len(...)).")
    _fail(ex, f"the model was asked about timesteps {ts}; loop over scheduler.timesteps, [{shown}], once each, "
              "in that order.")


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
        if eta > 0:
            again = _call(ex, fn, x_t.clone(), eps_hat.clone(), t, prev_t, abar.clone(), eta, z.clone())
            _same_twice(ex, got, again, "the noise z")
        expected = sched.step(eps_hat, t, x_t, eta=eta, generator=torch.Generator().manual_seed(7)).prev_sample
        a = abar[t]
        a_prev = abar[prev_t] if prev_t >= 0 else torch.tensor(1.0)
        x0 = ((x_t - (1 - a).sqrt() * eps_hat) / a.sqrt()).clamp(-1, 1)
        sigma_ddpm = ((1 - a_prev) / (1 - a) * (1 - a / a_prev)).sqrt()
        sigma = eta * sigma_ddpm
        a_t_as_prev = a
        sigma_var = eta * (1 - a_prev) / (1 - a) * (1 - a / a_prev)  # a variance used as a standard deviation
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
            "sigma_t is a standard deviation: take the square root of (1 - abar_prev) / (1 - abar_t) "
            "(1 - abar_t / abar_prev), then multiply by eta.":
            a_prev.sqrt() * x0 + (1 - a_prev - sigma_var**2).sqrt() * eps_hat + sigma_var * z,
            "with eta > 0 the step adds fresh noise, sigma_t z: you left it out (and keep sqrt(1 - abar_prev - "
            "sigma_t^2) on eps_hat).": a_prev.sqrt() * x0 + (1 - a_prev - sigma**2).sqrt() * eps_hat,
            "you wrote the deterministic step (eta = 0) for every eta: with eta > 0 the step adds sigma_t z and "
            "leaves sqrt(1 - abar_prev - sigma_t^2) on eps_hat.": a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps_hat,
        }
        _compare(ex, got, expected, mistakes, "x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) "
                 "eps_hat + sigma z, sigma = eta sqrt((1 - abar_prev)/(1 - abar_t) (1 - abar_t/abar_prev)).",
                 atol=1e-4, dtype=torch.float32)
    _passed(ex, "matches DDIMScheduler.step (and diffusers') for eta = 0, 0.5 and 1, including the last step.")
