"""Input checks shared by the public functions: one clear sentence instead of a deep torch traceback.

Not essential on first read: plumbing that turns bad input into a readable ValueError/TypeError.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch


def as_float_tensor(x, name: str) -> torch.Tensor:
    """Return ``x`` as a floating-point tensor, or raise a TypeError naming what was expected."""
    if isinstance(x, torch.Tensor):
        if not torch.is_floating_point(x):
            raise TypeError(
                f"{name} must be a floating-point tensor (float32 is usual), got dtype {x.dtype}. "
                f"Convert it with {name}.float()."
            )
        return x
    if isinstance(x, np.ndarray):
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"{name} must hold floating-point numbers, got a numpy array of dtype {x.dtype}.")
        return torch.from_numpy(x)
    raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}.")


def check_finite(x: torch.Tensor, name: str) -> None:
    """Raise a ValueError saying how many NaN and inf values ``x`` holds, if any (a NaN passes every range check)."""
    if not torch.is_floating_point(x) or x.numel() == 0:
        return
    finite = torch.isfinite(x)
    if bool(finite.all()):
        return
    n_nan = int(torch.isnan(x).sum())
    n_inf = int((~finite).sum()) - n_nan
    raise ValueError(
        f"{name} holds {n_nan} NaN and {n_inf} inf value(s) out of {x.numel()}: every value must be a finite "
        f"number. Find where they come from (torch.isnan({name}).nonzero() lists the NaNs); a diverged "
        "training run or a division by zero are the usual causes."
    )


def check_image_batch(x: torch.Tensor, name: str, *, check_range: bool = True) -> None:
    """Images are (N, C, H, W) with finite values in [-1, 1]; say so clearly when they are not."""
    if x.ndim != 4:
        raise ValueError(
            f"{name} must be a batch of images shaped (N, C, H, W), got {x.ndim} dimension(s) "
            f"with shape {tuple(x.shape)}. For one image use {name}[None]."
        )
    if check_range and x.numel() > 0:
        check_finite(x, name)  # NaN compares False with everything: the range check alone lets it through
        lo, hi = float(x.min()), float(x.max())
        if lo < -1.0 - 1e-4 or hi > 1.0 + 1e-4:
            hint = " It looks like [0, 255]: use x / 127.5 - 1." if hi > 16 + 1e-4 else ""
            hint = hint or (" If these are scikit-learn's digits (0..16), use x / 8 - 1 (cu.load_digits() "
                            "is already in [-1, 1])." if hi > 2 and lo >= 0 else "")
            hint = hint or (" It looks like [0, 1]: use 2 * x - 1." if lo >= 0 else "")
            raise ValueError(f"{name} must have values in [-1, 1], got values in [{lo:.3g}, {hi:.3g}].{hint}")


def is_int(x) -> bool:
    """True for Python and numpy integers (``numbers.Integral``), False for bools (which are ints in Python)."""
    return isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_))


def check_positive_int(value, name: str, *, minimum: int = 1, error=ValueError) -> int:
    """``value`` as a Python int if it is an integer (numpy ints too, bools not) >= ``minimum``; else ``error``."""
    if not is_int(value) or int(value) < minimum:
        what = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise error(f"{name} must be {what}, got {value!r}.")
    return int(value)


def check_real(value, name: str, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False, what: str = "") -> float:
    """``value`` as a float if it is a finite real number in the given interval; else a ValueError saying which."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
        interval = f" in {lo}, {hi}" if low is not None and high is not None else (
            f" {'>' if low_open else '>='} {low:g}" if low is not None else f" {'<' if high_open else '<='} {high:g}")
        raise ValueError(f"{name} must be a finite number{interval}{what}, got {value!r}.")
    return float(value)


