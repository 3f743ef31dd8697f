"""Save and load trained denoisers safely (safetensors: plain tensors and a JSON header, no pickled code).

    save_checkpoint(model, "runs/digits_unet.safetensors")
    model = load_checkpoint("digits")                      # the checkpoint that ships with the course
    model = load_checkpoint("digits_blur")                 # trained with blur-to-static (Lesson 4)
    model = load_checkpoint("runs/digits_unet.safetensors", expected_arch="UNet")

A checkpoint stores the weights and the model's ``config`` (architecture and sizes), so loading rebuilds
the right model, and the process the model was trained to reverse (``process_record``), so that sampling it
with another process is a clear error instead of a silent bad picture. A missing, truncated or mismatched
file gets a ``CheckpointError`` that says what to do.
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
    "digits_blur": WEIGHTS / "digits_blur.safetensors",  # trained with blur-to-static (Lesson 4)
}
ALIASES = {"digits-blur": "digits_blur"}  # the spelling of the command line
FORMAT = "course-utils-checkpoint-1"
REPRODUCE = "python scripts/train_checkpoints.py"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used, with the reason and the fix in one message."""


# ---------------------------------------------------------------- which process a model reverses

def process_record(process) -> dict:
    """The forward process a model is trained to reverse, as a small dict (stored in the checkpoint's header).

    NoiseScheduler (DDPM or DDIM: the same forward process):
        {"kind": "noise", "num_train_timesteps": 1000, "beta_schedule": "cosine"}
    BlurToStatic (Lesson 4): the same, with "kind": "blur_to_static", "max_blur_sigma" and "d_min".
    The linear schedule adds its "beta_start" and "beta_end".
    """
    from .forward import BlurToStatic
    from .scheduler import NoiseScheduler

    if isinstance(process, BlurToStatic):
        record = process_record(process.scheduler)
        record.update(kind="blur_to_static", max_blur_sigma=float(process.max_blur_sigma), d_min=float(process.d_min))
        return record
    if isinstance(process, NoiseScheduler):
        record = {"kind": "noise", "num_train_timesteps": int(process.num_train_timesteps),
                  "beta_schedule": "cosine" if process.beta_schedule == "squaredcos_cap_v2" else process.beta_schedule}
        if process.beta_schedule == "linear":
            record.update(beta_start=float(process.beta_start), beta_end=float(process.beta_end))
        return record
    raise TypeError(f"cannot describe the process of a {type(process).__name__}: expected a NoiseScheduler, a "
                    "DDIMScheduler or a BlurToStatic.")


def process_differences(trained: dict, used: dict) -> list[str]:
    """How the process a model was trained with differs from the one in use, one phrase per field; [] if alike."""
    if trained.get("kind") != used.get("kind"):
        return [f"it was trained on the {trained.get('kind')!r} process, given {used.get('kind')!r}"]
    return [f"{k}: trained with {trained.get(k)!r}, given {used.get(k)!r}"
            for k in sorted(set(trained) | set(used)) if k != "kind" and trained.get(k) != used.get(k)]


def check_process_matches(model: nn.Module, process, what: str = "sampling") -> None:
    """A clear ValueError when ``process`` is not the one ``model`` was trained with (``model.process``, if known)."""
    trained = getattr(model, "process", None)
    if not isinstance(trained, dict):
        return  # a model that does not say what it was trained with: nothing to compare
    diffs = process_differences(trained, process_record(process))
    if diffs:
        hint = ("use cu.BlurToStatic(cu.NoiseScheduler(...), max_blur_sigma=..., d_min=...) with its settings"
                if trained.get("kind") == "blur_to_static"
                else "use a NoiseScheduler or DDIMScheduler with its schedule")
        raise ValueError(f"{what} with the wrong process: {'; '.join(diffs)}. A model only undoes the process it "
                         f"was trained on: {hint} (model.process = {trained}).")


def process_from_record(record: dict, scheduler_class: type | None = None, **kwargs):
    """Build the process a record describes; ``scheduler_class`` (e.g. DDIMScheduler) supplies the noise schedule."""
    from .forward import BlurToStatic
    from .scheduler import NoiseScheduler

    kind = record.get("kind") if isinstance(record, dict) else None
    if kind not in ("noise", "blur_to_static"):
        raise CheckpointError(f"unknown process record {record!r}: expected kind 'noise' or 'blur_to_static'.")
    schedule = {k: record[k] for k in ("num_train_timesteps", "beta_schedule", "beta_start", "beta_end") if k in record}
    if kind == "noise":
        return (scheduler_class or NoiseScheduler)(**schedule, **kwargs)
    return BlurToStatic(NoiseScheduler(**schedule), max_blur_sigma=record["max_blur_sigma"], d_min=record["d_min"],
                        **kwargs)


def save_checkpoint(model: nn.Module, path: str | Path, metadata: dict | None = None) -> Path:
    """Write the model's weights and config to ``path`` (a .safetensors file); returns the path."""
    from safetensors.torch import save_file

    config = getattr(model, "config", None)
    if not isinstance(config, dict) or "arch" not in config:
        raise TypeError("save_checkpoint needs a course model with a .config dict (UNet or PointDenoiser).")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    metadata = dict(metadata or {})
    if isinstance(getattr(model, "process", None), dict):  # set by train(): the process it was trained on
        metadata.setdefault("process", model.process)
    header = {"format": FORMAT, "config": json.dumps(config), "metadata": json.dumps(metadata)}
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
    if isinstance(path_or_name, str):
        path_or_name = ALIASES.get(path_or_name, path_or_name)
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


def stored_process(info: dict) -> dict | None:
    """The process record of a checkpoint (``read_metadata``'s result): its "process", or for checkpoints saved
    before Lesson 4 a noise-only process with its recorded "schedule"; None when it recorded neither."""
    meta = info.get("metadata", {})
    if isinstance(meta.get("process"), dict):
        return meta["process"]
    schedule = meta.get("schedule")
    if isinstance(schedule, dict) and {"num_train_timesteps", "beta_schedule"} <= set(schedule):
        beta = schedule["beta_schedule"]
        return {"kind": "noise", **schedule, "beta_schedule": "cosine" if beta == "squaredcos_cap_v2" else beta}
    return None


def load_checkpoint(path_or_name: str | Path, *, expected_arch: str | None = None, expected_process=None,
                    device: torch.device | str | None = None) -> nn.Module:
    """Rebuild a model from a checkpoint file or a shipped name ("digits", "digits_blur", "points"), in eval mode.

    The model's ``process`` attribute is the process record of its header (``process_record``), which ``sample``
    compares with the process it is given. ``expected_process``: a NoiseScheduler or BlurToStatic the checkpoint
    must have been trained with (a CheckpointError otherwise).
    """
    from safetensors.torch import load_file

    path = _resolve(path_or_name)
    info = read_metadata(path)
    config = info["config"]
    if expected_arch is not None and config.get("arch") != expected_arch:
        raise CheckpointError(f"{path} holds a {config.get('arch')} but a {expected_arch} was expected: "
                              f"pick the checkpoint for this model.")
    process = stored_process(info)
    if expected_process is not None and process is not None:
        diffs = process_differences(process, process_record(expected_process))
        if diffs:
            raise CheckpointError(f"{path} was trained for another process: {'; '.join(diffs)}. Pick the checkpoint "
                                  f"of this process (the shipped ones: 'digits' is noise-only, 'digits_blur' is "
                                  f"blur-to-static), or build the process it records: {process}.")
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
    model.process = process
    if device is not None:
        model.to(device)
    return model.eval()
