"""Training a denoiser: the loss of Lesson 2 and one plain training loop (no framework).

The loss (Ho et al. 2020, eq. 14, the "simplified" objective; Lesson 2, eq. 2.1):
    t ~ Uniform{0, ..., T-1} (one per example),  eps ~ N(0, I),
    x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps,   loss = || eps - eps_theta(x_t, t) ||^2 (mean).

Essential: ``diffusion_loss``. What makes the loop efficient on a CPU (measured while building the
course: see scripts/train_checkpoints.py and docs/models.md): a batch of 128, AdamW with a short warm-up and
a cosine decay of the learning rate, and an exponential moving average (EMA) of the weights, which gives
a smoother model than the last step's weights.
"""

from __future__ import annotations

import copy
import inspect
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from ._validate import check_finite, check_image_batch
from .flow import FlowMatchScheduler, flow_matching_loss
from .forward import BlurToStatic
from .process import record_training
from .scheduler import NoiseScheduler


def schedule_alphas_cumprod(schedule: NoiseScheduler | torch.Tensor) -> torch.Tensor:
    """alpha_bar_t for t = 0..T-1 (T,) from a ``NoiseScheduler`` or from its ``alphas_cumprod`` tensor itself.

    The exercises of Lesson 2 take ``alphas_cumprod``, the package's functions a scheduler; accepting either
    lets the package's function stand in for the learner's, with the learner's signature.
    """
    if isinstance(schedule, (NoiseScheduler, BlurToStatic)):
        return schedule.alphas_cumprod
    if not isinstance(schedule, torch.Tensor) or schedule.ndim != 1 or not torch.is_floating_point(schedule):
        shape = tuple(schedule.shape) if isinstance(schedule, torch.Tensor) else ""
        raise TypeError("expected a NoiseScheduler or its alphas_cumprod, a 1-D float tensor (T,), got "
                        f"{type(schedule).__name__}{shape}.")
    if schedule.numel() < 2 or float(schedule.min()) <= 0 or float(schedule.max()) > 1:
        raise ValueError("alphas_cumprod must hold T >= 2 values in (0, 1]: alpha_bar_t, the share of the signal "
                         "left at each timestep.")
    return schedule


def diffusion_loss(model: nn.Module, x0: torch.Tensor, scheduler: NoiseScheduler | torch.Tensor,
                   generator: torch.Generator | None = None, reduce: bool = True, *,
                   labels: torch.Tensor | None = None, label_dropout: float = 0.0):
    """The simplified DDPM loss on a batch x0 (Lesson 2, eq. 2.1).

    Draws, in this order and with ``generator``: t with ``torch.randint(0, T, (N,))`` (one per example),
    then eps with ``torch.randn(x0.shape)``. Returns the mean loss, or with ``reduce=False`` the loss of
    each example (N,) together with t (N,). ``scheduler`` may also be its ``alphas_cumprod`` (T,), so that
    this function has Exercise 2.2's signature ``(model, x0, alphas_cumprod, generator)``. With a
    ``BlurToStatic`` (Lesson 4) x_t is its ``add_noise``: blurred by step t's blur, then mixed with static; the
    target is still the static eps.

    Lesson 5: ``labels`` (N,) long for a class-conditional model; after t and eps, ``guidance.drop_labels`` gives
    each example the null label with probability ``label_dropout`` (one ``torch.rand(N)`` draw), so that the same
    network also learns the unconditional prediction that classifier-free guidance needs.
    """
    check_prediction_pairing(model, scheduler)
    if isinstance(scheduler, FlowMatchScheduler):  # Lesson 6: the flow-matching loss (eq. 6.3), same draws' order
        return flow_matching_loss(model, x0, scheduler, generator=generator, reduce=reduce, labels=labels,
                                  label_dropout=label_dropout)
    abar = schedule_alphas_cumprod(scheduler)
    n = x0.shape[0]
    t = torch.randint(0, abar.shape[0], (n,), generator=generator).to(x0.device)
    eps = torch.randn(x0.shape, generator=generator).to(x0.device)
    if isinstance(scheduler, (NoiseScheduler, BlurToStatic)):  # BlurToStatic: blur, then static (Lesson 4)
        x_t = scheduler.add_noise(x0, eps, t)
    else:  # eq. 1.5, written as add_noise writes it (the same numbers)
        a = abar.to(device=x0.device, dtype=x0.dtype)[t].reshape((-1,) + (1,) * (x0.ndim - 1))  # (N, 1, ...)
        x_t = a**0.5 * x0 + (1 - a) ** 0.5 * eps
    # Lesson 8: a model that predicts the clean picture ("sample") is scored against x0, the others against eps
    target = x0 if getattr(model, "prediction_type", "epsilon") == "sample" else eps
    if labels is not None:  # Lessons 5 and 7: the label or prompt, dropped to "no request" for a share label_dropout
        from .models import training_condition

        y = training_condition(model, labels, label_dropout, generator, x0.device)  # (N,) labels or (N, L) prompts
        per_example = ((model(x_t, t, y) - target) ** 2).flatten(1).mean(dim=1)  # (N,)
        return per_example.mean() if reduce else (per_example, t)
    per_example = ((model(x_t, t) - target) ** 2).flatten(1).mean(dim=1)  # (N,)
    return per_example.mean() if reduce else (per_example, t)


