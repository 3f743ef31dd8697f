"""From static back to pictures: the sampling loop of Lesson 3, with a progress bar and an optional trajectory.

    scheduler.set_timesteps(50)                       # or leave it at all T steps
    samples = sample(model, scheduler, 64, generator=torch.Generator().manual_seed(0))

The loop is the same for every sampler: start from pure static x_{T-1} ~ N(0, I), then for each timestep
ask the model for the noise and let the scheduler take one step (DDPM: ``NoiseScheduler``; DDIM:
``DDIMScheduler``, with ``eta``; blur-to-static run backwards: ``BlurToStatic``, with ``eta``, Lesson 4).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import nn

from ._validate import check_device
from .ddim import DDIMScheduler
from .flow import FlowMatchScheduler, flow_sample_loop
from .forward import BlurToStatic
from .process import describe_process, process_differences
from .scheduler import NoiseScheduler


@dataclass
class Trajectory:
    """What the loop saw, on the CPU: the static it started from, the timesteps, and for the step from each
    timestep the sample it landed on and the model's guess x0_hat made on the way."""

    timesteps: list[int] = field(default_factory=list)  # the steps started from: scheduler.timesteps
    samples: list[torch.Tensor] = field(default_factory=list)  # samples[k]: after the step from timesteps[k]
    x0_guesses: list[torch.Tensor] = field(default_factory=list)  # x0_guesses[k]: the guess made at timesteps[k]
    start: torch.Tensor | None = None  # x_{T-1}: the pure static the run started from


def sample_shape(model: nn.Module) -> tuple[int, ...]:
    """The shape of one example the model works on, from its config: (C, H, W) for pictures, (2,) for points."""
    config = getattr(model, "config", {})
    if config.get("arch") == "UNet":
        return (config["in_channels"], config["image_size"], config["image_size"])
    if config.get("arch") == "PointDenoiser":
        return (2,)
    if "shape" in config:  # e.g. the ideal denoiser: the shape of its data
        return tuple(config["shape"])
    raise ValueError("cannot tell the sample shape of this model: pass shape=(C, H, W) explicitly.")


def check_scheduler_fits(model: nn.Module, scheduler: NoiseScheduler) -> None:
    """Refuse a scheduler whose process the model was not trained on (a silent picture of noise otherwise).

    Compares T with the model's ``num_train_timesteps`` (its config), and, when the model carries a record of
    its training (``model.trained_on``, set by ``train`` and ``load_checkpoint``), the whole process: kind,
    schedule and its settings. A model without either (your own nn.Module) is not checked.
    """
    config = getattr(model, "config", None)
    _check_prediction_fits(config, scheduler)  # Lesson 6: a velocity model takes only the flow's solvers
    T_model = config.get("num_train_timesteps") if isinstance(config, dict) else None
    T_sched = getattr(scheduler, "num_train_timesteps", None)
    if T_model is not None and T_sched is not None and T_model != T_sched:
        raise ValueError(f"the model was trained with T = {T_model} timesteps but the scheduler has T = {T_sched}: "
                         f"make the scheduler with num_train_timesteps={T_model} (then set_timesteps(n) for fewer "
                         "steps).")
    trained = (getattr(model, "trained_on", None) or {}).get("process")
    if trained is None:
        return
    try:
        used = describe_process(scheduler)
    except TypeError:
        return  # a scheduler of no known kind: nothing to compare
    diffs = process_differences(trained, used)
    if diffs:
        settings = ", ".join(f"{k}={v!r}" for k, v in trained.items() if k != "kind")
        raise ValueError(f"the model was trained on another process than this scheduler runs ({'; '.join(diffs)}): "
                         f"make the scheduler with {settings}.")


def _check_request(model: nn.Module, n: int, labels, guidance, device) -> tuple[torch.Tensor | None, float | None]:
    """``sample``'s labels and guidance, checked: labels as a (n,) long tensor on ``device`` (an int: the same
    label for all), guidance as a float; a clear error for a request an unconditional model cannot take."""
    from .guidance import check_guidance
    from .models import check_labels

    if getattr(model, "vocab_size", 0):  # Lesson 7: labels are prompts (text or token ids)
        from .text import as_prompt_ids

        if guidance is not None:
            guidance = check_guidance(guidance)
            if labels is None:
                raise ValueError("guidance needs a prompt: it pushes the samples toward the request (pass labels=).")
        return (None if labels is None else as_prompt_ids(model, labels, n, device, "labels")), guidance
    if isinstance(labels, str) or (isinstance(labels, torch.Tensor) and labels.ndim == 2):
        raise ValueError("prompts need a text-conditional model (Lesson 7, e.g. the checkpoint 'crayons'); this "
                         "model was trained without a vocabulary.")
    k = getattr(model, "num_classes", 0)
    if not k and (labels is not None or guidance is not None):
        raise ValueError("labels and guidance need a class-conditional model (num_classes > 0, Lesson 5, e.g. the "
                         "checkpoint 'digits_cond'); this model was trained without labels.")
    if guidance is not None:
        guidance = check_guidance(guidance)
        if labels is None:
            raise ValueError("guidance needs labels: it pushes the samples toward a requested label (pass labels=).")
    if labels is None:
        return None, guidance
    if isinstance(labels, numbers.Integral) and not isinstance(labels, bool):
        if not 0 <= int(labels) < k:
            raise ValueError(f"labels must lie in 0..{k - 1}, got {int(labels)}.")
        labels = torch.full((n,), int(labels), dtype=torch.long)
    check_labels(labels, n, k, "labels")
    return labels.to(device), guidance


