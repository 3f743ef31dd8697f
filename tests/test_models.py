"""The denoisers, the training loop and checkpoints (Lesson 2)."""

from __future__ import annotations

import json

import pytest
import torch

import course_utils as cu
from course_utils.checkpoints import SHIPPED, CheckpointError, read_metadata
from course_utils.models import build_model

# The held-out loss (eq. 2.1, evaluate_loss's fixed seed) the shipped checkpoints must stay below. Recorded
# from scripts/train_checkpoints.py (see the closing numbers in benchmarks/results.md); a little slack.
SHIPPED_DIGITS_MAX_HELDOUT_LOSS = 0.15
SHIPPED_POINTS_MAX_HELDOUT_LOSS = 0.42


@pytest.fixture(scope="module")
def scheduler():
    return cu.NoiseScheduler(1000, beta_schedule="cosine")


def test_shapes():
    unet = cu.UNet(channels=16)
    x = torch.randn(3, 1, 8, 8)
    assert unet(x, torch.tensor([0, 5, 999])).shape == (3, 1, 8, 8)
    mlp = cu.PointDenoiser(hidden=32)
    assert mlp(torch.randn(7, 2), torch.arange(7)).shape == (7, 2)
    assert cu.timestep_embedding(torch.arange(4), 16).shape == (4, 16)


def test_unet_output_depends_on_t():
    torch.manual_seed(0)
    unet = cu.UNet(channels=16)
    torch.nn.init.normal_(unet.conv_out[-1].weight)  # the output layer starts at zero on purpose
    x = torch.randn(1, 1, 8, 8).expand(2, -1, -1, -1)
    out = unet(x, torch.tensor([10, 900]))
    assert (out[0] - out[1]).abs().max() > 1e-3


def test_timestep_embedding_formula():
    emb = cu.timestep_embedding(torch.tensor([0, 3]), 8)
    assert torch.allclose(emb[0], torch.tensor([0.0] * 4 + [1.0] * 4))
    w = [10000 ** (-i / 3) for i in range(4)]
    want = [torch.sin(torch.tensor(3 * wi)) for wi in w] + [torch.cos(torch.tensor(3 * wi)) for wi in w]
    assert torch.allclose(emb[1], torch.stack(want), atol=1e-6)


@pytest.mark.parametrize(
    "x,t,match",
    [
        (torch.randn(2, 3, 8, 8), torch.tensor([1, 2]), r"\(N, 1, 8, 8\)"),  # wrong channel count
        (torch.randn(2, 1, 28, 28), torch.tensor([1, 2]), r"\(N, 1, 8, 8\)"),  # wrong size
        (torch.randn(1, 8, 8), torch.tensor([1]), r"\(N, 1, 8, 8\)"),  # no batch dimension
        (torch.randn(2, 1, 8, 8), torch.tensor([1]), r"one timestep per example"),
        (torch.randn(2, 1, 8, 8), torch.tensor([1, 1000]), r"0\.\.999"),
    ],
)
def test_unet_bad_input(x, t, match):
    with pytest.raises(ValueError, match=match):
        cu.UNet(channels=16)(x, t)


def test_unet_float_timesteps():
    with pytest.raises(TypeError, match="integer"):
        cu.UNet(channels=16)(torch.randn(2, 1, 8, 8), torch.tensor([1.0, 2.0]))


def test_point_denoiser_bad_input():
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        cu.PointDenoiser()(torch.randn(4, 3), torch.arange(4))


def test_overfit_one_batch(scheduler):
    """On one fixed batch with fixed t and noise, the U-Net can drive the loss far down: gradients flow."""
    torch.manual_seed(0)
    model = cu.UNet(channels=16)
    x0 = cu.load_digits()[:8]
    t = torch.tensor([10, 50, 100, 200, 300, 400, 500, 600])
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    x_t = scheduler.add_noise(x0, eps, t)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(300):
        loss = ((model(x_t, t) - eps) ** 2).mean()
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first > 0.9 and loss.item() < 0.05 * first


def test_train_is_deterministic_and_learns(scheduler):
    data = cu.load_points(256, seed=0)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model, hist = cu.train(cu.PointDenoiser(hidden=32), data, scheduler, steps=150, batch_size=64,
                               seed=3, progress=False)
        runs.append((model, hist))
    assert runs[0][1].loss == runs[1][1].loss  # same seed, same numbers
    assert sum(runs[0][1].loss[-20:]) / 20 < 0.8 * sum(runs[0][1].loss[:5]) / 5
    assert runs[0][1].lr[0] < runs[0][1].lr[100] and runs[0][1].lr[-1] < 1e-4  # warm-up, then decay


