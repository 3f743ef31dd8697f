"""Checks of Lesson 4 (notebooks/04_static_to_picture.ipynb): one ``check_*`` function per exercise.

The references are the package's ``BlurToStatic`` (``frequency_alphas``, ``step``) in float64; the
named mistakes are the ones a first blur-to-static sampler makes: one alpha for every frequency, the
floor d_min left out, DDPM's scalar posterior variance, the noise added in pixels, no way back from the
DCT basis.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..forward import BlurToStatic, dct_matrix, heat_frequencies
from ..scheduler import NoiseScheduler
from .core import ExerciseFailed, _call, _compare, _compare_steps, _fail, _passed, _same_twice, _want_dtype, exercise

_SIZE = 8  # the checks use 8 x 8 pictures, like the lesson's digits


def _process(max_blur_sigma: float = 5.0, d_min: float = 0.001) -> BlurToStatic:
    return BlurToStatic(NoiseScheduler(1000, beta_schedule="cosine"), max_blur_sigma=max_blur_sigma, d_min=d_min)


def _dct2(x: torch.Tensor) -> torch.Tensor:
    c = dct_matrix(x.shape[-1], dtype=torch.float64)
    return c @ x.double() @ c.T


def _idct2(u: torch.Tensor) -> torch.Tensor:
    c = dct_matrix(u.shape[-1], dtype=torch.float64)
    return c.T @ u.double() @ c


def _as_freq(ex: str, got, shape: tuple[int, ...], what: str, hint: str) -> torch.Tensor:
    """A learner's per-frequency tensor as float64 of ``shape``; one number is broadcast so that a scalar
    mistake can be named (the caller compares it with the mistakes)."""
    if got is None:
        _fail(ex, f"{what} is None: replace the stub's None with your code (and keep the `return`).")
    if isinstance(got, (int, float)):
        got = torch.tensor(float(got))
    if not isinstance(got, torch.Tensor):
        _fail(ex, f"{what} must be a torch.Tensor, got {type(got).__name__}.")
    got = got.detach().to("cpu", torch.float64)
    if got.numel() == 1:
        return got.reshape(()).expand(shape)
    try:
        return torch.broadcast_to(got, shape)
    except RuntimeError:
        _fail(ex, f"{what} has shape {tuple(got.shape)}; expected {shape}. {hint}")
    raise AssertionError  # unreachable: _fail raises


@exercise("Exercise 4.1 (frequency_alpha)")
def check_frequency_alpha(fn: Callable, ex: str) -> None:
    """Exercise 4.1: alpha_t(k) = sqrt(abar_t) d_t(k) per DCT frequency (Lesson 4, eq. 4.1)."""
    # 8 x 8 like the lesson's digits, then 6 x 10: on a square grid lam is symmetric, so a transposed lam
    # (or H and W swapped) would give the same numbers
    for (height, width), d_min in (((_SIZE, _SIZE), 0.001), ((_SIZE, _SIZE), 0.05), ((6, 10), 0.05)):
        lam = heat_frequencies(height, width, dtype=torch.float64)
        proc = _process(5.0, d_min)  # d_min = 0.05 too, so that (1 - d_min) and d_min are told apart
        alphas = proc.frequency_alphas(height, width)  # (T, H, W) float64: the package's reference
        abar_all, sig_all = proc.scheduler.alphas_cumprod, proc.blur_sigmas()
        for t in (300, 700, 999, 0):  # t = 0 last: there the blur is about 0 and mistakes look alike
            abar, sigma = abar_all[t], float(sig_all[t])
            got = _call(ex, fn, abar.clone(), sigma, lam.clone(), d_min)
            if isinstance(got, torch.Tensor) and got.numel() == 1 or isinstance(got, (int, float)):
                _fail(ex, "you returned one number: alpha_t is per frequency, an (H, W) tensor shaped like lam, "
                          "sqrt(alpha_bar_t) times the share d_t(k) the blur keeps of each frequency (eq. 4.1).")
            expected = alphas[t]
            if isinstance(got, torch.Tensor) and tuple(got.shape) == (width, height) != (height, width):
                _fail(ex, f"for a {height} x {width} lam your alpha has shape {tuple(got.shape)}, lam transposed: "
                          "alpha_t(k) belongs to each frequency in its place, so use lam as given (shape (H, W)).")
            _want_dtype(ex, got, lam.dtype, "lam is float64 (the DCT works in float64), and alpha_t(k) must keep "
                                            "its dtype: no .float(), no float32 constants.")
            got = _as_freq(ex, got, tuple(expected.shape), "your alpha",
                           "alpha_t(k) has one value per frequency, the shape of lam.")
            a = abar.double().sqrt()
            tau = sigma**2 / 2
            e = torch.exp(-lam * tau)
            mistakes = {
                "you left out the floor d_min: d_t(k) = (1 - d_min) exp(-lambda_k tau_t) + d_min (eq. 4.1). Without "
                "it the finest frequencies fall to about 0, and the clean guess later divides by about 0.":
                a * e,
                "d_t(k) is (1 - d_min) exp(-lambda_k tau_t) + d_min: you left out the factor (1 - d_min), so the "
                "mean brightness (lambda = 0) keeps more than all of itself.": a * (e + d_min),
                "a scalar alpha where a per-frequency one belongs: sqrt(alpha_bar_t) is the static's part; multiply "
                "it by d_t(k), the share of each frequency the blur keeps (eq. 4.1).": a.expand_as(lam),
                "that is d_t(k) alone: multiply it by sqrt(alpha_bar_t), how much signal the static leaves.":
                (1 - d_min) * e + d_min,
                "alpha_bar_t needs its square root: alpha_t(k) = sqrt(alpha_bar_t) d_t(k), an amplitude.":
                abar.double() * ((1 - d_min) * e + d_min),
                "the heat time is tau = sigma^2 / 2 (eq. 1.1), not sigma: a blur of width sigma is heat spread "
                "for sigma^2 / 2.": a * ((1 - d_min) * torch.exp(-lam * sigma) + d_min),
                "the heat time is tau = sigma^2 / 2 (eq. 1.1), not sigma^2: your blur is sqrt(2) times too wide.":
                a * ((1 - d_min) * torch.exp(-lam * sigma**2) + d_min),
                "the exponent's sign: heat spreading damps each frequency, exp(-lambda_k tau), so d_t(k) <= 1.":
                a * ((1 - d_min) * torch.exp(lam * tau) + d_min),
                "sqrt(1 - alpha_bar_t) is sigma_t, the static's size: the signal keeps sqrt(alpha_bar_t) (eq. 4.1).":
                (1 - abar.double()).sqrt() * ((1 - d_min) * e + d_min),
            }
            _compare(ex, got, expected, mistakes, "alpha_t(k) = sqrt(alpha_bar_t) ((1 - d_min) exp(-lambda_k "
                     "sigma^2 / 2) + d_min) (eq. 4.1).", atol=1e-7)
    _passed(ex, "matches BlurToStatic.frequency_alphas at t = 300, 700, 999 and 0, for d_min = 0.001 and 0.05, on "
                "8 x 8 and 6 x 10 grids.")


def _posterior_reference(u_t, u0, a_t, a_s, s_t, s_s):
    """The posterior q(u_s | u_t, u_0) per frequency, in float64 (eq. 4.3-4.4)."""
    a_ts = a_t / a_s
    s2_ts = s_t**2 - a_ts**2 * s_s**2
    var = s2_ts * s_s**2 / s_t**2
    mean = a_ts * s_s**2 / s_t**2 * u_t + a_s * s2_ts / s_t**2 * u0
    return mean, var, a_ts, s2_ts


_GRIDS = ((20, 950), (1000, 600), (50, 300), (20, 50), (20, 0))  # (steps, t): jumps of 1 to 50, and the
# last step, from t = 0 onto the clean picture (s = -1)


def _cases(proc: BlurToStatic) -> list[tuple[int, int, int]]:
    """(steps, t, s) with s where the package's step from t lands after set_timesteps(steps)."""
    out = []
    for steps, t in _GRIDS:
        proc.set_timesteps(steps)
        out.append((steps, t, proc.previous_timestep(t)))
    return out


