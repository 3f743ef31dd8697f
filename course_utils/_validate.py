"""Input checks shared by the public functions: one clear sentence instead of a deep torch traceback.

Not essential on first read: plumbing that turns bad input into a readable ValueError/TypeError.
"""

from __future__ import annotations

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
    try:
        import numpy as np

        if isinstance(x, np.ndarray):
            if not np.issubdtype(x.dtype, np.floating):
                raise TypeError(f"{name} must hold floating-point numbers, got a numpy array of dtype {x.dtype}.")
            return torch.from_numpy(x)
    except ImportError:  # pragma: no cover - numpy ships with torch installs here
        pass
    raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}.")


def check_image_batch(x: torch.Tensor, name: str, *, check_range: bool = True) -> None:
    """Images are (N, C, H, W) with values in [-1, 1]; say so clearly when they are not."""
    if x.ndim != 4:
        raise ValueError(
            f"{name} must be a batch of images shaped (N, C, H, W), got {x.ndim} dimension(s) "
            f"with shape {tuple(x.shape)}. For one image use {name}[None]."
        )
    if check_range and x.numel() > 0:
        lo, hi = float(x.min()), float(x.max())
        if lo < -1.0 - 1e-4 or hi > 1.0 + 1e-4:
            hint = " It looks like [0, 255]: use x / 127.5 - 1." if hi > 2 else ""
            hint = hint or (" It looks like [0, 1]: use 2 * x - 1." if lo >= 0 else "")
            raise ValueError(f"{name} must have values in [-1, 1], got values in [{lo:.3g}, {hi:.3g}].{hint}")


def check_timesteps(timesteps, num_train_timesteps: int, batch: int | None, name: str = "timesteps") -> torch.Tensor:
    """Timesteps are integers in 0 .. T-1: a scalar or one per example, shape (N,)."""
    if isinstance(timesteps, bool):
        raise TypeError(f"{name} must be integers in 0..{num_train_timesteps - 1}, got a bool.")
    if isinstance(timesteps, int):
        timesteps = torch.tensor([timesteps])
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
