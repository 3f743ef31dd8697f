"""Save and load trained denoisers safely (safetensors: plain tensors and a JSON header, no pickled code).

    save_checkpoint(model, "runs/digits_unet.safetensors")
    model = load_checkpoint("digits")                      # the checkpoint that ships with the course
    model = load_checkpoint("digits_blur")                 # trained with blur-to-static (Lesson 4)
    model = load_checkpoint("runs/digits_unet.safetensors", expected_arch="UNet")

A checkpoint stores the weights and, in its header (``FORMAT``, all values JSON strings):
    config        the model's architecture and sizes, so loading rebuilds the right model
    process       what the model was trained to reverse (course_utils/process.py), e.g.
                  {"kind": "noise", "num_train_timesteps": 1000, "beta_schedule": "cosine"}; null if unknown
    sample_shape  the shape of one training example, e.g. [1, 8, 8]
    metadata      free notes (training settings, held-out loss)
    fingerprint   "sha256:<hex>" over the four fields above and every tensor's name, dtype, shape and bytes
The loaded model carries the record as ``model.trained_on = {"process": ..., "sample_shape": ...}``, which
``sampling.sample`` compares with the scheduler it is given.

Nothing in a file is trusted: the file must be a regular file with a header of sane size, every config
field is checked (type, range), the tensor shapes in the header are compared with the ones the config implies
before anything is allocated, the fingerprint must match (a header edited after saving is refused), and every
weight must be finite. A problem gets a ``CheckpointError`` that says what to do. Files of the first format
(``course-utils-checkpoint-1``, Lesson 2 before the record was added) still load, with every check that does
not need the record.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import stat
from pathlib import Path

import torch
from torch import nn

from ._validate import check_device
from .models import build_model
from .process import check_process, describe_process, process_differences

WEIGHTS = Path(__file__).resolve().parent / "weights"
SHIPPED = {
    "digits": WEIGHTS / "digits_unet.safetensors",
    "points": WEIGHTS / "points_mlp.safetensors",
    "digits_blur": WEIGHTS / "digits_blur.safetensors",  # trained with blur-to-static (Lesson 4)
}
SHIPPED["digits_cond"] = WEIGHTS / "digits_cond.safetensors"  # class-conditional, for guidance (Lesson 5)
SHIPPED["digits_flow"] = WEIGHTS / "digits_flow.safetensors"  # flow matching, predicts a velocity (Lesson 6)
SHIPPED["crayons"] = WEIGHTS / "crayons.safetensors"  # text-conditional crayon drawings (Lesson 7)
SHIPPED["crayons_blur"] = WEIGHTS / "crayons_blur.safetensors"  # crayons, trained with blur-to-static (Lesson 8)
ALIASES = {"digits-blur": "digits_blur"}  # the command line's spelling
ALIASES["digits-cond"] = "digits_cond"
ALIASES["digits-flow"] = "digits_flow"
ALIASES["crayons-blur"] = "crayons_blur"
FORMAT = "course-utils-checkpoint-2"
OLD_FORMATS = ("course-utils-checkpoint-1",)  # config and metadata only: no record, no fingerprint
FINGERPRINTED = ("format", "config", "process", "sample_shape", "metadata")
REPRODUCE = "python scripts/train_checkpoints.py"
MAX_HEADER_BYTES = 1_000_000  # the course's headers are a few kB; safetensors itself allows 100 MB


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used, with the reason and the fix in one message."""


# ----------------------------------------------------------------------------- what a valid config is


def _int(low: int, high: int, multiple: int = 1):
    def ok(v) -> bool:
        return (isinstance(v, numbers.Integral) and not isinstance(v, bool) and low <= v <= high
                and v % multiple == 0)
    what = f"an int from {low} to {high}" + (f", a multiple of {multiple}" if multiple > 1 else "")
    return ok, what


_T = _int(1, 100_000)
_DROPOUT = (lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v < 1,
            "a number in [0, 1)")
CONFIG_FIELDS = {  # every field of each architecture's config, with its check (models.py builds from these)
    "UNet": {"channels": _int(8, 1024, 8), "emb_dim": _int(1, 4096), "image_size": _int(4, 1024, 4),
             "in_channels": _int(1, 64), "num_train_timesteps": _T, "dropout": _DROPOUT},
    "PointDenoiser": {"hidden": _int(1, 8192), "layers": _int(1, 64), "time_dim": _int(4, 4096, 2),
                      "num_train_timesteps": _T},
}
# fields only some models have (absent: the default, so the configs of the earlier checkpoints stay as shipped)
OPTIONAL_CONFIG_FIELDS = {  # Lesson 6: a velocity-predicting (flow-matching) model
    "prediction_type": (lambda v: v in ("epsilon", "velocity", "sample"), "'epsilon', 'velocity' or 'sample'"),
}


