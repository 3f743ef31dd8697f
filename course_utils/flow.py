"""Flow matching: straight paths from static to picture, and the ODE solvers that walk them (Lesson 6).

    sched = FlowMatchScheduler(solver="heun")          # or "euler"
    sched.set_timesteps(4)                             # 4 solver steps: Heun makes 2 * 4 - 1 = 7 network calls
    x = sample(model, sched, 64, generator=...)        # course_utils.sampling.sample, the same loop as DDIM's

The process (Lipman et al. 2023, "Flow Matching for Generative Modeling"; Liu et al. 2023, "Flow Straight and
Fast", rectified flow), with the course's t in [0, 1] and t = 1 pure static (Lesson 6, eq. 6.1 to 6.3):

    x_t = (1 - t) x_0 + t eps                  (6.1)  the straight line from the picture (t = 0) to static (t = 1)
    v = d x_t / dt = eps - x_0                 (6.2)  its velocity: what the network learns to predict
    loss = || v_theta(x_t, t) - (eps - x_0) ||^2,  t ~ Uniform(0, 1)   (6.3)

Sampling integrates dx/dt = v_theta(x, t) from t = 1 (static) down to t = 0 (a picture):
    Euler:  x_{t'} = x_t + (t' - t) v_theta(x_t, t)                          1 network call a step  (6.4)
    Heun:   x~ = Euler's x_{t'};  x_{t'} = x_t + (t' - t) (v_theta(x_t, t) + v_theta(x~, t')) / 2
                                                                            2 calls a step        (6.5)
Heun's last step, the one that lands on t = 0, is a plain Euler step (as in Karras et al. 2022, Algorithm 1),
so n Heun steps make 2n - 1 network calls. Karras et al. need it because their slope (x - D(x; sigma)) / sigma
divides by sigma = 0 there; the flow's velocity is defined at t = 0, so here it is a convention that saves a call
(Lesson 6 measures it: a full last step is 11 to 45 times more accurate on dx/dt = t x, and worse on
digits_flow with 2 steps, scripts/lesson6_quality.py).

A sampler is a time grid plus a parametrisation: with exact networks, Euler here on the grid matched to DDIM's,
t = sqrt(1 - abar) / (sqrt(abar) + sqrt(1 - abar)) (so t / (1 - t) = sqrt((1 - abar) / abar)), from x / (sqrt(abar)
+ sqrt(1 - abar)), IS DDIM with eta 0 and no clipping, to rounding (Gao et al. 2024, "Diffusion meets flow
matching"; tests/test_sampler_equivalence.py).

Names follow diffusers' ``FlowMatchEulerDiscreteScheduler``: ``sigmas`` are the course's t (n + 1 values from 1
down to 0), ``timesteps`` = sigmas[:-1] * num_train_timesteps (what diffusers and SD3 hand the network),
``scale_noise`` is eq. 6.1, ``step`` is eq. 6.4. The grids agree with diffusers' as ``set_timesteps`` says (its
default grid only for shift = 1). The course's networks take t itself in [0, 1] and multiply
it by num_train_timesteps inside, before the same sinusoidal embedding as the integer timesteps of Lessons 2-5.

Essential: ``flow_matching_loss``, ``euler_step``, ``heun_step``. Plumbing: the input checks.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._validate import as_float_tensor, check_device, check_finite, check_real

SOLVERS = ("euler", "heun")


@dataclass
class FlowMatchOutput:
    """What one solver step returns (diffusers' ``FlowMatchEulerDiscreteSchedulerOutput`` has prev_sample)."""

    prev_sample: torch.Tensor  # x at the next (smaller) t, shape of the sample
    pred_original_sample: torch.Tensor  # x0_hat = x_t - t v: where a straight line with this velocity lands


def _check_time(t, name: str) -> float:
    if isinstance(t, torch.Tensor):
        if t.numel() != 1:
            raise ValueError(f"{name} must be one time for the whole batch, got shape {tuple(t.shape)}.")
        t = t.item()
    if isinstance(t, bool) or not isinstance(t, numbers.Real) or not math.isfinite(t):
        raise TypeError(f"{name} must be a number in [0, 1] (the flow's time), got {t!r}.")
    if not 0 <= t <= 1:
        raise ValueError(f"{name} must lie in [0, 1] (t = 1 is pure static, t = 0 the picture), got {t!r}.")
    return float(t)


def euler_step(x: torch.Tensor, v: torch.Tensor, t: float, t_next: float) -> torch.Tensor:
    """One Euler step of dx/dt = v from t to t_next (Lesson 6, eq. 6.4): x + (t_next - t) v.

    Sampling runs time backwards (t_next < t), so dt = t_next - t is negative: the step moves x *against* the
    velocity eps - x_0, from static towards the picture. x, v: the same shape (N, ...).
    """
    t, t_next = _check_time(t, "t"), _check_time(t_next, "t_next")
    x, v = as_float_tensor(x, "x"), as_float_tensor(v, "v")
    if x.shape != v.shape:
        raise ValueError(f"v must have the shape of x {tuple(x.shape)}, got {tuple(v.shape)}.")
    check_finite(x, "x")
    check_finite(v, "v")
    return x + (t_next - t) * v


def heun_step(velocity: Callable[[torch.Tensor, float], torch.Tensor], x: torch.Tensor, t: float,
              t_next: float, v: torch.Tensor | None = None) -> torch.Tensor:
    """One Heun step (Lesson 6, eq. 6.5; Karras et al. 2022, Algorithm 1): Euler, then the averaged slope.

    ``velocity(x, t)`` returns v (the shape of x) at one time t for the whole batch; ``v``: its value at (x, t)
    if you already have it (saves a call). Landing on t_next = 0 is a plain Euler step (one call, not two): Karras
    et al.'s convention (their slope divides by sigma = 0 there); the flow's slope at t = 0 exists, so it is a choice.
    """
    t, t_next = _check_time(t, "t"), _check_time(t_next, "t_next")
    if not callable(velocity):
        raise TypeError(f"velocity must be a function (x, t) -> v, got {type(velocity).__name__}.")
    v = velocity(x, t) if v is None else v
    x_euler = euler_step(x, v, t, t_next)  # 1. Euler's guess at t_next (eq. 6.4)
    if t_next == 0:  # 2. the last step stays Euler's (Karras et al. 2022's convention: no second call at the end)
        return x_euler
    v_next = velocity(x_euler, t_next)  # 3. the slope where Euler landed
    return x + (t_next - t) * (v + v_next) / 2  # 4. the average of the two slopes (trapezoid rule)


def flow_matching_loss(model: nn.Module, x0: torch.Tensor, scheduler=None, generator: torch.Generator | None = None,
                       reduce: bool = True, *, labels: torch.Tensor | None = None, label_dropout: float = 0.0):
    """The flow-matching loss on a batch x0 (N, ...) (Lesson 6, eq. 6.3; Lipman et al. 2023, eq. 23).

    Draws, in this order and with ``generator`` (on the CPU, then moved to x0's device): t with
    ``torch.rand(N)`` (continuous, uniform in [0, 1): every time is trained equally, as in rectified flow), then
    eps with ``torch.randn(x0.shape)``. The network sees x_t = (1 - t) x_0 + t eps and t itself; the target is the
    velocity eps - x_0. Returns the mean loss, or with ``reduce=False`` the loss of each example (N,) and t (N,).
    ``scheduler`` is unused (a FlowMatchScheduler or None): it is there so that this function has the signature of
    ``diffusion_loss`` and of ``train``'s ``loss_fn``.

    ``labels``: a class-conditional model's labels (N,), or a text model's prompts (N, L) (Lessons 5 and 7), each
    replaced by the null request with probability ``label_dropout`` (one ``torch.rand(N)`` draw after t and eps),
    exactly as ``diffusion_loss`` does; without them a conditional model is told "no request".
    """
    x0 = as_float_tensor(x0, "x0")
    if x0.ndim < 2:
        raise ValueError(f"x0 must be a batch (N, ...), got shape {tuple(x0.shape)}.")
    n = x0.shape[0]
    t = torch.rand(n, generator=generator).to(x0.device)  # (N,) continuous times in [0, 1)
    eps = torch.randn(x0.shape, generator=generator).to(x0.device)  # (N, ...)
    t_ = t.to(x0.dtype).reshape((-1,) + (1,) * (x0.ndim - 1))  # (N, 1, ...) to broadcast over the pixels
    x_t = (1 - t_) * x0 + t_ * eps  # eq. 6.1
    target = eps - x0  # eq. 6.2
    if labels is not None:  # Lessons 5 and 7: the request, dropped to "no request" for a share label_dropout
        from .models import training_condition

        y = training_condition(model, labels, label_dropout, generator, x0.device)
        per_example = ((model(x_t, t, y) - target) ** 2).flatten(1).mean(dim=1)  # (N,)
        return per_example.mean() if reduce else (per_example, t)
    per_example = ((model(x_t, t) - target) ** 2).flatten(1).mean(dim=1)  # (N,)
    return per_example.mean() if reduce else (per_example, t)


class FlowMatchScheduler:
    """The flow-matching process and its ODE solvers, with the names of diffusers' ``FlowMatchEulerDiscreteScheduler``.

    ``num_train_timesteps``: the time scale: the network is fed t * num_train_timesteps (1000, as SD3); ``shift``:
    diffusers' (and SD3's) shift of the time grid towards the static, sigma -> shift s / (1 + (shift - 1) s);
    1 keeps the grid uniform (and only with 1 does ``set_timesteps(sigmas=...)`` reproduce diffusers' default grid).
    ``solver``: "euler" (eq. 6.4) or "heun" (eq. 6.5), what ``sample`` runs.
    """

    def __init__(self, num_train_timesteps: int = 1000, shift: float = 1.0, solver: str = "euler"):
        if isinstance(num_train_timesteps, bool) or not isinstance(num_train_timesteps, numbers.Integral) \
                or num_train_timesteps < 1:
            raise ValueError(f"num_train_timesteps must be a positive int (the time scale), got "
                             f"{num_train_timesteps!r}.")
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, got {solver!r}.")
        self.num_train_timesteps = int(num_train_timesteps)
        self.shift = check_real(shift, "shift", low=0.0, low_open=True)
        self.solver = solver
        self.num_inference_steps: int | None = None
        self.set_timesteps(self.num_train_timesteps)

    def set_timesteps(self, num_inference_steps: int | None = None, device: torch.device | str | None = None, *,
                      sigmas=None) -> None:
        """The time grid of ``num_inference_steps`` solver steps: sigmas = 1, ..., 1/n, then 0 (uniform, shifted).

        ``sigmas``: your own decreasing times in (0, 1] instead (a 0 is appended, as diffusers does); the shift is
        applied to them, as diffusers does to sigmas passed in. Against diffusers' ``FlowMatchEulerDiscreteScheduler``
        (tests/test_flow.py): the course's grid equals diffusers' ``set_timesteps(sigmas=linspace(1, 1/n, n))``
        for any shift. diffusers' *default* grid is linspace(1, 1/T, n) then 0 (its last step from 1/T to 0 is
        nearly empty) only for shift = 1, where passing those sigmas here gives its timesteps and sigmas exactly;
        with another shift diffusers starts its default grid from the shifted 1/T and shifts it again, which
        this scheduler does not copy.
        """
        device = check_device(device)
        if sigmas is None:
            if isinstance(num_inference_steps, bool) or not isinstance(num_inference_steps, numbers.Integral) \
                    or num_inference_steps < 1:
                raise ValueError(f"num_inference_steps must be a positive int, got {num_inference_steps!r}.")
            n = int(num_inference_steps)
            s = np.linspace(1.0, 0.0, n + 1)[:-1]  # (n,) 1, (n-1)/n, ..., 1/n
        else:
            s = np.asarray(sigmas, dtype=np.float64).reshape(-1)
            if s.size < 1 or not np.all(np.isfinite(s)) or s.min() <= 0 or s.max() > 1 or np.any(np.diff(s) >= 0):
                raise ValueError("sigmas must be decreasing times in (0, 1] (1: pure static); 0 is appended for you.")
            n = int(s.size)
            if num_inference_steps is not None and num_inference_steps != n:  # one of the two would be dropped
                raise ValueError(f"set_timesteps got num_inference_steps={num_inference_steps!r} and {n} sigmas: "
                                 "the sigmas are the grid (one step each), so give one or the other, or both alike.")
        s = self.shift * s / (1 + (self.shift - 1) * s)  # diffusers' shift (1: unchanged)
        sig = torch.from_numpy(s.astype(np.float32))
        self.timesteps = (sig * self.num_train_timesteps).to(device)  # (n,) what diffusers feeds its network
        self.sigmas = torch.cat([sig, torch.zeros(1)]).to(device)  # (n + 1,) the course's t, ending at 0
        self.num_inference_steps = n

    @property
    def num_function_evals(self) -> int:
        """How many network calls ``sample`` makes over the current grid: n (Euler), 2n - 1 (Heun)."""
        n = len(self.timesteps)
        return n if self.solver == "euler" else 2 * n - 1

    def scale_noise(self, sample: torch.Tensor, timestep, noise: torch.Tensor) -> torch.Tensor:
        """x_t = (1 - t) x_0 + t eps (eq. 6.1) for x_0 = ``sample``, eps = ``noise``, t = ``timestep`` /
        num_train_timesteps; ``timestep``: one per example (N,), or one number, in [0, num_train_timesteps]."""
        x0, eps = as_float_tensor(sample, "sample"), as_float_tensor(noise, "noise")
        if x0.shape != eps.shape:
            raise ValueError(f"noise must have the shape of sample {tuple(x0.shape)}, got {tuple(eps.shape)}.")
        check_finite(x0, "sample")
        check_finite(eps, "noise")
        ts = torch.as_tensor(timestep, dtype=torch.float32).reshape(-1).to(x0.device)
        if ts.numel() not in (1, x0.shape[0]):
            raise ValueError(f"timestep must be one number or one per example ({x0.shape[0]},), got {ts.numel()}.")
        if bool((ts < 0).any()) or bool((ts > self.num_train_timesteps).any()) or not bool(torch.isfinite(ts).all()):
            raise ValueError(f"timestep must lie in [0, {self.num_train_timesteps}] (diffusers' units: t * "
                             f"{self.num_train_timesteps}), got {ts.min().item():g}..{ts.max().item():g}.")
        t = (ts / self.num_train_timesteps).to(x0.dtype).reshape((-1,) + (1,) * (x0.ndim - 1))
        return (1 - t) * x0 + t * eps

    def index_for_timestep(self, timestep) -> int:
        """The position of ``timestep`` in ``timesteps`` (an error saying which are allowed if it is not there)."""
        value = timestep.item() if isinstance(timestep, torch.Tensor) and timestep.numel() == 1 else timestep
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"timestep must be one number from scheduler.timesteps, got {type(timestep).__name__}.")
        hits = (self.timesteps.cpu() - float(value)).abs() <= 1e-3
        if not bool(hits.any()):
            more = ", ..." if len(self.timesteps) > 6 else ""
            shown = ", ".join(f"{v:g}" for v in self.timesteps[:6].tolist()) + more
            raise ValueError(f"timestep {value!r} is not one of scheduler.timesteps ({shown}): "
                             "step from the entries of timesteps, after set_timesteps(n).")
        return int(hits.nonzero()[0, 0])

    def step(self, model_output: torch.Tensor, timestep, sample: torch.Tensor,
             next_model_output: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> FlowMatchOutput:
        """One solver step from ``timestep`` (an entry of ``timesteps``) to the next time of the grid.

        1. t and t_next from ``sigmas``; 2. Euler: x + (t_next - t) v (eq. 6.4; diffusers' step); 3. with
        ``next_model_output`` (the velocity at Euler's landing point and t_next): Heun's averaged slope (eq. 6.5).
        ``generator`` is unused (the ODE has no fresh noise), kept for the diffusers signature.
        """
        v = as_float_tensor(model_output, "model_output")
        x = as_float_tensor(sample, "sample")
        if v.shape != x.shape:
            raise ValueError(f"model_output must have the shape of sample {tuple(x.shape)}, got {tuple(v.shape)}.")
        check_finite(x, "sample")
        check_finite(v, "model_output")
        k = self.index_for_timestep(timestep)
        t, t_next = float(self.sigmas[k]), float(self.sigmas[k + 1])  # 1.
        prev = x + (t_next - t) * v  # 2. Euler (eq. 6.4)
        if next_model_output is not None:  # 3. Heun (eq. 6.5)
            v2 = as_float_tensor(next_model_output, "next_model_output")
            if v2.shape != x.shape:
                raise ValueError(f"next_model_output must have the shape of sample {tuple(x.shape)}, got "
                                 f"{tuple(v2.shape)}.")
            check_finite(v2, "next_model_output")
            prev = x + (t_next - t) * (v + v2) / 2
        return FlowMatchOutput(prev_sample=prev, pred_original_sample=x - t * v)


def path_bend(path: torch.Tensor) -> torch.Tensor:
    """How far each sampling path bends (Lesson 6, section 4): 0 for a straight line.

    ``path``: (S + 1, N, ...) the states of N runs, from the start (static) to the end (the sample). For each run,
    the largest distance of a state from the straight line through its start and end, divided by the distance
    from start to end (N,). A straight path gives 0; a quarter circle about 0.21 (the arc's height over its chord).
    """
    path = as_float_tensor(path, "path")
    if path.ndim < 3 or path.shape[0] < 2:
        raise ValueError(f"path must hold S + 1 >= 2 states of N runs, (S + 1, N, ...), got {tuple(path.shape)}.")
    p = path.flatten(2).double()  # (S + 1, N, D)
    a, b = p[0], p[-1]  # (N, D) start and end
    chord = b - a
    length = chord.norm(dim=1).clamp_min(1e-12)  # (N,)
    u = chord / length[:, None]  # the line's direction
    rel = p - a  # (S + 1, N, D)
    along = (rel * u).sum(-1, keepdim=True) * u  # the part along the line
    return ((rel - along).norm(dim=-1).max(dim=0).values / length).float()  # (N,)


def steps_for_evals(solver: str, evals: int) -> int:
    """The most solver steps whose network evaluations fit in ``evals``: Euler (and DDIM) n; Heun (evals + 1) // 2,
    since n Heun steps make 2n - 1 evaluations (an even budget leaves one unused)."""
    if solver not in (*SOLVERS, "ddim"):
        raise ValueError(f"solver must be one of euler, heun, ddim, got {solver!r}.")
    if isinstance(evals, bool) or not isinstance(evals, numbers.Integral) or evals < 1:
        raise ValueError(f"evals must be a positive int, got {evals!r}.")
    return int(evals + 1) // 2 if solver == "heun" else int(evals)


@torch.no_grad()
def flow_sample_loop(model: nn.Module, scheduler: FlowMatchScheduler, x: torch.Tensor, *,
                     keep_trajectory: bool = False, progress: bool = True, trajectory=None):
    """The flow branch of ``sampling.sample``: integrate dx/dt = v(x, t) from x (t = 1, static) to t = 0.

    Every solver step calls ``model(x, t)`` with t (N,) float times in [0, 1]: once (Euler), twice (Heun, except
    on the last step). ``trajectory`` (a sampling.Trajectory) collects, per step, the time started from, the
    sample landed on and the clean guess x_t - t v.
    """
    n, device = x.shape[0], x.device
    steps = list(range(len(scheduler.timesteps)))
    if progress:
        from .progress import progress as _progress

        steps = _progress(steps, desc="sampling", unit="step", leave=False)
    sigmas = scheduler.sigmas.tolist()
    for k in steps:
        t, t_next = sigmas[k], sigmas[k + 1]
        v = model(x, torch.full((n,), t, device=device))
        out = scheduler.step(v, scheduler.timesteps[k], x)  # Euler (eq. 6.4)
        if scheduler.solver == "heun" and t_next > 0:  # Heun's correction (eq. 6.5); the last step stays Euler
            v_next = model(out.prev_sample, torch.full((n,), t_next, device=device))
            out = scheduler.step(v, scheduler.timesteps[k], x, next_model_output=v_next)
        x = out.prev_sample
        if keep_trajectory and trajectory is not None:
            trajectory.timesteps.append(t)
            trajectory.samples.append(x.cpu())
            trajectory.x0_guesses.append(out.pred_original_sample.cpu())
    return x
