"""NoiseScheduler against diffusers' DDPMScheduler (the oracle), its properties, and its error messages."""

from __future__ import annotations

import random

import pytest
import torch

from course_utils.scheduler import NoiseScheduler

diffusers = pytest.importorskip("diffusers")
DDPMScheduler = diffusers.DDPMScheduler


def _oracle(T: int, beta_start: float = 1e-4, beta_end: float = 0.02, schedule: str = "linear") -> DDPMScheduler:
    name = "squaredcos_cap_v2" if schedule in ("cosine", "squaredcos_cap_v2") else schedule
    return DDPMScheduler(num_train_timesteps=T, beta_start=beta_start, beta_end=beta_end, beta_schedule=name)


def _assert_same_schedule(ours: NoiseScheduler, ref: DDPMScheduler) -> None:
    T = ours.num_train_timesteps
    for name in ("betas", "alphas", "alphas_cumprod"):
        a, b = getattr(ours, name), getattr(ref, name)
        assert a.dtype == torch.float32, name
        assert a.shape == b.shape == (T,), name
        torch.testing.assert_close(a, b.to(torch.float32), rtol=1e-6, atol=1e-7, msg=f"{name} differs from diffusers")
    assert torch.equal(ours.timesteps, ref.timesteps.long())


# ---------------------------------------------------------------- schedules agree with diffusers

@pytest.mark.parametrize("T", [1, 2, 10, 50, 1000, 4000])
@pytest.mark.parametrize("beta_range", [(1e-4, 0.02), (1e-3, 0.3), (1e-4, 1e-4)])
def test_linear_schedule_matches_diffusers(T, beta_range):
    ours = NoiseScheduler(T, *beta_range, beta_schedule="linear")
    _assert_same_schedule(ours, _oracle(T, *beta_range))
    # the linear ends are exactly the requested betas (float32)
    assert ours.betas[0].item() == pytest.approx(beta_range[0], rel=1e-6)
    assert ours.betas[-1].item() == pytest.approx(beta_range[1] if T > 1 else beta_range[0], rel=1e-6)


@pytest.mark.parametrize("T", [1, 2, 10, 50, 1000, 4000])
@pytest.mark.parametrize("name", ["cosine", "squaredcos_cap_v2"])
def test_cosine_schedule_matches_diffusers(T, name):
    ours = NoiseScheduler(T, beta_schedule=name)
    _assert_same_schedule(ours, _oracle(T, schedule="cosine"))
    assert float(ours.betas.max()) <= 0.999 + 1e-7  # the cap


def test_random_linear_schedules_match_diffusers():
    rng = random.Random(20240611)
    for _ in range(20):
        T = rng.randint(1, 3000)
        lo, hi = sorted(10 ** rng.uniform(-5, -0.5) for _ in range(2))
        _assert_same_schedule(NoiseScheduler(T, lo, hi), _oracle(T, lo, hi))


# ---------------------------------------------------------------- add_noise agrees with diffusers

@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("shape", [(8, 3, 16, 16), (8, 1, 8, 8), (64, 2)])
def test_add_noise_matches_diffusers(schedule, shape):
    g = torch.Generator().manual_seed(0)
    ours, ref = NoiseScheduler(1000, beta_schedule=schedule), _oracle(1000, schedule=schedule)
    x0 = torch.rand(shape, generator=g) * 2 - 1
    noise = torch.randn(shape, generator=g)
    t = torch.randint(0, 1000, (shape[0],), generator=g)
    t[0], t[1] = 0, 999  # both ends
    got = ours.add_noise(x0, noise, t)
    want = ref.add_noise(x0, noise, t)
    assert got.shape == x0.shape and got.dtype == x0.dtype
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)
    # and by hand, for one example
    abar = ours.alphas_cumprod[t[2]]
    torch.testing.assert_close(got[2], abar.sqrt() * x0[2] + (1 - abar).sqrt() * noise[2])


@pytest.mark.parametrize("t", [0, 1, 500, 999])
def test_add_noise_single_int_timestep(t):
    g = torch.Generator().manual_seed(1)
    ours, ref = NoiseScheduler(), _oracle(1000)
    x0 = torch.rand(4, 1, 8, 8, generator=g) * 2 - 1
    noise = torch.randn(4, 1, 8, 8, generator=g)
    got = ours.add_noise(x0, noise, t)
    torch.testing.assert_close(got, ref.add_noise(x0, noise, torch.tensor([t])), rtol=1e-6, atol=1e-6)
    # a single int is the same as that timestep repeated for every example
    assert torch.equal(got, ours.add_noise(x0, noise, torch.full((4,), t)))