# Lesson 5: a class-conditional model's config has both of these (an unconditional one neither, as before)
CONDITIONAL_FIELDS = ("num_classes", "null_label")
MAX_CLASSES = 100_000


def _check_conditional(config: dict, where: str) -> dict:
    """The conditional fields of ``config`` checked (num_classes a positive int, null_label = num_classes, the last
    row of the label embedding); returns the config without them for the checks of its architecture."""
    present = [k for k in CONDITIONAL_FIELDS if k in config]
    if not present:
        return config
    if len(present) != len(CONDITIONAL_FIELDS):
        lacking = [k for k in CONDITIONAL_FIELDS if k not in config]
        raise CheckpointError(f"{where} has {present[0]!r} without {lacking}: a class-conditional config records "
                              "both num_classes and null_label.")
    k, null = config["num_classes"], config["null_label"]
    if not (isinstance(k, numbers.Integral) and not isinstance(k, bool) and 1 <= k <= MAX_CLASSES):
        raise CheckpointError(f"{where}: num_classes must be an int from 1 to {MAX_CLASSES}, got {k!r}.")
    if not (isinstance(null, numbers.Integral) and not isinstance(null, bool) and null == k):
        raise CheckpointError(f"{where}: null_label must equal num_classes ({k}, the last row of the label "
                              f"embedding), got {null!r}.")
    return {key: v for key, v in config.items() if key not in CONDITIONAL_FIELDS}


# Lesson 7: a text-conditional U-Net's config has all three of these (the others none)
TEXT_FIELDS = ("vocab_size", "prompt_length", "null_prompt")


def _check_text(config: dict, where: str) -> dict:
    """The text fields of ``config`` checked (text.check_text_config); returns the config without them."""
    from .text import check_text_config

    present = [k for k in TEXT_FIELDS if k in config]
    if len(present) != len(TEXT_FIELDS):
        lacking = [k for k in TEXT_FIELDS if k not in config]
        raise CheckpointError(f"{where} has {present[0]!r} without {lacking}: a text-conditional config records "
                              "vocab_size, prompt_length and null_prompt.")
    if config.get("arch") != "UNet" or any(k in config for k in CONDITIONAL_FIELDS):
        raise CheckpointError(f"{where}: prompts (vocab_size) go with a UNet without class labels.")
    try:
        check_text_config(config["vocab_size"], config["prompt_length"], config["null_prompt"])
    except ValueError as err:
        raise CheckpointError(f"{where}: {err}") from None
    return {key: v for key, v in config.items() if key not in TEXT_FIELDS}


def check_config(config, where: str = "the config") -> dict:
    """``config`` if it is a valid model config (known arch, every field with a sane value), else CheckpointError."""
    if not isinstance(config, dict):
        raise CheckpointError(f"{where} must be a JSON object with an 'arch', got {type(config).__name__}.")
    if any(k in config for k in TEXT_FIELDS):  # Lesson 7: check those, then the rest as before
        check_config(_check_text(config, where), where)
        return config
    if any(k in config for k in CONDITIONAL_FIELDS):  # Lesson 5: check those, then the rest as before
        check_config(_check_conditional(config, where), where)
        return config
    arch = config.get("arch")
    if arch not in CONFIG_FIELDS:
        raise CheckpointError(f"{where} names an unknown architecture {arch!r}: expected one of "
                              f"{sorted(CONFIG_FIELDS)}.")
    fields = CONFIG_FIELDS[arch]
    missing = sorted(set(fields) - set(config))
    unknown = sorted(set(config) - set(fields) - set(OPTIONAL_CONFIG_FIELDS) - {"arch"})
    if missing or unknown:
        raise CheckpointError(f"{where} ({arch}) lacks {missing} and has unknown fields {unknown}: it was not "
                              f"written by save_checkpoint, or was edited.")
    for name, (ok, what) in fields.items():
        if not ok(config[name]):
            raise CheckpointError(f"{where} ({arch}): {name} must be {what}, got {config[name]!r}.")
    for name, (ok, what) in OPTIONAL_CONFIG_FIELDS.items():
        if name in config and not ok(config[name]):
            raise CheckpointError(f"{where} ({arch}): {name} must be {what}, got {config[name]!r}.")
    return config