def _predict(model: nn.Module, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None,
             guidance: float | None = None, negative: torch.Tensor | None = None) -> torch.Tensor:
    """The model's noise prediction at x (N, ...) and timesteps t (N,), guided when asked (Lesson 5, eq. 5.2).

    labels None: model(x, t) (the null label on a conditional model); guidance None or 1: model(x, t, labels);
    guidance 0: the unconditional model(x, t, null); otherwise eps_null + w (eps_y - eps_null) from ONE batched
    call on 2N examples (cheaper than two calls on a CPU: docs/measurements.md). Independent of the scheduler.
    The null request is ``model.null_condition`` (the null label, or the null prompt of a text model, Lesson 7);
    ``negative`` (same shape as labels) replaces it: eps_neg + w (eps_y - eps_neg), guided away from that request.
    """
    if labels is None:
        return model(x, t)
    if guidance is None or guidance == 1:
        return model(x, t, labels)
    if negative is not None:  # Lesson 7: push away from another request instead of from "no request"
        null = negative
    elif hasattr(model, "null_condition"):
        null = model.null_condition(labels.shape[0], labels.device)  # (N,) or (N, L): no request
    else:
        null = torch.full_like(labels, model.num_classes)  # (N,) the null label: no request
    if guidance == 0:
        return model(x, t, null)
    eps = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([labels, null]))  # (2N, ...): asked, then not
    eps_cond, eps_uncond = eps.chunk(2)
    return eps_uncond + guidance * (eps_cond - eps_uncond)  # eq. 5.2: guidance.guided_eps
def _prediction_type(model: nn.Module) -> str:
    config = getattr(model, "config", None)
    return config.get("prediction_type", "epsilon") if isinstance(config, dict) else "epsilon"


def _check_prediction_fits(config, scheduler) -> None:
    """A velocity-predicting model (flow matching, Lesson 6) with a noise scheduler, or the reverse: one sentence."""
    if not isinstance(config, dict) or "arch" not in config:
        return  # your own nn.Module: not checked
    velocity = config.get("prediction_type", "epsilon") == "velocity"
    flow = isinstance(scheduler, FlowMatchScheduler)
    if config.get("prediction_type") == "sample" and not isinstance(scheduler, BlurToStatic):
        raise ValueError(f"this model predicts the clean picture (prediction_type 'sample', Lesson 8), which the "
                         f"course samples with the blur-to-static process only, not a {type(scheduler).__name__}: use "
                         "sample.make_scheduler(model, 'ddim' or 'ddpm', steps).")
    if velocity and not flow:
        raise ValueError(f"this model predicts a velocity (flow matching, Lesson 6), but a {type(scheduler).__name__} "
                         "expects a noise prediction: sample it with FlowMatchScheduler(solver='euler' or 'heun').")
    if flow and not velocity:
        raise ValueError("FlowMatchScheduler integrates a velocity, but this model predicts the noise eps (Lessons "
                         "2-5): sample it with a DDIMScheduler or NoiseScheduler, or load a flow model "
                         "('digits_flow').")


