"""Lesson 8: image to image (SDEdit), inpainting (RePaint's merge), the crayon canvas, the clean-picture prediction of
crayons_blur, and --init / --strength on the command line with every bad input refused in one line.

Cheap: 16 x 16 pictures, a few steps; the command line's refusals stub out the sampler (they come first).
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from test_bad_input_cli import _no_sampling, run  # the command line run as tests/test_bad_input_cli.py runs it

import course_utils as cu
from course_utils import crayons
from course_utils.canvas import CrayonCanvas
from course_utils.ddim import DDIMScheduler
from course_utils.img2img import (
    band_errors,
    check_mask,
    image_to_image,
    inpaint,
    inpaint_merge,
    load_picture,
    settle_steps,
    strength_timesteps,
)
from course_utils.sample import make_scheduler


@pytest.fixture(scope="module")
def blur_model():
    return cu.load_checkpoint("crayons_blur")


def house(n: int = 1) -> torch.Tensor:
    return crayons.make_drawings(n, 16, seed=8, pairs=[("red", "house")]).images


# ---------------------------------------------------------------- strength: diffusers' get_timesteps, number for number

def _diffusers_get_timesteps():
    """StableDiffusionImg2ImgPipeline.get_timesteps, read from diffusers' source (its pipeline module needs the
    transformers package to import, which the course does not install), compiled on its own."""
    import diffusers

    path = Path(diffusers.__file__).parent / "pipelines" / "stable_diffusion" / "pipeline_stable_diffusion_img2img.py"
    tree = ast.parse(path.read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "StableDiffusionImg2ImgPipeline")
    fn = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "get_timesteps")
    namespace: dict = {}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), str(path), "exec"), namespace)
    return namespace["get_timesteps"]


@pytest.mark.parametrize("n", [1, 7, 20, 50])
def test_strength_timesteps_are_diffusers_get_timesteps(n):
    from diffusers import DDIMScheduler as DiffusersDDIM

    get_timesteps = _diffusers_get_timesteps()
    theirs = DiffusersDDIM(num_train_timesteps=1000)
    theirs.set_timesteps(n)
    proc = SimpleNamespace(timesteps=theirs.timesteps.clone())
    for strength in [0, 0.01, 0.04, 0.05, 0.2, 0.29, 0.38, 0.5, 0.7, 0.99, 1.0]:
        expected, _ = get_timesteps(SimpleNamespace(scheduler=theirs), n, strength, "cpu")
        assert torch.equal(strength_timesteps(proc, strength), expected), (n, strength)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("inf"), "0.5", True, None])
def test_strength_outside_0_1_is_refused_in_one_sentence(bad):
    proc = SimpleNamespace(timesteps=torch.arange(19, -1, -1) * 50)
    with pytest.raises(ValueError, match="strength must be a number from 0 to 1"):
        strength_timesteps(proc, bad)


# ---------------------------------------------------------------- image to image and inpainting on crayons_blur

def test_strength_0_gives_the_picture_back_and_0_2_stays_close(blur_model):
    proc = make_scheduler(blur_model, "ddim", 20)
    x = house(4)
    assert torch.equal(image_to_image(blur_model, proc, x, 0.0), x)
    d = {s: float((image_to_image(blur_model, proc, x, s).clamp(-1, 1) - x).abs().mean()) for s in (0.2, 1.0)}
    assert d[0.2] < 0.1 < d[1.0], d


def test_image_to_image_is_the_sampler_from_the_smudged_picture(blur_model):
    """image_to_image = smudge to the first of the last int(n * strength) timesteps, then the same sampler."""
    proc = make_scheduler(blur_model, "ddim", 20)
    x = house(2)
    ts = strength_timesteps(proc, 0.5)
    g = torch.Generator().manual_seed(3)
    start = proc.add_noise(x, torch.randn(x.shape, generator=g), torch.full((2,), int(ts[0])))
    by_hand = cu.sampling.sample(blur_model, proc, 2, x_start=start, timesteps=ts, eta=0.0, progress=False)
    assert torch.allclose(image_to_image(blur_model, proc, x, 0.5, seed=3), by_hand, atol=1e-6)


def test_inpainting_keeps_the_kept_part_exactly(blur_model):
    proc = make_scheduler(blur_model, "ddim", 20)
    x = house(3)
    mask = torch.zeros(16, 16)
    mask[:, 8:] = 1
    out = inpaint(blur_model, proc, x, mask, prompt="a blue house")
    assert torch.equal(out[..., :8], x[..., :8])
    assert (out[..., 8:] - x[..., 8:]).abs().max() > 0.1  # the redrawn half is new


def test_inpaint_merge_at_the_end_is_the_picture_and_before_it_the_smudged_picture():
    proc = cu.BlurToStatic(cu.NoiseScheduler(1000, beta_schedule="cosine"), max_blur_sigma=4.0)
    x0, x_s, eps = house(2), torch.randn(2, 3, 16, 16), torch.randn(2, 3, 16, 16)
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:9, 4:9] = 1
    end = inpaint_merge(x_s, x0, mask, proc, -1, eps)
    assert torch.equal(end * (1 - mask), x0 * (1 - mask)) and torch.equal(end * mask, x_s * mask)
    mid = inpaint_merge(x_s, x0, mask, proc, 400, eps)
    assert torch.allclose(mid * (1 - mask), proc.add_noise(x0, eps, torch.full((2,), 400)) * (1 - mask))


@pytest.mark.parametrize("mask,match", [(torch.ones(8, 8), "must be"), (torch.full((16, 16), 2.0), r"in \[0, 1\]"),
                                        (torch.ones(2, 3, 1, 16, 16), "must be")],
                         ids=["wrong size", "out of range", "too many dimensions"])
def test_bad_masks_are_refused_in_one_sentence(mask, match):
    with pytest.raises(ValueError, match=match):
        check_mask(mask, house(2))


def test_pictures_of_the_wrong_shape_or_range_are_refused(blur_model):
    proc = make_scheduler(blur_model, "ddim", 20)
    with pytest.raises(ValueError, match=r"picture shape \(C, H, W\) = \(3, 16, 16\)"):
        image_to_image(blur_model, proc, torch.zeros(1, 3, 8, 8), 0.5)
    with pytest.raises(ValueError, match=r"values in \[-1, 1\].*\[0, 255\]"):
        image_to_image(blur_model, proc, house() * 127.5 + 127.5, 0.5)
    with pytest.raises(TypeError, match="floating-point"):
        image_to_image(blur_model, proc, torch.zeros(1, 3, 16, 16, dtype=torch.uint8), 0.5)


# ---------------------------------------------------------- the clean-picture prediction (prediction_type 'sample')

def test_a_clean_picture_guess_steps_as_its_noise_guess():
    """BlurToStatic.step with prediction_type='sample' and x0_hat is the step with the eps_hat that x0_hat implies
    (eq. 4.1 per frequency), both samplers; computed in float64, so the two agree to round-off."""
    proc = cu.BlurToStatic(cu.NoiseScheduler(1000, beta_schedule="cosine"), max_blur_sigma=4.0)
    proc.set_timesteps(20, "below_top")
    g = torch.Generator().manual_seed(0)
    x_t, x0_hat = torch.randn(2, 3, 16, 16, generator=g, dtype=torch.float64), house(2).double()
    t = int(proc.timesteps[10])
    alpha, sigma = proc._alpha_sigma(t, 16, 16, "cpu")
    eps_u = (proc._dct(x_t) - alpha * proc._dct(x0_hat)) / sigma
    eps = proc._dct(eps_u, inverse=True)
    for eta in (0.0, 1.0):
        z = torch.randn(2, 3, 16, 16, generator=g, dtype=torch.float64)
        a = proc.step(x0_hat, t, x_t, eta=eta, prediction_type="sample", variance_noise=z)
        b = proc.step(eps, t, x_t, eta=eta, variance_noise=z)
        assert torch.allclose(a.prev_sample, b.prev_sample, atol=1e-8)
        assert torch.allclose(a.pred_original_sample, x0_hat, atol=1e-12)


def test_prediction_type_sample_is_refused_where_the_course_cannot_sample_it():
    model = cu.UNet(channels=8, image_size=16, in_channels=3, prediction_type="sample")
    with pytest.raises(ValueError, match="blur-to-static"):
        cu.train(model, house(8), cu.NoiseScheduler(1000), steps=1, progress=False)
    with pytest.raises(ValueError, match="blur-to-static process only"):
        cu.sampling.sample(model, DDIMScheduler(), 1, progress=False)
    proc = cu.BlurToStatic(cu.NoiseScheduler(1000))
    with pytest.raises(ValueError, match="prediction_type must be 'epsilon'"):
        proc.step(torch.zeros(1, 3, 16, 16), 999, torch.zeros(1, 3, 16, 16), prediction_type="velocity")


def test_the_shipped_crayons_blur_predicts_the_clean_picture(blur_model):
    assert blur_model.config["prediction_type"] == "sample"
    assert blur_model.trained_on["process"]["kind"] == "blur_to_static"


# ---------------------------------------------------------------- bands

def test_band_errors_and_settle_steps():
    final = house(2)
    guesses = [final + 0.5 * torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(k)) * (0.5**k)
               for k in range(8)] + [final]
    err = band_errors(guesses, final)
    assert err.shape == (9, 3) and bool((err[-1] == 0).all())
    steps = settle_steps(err, 0.1)
    assert all(0 <= s <= 8 for s in steps)
    assert settle_steps(torch.tensor([[1.0], [0.05], [0.2], [0.01]]), 0.1) == [3]  # stays below from step 3 on


# ---------------------------------------------------------------- the canvas

def test_canvas_strokes_make_crayon_pictures_like_the_drawings():
    board = CrayonCanvas(widget=False)
    blank = board.picture()
    assert blank.shape == (1, 3, 16, 16) and float(crayons.colour_votes(blank).sum()) == 0  # paper only
    board.draw([(3, 8), (13, 8)], "blue", brush=1.6)
    votes = crayons.colour_votes(board.picture())[0]
    assert int(votes.argmax()) == crayons.COLOURS.index("blue") and float(votes.max()) > 5
    x = house()
    board.start_from(x[0])
    assert torch.allclose(board.picture(), x, atol=1e-6)  # a drawing comes back as it was
    board.set_colour("eraser")
    board.draw([(8, 8)], brush=2.0)
    mask = board.erased_mask()
    assert mask.shape == (16, 16) and float(mask.sum()) > 4 and float(mask.max()) == 1.0


def test_canvas_same_strokes_same_picture():
    pics = []
    for _ in range(2):
        b = CrayonCanvas(widget=False, seed=3)
        b.draw([(2, 2), (14, 14)], "green")
        pics.append(b.picture())
    assert torch.equal(*pics)


@pytest.mark.parametrize("call,match", [
    (lambda b: b.draw([(3, 3)], "pink"), "colour must be one of red"),
    (lambda b: b.draw([(3, 30)], "red"), "points must lie on the page"),
    (lambda b: b.draw([], "red"), "at least one"),
    (lambda b: b.draw([(1, 2, 3)], "red"), r"pair \(x, y\)"),
    (lambda b: b.draw([(3, 3)], "red", brush=50), "brush must be a radius"),
    (lambda b: b.start_from(torch.zeros(3, 8, 8)), r"one colour picture \(3, 16, 16\)"),
    (lambda b: b.start_from(torch.full((3, 16, 16), 3.0)), r"values in \[-1, 1\]"),
])
def test_canvas_bad_input_one_sentence(call, match):
    with pytest.raises(ValueError, match=match):
        call(CrayonCanvas(widget=False))


def test_canvas_mouse_events_draw(tmp_path):
    """The events ipycanvas delivers from the browser (canvas coordinates, scale 16) draw a stroke."""
    board = CrayonCanvas()
    seen = []
    board.on_change(seen.append)
    board.set_colour("purple")
    c = board._canvas
    c._handle_frontend_event(None, {"event": "mouse_down", "x": 20, "y": 128}, [])
    for x in range(20, 240, 20):
        c._handle_frontend_event(None, {"event": "mouse_move", "x": x, "y": 128}, [])
    c._handle_frontend_event(None, {"event": "mouse_up", "x": 240, "y": 128}, [])
    assert len(seen) == 1  # one stroke, one change
    assert int(crayons.read_colour(board.picture())) == crayons.COLOURS.index("purple")
    c._handle_frontend_event(None, {"event": "mouse_move", "x": 50, "y": 50}, [])  # moving without a press: nothing
    assert len(seen) == 1


# ---------------------------------------------------------------- the command line: --init and --strength

@pytest.fixture
def refuse_first(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("course_utils.sample.sample", _no_sampling)
    monkeypatch.setattr("course_utils.img2img.image_to_image", _no_sampling)
    return tmp_path


def _png(path: Path, array: np.ndarray, mode: str | None = None) -> Path:
    from PIL import Image

    Image.fromarray(array, mode=mode).save(path)
    return path


def bad_inits(tmp: Path) -> list[tuple[list[str], str]]:
    rgb = ((house()[0].permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)
    (tmp / "folder.png").mkdir()
    (tmp / "text.png").write_text("not a picture")
    np.save(tmp / "many.npy", house(3).numpy())
    np.save(tmp / "grey.npy", np.zeros((1, 16, 16), np.float32))
    np.save(tmp / "bytes.npy", np.zeros((3, 16, 16), np.uint8))
    np.save(tmp / "range.npy", np.full((3, 16, 16), 3.0, np.float32))
    np.save(tmp / "nan.npy", np.full((3, 16, 16), np.nan, np.float32))
    np.save(tmp / "hwc.npy", np.zeros((16, 16, 3), np.float32))
    _png(tmp / "grey.png", rgb[..., 0], "L")
    _png(tmp / "wide.png", np.zeros((16, 32, 3), np.uint8))
    (tmp / "draw.jpg").write_bytes(b"xx")
    return [
        (["--init", "missing.png"], "no such file"),
        (["--init", "folder.png"], "is a folder"),
        (["--init", "text.png"], "is not a PNG picture"),
        (["--init", "draw.jpg"], "expected a .png or .npy file"),
        (["--init", "many.npy"], "holds 3 pictures"),
        (["--init", "grey.npy"], "grey picture"),
        (["--init", "grey.png"], "grey picture"),
        (["--init", "bytes.npy"], "expected floats in [-1, 1]"),
        (["--init", "range.npy"], "values in [-1, 1]"),
        (["--init", "nan.npy"], "NaN"),
        (["--init", "hwc.npy"], "channels first"),
        (["--init", "wide.png"], "expected a square picture"),
        (["--init", "many.npy", "--checkpoint", "digits"], "is for the colour crayon checkpoints"),
    ]


def test_every_bad_init_is_refused_in_one_line(refuse_first, capsys):
    for args, fragment in bad_inits(refuse_first):
        rc, out, err = run(capsys, "--checkpoint", "crayons-blur", *args, "--strength", "0.5")
        assert rc == 2, (args, rc, err)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in err, (args, err)


@pytest.mark.parametrize("args,fragment", [
    (["--strength", "0.5"], "--strength needs --init"),
    (["--init", "x.npy", "--strength", "1.5"], "--strength must be between 0 and 1"),
    (["--init", "x.npy", "--strength", "-0.1"], "--strength must be between 0 and 1"),
    (["--init", "x.npy", "--strength", "nan"], "--strength must be between 0 and 1"),
])
def test_strength_is_refused_outside_0_1_and_without_init(refuse_first, capsys, args, fragment):
    np.save(refuse_first / "x.npy", house()[0].numpy())
    rc, _, err = run(capsys, "--checkpoint", "crayons-blur", *args)
    assert rc == 2 and fragment in err, err


def test_init_runs_resizes_a_large_png_and_says_what_ran(tmp_path, capsys):
    from PIL import Image

    rgb = ((house()[0].permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)
    Image.fromarray(rgb).resize((128, 128), Image.NEAREST).save(tmp_path / "big.png")
    np.save(tmp_path / "h.npy", house()[0].numpy())
    rc, out, err = run(capsys, "--checkpoint", "crayons-blur", "--init", str(tmp_path / "big.png"), "--strength", "0.2",
                       "--n", "2", "--steps", "20", "--out", str(tmp_path / "o.npy"))
    assert rc == 0 and "resized from 128 x 128 to 16 x 16" in err, err
    assert "at strength 0.2 (the last 4 steps of the grid ran)" in out, out
    x = torch.from_numpy(np.load(tmp_path / "o.npy"))
    assert x.shape == (2, 3, 16, 16) and float((x - house()).abs().mean()) < 0.1
    loaded, note = load_picture(tmp_path / "big.png")
    assert note and torch.allclose(loaded, house(), atol=1 / 127.5)  # the BOX filter of a NEAREST enlargement
    rc, out, _ = run(capsys, "--checkpoint", "crayons-blur", "--init", str(tmp_path / "h.npy"), "--strength", "0",
                     "--n", "1", "--steps", "20", "--out", str(tmp_path / "z.npy"))
    assert rc == 0 and "the last 0 steps" in out
    assert torch.allclose(torch.from_numpy(np.load(tmp_path / "z.npy")), house())


def test_a_transparent_png_is_laid_on_the_paper(tmp_path):
    from PIL import Image

    rgba = np.zeros((16, 16, 4), np.uint8)  # fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    x, _ = load_picture(tmp_path / "t.png")
    paper = torch.tensor(crayons.PAPER) / 127.5 - 1
    assert torch.allclose(x[0], paper[:, None, None].expand(3, 16, 16), atol=1e-6)



def test_the_shipped_crayons_blur_held_out_loss(blur_model):
    """The clean-picture error on fresh drawings with their prompts (shipped: 0.0347 on 1,000; docs/models.md)."""
    from course_utils.crayons_eval import HELD_OUT, TEST_SEED

    seen = cu.make_drawings(300, 16, seed=TEST_SEED, exclude=HELD_OUT)
    proc = cu.BlurToStatic(cu.NoiseScheduler(1000, beta_schedule="cosine"), max_blur_sigma=4.0, d_min=0.001)
    assert cu.evaluate_loss(blur_model, seen.images, proc, labels=seen.tokens) < 0.04
