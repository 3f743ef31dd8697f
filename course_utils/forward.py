"""Blur and static: the two ways of destroying a picture, and the forward process that does both.

Lesson 1 derives this file. Essential: ``blur`` (Gaussian blur as heat spreading, done exactly in the
cosine (DCT) basis) and ``BlurToStatic.add_noise`` (blur more and more *and* mix in static, ending in
pure static). Plumbing: the DCT matrix and input checks.

Heat spreading for time tau blurs by a kernel of variance sigma^2 = 2 * tau per axis (Lesson 1,
eq. 1.1). On the pixel grid each pixel moves towards the average of its neighbours (the discrete heat
equation, reflecting borders), and in the DCT basis that is diagonal: the coefficient at frequency
(k_y, k_x) of an H x W image is multiplied by

    exp(-lambda_k * tau),   lambda_k = 4 sin^2(pi k_y / 2H) + 4 sin^2(pi k_x / 2W)     (Lesson 1, eq. 1.2)

so fine detail (large k) fades first. For small k, lambda_k ~ pi^2 (k_y^2/H^2 + k_x^2/W^2), the
continuous heat equation's value that Hoogeboom & Salimans use; the grid's own values keep the kernel
positive (the "discrete Gaussian" of Lindeberg 1990, "Scale-space for discrete signals"), so a blurred
picture never leaves the range of the original: no ringing, no overshoot past [-1, 1].

Blurring diffusion (Hoogeboom & Salimans 2022, "Blurring Diffusion Models", eq. 9-11):
    x_t = sqrt(alpha_bar_t) * B_t(x_0) + sqrt(1 - alpha_bar_t) * eps                    (Lesson 1, eq. 1.9)
where B_t blurs with sigma_blur(t) = max_blur_sigma * sin^2(pi/2 * (t + 1) / T) and keeps a floor
``d_min`` of every frequency. With max_blur_sigma = 0, B_t is the identity: plain DDPM noising.

Which detail drowns first (``frequency_snr``, Lesson 1, eq. 1.8): in the DCT basis the static is again
standard normal (the basis is orthonormal), so every frequency gets the same noise power 1 - alpha_bar_t,
while a picture's power P_k falls steeply with the frequency. SNR_k(t) = alpha_bar_t d_k(t)^2 P_k /
(1 - alpha_bar_t), with d_k(t) the blur's damping (1 without blur): the fine detail drowns first.

Run backwards (Lesson 4): ``BlurToStatic`` is also a scheduler with NoiseScheduler's interface (``timesteps``,
``set_timesteps``, ``step``). Per DCT frequency, alpha_t = sqrt(abar_t) d_t(k) and sigma_t = sqrt(1 - abar_t), and the
reverse step is the Gaussian posterior of Hoogeboom & Salimans (2022, sec. 2 and their appendix's ``denoise``)
frequency by frequency: see ``BlurToStatic.step``.
"""

from __future__ import annotations

import math
import numbers

import torch

from ._validate import (
    as_float_tensor,
    check_finite,
    check_image_batch,
    check_real,
    check_timestep_scalar,
    check_timesteps,
)
from .scheduler import NoiseScheduler, SchedulerOutput, _randn_like

# The reverse step divides by alpha_t per frequency (eq. 4.2). With d_min = 0 a wide blur keeps exp(-lambda tau) of
# the finest frequency, which underflows to 0 even in float64 (max_blur_sigma=30 on 8x8: exp(-3500)), and the step
# returns NaN everywhere. Below this floor 1 / alpha_t would carry an error of eps_hat past float32's range (3.4e38).
MIN_FREQUENCY_ALPHA = 1e-30


