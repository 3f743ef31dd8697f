"""Checks of Lesson 2 (notebooks/02_denoiser.ipynb): one ``check_*`` function per exercise."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..scheduler import NoiseScheduler
from .core import _call, _compare, _fail, _passed, _Recorder, exercise


@exercise("Exercise 2.1 (predict_x0)")
def check_predict_x0(fn: Callable, ex: str) -> None:
    """Exercise 2.1: the clean picture implied by a noise guess (Lesson 2, eq. 2.2)."""
    sched = NoiseScheduler(1000, beta_schedule="cosine")
    abar = sched.alphas_cumprod
    g = torch.Generator().manual_seed(21)
    x_t = torch.randn(8, 1, 8, 8, generator=g)  # 8 examples of 8x8: a wrong broadcast is silent here
    eps_hat = torch.randn(8, 1, 8, 8, generator=g)
    t = torch.tensor([0, 5, 50, 200, 400, 600, 800, 900])
    got = _call(ex, fn, x_t.clone(), eps_hat.clone(), t.clone(), abar.clone(), hints={
        IndexError: "code timesteps run 0..T-1: index alphas_cumprod with t itself"})
    expected = sched.predict_x0(x_t, eps_hat, t)
    a = abar[t].view(-1, 1, 1, 1)
    a_prev = abar[t - 1].view(-1, 1, 1, 1)
    a_next = abar[t + 1].view(-1, 1, 1, 1)
    a0 = abar[t[0]]
    mistakes = {
        "the noise term is missing its square root: subtract sqrt(1 - alpha_bar_t) * eps_hat, the scale eq. 1.5 "
        "put on the noise.": (x_t - (1 - a) * eps_hat) / a.sqrt(),
        "divide by sqrt(alpha_bar_t), not by alpha_bar_t: eq. 1.5 scaled x_0 by the square root.":
        (x_t - (1 - a).sqrt() * eps_hat) / a,
        "multiply and divide are swapped: eq. 1.5 multiplied x_0 by sqrt(alpha_bar_t), so undo it by dividing.":
        (x_t - (1 - a).sqrt() * eps_hat) * a.sqrt(),
        "the sign of the noise term: x_t = sqrt(abar) x_0 + sqrt(1 - abar) eps, so x_0 = (x_t - sqrt(1 - abar) "
        "eps) / sqrt(abar).": (x_t + (1 - a).sqrt() * eps_hat) / a.sqrt(),
        "t is off by one: you used alphas_cumprod[t - 1]. Index with t itself.":
        (x_t - (1 - a_prev).sqrt() * eps_hat) / a_prev.sqrt(),
        "t is off by one: you used alphas_cumprod[t + 1]. Index with t itself.":
        (x_t - (1 - a_next).sqrt() * eps_hat) / a_next.sqrt(),
        "one timestep for the whole batch: every example has its own t.":
        (x_t - (1 - a0).sqrt() * eps_hat) / a0.sqrt(),
        "alpha_bar_t was broadcast along the image width, not per example: reshape alphas_cumprod[t] to "
        "(N, 1, 1, 1).": (x_t - (1 - abar[t]).sqrt() * eps_hat) / abar[t].sqrt(),
        "the noise term is scaled by 1 - sqrt(alpha_bar_t); eq. 1.5 put sqrt(1 - alpha_bar_t) on the noise, the "
        "square root of the whole 1 - alpha_bar_t.": (x_t - (1 - a.sqrt()) * eps_hat) / a.sqrt(),
        "you removed the noise but did not undo the signal's scale: divide by sqrt(alpha_bar_t), since eq. 1.5 "
        "multiplied x_0 by it.": x_t - (1 - a).sqrt() * eps_hat,
    }
    _compare(ex, got, expected, mistakes, "Solve eq. 1.5 for x_0: x_0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t).",
             atol=1e-4, dtype=torch.float32)
    _passed(ex, "matches eq. 2.2 for 8 examples with 8 different timesteps.")


@exercise("Exercise 2.2 (diffusion_loss)")
def check_diffusion_loss(fn: Callable, ex: str) -> None:
    """Exercise 2.2: the simplified DDPM training loss (Lesson 2, eq. 2.1)."""
    sched = NoiseScheduler(1000, beta_schedule="cosine")
    abar = sched.alphas_cumprod
    T = sched.num_train_timesteps
    x0 = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(22)) * 2 - 1
    model = _Recorder()
    got = _call(ex, fn, model, x0.clone(), abar.clone(), torch.Generator().manual_seed(5), named={
        (RuntimeError, "at non-singleton dimension 3"):  # (64,) against (64, 1, 8, 8): torch lines it up with W
        "alpha_bar_t was broadcast along the image width, not per example: reshape alphas_cumprod[t] from (N,) to "
        "(N, 1, 1, 1) before multiplying, alphas_cumprod[t].view(-1, 1, 1, 1)."})
    if not model.calls:
        if got is None:
            _fail(ex, "your function returned None: replace the stub's None with your code (and keep the `return`).")
        _fail(ex, "the model was never called: the loss compares model(x_t, t) with the noise eps.")
    if len(model.calls) > 1:
        _fail(ex, f"the model was called {len(model.calls)} times: call it once, on the whole batch.")
    x_t, t = model.calls[0]
    if not isinstance(t, torch.Tensor) or t.shape != (64,):
        shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
        _fail(ex, f"the model got t of shape {shape}: draw one timestep per example, shape (N,).")
    if torch.is_floating_point(t):
        _fail(ex, f"the model got floating-point timesteps ({t.dtype}): pass the integer timesteps t themselves.")
    g = torch.Generator().manual_seed(5)
    t_ref = torch.randint(0, T, (64,), generator=g)
    eps = torch.randn(x0.shape, generator=g)
    if bool((t == t[0]).all()):
        _fail(ex, "one timestep for the whole batch: every example needs its own t, torch.randint(0, T, (N,)).")
    if torch.equal(t, t_ref + 1):
        _fail(ex, "t is off by one: code timesteps run 0..T-1, so draw torch.randint(0, T, (N,)).")
    if torch.equal(t, torch.randint(0, T - 1, (64,), generator=torch.Generator().manual_seed(5))):
        _fail(ex, "randint's upper end is already exclusive: torch.randint(0, T, (N,)) draws 0..T-1; with T - 1 "
                  "the last timestep, T - 1, is never trained.")
    if not torch.equal(t, t_ref):
        _fail(ex, "the timesteps differ from the expected draw: draw t first, with "
                  "torch.randint(0, T, (N,), generator=generator), then eps with torch.randn(x0.shape, "
                  "generator=generator).")
    a = abar[t].view(-1, 1, 1, 1)
    variants = {
        None: a.sqrt() * x0 + (1 - a).sqrt() * eps,
        "the model was given the clean picture x0: give it the noisy picture x_t = sqrt(abar_t) x0 + "
        "sqrt(1 - abar_t) eps (eq. 1.5), whose noise it must guess.": x0,
        "the model was given the noise eps itself: give it the noisy picture x_t = sqrt(abar_t) x0 + "
        "sqrt(1 - abar_t) eps (eq. 1.5).": eps,
        "the noise term is missing its square root: x_t = sqrt(abar) x_0 + sqrt(1 - abar) eps.":
        a.sqrt() * x0 + (1 - a) * eps,
        "the signal is scaled by alpha_bar_t instead of sqrt(alpha_bar_t).": a * x0 + (1 - a).sqrt() * eps,
        "the images went in as [0, 1]: the model's pictures live in [-1, 1]; use x0 as given.":
        a.sqrt() * (x0 + 1) / 2 + (1 - a).sqrt() * eps,
        "t is off by one in alphas_cumprod: index it with t itself.":
        abar[t - 1].view(-1, 1, 1, 1).sqrt() * x0 + (1 - abar[t - 1].view(-1, 1, 1, 1)).sqrt() * eps,
    }
    for message, want in variants.items():
        if x_t.shape == want.shape and torch.allclose(x_t, want, atol=1e-5):
            if message is not None:
                _fail(ex, message)
            break
    else:
        _fail(ex, "the noisy input x_t differs from eq. 1.5 with the eps drawn right after t "
                  "(torch.randn(x0.shape, generator=generator)).")
    pred = model(x_t, t)
    model.calls.pop()
    from ..training import diffusion_loss  # the package's loss, the same draws: ties the exercise to it

    loss = diffusion_loss(model, x0, sched, generator=torch.Generator().manual_seed(5)).detach()
    model.calls.pop()
    pred = pred.detach()
    if not isinstance(got, torch.Tensor):
        _fail(ex, f"expected the loss as a torch.Tensor (a single number), got {type(got).__name__}.")
    if got.numel() != 1:
        _fail(ex, f"the loss must be one number (the mean over the batch), got shape {tuple(got.shape)}.")
    wrong = {
        "the target is the noise eps, not the clean picture x_0.": ((pred - x0) ** 2).mean(),
        "use the mean squared error, not the sum: the loss should not grow with the batch size.":
        ((pred - eps) ** 2).sum(),
        "you summed over the pixels: in code we average over them too (the mean squared error), so that a "
        "loss of 1 means 'no better than guessing zero' at any picture size.":
        ((pred - eps) ** 2).sum((1, 2, 3)).mean(),
        "square the error: the DDPM loss is the mean squared error.": (pred - eps).abs().mean(),
        "compare with the noise, not with x_t: the target is eps.": ((pred - x_t) ** 2).mean(),
    }
    g_val = float(got.detach())
    if abs(g_val - float(loss)) <= 1e-5 * max(1.0, abs(float(loss))):
        if not got.requires_grad:
            _fail(ex, "the loss has no gradient: return the tensor itself, without .detach() or .item(), so that "
                      "training can call loss.backward().")
        _passed(ex, "draws t and eps as eq. 2.1 says and returns the mean squared error on the noise.")
        return
    for message, value in wrong.items():
        if abs(g_val - float(value)) <= 1e-5 * max(1.0, abs(float(value))):
            _fail(ex, message)
    _fail(ex, f"the loss is {g_val:.5f}, expected {float(loss):.5f}: mean of (model(x_t, t) - eps)^2.")


@exercise("Exercise 2.4 (timestep_embedding)")
def check_timestep_embedding(fn: Callable, ex: str) -> None:
    """Exercise 2.4: the sinusoidal timestep embedding (Lesson 2, eq. 2.4)."""
    from ..models import timestep_embedding

    t = torch.tensor([0, 1, 7, 100, 999])
    for dim in (32, 8):  # 32 first: at dim 8 some different mistakes give the same numbers
        got = _call(ex, fn, t.clone(), dim, named={
            (RuntimeError, "at non-singleton dimension 0"):  # (5,) * (16,)
            "t has shape (N,) and the frequencies (dim/2,): multiply them as an outer product, t[:, None] * "
            "w[None, :], which has shape (N, dim/2)."})
        expected = timestep_embedding(t, dim)
        half = dim // 2
        tf = t.float()[:, None]
        w = torch.exp(-math.log(10000.0) * torch.arange(half) / (half - 1))[None]
        w_half = torch.exp(-math.log(10000.0) * torch.arange(half) / half)[None]
        w_from1 = torch.exp(-math.log(10000.0) * torch.arange(1, half + 1) / half)[None]
        mistakes = {
            "the frequency exponent divides by dim/2; eq. 2.4 divides by dim/2 - 1, so that the last frequency "
            "is exactly 1/10000 (dividing by dim/2 is the Transformer paper's convention; DDPM's code, which we "
            "follow, uses dim/2 - 1).": torch.cat([torch.sin(tf * w_half), torch.cos(tf * w_half)], 1),
            "sin and cos are swapped: the first half is sin(t w_i), the second half cos(t w_i).":
            torch.cat([torch.cos(tf * w), torch.sin(tf * w)], 1),
            "sin and cos are interleaved: put all the sines first, then all the cosines (torch.cat, dim=1).":
            torch.stack([torch.sin(tf * w), torch.cos(tf * w)], 2).reshape(len(t), dim),
            "only sines: the second half of the embedding is the cosines.":
            torch.cat([torch.sin(tf * w), torch.sin(tf * w)], 1),
            "your exponent starts at i = 1; it must run i = 0 .. dim/2 - 1 (torch.arange(half)), so that the first "
            "frequency is exactly 1.": torch.cat([torch.sin(tf * w_from1), torch.cos(tf * w_from1)], 1),
        }
        w_up = 1 / w  # the frequencies the wrong way round: sin(t * 10000) is float32 noise, so compare at t = 1
        up_row = torch.cat([torch.sin(w_up), torch.cos(w_up)], 1)[0]
        if isinstance(got, torch.Tensor) and got.shape == expected.shape and torch.allclose(
                got[1].detach().double(), up_row.double(), atol=0.05) and not torch.allclose(got, expected, atol=1e-4):
            _fail(ex, "the frequencies go up instead of down: w_i = 10000^(-i / (dim/2 - 1)) runs from 1 down to "
                      "1/10000.")
        _compare(ex, got, expected, mistakes, "emb = [sin(t w_0), ..., sin(t w_{d/2-1}), cos(t w_0), ...], "
                 "w_i = 10000^(-i / (d/2 - 1)); shape (N, dim).", atol=1e-4, dtype=torch.float32)
    _passed(ex, "matches eq. 2.4 for dim = 32 and 8.")


@exercise("Exercise 2.3 (ideal_denoiser)")
def check_ideal_denoiser(fn: Callable, ex: str) -> None:
    """Exercise 2.3: the ideal denoiser of a finite data set (Lesson 2, eq. 2.3)."""
    from ..ideal import ideal_denoiser

    sched = NoiseScheduler(1000, beta_schedule="cosine")
    abar = sched.alphas_cumprod
    g = torch.Generator().manual_seed(24)
    data = torch.randn(50, 2, generator=g)
    for t in (30, 300, 700):
        x_t = torch.randn(20, 2, generator=g)
        got = _call(ex, fn, x_t.clone(), t, data.clone(), abar.clone())
        expected = ideal_denoiser(x_t, torch.full((20,), t), data, sched)
        a = abar[t]
        d2 = ((x_t[:, None] - a.sqrt() * data[None]) ** 2).sum(-1)  # (M, N)
        d2_plain = ((x_t[:, None] - data[None]) ** 2).sum(-1)

        def avg(logits, dim=1):
            return torch.softmax(logits, dim=dim) @ data

        mistakes = {
            "the data points must be scaled by sqrt(alpha_bar_t) before comparing: x_t is near sqrt(abar) x_0, "
            "not near x_0.": avg(-d2_plain / (2 * (1 - a))),
            "the Gaussian's variance is (1 - alpha_bar_t): divide the squared distance by 2 (1 - alpha_bar_t).":
            avg(-d2 / (1 - a)),
            "the squared distance needs the factor 1/2 and the variance (1 - alpha_bar_t): "
            "-|x_t - sqrt(abar) x_i|^2 / (2 (1 - abar)).": avg(-d2),
            "normalise the weights over the data points (softmax over dim=1, one row per noisy point).":
            torch.softmax(-d2 / (2 * (1 - a)), dim=0) @ data,
            "that is the nearest data point; the best guess in squared error is the weighted average of all of "
            "them.": data[d2.argmin(dim=1)],
            "the weights favour far points: the softmax takes minus the squared distance.": avg(d2 / (2 * (1 - a))),
            "the weights must sum to 1 over the data points: exp(...) alone does not; torch.softmax(..., dim=1) "
            "normalises them (and avoids exp underflowing to 0).": torch.exp(-d2 / (2 * (1 - a))) @ data,
            "you averaged the scaled points sqrt(alpha_bar_t) x_i: the guess is of x_0 itself, so average the data "
            "points, weights @ data.": avg(-d2 / (2 * (1 - a))) * a.sqrt(),
        }
        _compare(ex, got, expected, mistakes, "weights = softmax(-|x_t - sqrt(abar) x_i|^2 / (2 (1 - abar))) over "
                 "the data points; return weights @ data.", atol=1e-4, dtype=torch.float32)
    _passed(ex, "matches eq. 2.3 at t = 30, 300 and 700.")
