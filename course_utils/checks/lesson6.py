"""Checks of Lesson 6 (notebooks/06_straight_paths.ipynb): one ``check_*`` function per exercise.

The references are the package's ``flow.flow_matching_loss``, ``flow.euler_step`` and ``flow.heun_step``;
the named mistakes are the ones a first flow-matching sampler makes: the velocity's sign, x_0 and eps
swapped, t drawn as integers, dt's sign (time runs from 1 down to 0), Heun's second slope taken at the
wrong point, and a correction on the last step, at t = 0.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..flow import euler_step, flow_matching_loss, heun_step
from .core import _call, _compare_steps, _fail, _passed, _Recorder, _same_twice, _want_dtype, exercise

_N = 64


@exercise("Exercise 6.1 (flow_loss)")
def check_flow_loss(fn: Callable, ex: str) -> None:
    """Exercise 6.1: the flow-matching loss (Lesson 6, eq. 6.1-6.3), on pictures and on points."""
    pictures = torch.rand(_N, 1, 8, 8, generator=torch.Generator().manual_seed(61)) * 2 - 1
    points = torch.randn(_N, 2, generator=torch.Generator().manual_seed(63))  # the lesson trains on points first
    for x0 in (pictures, points):
        _flow_loss_case(ex, fn, x0)
    _passed(ex, "t ~ U(0, 1) per example, x_t on the straight line, the target eps - x_0, the mean squared error; "
                "on pictures (N, 1, 8, 8) and points (N, 2).")


def _flow_loss_case(ex: str, fn: Callable, x0: torch.Tensor) -> None:
    model = _Recorder()
    got = _call(ex, fn, model, x0.clone(), torch.Generator().manual_seed(5))
    if not model.calls:
        if got is None:
            _fail(ex, "your function returned None: replace the stub's None with your code (and keep the `return`).")
        _fail(ex, "the model was never called: the loss compares model(x_t, t) with the velocity eps - x_0.")
    if len(model.calls) > 1:
        _fail(ex, f"the model was called {len(model.calls)} times: call it once, on the whole batch.")
    x_t, t = model.calls[0]
    if x_t.shape != x0.shape:
        _fail(ex, f"for x0 of shape {tuple(x0.shape)} the model got x_t of shape {tuple(x_t.shape)}: reshape t to "
                  f"(N, 1, ...) with one 1 per dimension of x0 after the first, so that it broadcasts against "
                  f"pictures (N, C, H, W) and points (N, 2) alike (not a fixed view(-1, 1, 1, 1)).")
    if not isinstance(t, torch.Tensor) or t.shape != (_N,):
        shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
        _fail(ex, f"the model got t of shape {shape}: draw one time per example, shape (N,).")
    g = torch.Generator().manual_seed(5)
    t_ref = torch.rand(_N, generator=g)
    eps = torch.randn(x0.shape, generator=g)
    if torch.is_floating_point(t) and torch.allclose(t.double(), t_ref.double() * 1000, rtol=1e-5):
        _fail(ex, "the model got t * 1000: the velocity model takes the flow time itself, t in [0, 1] (the same t "
                  "as in x_t), not Lesson 2's integer-style timesteps.")
    if not torch.is_floating_point(t) or bool((t * 1000 == (t * 1000).round()).all()) or float(t.max()) > 1:
        _fail(ex, "t drawn as integers: flow matching's time is continuous, a float in [0, 1] for every example, "
                  "torch.rand(N, generator=generator) (not torch.randint, not integer timesteps divided by T).")
    if bool((t == t[0]).all()):
        _fail(ex, "one time for the whole batch: every example needs its own t, torch.rand(N).")
    _want_dtype(ex, t, torch.float32, "the model got t of that dtype: draw it with torch.rand(N, "
                                      "generator=generator), float32 like the model, and hand it over as it is.")
    if not torch.equal(t, t_ref):
        _fail(ex, "the times differ from the expected draw: draw t first, with torch.rand(N, generator=generator), "
                  "then eps with torch.randn(x0.shape, generator=generator).")
    again = _Recorder()
    _call(ex, fn, again, x0.clone(), torch.Generator().manual_seed(5))
    if again.calls and again.calls[0][0].shape == x_t.shape and not torch.equal(again.calls[0][0], x_t):
        _fail(ex, "two calls with the same generator gave the model different x_t: your eps ignores the generator "
                  "(torch.randn_like takes none); draw it with torch.randn(x0.shape, generator=generator).")
    s = t.view(-1, *([1] * (x0.ndim - 1)))
    variants = {
        None: (1 - s) * x0 + s * eps,
        "x_0 and eps are swapped in x_t: the path starts at the picture (t = 0) and ends in pure static (t = 1), "
        "x_t = (1 - t) x_0 + t eps (eq. 6.1).": (1 - s) * eps + s * x0,
        "the straight path has no square roots: x_t = (1 - t) x_0 + t eps (eq. 6.1), not Lesson 1's "
        "sqrt(abar) x_0 + sqrt(1 - abar) eps.": (1 - s).sqrt() * x0 + s.sqrt() * eps,
        "the model was given the clean picture x0: give it x_t = (1 - t) x_0 + t eps (eq. 6.1).": x0,
        "the model was given the noise eps itself: give it x_t = (1 - t) x_0 + t eps (eq. 6.1).": eps,
    }
    for message, want in variants.items():
        if x_t.shape == want.shape and torch.allclose(x_t, want, atol=1e-5):
            if message is not None:
                _fail(ex, message)
            break
    else:
        _fail(ex, "the model's input x_t differs from eq. 6.1, x_t = (1 - t) x_0 + t eps, with the eps drawn right "
                  "after t.")
    pred = model(x_t, t).detach()
    model.calls.pop()
    loss = flow_matching_loss(model, x0, None, generator=torch.Generator().manual_seed(5)).detach()  # the package's
    model.calls.pop()
    if not isinstance(got, torch.Tensor):
        _fail(ex, f"expected the loss as a torch.Tensor (a single number), got {type(got).__name__}.")
    if got.numel() != 1:
        _fail(ex, f"the loss must be one number (the mean over the batch), got shape {tuple(got.shape)}.")
    _want_dtype(ex, got, torch.float32)
    v = eps - x0
    wrong = {
        "the velocity's sign: v = d x_t / dt = eps - x_0 (eq. 6.2), from the picture towards the static; you used "
        "x_0 - eps.": ((pred - (x0 - eps)) ** 2).mean(),
        "the target is the velocity eps - x_0 (eq. 6.2), not the noise eps (that was Lesson 2's target).":
        ((pred - eps) ** 2).mean(),
        "the target is the velocity eps - x_0 (eq. 6.2), not the clean picture x_0.": ((pred - x0) ** 2).mean(),
        "use the mean squared error, not the sum: the loss should not grow with the batch size.":
        ((pred - v) ** 2).sum(),
        "square the error: the flow-matching loss is the mean squared error (eq. 6.3).": (pred - v).abs().mean(),
    }
    value = float(got.detach())
    if abs(value - float(loss)) > 1e-5 * max(1.0, abs(float(loss))):
        for message, w in wrong.items():
            if abs(value - float(w)) <= 1e-5 * max(1.0, abs(float(w))):
                _fail(ex, message)
        _fail(ex, f"the loss is {value:.5g}, expected {float(loss):.5g}: the mean of (model(x_t, t) - (eps - x_0))^2.")
    if not got.requires_grad:
        _fail(ex, "the loss has no gradient: return the tensor itself, without .item() or .detach(), so training "
                  "can call loss.backward().")


def _cases() -> list[tuple[torch.Tensor, float, float]]:
    """Pictures (float32), then points (N, 2) and a float64 (1,) state, as the lesson's later cells use."""
    g = torch.Generator().manual_seed(62)
    pictures = [(torch.randn(4, 1, 8, 8, generator=g), t, t_next) for t, t_next in ((1.0, 0.75), (0.6, 0.35),
                                                                                     (0.25, 0.0))]
    return pictures + [(torch.randn(5, 2, generator=g), 0.5, 0.25),
                       (torch.randn(1, generator=g, dtype=torch.float64), 0.75, 0.5)]