def config_sample_shape(config: dict) -> list[int]:
    """The shape of one example a model of this config works on: [C, H, W] for the U-Net, [2] for points."""
    if config["arch"] == "UNet":
        return [config["in_channels"], config["image_size"], config["image_size"]]
    return [2]


def config_tensor_shapes(config: dict) -> dict[str, tuple[int, ...]]:
    """The name and shape of every tensor a model of this config holds, without allocating any (a meta model)."""
    try:
        with torch.device("meta"):
            model = build_model(config)
    except (ValueError, TypeError) as err:
        raise CheckpointError(f"the config {config} does not describe a model the course can build: {err}") from None
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


# ----------------------------------------------------------------------------- saving


def _fingerprint(fields: dict[str, str], tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the header fields (as stored) and each tensor's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    h.update(json.dumps({k: fields.get(k) for k in FINGERPRINTED}, sort_keys=True).encode())
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        h.update(json.dumps([name, str(t.dtype), list(t.shape)]).encode())
        h.update(t.numpy().tobytes())
    return "sha256:" + h.hexdigest()


def training_record(model: nn.Module) -> dict:
    """What ``model`` was trained on: {"process": record or None, "sample_shape": [...]}, from ``model.trained_on``
    (set by ``train`` and ``load_checkpoint``) or, for the shape, from its config."""
    record = getattr(model, "trained_on", None) or {}
    return {"process": record.get("process"), "sample_shape": record.get("sample_shape")}


def save_checkpoint(model: nn.Module, path: str | Path, metadata: dict | None = None, *,
                    scheduler=None) -> Path:
    """Write the model's weights, config and training record to ``path`` (a .safetensors file); returns the path.

    The process comes from ``model.trained_on`` (set by ``train``); pass the training ``scheduler`` for a
    model trained some other way. Refuses non-finite weights (a diverged run would sample blank pictures), and a
    ``scheduler`` that contradicts what the model knows of its training: the process in ``model.trained_on``, or
    for a model without that record its ``prediction_type`` (a velocity model is a flow-matching one, a noise
    model is not). Without a record, a noise model's ``scheduler`` is taken at its word (noise or blur-to-static:
    nothing in the weights tells them apart), since it is the only statement of the process there is.
    """
    from safetensors.torch import save_file

    config = getattr(model, "config", None)
    if not isinstance(config, dict) or "arch" not in config:
        raise TypeError("save_checkpoint needs a course model with a .config dict (UNet or PointDenoiser).")
    check_config(config, "the model's config")
    record = training_record(model)
    process = describe_process(scheduler) if scheduler is not None else record["process"]
    if scheduler is not None:
        _check_scheduler_agrees(model, config, record["process"], process)
    if process is not None:
        check_process(process)
        if process["num_train_timesteps"] != config["num_train_timesteps"]:
            raise ValueError(f"the model has num_train_timesteps={config['num_train_timesteps']} but its process "
                             f"has {process['num_train_timesteps']}: save it with the scheduler it was trained with.")
    shape = config_sample_shape(config)
    if record["sample_shape"] is not None and list(record["sample_shape"]) != shape:
        raise ValueError(f"the model was trained on examples shaped {list(record['sample_shape'])} but its config "
                         f"implies {shape}.")
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    for name, t in tensors.items():
        if torch.is_floating_point(t) and not bool(torch.isfinite(t).all()):
            raise ValueError(f"the weight {name} holds NaN or inf values: the training run diverged; this model "
                             "would only draw blank pictures. Train again (a smaller lr) before saving.")
    fields = {"format": FORMAT, "config": json.dumps(config), "process": json.dumps(process),
              "sample_shape": json.dumps(shape), "metadata": json.dumps(metadata or {})}
    fields["fingerprint"] = _fingerprint(fields, tensors)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=fields)
    return path


def _check_scheduler_agrees(model: nn.Module, config: dict, trained: dict | None, given: dict) -> None:
    """The ``scheduler`` passed to save_checkpoint against the model's own record: a contradiction would write a
    checkpoint that the command line then samples with the wrong process (a blur model drawn as a noise model)."""
    if trained is not None:
        diffs = process_differences(trained, given)
        if diffs:
            raise ValueError(f"the scheduler contradicts what this model was trained on ({'; '.join(diffs)}): the "
                             f"model records {trained}. Leave scheduler= out to save that record, or retrain the model "
                             "with this scheduler.")
        return
    velocity = config.get("prediction_type", "epsilon") == "velocity"
    if velocity != (given["kind"] == "flow_matching"):
        what = "a velocity (flow matching, Lesson 6)" if velocity else "the noise eps (Lessons 2-5, 7)"
        raise ValueError(f"this model predicts {what}, but the scheduler describes the {given['kind']!r} process: pass "
                         "the scheduler it was trained with (" + ("a FlowMatchScheduler" if velocity else
                                                                  "a NoiseScheduler or BlurToStatic") + ").")