@torch.no_grad()
def sample(model: nn.Module, scheduler: NoiseScheduler | BlurToStatic, n: int, *, eta: float | None = None,
           generator: torch.Generator | None = None, shape: tuple[int, ...] | None = None,
           keep_trajectory: bool = False, progress: bool = True, device: torch.device | str | None = None,
           labels: int | torch.Tensor | None = None, guidance: float | None = None, negative=None,
           x_start: torch.Tensor | None = None, timesteps=None, after_step=None):
    """Draw ``n`` samples by running ``scheduler``'s reverse steps over ``scheduler.timesteps``.

    Returns samples (n, *shape), or (samples, Trajectory) with ``keep_trajectory=True``. Random draws use
    ``generator`` (a CPU generator gives the same numbers on every device). ``eta`` (0 .. 1, fresh noise) is
    for DDIM and blur-to-static; None (the default) is each scheduler's own default: DDIM 0, BlurToStatic 1
    (ancestral). The scheduler must run the process the model was trained on (``check_scheduler_fits``).

    Lesson 5, for a class-conditional model: ``labels`` an int (one label for all) or a (n,) long tensor; None
    draws without a request (the null label). ``guidance`` w >= 0 (the course's scale, diffusers'
    ``guidance_scale``; Ho & Salimans' w is this w - 1): eps_null + w (eps_y - eps_null), eq. 5.2. None or 1:
    the conditional model alone; 0: unconditional. The draws from ``generator`` are the same for every w.

    Lesson 7, for a text-conditional model: ``labels`` a prompt ("a red house"; a list of n prompts; or token ids
    (L,) or (n, L)); None draws without a request (the null prompt). ``negative``: a prompt to guide AWAY from,
    used in place of the null request in eq. 5.2 (needs labels and a guidance other than 1).

    Lesson 8, starting part of the way (image to image, inpainting; ``img2img.py``): ``x_start`` (n, *shape), the
    picture the loop starts from instead of pure static; ``timesteps``, the steps to run, a tail of
    ``scheduler.timesteps`` (the first one is where ``x_start`` was smudged to); ``after_step(x_s, s)``, called after
    each step with the new sample and the timestep it landed on (-1: the clean picture), returns the sample to go
    on with (RePaint's merge of the kept region).
    """
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n (how many samples) must be a positive int, got {n!r}.")
    n = int(n)  # numpy integers too
    if eta is not None and (isinstance(eta, bool) or not isinstance(eta, (int, float)) or not 0 <= eta <= 1):
        raise ValueError(f"eta must be from 0 to 1, got {eta!r}.")
    takes_eta = isinstance(scheduler, (DDIMScheduler, BlurToStatic))
    if eta and not takes_eta:
        raise ValueError("eta only applies to DDIM (and BlurToStatic): use a DDIMScheduler, or leave eta at 0 "
                         "for DDPM.")
    if takes_eta and eta is None:
        eta = 1.0 if isinstance(scheduler, BlurToStatic) else 0.0
    check_scheduler_fits(model, scheduler)
    device = check_device(device) if device is not None else next(model.parameters()).device  # 'cuda' with none: 1 line
    labels, guidance = _check_request(model, n, labels, guidance, device)
    if negative is not None:  # Lesson 7: a request of the same kind as labels, to guide away from
        if labels is None or guidance is None:
            raise ValueError("negative needs labels and guidance: it replaces the null request in eq. 5.2.")
        negative, _ = _check_request(model, n, negative, None, device)
    model.eval()
    shape = tuple(shape) if shape is not None else sample_shape(model)
    gen_device = generator.device if generator is not None else device
    if x_start is None:
        x = torch.randn((n, *shape), generator=generator, device=gen_device).to(device)  # x_{T-1}: pure static
    else:
        x = _check_start(x_start, n, shape, scheduler).to(device)
    traj = Trajectory(start=x.cpu() if keep_trajectory else None)
    if isinstance(scheduler, FlowMatchScheduler):  # Lesson 6: the flow's ODE, Euler or Heun (flow.py)
        if timesteps is not None or after_step is not None:
            raise ValueError("timesteps and after_step are for the noise and blur-to-static samplers, not a flow's "
                             "ODE.")
        x = flow_sample_loop(model, scheduler, x, keep_trajectory=keep_trajectory, progress=progress, trajectory=traj)
        return (x, traj) if keep_trajectory else x
    steps = scheduler.timesteps.tolist() if timesteps is None else _check_tail(timesteps, scheduler)
    landing = dict(zip(steps, steps[1:] + [-1], strict=True))  # each step's target timestep; -1: the clean picture
    if progress:
        from .progress import progress as _progress

        steps = _progress(steps, desc="sampling", unit="step", leave=False)
    for t in steps:
        eps_hat = _predict(model, x, torch.full((n,), t, device=device, dtype=torch.long), labels, guidance,
                           negative)
        if isinstance(scheduler, DDIMScheduler):  # eps re-derived from a clipped x0_hat (ddim.py)
            out = scheduler.step(eps_hat, t, x, eta=eta, use_clipped_model_output=True, generator=generator)
        elif isinstance(scheduler, BlurToStatic):  # Lesson 8: a clean-picture model gives x0_hat, not eps_hat
            out = scheduler.step(eps_hat, t, x, eta=eta, generator=generator,
                                 prediction_type=_prediction_type(model))
        elif takes_eta:
            out = scheduler.step(eps_hat, t, x, eta=eta, generator=generator)
        else:
            out = scheduler.step(eps_hat, t, x, generator=generator)
        x = out.prev_sample
        if after_step is not None:
            x = after_step(x, landing[t])
        if keep_trajectory:
            traj.timesteps.append(t)
            traj.samples.append(x.cpu())
            traj.x0_guesses.append(out.pred_original_sample.cpu())
    return (x, traj) if keep_trajectory else x


