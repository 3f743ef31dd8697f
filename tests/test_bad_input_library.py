"""Bad input never gives a silent wrong answer: the library part of issue 21, section 4.

Every test here failed before the fix: flow training with labels trained only the null row (label vectors never
moved, the prompt model's words neither), a conditional model trained without labels said nothing,
``loss_fn=diffusion_loss`` skipped label dropout, ``save_checkpoint`` wrote "noise" for a blur model, tokenize drew
"a 🔴 house" as "a house" and "red blue house" as neither, NaN passed through the steps, BlurToStatic with
d_min=0 and a wide blur returned NaN, step(998.7) was step(998), set_timesteps(10, sigmas=[1, .5]) dropped the 10,
the cosine schedule dropped beta_start/beta_end, and device="cuda" on a CPU-only torch gave torch's AssertionError.
"""

from __future__ import annotations

import pytest
import torch

import course_utils as cu
from course_utils import crayons
from course_utils.ddim import DDIMScheduler
from course_utils.flow import FlowMatchScheduler, euler_step, flow_matching_loss
from course_utils.forward import BlurToStatic

NAN, INF = float("nan"), float("inf")


def _digits(n: int = 64) -> torch.Tensor:
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1


def _labels(n: int = 64) -> torch.Tensor:
    return torch.arange(n) % 10


def _text_unet(prediction_type: str = "epsilon") -> cu.UNet:
    torch.manual_seed(0)
    return cu.UNet(channels=8, emb_dim=16, image_size=16, in_channels=3, vocab_size=len(crayons.VOCAB),
                   null_prompt=crayons.null_tokens().tolist(), prediction_type=prediction_type)


def _quick(**kw) -> dict:
    return {"steps": 3, "batch_size": 16, "progress": False, "ema_decay": None, **kw}


# ---------------------------------------------------------------- training with labels

@pytest.mark.parametrize("scheduler,prediction_type", [(FlowMatchScheduler(), "velocity"),
                                                       (cu.NoiseScheduler(100), "epsilon")])
def test_training_with_labels_trains_the_label_vectors(scheduler, prediction_type):
    torch.manual_seed(0)
    model = cu.UNet(channels=8, emb_dim=16, num_classes=10, prediction_type=prediction_type)
    before = model.label_emb.weight.detach().clone()
    trained, _ = cu.train(model, _digits(), scheduler, labels=_labels(), **_quick())
    moved = ((trained.label_emb.weight.detach() - before).abs().sum(1) > 0).nonzero().flatten().tolist()
    assert moved == list(range(11))  # every label used, and the null row (label dropout)


@pytest.mark.parametrize("scheduler,prediction_type", [(FlowMatchScheduler(), "velocity"),
                                                       (cu.NoiseScheduler(100), "epsilon")])
def test_training_with_prompts_trains_the_word_vectors(scheduler, prediction_type):
    d = crayons.make_drawings(40, 16)
    model = _text_unet(prediction_type)
    before = model.prompt_emb.tokens.weight.detach().clone()
    trained, _ = cu.train(model, d.images, scheduler, labels=d.tokens, **_quick())
    moved = set(((trained.prompt_emb.tokens.weight.detach() - before).abs().sum(1) > 0).nonzero().flatten().tolist())
    used = set(d.tokens.unique().tolist()) - {crayons.PAD_ID}
    assert used <= moved  # not only the null word


def test_flow_matching_loss_tells_a_conditional_model_its_labels():
    torch.manual_seed(0)
    model = cu.UNet(channels=8, emb_dim=16, num_classes=10, prediction_type="velocity")
    torch.nn.init.normal_(model.conv_out[-1].weight)  # a network that does not start at v = 0
    x, y = _digits(8), _labels(8)
    asked = flow_matching_loss(model, x, generator=torch.Generator().manual_seed(1), labels=y)
    nothing = flow_matching_loss(model, x, generator=torch.Generator().manual_seed(1))
    assert float(asked.detach()) != float(nothing.detach())


@pytest.mark.parametrize("model", [lambda: cu.UNet(channels=8, num_classes=10), lambda: _text_unet()])
def test_a_conditional_model_trained_without_labels_is_refused(model):
    x = _digits() if not getattr(model(), "vocab_size", 0) else crayons.make_drawings(8, 16).images
    with pytest.raises(ValueError, match=r"this model is conditional but got no (labels|prompts).*learns only the "
                                         r"null request"):
        cu.train(model(), x, cu.NoiseScheduler(100), **_quick())


