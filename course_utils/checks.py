"""Exercise checks: each compares a learner's function with the package's reference on fixed inputs.

A failing check raises ``ExerciseFailed``: one readable line that says what is wrong and how to think
about it, and names the common mistake when the answer matches one (``_render_traceback_`` makes
IPython and nbval show that line instead of a traceback). A passing check prints one line.

The references are the package's own functions, so a check also ties the notebook's derivation to
the code that later lessons import.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .forward import blur, dct_matrix, forward_step, heat_frequencies
from .scheduler import NoiseScheduler


class ExerciseFailed(AssertionError):
    """A check that did not pass; shown as one line, not as a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[31mX {self.args[0]}\x1b[0m"]


def _fail(exercise: str, message: str) -> None:
    raise ExerciseFailed(f"{exercise}: {message}")


def _passed(exercise: str, what: str) -> None:
    print(f"OK {exercise} passed: {what}")


def _call(exercise: str, fn: Callable, *args, hints: dict[type, str] | None = None):
    """Call the learner's function; turn its exceptions, and changes to its inputs, into one-line failures."""
    if not callable(fn):
        _fail(exercise, f"expected a function, got {type(fn).__name__}. Pass the function itself, without ().")
    before = [a.clone() if isinstance(a, torch.Tensor) else None for a in args]
    try:
        out = fn(*args)
    except NotImplementedError:
        _fail(exercise, "not written yet: replace the stub with your code, then run the cell again.")
    except ExerciseFailed:
        raise
    except Exception as err:  # the learner's code raised: show the one line that matters
        first = str(err).splitlines()[0] if str(err) else ""
        hint = next((h for kind, h in (hints or {}).items() if isinstance(err, kind)), "")
        _fail(exercise, f"your function raised {type(err).__name__}: {first}" + (f" ({hint})" if hint else ""))
    for a, b in zip(args, before, strict=True):
        if b is not None and not torch.equal(a, b):
            _fail(exercise, "your function changed one of its inputs in place (an operation ending in _, like "
                            "mul_ or add_, or an assignment into it). Compute a new tensor instead.")
    return out


def _compare(
    exercise: str,
    got,
    expected: torch.Tensor,
    mistakes: dict[str, torch.Tensor],
    hint: str,
    *,
    atol: float = 1e-5,
) -> None:
    """Pass if ``got`` matches ``expected``; otherwise name the mistake whose output ``got`` matches."""
    if got is None:
        _fail(exercise, "your function returned None: replace the stub's None with your code (and keep the `return`).")
    if not isinstance(got, torch.Tensor):
        _fail(exercise, f"expected a torch.Tensor, got {type(got).__name__}.")
    if tuple(got.shape) != tuple(expected.shape):
        _fail(exercise, f"expected shape {tuple(expected.shape)}, got {tuple(got.shape)}. {hint}")
    got = got.detach().to(device="cpu", dtype=torch.float64)
    if not bool(torch.isfinite(got).all()):
        _fail(exercise, "the result contains NaN or inf. Look for a division by zero, a sqrt of a negative number, "
                        "or exp() of very negative numbers underflowing to 0 (torch.softmax avoids that).")
    expected = expected.to(torch.float64)
    if torch.allclose(got, expected, atol=atol, rtol=1e-4):
        return
    for message, wrong in mistakes.items():
        if torch.allclose(got, wrong.to(torch.float64), atol=atol, rtol=1e-4):
            _fail(exercise, message)
    if float(got.abs().max()) == 0.0:
        _fail(exercise, f"the result is all zeros: is the exercise still the stub? {hint}")
    err = float((got - expected).abs().max())
    _fail(exercise, f"values differ from the expected ones by up to {err:.3g}. {hint}")


# --------------------------------------------------------------------------------------------
# Lesson 0


def check_to_model_range(fn: Callable) -> None:
    """Exercise 0.1: pixels 0..255 to [-1, 1] (Lesson 0, eq. 0.1)."""
    ex = "Exercise 0.1 (to_model_range)"
    p = torch.tensor([[0.0, 51.0, 127.5], [200.0, 254.0, 255.0]])
    expected = p / 127.5 - 1
    got = _call(ex, fn, p.clone())
    mistakes = {
        "your values are in [0, 1]. The models want [-1, 1]: stretch to [0, 2], then shift down by 1.": p / 255,
        "your values are in [0, 2]: shift them down by 1.": p / 127.5,
        "black and white are swapped: pixel 0 (black) must map to -1 and 255 (white) to +1.": 1 - p / 127.5,
        "your values are in [-0.5, 0.5]: dividing by 255 and subtracting 0.5 halves the range.": p / 255 - 0.5,
    }
    _compare(ex, got, expected, mistakes, "Map 0 to -1, 255 to +1, and everything in between on a straight line.")
    _passed(ex, "0 -> -1, 127.5 -> 0 and 255 -> +1, as eq. 0.1 says.")


# --------------------------------------------------------------------------------------------
# Lesson 1


def check_forward_step(fn: Callable) -> None:
    """Exercise 1.2: one variance-preserving noising step (Lesson 1, eq. 1.3)."""
    ex = "Exercise 1.2 (forward_step)"
    g = torch.Generator().manual_seed(11)
    x_prev = torch.rand(3, 1, 8, 8, generator=g) * 2 - 1
    eps = torch.randn(3, 1, 8, 8, generator=g)
    for beta in (0.02, 0.3):
        got = _call(ex, fn, x_prev.clone(), beta, eps.clone(),
                    hints={TypeError: "beta_t is a Python float: use math.sqrt, not torch.sqrt"})
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
        }
        _compare(ex, got, expected, mistakes, "Check eq. 1.3: x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps.")
    _passed(ex, "matches eq. 1.3 for beta_t = 0.02 and 0.3.")


def check_alphas_cumprod(fn: Callable) -> None:
    """Exercise 1.3: alpha_bar_t = prod_{s<=t} (1 - beta_s) (Lesson 1, eq. 1.4)."""
    ex = "Exercise 1.3 (alphas_cumprod_from_betas)"
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
        }
        _compare(ex, got, sched.alphas_cumprod, mistakes,
                 "alpha_bar_t = (1 - beta_0)(1 - beta_1)...(1 - beta_t), one value per timestep, shape (T,).")
    _passed(ex, "agrees with NoiseScheduler.alphas_cumprod for linear and cosine schedules.")


