"""Bad input gets one clear error (issue 10, findings 1, 4 and 5), numpy scalars are accepted, and the
"trailing" timestep spacing matches diffusers (the oracle).

Every test here failed before the fix: NaN passed the range checks, the models ended in torch tracebacks
for a wrong dtype, sizes of 0 built models, step(500.7) was step(500), a scalar variance_noise was added to
every pixel, get_device("cuda") returned a device that could not be used, and np.int64 was refused.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import course_utils as cu
from course_utils.data import to_model_range
from course_utils.ddim import DDIMScheduler
from course_utils.env import get_device, seed_everything
from course_utils.forward import BlurToStatic, blur, frequency_snr

NAN, INF = float("nan"), float("inf")


def _digits(n: int = 4) -> torch.Tensor:
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1


# ---------------------------------------------------------------- 1. NaN and inf

@pytest.mark.parametrize("bad,counts", [(NAN, "1 NaN and 0 inf"), (INF, "0 NaN and 1 inf"), (-INF, "0 NaN and 1 inf")])
def test_a_nan_or_inf_pixel_is_refused_everywhere_a_range_is_checked(bad, counts):
    x = _digits()
    x[1, 0, 3, 3] = bad
    s = cu.NoiseScheduler(100)
    calls = [
        lambda: blur(x, 1.0),
        lambda: s.add_noise(x, torch.randn_like(x), 5),
        lambda: BlurToStatic(s).add_noise(x, torch.randn_like(x), 5),
        lambda: frequency_snr(x, s),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=rf"holds {counts} value\(s\) out of 256: every value must be a finite"):
            call()


def test_nan_count_is_reported():
    x = _digits()
    x[0, 0, :2] = NAN  # 16 NaN
    x[2, 0, 0, 0] = INF
    with pytest.raises(ValueError, match=r"images holds 16 NaN and 1 inf value\(s\)"):
        blur(x, 1.0)


@pytest.mark.parametrize("data", [
    torch.cat([cu.load_points(64), torch.tensor([[NAN, 0.0]])]),  # points: no range, but finite
    torch.cat([_digits(), torch.full((1, 1, 8, 8), NAN)]),  # pictures
])
def test_train_refuses_data_that_is_not_finite(data):
    with pytest.raises(ValueError, match=r"data holds \d+ NaN"):
        cu.train(cu.PointDenoiser(hidden=16) if data.ndim == 2 else cu.UNet(channels=8), data,
                 cu.NoiseScheduler(100), steps=2, batch_size=4, progress=False)


def test_train_stops_at_the_first_non_finite_loss_with_the_learning_rate_as_a_likely_cause():
    """lr = 1e10 sends the weights to inf after one step; the loss of the second step is NaN."""
    with pytest.raises(FloatingPointError, match=r"training stopped at step 2 of 60: the loss is nan, not a finite "
                                                 r"number\. Likely causes: the learning rate is too high \(lr=1e\+10"):
        cu.train(cu.PointDenoiser(hidden=16), cu.load_points(256), cu.NoiseScheduler(1000, beta_schedule="cosine"),
                 steps=60, batch_size=32, lr=1e10, warmup=1, progress=False)


class _NanAfter(torch.nn.Module):
    """Predicts zeros for ``k`` calls, then NaN: a stand-in for a run that diverges."""

    def __init__(self, k: int):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.k, self.calls = k, 0

    def forward(self, x, t):
        self.calls += 1
        return x * self.w * (NAN if self.calls > self.k else 1.0)


def test_train_stops_before_the_nan_step_changes_the_weights():
    model = _NanAfter(3)
    with pytest.raises(FloatingPointError, match=r"step 4 of 10: the loss is nan.*data is not finite"):
        cu.train(model, cu.load_points(64), cu.NoiseScheduler(100), steps=10, batch_size=8, ema_decay=None,
                 progress=False)
    assert model.calls == 4 and torch.isfinite(model.w).all()  # stopped at once; the NaN step was not taken


def test_train_with_a_loss_fn_that_turns_nan_later_names_it():
    def loss_fn(model, x0, alphas_cumprod, generator):
        loss_fn.calls += 1
        return model.w.sum() * 0 + (NAN if loss_fn.calls > 2 else 1.0)
    loss_fn.calls = 0
    with pytest.raises(FloatingPointError, match=r"step 3 of 5.*or your loss_fn returned it"):
        cu.train(_NanAfter(100), cu.load_points(64), cu.NoiseScheduler(100), steps=5, batch_size=8,
                 progress=False, loss_fn=loss_fn)


# ---------------------------------------------------------------- 4. model input dtype

@pytest.mark.parametrize("model,shape", [(lambda: cu.UNet(channels=8), (2, 1, 8, 8)),
                                         (lambda: cu.PointDenoiser(hidden=16), (2, 2))])
def test_models_refuse_the_wrong_dtype_with_the_fix(model, shape):
    m, t = model(), torch.tensor([1, 2])
    x = torch.zeros(shape)
    what = "images" if len(shape) == 4 else "points"
    cases = [
        (x.double(), r"\(the dtype of its weights\), got dtype torch\.float64: use x\.float\(\)"),
        (x.long(), r"got dtype torch\.int64: use x\.float\(\)"),
        (x.bool(), r"got dtype torch\.bool: use x\.float\(\)"),
        (x.numpy(), r"got a numpy array: use torch\.from_numpy\(x\)\.float\(\)"),
        (x.tolist(), r"got list"),
    ]
    for bad, match in cases:
        with pytest.raises(TypeError, match=rf"takes {what} as a float32 torch tensor.*{match}"):
            m(bad, t)
    with pytest.raises(TypeError, match=r"t must be a torch tensor .*numpy array: use torch\.from_numpy\(t\)"):
        m(x, t.numpy())
    with pytest.raises(TypeError, match="t must be integer timesteps"):
        m(x, torch.tensor([True, False]))
    assert m.double()(x.double(), t).dtype == torch.float64  # a converted model takes its own dtype


def test_sklearn_digits_map_to_the_model_range_with_x_over_8_minus_1():
    from sklearn.datasets import load_digits

    raw = load_digits().images  # integers 0..16
    assert raw.min() == 0 and raw.max() == 16
    assert torch.equal(torch.from_numpy(raw).float()[:, None] / 8 - 1, cu.load_digits())


def test_train_on_integer_digits_says_float32_in_minus_one_one_with_the_digits_hint():
    from sklearn.datasets import load_digits

    raw = torch.from_numpy(load_digits().images[:64].astype(np.int64))[:, None]  # int64, 0..16
    with pytest.raises(TypeError, match=r"data must be float32 with values in \[-1, 1\].*got torch\.int64 with values "
                                        r"0\.\.16: use x\.float\(\) / 8 - 1 .*cu\.load_digits\(\)") as err:
        cu.train(cu.UNet(channels=8), raw, cu.NoiseScheduler(100), steps=1, progress=False)
    assert "255" not in str(err.value)
    pixels = torch.randint(0, 256, (8, 1, 8, 8), generator=torch.Generator().manual_seed(0))
    with pytest.raises(TypeError, match=r"0\.\.25\d: use x\.float\(\) / 127\.5 - 1"):
        cu.train(cu.UNet(channels=8), pixels, cu.NoiseScheduler(100), steps=1, progress=False)


def test_train_on_a_numpy_array_says_use_torch_from_numpy():
    x = cu.load_digits()[:64].numpy()  # float32
    with pytest.raises(TypeError, match=r"data must be a torch tensor, got a numpy array \(dtype float32\): "
                                        r"use torch\.from_numpy\(x\)\.$"):
        cu.train(cu.UNet(channels=8), x, cu.NoiseScheduler(100), steps=1, progress=False)
    with pytest.raises(TypeError, match=r"numpy array \(dtype float64\): use torch\.from_numpy\(x\)\.float\(\)"):
        cu.train(cu.UNet(channels=8), x.astype(np.float64), cu.NoiseScheduler(100), steps=1, progress=False)


def test_float_digits_in_0_16_get_the_digits_hint():
    x = torch.from_numpy(np.linspace(0, 16, 64, dtype=np.float32)).reshape(1, 1, 8, 8)
    with pytest.raises(ValueError, match=r"got values in \[0, 16\]\. If these are scikit-learn's digits"):
        blur(x, 1.0)


# ---------------------------------------------------------------- 5. parameters

@pytest.mark.parametrize("d_min", [-0.1, 1.0, 1.5, NAN, INF, "0.1", True])
def test_blur_d_min_outside_0_1(d_min):
    with pytest.raises(ValueError, match=r"d_min must be a finite number in \[0, 1\)"):
        blur(_digits(), 1.0, d_min=d_min)
    with pytest.raises(ValueError, match=r"d_min must be a finite number in \[0, 1\)"):
        BlurToStatic(cu.NoiseScheduler(10), d_min=d_min)


@pytest.mark.parametrize("cls", [cu.NoiseScheduler, DDIMScheduler])
@pytest.mark.parametrize("bad", [0, -1.0, NAN, INF, "1"])
def test_clip_sample_range_must_be_positive_and_finite(cls, bad):
    with pytest.raises(ValueError, match=r"clip_sample_range must be a finite number > 0"):
        cls(100, clip_sample_range=bad)


def test_clip_sample_must_be_a_bool():
    with pytest.raises(TypeError, match="clip_sample must be True or False"):
        cu.NoiseScheduler(100, clip_sample="no")


@pytest.mark.parametrize("bad", [0, -255, NAN, INF, None])
def test_to_model_range_max_value(bad):
    with pytest.raises(ValueError, match=r"max_value must be a finite number > 0 \(the value of full brightness"):
        to_model_range(np.arange(4), bad)
    assert torch.equal(to_model_range(np.array([0, 8, 16]), 16), torch.tensor([-1.0, 0.0, 1.0]))


@pytest.mark.parametrize("kwargs,match", [
    (dict(channels=0), "channels must be a positive int, got 0"),
    (dict(channels=-8), "channels must be a positive int, got -8"),
    (dict(channels=16.0), "channels must be a positive int, got 16.0"),
    (dict(emb_dim=0), "emb_dim must be a positive int"),
    (dict(emb_dim=-1), "emb_dim must be a positive int"),
    (dict(image_size=0), "image_size must be a positive int"),
    (dict(image_size=-8), "image_size must be a positive int"),
    (dict(image_size="8"), "image_size must be a positive int"),
    (dict(in_channels=0), "in_channels must be a positive int"),
    (dict(in_channels=True), "in_channels must be a positive int"),
    (dict(num_train_timesteps=0), "num_train_timesteps must be a positive int"),
    (dict(num_train_timesteps=1000.0), "num_train_timesteps must be a positive int"),
    (dict(dropout=1.0), r"dropout must be a finite number in \[0, 1\)"),
    (dict(dropout=NAN), r"dropout must be a finite number in \[0, 1\)"),
])
def test_unet_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cu.UNet(**kwargs)


@pytest.mark.parametrize("kwargs,match", [
    (dict(hidden=0), "hidden must be a positive int"),
    (dict(hidden=-4), "hidden must be a positive int"),
    (dict(hidden=32.0), "hidden must be a positive int"),
    (dict(layers=0), "layers must be a positive int"),
    (dict(layers=-1), "layers must be a positive int"),
    (dict(time_dim=0), "time_dim must be an int >= 4"),
    (dict(time_dim=-32), "time_dim must be an int >= 4"),
    (dict(time_dim=7), "time_dim must be even"),
    (dict(num_train_timesteps=0), "num_train_timesteps must be a positive int"),
    (dict(num_train_timesteps="1000"), "num_train_timesteps must be a positive int"),
])
def test_point_denoiser_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cu.PointDenoiser(**kwargs)


def _step_args(n: int = 2):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 1, 8, 8, generator=g), torch.randn(n, 1, 8, 8, generator=g)


@pytest.mark.parametrize("cls", [cu.NoiseScheduler, DDIMScheduler])
def test_step_refuses_fractional_timesteps_and_accepts_every_integer_kind(cls):
    s = cls(1000)
    s.set_timesteps(1000)
    eps, x = _step_args()
    kw = dict(eta=0.5) if cls is DDIMScheduler else {}
    z = torch.randn_like(x)
    want = s.step(eps, 500, x, variance_noise=z, **kw).prev_sample
    for ok in (np.int64(500), np.int32(500), torch.tensor(500), torch.tensor([500]), 500.0, np.float32(500.0)):
        assert torch.equal(s.step(eps, ok, x, variance_noise=z, **kw).prev_sample, want), repr(ok)
    for bad in (500.7, 499.5, np.float64(500.2), torch.tensor(500.5), NAN):
        with pytest.raises(TypeError, match=r"timestep must be a whole number .*got .*int\(round\(t\)\)"):
            s.step(eps, bad, x, **kw)
    for bad in (True, np.bool_(True), torch.tensor(True)):
        with pytest.raises(TypeError, match="got a bool"):
            s.step(eps, bad, x, **kw)
    with pytest.raises(ValueError, match=r"timestep must be one integer for the whole batch, got shape \(2,\)"):
        s.step(eps, torch.tensor([500, 400]), x, **kw)
    with pytest.raises(ValueError, match=r"timestep must lie in 0\.\.999"):
        s.step(eps, 1000, x, **kw)
    with pytest.raises(TypeError, match="timestep must be an int in 0..999, got str"):
        s.step(eps, "500", x, **kw)


@pytest.mark.parametrize("cls", [cu.NoiseScheduler, DDIMScheduler])
def test_variance_noise_must_have_the_sample_shape(cls):
    s = cls(1000)
    s.set_timesteps(10)
    eps, x = _step_args()
    kw = dict(eta=1.0) if cls is DDIMScheduler else {}
    for bad in (torch.tensor(0.5), torch.zeros(1), torch.zeros(1, 1, 8, 8), torch.zeros(2, 1, 8, 7)):
        with pytest.raises(ValueError, match=r"variance_noise must have the shape of sample \(2, 1, 8, 8\) "
                                             r"\(one draw per value\), got"):
            s.step(eps, 900, x, variance_noise=bad, **kw)
    with pytest.raises(TypeError, match="variance_noise must be a torch.Tensor, got float"):
        s.step(eps, 900, x, variance_noise=0.5, **kw)
    with pytest.raises(TypeError, match="variance_noise must be a floating-point tensor"):
        s.step(eps, 900, x, variance_noise=torch.zeros(2, 1, 8, 8, dtype=torch.long), **kw)


def test_get_device_refuses_a_device_this_machine_cannot_use(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match=r"get_device\('cuda'\): .* \(torch\.cuda\.is_available\(\) is False\)\. "
                                           r"Use get_device\(\)"):
        get_device("cuda")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match=r"get_device\('mps'\): Apple's MPS is not usable"):
        get_device("mps")
    assert get_device() == torch.device("cpu") and get_device("cpu") == torch.device("cpu")


# ---------------------------------------------------------------- numpy scalars

def test_numpy_integers_are_accepted():
    s = cu.NoiseScheduler(np.int64(1000))
    assert type(s.num_train_timesteps) is int and torch.equal(s.alphas_cumprod, cu.NoiseScheduler(1000).alphas_cumprod)
    s.set_timesteps(np.int64(50))
    assert s.num_inference_steps == 50 and type(s.num_inference_steps) is int and s.timesteps[0] == 980
    x, eps = _step_args()
    want = s.add_noise(x.clamp(-1, 1), eps, 7)
    assert torch.equal(s.add_noise(x.clamp(-1, 1), eps, np.int64(7)), want)
    assert torch.equal(s.add_noise(x.clamp(-1, 1), eps, np.array([7, 7])), want)
    with pytest.raises(TypeError, match="got a bool"):
        s.add_noise(x.clamp(-1, 1), eps, np.bool_(True))
    with pytest.raises(ValueError, match="num_train_timesteps must be a positive int"):
        cu.NoiseScheduler(np.float64(1000))
    with pytest.raises(ValueError, match="num_inference_steps must be an int from 1 to 1000"):
        s.set_timesteps(np.bool_(True))
    unet = cu.UNet(channels=np.int64(8), num_train_timesteps=np.int64(1000))
    json.dumps(unet.config)  # plain ints: a checkpoint header can hold them
    assert cu.load_points(np.int64(10)).shape == (10, 2)
    assert seed_everything(np.int64(3)).initial_seed() == 3
    with pytest.raises(ValueError, match=r"seed must be a non-negative int below 2\*\*32"):
        seed_everything(2**32)


# ---------------------------------------------------------------- timestep_spacing="trailing" (diffusers is the oracle)

diffusers = pytest.importorskip("diffusers")


def test_default_spacing_stays_leading():
    s = cu.NoiseScheduler(1000)
    assert s.timestep_spacing == "leading"
    s.set_timesteps(20)
    assert s.timestep_spacing == "leading" and s.timesteps[:2].tolist() == [950, 900] and s.timesteps[-1] == 0
    s.set_timesteps(20, timestep_spacing="trailing")
    assert s.timestep_spacing == "trailing" and s.timesteps[:2].tolist() == [999, 949] and s.timesteps[-1] == 49
    s.set_timesteps(20)
    assert s.timestep_spacing == "leading" and s.timesteps[0] == 950
    with pytest.raises(ValueError,
                       match="timestep_spacing must be one of 'leading', 'trailing', 'below_top', got 'linspace'"):
        s.set_timesteps(20, timestep_spacing="linspace")


@pytest.mark.parametrize("T", [1000, 200, 7])
def test_trailing_timesteps_match_diffusers_and_start_at_T_minus_1(T):
    for n in sorted({1, 2, 3, 7, 10, 50, 61, 103, 501, 999, T} & set(range(1, T + 1))):
        ours = cu.NoiseScheduler(T)
        ours.set_timesteps(n, "trailing")
        for cls in (diffusers.DDPMScheduler, diffusers.DDIMScheduler):
            theirs = cls(T, timestep_spacing="trailing")
            theirs.set_timesteps(n)
            # diffusers' first n: for 62 counts (61, 103, ...) it also lists a stray -1 after them
            assert torch.equal(ours.timesteps, theirs.timesteps[:n]), (cls.__name__, T, n)
        assert ours.timesteps[0] == T - 1 and len(ours.timesteps) == n
        assert (ours.timesteps[:-1] > ours.timesteps[1:]).all()


def _dummy_model(x, t):
    return 0.3 * x + 1e-3 * float(t) - 0.1 * torch.tanh(x)


def _chain(scheduler, x, generator, **kw):
    for t in scheduler.timesteps:
        x = scheduler.step(_dummy_model(x, t), t, x, generator=generator, **kw).prev_sample
    return x


@pytest.mark.parametrize("schedule", ["linear", "squaredcos_cap_v2"])
@pytest.mark.parametrize("steps", [7, 50, 501])
def test_trailing_ddpm_chain_matches_diffusers(schedule, steps):
    ours = cu.NoiseScheduler(1000, beta_schedule="cosine" if schedule != "linear" else "linear")
    theirs = diffusers.DDPMScheduler(1000, beta_schedule=schedule, timestep_spacing="trailing")
    ours.set_timesteps(steps, timestep_spacing="trailing")
    theirs.set_timesteps(steps)
    x = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    a = _chain(ours, x.clone(), torch.Generator().manual_seed(1))
    b = _chain(theirs, x.clone(), torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("steps", [10, 50, 100])
@pytest.mark.parametrize("eta", [0.0, 0.5])
def test_trailing_ddim_chain_matches_diffusers(steps, eta):
    ours = DDIMScheduler(1000, beta_schedule="cosine")
    theirs = diffusers.DDIMScheduler(1000, beta_schedule="squaredcos_cap_v2", timestep_spacing="trailing")
    ours.set_timesteps(steps, timestep_spacing="trailing")
    theirs.set_timesteps(steps)
    x = torch.randn(3, 2, generator=torch.Generator().manual_seed(0))
    a = _chain(ours, x.clone(), torch.Generator().manual_seed(2), eta=eta)
    b = _chain(theirs, x.clone(), torch.Generator().manual_seed(2), eta=eta)
    torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


def test_trailing_ddim_lands_on_the_next_entry_where_diffusers_lands_on_t_minus_T_over_n():
    """ddim.py's docstring: T = 1000, n = 3 gives 999, 666, 332; diffusers' step from 666 lands on 333."""
    ours = DDIMScheduler(1000, clip_sample=False)
    theirs = diffusers.DDIMScheduler(1000, clip_sample=False, timestep_spacing="trailing")
    ours.set_timesteps(3, "trailing")
    theirs.set_timesteps(3)
    assert ours.timesteps.tolist() == theirs.timesteps.tolist() == [999, 666, 332]
    assert ours.previous_timestep(666) == 332
    x, eps = torch.randn(2, 2), torch.randn(2, 2)
    abar = ours.alphas_cumprod
    x0_hat = (x - (1 - abar[666]).sqrt() * eps) / abar[666].sqrt()

    def landing(prev):  # eq. 12 with eta = 0
        return abar[prev].sqrt() * x0_hat + (1 - abar[prev]).sqrt() * eps

    torch.testing.assert_close(ours.step(eps, 666, x).prev_sample, landing(332))
    torch.testing.assert_close(theirs.step(eps, 666, x).prev_sample, landing(333))
    assert not math.isclose(float(abar[332]), float(abar[333]))


@pytest.mark.parametrize("steps", [10, 50])
@pytest.mark.parametrize("eta", [0.0, 0.5])
def test_ddim_with_clipped_model_output_matches_diffusers(steps, eta):
    """use_clipped_model_output=True: eps re-derived from the clipped x0_hat, as diffusers' DDIMScheduler does."""
    ours = DDIMScheduler(1000, beta_schedule="cosine", clip_sample=True)
    theirs = diffusers.DDIMScheduler(1000, beta_schedule="squaredcos_cap_v2", clip_sample=True,
                                     timestep_spacing="trailing")
    ours.set_timesteps(steps, timestep_spacing="trailing")
    theirs.set_timesteps(steps)
    x = 3 * torch.randn(3, 1, 4, 4, generator=torch.Generator().manual_seed(0))  # large: the clip bites
    a = _chain(ours, x.clone(), torch.Generator().manual_seed(2), eta=eta, use_clipped_model_output=True)
    b = _chain(theirs, x.clone(), torch.Generator().manual_seed(2), eta=eta, use_clipped_model_output=True)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    c = _chain(ours, x.clone(), torch.Generator().manual_seed(2), eta=eta)  # without it: another answer
    assert (a - c).abs().max() > 1e-2


@pytest.mark.parametrize("T", [1000, 200, 7])
def test_below_top_grid_starts_one_stride_below_and_equals_leading_when_n_divides_T(T):
    for n in sorted({1, 2, 3, 4, 7, 8, 10, 50, 61, 501, T} & set(range(1, T + 1))):
        s = cu.NoiseScheduler(T)
        s.set_timesteps(n, "below_top")
        ts = s.timesteps
        assert len(ts) == n and ts[-1] == 0 and (ts[:-1] > ts[1:]).all(), (T, n, ts)
        assert ts[0] == round(T - T / n) and (n == T or ts[0] < T - 1)
        if T % n == 0:
            lead = cu.NoiseScheduler(T)
            lead.set_timesteps(n, "leading")
            assert torch.equal(ts, lead.timesteps)
    s = cu.NoiseScheduler(1000)
    s.set_timesteps(501, "below_top")
    assert s.timesteps[0] == 998  # "leading" starts at 500 here