def dct_matrix(n: int, *, dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """The orthonormal DCT-II matrix C, shape (n, n): row k is the k-th cosine pattern.

    ``C @ v`` gives the frequency coefficients of a length-n signal v and ``C.T @ c`` turns them back
    (C is orthogonal). For an image x of shape (H, W): coefficients = C_H @ x @ C_W.T.
    """
    if n < 1:
        raise ValueError(f"dct_matrix needs n >= 1, got {n}.")
    k = torch.arange(n, dtype=torch.float64)[:, None]  # frequency index, (n, 1)
    i = torch.arange(n, dtype=torch.float64)[None, :]  # pixel index, (1, n)
    c = torch.cos(math.pi * (i + 0.5) * k / n) * math.sqrt(2.0 / n)  # (n, n)
    c[0] /= math.sqrt(2.0)
    return c.to(dtype=dtype, device=device)


def heat_frequencies(height: int, width: int, *, dtype=torch.float32, device=None) -> torch.Tensor:
    """lambda_k = 4 sin^2(pi k_y / 2H) + 4 sin^2(pi k_x / 2W) for every DCT frequency, shape (H, W) (eq. 1.2).

    These are the eigenvalues of the pixel grid's Laplacian (each pixel minus its neighbours, reflecting
    borders); for small k they equal pi^2 (k_y^2 / H^2 + k_x^2 / W^2).
    """
    ky = torch.arange(height, dtype=torch.float64)[:, None]
    kx = torch.arange(width, dtype=torch.float64)[None, :]
    lam = 4 * torch.sin(math.pi * ky / (2 * height)) ** 2 + 4 * torch.sin(math.pi * kx / (2 * width)) ** 2
    return lam.to(dtype=dtype, device=device)


def _sigma_per_image(sigma, n: int, ref: torch.Tensor) -> torch.Tensor:
    if isinstance(sigma, numbers.Real) and not isinstance(sigma, bool):  # numpy floats too
        sigma = torch.full((n,), float(sigma))
    elif isinstance(sigma, torch.Tensor):
        if sigma.ndim == 0:
            sigma = sigma.reshape(1).expand(n)
        if sigma.ndim != 1 or sigma.shape[0] not in (1, n):
            raise ValueError(
                f"sigma must be a number or a 1-D tensor with one value per image ({n},), "
                f"got shape {tuple(sigma.shape)}."
            )
        sigma = sigma.expand(n)
    else:
        raise TypeError(f"sigma must be a float or a tensor, got {type(sigma).__name__}.")
    sigma = sigma.to(device=ref.device, dtype=ref.dtype)
    if bool((sigma < 0).any()) or not bool(torch.isfinite(sigma).all()):
        raise ValueError(f"sigma (the blur width in pixels) must be finite and >= 0, got {sigma.tolist()[:4]}.")
    return sigma


def _check_d_min(d_min) -> float:
    """d_min is the share of every frequency the blur keeps: 0 keeps nothing extra, 1 would keep everything."""
    return check_real(d_min, "d_min", low=0.0, high=1.0, high_open=True,
                      what=" (the share of every frequency the blur keeps at least)")


def _damping(lam: torch.Tensor, sigma: torch.Tensor, d_min: float) -> torch.Tensor:
    """The share of each frequency a blur of width sigma keeps: (1 - d_min) exp(-lambda sigma^2 / 2) + d_min.

    lam: (H, W); sigma: (N,). Returns (N, H, W). tau = sigma^2 / 2 is the heat-spreading time (eq. 1.1).
    """
    tau = sigma**2 / 2
    return (1 - d_min) * torch.exp(-lam[None] * tau[:, None, None]) + d_min


def blur(images: torch.Tensor, sigma, *, d_min: float = 0.0) -> torch.Tensor:
    """Blur of width ``sigma`` pixels (a discrete Gaussian): heat spreading in the DCT basis (Lesson 1, eq. 1.1-1.2).

    Args:
        images: (N, C, H, W), values in [-1, 1].
        sigma: blur standard deviation in pixels, a float or a tensor of shape (N,) (one per image).
        d_min: keep at least this fraction of every frequency (blurring diffusion uses 0.001).
    Returns:
        blurred images, shape (N, C, H, W). sigma = 0 returns the images unchanged.
    """
    x = as_float_tensor(images, "images")
    check_image_batch(x, "images")
    d_min = _check_d_min(d_min)
    n, _, h, w = x.shape
    s = _sigma_per_image(sigma, n, x)
    if not bool((s > 0).any()):
        return x.clone()  # sigma = 0: exactly unchanged (no DCT round-off)
    lam = heat_frequencies(h, w, dtype=x.dtype, device=x.device)  # (H, W)
    damp = _damping(lam, s, d_min)  # (N, H, W)
    ch = dct_matrix(h, dtype=x.dtype, device=x.device)
    cw = dct_matrix(w, dtype=x.dtype, device=x.device)
    coeffs = ch @ x @ cw.T  # (N, C, H, W) frequency coefficients
    return ch.T @ (coeffs * damp[:, None]) @ cw  # back to pixels


class BlurToStatic:
    """The forward process that blurs *and* adds static (blurring diffusion), with ``add_noise`` like the scheduler.

    Args:
        scheduler: supplies alpha_bar_t, how much signal is left at step t.
        max_blur_sigma: blur width in pixels at the last step; 0 gives plain DDPM noising.
        d_min: the floor on every frequency (Hoogeboom & Salimans use 0.001) so the signal never vanishes
            from the blur alone: it is the static that ends the process. It also bounds 1 / alpha_t, the factor by
            which the clean guess x0_hat amplifies an error in the finest frequency (without it alpha_{T-1} would be
            about 4.5e-20 there: still a float32 number, but a 2e19-fold amplification).
        clip_sample, clip_sample_range: clip the reverse step's clean guess x0_hat to [-range, range] in pixel
            space, as Lesson 3's NoiseScheduler does. Off by default: measured, clipping is the trap here (see
            scripts/blur_sweep.py and Lesson 4's closing table).

    Reverse process (Lesson 4): ``timesteps``, ``set_timesteps``, ``frequency_alphas``, ``predict_x0`` and ``step``,
    with the interface of ``NoiseScheduler``, so ``cu.sample(model, process, n)`` runs it backwards.
    """

    def __init__(self, scheduler: NoiseScheduler, max_blur_sigma: float = 4.0, d_min: float = 0.001, *,
                 clip_sample: bool = False, clip_sample_range: float = 1.0) -> None:
        if not isinstance(scheduler, NoiseScheduler):
            raise TypeError(f"scheduler must be a NoiseScheduler, got {type(scheduler).__name__}.")
        if not (max_blur_sigma >= 0 and math.isfinite(max_blur_sigma)):
            raise ValueError(f"max_blur_sigma must be a finite number >= 0 (pixels), got {max_blur_sigma}.")
        d_min = _check_d_min(d_min)
        if not isinstance(clip_sample, bool):
            raise TypeError(f"clip_sample must be True or False, got {clip_sample!r}.")
        if isinstance(clip_sample_range, bool) or not isinstance(clip_sample_range, (int, float)) or not (
            clip_sample_range > 0
        ):
            raise ValueError(f"clip_sample_range must be a positive number, got {clip_sample_range!r}.")
        self.scheduler = scheduler
        self.max_blur_sigma = float(max_blur_sigma)
        self.d_min = d_min
        self.num_train_timesteps = scheduler.num_train_timesteps
        # the reverse process (Lesson 4): sampling timesteps as NoiseScheduler has them, all T by default
        self.timesteps = torch.arange(self.num_train_timesteps - 1, -1, -1)
        self.num_inference_steps: int | None = None
        self.clip_sample, self.clip_sample_range = clip_sample, float(clip_sample_range)
        self._alphas: dict[tuple[int, int], torch.Tensor] = {}  # (H, W) -> frequency_alphas, computed once
        self._dcts: dict[tuple[int, str], torch.Tensor] = {}  # (n, device) -> the float64 DCT matrix

    def __repr__(self) -> str:
        clip = ", clip_sample=True" if self.clip_sample else ""
        return f"BlurToStatic({self.scheduler!r}, max_blur_sigma={self.max_blur_sigma}, d_min={self.d_min}{clip})"

    @property
    def alphas_cumprod(self) -> torch.Tensor:
        """alpha_bar_t of the wrapped scheduler, (T,) float32: the share of the signal's power left at step t."""
        return self.scheduler.alphas_cumprod

    def blur_sigmas(self) -> torch.Tensor:
        """sigma_blur(t) = max_blur_sigma * sin^2(pi/2 * (t + 1) / T) for t = 0 .. T-1, shape (T,)."""
        T = self.num_train_timesteps
        s = (torch.arange(T, dtype=torch.float64) + 1) / T
        return (self.max_blur_sigma * torch.sin(math.pi / 2 * s) ** 2).float()

    def blur_only(self, original_samples: torch.Tensor, timesteps) -> torch.Tensor:
        """B_t(x_0): the blur of step t without any static, shape (N, C, H, W)."""
        x0 = as_float_tensor(original_samples, "original_samples")
        check_image_batch(x0, "original_samples")
        t = check_timesteps(timesteps, self.num_train_timesteps, x0.shape[0])
        sig = self.blur_sigmas()[t.cpu()]
        return blur(x0, sig if sig.shape[0] == x0.shape[0] else sig.expand(x0.shape[0]), d_min=self.d_min)

    def add_noise(self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps) -> torch.Tensor:
        """x_t = sqrt(abar_t) * B_t(x_0) + sqrt(1 - abar_t) * eps (Lesson 1, eq. 1.9), shape (N, C, H, W)."""
        x0 = as_float_tensor(original_samples, "original_samples")
        blurred = self.blur_only(x0, timesteps)
        return self.scheduler.add_noise(blurred, noise, timesteps)


    # ---------------------------------------------------------------- the reverse process (Lesson 4)
    #
    # Everything is diagonal in the DCT basis (Hoogeboom & Salimans 2022, sec. 4): with u = DCT(x),
    #     q(u_t | u_0) = N(alpha_t u_0, sigma_t^2 I),  alpha_t = sqrt(abar_t) d_t  (one number per frequency),
    #     sigma_t = sqrt(1 - abar_t)  (one number: the static is white),                          (Lesson 4, eq. 4.1)
    # and the Gaussian-diffusion formulas of their sec. 2 (marginal, transition, posterior) hold frequency by
    # frequency. The network predicts eps in pixel space; the DCT is orthonormal, so DCT(eps) is standard normal too.

    def frequency_alphas(self, height: int, width: int) -> torch.Tensor:
        """alpha_t for every DCT frequency: sqrt(abar_t) * d_t(k), float64 of shape (T, H, W) (Lesson 4, eq. 4.1).

        d_t(k) = (1 - d_min) exp(-lambda_k tau_t) + d_min with tau_t = sigma_blur(t)^2 / 2 (eq. 1.1-1.2), the share
        of frequency k the blur of step t keeps; (0, 0), the mean brightness, keeps d = 1. The smallest value,
        sqrt(abar_t) d_min at the finest frequency, is what the clean-picture guess divides by. Computed once per
        picture size, from the same float32 abar_t and blur widths as ``add_noise``.
        """
        if not (isinstance(height, int) and isinstance(width, int) and height >= 1 and width >= 1):
            raise ValueError(f"height and width must be positive ints, got {height!r} and {width!r}.")
        key = (height, width)
        if key not in self._alphas:
            lam = heat_frequencies(height, width, dtype=torch.float64)  # (H, W)
            damp = _damping(lam, self.blur_sigmas().double(), self.d_min)  # (T, H, W): d_t(k)
            alphas = self.alphas_cumprod.double().sqrt()[:, None, None] * damp
            low = float(alphas.min())
            if low < MIN_FREQUENCY_ALPHA:  # the clean guess divides by it: 0 gives inf, then 0 * inf = NaN
                t = int((alphas.flatten(1).min(1).values < MIN_FREQUENCY_ALPHA).nonzero()[0, 0])
                raise ValueError(
                    f"BlurToStatic(max_blur_sigma={self.max_blur_sigma:g}, d_min={self.d_min:g}) keeps {low:.3g} "
                    f"(alpha_t) of the finest frequency of {height}x{width} pictures from t = {t} on: "
                    f"the reverse step divides by it (eq. 4.2), so it needs at least {MIN_FREQUENCY_ALPHA:g}; keep a "
                    "floor d_min > 0 (the course uses 0.001) or use a smaller max_blur_sigma.")
            self._alphas[key] = alphas
        return self._alphas[key]

    def _alpha_sigma(self, t: int, height: int, width: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        """(alpha_t (H, W), sigma_t (scalar)) in float64; t = -1 is the clean picture: alpha = 1, sigma = 0."""
        if t < 0:
            return (torch.ones(height, width, dtype=torch.float64, device=device),
                    torch.zeros((), dtype=torch.float64, device=device))
        alpha = self.frequency_alphas(height, width)[t].to(device)
        return alpha, (1 - self.alphas_cumprod[t].double()).sqrt().to(device)

    def _dct_matrix(self, n: int, device) -> torch.Tensor:
        key = (n, str(device))
        if key not in self._dcts:
            self._dcts[key] = dct_matrix(n, dtype=torch.float64, device=device)
        return self._dcts[key]

    def _dct(self, x: torch.Tensor, inverse: bool = False) -> torch.Tensor:
        """The 2-D orthonormal DCT of (N, C, H, W) pictures (or its inverse), in float64."""
        ch, cw = self._dct_matrix(x.shape[-2], x.device), self._dct_matrix(x.shape[-1], x.device)
        x = x.double()
        return ch.T @ x @ cw if inverse else ch @ x @ cw.T

    def predict_x0(self, sample: torch.Tensor, model_output: torch.Tensor, timesteps) -> torch.Tensor:
        """The clean picture implied by a noise guess, per frequency: u0_hat = (u_t - sigma_t eps_u) / alpha_t.

        Eq. 4.1 solved for u_0 (Lesson 4, eq. 4.2), then back to pixels. The division by alpha_t undoes the blur,
        and amplifies an error in the finest frequency up to 1 / (sqrt(abar_t) d_min) times. That is x0_hat's error;
        a step to s multiplies u0_hat by alpha_s again, so what the step does to an error in eps_hat is the ratio
        alpha_s / alpha_t (Lesson 4, eq. 4.6), about the same at every frequency near t = T-1.
        Args: sample x_t and model_output eps_hat, both (N, C, H, W); timesteps (N,) or one int.
        Returns: x0_hat, (N, C, H, W), the dtype of ``sample`` (computed in float64).
        """
        x_t = as_float_tensor(sample, "sample")
        eps = as_float_tensor(model_output, "model_output")
        check_image_batch(x_t, "sample", check_range=False)
        if eps.shape != x_t.shape:
            raise ValueError(f"model_output must have the shape of sample {tuple(x_t.shape)}, got {tuple(eps.shape)}.")
        check_finite(x_t, "sample")
        check_finite(eps, "model_output")
        t = check_timesteps(timesteps, self.num_train_timesteps, x_t.shape[0]).cpu()
        _, _, h, w = x_t.shape
        alpha = self.frequency_alphas(h, w)[t].to(x_t.device)[:, None]  # (N or 1, 1, H, W)
        sigma = (1 - self.alphas_cumprod.double()[t]).sqrt().to(x_t.device).reshape(-1, 1, 1, 1)
        u0 = (self._dct(x_t) - sigma * self._dct(eps)) / alpha
        return self._dct(u0, inverse=True).to(x_t.dtype)

    def set_timesteps(self, num_inference_steps: int, timestep_spacing: str = "leading") -> None:
        """Sample with ``num_inference_steps`` timesteps, spread as NoiseScheduler.set_timesteps spreads them.

        "leading" (Lesson 3's): [(n-1) r, ..., r, 0] with r = T // n. "trailing" (diffusers' numbers):
        round(T, T - T/n, ..., T/n) - 1, which always starts at T - 1. "below_top" (the command line's default):
        round(T - T/n, T - 2T/n, ..., 0), one stride below T - 1 (for n >= 2T/3 the rounding lands on T - 1 too).
        Records the spacing as ``timestep_spacing``.

        A grid that starts at t = T-1 (trailing always; leading and below_top at n = T) samples badly without a
        clip: the first step multiplies the network's error by about sqrt(abar_s / abar_{T-1}) (632 for trailing's
        s = 979), at every frequency (``step``). Measured on digits_blur, 50 steps, deterministic: trailing reaches
        pixels of 1.5e6; the command line (``sample.check_blur_grid``) refuses such grids.
        """
        T = self.num_train_timesteps
        if isinstance(num_inference_steps, bool) or not isinstance(num_inference_steps, numbers.Integral) or not (
            1 <= num_inference_steps <= T
        ):
            raise ValueError(f"num_inference_steps must be an int from 1 to {T}, got {num_inference_steps!r}.")
        n = int(num_inference_steps)
        if timestep_spacing == "leading":
            timesteps = torch.arange(n - 1, -1, -1) * (T // n)
        elif timestep_spacing == "trailing":  # [:n]: arange with a float step overshoots by one for some n
            timesteps = torch.round(torch.arange(T, 0, -T / n, dtype=torch.float64)).long() - 1
            timesteps = timesteps[:n]
        elif timestep_spacing == "below_top":  # the same numbers as NoiseScheduler.set_timesteps
            timesteps = torch.round(T - (torch.arange(n, dtype=torch.float64) + 1) * T / n).long()
        else:
            raise ValueError(f"timestep_spacing must be 'leading' or 'trailing' (or 'below_top'), got "
                             f"{timestep_spacing!r}.")
        self.num_inference_steps, self.timesteps, self.timestep_spacing = n, timesteps, timestep_spacing

    def previous_timestep(self, timestep: int) -> int:
        """The timestep the step from ``timestep`` lands on: the next entry of ``timesteps``, or -1 (x_0) at the end."""
        timestep = check_timestep_scalar(timestep, self.num_train_timesteps)  # 998.7 refused, not truncated
        hits = (self.timesteps == timestep).nonzero()
        if hits.numel() == 0:
            raise ValueError(f"timestep {int(timestep)} is not one of the process's timesteps "
                             f"({int(self.timesteps[0])} .. {int(self.timesteps[-1])}, {len(self.timesteps)} of them): "
                             "call set_timesteps and loop over proc.timesteps.")
        i = int(hits[0, 0])
        return int(self.timesteps[i + 1]) if i + 1 < len(self.timesteps) else -1

    def step(self, model_output: torch.Tensor, timestep: int, sample: torch.Tensor,
             generator: torch.Generator | None = None, variance_noise: torch.Tensor | None = None,
             eta: float = 1.0, prediction_type: str = "epsilon") -> SchedulerOutput:
        """One reverse step of blur-to-static, x_t -> x_s (s: the next entry of ``timesteps``), from the noise guess.

        eta = 1 (the default): ancestral, a draw from the exact posterior q(u_s | u_t, u_0 = u0_hat), per frequency
        (Lesson 4, eq. 4.3-4.5; Hoogeboom & Salimans 2022, sec. 2 and the ``denoise`` function of their appendix
        pseudo-code; for DDPM, Ho et al. 2020, eq. 7). eta = 0: deterministic, u_s = alpha_s u0_hat + sigma_s eps_hat
        (the DDIM update, Song et al. 2021, eq. 12, per frequency); in between, eta times the posterior's standard
        deviation of fresh noise, as DDIM does. With max_blur_sigma = 0 this is ``NoiseScheduler.step`` (eta = 1) and
        ``DDIMScheduler.step`` (eta < 1), numbers included. The step from t = 0 lands on x_0 (abar = 1, no blur).

        Args:
            model_output: eps_hat, the network's noise guess, (N, C, H, W), in pixel space.
            timestep: t, one int of ``timesteps`` for the whole batch.
            sample: x_t, (N, C, H, W).
            generator: draws the fresh noise z (in pixel space, as NoiseScheduler does; its DCT is standard normal).
            variance_noise: use this z, shaped like ``sample``, instead of drawing one (zeros: the mean alone).
            eta: 0 .. 1, how much fresh noise (1: ancestral, 0: none).
            prediction_type: "epsilon" (model_output is eps_hat, Lesson 4) or "sample" (model_output is the clean
                guess x0_hat itself, Lesson 8's crayons_blur): then eps_hat = (u_t - alpha_t u0_hat) / sigma_t per
                frequency, and nothing is divided by alpha_t (measured: docs/models.md, crayons_blur).
        Returns: SchedulerOutput(prev_sample x_s, pred_original_sample x0_hat), both (N, C, H, W), dtype of sample.
        Computed in float64 (alpha_t reaches about 5e-8 at the finest frequency at t = T-1; float32 could hold it too).
        A step from t = T-1 multiplies the error of eps_hat by about sqrt(abar_s / abar_{T-1}) (632 for s = 979) at
        every frequency, blur or not (Lesson 4, eq. 4.6): start one stride below (``sample.blur_timesteps``).
        """
        eps = as_float_tensor(model_output, "model_output")
        x_t = as_float_tensor(sample, "sample")
        check_image_batch(x_t, "sample", check_range=False)
        if eps.shape != x_t.shape:
            raise ValueError(f"model_output must have the shape of sample {tuple(x_t.shape)}, got {tuple(eps.shape)}.")
        if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not 0 <= eta <= 1:
            raise ValueError(f"eta must be a number from 0 to 1 (1: ancestral, 0: deterministic), got {eta!r}.")
        if prediction_type not in ("epsilon", "sample"):
            raise ValueError(f"prediction_type must be 'epsilon' (a noise guess) or 'sample' (a clean-picture guess), "
                             f"got {prediction_type!r}.")
        check_finite(eps, "model_output")  # NaN or inf: the model or an earlier step diverged
        check_finite(x_t, "sample")
        t = check_timestep_scalar(timestep, self.num_train_timesteps)  # a whole number: 998.7 is refused
        s = self.previous_timestep(t)  # an error for a t that is not in timesteps
        _, _, h, w = x_t.shape
        # 1. alpha (per frequency) and sigma now and after the step (eq. 4.1); s = -1 is x_0: alpha = 1, sigma = 0
        alpha_t, sigma_t = self._alpha_sigma(t, h, w, x_t.device)
        alpha_s, sigma_s = self._alpha_sigma(s, h, w, x_t.device)
        # 2. into the DCT basis, where every frequency is on its own
        u_t, eps_u = self._dct(x_t), self._dct(eps)
        # 3. the clean guess u0_hat = (u_t - sigma_t eps_hat) / alpha_t (eq. 4.2); optionally clipped in pixel space.
        #    A model that predicts the clean picture gives u0_hat itself, and eps_hat follows from eq. 4.1.
        if prediction_type == "sample":
            u0_hat, x0_hat = eps_u, eps.double()
            eps_u = (u_t - alpha_t * u0_hat) / sigma_t
        else:
            u0_hat = (u_t - sigma_t * eps_u) / alpha_t
            x0_hat = self._dct(u0_hat, inverse=True)
        if self.clip_sample:  # the trap on blurred digits (see clip_sample in the class notes)
            x0_hat = x0_hat.clamp(-self.clip_sample_range, self.clip_sample_range)
            u0_hat = self._dct(x0_hat)
        # 4. the transition s -> t: alpha_{t|s} = alpha_t / alpha_s, sigma^2_{t|s} = sigma_t^2 - alpha_{t|s}^2 sigma_s^2
        alpha_ts = alpha_t / alpha_s
        sigma2_ts = (sigma_t**2 - alpha_ts**2 * sigma_s**2).clamp(min=0.0)  # >= 0 exactly; round-off can dip below
        # 5. the posterior variance sigma^2_{t|s} sigma_s^2 / sigma_t^2 (eq. 4.4), eta times its standard deviation
        std = eta * (sigma2_ts * sigma_s**2 / sigma_t**2).sqrt()  # (H, W)
        # 6. the mean: the posterior's (eq. 4.3) for eta = 1, DDIM's alpha_s u0_hat + sqrt(sigma_s^2 - std^2) eps_hat
        #    below (the two agree at eta = 1 unless u0_hat was clipped)
        if eta == 1:
            u_s = (alpha_ts * sigma_s**2 / sigma_t**2) * u_t + (alpha_s * sigma2_ts / sigma_t**2) * u0_hat
        else:
            u_s = alpha_s * u0_hat + (sigma_s**2 - std**2).clamp(min=0.0).sqrt() * eps_u
        # 7. fresh noise with that standard deviation per frequency, except on the step that lands on x_0
        if eta > 0 and s >= 0:
            if variance_noise is None:
                z = _randn_like(eps, generator)
            else:
                z = as_float_tensor(variance_noise, "variance_noise")
                if z.shape != x_t.shape:
                    raise ValueError(f"variance_noise must have the shape of sample {tuple(x_t.shape)}, "
                                     f"got {tuple(z.shape)}.")
                check_finite(z, "variance_noise")
            u_s = u_s + std * self._dct(z.to(x_t.device))
        # 8. back to pixels
        prev = self._dct(u_s, inverse=True).to(x_t.dtype)
        return SchedulerOutput(prev_sample=prev, pred_original_sample=x0_hat.to(x_t.dtype))


def forward_step(x_prev: torch.Tensor, beta_t: float, eps: torch.Tensor) -> torch.Tensor:
    """One variance-preserving noising step (Lesson 1, eq. 1.3; Ho et al. 2020, eq. 2).

    x_t = sqrt(1 - beta_t) * x_{t-1} + sqrt(beta_t) * eps. If x_{t-1} has variance 1 and eps ~ N(0, I)
    is independent of it, x_t has variance (1 - beta_t) + beta_t = 1: the step mixes, it never inflates.
    Shapes: x_prev and eps alike, any shape; beta_t a float in (0, 1).
    """
    x_prev = as_float_tensor(x_prev, "x_prev")
    eps = as_float_tensor(eps, "eps")
    if eps.shape != x_prev.shape:
        raise ValueError(f"eps must have the shape of x_prev {tuple(x_prev.shape)}, got {tuple(eps.shape)}.")
    beta_t = float(beta_t)
    if not (0.0 <= beta_t <= 1.0):
        raise ValueError(f"beta_t is a variance between 0 and 1, got {beta_t}.")
    return math.sqrt(1.0 - beta_t) * x_prev + math.sqrt(beta_t) * eps


def frequency_snr(images: torch.Tensor, process, *, by: str | None = "diagonal") -> torch.Tensor:
    """Signal-to-noise ratio of each DCT frequency at each code timestep (Lesson 1, eq. 1.8): which detail drowns first.

    SNR_k(t) = alpha_bar_t * d_k(t)^2 * P_k / (1 - alpha_bar_t), where P_k is the pictures' mean squared DCT
    coefficient at frequency k = (k_y, k_x) (their power, the mean brightness included at k = (0, 0)),
    d_k(t) the share a blur-to-static process keeps of it at step t (1 without blur), and 1 - alpha_bar_t the
    power the static puts at *every* frequency (the DCT is orthonormal, so eps stays standard normal).

    Args:
        images: (N, C, H, W) clean pictures in [-1, 1]; their power spectrum is averaged over N and C.
        process: a ``NoiseScheduler`` (static only) or a ``BlurToStatic`` (blur + static).
        by: ``"diagonal"`` groups the frequencies by k_y + k_x (0 = mean brightness, 1 = the coarsest
            patterns, H + W - 2 = the finest) and returns the group's mean SNR, which is its total signal
            power over its total noise power; ``None`` returns every frequency.
    Returns:
        float64 tensor of shape (T, H + W - 1) for ``by="diagonal"``, (T, H, W) for ``by=None``; row t is
        code timestep t = 0 .. T-1.
    """
    x = as_float_tensor(images, "images")
    check_image_batch(x, "images")
    if x.shape[0] == 0:
        raise ValueError("images must hold at least one picture to measure its power spectrum.")
    if isinstance(process, BlurToStatic):
        scheduler, sigmas, d_min = process.scheduler, process.blur_sigmas().double(), process.d_min
    elif isinstance(process, NoiseScheduler):
        scheduler, sigmas, d_min = process, None, 0.0
    else:
        raise TypeError(f"process must be a NoiseScheduler or a BlurToStatic, got {type(process).__name__}.")
    if by not in ("diagonal", None):
        raise ValueError(f"by must be 'diagonal' or None, got {by!r}.")
    x = x.detach().to(device="cpu", dtype=torch.float64)
    _, _, h, w = x.shape
    coeffs = dct_matrix(h, dtype=torch.float64) @ x @ dct_matrix(w, dtype=torch.float64).T  # (N, C, H, W)
    power = (coeffs**2).mean(dim=(0, 1))  # (H, W): P_k
    abar = scheduler.alphas_cumprod.double()  # (T,)
    snr = (abar / (1 - abar))[:, None, None] * power[None]  # (T, H, W): static only
    if sigmas is not None:
        lam = heat_frequencies(h, w, dtype=torch.float64)
        snr = snr * _damping(lam, sigmas, d_min) ** 2  # the blur keeps d_k(t) of the signal's amplitude
    if by is None:
        return snr
    diag = (torch.arange(h)[:, None] + torch.arange(w)[None, :]).flatten()  # (H * W,): k_y + k_x
    total = torch.zeros(snr.shape[0], h + w - 1, dtype=torch.float64).index_add_(1, diag, snr.flatten(1))
    return total / torch.bincount(diag, minlength=h + w - 1)  # (T, H + W - 1): mean over each group


def snr_crossings(snr: torch.Tensor, level: float = 1.0) -> torch.Tensor:
    """The first code timestep at which each SNR curve falls below ``level`` (T if it never does).

    snr: (T, ...) from ``frequency_snr``; returns a long tensor of shape snr.shape[1:].
    """
    if not isinstance(snr, torch.Tensor) or snr.ndim < 1 or snr.shape[0] == 0:
        raise ValueError("snr must be a tensor of shape (T, ...) with T >= 1, as frequency_snr returns.")
    if not (isinstance(level, (int, float)) and level > 0 and math.isfinite(level)):
        raise ValueError(f"level must be a positive number, got {level!r}.")
    below = snr < level  # (T, ...)
    first = below.to(torch.uint8).argmax(dim=0)  # first True, or 0 when there is none
    return torch.where(below.any(dim=0), first, torch.full_like(first, snr.shape[0])).long()
