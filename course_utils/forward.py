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
"""

from __future__ import annotations

import math
import numbers

import torch

from ._validate import as_float_tensor, check_image_batch, check_real, check_timesteps
from .scheduler import NoiseScheduler


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
            from the blur alone: it is the static that ends the process.
    """

    def __init__(self, scheduler: NoiseScheduler, max_blur_sigma: float = 4.0, d_min: float = 0.001) -> None:
        if not isinstance(scheduler, NoiseScheduler):
            raise TypeError(f"scheduler must be a NoiseScheduler, got {type(scheduler).__name__}.")
        if not (max_blur_sigma >= 0 and math.isfinite(max_blur_sigma)):
            raise ValueError(f"max_blur_sigma must be a finite number >= 0 (pixels), got {max_blur_sigma}.")
        d_min = _check_d_min(d_min)
        self.scheduler = scheduler
        self.max_blur_sigma = float(max_blur_sigma)
        self.d_min = d_min
        self.num_train_timesteps = scheduler.num_train_timesteps

    def __repr__(self) -> str:
        return f"BlurToStatic({self.scheduler!r}, max_blur_sigma={self.max_blur_sigma}, d_min={self.d_min})"

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