@pytest.mark.parametrize("scheduler,prediction_type", [(cu.NoiseScheduler(100), "epsilon"),
                                                       (FlowMatchScheduler(), "velocity")])
def test_loss_fn_diffusion_loss_gives_the_very_same_numbers_with_labels(scheduler, prediction_type):
    runs = []
    for loss_fn in (None, cu.diffusion_loss):
        torch.manual_seed(3)
        model = cu.UNet(channels=8, emb_dim=16, num_classes=10, prediction_type=prediction_type)
        _, hist = cu.train(model, _digits(), scheduler, labels=_labels(), loss_fn=loss_fn, label_dropout=0.5,
                           **_quick(seed=2))
        runs.append(hist.loss)
    assert runs[0] == runs[1]


def test_a_loss_fn_without_label_dropout_still_gets_only_the_labels():
    seen = {}

    def loss_fn(model, x0, alphas_cumprod, generator, labels=None):
        seen["labels"] = labels
        return cu.diffusion_loss(model, x0, alphas_cumprod, generator, labels=labels)

    cu.train(cu.UNet(channels=8, num_classes=10), _digits(), cu.NoiseScheduler(100), labels=_labels(),
             loss_fn=loss_fn, **_quick(steps=1))
    assert seen["labels"].shape == (16,)


@pytest.mark.parametrize("model,scheduler,match", [
    (lambda: cu.UNet(channels=8, prediction_type="velocity"), cu.NoiseScheduler(100),
     r"this model predicts a velocity .* NoiseScheduler trains a noise prediction: train it with "
     r"cu\.FlowMatchScheduler\(\)"),
    (lambda: cu.UNet(channels=8), FlowMatchScheduler(),
     r"a FlowMatchScheduler trains a velocity .* this model predicts the noise"),
])
def test_a_model_and_a_scheduler_that_do_not_pair_get_one_sentence(model, scheduler, match):
    x = _digits(4)
    with pytest.raises(ValueError, match=match):
        cu.train(model(), x, scheduler, **_quick(steps=1, batch_size=2))
    with pytest.raises(ValueError, match=match):
        cu.diffusion_loss(model(), x, scheduler)
    with pytest.raises(ValueError, match=match):
        cu.evaluate_loss(model(), x, scheduler, repeats=1)


# ---------------------------------------------------------------- checkpoints

def test_save_checkpoint_refuses_a_scheduler_that_contradicts_the_training_record(tmp_path):
    blur = BlurToStatic(cu.NoiseScheduler(100), max_blur_sigma=2.0)
    model, _ = cu.train(cu.UNet(channels=8, num_train_timesteps=100), _digits(), blur, **_quick(steps=1))
    with pytest.raises(ValueError, match=r"the scheduler contradicts what this model was trained on \(kind: trained "
                                         r"on 'blur_to_static', given 'noise'\)"):
        cu.save_checkpoint(model, tmp_path / "m.safetensors", scheduler=cu.NoiseScheduler(100))
    with pytest.raises(ValueError, match=r"max_blur_sigma: trained with 2\.0, given 3\.0"):
        cu.save_checkpoint(model, tmp_path / "m.safetensors",
                           scheduler=BlurToStatic(cu.NoiseScheduler(100), max_blur_sigma=3.0))
    path = cu.save_checkpoint(model, tmp_path / "m.safetensors", scheduler=blur)  # the same process: fine
    assert cu.checkpoints.read_metadata(path)["process"]["kind"] == "blur_to_static"


def test_save_checkpoint_without_a_record_checks_what_the_model_predicts(tmp_path):
    with pytest.raises(ValueError, match=r"this model predicts a velocity .* the 'noise' process: pass the scheduler "
                                         r"it was trained with \(a FlowMatchScheduler\)"):
        cu.save_checkpoint(cu.UNet(channels=8, prediction_type="velocity"), tmp_path / "v.safetensors",
                           scheduler=cu.NoiseScheduler(100))
    with pytest.raises(ValueError, match=r"this model predicts the noise eps .* the 'flow_matching' process"):
        cu.save_checkpoint(cu.UNet(channels=8), tmp_path / "e.safetensors", scheduler=FlowMatchScheduler(100))
    # no record: the scheduler is the only statement of the process there is, and is taken at its word
    path = cu.save_checkpoint(cu.UNet(channels=8, num_train_timesteps=100), tmp_path / "b.safetensors",
                              scheduler=BlurToStatic(cu.NoiseScheduler(100)))
    assert cu.checkpoints.read_metadata(path)["process"]["kind"] == "blur_to_static"