def check_q_sample(fn: Callable) -> None:
    """Exercise 1.4: the closed-form jump x_0 -> x_t (Lesson 1, eq. 1.5), one timestep per example."""
    ex = "Exercise 1.4 (q_sample)"
    sched = NoiseScheduler(1000, beta_schedule="cosine")  # not the notebook's schedule: use the argument
    abar = sched.alphas_cumprod
    g = torch.Generator().manual_seed(13)
    x0 = torch.rand(8, 1, 8, 8, generator=g) * 2 - 1  # 8 examples of 8x8: a wrong broadcast is silent here
    eps = torch.randn(8, 1, 8, 8, generator=g)
    t = torch.tensor([0, 1, 10, 100, 250, 500, 750, 999])
    got = _call(ex, fn, x0.clone(), t.clone(), eps.clone(), abar.clone(), hints={
        IndexError: "code timesteps run 0..T-1: index alphas_cumprod with t itself, no +1 or -1"})
    expected = sched.add_noise(x0, eps, t)
    a = abar[t].view(-1, 1, 1, 1)
    a_prev = abar[(t - 1).clamp(min=0)].view(-1, 1, 1, 1)
    a_prev_wrapped = abar[t - 1].view(-1, 1, 1, 1)  # t = 0 wraps around to the last entry
    a_next = abar[(t + 1).clamp(max=999)].view(-1, 1, 1, 1)
    a0 = abar[t[0]]
    mistakes = {
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
             "alphas_cumprod[t] shaped (N, 1, 1, 1).")
    _passed(ex, "matches NoiseScheduler.add_noise (eq. 1.5) for 8 examples with 8 different timesteps.")


def check_heat_blur(fn: Callable) -> None:
    """Exercise 1.1: Gaussian blur as heat spreading in the DCT basis (Lesson 1, eq. 1.1-1.2)."""
    ex = "Exercise 1.1 (heat_blur)"
    g = torch.Generator().manual_seed(14)
    x = torch.rand(2, 1, 16, 12, generator=g) * 2 - 1  # not square: H and W must not be mixed up
    for sigma in (0.7, 2.0):
        got = _call(ex, fn, x.clone(), sigma)
        expected = blur(x, sigma)
        ch, cw = dct_matrix(16), dct_matrix(12)
        coeffs = ch @ x @ cw.T
        lam = heat_frequencies(16, 12)
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
        }
        _compare(ex, got, expected, mistakes,
                 "Transform with C_H @ x @ C_W.T, multiply by exp(-lambda * sigma^2 / 2) (eq. 1.2), transform back.",
                 atol=1e-4)
    _passed(ex, "matches course_utils.blur for sigma = 0.7 and 2 on a 16 x 12 image.")


# --------------------------------------------------------------------------------------------
# Lesson 2


def check_predict_x0(fn: Callable) -> None:
    """Exercise 2.1: the clean picture implied by a noise guess (Lesson 2, eq. 2.2)."""
    ex = "Exercise 2.1 (predict_x0)"
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
    }
    _compare(ex, got, expected, mistakes, "Solve eq. 1.5 for x_0: x_0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t).",
             atol=1e-4)
    _passed(ex, "matches eq. 2.2 for 8 examples with 8 different timesteps.")


