"""The core shared by every lesson's checks (plumbing: not essential on first read).

``exercise`` turns a lesson's check into the function a check cell calls: in strict mode a failing
check raises ``ExerciseFailed`` (one readable line); in soft mode it prints that line in red and
returns, so that "Run All" goes on to the end of the lesson. A check that passes remembers the very
function object it passed, so that ``use_yours`` can let later cells use the learner's function.

Strict mode: the environment variable ``COURSE_CHECKS=strict``, or running under pytest or nbval (a
kernel started by pytest inherits ``PYTEST_CURRENT_TEST``, so ``course.py check`` and the tests see
every failure). ``COURSE_CHECKS=soft`` forces soft mode.

``_call`` runs the learner's function and turns its exceptions into one-line failures; ``_compare``
passes a result that matches the reference and otherwise names the common mistake whose output it
matches. The stand-in models record what the learner's code asks them.

The contract every check tests, one rule for every lesson (so that a passing check means the later
cells that use the learner's function work):

- A tensor where the exercise says tensor (not a list, a number or a numpy array), and exactly a torch.Tensor:
  a subclass could redefine torch.allclose or torch.equal (``__torch_function__``) and pass any comparison, so
  ``_call`` refuses one (``_refuse_subclass``) and the stand-in models read their inputs as plain tensors.
- Float tensors out have the dtype of the float tensors in: float32 in the lessons' exercises (the
  models are float32), float64 where the exercise hands float64 in (Lesson 4's DCT). ``_compare(...,
  dtype=torch.float32)`` and ``_want_dtype`` say so in one sentence; a float64 result would otherwise
  slip through a float64 comparison and fail later (a scheduler draws its noise in the dtype of eps).
- Ids and labels are ``torch.long`` (they index embedding tables).
- Every shape the lesson's later cells use: pictures (N, C, H, W), non-square ones where H and W could be
  swapped, and points (N, 2); and the number of model calls where the lesson counts them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import torch

_PASSED: dict[str, Callable] = {}  # exercise label -> the function object that passed its latest check
_LABELS: dict[str, str] = {}  # the learner's function name -> exercise label, e.g. "Exercise 1.2 (forward_step)"


class ExerciseFailed(AssertionError):
    """A check that did not pass; shown as one line, not as a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[31mX {self.args[0]}\x1b[0m"]


def strict_mode() -> bool:
    """Whether a failing check raises (strict) or prints and returns (soft); see the module docstring."""
    mode = os.environ.get("COURSE_CHECKS", "").strip().lower()
    if mode in ("strict", "soft"):
        return mode == "strict"
    return "PYTEST_CURRENT_TEST" in os.environ


def exercise(label: str) -> Callable:
    """Decorator: ``@exercise("Exercise 1.2 (forward_step)")`` on ``def check_forward_step(fn, ex)``.

    The decorated check is called as ``check_forward_step(your_function)``; the body gets the label as
    ``ex``. It returns None; a failure raises in strict mode and is printed in soft mode.
    """
    function_name = label[label.index("(") + 1 : label.rindex(")")]

    def wrap(body: Callable) -> Callable:
        def check(fn: Callable) -> None:
            _PASSED.pop(label, None)  # a re-check starts afresh: only a pass below puts fn back
            try:
                body(fn, label)
            except ExerciseFailed as err:
                if strict_mode():
                    raise
                print(f"\x1b[31mX {err.args[0]}\x1b[0m", file=sys.stderr, flush=True)
                return None
            _PASSED[label] = fn
            return None

        for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(check, attr, getattr(body, attr))
        check.exercise = label
        _LABELS[function_name] = label
        return check

    return wrap


def use_yours(your_fn: Callable, fallback: Callable) -> Callable:
    """``your_fn`` if that very function object passed its check in this kernel, else ``fallback``.

    Prints one line saying which version the cell uses. ``fallback`` must take the same arguments as
    ``your_fn`` (wrap a package function in a small adapter if needed).
    """
    if not callable(fallback):
        raise TypeError(f"use_yours(your_fn, fallback): fallback must be a function with the same arguments as "
                        f"your_fn, got {type(fallback).__name__}.")
    name = getattr(your_fn, "__name__", type(your_fn).__name__)
    done = next((label for label, fn in _PASSED.items() if fn is your_fn), None)
    if done is not None:
        print(f"{done} passed: this cell uses your {name}.")
        return your_fn
    label = _LABELS.get(name, f"The exercise for {name}")
    print(f"{label} is not done yet: this cell uses the course's version.")
    return fallback


def _fail(exercise: str, message: str) -> None:
    raise ExerciseFailed(f"{exercise}: " + " ".join(message.split("\n")))


def _passed(exercise: str, what: str) -> None:
    print(f"OK {exercise} passed: {what}")


def _call(exercise: str, fn: Callable, *args, hints: dict[type, str] | None = None,
          named: dict[tuple[type, str], str] | None = None):
    """Call the learner's function; turn its exceptions, and changes to its inputs, into one-line failures.

    ``hints``: exception type -> a hint added to the error's first line. ``named``: (exception type, a
    fragment of its message) -> the whole message, for errors that give a common mistake away (a torch
    shape error from a missing reshape, say), so the learner reads the mistake, not torch's words.
    """
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
        for (kind, fragment), message in (named or {}).items():
            if isinstance(err, kind) and fragment in str(err):
                _fail(exercise, message)
        hint = next((h for kind, h in (hints or {}).items() if isinstance(err, kind)), "")
        _fail(exercise, f"your function raised {type(err).__name__}: {first}" + (f" ({hint})" if hint else ""))
    for a, b in zip(args, before, strict=True):
        if b is not None and not torch.equal(a, b):
            _fail(exercise, "your function changed one of its inputs in place (an operation ending in _, like "
                            "mul_ or add_, or an assignment into it). Compute a new tensor instead.")
    _refuse_subclass(exercise, out)
    return out


def _refuse_subclass(exercise: str, out) -> None:
    """Fail if ``out`` is, or holds (in a tuple, list or dict), a subclass of torch.Tensor.

    A subclass can redefine torch.allclose or torch.equal (``__torch_function__``) and so pass any comparison:
    every tensor a learner's function returns must be exactly a torch.Tensor before a check compares it.
    """
    items = out.values() if isinstance(out, dict) else out if isinstance(out, tuple | list) else (out,)
    for item in items:
        if isinstance(item, torch.Tensor) and type(item) is not torch.Tensor:
            _fail(exercise, f"expected a plain torch.Tensor, got a subclass {type(item).__name__}: return an ordinary "
                            "tensor (a subclass can change what torch functions do with it).")
        if isinstance(item, tuple | list | dict) and item is not out:
            _refuse_subclass(exercise, item)


def _plain(x):
    """A tensor a learner's code handed to a stand-in model, as a plain torch.Tensor (anything else as it is)."""
    return x.as_subclass(torch.Tensor) if isinstance(x, torch.Tensor) and type(x) is not torch.Tensor else x


def _want_tensor(exercise: str, got, what: str = "your function") -> torch.Tensor:
    """Fail unless ``got`` is a torch.Tensor (None: the stub; a list or numpy array: the wrong type)."""
    if got is None:
        _fail(exercise, f"{what} returned None: replace the stub's None with your code (and keep the `return`).")
    if not isinstance(got, torch.Tensor):
        _fail(exercise, f"{what} returned {type(got).__name__!r}, expected a torch.Tensor: later cells call tensor "
                        "methods on it (torch.tensor(...) turns a list into one).")
    _refuse_subclass(exercise, got)
    return got


def _want_dtype(exercise: str, got, dtype: torch.dtype, why: str = "") -> None:
    """Fail if the tensor ``got`` is not of ``dtype`` (see the module docstring: one dtype rule everywhere)."""
    if isinstance(got, torch.Tensor) and got.dtype != dtype:
        name = "torch.long (int64)" if dtype == torch.long else str(dtype).replace("torch.", "")
        head = f"expected a tensor of dtype {name}, got {str(got.dtype).replace('torch.', '')}"
        if why:
            _fail(exercise, f"{head}: {why}")
        if dtype.is_floating_point:
            _fail(exercise, f"{head}: keep the inputs' dtype, {name} here (no .double(), .float() or constants of "
                            f"another dtype), since later cells combine your result with other {name} tensors.")
        _fail(exercise, f"{head}.")


def _same_twice(exercise: str, first, second, what: str) -> None:
    """Fail if two calls with the same inputs gave different tensors: the function drew its own randomness."""
    _refuse_subclass(exercise, (first, second))
    if isinstance(first, torch.Tensor) and isinstance(second, torch.Tensor) and first.shape == second.shape \
            and not torch.equal(first, second):
        _fail(exercise, f"two calls with the same inputs gave different results: your function draws its own random "
                        f"numbers. Use {what} given as an argument, so that the result is reproducible.")


def _compare(
    exercise: str,
    got,
    expected: torch.Tensor,
    mistakes: dict[str, torch.Tensor],
    hint: str,
    *,
    atol: float = 1e-5,
    dtype: torch.dtype | None = None,
    part: str | None = None,
) -> None:
    """Pass if ``got`` matches ``expected``; otherwise name the mistake whose output ``got`` matches.

    ``dtype``: the dtype the result must have (the inputs'), checked after the shape. ``part``: the name of the
    part of a larger result that ``got`` is (the variance of ``mean, var``, say); then an all-zero ``got`` is named
    as that part, not taken for the stub (the caller tells the stub, all of the result zero, apart).
    """
    if got is None:
        _fail(exercise, "your function returned None: replace the stub's None with your code (and keep the `return`).")
    if not isinstance(got, torch.Tensor):
        _fail(exercise, f"expected a torch.Tensor, got {type(got).__name__}.")
    _refuse_subclass(exercise, got)
    if tuple(got.shape) != tuple(expected.shape):
        _fail(exercise, f"expected shape {tuple(expected.shape)}, got {tuple(got.shape)}. {hint}")
    if dtype is not None:
        _want_dtype(exercise, got, dtype)
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
        if part is not None:
            _fail(exercise, f"your {part} is all zeros, while the rest of your result is not: {hint}")
        _fail(exercise, f"the result is all zeros: is the exercise still the stub? {hint}")
    err = float((got - expected).abs().max())
    _fail(exercise, f"values differ from the expected ones by up to {err:.3g}. {hint}")



class _Recorder(torch.nn.Module):
    """A stand-in model for checking a loss function: remembers its inputs, returns a fixed function of them."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.scale = torch.nn.Parameter(torch.tensor(0.5))  # so that a correct loss carries a gradient

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        x_t, t = _plain(x_t), _plain(t)
        self.calls.append((x_t.detach().clone(), t.detach().clone() if isinstance(t, torch.Tensor) else t))
        t_ = t.float() if isinstance(t, torch.Tensor) else torch.tensor(float(t))
        return self.scale * x_t + 1e-3 * t_.reshape(-1, *([1] * (x_t.ndim - 1)))



class _StepRecorder(torch.nn.Module):
    """A stand-in denoiser for checking a sampling loop: remembers the timesteps and batch sizes it is asked about."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(0.3))
        self.seen: list = []
        self.batch: list[int] = []

    def forward(self, x, t):
        x, t = _plain(x), _plain(t)
        self.seen.append(t.detach().clone() if isinstance(t, torch.Tensor) else t)
        self.batch.append(int(x.shape[0]) if isinstance(x, torch.Tensor) and x.ndim else -1)
        t_ = torch.as_tensor(t, dtype=torch.float32).reshape(-1, *([1] * (x.ndim - 1)))
        return self.w * x + 1e-3 * t_



def _compare_steps(exercise: str, cases: list[tuple], hint: str, *, atol: float = 1e-5,
                   dtype: torch.dtype | None = None, part: str | None = None) -> None:
    """``_compare`` over several inputs (``cases``: (got, expected, mistakes) each), naming a mistake that fits all.

    Two mistakes can give the same numbers on one input (at a timestep where beta_t and beta_tilde nearly
    agree, say); the one named is the first that matches the answer on every input where it is listed.
    """
    def close(a, b) -> bool:
        return isinstance(a, torch.Tensor) and a.shape == b.shape and torch.allclose(
            a.detach().to("cpu", torch.float64), b.to(torch.float64), atol=atol, rtol=1e-4)

    for got, _, _ in cases:
        _refuse_subclass(exercise, got)
    if dtype is not None:
        for got, expected, _ in cases:  # the type and shape first, then the dtype, then the values
            if isinstance(got, torch.Tensor) and got.shape == expected.shape:
                _want_dtype(exercise, got, dtype)
    failing = [case for case in cases if not close(case[0], case[1])]
    if not failing:
        return
    got, expected, mistakes = failing[0]
    for message, wrong in mistakes.items():
        if close(got, wrong) and all(close(g, m[message]) for g, _, m in cases if message in m):
            _fail(exercise, message)
    _compare(exercise, got, expected, mistakes, hint, atol=atol, dtype=dtype, part=part)