# ---------------------------------------------------------------- prompts

@pytest.mark.parametrize("prompt,match", [
    ("a 🔴 house", r"The prompt 'a 🔴 house' holds '🔴': a prompt holds words only"),
    ("a red house 2", r"holds '2'"),
    ("a rød house", r"holds 'ø'"),
    ("a", r"The prompt 'a' names no colour and no object"),
    ("red blue house", r"names two colours, 'red' and 'blue': a prompt asks for one drawing"),
    ("a sun house", r"names two objects, 'sun' and 'house'"),
    ("a an", r"names no colour and no object"),
    ("a an sun", r"has 2 articles"),
])
def test_tokenize_refuses_a_prompt_it_would_draw_as_something_else(prompt, match):
    with pytest.raises(ValueError, match=match) as err:
        crayons.tokenize(prompt)
    assert "colours: red, orange" in str(err.value) and "objects: sun, house, tree, flower, boat" in str(err.value)


@pytest.mark.parametrize("prompt", ["a red house", "an orange boat", "red house", "sun", "tree", "A RED house!",
                                    "house red", "red red boat", "a blue sun.", "a red"])
def test_tokenize_still_takes_one_request(prompt):
    assert crayons.tokenize(prompt).shape == (crayons.PROMPT_LENGTH,)


def test_sample_refuses_a_prompt_with_a_symbol():
    from course_utils.sampling import sample

    model = _text_unet().eval()
    sched = cu.NoiseScheduler(1000)
    sched.set_timesteps(2)
    with pytest.raises(ValueError, match=r"holds '🔴': a prompt holds words only"):
        sample(model, sched, 2, labels="a 🔴 house", progress=False)


# ---------------------------------------------------------------- NaN and inf

def _bad(x: torch.Tensor, value: float) -> torch.Tensor:
    x = x.clone()
    x.view(-1)[3] = value
    return x


@pytest.mark.parametrize("value", [NAN, INF])
def test_nan_and_inf_are_refused_by_the_steps(value):
    x = _digits(2)
    flow = FlowMatchScheduler()
    flow.set_timesteps(4)
    noise = cu.NoiseScheduler(100)
    blur = BlurToStatic(cu.NoiseScheduler(100))
    ddim = DDIMScheduler(100)
    ddim.set_timesteps(4)  # 75, 50, 25, 0
    calls = [
        ("model_output", lambda: flow.step(_bad(x, value), flow.timesteps[0], x)),
        ("sample", lambda: flow.step(x, flow.timesteps[0], _bad(x, value))),
        ("next_model_output", lambda: flow.step(x, flow.timesteps[0], x, next_model_output=_bad(x, value))),
        ("v", lambda: euler_step(x, _bad(x, value), 1.0, 0.5)),
        ("x", lambda: euler_step(_bad(x, value), x, 1.0, 0.5)),
        ("noise", lambda: flow.scale_noise(x, 500, _bad(x, value))),
        ("variance_noise", lambda: blur.step(x, 99, x, variance_noise=_bad(x, value))),
        ("variance_noise", lambda: noise.step(x, 99, x, variance_noise=_bad(x, value))),
        ("model_output", lambda: noise.step(_bad(x, value), 99, x)),
        ("sample", lambda: noise.step(x, 99, _bad(x, value))),
        ("model_output", lambda: ddim.step(_bad(x, value), 75, x)),
        ("sample", lambda: ddim.step(x, 75, _bad(x, value))),
        ("sample", lambda: noise.predict_x0(_bad(x, value), x, 5)),
        ("model_output", lambda: noise.predict_x0(x, _bad(x, value), 5)),
        ("sample", lambda: blur.predict_x0(_bad(x, value), x, 5)),
        ("model_output", lambda: blur.predict_x0(x, _bad(x, value), 5)),
        ("noise", lambda: noise.add_noise(x, _bad(x, value), 5)),
        ("noise", lambda: blur.add_noise(x, _bad(x, value), 5)),
        ("original_samples", lambda: noise.add_noise(_bad(torch.randn(4, 2), value), torch.randn(4, 2), 5)),
    ]
    for name, call in calls:
        with pytest.raises(ValueError, match=rf"^{name} holds \d+ NaN and \d+ inf value\(s\) out of \d+: every value "
                                             "must be a finite number"):
            call()


