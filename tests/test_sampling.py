"""Reverse steps (DDPM, DDIM) against diffusers as the oracle, the sampling loop, the CLI and the metrics."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

import course_utils as cu
from course_utils.ddim import DDIMScheduler
from course_utils.metrics import digit_classifier, digit_metrics, energy_distance, frechet_distance
from course_utils.sampling import sample

diffusers = pytest.importorskip("diffusers")
NAMES = {"linear": "linear", "cosine": "squaredcos_cap_v2"}


def dummy_model(x, t):
    """A stand-in for a trained network: any fixed function of (x_t, t) exercises the step the same way."""
    t = torch.as_tensor(t, dtype=torch.float32)
    return 0.3 * x + 1e-3 * t - 0.1 * torch.tanh(x)


def run_chain(scheduler, x, generator, **kw):
    for t in scheduler.timesteps:
        out = scheduler.step(dummy_model(x, t), int(t) if isinstance(scheduler, cu.NoiseScheduler) else t, x,
                             generator=generator, **kw)
        x = out.prev_sample
    return x, out.pred_original_sample


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("steps", [None, 50, 7])
def test_ddpm_step_matches_diffusers(schedule, steps):
    ours = cu.NoiseScheduler(1000, beta_schedule=schedule)
    theirs = diffusers.DDPMScheduler(1000, beta_schedule=NAMES[schedule])
    if steps:
        ours.set_timesteps(steps)
        theirs.set_timesteps(steps)
    assert torch.equal(ours.timesteps, theirs.timesteps)
    x = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    a, a0 = run_chain(ours, x.clone(), torch.Generator().manual_seed(1))
    b, b0 = run_chain(theirs, x.clone(), torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(a0, b0, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("steps", [100, 25, 10])
@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
def test_ddim_step_matches_diffusers(schedule, steps, eta):
    ours = DDIMScheduler(1000, beta_schedule=schedule)
    theirs = diffusers.DDIMScheduler(1000, beta_schedule=NAMES[schedule])
    ours.set_timesteps(steps)
    theirs.set_timesteps(steps)
    assert torch.equal(ours.timesteps, theirs.timesteps)
    x = torch.randn(3, 2, generator=torch.Generator().manual_seed(0))
    a, _ = run_chain(ours, x.clone(), torch.Generator().manual_seed(2), eta=eta)
    b, _ = run_chain(theirs, x.clone(), torch.Generator().manual_seed(2), eta=eta)
    torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


def test_single_ddpm_step_against_posterior_formula():
    """One step at t > 0 with no clipping: mean and variance of q(x_{t-1} | x_t, x0_hat) (Ho et al. 2020, eq. 7)."""
    s = cu.NoiseScheduler(1000, beta_schedule="cosine", clip_sample=False)
    x_t = torch.randn(20000, 1, generator=torch.Generator().manual_seed(0))
    eps = torch.zeros_like(x_t)
    t = 500
    out = s.step(eps, t, x_t, generator=torch.Generator().manual_seed(1))
    a, a_prev, beta = s.alphas_cumprod[t], s.alphas_cumprod[t - 1], s.betas[t]
    mean = a_prev.sqrt() * beta / (1 - a) * (x_t / a.sqrt()) + s.alphas[t].sqrt() * (1 - a_prev) / (1 - a) * x_t
    resid = out.prev_sample - mean
    var = (1 - a_prev) / (1 - a) * beta
    assert abs(float(resid.mean())) < 0.01 * float(var.sqrt()) * 5
    assert float(resid.var()) == pytest.approx(float(var), rel=0.03)
    last = s.step(eps, 0, x_t, generator=torch.Generator().manual_seed(1)).prev_sample
    assert torch.equal(last, s.step(eps, 0, x_t, generator=torch.Generator().manual_seed(9)).prev_sample)  # no noise


def test_set_timesteps_and_step_errors():
    s = cu.NoiseScheduler(1000)
    for bad in (0, 1001, 2.5, -3):
        with pytest.raises(ValueError, match="num_inference_steps must be an int from 1 to 1000"):
            s.set_timesteps(bad)
    s.set_timesteps(10)
    with pytest.raises(ValueError, match="not one of the scheduler's timesteps"):
        s.step(torch.zeros(1, 2), 5, torch.zeros(1, 2))
    with pytest.raises(ValueError, match="same shape|shape of sample"):
        s.step(torch.zeros(1, 3), 900, torch.zeros(1, 2))
    d = DDIMScheduler(1000)
    with pytest.raises(ValueError, match="call set_timesteps"):
        d.step(torch.zeros(1, 2), 999, torch.zeros(1, 2))
    d.set_timesteps(10)
    with pytest.raises(ValueError, match="eta must be a number from 0 to 1"):
        d.step(torch.zeros(1, 2), 900, torch.zeros(1, 2), eta=-0.5)


def test_sample_loop_shapes_trajectory_and_seed():
    model = cu.load_checkpoint("digits")
    s = DDIMScheduler(1000, beta_schedule="cosine")
    s.set_timesteps(5)
    x, traj = sample(model, s, 4, generator=torch.Generator().manual_seed(0), keep_trajectory=True, progress=False)
    assert x.shape == (4, 1, 8, 8)
    assert traj.timesteps == s.timesteps.tolist() and len(traj.samples) == len(traj.x0_guesses) == 5
    y = sample(model, s, 4, generator=torch.Generator().manual_seed(0), progress=False)
    assert torch.equal(x, y)  # same seed, same samples
    with pytest.raises(ValueError, match="eta only applies to DDIM"):
        sample(model, cu.NoiseScheduler(1000), 2, eta=0.5, progress=False)
    with pytest.raises(ValueError, match="positive int"):
        sample(model, s, 0, progress=False)


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "course_utils.sample", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_cli_writes_npy_and_png(tmp_path):
    r = run_cli("--checkpoint", "digits", "--n", "8", "--steps", "5", "--out", "s.npy", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    x = np.load(tmp_path / "s.npy")
    assert x.shape == (8, 1, 8, 8) and x.dtype == np.float32 and x.min() >= -1 and x.max() <= 1
    assert (tmp_path / "s.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "args,message",
    [
        (["--checkpoint", "cats"], "no checkpoint at cats"),
        (["--steps", "0"], "--steps must be between 1 and 1000"),
        (["--steps", "5000"], "--steps must be between 1 and 1000"),
        (["--eta", "-1"], "--eta must be between 0 and 1"),
        (["--eta", "2"], "--eta must be between 0 and 1"),
    ],
)
def test_cli_bad_input(tmp_path, args, message):
    r = run_cli(*args, "--n", "2", cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_metrics_references():
    clf = digit_classifier()
    assert clf.test_accuracy > 0.9
    train, test = cu.load_digits(split="train"), cu.load_digits(split="test")
    real = digit_metrics(train[:500], test)
    noise = digit_metrics(torch.rand(500, 1, 8, 8) * 2 - 1, test)
    assert real["frechet"] < 0.2 * noise["frechet"]
    assert real["precision"] > 0.8 and real["recall"] > 0.8 and noise["precision"] < 0.2
    assert sum(real[f"class_{c}"] for c in range(10)) == pytest.approx(1.0)
    f = clf.features(test)
    assert frechet_distance(f, f) == pytest.approx(0.0, abs=1e-6)


def test_energy_distance():
    a = cu.load_points(500, seed=0)
    assert energy_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    assert energy_distance(a, cu.load_points(500, seed=1)) < 0.05 < energy_distance(a, torch.randn(500, 2))
