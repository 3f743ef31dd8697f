"""The noise schedule of DDPM: how much signal survives, and how much static is mixed in, at each step.

Lesson 1 derives every line here; the names match diffusers' ``DDPMScheduler`` so that the library
looks familiar later (``num_train_timesteps``, ``betas``, ``alphas``, ``alphas_cumprod``, ``add_noise``).

Conventions (stated once): timesteps run 0, 1, ..., T-1 with T = ``num_train_timesteps``.
``x_t`` is the picture after step t has added its noise, so ``alphas_cumprod[0]`` already includes
``beta_0``: x_0 itself is the clean picture and sits "before" timestep 0 (the sample at timestep 0 still
carries noise of standard deviation sqrt(1 - alpha_bar_0)). Sampling starts from pure static x_{T-1} and the
step from timestep 0 lands on the clean picture. The papers count 1..T: docs/notation.md puts both side by side.

Equations (Ho et al. 2020, "Denoising Diffusion Probabilistic Models", eq. 2 and eq. 4):
    one step:    x_t = sqrt(1 - beta_t) * x_{t-1} + sqrt(beta_t) * eps          (Lesson 1, eq. 1.3)
    closed form: x_t = sqrt(alpha_bar_t) * x_0 + sqrt(1 - alpha_bar_t) * eps     (Lesson 1, eq. 1.5)
    with alpha_t = 1 - beta_t and alpha_bar_t = alpha_0 * alpha_1 * ... * alpha_t.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ._validate import (
    as_float_tensor,
    check_finite,
    check_image_batch,
    check_positive_int,
    check_real,
    check_timestep_scalar,
    check_timesteps,
    is_int,
)

SCHEDULE_NAMES = ("linear", "cosine", "squaredcos_cap_v2")
TIMESTEP_SPACINGS = ("leading", "trailing", "below_top")


def cosine_betas(num_train_timesteps: int, max_beta: float = 0.999) -> torch.Tensor:
    """Betas of the squared-cosine schedule (Nichol & Dhariwal 2021, eq. 17), shape (T,).

    alpha_bar(s) = cos^2(((s + 0.008) / 1.008) * pi / 2) for s in [0, 1], and
    beta_t = min(1 - alpha_bar((t + 1) / T) / alpha_bar(t / T), max_beta).
    Computed in Python floats, then stored as float32, the way diffusers does (``squaredcos_cap_v2``).
    """

    def alpha_bar(s: float) -> float:
        return math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2

    T = num_train_timesteps
    betas = [min(1 - alpha_bar((t + 1) / T) / alpha_bar(t / T), max_beta) for t in range(T)]
    return torch.tensor(betas, dtype=torch.float32)


@dataclass
class SchedulerOutput:
    """What one reverse step returns (the names of diffusers' ``DDPMSchedulerOutput``)."""

    prev_sample: torch.Tensor  # x_{t-1}: the picture one step less noisy, shape of the sample
    pred_original_sample: torch.Tensor  # x0_hat: the model's current guess of the clean picture


def _randn_like(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard normal noise shaped like x, drawn on the generator's device (as diffusers' randn_tensor does)."""
    device = generator.device if generator is not None else x.device
    return torch.randn(x.shape, generator=generator, device=device, dtype=x.dtype).to(x.device)


def check_variance_noise(variance_noise, sample: torch.Tensor) -> torch.Tensor:
    """The z a reverse step adds: a float tensor of exactly the sample's shape (a scalar would be the same z
    for every pixel, which is not noise)."""
    z = as_float_tensor(variance_noise, "variance_noise")
    if z.shape != sample.shape:
        raise ValueError(f"variance_noise must have the shape of sample {tuple(sample.shape)} (one draw per value), "
                         f"got {tuple(z.shape)}. Draw it with torch.randn(sample.shape, generator=g).")
    check_finite(z, "variance_noise")
    return z


class NoiseScheduler:
    """A DDPM noise schedule with diffusers' names (Lesson 1).

    Args:
        num_train_timesteps: T, the number of noising steps (timesteps are 0 .. T-1).
        beta_start, beta_end: the ends of the "linear" schedule (Ho et al. 2020 use 1e-4 and 0.02).
        beta_schedule: "linear" (DDPM) or "cosine" (improved DDPM; diffusers calls it "squaredcos_cap_v2").
        clip_sample, clip_sample_range: clip the clean-picture guess of each reverse step to
            [-clip_sample_range, clip_sample_range] (the data range, [-1, 1]).

    Attributes (all float32 tensors of shape (T,)):
        betas: beta_t, the variance of the noise added at step t.
        alphas: alpha_t = 1 - beta_t.
        alphas_cumprod: alpha_bar_t = prod_{s<=t} alpha_s, the share of the original signal's variance left.
    """

    def __init__(
        self,
        num_train_timesteps: int = 1000,
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
        beta_schedule: str = "linear",
        clip_sample: bool = True,
        clip_sample_range: float = 1.0,
    ) -> None:
        num_train_timesteps = check_positive_int(num_train_timesteps, "num_train_timesteps")  # np.int64 too
        if beta_schedule not in SCHEDULE_NAMES:
            raise ValueError(f"Unknown beta_schedule {beta_schedule!r}: expected one of {', '.join(SCHEDULE_NAMES)}.")
        if beta_schedule == "linear":
            if not (0.0 < beta_start <= beta_end < 1.0):
                raise ValueError(
                    f"The linear schedule needs 0 < beta_start <= beta_end < 1, got beta_start={beta_start}, "
                    f"beta_end={beta_end}."
                )
            self.betas = torch.linspace(beta_start, beta_end, num_train_timesteps, dtype=torch.float32)
        else:
            if (beta_start, beta_end) != (1e-4, 0.02):  # silently unused otherwise: the cosine schedule has no ends
                raise ValueError(f"beta_start and beta_end set the ends of the linear schedule; the {beta_schedule!r} "
                                 f"schedule has none, got beta_start={beta_start}, beta_end={beta_end}: leave them "
                                 "out, or use beta_schedule='linear'.")
            self.betas = cosine_betas(num_train_timesteps)
        self.num_train_timesteps = num_train_timesteps
        self.beta_start, self.beta_end, self.beta_schedule = beta_start, beta_end, beta_schedule
        self.alphas = 1.0 - self.betas  # alpha_t = 1 - beta_t
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)  # alpha_bar_t = alpha_0 * ... * alpha_t
        self.timesteps = torch.arange(num_train_timesteps - 1, -1, -1)  # reverse order, as in diffusers
        self.num_inference_steps: int | None = None
        self.timestep_spacing = "leading"  # how set_timesteps spreads the sampling steps
        if not isinstance(clip_sample, (bool, np.bool_)):
            raise TypeError(f"clip_sample must be True or False, got {clip_sample!r}.")
        clip_sample_range = check_real(clip_sample_range, "clip_sample_range", low=0, low_open=True,
                                       what=" (the clean-picture guess is clipped to [-range, range])")
        self.clip_sample, self.clip_sample_range = bool(clip_sample), clip_sample_range

    def __repr__(self) -> str:
        extra = f", beta_start={self.beta_start}, beta_end={self.beta_end}" if self.beta_schedule == "linear" else ""
        return (f"NoiseScheduler(num_train_timesteps={self.num_train_timesteps}, "
                f"beta_schedule={self.beta_schedule!r}{extra})")

    def signal_to_noise(self) -> torch.Tensor:
        """SNR(t) = alpha_bar_t / (1 - alpha_bar_t), shape (T,) (Kingma et al. 2021, "Variational Diffusion Models")."""
        return self.alphas_cumprod / (1.0 - self.alphas_cumprod)

    def add_noise(self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """Jump straight from x_0 to x_t (Lesson 1, eq. 1.5): sqrt(abar_t) * x_0 + sqrt(1 - abar_t) * eps.

        Args:
            original_samples: x_0, images (N, C, H, W) with values in [-1, 1], or points (N, D).
            noise: eps ~ N(0, I), the same shape as ``original_samples``.
            timesteps: integer tensor of shape (N,) (one per example) or a single int, each in 0 .. T-1.
        Returns:
            x_t, the same shape and dtype as ``original_samples``.
        """
        x0 = as_float_tensor(original_samples, "original_samples")
        eps = as_float_tensor(noise, "noise")
        if x0.ndim < 1:
            raise ValueError("original_samples must have a batch dimension, shape (N, ...).")
        if x0.ndim == 4:  # a batch of images: they must be in the model's range
            check_image_batch(x0, "original_samples")
        elif x0.ndim == 3:
            raise ValueError(
                f"original_samples has shape {tuple(x0.shape)}: images must be a batch (N, C, H, W); "
                "for one image use x0[None]."
            )
        if eps.shape != x0.shape:
            raise ValueError(
                f"noise must have the same shape as original_samples {tuple(x0.shape)}, got {tuple(eps.shape)}."
            )
        if x0.ndim != 4:  # pictures were checked with their range above
            check_finite(x0, "original_samples")
        check_finite(eps, "noise")
        t = check_timesteps(timesteps, self.num_train_timesteps, x0.shape[0])
        alphas_cumprod = self.alphas_cumprod.to(device=x0.device, dtype=x0.dtype)
        t = t.to(x0.device)
        sqrt_alpha_prod = alphas_cumprod[t] ** 0.5  # (N,)
        sqrt_one_minus_alpha_prod = (1 - alphas_cumprod[t]) ** 0.5  # (N,)
        shape = (-1,) + (1,) * (x0.ndim - 1)  # broadcast one value per example over (C, H, W)
        return sqrt_alpha_prod.reshape(shape) * x0 + sqrt_one_minus_alpha_prod.reshape(shape) * eps

    def predict_x0(self, sample: torch.Tensor, model_output: torch.Tensor, timesteps) -> torch.Tensor:
        """The clean picture implied by a noise guess: x0_hat = (x_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t).

        Eq. 1.5 solved for x_0 (Lesson 2, eq. 2.2; diffusers calls the result ``pred_original_sample``).
        Args: sample x_t and model_output eps_hat of the same shape (N, ...); timesteps (N,) or one int.
        """
        x_t = as_float_tensor(sample, "sample")
        eps = as_float_tensor(model_output, "model_output")
        if eps.shape != x_t.shape:
            raise ValueError(f"model_output must have the shape of sample {tuple(x_t.shape)}, got {tuple(eps.shape)}.")
        check_finite(x_t, "sample")
        check_finite(eps, "model_output")
        t = check_timesteps(timesteps, self.num_train_timesteps, x_t.shape[0]).to(x_t.device)
        abar = self.alphas_cumprod.to(device=x_t.device, dtype=x_t.dtype)[t]
        abar = abar.reshape((-1,) + (1,) * (x_t.ndim - 1))  # (N, 1, ...) to broadcast per example
        return (x_t - (1 - abar).sqrt() * eps) / abar.sqrt()

    # ---------------------------------------------------------------- reverse process (Lesson 3)

    def set_timesteps(self, num_inference_steps: int, timestep_spacing: str = "leading") -> None:
        """Use ``num_inference_steps`` evenly spaced timesteps for sampling; each step jumps to the next entry.

        ``timestep_spacing`` (diffusers' names and numbers; Lin et al. 2024, "Common Diffusion Noise Schedules
        and Sample Steps are Flawed", table 2):
          "leading" (the default, Lesson 3): timesteps = [(n-1) r, ..., 2r, r, 0] with r = T // n. When n does
              not divide T the first step is not T-1: with T = 1000 and n = 501, r = 1 and sampling starts at
              t = 500, from pure static that the model was trained to see only at t = 999.
          "trailing": timesteps = round(T, T - T/n, ..., T/n) - 1, so sampling always starts at T-1 (the pure
              static it begins from) and the last step jumps from about T/n - 1 to the clean picture.
          "below_top" (the course's default for sampling noise checkpoints since review part 3; not a diffusers
              name): timesteps = round(T - T/n, T - 2T/n, ..., 0), one stride below T-1 for every n. The same
              grid as "leading" whenever n divides T, without its slip (n = 501 starts at 998, not at 500).
              Why not start at T-1: there the cosine schedule's capped beta leaves alpha_bar = 2.4e-9, and an
              eps-predicting model's clean guess (x_t - sqrt(1 - abar) eps_hat) / sqrt(abar) multiplies the
              error of eps_hat by about 20,000; the step to s carries sqrt(abar_s) of it, 632 times the error for
              s = 979 (Lesson 4; scripts/sampler_ablation.py measures what it costs). The model is handed the
              static as x_s, whose power is still 96 % static at n = 8 (alpha_bar_s = 0.037) and 86 % at n = 4
              (0.143); measured, that mismatch costs less than the blow-up at 4 to 50 steps, and more at 2
              (docs: the sampler tables). n = 1000 is every timestep, T-1 included.
        """
        T = self.num_train_timesteps
        if not (is_int(num_inference_steps) and 1 <= num_inference_steps <= T):
            raise ValueError(f"num_inference_steps must be an int from 1 to {T}, got {num_inference_steps!r}.")
        if timestep_spacing not in TIMESTEP_SPACINGS:
            raise ValueError(f"timestep_spacing must be one of {', '.join(map(repr, TIMESTEP_SPACINGS))}, "
                             f"got {timestep_spacing!r}.")
        n = int(num_inference_steps)
        if timestep_spacing == "leading":
            ratio = T // n
            timesteps = torch.arange(n - 1, -1, -1) * ratio  # (n,): (n-1) r, ..., r, 0
        elif timestep_spacing == "below_top":
            timesteps = torch.from_numpy(np.round(T - (np.arange(n) + 1) * T / n).astype(np.int64))  # (n,): ..., 0
        else:
            # [:n]: np.arange with a float step overshoots by one value (-1) for 62 counts from n = 61 (diffusers
            # has the same slip); the first n values are diffusers' own
            timesteps = torch.from_numpy(np.round(np.arange(T, 0, -T / n))[:n].astype(np.int64) - 1)  # (n,): T-1, ...
        self.num_inference_steps, self.timestep_spacing = n, timestep_spacing
        self.timesteps = timesteps

    def previous_timestep(self, timestep: int) -> int:
        """The timestep the next reverse step lands on: the next entry of ``timesteps``, or -1 after the last."""
        timestep = check_timestep_scalar(timestep, self.num_train_timesteps)
        if self.num_inference_steps is None:
            return timestep - 1
        hits = (self.timesteps == timestep).nonzero()
        if hits.numel() == 0:
            raise ValueError(f"timestep {timestep} is not one of the scheduler's timesteps "
                             f"({self.timesteps[0].item()} .. {self.timesteps[-1].item()}): call set_timesteps and "
                             "loop over scheduler.timesteps.")
        i = int(hits[0, 0])
        return int(self.timesteps[i + 1]) if i + 1 < len(self.timesteps) else -1

    def step(self, model_output: torch.Tensor, timestep: int, sample: torch.Tensor,
             generator: torch.Generator | None = None,
             variance_noise: torch.Tensor | None = None) -> SchedulerOutput:
        """One DDPM reverse step x_t -> x_{t-1} from the predicted noise (Ho et al. 2020, Algorithm 2; Lesson 3).

        The step from t = 0 lands on the clean picture x_0 (alpha_bar = 1 there) and adds no noise.

        Same numbers as diffusers' ``DDPMScheduler.step`` (variance "fixed_small", epsilon prediction),
        including with ``set_timesteps`` (then "t-1" is the previous entry of ``timesteps``).
        Shapes: model_output and sample alike, (N, ...); timestep one int for the whole batch (a whole number:
        500.7 is refused, not truncated).
        ``variance_noise``: use this z, the shape of ``sample``, instead of drawing one (zeros give the noise-free
        mean, Lesson 3).
        """
        eps = as_float_tensor(model_output, "model_output")
        x_t = as_float_tensor(sample, "sample")
        if eps.shape != x_t.shape:
            raise ValueError(f"model_output must have the shape of sample {tuple(x_t.shape)}, got {tuple(eps.shape)}.")
        check_finite(x_t, "sample")
        check_finite(eps, "model_output")
        t = check_timestep_scalar(timestep, self.num_train_timesteps)
        if variance_noise is not None:
            variance_noise = check_variance_noise(variance_noise, x_t)
        prev_t = self.previous_timestep(t)
        abar = self.alphas_cumprod.to(x_t.device)
        # 1. alpha_bar now and after the step (eq. 3.1)
        alpha_prod_t = abar[t]
        alpha_prod_t_prev = abar[prev_t] if prev_t >= 0 else torch.tensor(1.0, device=x_t.device)
        beta_prod_t, beta_prod_t_prev = 1 - alpha_prod_t, 1 - alpha_prod_t_prev
        current_alpha_t = alpha_prod_t / alpha_prod_t_prev
        current_beta_t = 1 - current_alpha_t
        # 2. the clean picture implied by the noise guess (eq. 2.2), clipped to the data range
        x0_hat = (x_t - beta_prod_t ** (0.5) * eps) / alpha_prod_t ** (0.5)
        if self.clip_sample:
            x0_hat = x0_hat.clamp(-self.clip_sample_range, self.clip_sample_range)
        # 3. the mean of q(x_{t-1} | x_t, x_0) with x_0 = x0_hat (Ho et al. 2020, eq. 7; Lesson 3, eq. 3.1)
        coeff_x0 = (alpha_prod_t_prev ** (0.5) * current_beta_t) / beta_prod_t
        coeff_xt = current_alpha_t ** (0.5) * beta_prod_t_prev / beta_prod_t
        prev = coeff_x0 * x0_hat + coeff_xt * x_t
        # 4. add fresh noise with the posterior variance beta_tilde (eq. 7; Lesson 3, eq. 3.2), except at the last step
        if t > 0:
            noise = _randn_like(eps, generator) if variance_noise is None else variance_noise  # (N, ...)
            variance = torch.clamp(beta_prod_t_prev / beta_prod_t * current_beta_t, min=1e-20)
            prev = prev + variance ** 0.5 * noise
        return SchedulerOutput(prev_sample=prev, pred_original_sample=x0_hat)
