"""Blur as heat spreading (DCT), and the blur-to-static forward process."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_utils.data import load_digits
from course_utils.forward import BlurToStatic, blur, dct_matrix, frequency_snr, heat_frequencies, snr_crossings
from course_utils.scheduler import NoiseScheduler


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def _rand_images(shape, seed=0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _impulse(size=64):
    x = torch.zeros(1, 1, size, size)
    x[0, 0, size // 2, size // 2] = 1.0
    return x


# ---------------------------------------------------------------- the DCT matrix

@pytest.mark.parametrize("n", [1, 2, 3, 8, 17, 64])
def test_dct_matrix_is_orthonormal(n):
    c = dct_matrix(n)
    assert c.shape == (n, n) and c.dtype == torch.float32
    torch.testing.assert_close(c @ c.T, torch.eye(n), atol=2e-6, rtol=0)
    torch.testing.assert_close(c.T @ c, torch.eye(n), atol=2e-6, rtol=0)
    c64 = dct_matrix(n, dtype=torch.float64)
    torch.testing.assert_close(c64 @ c64.T, torch.eye(n, dtype=torch.float64), atol=1e-12, rtol=0)


@pytest.mark.parametrize("n", [2, 5, 8, 16])
def test_dct_matrix_rows_are_cosines(n):
    c = dct_matrix(n, dtype=torch.float64).numpy()
    i = np.arange(n)
    for k in range(n):
        scale = math.sqrt(1 / n) if k == 0 else math.sqrt(2 / n)
        np.testing.assert_allclose(c[k], scale * np.cos(np.pi * (i + 0.5) * k / n), atol=1e-12)
    # and it is scipy's orthonormal DCT-II
    scipy_fft = pytest.importorskip("scipy.fft")
    np.testing.assert_allclose(c, scipy_fft.dct(np.eye(n), type=2, norm="ortho", axis=0), atol=1e-12)


def test_dct_matrix_rejects_n_below_1():
    with pytest.raises(ValueError, match="n >= 1"):
        dct_matrix(0)


def test_heat_frequencies():
    lam = heat_frequencies(4, 8)
    assert lam.shape == (4, 8)
    assert lam[0, 0].item() == 0.0
    # the pixel grid's Laplacian eigenvalues (eq. 1.2) ...
    assert lam[1, 0].item() == pytest.approx(4 * math.sin(math.pi / 8) ** 2)
    assert lam[0, 1].item() == pytest.approx(4 * math.sin(math.pi / 16) ** 2)
    assert lam[3, 7].item() == pytest.approx(4 * math.sin(3 * math.pi / 8) ** 2 + 4 * math.sin(7 * math.pi / 16) ** 2)
    # ... which for slow patterns are the continuous heat equation's pi^2 (k / N)^2
    big = heat_frequencies(64, 64)
    assert big[1, 0].item() == pytest.approx(math.pi**2 / 64**2, rel=1e-3)
    assert big[2, 3].item() == pytest.approx(math.pi**2 * 13 / 64**2, rel=1e-2)


# ---------------------------------------------------------------- blur

@pytest.mark.parametrize("d_min", [0.0, 0.001])
def test_blur_sigma_zero_is_identity(d_min):
    x = _rand_images((3, 3, 16, 12))
    out = blur(x, 0.0, d_min=d_min)
    assert torch.equal(out, x)  # the docstring promises "unchanged"
    assert out is not x  # a new tensor: editing the output leaves the input alone
    assert torch.equal(blur(x, torch.zeros(3)), x)


def test_blur_zero_sigma_in_a_mixed_batch_is_close_to_identity():
    x = _rand_images((2, 1, 16, 16))
    out = blur(x, torch.tensor([0.0, 2.0]))
    torch.testing.assert_close(out[0], x[0], atol=1e-6, rtol=0)
    assert (out[1] - x[1]).abs().max() > 0.1


@pytest.mark.parametrize("sigma", [0.5, 1.0, 3.0, 60.0])
def test_blur_preserves_mean(sigma):
    x = _rand_images((4, 3, 16, 24), seed=1)
    out = blur(x, sigma)
    assert out.shape == x.shape
    torch.testing.assert_close(out.mean(dim=(2, 3)), x.mean(dim=(2, 3)), atol=2e-6, rtol=0)
    if sigma == 60.0:  # very wide blur: only the DC component (the mean) is left
        torch.testing.assert_close(out, x.mean(dim=(2, 3), keepdim=True).expand_as(x), atol=2e-3, rtol=0)


@pytest.mark.parametrize("s", [1.0, 2.0, 3.0])
def test_blur_impulse_response_is_gaussian_with_variance_sigma_squared(s):
    size, c = 64, 32
    h = blur(_impulse(size), s)[0, 0].double()
    assert h.sum().item() == pytest.approx(1.0, abs=1e-6)
    offsets = torch.arange(size, dtype=torch.float64) - c
    py, px = h.sum(dim=1), h.sum(dim=0)  # marginals along y and x
    assert (py * offsets).sum().item() == pytest.approx(0.0, abs=1e-5)  # centred on the impulse
    assert (px * offsets).sum().item() == pytest.approx(0.0, abs=1e-5)
    assert (py * offsets**2).sum().item() == pytest.approx(s**2, rel=1e-4)
    assert (px * offsets**2).sum().item() == pytest.approx(s**2, rel=1e-4)
    # pointwise: the discrete Gaussian exp(-v) I_n(v) per axis with variance v = s^2 (Lindeberg 1990)
    from scipy.special import ive

    k1 = torch.from_numpy(ive(offsets.abs().numpy(), s**2))
    torch.testing.assert_close(h, torch.outer(k1, k1), atol=1e-6, rtol=0)
    # and close to a sampled Gaussian once s is a few pixels
    g = torch.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * s**2))
    g /= g.sum()
    assert (h - g).abs().max().item() < {1.0: 0.4, 2.0: 0.1, 3.0: 0.04}[s] * g.max().item()
    assert h.min().item() > -1e-6  # a positive kernel (up to round-off): no ringing


def test_blur_per_image_sigma_equals_separate_blurs():
    x = _rand_images((4, 3, 16, 16), seed=2)
    sig = torch.tensor([0.0, 0.5, 1.5, 3.0])
    out = blur(x, sig)
    for i in range(4):
        torch.testing.assert_close(out[i : i + 1], blur(x[i : i + 1], float(sig[i])), atol=1e-6, rtol=0)
    assert not torch.allclose(out[2], out[3], atol=1e-3)


def test_blur_single_element_sigma_tensor_broadcasts():
    x = _rand_images((3, 1, 8, 8), seed=3)
    torch.testing.assert_close(blur(x, torch.tensor([1.5])), blur(x, 1.5))
    torch.testing.assert_close(blur(x, torch.tensor(1.5)), blur(x, 1.5))


@pytest.mark.parametrize("a,b", [(1.0, 2.0), (1.5, 1.5), (3.0, 0.5)])
def test_blur_composes_like_heat(a, b):
    x = _rand_images((2, 3, 16, 16), seed=4)
    twice = blur(blur(x, a), b)
    once = blur(x, math.sqrt(a**2 + b**2))
    torch.testing.assert_close(twice, once, atol=2e-6, rtol=0)
    assert (twice - blur(x, a + b)).abs().max() > 1e-3  # widths add in quadrature, not linearly


def test_fine_detail_fades_faster_than_coarse():
    size = 32
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    checker = (((yy + xx) % 2) * 2 - 1).float()[None, None]  # pixel-scale detail
    coarse = torch.cos(math.pi * (xx + 0.5) / size).float()[None, None]  # one slow wave across the image
    for sigma in (0.5, 1.0, 2.0):
        kept_fine = (blur(checker, sigma).std() / checker.std()).item()
        kept_coarse = (blur(coarse, sigma).std() / coarse.std()).item()
        assert kept_fine < 0.5 * kept_coarse
        assert kept_coarse > 0.97
    # the checkerboard is gone away from the borders (at a reflecting border the pattern's phase flips,
    # so a residue of g(0)^2 = 1 / (2 pi sigma^2) remains at the corners, as with any Gaussian blur)
    out = blur(checker, 2.0)[0, 0]
    assert out[8:-8, 8:-8].abs().max() < 1e-3
    assert out[0, 0].abs().item() < 0.1
    assert blur(coarse, 2.0).abs().max() > 0.95  # the coarse pattern is almost untouched


@pytest.mark.parametrize("ky,kx", [(0, 1), (1, 0), (3, 5), (31, 31)])
def test_each_dct_mode_is_damped_by_exp_minus_lambda_tau(ky, kx):
    """A single cosine pattern keeps its shape and is scaled by exp(-lambda_k * sigma^2 / 2) (eq. 1.2)."""
    size = 32
    c = dct_matrix(size, dtype=torch.float64)
    mode = torch.outer(c[ky], c[kx])
    mode = (mode / mode.abs().max()).float()[None, None]
    lam = 4 * math.sin(math.pi * ky / (2 * size)) ** 2 + 4 * math.sin(math.pi * kx / (2 * size)) ** 2
    for sigma in (0.5, 1.0, 2.0):
        want = math.exp(-lam * sigma**2 / 2)
        torch.testing.assert_close(blur(mode, sigma), want * mode, atol=2e-6, rtol=0)


def test_d_min_keeps_a_floor_of_every_frequency():
    size = 16
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    checker = (((yy + xx) % 2) * 2 - 1).float()[None, None]
    out = blur(checker, 50.0, d_min=0.01)
    assert out.std().item() == pytest.approx(0.01 * checker.std().item(), rel=1e-3)


@pytest.mark.parametrize("sigma", [1.0, 2.0, 4.0])
def test_blur_output_stays_in_range_for_real_images(digits, sigma):
    from course_utils.data import load_photo

    for x in (digits, load_photo(32), _rand_images((16, 3, 16, 16), seed=5)):
        out = blur(x, sigma)
        assert out.min() >= -1 - 1e-4 and out.max() <= 1 + 1e-4


def _worst_case_input(sigma, size=32):
    """The [-1, 1] image that pushes blur's centre pixel highest: the sign pattern of the (flipped) kernel."""
    h = blur(_impulse(size), sigma)[0, 0]
    return torch.sign(h.flip(0).flip(1))[None, None]