def test_add_noise_endpoints():
    s = NoiseScheduler()
    x0 = torch.full((3, 2), 0.5)
    noise = torch.randn(3, 2, generator=torch.Generator().manual_seed(2))
    near_clean = s.add_noise(x0, noise, 0)
    assert (near_clean - x0).abs().max() < 0.02  # abar_0 = 1 - 1e-4
    near_static = s.add_noise(x0, noise, 999)
    assert (near_static - noise).abs().max() < 0.01  # abar_999 ~ 4e-5


# ---------------------------------------------------------------- properties

@pytest.mark.parametrize("kwargs", [dict(), dict(beta_schedule="cosine"), dict(num_train_timesteps=50, beta_end=0.3)])
def test_alphas_cumprod_strictly_decreasing_in_unit_interval(kwargs):
    s = NoiseScheduler(**kwargs)
    abar = s.alphas_cumprod
    assert bool((abar > 0).all()) and bool((abar < 1).all())
    assert bool((abar[1:] < abar[:-1]).all())
    torch.testing.assert_close(s.alphas, 1 - s.betas)
    torch.testing.assert_close(abar, torch.cumprod(s.alphas.double(), 0).float(), rtol=1e-5, atol=0)


def test_default_linear_schedule_values():
    s = NoiseScheduler()
    assert s.num_train_timesteps == 1000
    assert s.betas[0].item() == pytest.approx(1e-4) and s.betas[-1].item() == pytest.approx(0.02)
    assert s.alphas_cumprod[-1].item() == pytest.approx(4.036e-5, rel=1e-2)  # nearly pure static at T-1
    assert s.timesteps[0].item() == 999 and s.timesteps[-1].item() == 0


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_signal_to_noise(schedule):
    s = NoiseScheduler(beta_schedule=schedule)
    snr = s.signal_to_noise()
    abar = s.alphas_cumprod
    assert snr.shape == (1000,)
    torch.testing.assert_close(snr, abar / (1 - abar))
    assert bool((snr[1:] < snr[:-1]).all())  # the signal only fades


def test_closed_form_equals_repeated_one_step_in_distribution():
    """x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps_t, T times, has the closed form's mean and variance."""
    T, n, c = 100, 200_000, 0.7
    s = NoiseScheduler(T)
    g = torch.Generator().manual_seed(1234)
    x = torch.full((n,), c, dtype=torch.float64)
    betas = s.betas.double()
    checks = (0, 9, 49, T - 1)
    for t in range(T):
        x = (1 - betas[t]).sqrt() * x + betas[t].sqrt() * torch.randn(n, generator=g, dtype=torch.float64)
        if t in checks:
            abar = s.alphas_cumprod[t].double().item()
            mean, var = x.mean().item(), x.var().item()
            # within 4.5 standard errors: sqrt(var / n) for the mean, var * sqrt(2 / n) for the variance
            se_mean, se_var = ((1 - abar) / n) ** 0.5, (1 - abar) * (2 / n) ** 0.5
            assert mean == pytest.approx(abar**0.5 * c, abs=4.5 * se_mean), t
            assert var == pytest.approx(1 - abar, abs=4.5 * se_var), t
    # the closed form's own samples agree with the stepped ones
    eps = torch.randn(n, 1, generator=g)
    closed = s.add_noise(torch.full((n, 1), c), eps, T - 1).double()[:, 0]
    assert closed.mean().item() == pytest.approx(x.mean().item(), abs=0.01)
    assert closed.var().item() == pytest.approx(x.var().item(), abs=0.012)
    assert 1 - s.alphas_cumprod[-1].item() == pytest.approx(0.636, abs=0.01)  # the test is not trivial


# ---------------------------------------------------------------- errors

def test_unknown_schedule_name():
    with pytest.raises(ValueError, match=r"Unknown beta_schedule 'cosine_v3'.*linear"):
        NoiseScheduler(beta_schedule="cosine_v3")


@pytest.mark.parametrize("T", [0, -5])
def test_non_positive_num_train_timesteps(T):
    with pytest.raises(ValueError, match="num_train_timesteps must be a positive int"):
        NoiseScheduler(T)


@pytest.mark.parametrize("T", [10.0, True, "1000"])
def test_non_int_num_train_timesteps(T):
    with pytest.raises(ValueError, match="num_train_timesteps must be a positive int"):
        NoiseScheduler(T)