def check_prediction_pairing(model: nn.Module, scheduler) -> None:
    """A velocity model (Lesson 6) trains only with a FlowMatchScheduler, a noise model only without one: one sentence
    instead of the model's complaint about the dtype of t. A model without ``prediction_type`` is not checked."""
    kind = getattr(model, "prediction_type", None)
    if kind is None:
        return
    flow = isinstance(scheduler, FlowMatchScheduler)
    if kind == "velocity" and not flow:
        what = type(scheduler).__name__ if not isinstance(scheduler, torch.Tensor) else "an alphas_cumprod tensor"
        raise ValueError(f"this model predicts a velocity (prediction_type='velocity', flow matching, Lesson 6), but "
                         f"{what} trains a noise prediction: train it with cu.FlowMatchScheduler(), or build the "
                         "model with prediction_type='epsilon' for a NoiseScheduler.")
    if kind == "sample" and not isinstance(scheduler, BlurToStatic):
        what = type(scheduler).__name__ if not isinstance(scheduler, torch.Tensor) else "an alphas_cumprod tensor"
        raise ValueError(f"this model predicts the clean picture (prediction_type='sample'), which the course samples "
                         f"only with the blur-to-static process (Lesson 8), not {what}: train it with cu.BlurToStatic, "
                         "or build the model with prediction_type='epsilon'.")
    if flow and kind != "velocity":
        raise ValueError(f"a FlowMatchScheduler trains a velocity (Lesson 6), but this model predicts the noise "
                         f"(prediction_type={kind!r}): build it with prediction_type='velocity', or train it with a "
                         "NoiseScheduler.")


@dataclass
class TrainHistory:
    """What a training run leaves behind: the loss at every step, the learning rate, and the time taken."""

    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0


class EMA:
    """An exponential moving average of a model's weights: ema = decay * ema + (1 - decay) * weights."""

    def __init__(self, model: nn.Module, decay: float = 0.999):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}.")
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))  # warm up: early weights fade fast
        for e, p in zip(self.model.parameters(), model.parameters(), strict=True):
            e.lerp_(p.detach(), 1 - d)
        for e, b in zip(self.model.buffers(), model.buffers(), strict=True):
            e.copy_(b)