@pytest.mark.parametrize(
    "sigma",
    [
        0.3,
        0.5,
        1.0,
        2.0,
        4.0,
    ],
)
def test_blur_output_stays_in_range_max_principle(sigma):
    """Heat spreading never exceeds its initial extremes: for any input in [-1, 1] the blur stays in [-1, 1]."""
    x = _worst_case_input(sigma)
    out = blur(x, sigma, d_min=0.0)
    assert out.max().item() <= 1 + 1e-4 and out.min().item() >= -1 - 1e-4


def test_blur_of_digits_with_small_sigma_stays_in_range(digits):
    out = blur(digits, 0.5)  # got max 1.048 when written
    assert out.max().item() <= 1 + 1e-4 and out.min().item() >= -1 - 1e-4


def test_blurring_a_blurred_digit_again_is_allowed(digits):
    twice = blur(blur(digits[:16], 0.5), 0.5)  # the first blur stays in [-1, 1], so the second is allowed
    torch.testing.assert_close(twice, blur(digits[:16], math.sqrt(0.5)), atol=2e-6, rtol=0)


def test_blur_keeps_dtype_float64():
    x = _rand_images((1, 1, 8, 8)).double()
    out = blur(x, 1.0)
    assert out.dtype == torch.float64
    assert out.sum().item() == pytest.approx(x.sum().item(), abs=1e-10)