def _schedule_at(proc: BlurToStatic, t: int, s: int):
    alphas = proc.frequency_alphas(_SIZE, _SIZE)
    abar = proc.scheduler.alphas_cumprod.double()
    a_t, s_t = alphas[t], (1 - abar[t]).sqrt()
    if s >= 0:
        a_s, s_s = alphas[s], (1 - abar[s]).sqrt()
        abar_s = abar[s]
    else:
        a_s, s_s = torch.ones_like(a_t), torch.zeros((), dtype=torch.float64)  # the clean picture
        abar_s = torch.ones((), dtype=torch.float64)
    return a_t, a_s, s_t, s_s, abar[t], abar_s


@exercise("Exercise 4.2 (posterior)")
def check_posterior(fn: Callable, ex: str) -> None:
    """Exercise 4.2: mean and variance of q(u_s | u_t, u_0) per frequency (Lesson 4, eq. 4.3-4.4)."""
    proc = _process()
    g = torch.Generator().manual_seed(42)
    u_t = torch.randn(3, 1, _SIZE, _SIZE, generator=g, dtype=torch.float64)
    u0 = torch.randn(3, 1, _SIZE, _SIZE, generator=g, dtype=torch.float64) * 2
    mean_cases, var_cases = [], []
    for _, t, s in _cases(proc):
        a_t, a_s, s_t, s_s, abar_t, abar_s = _schedule_at(proc, t, s)
        out = _call(ex, fn, u_t.clone(), u0.clone(), a_t.clone(), a_s.clone(), s_t.clone(), s_s.clone())
        if out is None or not isinstance(out, tuple | list) or len(out) != 2:
            _fail(ex, "return two things, mean and var: `return mean, var`"
                      + (" (both are still None: replace the stub)." if out is None or out == (None, None) else "."))
        mean, var = out
        if mean is None or var is None:
            _fail(ex, "mean or var is still None: replace the stub's None with your code.")
        exp_mean, exp_var, a_ts, s2_ts = _posterior_reference(u_t, u0, a_t, a_s, s_t, s_s)
        for what, x in (("mean", mean), ("var", var)):
            if isinstance(x, torch.Tensor) and not bool(torch.isfinite(x.detach()).all()):
                if s < 0:
                    _fail(ex, f"your {what} has NaN or inf at the last step (s = -1, the clean picture, where "
                              "sigma_s = 0): the precision form 1 / (1 / sigma_s^2 + ...) divides by zero there. "
                              "Write var = sigma2_ts sigma_s^2 / sigma_t^2 (eq. 4.4) and the mean of eq. 4.3, "
                              "which never divide by sigma_s.")
                _fail(ex, f"your {what} has NaN or inf: look for a division by zero or a sqrt of a negative number.")
        if isinstance(var, torch.Tensor) and var.numel() > 1:
            _want_dtype(ex, var, torch.float64, "var must keep the dtype of the inputs, float64 here (the DCT "
                                                "works in float64): no .float().")
        var = _as_freq(ex, var, tuple(exp_var.shape), "var", "the posterior variance has one value per "
                       "frequency (H, W), like alpha_t: it does not depend on the pictures.")
        ddpm_var = s_s**2 / s_t**2 * (1 - abar_t / abar_s)  # DDPM's beta_tilde: one number
        var_mistakes = {
            "that is DDPM's posterior variance beta_tilde, one number for every frequency (Lesson 3, eq. 3.2): "
            "here it is per frequency, sigma^2_{t|s} sigma_s^2 / sigma_t^2 with sigma^2_{t|s} = sigma_t^2 - "
            "alpha_{t|s}^2 sigma_s^2 (eq. 4.3-4.4).": ddpm_var.expand_as(exp_var),
            "that is sigma^2_{t|s}, the variance of the forward step from s to t; the posterior's is smaller, "
            "sigma^2_{t|s} sigma_s^2 / sigma_t^2 (eq. 4.4).": s2_ts,
            "alpha_{t|s} must be squared in sigma^2_{t|s} = sigma_t^2 - alpha_{t|s}^2 sigma_s^2 (eq. 4.3): it "
            "scales an amplitude, and variances scale with its square.":
            (s_t**2 - a_ts * s_s**2) * s_s**2 / s_t**2,
            "alpha_{t|s} = alpha_t / alpha_s (how much of u_s is left at t), not alpha_s / alpha_t.":
            (s_t**2 - (a_s / a_t) ** 2 * s_s**2) * s_s**2 / s_t**2,
        }
        var_cases.append((var, exp_var, var_mistakes if s >= 0 else {}))
        mean_mistakes = {
            "alpha_{t|s} = alpha_t / alpha_s (how much of u_s is left at t), not alpha_s / alpha_t.":
            _posterior_reference(u_t, u0, a_s**2 / a_t, a_s, s_t, s_s)[0],
            "the clean guess is weighted by alpha_s sigma^2_{t|s} / sigma_t^2 (eq. 4.3): you used alpha_t where "
            "alpha_s belongs.": a_ts * s_s**2 / s_t**2 * u_t + a_t * s2_ts / s_t**2 * u0,
            "a scalar alpha where a per-frequency one belongs: that is DDPM's mean (Lesson 3, eq. 3.1), with "
            "sqrt(alpha_bar) for every frequency; use alpha_t(k) and alpha_s(k) as given (eq. 4.3).":
            _posterior_reference(u_t, u0, abar_t.sqrt().expand_as(a_t), abar_s.sqrt().expand_as(a_t), s_t, s_s)[0],
            "the two weights are swapped: u_t gets alpha_{t|s} sigma_s^2 / sigma_t^2, the clean guess gets "
            "alpha_s sigma^2_{t|s} / sigma_t^2 (eq. 4.3).": a_s * s2_ts / s_t**2 * u_t + a_ts * s_s**2 / s_t**2 * u0,
        }
        mean_cases.append((mean, exp_mean, mean_mistakes if s >= 0 else {}))
    hint_v = ("var = sigma2_ts sigma_s^2 / sigma_t^2, sigma2_ts = sigma_t^2 - (alpha_t / alpha_s)^2 sigma_s^2 "
              "(eq. 4.3-4.4).")
    hint_m = ("mean = (alpha_ts sigma_s^2 / sigma_t^2) u_t + (alpha_s sigma2_ts / sigma_t^2) u0_hat, alpha_ts = "
              "alpha_t / alpha_s (eq. 4.3).")
    def zeros(x) -> bool:
        return isinstance(x, torch.Tensor) and x.numel() > 0 and float(x.detach().abs().max()) == 0.0

    stub = all(zeros(v) for v, _, _ in var_cases) and all(zeros(m_) for m_, _, _ in mean_cases)  # all the stub's
    _compare_steps(ex, [(v, e, {"var: " + k: w for k, w in m.items()}) for v, e, m in var_cases], "var: " + hint_v,
                   atol=1e-8, part=None if stub else "var")
    _compare_steps(ex, [(m_, e, {"mean: " + k: w for k, w in m.items()}) for m_, e, m in mean_cases],
                   "mean: " + hint_m, atol=1e-8, dtype=torch.float64, part=None if stub else "mean")
    _passed(ex, "mean and variance match the posterior per frequency for jumps of 1 to 50 steps and the last step "
                "(s = -1).")