def _check_start(x_start, n: int, shape: tuple[int, ...], scheduler) -> torch.Tensor:
    """``x_start`` as a float tensor (n, *shape) with finite values, or one sentence saying what was expected."""
    from ._validate import as_float_tensor, check_finite

    x = as_float_tensor(x_start, "x_start")
    if tuple(x.shape) != (n, *shape):
        raise ValueError(f"x_start must have the shape of the samples, {(n, *shape)}, got {tuple(x.shape)}.")
    check_finite(x, "x_start")
    return x


def _check_tail(timesteps, scheduler) -> list[int]:
    """``timesteps`` as a list of ints that ends ``scheduler.timesteps`` (its last k entries), or a ValueError."""
    steps = [int(t) for t in (timesteps.tolist() if isinstance(timesteps, torch.Tensor) else timesteps)]
    full = scheduler.timesteps.tolist()
    if not steps or steps != full[len(full) - len(steps):]:
        raise ValueError(f"timesteps must be the last entries of the scheduler's timesteps ({full[0]} .. {full[-1]}, "
                         f"{len(full)} of them), got {steps[:4]}{' ...' if len(steps) > 4 else ''}: call "
                         "set_timesteps, then pass scheduler.timesteps[k:].")
    return steps


class RunSpread(NamedTuple):
    """What ``spread_between_runs`` measured (Lesson 3, section 3)."""

    timesteps: torch.Tensor  # (S,) the code timestep of each sample measured: T-1 (the static) down to 0
    spread: torch.Tensor  # (S,) the pixel std across runs at that timestep, averaged over pixels
    final_spread: float  # the same for the finished samples (the clean pictures, clipped to [-1, 1])
    samples: torch.Tensor  # (n, *shape) the finished samples, on the CPU

    def at(self, t: int) -> float:
        """The spread of the runs at code timestep ``t`` (one of ``timesteps``)."""
        hits = (self.timesteps == int(t)).nonzero()
        if hits.numel() == 0:
            raise ValueError(f"t = {t} is not one of the measured timesteps.")
        return float(self.spread[int(hits[0, 0])])


@torch.no_grad()
def spread_between_runs(model: nn.Module, scheduler: NoiseScheduler, n: int = 16, *, fresh_noise: bool = True,
                        generator: torch.Generator | None = None, shape: tuple[int, ...] | None = None) -> RunSpread:
    """How different ``n`` runs started from different static stay, at every step of the walk back (Lesson 3, sec. 3).

    Runs ``scheduler`` over its ``timesteps`` (set them first) as ``sample`` does, with eta = 0 for a
    ``DDIMScheduler``; ``fresh_noise=False`` leaves out DDPM's fresh noise (the mean of eq. 3.1 alone). The
    spread of a batch x (n, C, H, W) is ``x.std(dim=0).mean()``: for each pixel the standard deviation across
    the runs, averaged over the pixels. Pure static has spread about 1; real digits about 0.6.
    """
    if not fresh_noise and isinstance(scheduler, DDIMScheduler):
        raise ValueError("fresh_noise=False is for DDPM's NoiseScheduler; DDIM with eta = 0 has no fresh noise.")
    check_scheduler_fits(model, scheduler)
    device = next(model.parameters()).device
    model.eval()
    shape = tuple(shape) if shape is not None else sample_shape(model)
    gen_device = generator.device if generator is not None else device
    x = torch.randn((n, *shape), generator=generator, device=gen_device).to(device)  # x_{T-1}: pure static
    timesteps = scheduler.timesteps.tolist()
    spread = []
    for t in timesteps:
        spread.append(float(x.std(dim=0).mean()))  # the runs at timestep t, before the step from t
        eps_hat = model(x, torch.full((n,), t, device=device, dtype=torch.long))
        if isinstance(scheduler, DDIMScheduler):
            x = scheduler.step(eps_hat, t, x, eta=0.0, use_clipped_model_output=True).prev_sample
        elif fresh_noise:
            x = scheduler.step(eps_hat, t, x, generator=generator).prev_sample
        else:
            x = scheduler.step(eps_hat, t, x, variance_noise=torch.zeros_like(x)).prev_sample  # the mean alone
    final = x.clamp(-1, 1) if len(shape) == 3 else x
    return RunSpread(torch.tensor(timesteps), torch.tensor(spread), float(final.std(dim=0).mean()), final.cpu())