def test_train_rejects_images_in_zero_one(scheduler):
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        cu.train(cu.UNet(channels=16), (cu.load_digits()[:32] + 1) / 2, scheduler, steps=1, progress=False)


def test_ema_tracks_the_average():
    model = torch.nn.Linear(1, 1, bias=False)
    ema = cu.training.EMA(model, decay=0.5)
    with torch.no_grad():
        model.weight.fill_(1.0)
    for _ in range(200):
        ema.update(model)
    assert torch.allclose(ema.model.weight, torch.ones(1, 1), atol=1e-6)


def test_save_load_round_trip(tmp_path, scheduler):
    torch.manual_seed(0)
    model = cu.UNet(channels=16)
    torch.nn.init.normal_(model.conv_out[-1].weight)
    path = cu.save_checkpoint(model, tmp_path / "m.safetensors", metadata={"note": "test"})
    loaded = cu.load_checkpoint(path, expected_arch="UNet")
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([3, 700])
    assert torch.equal(model.eval()(x, t), loaded(x, t))
    assert read_metadata(path)["metadata"] == {"note": "test"}
    assert not loaded.training


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match=r"no checkpoint at .*Train one in Lesson 2.*'digits'"):
        cu.load_checkpoint(tmp_path / "nothing.safetensors")


def test_truncated_checkpoint(tmp_path):
    path = cu.save_checkpoint(cu.PointDenoiser(hidden=16), tmp_path / "p.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"(damaged|not a readable checkpoint).*train_checkpoints"):
        cu.load_checkpoint(path)


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "x.safetensors"
    path.write_text("hello")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        cu.load_checkpoint(path)


def test_checkpoint_for_another_architecture(tmp_path):
    path = cu.save_checkpoint(cu.PointDenoiser(hidden=16), tmp_path / "p.safetensors")
    with pytest.raises(CheckpointError, match="holds a PointDenoiser but a UNet was expected"):
        cu.load_checkpoint(path, expected_arch="UNet")


def test_checkpoint_with_mismatched_weights(tmp_path):
    """A file whose config says one size but whose tensors are another: a clear error, not a torch traceback."""
    from safetensors.torch import save_file

    small = cu.UNet(channels=16)
    config = dict(small.config, channels=32)
    save_file({k: v.contiguous() for k, v in small.state_dict().items()}, str(tmp_path / "bad.safetensors"),
              metadata={"format": "course-utils-checkpoint-1", "config": json.dumps(config), "metadata": "{}"})
    with pytest.raises(CheckpointError, match="does not match its architecture"):
        cu.load_checkpoint(tmp_path / "bad.safetensors")


def test_unknown_architecture():
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model({"arch": "Transformer"})


def test_shipped_checkpoints_are_small_and_load():
    for name, path in SHIPPED.items():
        assert path.exists(), f"shipped checkpoint {name} missing"
        assert path.stat().st_size < 5e6
        model = cu.load_checkpoint(name)
        assert not model.training


def test_shipped_digits_checkpoint_heldout_loss(scheduler):
    model = cu.load_checkpoint("digits", expected_arch="UNet")
    loss = cu.evaluate_loss(model, cu.load_digits(split="test"), scheduler)
    assert loss < SHIPPED_DIGITS_MAX_HELDOUT_LOSS
    untrained = cu.evaluate_loss(cu.UNet(channels=32), cu.load_digits(split="test"), scheduler)
    assert untrained > 0.9  # the bound means something: an untrained model scores about 1


def test_shipped_points_checkpoint_heldout_loss(scheduler):
    model = cu.load_checkpoint("points", expected_arch="PointDenoiser")
    assert cu.evaluate_loss(model, cu.load_points(500, seed=1), scheduler) < SHIPPED_POINTS_MAX_HELDOUT_LOSS


def test_digit_splits_are_disjoint_and_fixed():
    train, test = cu.load_digits(split="train"), cu.load_digits(split="test")
    assert train.shape == (1617, 1, 8, 8) and test.shape == (180, 1, 8, 8)
    flat_train = {tuple(x.flatten().tolist()) for x in train}
    overlap = sum(tuple(x.flatten().tolist()) in flat_train for x in test)
    assert overlap <= 2  # the raw data set has a few exact duplicates; the split itself is disjoint
    assert torch.equal(test, cu.load_digits(split="test"))
    with pytest.raises(ValueError, match="split"):
        cu.load_digits(split="val")


def test_predict_x0_inverts_add_noise(scheduler):
    x0 = cu.load_digits()[:6]
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([0, 10, 100, 400, 700, 900])
    x_t = scheduler.add_noise(x0, eps, t)
    assert torch.allclose(scheduler.predict_x0(x_t, eps, t), x0, atol=1e-3)


def test_ideal_denoiser_limits(scheduler):
    data = cu.load_points(200, seed=0)
    x0 = data[:10]
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    t0 = torch.zeros(10, dtype=torch.long)
    near = cu.ideal_denoiser(scheduler.add_noise(x0, eps, t0), t0, data, scheduler)
    assert torch.allclose(near, x0, atol=1e-3)  # tiny noise: it returns the training point itself
    far = cu.ideal_denoiser(torch.randn(10, 2), torch.full((10,), 999), data, scheduler)
    assert torch.allclose(far, data.mean(0).expand(10, -1), atol=0.05)  # pure static: the data's mean


# ------------------------------------------------------------------ train(loss_fn=...): the learner's own loss


def _exercise_loss(model, x0, alphas_cumprod, generator):
    """Exercise 2.2 as a learner writes it (the solution notebook's answer)."""
    N, T = x0.shape[0], len(alphas_cumprod)
    t = torch.randint(0, T, (N,), generator=generator)
    eps = torch.randn(x0.shape, generator=generator)
    alpha_bar_t = alphas_cumprod[t].view(-1, *([1] * (x0.ndim - 1)))
    x_t = alpha_bar_t.sqrt() * x0 + (1 - alpha_bar_t).sqrt() * eps
    return ((model(x_t, t) - eps) ** 2).mean()


def _train_points(scheduler, **kw):
    torch.manual_seed(0)
    return cu.train(cu.PointDenoiser(hidden=32), cu.load_points(256, seed=0), scheduler, steps=60, batch_size=64,
                    seed=3, progress=False, **kw)


def test_train_with_the_package_loss_as_loss_fn_gives_the_same_numbers(scheduler):
    """The fallback a lesson passes (cu.diffusion_loss, with the exercise's signature) changes nothing."""
    _, default = _train_points(scheduler)
    _, same = _train_points(scheduler, loss_fn=cu.diffusion_loss)
    assert same.loss == default.loss


def test_train_with_a_learners_loss(scheduler):
    _, default = _train_points(scheduler)
    _, theirs = _train_points(scheduler, loss_fn=_exercise_loss)
    assert theirs.loss[0] == pytest.approx(default.loss[0], rel=1e-5)  # the same draws, the same first loss
    assert torch.allclose(torch.tensor(theirs.loss), torch.tensor(default.loss), rtol=1e-3)  # and it trains alike


@pytest.mark.parametrize(
    "loss_fn,error,match",
    [
        ("not a function", TypeError, "must be a function"),
        (lambda model, x0, ac, g: None, TypeError, "one number in a tensor, got NoneType"),
        (lambda model, x0, ac, g: _exercise_loss(model, x0, ac, g).detach(), ValueError, "without a gradient"),
        (lambda model, x0, ac, g: _exercise_loss(model, x0, ac, g).item(), TypeError, "got float"),
        (lambda model, x0, ac, g: (model(x0, torch.zeros(len(x0), dtype=torch.long)) ** 2).mean(1), TypeError,
         r"shape \(64,\)"),
        (lambda model, x0, ac, g: _exercise_loss(model, x0, ac, g) / 0, ValueError, "must be finite"),
    ],
)
def test_train_rejects_a_bad_loss_fn(scheduler, loss_fn, error, match):
    with pytest.raises(error, match=match):
        _train_points(scheduler, loss_fn=loss_fn)


def test_diffusion_loss_accepts_alphas_cumprod(scheduler):
    model = cu.PointDenoiser(hidden=16)
    x0 = cu.load_points(64, seed=0)
    a = cu.diffusion_loss(model, x0, scheduler, torch.Generator().manual_seed(1))
    b = cu.diffusion_loss(model, x0, scheduler.alphas_cumprod, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    with pytest.raises(TypeError, match="alphas_cumprod"):
        cu.diffusion_loss(model, x0, [0.9, 0.5], torch.Generator())
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        cu.diffusion_loss(model, x0, torch.tensor([1.0, 0.0]), torch.Generator())


def test_ideal_denoiser_has_the_exercise_signature(scheduler):
    """cu.ideal_denoiser(x_t, t, data, alphas_cumprod) with one int t: Exercise 2.3's fallback."""
    data = cu.load_points(100, seed=0)
    x_t = torch.randn(7, 2, generator=torch.Generator().manual_seed(0))
    want = cu.ideal_denoiser(x_t, torch.full((7,), 300), data, scheduler)
    assert torch.allclose(cu.ideal_denoiser(x_t, 300, data, scheduler.alphas_cumprod), want)


# ------------------------------------------------------------------ Lesson 2: why the small-t loss on points is high


def _best_noise_guess_error(t: int, thickness: float, scheduler, n: int = 1000, seed: int = 0):
    """The best possible noise guess on the moons at timestep t, for moons of the given thickness: the
    mean squared error (along the moon, across it). Exact up to the curve's discretisation (20,000 points,
    far closer together than the noise at any t): x_0 = c + thickness * z with c on the half circles, so
    x_t = a c + sqrt(a^2 s^2 + sigma^2) n and E[eps | x_t] = sigma / v (x_t - a E[c | x_t]), v = a^2 s^2 + sigma^2."""
    from sklearn.datasets import make_moons

    raw, _ = make_moons(n_samples=2000, noise=0.06, random_state=0)  # the scaling of cu.load_points
    mean, scale = torch.tensor(raw.mean(0)), float(raw.std())
    curve, moon = make_moons(n_samples=20000, noise=0.0, shuffle=False)
    curve = (torch.tensor(curve) - mean) / scale  # (20000, 2): the two half circles, scaled
    centre = ((torch.tensor([[0.0, 0.0], [1.0, 0.5]])[torch.as_tensor(moon)]) - mean) / scale
    g = torch.Generator().manual_seed(seed)
    pick = torch.randint(0, len(curve), (n,), generator=g)
    c0 = curve[pick]
    across = (c0 - centre[pick]) / (c0 - centre[pick]).norm(dim=1, keepdim=True)
    along = torch.stack([-across[:, 1], across[:, 0]], dim=1)
    a = float(scheduler.alphas_cumprod[t]) ** 0.5
    sigma = float(1 - scheduler.alphas_cumprod[t]) ** 0.5
    x0 = c0 + thickness * torch.randn(c0.shape, generator=g, dtype=torch.float64)
    eps = torch.randn(c0.shape, generator=g, dtype=torch.float64)
    x_t = a * x0 + sigma * eps
    v = a**2 * thickness**2 + sigma**2
    w = torch.softmax(-torch.cdist(x_t, a * curve) ** 2 / (2 * v), dim=1)  # (n, 20000): which curve point
    err = sigma / v * (x_t - a * (w @ curve)) - eps
    return float(((err * along).sum(1) ** 2).mean()), float(((err * across).sum(1) ** 2).mean())


def test_moons_thickness_hides_the_noise_at_small_t(scheduler):
    """Lesson 2's explanation of the points' high small-t loss, measured on the best possible denoiser: with
    the moons' own thickness (make_moons noise 0.06, 0.083 after scaling) the noise is hidden along AND across
    the moon (loss about 1, the loss of guessing zero); on thin moons only along (loss about 0.5)."""
    from sklearn.datasets import make_moons

    raw, _ = make_moons(n_samples=2000, noise=0.06, random_state=0)
    thickness = 0.06 / float(raw.std())
    assert thickness == pytest.approx(0.083, abs=0.001)
    for t in (0, 10):
        thick_along, thick_across = _best_noise_guess_error(t, thickness, scheduler)
        thin_along, thin_across = _best_noise_guess_error(t, 0.0, scheduler)
        assert thick_along > 0.9 and thick_across > 0.8  # hidden in every direction
        assert (thick_along + thick_across) / 2 > 0.9
        assert thin_along > 0.85 and thin_across < 0.01  # thin: the part across can be read off
        assert 0.45 < (thin_along + thin_across) / 2 < 0.55