def check_timestep_scalar(timestep, num_train_timesteps: int, name: str = "timestep") -> int:
    """One timestep for a whole batch, as an int in 0 .. T-1.

    Accepts Python and numpy integers, one-element integer tensors (a loop over ``scheduler.timesteps`` gives
    0-d ones), and floats only when they are whole numbers (500.0); 500.7 is refused, never truncated.
    """
    T = num_train_timesteps
    if isinstance(timestep, (bool, np.bool_)) or (isinstance(timestep, torch.Tensor)
                                                  and timestep.dtype == torch.bool):
        raise TypeError(f"{name} must be an integer in 0..{T - 1}, got a bool.")
    if isinstance(timestep, (torch.Tensor, np.ndarray)):
        if (timestep.size if isinstance(timestep, np.ndarray) else timestep.numel()) != 1:
            raise ValueError(f"{name} must be one integer for the whole batch, got shape {tuple(timestep.shape)}.")
        timestep = timestep.item()
    if is_int(timestep):
        value = int(timestep)
    elif isinstance(timestep, numbers.Real) and math.isfinite(timestep) and float(timestep).is_integer():
        value = int(timestep)  # 500.0: a whole number written as a float
    elif isinstance(timestep, numbers.Real):
        raise TypeError(f"{name} must be a whole number (timesteps index the schedule: 0, 1, ..., {T - 1}), "
                        f"got {timestep!r}. Round it yourself if you mean to: int(round(t)).")
    else:
        raise TypeError(f"{name} must be an int in 0..{T - 1}, got {type(timestep).__name__}.")
    if not 0 <= value < T:
        raise ValueError(f"{name} must lie in 0..{T - 1} (timesteps count from 0 to T-1 with T={T}), got {value}.")
    return value


def check_timesteps(timesteps, num_train_timesteps: int, batch: int | None, name: str = "timesteps") -> torch.Tensor:
    """Timesteps are integers in 0 .. T-1: a scalar or one per example, shape (N,)."""
    if isinstance(timesteps, (bool, np.bool_)):
        raise TypeError(f"{name} must be integers in 0..{num_train_timesteps - 1}, got a bool.")
    if is_int(timesteps):
        timesteps = torch.tensor([int(timesteps)])
    elif not isinstance(timesteps, torch.Tensor):
        try:
            timesteps = torch.as_tensor(timesteps)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(f"{name} must be an int or a tensor of ints, got {type(timesteps).__name__}.") from err
    if torch.is_floating_point(timesteps) or timesteps.dtype == torch.bool:
        raise TypeError(
            f"{name} must be an integer tensor (torch.long), got dtype {timesteps.dtype}. "
            f"Timesteps index the schedule: 0, 1, ..., {num_train_timesteps - 1}."
        )
    if timesteps.ndim == 0:
        timesteps = timesteps.reshape(1)
    if timesteps.ndim != 1:
        raise ValueError(
            f"{name} must be a scalar or a 1-D tensor (one per example), got shape {tuple(timesteps.shape)}."
        )
    if batch is not None and timesteps.shape[0] not in (1, batch):
        raise ValueError(
            f"{name} must hold one timestep per example: expected shape ({batch},) or a single value, "
            f"got shape {tuple(timesteps.shape)}."
        )
    if timesteps.numel() and (int(timesteps.min()) < 0 or int(timesteps.max()) >= num_train_timesteps):
        raise ValueError(
            f"{name} must lie in 0..{num_train_timesteps - 1} (timesteps count from 0 to T-1 with "
            f"T={num_train_timesteps}), got values from {int(timesteps.min())} to {int(timesteps.max())}."
        )
    return timesteps.long()


def check_device(device, name: str = "device") -> torch.device | None:
    """``device`` as a torch.device this machine can use (None stays None); one sentence instead of torch's
    AssertionError ("Torch not compiled with CUDA enabled") for a CUDA or MPS device that is not there."""
    if device is None:
        return None
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"{name} must be 'cpu', 'cuda' or 'mps' (or a torch.device), got {device!r}.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"{name}={str(device)!r}: no CUDA GPU here (torch.cuda.is_available() is False); use "
                           "'cpu', or cu.get_device() for the best device there is.")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise RuntimeError(f"{name}={str(device)!r}: this machine has {torch.cuda.device_count()} CUDA GPU(s), "
                           f"numbered from 0; use 'cuda' or 'cpu'.")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) is not None
                                  and torch.backends.mps.is_available()):
        raise RuntimeError(f"{name}={str(device)!r}: Apple's MPS is not usable here; use 'cpu', or cu.get_device() "
                           "for the best device there is.")
    return dev
