"""Flow matching (Lesson 6): the scheduler against diffusers, the solvers' order of error, training, the
checkpoint record, the refusals of a sampler of the wrong kind, and the command line."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

import course_utils as cu
from course_utils.checkpoints import CheckpointError, check_config
from course_utils.ddim import DDIMScheduler
from course_utils.flow import FlowMatchScheduler, euler_step, flow_matching_loss, heun_step
from course_utils.metrics import energy_distance
from course_utils.process import describe_process
from course_utils.sampling import sample

diffusers = pytest.importorskip("diffusers")


def diffusers_flow(**kw):
    return diffusers.FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, **kw)


# ----------------------------------------------------------------------------- diffusers as the oracle


@pytest.mark.parametrize("n", [1, 2, 4, 7, 50])
@pytest.mark.parametrize("shift", [1.0, 3.0])
def test_timesteps_and_sigmas_match_diffusers(n, shift):
    ours, theirs = FlowMatchScheduler(shift=shift), diffusers_flow(shift=shift)
    ours.set_timesteps(n)  # the course's uniform grid 1, ..., 1/n: diffusers with these sigmas passed in
    theirs.set_timesteps(sigmas=np.linspace(1, 1 / n, n))
    torch.testing.assert_close(ours.sigmas, theirs.sigmas)
    torch.testing.assert_close(ours.timesteps, theirs.timesteps)
    if shift != 1.0:  # diffusers' default grid with a shift starts from the shifted 1/T and shifts it again
        return
    default = diffusers_flow()  # diffusers' own default grid, linspace(1, 1/T, n), through sigmas=
    default.set_timesteps(n)
    ours.set_timesteps(sigmas=np.linspace(1, 1 / 1000, n))
    torch.testing.assert_close(ours.sigmas, default.sigmas)
    torch.testing.assert_close(ours.timesteps, default.timesteps)


def test_scale_noise_matches_diffusers():
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(5, 1, 8, 8, generator=g), torch.randn(5, 1, 8, 8, generator=g)
    theirs = diffusers_flow()
    theirs.set_timesteps(10)
    ts = theirs.timesteps[[0, 3, 5, 8, 9]]  # one per example, from its grid (its scale_noise looks them up)
    expected = theirs.scale_noise(x0, ts, eps)
    torch.testing.assert_close(FlowMatchScheduler().scale_noise(x0, ts, eps), expected)
    t = ts / 1000  # eq. 6.1 written out
    torch.testing.assert_close(expected, (1 - t)[:, None, None, None] * x0 + t[:, None, None, None] * eps)


@pytest.mark.parametrize("n", [1, 3, 8])
def test_euler_step_matches_diffusers(n):
    ours, theirs = FlowMatchScheduler(), diffusers_flow()
    ours.set_timesteps(n)
    theirs.set_timesteps(sigmas=np.linspace(1, 1 / n, n))
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 1, 8, 8, generator=g)
    a = b = x
    for t_ours, t_theirs in zip(ours.timesteps, theirs.timesteps, strict=True):
        v_a, v_b = torch.sin(3 * a) + t_ours / 1000, torch.sin(3 * b) + t_theirs / 1000  # a dummy velocity
        a = ours.step(v_a, t_ours, a).prev_sample
        b = theirs.step(v_b, t_theirs, b).prev_sample
    torch.testing.assert_close(a, b)


# ----------------------------------------------------------------------------- the solvers' order of error


class TimeODE(nn.Module):
    """A 'network' whose velocity is v(x, t) = t x: dx/dt = t x, so x(0) = x(1) exp(-1/2) exactly."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x, t):
        return t.to(x.dtype)[:, None] * x


