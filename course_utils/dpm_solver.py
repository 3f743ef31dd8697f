"""DPM-Solver++(2M): a second-order sampler for a noise-predicting model (Lu et al. 2022, "DPM-Solver++: Fast
Solver for Guided Sampling of Diffusion Probabilistic Models", Algorithm 2).

Same trained model, same noise schedule, same ``timesteps`` as DDIM; only the step changes. Write alpha_t =
sqrt(abar_t), sigma_t = sqrt(1 - abar_t) and lambda_t = log(alpha_t / sigma_t) (half the log signal-to-noise
ratio). DDIM with eta = 0 is the first-order step of this family (Lu et al., eq. 5 with D = x0_hat):

    x_t = (sigma_t / sigma_s) x_s - alpha_t (e^{-h} - 1) D,   h = lambda_t - lambda_s

and DPM-Solver++(2M) replaces D by a linear extrapolation of the last two clean guesses, with r = h_prev / h:

    D = x0_hat_s + (x0_hat_s - x0_hat_prev) / (2 r)          (diffusers' solver_type "midpoint")

so each step still costs one network evaluation; the first step (no previous guess yet) and the last one (to the
clean picture, sigma = 0) are first order. Same numbers as diffusers' ``DPMSolverMultistepScheduler`` (solver_order
2, algorithm_type "dpmsolver++", final_sigmas_type "zero") on the same timesteps (tests/test_dpm_solver.py).
Review part 3 measures it against DDIM in docs/sampler-tables.md. Not essential on first read.
"""

from __future__ import annotations

import torch

from ._validate import as_float_tensor, check_timestep_scalar
from .scheduler import NoiseScheduler, SchedulerOutput


class DPMSolverMultistepScheduler(NoiseScheduler):
    """A ``NoiseScheduler`` whose ``step`` is DPM-Solver++(2M); call ``set_timesteps(n)`` before sampling.

    It keeps the previous clean guess between steps: loop over ``timesteps`` in order, from the first, for each run
    (``set_timesteps`` starts a new run). ``clip_sample`` clips each clean guess to the data range (not in
    diffusers' DPM-Solver, which offers dynamic thresholding instead).
    """

    def set_timesteps(self, num_inference_steps: int, timestep_spacing: str = "leading") -> None:
        super().set_timesteps(num_inference_steps, timestep_spacing)
        self._previous: tuple[int, torch.Tensor] | None = None  # (timestep, x0_hat) of the step before

    def _alpha_sigma_lambda(self, t: int, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        abar = self.alphas_cumprod[t].to(device) if t >= 0 else torch.tensor(1.0, device=device)
        alpha, sigma = abar.sqrt(), (1 - abar).sqrt()
        return alpha, sigma, torch.log(alpha) - torch.log(sigma)  # lambda = +inf at the clean picture

    def step(self, model_output: torch.Tensor, timestep: int, sample: torch.Tensor,
             generator: torch.Generator | None = None) -> SchedulerOutput:
        """One DPM-Solver++(2M) step from ``timestep`` to the next entry of ``timesteps`` (the last one lands on
        the clean picture). ``generator`` is unused (the solver adds no noise), kept for the common signature."""
        if self.num_inference_steps is None:
            raise ValueError("call set_timesteps(num_inference_steps) before step: the solver needs the grid.")
        eps = as_float_tensor(model_output, "model_output")
        x_s = as_float_tensor(sample, "sample")
        if eps.shape != x_s.shape:
            raise ValueError(f"model_output must have the shape of sample {tuple(x_s.shape)}, got {tuple(eps.shape)}.")
        s = check_timestep_scalar(timestep, self.num_train_timesteps)
        t = self.previous_timestep(s)  # where this step lands (-1: the clean picture)
        first = bool(s == int(self.timesteps[0]))
        if not first and (self._previous is None or self.previous_timestep(self._previous[0]) != s):
            raise ValueError(f"DPM-Solver++(2M) steps must follow the timesteps in order from the first; got {s} "
                             "out of turn. Call set_timesteps again to start a new run.")
        # 1. alpha, sigma and lambda where the step starts and lands (eq. 3 of Lu et al.)
        alpha_s, sigma_s, lambda_s = self._alpha_sigma_lambda(s, x_s.device)
        alpha_t, sigma_t, lambda_t = self._alpha_sigma_lambda(t, x_s.device)
        h = lambda_t - lambda_s
        # 2. the clean guess from the noise guess (eq. 2.2), clipped if asked
        x0_hat = (x_s - sigma_s * eps) / alpha_s
        if self.clip_sample:
            x0_hat = x0_hat.clamp(-self.clip_sample_range, self.clip_sample_range)
        # 3. D: the clean guess itself (first order: DDIM), or extrapolated from the previous one (second order)
        d = x0_hat
        if not first and t >= 0:
            s_prev, x0_prev = self._previous
            _, _, lambda_prev = self._alpha_sigma_lambda(s_prev, x_s.device)
            r = (lambda_s - lambda_prev) / h
            d = x0_hat + (x0_hat - x0_prev) / (2 * r)
        # 4. x_t = (sigma_t / sigma_s) x_s - alpha_t (e^{-h} - 1) D   (Lu et al. 2022, Algorithm 2)
        prev = (sigma_t / sigma_s) * x_s - alpha_t * torch.expm1(-h) * d
        self._previous = (s, x0_hat)
        return SchedulerOutput(prev_sample=prev, pred_original_sample=x0_hat)