# ---------------------------------------------------------------- blur errors

def test_blur_rejects_3d_images():
    with pytest.raises(ValueError, match=r"images must be a batch of images shaped \(N, C, H, W\), got 3 dimension"):
        blur(torch.zeros(1, 8, 8), 1.0)


def test_blur_rejects_0_255_images():
    x = torch.full((1, 1, 8, 8), 200.0)
    with pytest.raises(ValueError, match=r"values in \[-1, 1\].*x / 127\.5 - 1"):
        blur(x, 1.0)


def test_blur_rejects_slightly_out_of_range():
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 0, 0] = -1.2
    with pytest.raises(ValueError, match=r"\[-1, 1\], got values in \[-1\.2"):
        blur(x, 1.0)


def test_blur_rejects_integer_images():
    with pytest.raises(TypeError, match="floating-point"):
        blur(torch.zeros(1, 1, 8, 8, dtype=torch.long), 1.0)


@pytest.mark.parametrize("sigma", [-0.5, torch.tensor([1.0, -1.0]), float("nan"), float("inf")])
def test_blur_rejects_negative_or_non_finite_sigma(sigma):
    with pytest.raises(ValueError, match="finite and >= 0"):
        blur(torch.zeros(2, 1, 8, 8), sigma)


@pytest.mark.parametrize("sigma", [torch.ones(3), torch.ones(2, 1)])
def test_blur_rejects_sigma_of_wrong_shape(sigma):
    with pytest.raises(ValueError, match=r"one value per image \(2,\)"):
        blur(torch.zeros(2, 1, 8, 8), sigma)