@exercise("Exercise 6.2 (euler_step)")
def check_euler_step(fn: Callable, ex: str) -> None:
    """Exercise 6.2: one Euler step of dx/dt = v from t to t_next < t (Lesson 6, eq. 6.4)."""
    cases = []
    for i, (x, t, t_next) in enumerate(_cases()):
        v = torch.sin(3 * x) + 0.1 * (i + 1)  # a velocity field that is not proportional to x
        got = _call(ex, fn, x.clone(), v.clone(), t, t_next)
        if isinstance(got, torch.Tensor) and got.shape == x.shape:
            _want_dtype(ex, got, x.dtype)
        dt = t_next - t
        mistakes = {
            "dt's sign, the wrong direction of time: sampling runs from t = 1 (static) down to 0, so dt = t_next - t "
            "is negative; you stepped towards the static (x + (t - t_next) v).": x - dt * v,
            "multiply the velocity by the step dt = t_next - t, not by the time t itself.": x - t * v,
            "multiply the velocity by the step dt = t_next - t, not by t_next.": x + t_next * v,
            "you left out dt: x_{t_next} = x_t + (t_next - t) v (eq. 6.4).": x + v,
            "you returned the step (t_next - t) v alone: add it to x.": dt * v,
        }
        if t_next == 0:
            mistakes["that is the clean guess x_t - t v, which happens to equal the last step to t = 0; "
                     "check the other steps: x + (t_next - t) v (eq. 6.4)."] = x - t * v
        cases.append((got, euler_step(x, v, t, t_next).double(), mistakes))
    _compare_steps(ex, cases, "x_{t_next} = x + (t_next - t) v (eq. 6.4), with t_next < t.")
    _passed(ex, "x + (t_next - t) v, time running from static (t = 1) to the picture (t = 0).")


