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