# ----------------------------------------------------------------------------- reading, checking, loading


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


def _read_file(path: Path, header_only: bool) -> tuple[dict, bytes | None, int, int]:
    """The header (parsed JSON) and, unless ``header_only``, the whole file's bytes; checks it is a regular file
    with a sane header size first (a FIFO or a device would block or never end)."""
    if not path.is_file():
        raise CheckpointError(f"{path} is not a regular file (a folder, a pipe or a device): give the path of a "
                              ".safetensors file.")
    damaged = (f"save it again, or reproduce the shipped ones with `{REPRODUCE}`.")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # never block, even if swapped for a FIFO
    except OSError as err:
        raise CheckpointError(f"cannot open {path}: {err.strerror}.") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(f"{path} is not a regular file: give the path of a .safetensors file.")
        size = info.st_size
        head = f.read(8)
        n = int.from_bytes(head, "little") if len(head) == 8 else -1
        if n < 2 or n > MAX_HEADER_BYTES or 8 + n > size:
            raise CheckpointError(f"{path} is not a readable checkpoint (a header of {n} bytes in a file of {size} "
                                  f"bytes; a course header is a few kB). It may be truncated or not a safetensors "
                                  f"file: {damaged}")
        raw = f.read(n)
        data = None if header_only else head + raw + f.read(size - 8 - n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} is not a readable checkpoint (its header is not JSON: {err}): "
                              f"{damaged}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} is not a readable checkpoint (its header is not a JSON object): {damaged}")
    return header, data, size, n


def _json_field(path: Path, meta: dict, key: str, *, required: bool = True):
    if key not in meta:
        if required:
            raise CheckpointError(f"{path} has no {key!r} in its header: it was not written by save_checkpoint, or "
                                  "was edited. Save it again.")
        return None
    try:
        return json.loads(meta[key])
    except (TypeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: the header's {key!r} is not valid JSON ({err}): the header was damaged or "
                              "edited. Save it again.") from None


def _check_tensor_entries(path: Path, header: dict, config: dict, size: int, header_bytes: int) -> None:
    """The tensors listed in the header against the config's shapes, before any is read or allocated."""
    expected = config_tensor_shapes(config)
    entries = {k: v for k, v in header.items() if k != "__metadata__"}
    missing, unexpected = sorted(set(expected) - set(entries)), sorted(set(entries) - set(expected))
    wrong, total = [], 0
    for k in sorted(set(expected) & set(entries)):
        e = entries[k]
        shape = e.get("shape") if isinstance(e, dict) else None
        offsets = e.get("data_offsets") if isinstance(e, dict) else None
        ok = (isinstance(e, dict) and e.get("dtype") == "F32" and isinstance(shape, list)
              and tuple(shape) == expected[k] and isinstance(offsets, list) and len(offsets) == 2
              and all(isinstance(o, int) for o in offsets) and offsets[1] - offsets[0] == 4 * math.prod(expected[k]))
        if not ok:
            wrong.append(f"{k} {shape if isinstance(shape, list) else '?'} (expected float32 {list(expected[k])})")
        total += 4 * math.prod(expected[k])
    if missing or unexpected or wrong:
        raise CheckpointError(
            f"{path} does not match its architecture {config['arch']}: missing {missing[:3]}, unexpected "
            f"{unexpected[:3]}, wrong shape {wrong[:3]}. Was it saved from a different model version, or its config "
            "edited?"
        )
    if 8 + header_bytes + total != size:
        raise CheckpointError(f"{path} is damaged: it has {size} bytes but its header implies "
                              f"{8 + header_bytes + total} (truncated or padded). Save it again, or reproduce the "
                              f"shipped ones with `{REPRODUCE}`.")