def test_blur_rejects_non_numeric_sigma():
    with pytest.raises(TypeError, match="sigma must be a float or a tensor, got str"):
        blur(torch.zeros(1, 1, 8, 8), "1.0")


# ---------------------------------------------------------------- BlurToStatic

def test_blur_to_static_without_blur_is_ddpm():
    s = NoiseScheduler()
    process = BlurToStatic(s, max_blur_sigma=0.0)
    g = torch.Generator().manual_seed(6)
    x0 = torch.rand(6, 3, 16, 16, generator=g) * 2 - 1
    eps = torch.randn(x0.shape, generator=g)
    t = torch.tensor([0, 1, 10, 500, 998, 999])
    assert torch.equal(process.add_noise(x0, eps, t), s.add_noise(x0, eps, t))
    assert torch.equal(process.add_noise(x0, eps, 321), s.add_noise(x0, eps, 321))
    assert torch.equal(process.blur_only(x0, t), x0)
    assert torch.equal(process.blur_sigmas(), torch.zeros(1000))


def test_blur_sigmas_increase_from_zero_to_max():
    for T, m in [(1000, 4.0), (50, 2.5)]:
        sig = BlurToStatic(NoiseScheduler(T), max_blur_sigma=m).blur_sigmas()
        assert sig.shape == (T,) and sig.dtype == torch.float32
        assert 0 <= sig[0].item() < 1e-2 * m
        assert bool((sig[1:] > sig[:-1]).all())
        assert sig[-1].item() == m
        mid = (T + 1) // 2 - 1  # (t + 1) / T = 1/2: sin^2(pi/4) = 1/2
        if (mid + 1) * 2 == T:
            assert sig[mid].item() == pytest.approx(m / 2)


def test_blur_only_uses_the_schedule_sigma(digits):
    process = BlurToStatic(NoiseScheduler(), max_blur_sigma=3.0, d_min=0.001)
    x0 = digits[:3]
    t = torch.tensor([0, 500, 999])
    got = process.blur_only(x0, t)
    want = blur(x0, process.blur_sigmas()[t], d_min=0.001)
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(process.blur_only(x0, 999), blur(x0, 3.0, d_min=0.001))


