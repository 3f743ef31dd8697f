"""From static back to pictures: the sampling loop of Lesson 3, with a progress bar and an optional trajectory.

    scheduler.set_timesteps(50)                       # or leave it at all T steps
    samples = sample(model, scheduler, 64, generator=torch.Generator().manual_seed(0))

The loop is the same for every sampler: start from pure static x_T ~ N(0, I), then for each timestep
ask the model for the noise and let the scheduler take one step (DDPM: ``NoiseScheduler``; DDIM:
``DDIMScheduler``, with ``eta``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .ddim import DDIMScheduler
from .scheduler import NoiseScheduler


@dataclass
class Trajectory:
    """What the loop saw: the timesteps, and after each step x_{t-1} and the model's guess x0_hat (on the CPU)."""

    timesteps: list[int] = field(default_factory=list)
    samples: list[torch.Tensor] = field(default_factory=list)
    x0_guesses: list[torch.Tensor] = field(default_factory=list)


def sample_shape(model: nn.Module) -> tuple[int, ...]:
    """The shape of one example the model works on, from its config: (C, H, W) for pictures, (2,) for points."""
    config = getattr(model, "config", {})
    if config.get("arch") == "UNet":
        return (config["in_channels"], config["image_size"], config["image_size"])
    if config.get("arch") == "PointDenoiser":
        return (2,)
    raise ValueError("cannot tell the sample shape of this model: pass shape=(C, H, W) explicitly.")


@torch.no_grad()
def sample(model: nn.Module, scheduler: NoiseScheduler, n: int, *, eta: float = 0.0,
           generator: torch.Generator | None = None, shape: tuple[int, ...] | None = None,
           keep_trajectory: bool = False, progress: bool = True, device: torch.device | str | None = None):
    """Draw ``n`` samples by running ``scheduler``'s reverse steps over ``scheduler.timesteps``.

    Returns samples (n, *shape), or (samples, Trajectory) with ``keep_trajectory=True``. Random draws use
    ``generator`` (a CPU generator gives the same numbers on every device). ``eta`` is for DDIM only.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n (how many samples) must be a positive int, got {n!r}.")
    if not 0 <= eta <= 1:
        raise ValueError(f"eta must be from 0 to 1, got {eta}.")
    if eta and not isinstance(scheduler, DDIMScheduler):
        raise ValueError("eta only applies to DDIM: use a DDIMScheduler, or leave eta at 0 for DDPM.")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.eval()
    shape = tuple(shape) if shape is not None else sample_shape(model)
    gen_device = generator.device if generator is not None else device
    x = torch.randn((n, *shape), generator=generator, device=gen_device).to(device)  # x_T: pure static
    traj = Trajectory()
    steps = scheduler.timesteps.tolist()
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="sampling", unit="step", leave=False)
    for t in steps:
        eps_hat = model(x, torch.full((n,), t, device=device, dtype=torch.long))
        if isinstance(scheduler, DDIMScheduler):
            out = scheduler.step(eps_hat, t, x, eta=eta, generator=generator)
        else:
            out = scheduler.step(eps_hat, t, x, generator=generator)
        x = out.prev_sample
        if keep_trajectory:
            traj.timesteps.append(t)
            traj.samples.append(x.cpu())
            traj.x0_guesses.append(out.pred_original_sample.cpu())
    return (x, traj) if keep_trajectory else x