def solve(solver: str, n: int) -> float:
    model = TimeODE().double()
    sched = FlowMatchScheduler(solver=solver)
    sched.set_timesteps(n)
    x1 = torch.ones(1, 1, dtype=torch.float64)
    sigmas = sched.sigmas.double().tolist()
    x = x1
    for k in range(n):  # the scheduler's grid, solved with the pure functions
        t, t_next = sigmas[k], sigmas[k + 1]
        velocity = lambda x, t: model(x, torch.full((x.shape[0],), t, dtype=torch.float64))  # noqa: E731
        x = euler_step(x, velocity(x, t), t, t_next) if solver == "euler" else heun_step(velocity, x, t, t_next)
    return abs(float(x) - math.exp(-0.5))


@pytest.mark.parametrize("solver,order", [("euler", 1), ("heun", 2)])
def test_solvers_converge_with_their_order(solver, order):
    ns = [4, 8, 16, 32, 64]
    errors = [solve(solver, n) for n in ns]
    slope = -np.polyfit(np.log(ns), np.log(errors), 1)[0]  # error ~ C h^order = C n^-order
    assert abs(slope - order) < 0.15, (solver, slope, errors)


def test_sample_runs_the_same_solvers():
    """sample()'s flow branch gives the pure functions' numbers (Euler and Heun), with 2n - 1 calls for Heun."""
    calls = []

    class Counting(TimeODE):
        config = {}

        def forward(self, x, t):
            calls.append(float(t[0]))
            return super().forward(x, t)

    for solver in ("euler", "heun"):
        calls.clear()
        sched = FlowMatchScheduler(solver=solver)
        sched.set_timesteps(4)
        g = torch.Generator().manual_seed(0)
        x = sample(Counting(), sched, 3, shape=(1,), generator=g, progress=False)
        x1 = torch.randn(3, 1, generator=torch.Generator().manual_seed(0))
        expected = x1
        s = sched.sigmas.tolist()
        for k in range(4):
            vel = lambda x, t: t * x  # noqa: E731
            expected = euler_step(expected, vel(expected, s[k]), s[k], s[k + 1]) if solver == "euler" else \
                heun_step(vel, expected, s[k], s[k + 1])
        torch.testing.assert_close(x, expected)
        assert len(calls) == sched.num_function_evals == (4 if solver == "euler" else 7)
        assert calls[-1] == pytest.approx(0.25)  # the last call is at t = 1/4: the last step lands on 0 as Euler


# ----------------------------------------------------------------------------- training, the record, the refusals


@pytest.fixture(scope="module")
def point_flow():
    torch.manual_seed(0)
    model, hist = cu.train(cu.PointDenoiser(prediction_type="velocity"), cu.load_points(2000, seed=0),
                           FlowMatchScheduler(), steps=1500, batch_size=512, ema_decay=0.995, progress=False)
    return model, hist


def test_flow_matching_on_points_reaches_a_bound(point_flow):
    model, hist = point_flow
    test = cu.load_points(500, seed=1)
    trained = cu.evaluate_loss(model, test, FlowMatchScheduler())
    untrained = cu.evaluate_loss(cu.PointDenoiser(prediction_type="velocity"), test, FlowMatchScheduler())
    assert trained < 1.5 < untrained, (trained, untrained)  # measured: 1.40 and about 2.9
    sched = FlowMatchScheduler(solver="heun")
    sched.set_timesteps(4)  # 7 network evaluations
    x = sample(model, sched, 1000, generator=torch.Generator().manual_seed(0), progress=False)
    assert energy_distance(x, cu.load_points(1000, seed=2)) < 0.02  # measured 0.008
    assert model.trained_on["process"] == {"kind": "flow_matching", "num_train_timesteps": 1000}
    assert model.config["prediction_type"] == "velocity"


def test_loss_draws_and_target():
    """t continuous in [0, 1), drawn before eps; the target is eps - x_0 (eq. 6.2, 6.3)."""
    x0 = cu.load_points(64, seed=0)
    g = torch.Generator().manual_seed(3)
    t = torch.rand(64, generator=g)
    eps = torch.randn(x0.shape, generator=g)

    class Oracle(nn.Module):
        def forward(self, x_t, t_in):
            torch.testing.assert_close(t_in, t)
            torch.testing.assert_close(x_t, (1 - t[:, None]) * x0 + t[:, None] * eps)
            return eps - x0

    loss = flow_matching_loss(Oracle(), x0, None, generator=torch.Generator().manual_seed(3))
    assert float(loss) == 0.0
    per, t_out = cu.diffusion_loss(cu.PointDenoiser(prediction_type="velocity"), x0, FlowMatchScheduler(),
                                   generator=torch.Generator().manual_seed(3), reduce=False)
    assert per.shape == (64,) and torch.equal(t_out, t)