def test_blur_to_static_at_last_step_is_standard_normal(digits):
    process = BlurToStatic(NoiseScheduler(), max_blur_sigma=4.0)
    eps = torch.randn(digits.shape, generator=torch.Generator().manual_seed(7))
    xt = process.add_noise(digits, eps, torch.full((digits.shape[0],), 999))
    assert xt.shape == digits.shape
    assert abs(xt.mean().item()) < 0.01  # 115,008 values: standard error ~0.003
    assert xt.std().item() == pytest.approx(1.0, abs=0.01)
    assert ((xt.abs() < 1).float().mean().item()) == pytest.approx(0.6827, abs=0.01)
    corr = torch.corrcoef(torch.stack([xt.flatten(), digits.flatten()]))[0, 1].item()
    assert abs(corr) < 0.02
    # and the same call at t = 0 is nearly the clean picture
    x_first = process.add_noise(digits, eps, 0)
    assert (x_first - digits).abs().mean().item() < 0.01
    assert (x_first - digits).abs().max().item() < 0.06
    corr0 = torch.corrcoef(torch.stack([x_first.flatten(), digits.flatten()]))[0, 1].item()
    assert corr0 > 0.999


def test_blur_to_static_formula(digits):
    s = NoiseScheduler()
    process = BlurToStatic(s, max_blur_sigma=2.0)
    x0 = digits[:4]
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(8))
    t = torch.tensor([3, 250, 600, 900])
    abar = s.alphas_cumprod[t][:, None, None, None]
    want = abar.sqrt() * blur(x0, process.blur_sigmas()[t], d_min=0.001) + (1 - abar).sqrt() * eps
    torch.testing.assert_close(process.add_noise(x0, eps, t), want)


def test_blur_to_static_errors(digits):
    s = NoiseScheduler()
    p = BlurToStatic(s)
    eps = torch.randn(2, 1, 8, 8)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        p.add_noise(digits[0], eps[0], 5)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        p.add_noise((digits[:2] + 1) * 127.5, eps, 5)
    with pytest.raises(ValueError, match=r"must lie in 0\.\.999"):
        p.add_noise(digits[:2], eps, 1000)
    with pytest.raises(ValueError, match="noise must have the same shape"):
        p.add_noise(digits[:2], eps[:1], 5)
    with pytest.raises(ValueError, match="max_blur_sigma must be a finite number >= 0"):
        BlurToStatic(s, max_blur_sigma=-1.0)
    with pytest.raises(ValueError, match="max_blur_sigma must be a finite number >= 0"):
        BlurToStatic(s, max_blur_sigma=float("nan"))
    with pytest.raises(ValueError, match=r"d_min must be a finite number in \[0, 1\)"):
        BlurToStatic(s, d_min=1.0)


@pytest.mark.parametrize("not_a_scheduler", [None, 1000, "linear"])
def test_blur_to_static_needs_a_scheduler(not_a_scheduler):
    with pytest.raises(TypeError, match="scheduler must be a NoiseScheduler"):
        BlurToStatic(not_a_scheduler)


def test_blur_to_static_rejects_diffusers_scheduler():
    diffusers = pytest.importorskip("diffusers")
    with pytest.raises(TypeError, match="scheduler must be a NoiseScheduler, got DDPMScheduler"):
        BlurToStatic(diffusers.DDPMScheduler())


# ---------------------------------------------------------------- per-frequency SNR (Lesson 1, eq. 1.8)

def test_frequency_snr_matches_a_monte_carlo_measurement(digits):
    """SNR_k(t) is the power of the signal part over the power of the static part of the noisy DCT coefficient."""
    s = NoiseScheduler(1000, beta_schedule="cosine")
    process = BlurToStatic(s, max_blur_sigma=3.0)
    snr = frequency_snr(digits, process, by=None)
    assert snr.shape == (1000, 8, 8) and snr.dtype == torch.float64
    c = dct_matrix(8)
    eps = torch.randn(digits.shape, generator=torch.Generator().manual_seed(21))
    for t in (50, 300, 700):
        tt = torch.full((digits.shape[0],), t)
        signal = c @ (process.add_noise(digits, torch.zeros_like(eps), tt)) @ c.T  # sqrt(abar) d_k x0_k
        noise = c @ (process.add_noise(digits, eps, tt) - process.add_noise(digits, torch.zeros_like(eps), tt)) @ c.T
        measured = (signal**2).mean(dim=(0, 1)) / (noise**2).mean(dim=(0, 1))
        torch.testing.assert_close(measured.double(), snr[t], rtol=0.15, atol=1e-6)