class _Recorder(torch.nn.Module):
    """A stand-in model for checking a loss function: remembers its inputs, returns a fixed function of them."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.scale = torch.nn.Parameter(torch.tensor(0.5))  # so that a correct loss carries a gradient

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        self.calls.append((x_t.detach().clone(), t.detach().clone() if isinstance(t, torch.Tensor) else t))
        t_ = t.float() if isinstance(t, torch.Tensor) else torch.tensor(float(t))
        return self.scale * x_t + 1e-3 * t_.reshape(-1, *([1] * (x_t.ndim - 1)))


def check_diffusion_loss(fn: Callable) -> None:
    """Exercise 2.2: the simplified DDPM training loss (Lesson 2, eq. 2.1)."""
    ex = "Exercise 2.2 (diffusion_loss)"
    sched = NoiseScheduler(1000, beta_schedule="cosine")
    abar = sched.alphas_cumprod
    T = sched.num_train_timesteps
    x0 = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(22)) * 2 - 1
    model = _Recorder()
    got = _call(ex, fn, model, x0.clone(), abar.clone(), torch.Generator().manual_seed(5))
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
    if not torch.equal(t, t_ref):
        _fail(ex, "the timesteps differ from the expected draw: draw t first, with "
                  "torch.randint(0, T, (N,), generator=generator), then eps with torch.randn(x0.shape, "
                  "generator=generator).")
    a = abar[t].view(-1, 1, 1, 1)
    variants = {
        None: a.sqrt() * x0 + (1 - a).sqrt() * eps,
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
    from .training import diffusion_loss  # the package's loss, the same draws: ties the exercise to it

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


def check_timestep_embedding(fn: Callable) -> None:
    """Exercise 2.4: the sinusoidal timestep embedding (Lesson 2, eq. 2.4)."""
    from .models import timestep_embedding

    ex = "Exercise 2.4 (timestep_embedding)"
    t = torch.tensor([0, 1, 7, 100, 999])
    for dim in (32, 8):  # 32 first: at dim 8 some different mistakes give the same numbers
        got = _call(ex, fn, t.clone(), dim)
        expected = timestep_embedding(t, dim)
        half = dim // 2
        tf = t.float()[:, None]
        w = torch.exp(-math.log(10000.0) * torch.arange(half) / (half - 1))[None]
        w_half = torch.exp(-math.log(10000.0) * torch.arange(half) / half)[None]
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
        }
        w_up = 1 / w  # the frequencies the wrong way round: sin(t * 10000) is float32 noise, so compare at t = 1
        up_row = torch.cat([torch.sin(w_up), torch.cos(w_up)], 1)[0]
        if isinstance(got, torch.Tensor) and got.shape == expected.shape and torch.allclose(
                got[1].detach().double(), up_row.double(), atol=0.05) and not torch.allclose(got, expected, atol=1e-4):
            _fail(ex, "the frequencies go up instead of down: w_i = 10000^(-i / (dim/2 - 1)) runs from 1 down to "
                      "1/10000.")
        _compare(ex, got, expected, mistakes, "emb = [sin(t w_0), ..., sin(t w_{d/2-1}), cos(t w_0), ...], "
                 "w_i = 10000^(-i / (d/2 - 1)); shape (N, dim).", atol=1e-4)
    _passed(ex, "matches eq. 2.4 for dim = 32 and 8.")


def check_ideal_denoiser(fn: Callable) -> None:
    """Exercise 2.3: the ideal denoiser of a finite data set (Lesson 2, eq. 2.3)."""
    from .ideal import ideal_denoiser

    ex = "Exercise 2.3 (ideal_denoiser)"
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
        }
        _compare(ex, got, expected, mistakes, "weights = softmax(-|x_t - sqrt(abar) x_i|^2 / (2 (1 - abar))) over "
                 "the data points; return weights @ data.", atol=1e-4)
    _passed(ex, "matches eq. 2.3 at t = 30, 300 and 700.")


# --------------------------------------------------------------------------------------------
# Lesson 3


def check_ddpm_step(fn: Callable) -> None:
    """Exercise 3.1: one DDPM reverse step (Lesson 3, eq. 3.1-3.3; Ho et al. 2020, Algorithm 2)."""
    ex = "Exercise 3.1 (ddpm_step)"
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


class _StepRecorder(torch.nn.Module):
    """A stand-in denoiser for checking a sampling loop: remembers the timesteps it is asked about."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(0.3))
        self.seen: list = []

    def forward(self, x, t):
        self.seen.append(t.detach().clone() if isinstance(t, torch.Tensor) else t)
        t_ = torch.as_tensor(t, dtype=torch.float32).reshape(-1, *([1] * (x.ndim - 1)))
        return self.w * x + 1e-3 * t_


def check_sample_loop(fn: Callable) -> None:
    """Exercise 3.2: the sampling loop (Lesson 3, eq. 3.4)."""
    from .sampling import sample

    ex = "Exercise 3.2 (sample_loop)"
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


def check_ddim_step(fn: Callable) -> None:
    """Exercise 3.3: one DDIM step (Lesson 3, eq. 3.5; Song et al. 2021, eq. 12)."""
    from .ddim import DDIMScheduler

    ex = "Exercise 3.3 (ddim_step)"
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
