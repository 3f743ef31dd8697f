"""The comparison core shared by every lesson's checks (plumbing: not essential on first read).

``ExerciseFailed`` is one readable line; ``_call`` runs the learner's function and turns its exceptions
into such lines; ``_compare`` passes a result that matches the reference and otherwise names the
common mistake whose output it matches. The stand-in models record what the learner's code asks them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


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