def train(model: nn.Module, data: torch.Tensor, scheduler: NoiseScheduler, *, steps: int = 2000,
          batch_size: int = 256, lr: float = 2e-3, warmup: int = 100, ema_decay: float | None = 0.999,
          weight_decay: float = 0.0, seed: int = 0, progress: bool = True,
          loss_fn: Callable | None = None, labels: torch.Tensor | None = None,
          label_dropout: float = 0.2) -> tuple[nn.Module, TrainHistory]:
    """Train ``model`` to predict the noise on ``data`` (N, ...) with the loss of eq. 2.1; returns (model, history).

    The returned model is the EMA of the weights when ``ema_decay`` is set (the one to sample from), else
    the trained model itself; both are in eval mode. Runs on ``data``'s device. Same seed, same numbers on
    a CPU; on a GPU some kernels add floating-point sums in varying order, so two runs drift apart by about
    1e-3 in the loss (measured on an H200) unless ``torch.use_deterministic_algorithms(True)`` is set first.

    ``loss_fn``: your own loss, with the signature of Lesson 2's Exercise 2.2,
    ``loss_fn(model, x0, alphas_cumprod, generator) -> a scalar tensor with a gradient``. Each step calls it
    with the batch (on ``data``'s device), ``scheduler.alphas_cumprod`` (on the same device) and the run's
    CPU generator, whose draws make the run repeatable (with a ``BlurToStatic`` it gets the process itself in
    place of ``alphas_cumprod``, since blurring needs more than abar_t; a ``FlowMatchScheduler``, Lesson 6, gets
    itself too). ``None`` (the default) uses ``diffusion_loss`` (``flow_matching_loss`` for a FlowMatchScheduler);
    ``loss_fn=diffusion_loss`` gives the very same numbers. On a GPU your function must put its draws on
    ``x0.device`` itself.

    Lesson 5: ``labels`` (N,) long, one class per example of ``data``, trains a class-conditional model
    (``num_classes`` > 0) with the share ``label_dropout`` of examples given the null label (per example, drawn
    with the run's generator; 0.2 measured against 0.1 in docs/models.md). A ``loss_fn`` then also gets the batch's
    labels: ``loss_fn(model, x0, alphas_cumprod, generator, labels=y)``, and ``label_dropout=`` too if it takes that
    argument (``diffusion_loss`` does: then the same numbers as ``loss_fn=None``). A conditional model trained
    without ``labels`` is refused: only its null row would learn, and every label would then ask for nothing.
    """
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be positive, got {steps} and {batch_size}.")
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function (model, x0, alphas_cumprod, generator) -> loss, got "
                        f"{type(loss_fn).__name__}. Pass the function itself, without ().")
    _check_data(data)
    check_prediction_pairing(model, scheduler)
    if labels is not None:
        _check_train_labels(model, data, labels, label_dropout)
    elif getattr(model, "num_classes", 0) or getattr(model, "vocab_size", 0):
        what = "prompts (labels=drawings.tokens, Lesson 7)" if getattr(model, "vocab_size", 0) else \
            "labels (labels=y, one class per example, Lesson 5)"
        raise ValueError(f"this model is conditional but got no {what}: trained without them it learns only the null "
                         "request, and asking for a label later does nothing. Pass them, or build the model "
                         "unconditional.")
    extra = {}  # Lesson 5: a loss_fn that takes label_dropout gets it (diffusion_loss: the default path's numbers)
    if labels is not None and loss_fn is not None and _takes_keyword(loss_fn, "label_dropout"):
        extra["label_dropout"] = label_dropout
    device = data.device
    model.to(device).train().requires_grad_(True)  # a model returned by train() (an EMA copy) can train again
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)

    def lr_at(step: int) -> float:  # linear warm-up, then cosine decay to zero
        if step < warmup:
            return lr * (step + 1) / warmup
        return lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))

    ema = EMA(model, ema_decay) if ema_decay else None
    history = TrainHistory()
    bar = range(steps)
    if progress:
        from .progress import progress as _progress

        # at most one refresh a second: nbval reads a cell's messages only after the cell ends, and Lesson 4's
        # 2-minute training cell (about 1,000 refreshes) once failed under nbval waiting for its last message;
        # in a log (not a terminal, not a notebook) a few short lines instead of carriage returns (progress.py)
        bar = _progress(bar, desc="training", unit="step", mininterval=1.0)
    # for loss_fn: alphas_cumprod, or the process itself for blur-to-static (alphas_cumprod alone cannot blur)
    whole_process = (BlurToStatic, FlowMatchScheduler)  # Lesson 6: the flow has no alphas_cumprod either
    alphas_cumprod = scheduler if isinstance(scheduler, whole_process) else scheduler.alphas_cumprod.to(device)
    tic = time.perf_counter()
    for step in bar:
        idx = torch.randint(0, data.shape[0], (batch_size,), generator=g)
        if labels is not None and loss_fn is None:  # Lesson 5: the same loss, told each example's label
            loss = diffusion_loss(model, data[idx.to(device)], scheduler, generator=g,
                                  labels=labels[idx.to(labels.device)].to(device), label_dropout=label_dropout)
        elif labels is not None:
            loss = _call_loss_fn(loss_fn, model, data[idx.to(device)], alphas_cumprod, g, first=step == 0,
                                 labels=labels[idx.to(labels.device)].to(device), **extra)
        elif loss_fn is None:
            loss = diffusion_loss(model, data[idx.to(device)], scheduler, generator=g)
        else:
            loss = _call_loss_fn(loss_fn, model, data[idx.to(device)], alphas_cumprod, g, first=step == 0)
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        value = loss.item()
        if not math.isfinite(value):  # NaN compares False with everything: stop here, not steps later
            if progress:
                bar.close()
            model.eval()
            raise FloatingPointError(
                f"training stopped at step {step + 1} of {steps}: the loss is {value}, not a finite number. "
                f"Likely causes: the learning rate is too high (lr={lr:g}; the course trains with 2e-3), "
                "or the data is not finite or is far outside [-1, 1]"
                + (", or your loss_fn returned it" if loss_fn else "") + ".")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if ema is not None:
            ema.update(model)
        history.loss.append(value)
        history.lr.append(lr_at(step))
        if progress and step % 50 == 0:
            bar.set_postfix(loss=f"{sum(history.loss[-50:]) / len(history.loss[-50:]):.4f}", refresh=False)
    history.seconds = time.perf_counter() - tic
    history.steps = steps
    model.eval()
    return record_training(ema.model if ema is not None else model, scheduler, data), history