def test_evaluate_loss_bins_for_flow(point_flow):
    loss, (centres, per_bin) = cu.evaluate_loss(point_flow[0], cu.load_points(500, seed=1), FlowMatchScheduler(),
                                                bins=4)
    assert centres.tolist() == [125, 375, 625, 875] and per_bin.shape == (4,) and math.isfinite(loss)


def test_existing_configs_unchanged_and_velocity_round_trip(tmp_path, point_flow):
    assert "prediction_type" not in cu.UNet().config and "prediction_type" not in cu.PointDenoiser().config
    assert "prediction_type" not in cu.load_checkpoint("digits").config  # and its fingerprint still matches
    path = cu.save_checkpoint(point_flow[0], tmp_path / "flow.safetensors")
    back = cu.load_checkpoint(path, expected_process=FlowMatchScheduler())
    assert back.config["prediction_type"] == "velocity" and back.trained_on["process"]["kind"] == "flow_matching"
    with pytest.raises(CheckpointError, match="kind: trained on 'flow_matching', given 'noise'"):
        cu.load_checkpoint(path, expected_process=DDIMScheduler(1000))
    with pytest.raises(CheckpointError, match="kind: trained on 'noise', given 'flow_matching'"):
        cu.load_checkpoint("digits", expected_process=FlowMatchScheduler())
    with pytest.raises(CheckpointError, match="prediction_type must be 'epsilon', 'velocity' or 'sample', got 'v'"):
        check_config({**cu.UNet().config, "prediction_type": "v"})


def test_wrong_kind_of_sampler_is_refused(point_flow):
    with pytest.raises(ValueError, match="predicts a velocity .* sample it with FlowMatchScheduler"):
        sample(point_flow[0], DDIMScheduler(1000), 4, progress=False)
    untrained_velocity = cu.PointDenoiser(prediction_type="velocity")  # no record: the config alone decides
    with pytest.raises(ValueError, match="predicts a velocity"):
        sample(untrained_velocity, cu.NoiseScheduler(1000), 4, progress=False)
    with pytest.raises(ValueError, match="this model predicts the noise eps .*'digits_flow'"):
        sample(cu.load_checkpoint("points"), FlowMatchScheduler(), 4, progress=False)
    with pytest.raises(ValueError, match="eta only applies to DDIM"):
        sample(point_flow[0], FlowMatchScheduler(), 4, eta=0.5, progress=False)
    assert describe_process(FlowMatchScheduler(solver="heun")) == {"kind": "flow_matching", "num_train_timesteps": 1000}


# ----------------------------------------------------------------------------- bad input, one clear error