@pytest.mark.parametrize("beta_start,beta_end", [(0.02, 1e-4), (0.0, 0.02), (-1e-4, 0.02), (1e-4, 1.0), (1e-4, 1.5)])
def test_bad_beta_range(beta_start, beta_end):
    with pytest.raises(ValueError, match="0 < beta_start <= beta_end < 1"):
        NoiseScheduler(beta_start=beta_start, beta_end=beta_end)


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(3)
    return torch.rand(4, 1, 8, 8, generator=g) * 2 - 1, torch.randn(4, 1, 8, 8, generator=g)


@pytest.mark.parametrize("bad", [-1, 1000])
def test_timestep_out_of_range(batch, bad):
    x0, noise = batch
    s = NoiseScheduler()
    with pytest.raises(ValueError, match=r"must lie in 0\.\.999"):
        s.add_noise(x0, noise, torch.tensor([0, 1, 2, bad]))
    with pytest.raises(ValueError, match=r"must lie in 0\.\.999"):
        s.add_noise(x0, noise, bad)


@pytest.mark.parametrize("t", [torch.tensor([1.0, 2.0, 3.0, 4.0]), 5.0, torch.tensor([True, False, True, False])])
def test_non_integer_timesteps(batch, t):
    x0, noise = batch
    with pytest.raises(TypeError, match="timesteps must be an integer tensor"):
        NoiseScheduler().add_noise(x0, noise, t)


def test_bool_timestep(batch):
    x0, noise = batch
    with pytest.raises(TypeError, match="got a bool"):
        NoiseScheduler().add_noise(x0, noise, True)


def test_timesteps_2d(batch):
    x0, noise = batch
    with pytest.raises(ValueError, match=r"scalar or a 1-D tensor.*\(4, 1\)"):
        NoiseScheduler().add_noise(x0, noise, torch.zeros(4, 1, dtype=torch.long))


def test_timesteps_wrong_length(batch):
    x0, noise = batch
    with pytest.raises(ValueError, match=r"one timestep per example: expected shape \(4,\).*\(3,\)"):
        NoiseScheduler().add_noise(x0, noise, torch.tensor([1, 2, 3]))


def test_noise_shape_mismatch(batch):
    x0, _ = batch
    with pytest.raises(ValueError, match=r"noise must have the same shape as original_samples \(4, 1, 8, 8\)"):
        NoiseScheduler().add_noise(x0, torch.randn(4, 1, 8, 7), torch.tensor([0, 1, 2, 3]))


def test_integer_images(batch):
    _, noise = batch
    x0 = torch.randint(0, 255, (4, 1, 8, 8))
    with pytest.raises(TypeError, match=r"original_samples must be a floating-point tensor.*int64"):
        NoiseScheduler().add_noise(x0, noise, 0)


def test_non_tensor_images(batch):
    _, noise = batch
    with pytest.raises(TypeError, match="original_samples must be a torch.Tensor, got list"):
        NoiseScheduler().add_noise([[0.0] * 8] * 4, noise, 0)


def test_add_noise_rejects_images_outside_model_range():
    s = NoiseScheduler(100)
    x = torch.rand(2, 3, 8, 8) * 255
    with pytest.raises(ValueError, match=r"\[-1, 1\].*\[0, 255\]"):
        s.add_noise(x, torch.randn_like(x), torch.tensor([1, 2]))


def test_add_noise_rejects_an_unbatched_image():
    s = NoiseScheduler(100)
    x = torch.rand(3, 8, 8)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        s.add_noise(x, torch.randn_like(x), torch.tensor([1]))


# ---------------------------------------------------------------- the numbers docs/notation.md quotes

def test_notation_card():
    """docs/notation.md: abar at the start, the noise left at code timestep 0, set_timesteps(20), paper index."""
    from pathlib import Path

    card = (Path(__file__).resolve().parent.parent / "docs" / "notation.md").read_text(encoding="utf-8")
    s = NoiseScheduler(1000, beta_schedule="cosine")
    abar = s.alphas_cumprod
    assert f"{abar[-1].item():.1e}" == "2.4e-09" and "2.4 \\times 10^{-9}" in card
    assert f"{(1 - abar[0]).sqrt().item():.4f}" == "0.0064" and "0.0064" in card
    assert s.timesteps[:3].tolist() == [999, 998, 997] and s.timesteps[-1] == 0
    s.set_timesteps(20)
    assert s.timesteps[:2].tolist() == [950, 900] and s.timesteps[-2:].tolist() == [50, 0]
    assert "[950, 900, ..., 50, 0]" in card
    # the paper's alpha_bar_t (steps 1..T) is alphas_cumprod[t - 1]: a product over the first t alphas
    for t_paper in (1, 2, 500, 1000):
        assert torch.allclose(torch.prod(s.alphas[:t_paper]), abar[t_paper - 1], rtol=1e-5)