def test_frequency_snr_diagonal_groups_are_means_and_noise_only_is_the_scheduler_snr(digits):
    s = NoiseScheduler(1000, beta_schedule="cosine")
    full = frequency_snr(digits, s, by=None)
    grouped = frequency_snr(digits, s)
    assert grouped.shape == (1000, 15)
    torch.testing.assert_close(grouped[:, 0], full[:, 0, 0])
    torch.testing.assert_close(grouped[:, 14], full[:, 7, 7])
    torch.testing.assert_close(grouped[:, 1], (full[:, 0, 1] + full[:, 1, 0]) / 2)
    # noise only: SNR_k(t) = SNR(t) * P_k, with SNR(t) the scheduler's (eq. 1.7)
    power = ((dct_matrix(8, dtype=torch.float64) @ digits.double() @ dct_matrix(8, dtype=torch.float64).T) ** 2).mean(
        dim=(0, 1))
    torch.testing.assert_close(full, s.signal_to_noise().double()[:, None, None] * power[None], rtol=1e-5, atol=0)
    # a blur with max_blur_sigma = 0 is the same as no blur
    torch.testing.assert_close(frequency_snr(digits, BlurToStatic(s, max_blur_sigma=0.0)), grouped)


def test_fine_detail_drowns_first_on_the_digits(digits):
    """Lesson 0 and 1: static has the same power at every frequency, the digits far less in fine detail."""
    s = NoiseScheduler(1000, beta_schedule="cosine")
    cross = snr_crossings(frequency_snr(digits, s))  # first code timestep with SNR < 1, per k_y + k_x
    assert cross.shape == (15,) and cross.dtype == torch.long
    assert cross.tolist()[:2] == [803, 419] and cross[-1].item() == 121  # measured when written
    assert cross[0] > cross[1:].max()  # the mean brightness drowns last
    assert cross[8:].max() < cross[1:5].min()  # every fine group (k_y + k_x >= 8) before every coarse one
    assert cross[-1] == cross.min()  # the finest pattern first
    # a 5 px blur-to-static makes every group drown earlier or at the same time; 1.5 px hardly changes it
    c5 = snr_crossings(frequency_snr(digits, BlurToStatic(s, max_blur_sigma=5.0)))
    c15 = snr_crossings(frequency_snr(digits, BlurToStatic(s, max_blur_sigma=1.5)))
    assert bool((c5[1:] < cross[1:]).all()) and bool((c15 <= cross).all())
    assert (cross[1:] - c15[1:]).float().median() < 20 < (cross[1:] - c5[1:]).float().median()


def test_snr_crossings():
    snr = torch.tensor([[4.0, 0.5, 3.0], [2.0, 0.2, 2.0], [0.5, 0.1, 1.5]])
    assert snr_crossings(snr).tolist() == [2, 0, 3]  # 3 = T: never below 1
    assert snr_crossings(snr, level=2.5).tolist() == [1, 0, 1]


def test_frequency_snr_errors(digits):
    s = NoiseScheduler(100)
    with pytest.raises(TypeError, match="process must be a NoiseScheduler or a BlurToStatic, got int"):
        frequency_snr(digits, 100)
    with pytest.raises(ValueError, match="by must be 'diagonal' or None"):
        frequency_snr(digits, s, by="radius")
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        frequency_snr(digits[0], s)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        frequency_snr(digits * 8 + 8, s)
    with pytest.raises(ValueError, match="at least one picture"):
        frequency_snr(digits[:0], s)
    with pytest.raises(ValueError, match="shape \\(T, ...\\)"):
        snr_crossings(torch.zeros(0, 3))
    with pytest.raises(ValueError, match="level must be a positive number"):
        snr_crossings(torch.ones(3, 2), level=0)
