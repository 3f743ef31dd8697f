"""Save and load trained denoisers safely (safetensors: plain tensors and a JSON header, no pickled code).

    save_checkpoint(model, "runs/digits_unet.safetensors")
    model = load_checkpoint("digits")                      # the checkpoint that ships with the course
    model = load_checkpoint("runs/digits_unet.safetensors", expected_arch="UNet")

A checkpoint stores the weights and the model's ``config`` (architecture and sizes), so loading rebuilds
the right model. A missing, truncated or mismatched file gets a ``CheckpointError`` that says what to do.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from .models import build_model

WEIGHTS = Path(__file__).resolve().parent / "weights"
SHIPPED = {
    "digits": WEIGHTS / "digits_unet.safetensors",
    "points": WEIGHTS / "points_mlp.safetensors",
}
FORMAT = "course-utils-checkpoint-1"
REPRODUCE = "python scripts/train_checkpoints.py"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used, with the reason and the fix in one message."""


def save_checkpoint(model: nn.Module, path: str | Path, metadata: dict | None = None) -> Path:
    """Write the model's weights and config to ``path`` (a .safetensors file); returns the path."""
    from safetensors.torch import save_file

    config = getattr(model, "config", None)
    if not isinstance(config, dict) or "arch" not in config:
        raise TypeError("save_checkpoint needs a course model with a .config dict (UNet or PointDenoiser).")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    header = {"format": FORMAT, "config": json.dumps(config), "metadata": json.dumps(metadata or {})}
    save_file(tensors, str(path), metadata=header)
    return path


def read_metadata(path: str | Path) -> dict:
    """The checkpoint's config and metadata, without loading the weights."""
    path = _resolve(path)
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
    except Exception as err:  # safetensors reports damage with several exception types
        raise CheckpointError(
            f"{path} is not a readable checkpoint ({type(err).__name__}: {err}). It may be truncated or not a "
            f"safetensors file: save it again, or reproduce the shipped ones with `{REPRODUCE}`."
        ) from None
    if header.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a safetensors file but not a course checkpoint (no '{FORMAT}' header).")
    return {"config": json.loads(header["config"]), "metadata": json.loads(header.get("metadata", "{}"))}


def _resolve(path_or_name: str | Path) -> Path:
    if isinstance(path_or_name, str) and path_or_name in SHIPPED:
        path = SHIPPED[path_or_name]
        if not path.exists():
            raise CheckpointError(f"the shipped checkpoint {path_or_name!r} is missing at {path}: reinstall the "
                                  f"course (pip install -e .) or reproduce it with `{REPRODUCE}`.")
        return path
    path = Path(path_or_name)
    if not path.exists():
        names = ", ".join(repr(n) for n in SHIPPED)
        raise CheckpointError(f"no checkpoint at {path}. Train one in Lesson 2 (it saves there), or load a "
                              f"shipped one by name: {names}.")
    return path


def load_checkpoint(path_or_name: str | Path, *, expected_arch: str | None = None,
                    device: torch.device | str | None = None) -> nn.Module:
    """Rebuild a model from a checkpoint file or a shipped name ("digits", "points"); returns it in eval mode."""
    from safetensors.torch import load_file

    path = _resolve(path_or_name)
    info = read_metadata(path)
    config = info["config"]
    if expected_arch is not None and config.get("arch") != expected_arch:
        raise CheckpointError(f"{path} holds a {config.get('arch')} but a {expected_arch} was expected: "
                              f"pick the checkpoint for this model.")
    model = build_model(config)
    try:
        tensors = load_file(str(path))
    except Exception as err:
        raise CheckpointError(f"{path} is damaged ({type(err).__name__}: {err}): save it again, or reproduce "
                              f"the shipped ones with `{REPRODUCE}`.") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = sorted(k for k in set(expected) & set(tensors) if expected[k].shape != tensors[k].shape)
    if missing or unexpected or wrong:
        raise CheckpointError(
            f"{path} does not match its architecture {config.get('arch')}: missing {missing[:3]}, unexpected "
            f"{unexpected[:3]}, wrong shape {wrong[:3]}. Was it saved from a different model version?"
        )
    model.load_state_dict(tensors)
    if device is not None:
        model.to(device)
    return model.eval()
