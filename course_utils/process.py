"""Which process a model was trained to reverse, written down as a small dict (stored in every checkpoint).

    describe_process(cu.NoiseScheduler(1000, beta_schedule="cosine"))
    # {"kind": "noise", "num_train_timesteps": 1000, "beta_schedule": "cosine"}

A denoiser only works with the process it was trained on: the same T, the same schedule (Lessons 2-3).
``describe_process`` turns a scheduler into that record, ``check_process`` validates a record read from a
file, and ``process_differences`` says how two records differ, in words. Each kind of process is one entry
of ``KINDS``: the scheduler class it describes, its fields with their checks, how to read them off a
scheduler and how to build one from them. A later lesson adds its own process (blur to static) as one more
entry: ``KINDS["blur_to_static"]`` below.

Not essential on first read: this is bookkeeping that turns a silent wrong picture into one clear sentence.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

from .flow import FlowMatchScheduler
from .forward import BlurToStatic
from .scheduler import SCHEDULE_NAMES, NoiseScheduler

MAX_TIMESTEPS = 100_000  # far above any course schedule; a bound for values read from files


def _int_field(low: int, high: int) -> Callable[[object], bool]:
    return lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool) and low <= v <= high


def _float_field(low: float, high: float, *, high_open: bool = False) -> Callable[[object], bool]:
    def ok(v) -> bool:
        if not isinstance(v, numbers.Real) or isinstance(v, bool) or not math.isfinite(v):
            return False
        return low <= v < high if high_open else low <= v <= high
    return ok


def _one_of(names) -> Callable[[object], bool]:
    return lambda v: isinstance(v, str) and v in names


@dataclass(frozen=True)
class Kind:
    """One kind of process: the scheduler class it describes, its fields and how to read them off a scheduler."""

    scheduler_class: type
    fields: dict[str, tuple[Callable[[object], bool], str]]  # name -> (check, what a valid value is)
    optional: tuple[str, ...]  # fields that only some settings have (the linear schedule's ends)
    describe: Callable[[object], dict]  # scheduler -> its fields
    build: Callable[[type, dict, dict], object]  # (class, fields, other settings) -> a scheduler of that process


def _describe_noise(s: NoiseScheduler) -> dict:
    out = {"num_train_timesteps": int(s.num_train_timesteps), "beta_schedule": s.beta_schedule}
    if s.beta_schedule == "linear":  # the cosine schedule has no ends to set
        out.update(beta_start=float(s.beta_start), beta_end=float(s.beta_end))
    return out


KINDS: dict[str, Kind] = {
    "noise": Kind(  # DDPM's forward process (Lesson 1): x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps
        NoiseScheduler,
        {"num_train_timesteps": (_int_field(1, MAX_TIMESTEPS), f"an int from 1 to {MAX_TIMESTEPS}"),
         "beta_schedule": (_one_of(SCHEDULE_NAMES), f"one of {', '.join(SCHEDULE_NAMES)}"),
         "beta_start": (_float_field(0, 1, high_open=True), "a number in [0, 1)"),
         "beta_end": (_float_field(0, 1, high_open=True), "a number in [0, 1)")},
        ("beta_start", "beta_end"),
        _describe_noise,
        lambda cls, fields, kwargs: cls(**fields, **kwargs),
    ),
}


def _build_blur(cls, fields: dict, kwargs: dict):
    schedule = {k: v for k, v in fields.items() if k not in ("max_blur_sigma", "d_min")}
    return cls(NoiseScheduler(**schedule), max_blur_sigma=fields["max_blur_sigma"], d_min=fields["d_min"], **kwargs)


# Blurring diffusion (Lesson 4; Hoogeboom & Salimans 2022): the noise schedule's fields and the blur's own
KINDS["blur_to_static"] = Kind(
    BlurToStatic,
    {**KINDS["noise"].fields,
     "max_blur_sigma": (_float_field(0, 1e3), "a blur width >= 0 in pixels"),
     "d_min": (_float_field(0, 1, high_open=True), "a number in [0, 1)")},
    ("beta_start", "beta_end"),
    lambda p: {**_describe_noise(p.scheduler), "max_blur_sigma": float(p.max_blur_sigma), "d_min": float(p.d_min)},
    _build_blur,
)


# Flow matching (Lesson 6; Lipman et al. 2023, Liu et al. 2023): x_t = (1 - t) x_0 + t eps, the network predicts
# the velocity eps - x_0. Its fields: the time scale (t * num_train_timesteps into the embedding) and diffusers'
# shift of the sampling grid; the solver (Euler or Heun) is a sampling choice, not part of the process.
KINDS["flow_matching"] = Kind(
    FlowMatchScheduler,
    {"num_train_timesteps": (_int_field(1, MAX_TIMESTEPS), f"an int from 1 to {MAX_TIMESTEPS}")},
    (),
    lambda s: {"num_train_timesteps": int(s.num_train_timesteps)},
    lambda cls, fields, kwargs: cls(**fields, **kwargs),
)


def describe_process(scheduler) -> dict:
    """The record of the process ``scheduler`` runs: {"kind": ..., its settings}; DDIM describes as DDPM does.

    The most specific kind whose scheduler class ``scheduler`` is an instance of wins (so a subclass with its
    own entry in ``KINDS`` is told apart from its parent).
    """
    matches = [(name, k) for name, k in KINDS.items() if isinstance(scheduler, k.scheduler_class)]
    if not matches:
        known = ", ".join(k.scheduler_class.__name__ for k in KINDS.values())
        raise TypeError(f"cannot describe the process of a {type(scheduler).__name__}: expected one of {known}.")
    mro = type(scheduler).__mro__
    name, kind = min(matches, key=lambda m: mro.index(m[1].scheduler_class))
    return {"kind": name, **kind.describe(scheduler)}


def check_process(record) -> dict:
    """``record`` if it is a valid process record (as read from a checkpoint), else a ValueError saying why."""
    if not isinstance(record, dict):
        raise ValueError(f"a process record must be a dict with a 'kind', got {type(record).__name__}.")
    kind = KINDS.get(record.get("kind"))
    if kind is None:
        raise ValueError(f"unknown process kind {record.get('kind')!r}: expected one of {sorted(KINDS)}.")
    unknown = sorted(set(record) - set(kind.fields) - {"kind"})
    missing = sorted(set(kind.fields) - set(kind.optional) - set(record))
    if unknown or missing:
        raise ValueError(f"the {record['kind']!r} process record has unknown fields {unknown} and lacks {missing}.")
    for name, (ok, what) in kind.fields.items():
        if name in record and not ok(record[name]):
            raise ValueError(f"the process field {name!r} must be {what}, got {record[name]!r}.")
    return record


def process_differences(trained: dict, used: dict) -> list[str]:
    """How the process a model was trained with differs from the one in use, one phrase per field; [] if alike."""
    if trained.get("kind") != used.get("kind"):
        return [f"kind: trained on {trained.get('kind')!r}, given {used.get('kind')!r}"]
    shared = [k for k in trained if k != "kind" and k in used]  # a field one side lacks follows from another one
    return [f"{k}: trained with {trained[k]!r}, given {used[k]!r}" for k in shared if trained[k] != used[k]]


def scheduler_from_process(record: dict, scheduler_class: type | None = None, **kwargs):
    """A scheduler for the process ``record`` describes; ``scheduler_class`` (e.g. DDIMScheduler for the "noise"
    kind) picks the sampler, ``kwargs`` its other settings (clip_sample)."""
    record = check_process(record)
    kind = KINDS[record["kind"]]
    cls = scheduler_class or kind.scheduler_class
    if not issubclass(cls, kind.scheduler_class):
        raise TypeError(f"{cls.__name__} does not run the {record['kind']!r} process.")
    return kind.build(cls, {k: v for k, v in record.items() if k != "kind"}, kwargs)


def record_training(model, scheduler, data) -> object:
    """Write on ``model`` what it was trained on, ``model.trained_on = {"process": ..., "sample_shape": [...]}``
    (``train`` calls this; ``save_checkpoint`` stores it); returns ``model``. A scheduler of no known kind
    leaves the process unknown (None)."""
    try:
        process = describe_process(scheduler)
    except TypeError:
        process = None
    model.trained_on = {"process": process, "sample_shape": [int(d) for d in data.shape[1:]]}
    return model