def test_a_blur_that_erases_a_frequency_is_refused_before_it_returns_nan():
    x = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    wide = BlurToStatic(cu.NoiseScheduler(1000), max_blur_sigma=30, d_min=0)
    with pytest.raises(ValueError, match=r"BlurToStatic\(max_blur_sigma=30, d_min=0\) keeps 0 \(alpha_t\) of the "
                                         r"finest frequency of 8x8 pictures from t = \d+ on: the reverse step divides "
                                         r"by it .* keep a floor d_min > 0"):
        wide.step(x, 999, x)
    with pytest.raises(ValueError, match="keeps 0"):
        wide.predict_x0(x, x, 999)
    floored = BlurToStatic(cu.NoiseScheduler(1000), max_blur_sigma=30, d_min=0.001)
    out = floored.step(x, 999, x, generator=torch.Generator().manual_seed(0))
    assert bool(torch.isfinite(out.prev_sample).all())


def test_blur_step_refuses_a_timestep_that_is_not_a_whole_number():
    x = torch.randn(2, 1, 8, 8)
    blur = BlurToStatic(cu.NoiseScheduler(1000))
    with pytest.raises(TypeError, match=r"timestep must be a whole number .* got 998\.7"):
        blur.step(x, 998.7, x)
    with pytest.raises(TypeError, match=r"got 998\.7"):
        blur.previous_timestep(998.7)
    assert blur.step(x, 998.0, x, variance_noise=torch.zeros_like(x)).prev_sample.shape == x.shape  # 998.0 is 998


# ---------------------------------------------------------------- schedules, grids, devices

def test_the_cosine_schedule_refuses_betas_it_would_ignore():
    with pytest.raises(ValueError, match=r"beta_start and beta_end set the ends of the linear schedule; the 'cosine' "
                                         r"schedule has none, got beta_start=0\.02, beta_end=0\.0001"):
        cu.NoiseScheduler(100, beta_start=0.02, beta_end=1e-4, beta_schedule="cosine")
    with pytest.raises(ValueError, match=r"0 < beta_start <= beta_end < 1"):  # the linear one already refused it
        cu.NoiseScheduler(100, beta_start=0.02, beta_end=1e-4)


def test_flow_set_timesteps_refuses_a_count_its_sigmas_contradict():
    s = FlowMatchScheduler()
    with pytest.raises(ValueError, match=r"set_timesteps got num_inference_steps=10 and 2 sigmas"):
        s.set_timesteps(10, sigmas=[1, 0.5])
    s.set_timesteps(2, sigmas=[1, 0.5])
    assert s.num_inference_steps == 2
    s.set_timesteps(sigmas=[1, 0.5, 0.25])
    assert s.num_inference_steps == 3


def test_cuda_on_a_machine_without_it_is_one_sentence(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    msg = r"device='cuda': no CUDA GPU here \(torch\.cuda\.is_available\(\) is False\); use 'cpu'"
    with pytest.raises(RuntimeError, match=msg):
        cu.load_checkpoint("points", device="cuda")
    with pytest.raises(RuntimeError, match=msg):
        FlowMatchScheduler().set_timesteps(4, device="cuda")
    from course_utils.sampling import sample

    sched = cu.NoiseScheduler(100)
    sched.set_timesteps(2)
    with pytest.raises(RuntimeError, match=msg):
        sample(cu.UNet(channels=8, num_train_timesteps=100), sched, 2, device="cuda", progress=False)
    with pytest.raises(ValueError, match=r"device must be 'cpu', 'cuda' or 'mps'"):
        cu.load_checkpoint("points", device="gpu")
    assert cu.load_checkpoint("points", device="cpu").config["arch"] == "PointDenoiser"