def _takes_keyword(fn: Callable, name: str) -> bool:
    """Whether ``fn`` accepts the keyword argument ``name`` (False when its signature cannot be read)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    p = params.get(name)
    return p is not None and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)


def _check_data(data) -> None:
    """Training data: a float32 torch tensor (N, ...) of finite values; pictures (N, C, H, W) in [-1, 1].

    The type and dtype are checked before the range, so each mistake gets the message that fits it.
    """
    import numpy as np

    if isinstance(data, np.ndarray):
        fix = "torch.from_numpy(x)" + ("" if data.dtype == np.float32 else ".float()")
        raise TypeError(f"data must be a torch tensor, got a numpy array (dtype {data.dtype}): use {fix}.")
    if not isinstance(data, torch.Tensor):
        raise TypeError(f"data must be a float32 torch tensor (N, ...), got {type(data).__name__}.")
    if data.ndim < 2 or data.shape[0] < 2:
        raise ValueError(f"data must be a batch of examples (N, ...), got shape {tuple(data.shape)}.")
    if not torch.is_floating_point(data):
        lo, hi = (int(data.min()), int(data.max())) if data.numel() else (0, 0)
        if 0 <= lo and hi <= 1:
            hint = "2 * x.float() - 1 for 0/1 values"
        elif 0 <= lo and hi <= 16:
            hint = "x.float() / 8 - 1 for scikit-learn's digits (0..16), or cu.load_digits(), already in [-1, 1]"
        elif 0 <= lo and hi <= 255:
            hint = "x.float() / 127.5 - 1 for 0..255 pixels"
        else:
            hint = "x.float(), then map the values to [-1, 1]"
        raise TypeError(f"data must be float32 with values in [-1, 1] (what the models take), got {data.dtype} "
                        f"with values {lo}..{hi}: use {hint}.")
    if data.dtype != torch.float32:
        raise TypeError(f"data must be float32 (the models' dtype), got {data.dtype}: use data.float().")
    check_finite(data, "data")
    if data.ndim == 4:  # pictures: the course's models work in [-1, 1]
        check_image_batch(data, "data")
        if float(data.min()) >= 0:
            raise ValueError("data has no negative values: it looks like pictures in [0, 1], but the models "
                             "expect [-1, 1]. Use x * 2 - 1 (or cu.load_digits(), which is already in [-1, 1]).")


def _check_train_labels(model: nn.Module, data: torch.Tensor, labels, label_dropout) -> None:
    """Lesson 5: labels for ``train``, one per example of ``data``, and a model that takes them."""
    from .models import check_labels

    if getattr(model, "vocab_size", 0):  # Lesson 7: one prompt (L token ids) per example
        from .text import check_prompt_ids

        check_prompt_ids(labels, data.shape[0], model.vocab_size, model.prompt_length, "labels")
        if isinstance(label_dropout, bool) or not isinstance(label_dropout, (int, float)) or not 0 <= label_dropout < 1:
            raise ValueError(f"label_dropout (the share of examples trained with the null prompt) must be in [0, 1), "
                             f"got {label_dropout!r}; the course uses 0.1.")
        return
    k = getattr(model, "num_classes", 0)
    if not k:
        raise ValueError("labels need a class-conditional model: build it with num_classes=K (e.g. "
                         "cu.UNet(num_classes=10)); this one was built without labels.")
    check_labels(labels, data.shape[0], k, "labels", allow_null=False)  # real classes: the dropout adds the null
    if isinstance(label_dropout, bool) or not isinstance(label_dropout, (int, float)) or not 0 <= label_dropout < 1:
        raise ValueError(f"label_dropout (the share of examples trained without their label) must be in [0, 1), "
                         f"got {label_dropout!r}; the course uses 0.2.")


def _call_loss_fn(loss_fn: Callable, model: nn.Module, x0: torch.Tensor, alphas_cumprod: torch.Tensor,
                  generator: torch.Generator, first: bool, **labels) -> torch.Tensor:
    """One call of a user's loss; on the first step, say clearly what is wrong with what it returns."""
    try:
        loss = loss_fn(model, x0, alphas_cumprod, generator, **labels)
    except RuntimeError as err:
        if first and "device" in str(err):
            raise RuntimeError(f"loss_fn failed on {x0.device}: {str(err).splitlines()[0]} Draw t and eps on "
                               "the CPU generator, then move them with .to(x0.device), or train on the CPU.") from err
        raise
    if first:
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            got = f"shape {tuple(loss.shape)}" if isinstance(loss, torch.Tensor) else type(loss).__name__
            raise TypeError(f"loss_fn must return the loss as one number in a tensor, got {got}.")
        if not loss.requires_grad:
            raise ValueError("loss_fn returned a loss without a gradient: return the tensor itself, without "
                             ".detach() or .item(), so that training can call loss.backward().")
        if not bool(torch.isfinite(loss.detach())):
            raise ValueError(f"loss_fn returned {float(loss.detach()):.4g} on the first batch: "
                             "the loss must be finite.")
    return loss