def test_bad_input_messages():
    with pytest.raises(ValueError, match="solver must be one of euler, heun, got 'rk4'"):
        FlowMatchScheduler(solver="rk4")
    with pytest.raises(ValueError, match="shift must be a finite number > 0"):
        FlowMatchScheduler(shift=0)
    s = FlowMatchScheduler()
    with pytest.raises(ValueError, match="num_inference_steps must be a positive int, got 0"):
        s.set_timesteps(0)
    with pytest.raises(ValueError, match=r"sigmas must be decreasing times in \(0, 1\]"):
        s.set_timesteps(sigmas=[0.2, 0.5])
    s.set_timesteps(4)
    x = torch.zeros(2, 1, 8, 8)
    with pytest.raises(ValueError, match=r"timestep 600 is not one of scheduler.timesteps \(1000, 750, 500, 250\)"):
        s.step(x, 600, x)
    with pytest.raises(ValueError, match="model_output must have the shape of sample"):
        s.step(x[:1], 1000, x)
    with pytest.raises(ValueError, match=r"t_next must lie in \[0, 1\]"):
        euler_step(x, x, 1.0, -0.25)
    with pytest.raises(TypeError, match="velocity must be a function"):
        heun_step(x, x, 1.0, 0.5)
    with pytest.raises(ValueError, match=r"timestep must lie in \[0, 1000\]"):
        s.scale_noise(x, 1500, x)
    model = cu.UNet(channels=8, prediction_type="velocity")
    with pytest.raises(TypeError, match=r"takes t as float times in \[0, 1\].*t.float\(\) / num_train_timesteps"):
        model(x, torch.tensor([999, 500]))
    with pytest.raises(ValueError, match=r"t must lie in \[0, 1\].*got 0..999"):
        model(x, torch.tensor([0.0, 999.0]))
    with pytest.raises(ValueError, match="prediction_type must be one of epsilon, velocity, sample, got 'v'"):
        cu.UNet(prediction_type="v")
    with pytest.raises(TypeError, match="integer timesteps"):  # an epsilon model still refuses float times
        cu.UNet(channels=8)(x, torch.tensor([0.5, 0.5]))


# ----------------------------------------------------------------------------- the command line


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "course_utils.sample", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def flow_file(tmp_path_factory, point_flow):
    return str(cu.save_checkpoint(point_flow[0], tmp_path_factory.mktemp("ck") / "points_flow.safetensors"))


@pytest.mark.parametrize("solver,steps,nfe", [("heun", 4, 7), ("euler", 3, 3)])
def test_cli_flow(tmp_path, flow_file, solver, steps, nfe):
    r = run_cli("--checkpoint", flow_file, "--steps", str(steps), "--solver", solver, "--n", "50", "--out", "s.npy",
                cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"{solver} with {steps} steps ({nfe} network evaluations)" in r.stdout
    x = np.load(tmp_path / "s.npy")
    assert x.shape == (50, 2) and x.dtype == np.float32


@pytest.mark.parametrize(
    "args,message",
    [
        (["--checkpoint", "digits", "--solver", "heun"], "--solver heun is for a flow-matching checkpoint"),
        (["--checkpoint", "FLOW", "--sampler", "ddpm"], "--sampler does not apply to the flow-matching checkpoint"),
        (["--checkpoint", "FLOW", "--eta", "0.5", "--spacing", "leading"], "--eta, --spacing do not apply"),
        (["--checkpoint", "FLOW", "--solver", "rk4"], "invalid choice: 'rk4'"),
    ],
)
def test_cli_flow_errors(tmp_path, flow_file, args, message):
    args = [flow_file if a == "FLOW" else a for a in args]
    r = run_cli(*args, "--n", "2", "--out", "s.npy", cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


# ----------------------------------------------------------------------------- the shipped checkpoint

SHIPPED_FLOW_MAX_HELDOUT_LOSS = 0.43  # measured 0.4135 (scripts/train_checkpoints.py --only digits_flow)


def test_shipped_digits_flow_checkpoint():
    model = cu.load_checkpoint("digits-flow", expected_arch="UNet", expected_process=FlowMatchScheduler())
    assert model.config["prediction_type"] == "velocity"
    assert model.trained_on == {"process": {"kind": "flow_matching", "num_train_timesteps": 1000},
                                "sample_shape": [1, 8, 8]}
    test = cu.load_digits(split="test")
    loss = cu.evaluate_loss(model, test, FlowMatchScheduler())
    untrained = cu.evaluate_loss(cu.UNet(channels=32, prediction_type="velocity"), test, FlowMatchScheduler())
    assert loss < SHIPPED_FLOW_MAX_HELDOUT_LOSS < untrained, (loss, untrained)
    meta = cu.checkpoints.read_metadata("digits_flow")["metadata"]
    assert meta["settings"]["prediction_type"] == "velocity" and meta["settings"]["steps"] == 8000
    assert cu.checkpoints.SHIPPED["digits_flow"].stat().st_size < 5e6