class _Velocity:
    """A velocity field v(x, t) = sin(2x) (1 + t) + t that records where it is asked: (x, t) per call."""

    def __init__(self) -> None:
        self.calls: list[tuple[torch.Tensor, float]] = []

    def __call__(self, x: torch.Tensor, t: float) -> torch.Tensor:
        t = float(t)
        self.calls.append((x.detach().clone(), t))
        return torch.sin(2 * x) * (1 + t) + t


@exercise("Exercise 6.3 (heun_step)")
def check_heun_step(fn: Callable, ex: str) -> None:
    """Exercise 6.3: one Heun step (Lesson 6, eq. 6.5), Euler's on the last step to t = 0."""
    cases = []
    g = torch.Generator().manual_seed(63)
    small = [(torch.randn(4, 1, 8, 8, generator=g), t, t_next) for t, t_next in ((0.06, 0.03), (0.02, 0.01))]
    heun_seen = False  # a step before this one, not onto t = 0, took Heun's two slopes
    for x, t, t_next in _cases() + small:  # small steps close to 0 last: only t_next == 0 is an Euler step
        velocity = _Velocity()
        got = _call(ex, fn, velocity, x.clone(), t, t_next)
        calls = list(velocity.calls)
        if isinstance(got, torch.Tensor) and got.shape == x.shape:
            _want_dtype(ex, got, x.dtype)
        if t_next != 0 and len(calls) > 2:
            _fail(ex, f"your step called velocity {len(calls)} times: Heun needs two slopes, at (x, t) and at Euler's "
                      "point (x_euler, t_next); keep the first one in a variable and use it twice (the lesson counts "
                      "2n - 1 velocity calls for n steps).")
        again = _call(ex, fn, _Velocity(), x.clone(), t, t_next)
        _same_twice(ex, got, again, "the velocity function")
        f = _Velocity()
        dt = t_next - t
        v = f(x, t)
        x_e = x + dt * v
        if t_next == 0:
            if len(calls) > 1 or any(c[1] == 0 for c in calls):
                _fail(ex, "the last step's correction at t = 0: the step that lands on t = 0 is a plain Euler step "
                          "(Karras et al. 2022), one velocity call at t, none at t = 0. Check `if t_next == 0`.")
        elif len(calls) == 1:
            if got is not None and isinstance(got, torch.Tensor) and got.shape == x.shape \
                    and torch.allclose(got.double(), x_e.double(), atol=1e-5):
                if heun_seen:
                    _fail(ex, f"the step from t = {t} to t_next = {t_next} is Euler's alone: only the step that "
                              "lands on t = 0 is an Euler step, every other one (however close to 0) takes Heun's "
                              "correction; check `if t_next == 0`, not a threshold.")
                _fail(ex, "that is Euler's step: Heun then takes the slope where Euler landed, at (x_euler, t_next), "
                          "and steps from x with the average of the two slopes (eq. 6.5).")
        if t_next != 0 and len(calls) == 2:
            heun_seen = True
        v_e = f(x_e, t_next)
        mistakes = {
            "the averaged slope at the wrong point: the second slope is taken where Euler's step landed, "
            "velocity(x_euler, t_next), not at the start x.": x + dt * (v + f(x, t_next)) / 2,
            "the averaged slope at the wrong time: the second slope belongs to time t_next, where Euler's step "
            "landed, velocity(x_euler, t_next), not to t.": x + dt * (v + f(x_e, t)) / 2,
            "Heun averages the two slopes: x + (t_next - t) (v + v_next) / 2, not the second slope alone.":
            x + dt * v_e,
            "the average of the two slopes needs its / 2: x + (t_next - t) (v + v_next) / 2.": x + dt * (v + v_e),
            "step from x, not from Euler's point: x + (t_next - t) (v + v_next) / 2.": x_e + dt * (v + v_e) / 2,
            "dt's sign: sampling runs from t down to t_next, so dt = t_next - t is negative.":
            x - dt * (v + f(x - dt * v, t_next)) / 2,
        }
        if t_next == 0:
            expected = x_e
            mistakes = {"the last step's correction at t = 0: the step that lands on t = 0 is a plain Euler step "
                        "(Karras et al. 2022), x + (t_next - t) v.": x + dt * (v + v_e) / 2}
        else:
            expected = x + dt * (v + v_e) / 2
        torch.testing.assert_close(expected, heun_step(_Velocity(), x, t, t_next))  # the package's, the same
        cases.append((got, expected.double(), mistakes))
    _compare_steps(ex, cases, "Euler to x_euler, v_next = velocity(x_euler, t_next), then x + (t_next - t) "
                              "(v + v_next) / 2; Euler's step alone when t_next == 0.")
    _passed(ex, "Euler's guess, the slope there, the average of the two; a plain Euler step onto t = 0.")