@torch.no_grad()
def evaluate_loss(model: nn.Module, data: torch.Tensor, scheduler: NoiseScheduler, *, repeats: int = 4,
                  seed: int = 1234, bins: int | None = None, labels: torch.Tensor | None = None):
    """The loss of eq. 2.1 on ``data`` averaged over ``repeats`` draws of t and eps (fixed seed).

    Lesson 5: ``labels`` (N,) long gives a conditional model each example's label (none dropped).

    With ``bins``, also returns the mean loss in ``bins`` equal ranges of t: (loss, (bin_centres, bin_losses)).
    """
    model.eval()
    g = torch.Generator().manual_seed(seed)
    losses, ts = [], []
    for _ in range(repeats):
        per_example, t = diffusion_loss(model, data, scheduler, generator=g, reduce=False, **(
            {} if labels is None else {"labels": labels}))
        losses.append(per_example.cpu())
        ts.append(t.cpu())
    loss, t = torch.cat(losses), torch.cat(ts)
    if bins is None:
        return float(loss.mean())
    T = scheduler.num_train_timesteps
    if isinstance(scheduler, FlowMatchScheduler):  # Lesson 6: t in [0, 1) -> the same bins in T's units
        t = t * T
    which = (t * bins).long() // T  # (M,) bin index
    sums = torch.zeros(bins).index_add_(0, which, loss)
    counts = torch.bincount(which, minlength=bins).clamp(min=1)
    centres = (torch.arange(bins) + 0.5) * T / bins
    return float(loss.mean()), (centres, sums / counts)
