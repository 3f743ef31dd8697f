"""Device and seed helpers: same seed, same numbers; a GPU when present, never required."""

from __future__ import annotations

import platform
import random

import numpy as np
import torch


def get_device(prefer: str | None = None) -> torch.device:
    """The device to compute on: "cuda" if a GPU is usable, else Apple's "mps", else "cpu".

    Called when you ask for it, never at import time. ``prefer="cpu"`` forces the CPU; ``prefer="cuda"`` or
    ``"mps"`` insists on that device and raises a RuntimeError when this machine cannot use it.
    """
    if prefer is not None:
        if prefer not in ("cpu", "cuda", "mps"):
            raise ValueError(f"prefer must be 'cpu', 'cuda' or 'mps', got {prefer!r}.")
        if prefer == "cuda" and not torch.cuda.is_available():
            built = "this torch was built without CUDA" if torch.version.cuda is None else "no CUDA GPU is usable"
            raise RuntimeError(f"get_device('cuda'): {built} on this machine (torch.cuda.is_available() is False). "
                               "Use get_device() to take the best device there is, or get_device('cpu').")
        if prefer == "mps" and not _mps_available():
            raise RuntimeError("get_device('mps'): Apple's MPS is not usable on this machine "
                               "(torch.backends.mps.is_available() is False). Use get_device() to take the best "
                               "device there is, or get_device('cpu').")
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch; return a CPU ``torch.Generator`` seeded the same way for ``generator=``."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be a non-negative int below 2**32 (numpy's limit), got {seed!r}.")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def environment_report() -> dict[str, str]:
    """Versions and device, for the welcome notebook's environment check and for bug reports."""
    import ipywidgets
    import matplotlib
    import sklearn

    dev = get_device()
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "matplotlib": matplotlib.__version__,
        "ipywidgets": ipywidgets.__version__,
        "scikit-learn": sklearn.__version__,
        "device": str(dev) + (f" ({torch.cuda.get_device_name(0)})" if dev.type == "cuda" else ""),
        "cpu threads": str(torch.get_num_threads()),
    }
