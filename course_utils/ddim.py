"""DDIM: sampling in fewer steps (Song, Meng & Ermon 2021, "Denoising Diffusion Implicit Models", eq. 12).

Same trained model, same noise schedule; only the reverse step changes. With eta = 0 the step is
deterministic; with eta = 1 it adds as much fresh noise as DDPM's step. Same numbers as diffusers'
``DDIMScheduler`` (defaults: clip_sample, set_alpha_to_one, "leading" spacing; "trailing" too when n divides T).
Lesson 3 derives it. Each step lands on the next entry of ``timesteps``; diffusers' DDIM lands on t - T // n
instead, which is the same thing except for "trailing" with an n that does not divide T: with T = 1000 and
n = 3 the timesteps are 999, 666, 332 and diffusers' step from 666 lands on 333, not on 332.
"""

from __future__ import annotations

import numbers

import torch

from ._validate import as_float_tensor, check_finite, check_timestep_scalar
from .scheduler import NoiseScheduler, SchedulerOutput, _randn_like, check_variance_noise


class DDIMScheduler(NoiseScheduler):
    """A ``NoiseScheduler`` whose ``step`` is the DDIM update; call ``set_timesteps(n)`` before sampling."""

    def step(self, model_output: torch.Tensor, timestep: int, sample: torch.Tensor, eta: float = 0.0,
             use_clipped_model_output: bool = False, generator: torch.Generator | None = None,
             variance_noise: torch.Tensor | None = None) -> SchedulerOutput:
        """One DDIM step from ``timestep`` to the previous entry of ``timesteps`` (Song et al. 2021, eq. 12).

        ``use_clipped_model_output`` (diffusers' name and default, False): when ``clip_sample`` clips the clean
        guess, re-derive the noise guess from the clipped guess, eps = (x_t - sqrt(abar_t) x0_clipped) /
        sqrt(1 - abar_t), so that the two halves of eq. 12 describe the same x_t. Without it the step moves
        toward the clipped x0_hat but keeps the unclipped eps, and the two disagree: on guided digits (Lesson 5,
        w = 3) that disagreement alone takes the asked digit from 100 % to 14.1 +- 1.8 % (all ten labels, 3 seeds;
        scripts/sampler_ablation.py, docs/sampler-tables.md).
        ``course_utils.sample`` always passes True.
        ``variance_noise``: use this z (the shape of ``sample``) instead of drawing one, as in diffusers; it only
        matters when eta > 0. The step from the last timestep lands on the clean picture x_0 (alpha_bar = 1)."""
        if self.num_inference_steps is None:
            raise ValueError("call set_timesteps(num_inference_steps) before step: DDIM needs to know how far "
                             "each step jumps.")
        if not (isinstance(eta, numbers.Real) and not isinstance(eta, bool) and 0 <= eta <= 1):
            raise ValueError(f"eta must be a number from 0 to 1 (0: deterministic, 1: as much noise as DDPM), "
                             f"got {eta!r}.")
        eps = as_float_tensor(model_output, "model_output")
        x_t = as_float_tensor(sample, "sample")
        if eps.shape != x_t.shape:
            raise ValueError(f"model_output must have the shape of sample {tuple(x_t.shape)}, got {tuple(eps.shape)}.")
        check_finite(x_t, "sample")
        check_finite(eps, "model_output")
        t = check_timestep_scalar(timestep, self.num_train_timesteps)
        if variance_noise is not None:
            variance_noise = check_variance_noise(variance_noise, x_t)
        prev_t = self.previous_timestep(t)  # the next entry of timesteps, and an error for a t that is not in them
        abar = self.alphas_cumprod.to(x_t.device)
        # 1. alpha_bar now and at the landing timestep (alpha_bar = 1 past the end: the clean picture)
        alpha_prod_t = abar[t]
        alpha_prod_t_prev = abar[prev_t] if prev_t >= 0 else torch.tensor(1.0, device=x_t.device)
        beta_prod_t = 1 - alpha_prod_t
        # 2. the clean-picture guess (eq. 2.2), clipped to the data range
        x0_hat = (x_t - beta_prod_t ** (0.5) * eps) / alpha_prod_t ** (0.5)
        if self.clip_sample:
            x0_hat = x0_hat.clamp(-self.clip_sample_range, self.clip_sample_range)
            if use_clipped_model_output:  # the noise guess that agrees with the clipped x0_hat (eq. 1.5 for eps)
                eps = (x_t - alpha_prod_t ** (0.5) * x0_hat) / beta_prod_t ** (0.5)
        # 3. sigma_t: the fresh noise of this step, eta times DDPM's (Song et al. 2021, eq. 16)
        variance = (1 - alpha_prod_t_prev) / beta_prod_t * (1 - alpha_prod_t / alpha_prod_t_prev)
        std_dev_t = eta * variance ** (0.5)
        # 4. x_{t-1} = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) eps_hat + sigma z   (eq. 12)
        direction = (1 - alpha_prod_t_prev - std_dev_t**2) ** (0.5) * eps
        prev = alpha_prod_t_prev ** (0.5) * x0_hat + direction
        if eta > 0:
            z = _randn_like(eps, generator) if variance_noise is None else variance_noise  # (N, ...)
            prev = prev + std_dev_t * z
        return SchedulerOutput(prev_sample=prev, pred_original_sample=x0_hat)
