"""DPM-Solver++(2M) (course_utils/dpm_solver.py) against diffusers' DPMSolverMultistepScheduler, the oracle."""

import pytest
import torch

from course_utils.checkpoints import load_checkpoint
from course_utils.ddim import DDIMScheduler
from course_utils.dpm_solver import DPMSolverMultistepScheduler
from course_utils.sampling import sample

diffusers = pytest.importorskip("diffusers")


def _dummy_model(x, t):
    return 0.3 * x + 1e-3 * float(t) - 0.1 * torch.tanh(x)


def _chain(scheduler, x):
    for t in scheduler.timesteps:
        x = scheduler.step(_dummy_model(x, t), t, x).prev_sample
    return x


@pytest.mark.parametrize("steps", [1, 2, 4, 10, 20, 50])
@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_matches_diffusers_on_the_same_timesteps(steps, schedule):
    ours = DPMSolverMultistepScheduler(1000, beta_schedule=schedule, clip_sample=False)
    theirs = diffusers.DPMSolverMultistepScheduler(
        1000, beta_schedule="squaredcos_cap_v2" if schedule == "cosine" else "linear", solver_order=2,
        algorithm_type="dpmsolver++", final_sigmas_type="zero", timestep_spacing="trailing")
    ours.set_timesteps(steps, timestep_spacing="trailing")
    theirs.set_timesteps(steps)
    assert ours.timesteps.tolist() == theirs.timesteps.tolist()
    x = torch.randn(3, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(_chain(ours, x.clone()), _chain(theirs, x.clone()), atol=1e-4, rtol=1e-4)


def test_its_first_order_step_is_ddim():
    """With one step (first order only) and on the first step of any run, DPM-Solver++ is DDIM with eta = 0."""
    ddim, dpm = DDIMScheduler(1000, beta_schedule="cosine", clip_sample=False), \
        DPMSolverMultistepScheduler(1000, beta_schedule="cosine", clip_sample=False)
    for s in (ddim, dpm):
        s.set_timesteps(8, "below_top")
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(1))
    t = int(ddim.timesteps[0])
    eps = _dummy_model(x, t)
    torch.testing.assert_close(dpm.step(eps, t, x).prev_sample, ddim.step(eps, t, x).prev_sample, atol=1e-5, rtol=1e-5)


def test_steps_out_of_order_are_refused():
    s = DPMSolverMultistepScheduler(1000, beta_schedule="cosine")
    s.set_timesteps(4, "below_top")
    x = torch.randn(2, 2)
    with pytest.raises(ValueError, match="in order from the first"):
        s.step(x, int(s.timesteps[1]), x)
    with pytest.raises(ValueError, match="call set_timesteps"):
        DPMSolverMultistepScheduler(1000).step(x, 10, x)


def test_samples_digits_through_the_course_loop():
    model = load_checkpoint("digits")
    s = DPMSolverMultistepScheduler(1000, beta_schedule="cosine", clip_sample=True)
    s.set_timesteps(8, "below_top")
    x = sample(model, s, 4, progress=False, generator=torch.Generator().manual_seed(0))
    assert x.shape == (4, 1, 8, 8) and torch.isfinite(x).all()