def _noise_on_every_step(ex: str, cases: list[tuple], quiet: list[tuple]) -> None:
    """Name a step that leaves out its noise while the others are right (a condition like ``prev_t > 0``)."""
    def close(a, b) -> bool:
        return isinstance(a, torch.Tensor) and a.shape == b.shape and torch.allclose(
            a.detach().to("cpu", torch.float64), b, atol=1e-4, rtol=1e-4)

    wrong = [i for i, (got, expected, _) in enumerate(cases) if not close(got, expected)]
    noisy = [i for i, (_, s, _) in enumerate(quiet) if s >= 0]
    if wrong and len(wrong) < len(noisy) and all(quiet[i][1] >= 0 and close(cases[i][0], quiet[i][2]) for i in wrong):
        t, s, _ = quiet[wrong[0]]
        _fail(ex, f"the step from t = {t} to s = {s} has no fresh noise, while your other steps are right: every step "
                  "adds sqrt(var) dct2(z) except the very last, onto the clean picture (s = -1, where var = 0 anyway), "
                  "so look at the condition that skips the noise (s = 0 is a real timestep).")


@exercise("Exercise 4.3 (blur_step)")
def check_blur_step(fn: Callable, ex: str) -> None:
    """Exercise 4.3: one reverse step of blur-to-static in pixel space (Lesson 4, eq. 4.2-4.5)."""
    proc = _process()
    alphas = proc.frequency_alphas(_SIZE, _SIZE)
    abar32 = proc.alphas_cumprod
    g = torch.Generator().manual_seed(43)
    x_t = torch.randn(4, 1, _SIZE, _SIZE, generator=g, dtype=torch.float64)
    eps_hat = torch.randn(4, 1, _SIZE, _SIZE, generator=g, dtype=torch.float64)
    z = torch.randn(4, 1, _SIZE, _SIZE, generator=g, dtype=torch.float64)  # fresh noise, in pixels
    cases, quiet = [], []  # quiet: (t, s, the step without its noise) per case
    for steps, t, s in _cases(proc):
        got = _call(ex, fn, x_t.clone(), eps_hat.clone(), t, s, alphas.clone(), abar32.clone(), z.clone(),
                    hints={IndexError: "past the last step (prev_t = -1) there is no freq_alphas[prev_t]: "
                                       "keep the lines above the exercise, which set alpha_s = 1, sigma_s = 0"})
        if t == 600:
            _same_twice(ex, got, _call(ex, fn, x_t.clone(), eps_hat.clone(), t, s, alphas.clone(), abar32.clone(),
                                       z.clone()), "the noise z")
        proc.set_timesteps(steps)
        expected = proc.step(eps_hat, t, x_t, variance_noise=z).prev_sample  # the package, in float64
        a_t, a_s, s_t, s_s, abar_t, abar_s = _schedule_at(proc, t, s)
        u_t, u_e, u_z = _dct2(x_t), _dct2(eps_hat), _dct2(z)
        u0 = (u_t - s_t * u_e) / a_t
        mean, var, _, _ = _posterior_reference(u_t, u0, a_t, a_s, s_t, s_s)
        std = var.clamp(min=0).sqrt()
        m_scalar = _posterior_reference(u_t, (u_t - s_t * u_e) / abar_t.sqrt(), a_t, a_s, s_t, s_s)[0]
        m_pix_eps = _posterior_reference(u_t, (u_t - s_t * eps_hat) / a_t, a_t, a_s, s_t, s_s)[0]
        ddpm_std = (s_s**2 / s_t**2 * (1 - abar_t / abar_s)).sqrt()
        mistakes = {
            "a scalar alpha where a per-frequency one belongs: you divided by sqrt(alpha_bar_t), DDPM's clean guess; "
            "here each frequency is divided by its own alpha_t(k): u0_hat = (u_t - sigma_t u_eps) / alpha_t "
            "(eq. 4.2).": _idct2(m_scalar + std * u_z),
            "eps_hat is a picture in pixels: take it to the DCT basis too, u_eps = dct2(eps_hat), before u0_hat = "
            "(u_t - sigma_t u_eps) / alpha_t (eq. 4.2).": _idct2(m_pix_eps + std * u_z),
            "you forgot to go back from the DCT basis: the step returns pixels, idct2(mean + sqrt(var) dct2(z)).":
            mean + std * u_z,
            "you went into the DCT basis twice: the way back to pixels is idct2 (C.T @ u @ C), not dct2.":
            _dct2(mean + std * u_z),
        }
        if s >= 0:  # at the last step var = 0, so every way of adding noise gives the same answer
            mistakes |= {
                "noise added with the scalar sigma in pixel space: the fresh noise has a variance per frequency, "
                "so add sqrt(var) dct2(z) in the DCT basis, then go back: idct2(mean + sqrt(var) dct2(z)) (eq. 4.5).":
                _idct2(mean) + s_s * z,
                "noise added in pixel space with DDPM's scalar standard deviation sqrt(beta_tilde): the fresh noise "
                "has a variance per frequency; add sqrt(var) dct2(z) in the DCT basis, then go back (eq. 4.5).":
                _idct2(mean) + ddpm_std * z,
                "the per-frequency standard deviation sqrt(var) belongs to the DCT basis: add sqrt(var) dct2(z) to "
                "the mean there, then go back to pixels (you added it after idct2).": _idct2(mean) + std * z,
                "z is given in pixels (like the package's variance_noise): take it to the DCT basis, dct2(z), before "
                "scaling it per frequency (drawn fresh, either is standard normal, but the same z must give the "
                "package's numbers).": _idct2(mean + std * z),
                "the noise is scaled by the variance, not the standard deviation: multiply dct2(z) by sqrt(var).":
                _idct2(mean + var * u_z),
                "no fresh noise: the step draws from the posterior, mean + sqrt(var) dct2(z) (eq. 4.5).": _idct2(mean),
            }
        cases.append((got, expected, mistakes))
        quiet.append((t, s, _idct2(mean)))
    _noise_on_every_step(ex, cases, quiet)
    _compare_steps(ex, cases, "into the DCT basis, the clean guess of eq. 4.2, your posterior (eq. 4.3-4.4), the "
                   "fresh noise scaled per frequency in the DCT basis (eq. 4.5), back to pixels.", atol=1e-4,
                   dtype=torch.float64)
    # walk_back below hands float32 pictures, guesses and noise (the network's dtype): the step must take them
    steps, t, s = _cases(proc)[0]
    proc.set_timesteps(steps)
    x32, e32, z32 = x_t.float(), eps_hat.float(), z.float()
    try:
        got = _call(ex, fn, x32, e32, t, s, alphas.clone(), abar32.clone(), z32)
    except ExerciseFailed as err:
        _fail(ex, "on float32 pictures, as the walk back below passes them: " + err.args[0].split(": ", 1)[1])
    expected = proc.step(e32.double(), t, x32.double(), variance_noise=z32.double()).prev_sample
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape or not torch.allclose(
            got.detach().double(), expected, atol=1e-3):
        _fail(ex, "right on float64 inputs, wrong on float32 pictures (as the walk back below passes them): work "
                  "through dct2 and idct2, which take any float dtype to float64.")
    _passed(ex, "matches BlurToStatic.step for jumps of 1 to 50 steps and the last step onto the clean picture.")
