"""Checks of Lesson 1 (notebooks/01_picture_to_static.ipynb): one ``check_*`` function per exercise."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..forward import blur, dct_matrix, forward_step, heat_frequencies
from ..scheduler import NoiseScheduler
from .core import _call, _compare, _passed, _same_twice, exercise


@exercise("Exercise 1.2 (forward_step)")
def check_forward_step(fn: Callable, ex: str) -> None:
    """Exercise 1.2: one variance-preserving noising step (Lesson 1, eq. 1.3)."""
    g = torch.Generator().manual_seed(11)
    x_prev = torch.rand(3, 1, 8, 8, generator=g) * 2 - 1
    eps = torch.randn(3, 1, 8, 8, generator=g)
    for beta in (0.02, 0.3):
        got = _call(ex, fn, x_prev.clone(), beta, eps.clone(),
                    hints={TypeError: "beta_t is a Python float: use math.sqrt, not torch.sqrt"})
        again = _call(ex, fn, x_prev.clone(), beta, eps.clone())
        _same_twice(ex, got, again, "the noise eps")
        expected = forward_step(x_prev, beta, eps)
        mistakes = {
            "the square roots are missing. beta_t is a variance; scale x_{t-1} by sqrt(1 - beta_t) and "
            "eps by sqrt(beta_t).": (1 - beta) * x_prev + beta * eps,
            "the noise is scaled by beta_t instead of sqrt(beta_t): beta_t is the noise's variance, its "
            "standard deviation is the square root.": math.sqrt(1 - beta) * x_prev + beta * eps,
            "the signal is scaled by (1 - beta_t) instead of sqrt(1 - beta_t): take the square root there too.":
            (1 - beta) * x_prev + math.sqrt(beta) * eps,
            "the signal is not shrunk. Adding noise without scaling x_{t-1} by sqrt(1 - beta_t) makes the "
            "variance grow every step instead of staying at 1.": x_prev + math.sqrt(beta) * eps,
            "the two scales are swapped: the signal keeps sqrt(1 - beta_t), the noise gets sqrt(beta_t).":
            math.sqrt(beta) * x_prev + math.sqrt(1 - beta) * eps,
            "you treated beta_t as the noise's standard deviation (sqrt(1 - beta_t^2) x_{t-1} + beta_t eps); in "
            "eq. 1.3 beta_t is its variance: sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps.":
            math.sqrt(1 - beta**2) * x_prev + beta * eps,
        }
        _compare(ex, got, expected, mistakes, "Check eq. 1.3: x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps.",
                 dtype=torch.float32)
    _passed(ex, "matches eq. 1.3 for beta_t = 0.02 and 0.3.")


@exercise("Exercise 1.3 (alphas_cumprod_from_betas)")
def check_alphas_cumprod(fn: Callable, ex: str) -> None:
    """Exercise 1.3: alpha_bar_t = prod_{s<=t} (1 - beta_s) (Lesson 1, eq. 1.4)."""
    for sched in (NoiseScheduler(1000), NoiseScheduler(50, beta_schedule="cosine"), NoiseScheduler(10, 0.05, 0.3)):
        betas = sched.betas.clone()
        got = _call(ex, fn, betas.clone())
        alphas = 1 - betas
        exclusive = torch.cat([torch.ones(1), torch.cumprod(alphas, 0)[:-1]])
        mistakes = {
            "off by one: your first entry is 1. Entry i multiplies alphas[0] through alphas[i], the first step "
            "included (eq. 1.4 starts at the first step).": exclusive,
            "that is the product of the betas. alpha_bar multiplies the alphas, alpha_t = 1 - beta_t.":
            torch.cumprod(betas, 0),
            "a sum where a product belongs: 1 - (beta_0 + ... + beta_t) is only close for tiny betas. "
            "Multiply the alphas (torch.cumprod).": 1 - torch.cumsum(betas, 0),
            "that is alpha_t itself, not the running product. Use torch.cumprod over the alphas.": alphas,
            "that is 1 - alpha_bar_t (the noise variance). alpha_bar_t is the signal's share.":
            1 - torch.cumprod(alphas, 0),
            "cumsum where cumprod belongs: alpha_bar_t multiplies the alphas, (1 - beta_0)(1 - beta_1)...(1 - beta_t).":
            torch.cumsum(alphas, 0),
            "that raises one alpha to the power t + 1, which is the product only when every beta is the same; "
            "this schedule's betas change with t. Multiply the actual alphas: torch.cumprod(1 - betas, dim=0).":
            alphas ** torch.arange(1, len(alphas) + 1),
        }
        _compare(ex, got, sched.alphas_cumprod, mistakes,
                 "alpha_bar_t = (1 - beta_0)(1 - beta_1)...(1 - beta_t), one value per timestep, shape (T,).",
                 dtype=torch.float32)
    _passed(ex, "agrees with NoiseScheduler.alphas_cumprod for linear and cosine schedules.")


@exercise("Exercise 1.4 (q_sample)")
def check_q_sample(fn: Callable, ex: str) -> None:
    """Exercise 1.4: the closed-form jump x_0 -> x_t (Lesson 1, eq. 1.5), one timestep per example."""
    sched = NoiseScheduler(1000, beta_schedule="cosine")  # not the notebook's schedule: use the argument
    abar = sched.alphas_cumprod
    g = torch.Generator().manual_seed(13)
    x0 = torch.rand(8, 1, 8, 8, generator=g) * 2 - 1  # 8 examples of 8x8: a wrong broadcast is silent here
    eps = torch.randn(8, 1, 8, 8, generator=g)
    t = torch.tensor([0, 1, 10, 100, 250, 500, 750, 999])
    got = _call(ex, fn, x0.clone(), t.clone(), eps.clone(), abar.clone(), hints={
        IndexError: "code timesteps run 0..T-1: index alphas_cumprod with t itself, no +1 or -1"})
    again = _call(ex, fn, x0.clone(), t.clone(), eps.clone(), abar.clone())
    _same_twice(ex, got, again, "the noise eps")
    expected = sched.add_noise(x0, eps, t)
    a = abar[t].view(-1, 1, 1, 1)
    a_prev = abar[(t - 1).clamp(min=0)].view(-1, 1, 1, 1)
    a_prev_wrapped = abar[t - 1].view(-1, 1, 1, 1)  # t = 0 wraps around to the last entry
    a_next = abar[(t + 1).clamp(max=999)].view(-1, 1, 1, 1)
    a0 = abar[t[0]]
    # alpha_t = 1 - beta_t, the one-step share: of this schedule, or of the notebook's linear `scheduler`
    alpha = (abar / torch.cat([torch.ones(1), abar[:-1]]))[t].view(-1, 1, 1, 1)
    alpha_nb = NoiseScheduler(1000).alphas[t].view(-1, 1, 1, 1)
    one_step = ("you used alpha_t = 1 - beta_t, the one-step share; eq. 1.5 needs alpha_bar_t, the product "
                "(1 - beta_0)...(1 - beta_t) up to t: alphas_cumprod[t]")
    mistakes = {
        one_step + ".": alpha.sqrt() * x0 + (1 - alpha).sqrt() * eps,
        one_step + ", from the alphas_cumprod argument (not the notebook's scheduler).":
        alpha_nb.sqrt() * x0 + (1 - alpha_nb).sqrt() * eps,
        "the noise is scaled by 1 - sqrt(alpha_bar_t); eq. 1.5 takes sqrt(1 - alpha_bar_t), the square root of "
        "the whole noise variance 1 - alpha_bar_t.": a.sqrt() * x0 + (1 - a.sqrt()) * eps,
        "the noise is scaled by (1 - alpha_bar_t) instead of sqrt(1 - alpha_bar_t). 1 - alpha_bar_t is the "
        "noise's variance; multiply eps by its square root.": a.sqrt() * x0 + (1 - a) * eps,
        "the signal is scaled by alpha_bar_t instead of sqrt(alpha_bar_t): scale x_0 by the square root too.":
        a * x0 + (1 - a).sqrt() * eps,
        "t is off by one: you used alpha_bar at t - 1. Index alphas_cumprod with t itself (timesteps run 0..T-1).":
        a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps,
        "t is off by one: you used alphas_cumprod[t - 1] (for t = 0 that even wraps around to the last "
        "entry). Index alphas_cumprod with t itself (code timesteps run 0..T-1).":
        a_prev_wrapped.sqrt() * x0 + (1 - a_prev_wrapped).sqrt() * eps,
        "t is off by one: you used alpha_bar at t + 1. Index alphas_cumprod with t itself (timesteps run 0..T-1).":
        a_next.sqrt() * x0 + (1 - a_next).sqrt() * eps,
        "one timestep for the whole batch: every example has its own t. Index alphas_cumprod with the whole "
        "tensor t.": a0.sqrt() * x0 + (1 - a0).sqrt() * eps,
        "alpha_bar_t was broadcast along the image width, not per example: reshape alphas_cumprod[t] from "
        "(N,) to (N, 1, 1, 1) before multiplying.": abar[t].sqrt() * x0 + (1 - abar[t]).sqrt() * eps,
        "the two scales are swapped: x_0 keeps sqrt(alpha_bar_t), eps gets sqrt(1 - alpha_bar_t).":
        (1 - a).sqrt() * x0 + a.sqrt() * eps,
    }
    _compare(ex, got, expected, mistakes,
             "Check eq. 1.5: x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, with alpha_bar_t = "
             "alphas_cumprod[t] shaped (N, 1, 1, 1).", dtype=torch.float32)
    _passed(ex, "matches NoiseScheduler.add_noise (eq. 1.5) for 8 examples with 8 different timesteps.")


@exercise("Exercise 1.1 (heat_blur)")
def check_heat_blur(fn: Callable, ex: str) -> None:
    """Exercise 1.1: Gaussian blur as heat spreading in the DCT basis (Lesson 1, eq. 1.1-1.2)."""
    g = torch.Generator().manual_seed(14)
    x = torch.rand(2, 1, 16, 12, generator=g) * 2 - 1  # not square: H and W must not be mixed up
    for sigma in (0.7, 2.0):
        got = _call(ex, fn, x.clone(), sigma, named={
            (RuntimeError, fragment): "C_H and C_W are swapped (the shapes do not fit on this 16 x 12 picture): "
            "C_H is H x H and mixes the rows from the left, C_W is W x W and mixes the columns from the right: "
            "coefficients C_H @ x @ C_W.T, back to pixels C_H.T @ ... @ C_W."
            for fragment in ("Expected size for first two dimensions", "cannot be multiplied", "must match the size")})
        expected = blur(x, sigma)
        ch, cw = dct_matrix(16), dct_matrix(12)
        coeffs = ch @ x @ cw.T
        lam = heat_frequencies(16, 12)
        damp = torch.exp(-lam * sigma**2 / 2)
        wrong_way = ("the transforms go the wrong way round: the rows of C are the DCT's frequencies, so the "
                     "coefficients are C_H @ x @ C_W.T and the way back is C_H.T @ ... @ C_W")  # + "." or a note
        mistakes = {
            "the heat time is sigma, not sigma^2 / 2: a Gaussian of std sigma is heat spread for time "
            "tau = sigma^2 / 2 (eq. 1.1).": ch.T @ (coeffs * torch.exp(-lam * sigma)) @ cw,
            "the heat time is sigma^2, not sigma^2 / 2 (eq. 1.1): your blur is sqrt(2) times too wide.":
            ch.T @ (coeffs * torch.exp(-lam * sigma**2)) @ cw,
            "you returned the DCT coefficients: transform back to pixels with C_H.T @ ... @ C_W.":
            coeffs * torch.exp(-lam * sigma**2 / 2),
            "the damping is missing its minus sign: blur must shrink the fine detail, exp(-lambda * tau).":
            ch.T @ (coeffs * torch.exp(lam * sigma**2 / 2)) @ cw,
            "you damped in pixel space: the damping factors multiply DCT coefficients, so transform first.":
            x * torch.exp(-lam * sigma**2 / 2),
            wrong_way + ".": ch @ ((ch.T @ x @ cw) * damp) @ cw.T,
            wrong_way + " (yours is right along H, wrong along W).": ch.T @ ((ch @ x @ cw) * damp) @ cw.T,
            wrong_way + " (yours is right along W, wrong along H).": ch @ ((ch.T @ x @ cw.T) * damp) @ cw,
        }
        _compare(ex, got, expected, mistakes,
                 "Transform with C_H @ x @ C_W.T, multiply by exp(-lambda * sigma^2 / 2) (eq. 1.2), transform back.",
                 atol=1e-4, dtype=torch.float32)
    _passed(ex, "matches course_utils.blur for sigma = 0.7 and 2 on a 16 x 12 image.")