def _read_header(path: Path, header_only: bool = True) -> tuple[dict, bytes | None]:
    """Every check that needs only the header; returns the checked fields and (unless header_only) the file's bytes."""
    header, data, size, header_bytes = _read_file(path, header_only)
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        meta = {}
    fmt = meta.get("format")
    if fmt != FORMAT and fmt not in OLD_FORMATS:
        raise CheckpointError(f"{path} is a safetensors file but not a course checkpoint (no '{FORMAT}' header).")
    config = check_config(_json_field(path, meta, "config"), f"{path}'s config")
    metadata = _json_field(path, meta, "metadata", required=fmt == FORMAT)
    metadata = {} if metadata is None else metadata
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{path}: the header's metadata must be a JSON object, got {type(metadata).__name__}.")
    shape = config_sample_shape(config)
    info = {"format": fmt, "config": config, "metadata": metadata, "process": None, "sample_shape": None,
            "fields": meta}
    if fmt == FORMAT:
        info["process"] = _json_field(path, meta, "process")
        info["sample_shape"] = _json_field(path, meta, "sample_shape")
        if not isinstance(meta.get("fingerprint"), str):
            raise CheckpointError(f"{path} has no fingerprint in its header: the header was changed after saving. "
                                  "Save the model again.")
        if info["sample_shape"] != shape:
            raise CheckpointError(f"{path}'s config implies examples shaped {shape} but the model was trained on "
                                  f"{info['sample_shape']}: the header was changed after saving.")
    elif isinstance(metadata.get("schedule"), dict):  # the first format kept the schedule in the free metadata
        info["process"] = {"kind": "noise", **metadata["schedule"]}
    if info["process"] is not None:
        try:
            check_process(info["process"])
        except ValueError as err:
            raise CheckpointError(f"{path}: {err}") from None
        if info["process"]["num_train_timesteps"] != config["num_train_timesteps"]:
            raise CheckpointError(f"{path}: the config says num_train_timesteps={config['num_train_timesteps']} but "
                                  f"the process it was trained with has {info['process']['num_train_timesteps']}.")
    _check_tensor_entries(path, header, config, size, header_bytes)
    return info, data


def read_metadata(path: str | Path) -> dict:
    """The checkpoint's checked header, without loading the weights: config, metadata, process, sample_shape, format."""
    info, _ = _read_header(_resolve(path))
    return {k: info[k] for k in ("config", "metadata", "process", "sample_shape", "format")}


def load_checkpoint(path_or_name: str | Path, *, expected_arch: str | None = None, expected_process=None,
                    device: torch.device | str | None = None) -> nn.Module:
    """Rebuild a model from a checkpoint file or a shipped name ("digits", "digits_blur", "points"), in eval mode.

    The model carries ``model.trained_on = {"process": ..., "sample_shape": ...}`` (process None for a file of
    the first format without a schedule). ``expected_process``: a scheduler (NoiseScheduler, DDIMScheduler,
    BlurToStatic) whose process the checkpoint must have been trained on, else a CheckpointError.
    """
    from safetensors.torch import load as load_bytes

    check_device(device)  # before reading: 'cuda' on a machine without a GPU is one sentence
    path = _resolve(path_or_name)
    info, data = _read_header(path, header_only=False)
    config = info["config"]
    if expected_arch is not None and config["arch"] != expected_arch:
        raise CheckpointError(f"{path} holds a {config['arch']} but a {expected_arch} was expected: "
                              f"pick the checkpoint for this model.")
    if expected_process is not None and info["process"] is not None:
        diffs = process_differences(info["process"], describe_process(expected_process))
        if diffs:
            raise CheckpointError(f"{path} was trained on another process ({'; '.join(diffs)}). Pick the checkpoint "
                                  "of this process (the shipped 'digits' is noise-only, 'digits_blur' blur-to-static), "
                                  f"or build the process it records: {info['process']}.")
    try:
        tensors = load_bytes(data)
    except Exception as err:  # safetensors reports damage with several exception types
        raise CheckpointError(f"{path} is damaged ({type(err).__name__}: {err}): save it again, or reproduce "
                              f"the shipped ones with `{REPRODUCE}`.") from None
    for name in sorted(tensors):
        if not bool(torch.isfinite(tensors[name]).all()):
            raise CheckpointError(f"{path}: the weight {name} holds NaN or inf values; this model would only draw "
                                  "blank pictures. Train it again (a diverged run), or reproduce the shipped ones "
                                  f"with `{REPRODUCE}`.")
    if info["format"] == FORMAT and _fingerprint(info["fields"], tensors) != info["fields"]["fingerprint"]:
        raise CheckpointError(f"{path}: the fingerprint does not match: the header (config, process, metadata) or "
                              "the weights were changed after saving. Save the model again from Python, or reproduce "
                              f"the shipped ones with `{REPRODUCE}`.")
    model = build_model(config)
    model.load_state_dict(tensors)
    model.trained_on = {"process": info["process"], "sample_shape": info["sample_shape"] or config_sample_shape(config)}
    if device is not None:
        model.to(check_device(device))
    return model.eval()
