"""Prompts as conditions (Lesson 7): the text-conditional U-Net, the null prompt, guidance, negative prompts,
the checkpoint config, the shipped 'crayons' checkpoint and the command line's --prompt."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import course_utils as cu
from course_utils import crayons
from course_utils.checkpoints import SHIPPED, CheckpointError, check_config, read_metadata
from course_utils.crayons_eval import DONE_WHEN_COLOURS, HELD_OUT, TEST_SEED, prompt_table, summary
from course_utils.ddim import DDIMScheduler
from course_utils.sample import main as cli_main
from course_utils.sampling import _predict, sample
from course_utils.text import PromptEmbedding, drop_prompts

# Recorded from scripts/train_checkpoints.py --only crayons, with a little slack.
SHIPPED_CRAYONS_MAX_HELDOUT_LOSS = 0.035  # measured 0.0310 (1,000 fresh drawings of the seen pairs)


def text_unet(seed=0, size=16):
    torch.manual_seed(seed)
    m = cu.UNet(channels=16, image_size=size, in_channels=3, vocab_size=len(crayons.VOCAB),
                prompt_length=crayons.PROMPT_LENGTH, null_prompt=crayons.null_tokens().tolist()).eval()
    torch.nn.init.normal_(m.conv_out[-1].weight)  # the output layer starts at zero on purpose
    return m


@pytest.fixture(scope="module")
def ddim():
    s = DDIMScheduler(1000, beta_schedule="cosine")
    s.set_timesteps(4)
    return s


def test_unconditional_and_label_configs_and_weights_are_unchanged():
    torch.manual_seed(0)
    a = cu.UNet(channels=16).state_dict()
    m = text_unet()
    torch.manual_seed(0)
    b = cu.UNet(channels=16, image_size=16, in_channels=3, vocab_size=17, null_prompt=[1, 0, 0]).state_dict()
    assert not any(k.startswith("prompt_emb") for k in a)
    assert "vocab_size" not in cu.UNet().config and "vocab_size" not in cu.UNet(num_classes=10).config
    assert set(cu.UNet().config) == {"arch", "channels", "emb_dim", "image_size", "in_channels",
                                     "num_train_timesteps", "dropout"}
    torch.manual_seed(0)
    c = cu.UNet(channels=16, image_size=16, in_channels=3).state_dict()
    assert all(torch.equal(c[k], b[k]) for k in c)  # the prompt embedding is drawn after every other weight
    assert m.config["vocab_size"] == 17 and m.config["prompt_length"] == 3 and m.config["null_prompt"] == [1, 0, 0]
    assert m.prompt_emb.tokens.padding_idx == crayons.PAD_ID == 0
    assert check_config(m.config) == m.config


def test_the_prompt_reaches_the_output_and_none_is_the_null_prompt():
    m = text_unet()
    x, t = torch.randn(3, 3, 16, 16), torch.tensor([10, 500, 900])
    red, blue = crayons.tokenize(["a red house"] * 3), crayons.tokenize(["a blue house"] * 3)
    a, b = m(x, t, red), m(x, t, blue)
    assert (a - b).abs().max() > 1e-3
    null = m(x, t, crayons.null_tokens(3))
    assert torch.equal(m(x, t), null)  # no prompt = the null prompt = the unconditional prediction
    assert torch.equal(m.null_condition(3), crayons.null_tokens(3))
    assert (null - a).abs().max() > 1e-3
    mixed = m(x, t, torch.stack([red[0], blue[1], crayons.null_tokens()]))  # each example its own prompt
    assert torch.allclose(mixed[0], a[0], atol=1e-5) and torch.allclose(mixed[1], b[1], atol=1e-5)
    assert torch.allclose(mixed[2], null[2], atol=1e-5)


def test_prompt_embedding_is_the_mean_of_the_words_without_padding():
    torch.manual_seed(0)
    pe = PromptEmbedding(17, 8)
    ids = torch.tensor([[2, 4, 13], [4, 13, 0]])
    E = pe.tokens.weight
    assert torch.equal(E[0], torch.zeros(8))  # padding has no vector
    mean = torch.stack([(E[2] + E[4] + E[13]) / 3, (E[4] + E[13]) / 2])
    assert torch.allclose(pe(ids), pe.mlp(mean), atol=1e-6)


def test_guidance_is_eq_5_2_with_the_null_prompt_or_the_negative(ddim):
    m = text_unet()
    x, t = torch.randn(2, 3, 16, 16), torch.tensor([300, 300])
    y, neg = crayons.tokenize(["a red sun", "a red sun"]), crayons.tokenize(["a blue sun", "a blue sun"])
    e_y, e_0, e_n = m(x, t, y), m(x, t), m(x, t, neg)
    assert torch.allclose(_predict(m, x, t, y, 3.0), e_0 + 3 * (e_y - e_0), atol=1e-3)
    assert torch.allclose(_predict(m, x, t, y, 3.0, negative=neg), e_n + 3 * (e_y - e_n), atol=1e-3)
    assert torch.allclose(_predict(m, x, t, y, 0.0), e_0, atol=1e-3)
    assert torch.allclose(_predict(m, x, t, y, 1.0), e_y, atol=1e-3)


def test_same_seed_same_samples_and_prompt_forms_agree(ddim):
    m = text_unet()
    kw = dict(guidance=3.0, progress=False)
    a = sample(m, ddim, 3, labels="a red house", generator=torch.Generator().manual_seed(1), **kw)
    b = sample(m, ddim, 3, labels=crayons.tokenize("A RED house!"), generator=torch.Generator().manual_seed(1), **kw)
    c = sample(m, ddim, 3, labels=["a red house"] * 3, generator=torch.Generator().manual_seed(1), **kw)
    assert torch.equal(a, b) and torch.equal(a, c)
    d = sample(m, ddim, 3, labels="a red house", negative="a blue house", generator=torch.Generator().manual_seed(1),
               **kw)
    assert (a - d).abs().max() > 1e-4


def test_training_drops_prompts_to_the_null_prompt():
    ids = crayons.tokenize(["a red house"] * 1000)
    out = drop_prompts(ids, [1, 0, 0], 0.1, torch.Generator().manual_seed(0))
    dropped = (out == torch.tensor([1, 0, 0])).all(1)
    assert 0.07 < float(dropped.float().mean()) < 0.13 and torch.equal(out[~dropped], ids[~dropped])
    assert torch.equal(drop_prompts(ids, [1, 0, 0], 0.0), ids)
    m = text_unet()
    d = cu.make_drawings(64, 16, seed=3)
    loss = cu.diffusion_loss(m, d.images, cu.NoiseScheduler(1000), torch.Generator().manual_seed(0), labels=d.tokens,
                             label_dropout=0.1)
    assert loss.ndim == 0 and torch.isfinite(loss)


@pytest.mark.parametrize("y,error,match", [
    (torch.tensor([[2, 4, 99], [2, 4, 13]]), ValueError, r"0\.\.16 \(the vocabulary has 17"),
    (torch.tensor([2, 4]), ValueError, r"shape \(2, 3\), got \(2,\)"),
    (torch.tensor([[2.0, 4, 13], [2, 4, 13]]), TypeError, r"token ids \(torch.long\), got dtype torch.float32"),
    (np.array([[2, 4, 13], [2, 4, 13]]), TypeError, "numpy array"),
    ("a red house", TypeError, r"crayons.tokenize"),
    (torch.tensor([[0, 4, 13], [2, 4, 13]]), ValueError, "start with a word, not padding"),
])
def test_bad_prompt_ids_get_clear_errors(y, error, match):
    with pytest.raises(error, match=match):
        text_unet()(torch.randn(2, 3, 16, 16), torch.tensor([1, 2]), y)


def test_bad_requests_get_clear_errors(ddim):
    m, g = text_unet(), torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match=r"I don't know the word 'pink'.*colours: red, orange"):
        sample(m, ddim, 2, labels="a pink house", guidance=3, generator=g, progress=False)
    with pytest.raises(ValueError, match=r"has no words"):
        sample(m, ddim, 2, labels="  ", guidance=3, generator=g, progress=False)
    with pytest.raises(ValueError, match="negative needs labels and guidance"):
        sample(m, ddim, 2, negative="a red sun", generator=g, progress=False)
    with pytest.raises(ValueError, match="one prompt for all or one per sample"):
        sample(m, ddim, 2, labels=["a red sun"] * 3, generator=g, progress=False)
    plain = cu.UNet(channels=16, image_size=16, in_channels=3).eval()
    with pytest.raises(ValueError, match="text-conditional model"):
        sample(plain, ddim, 2, labels="a red sun", generator=g, progress=False)
    with pytest.raises(ValueError, match="takes no prompts"):
        plain(torch.randn(2, 3, 16, 16), torch.tensor([1, 2]), crayons.tokenize(["a red sun"] * 2))
    with pytest.raises(ValueError, match="labels.*or prompts.*not both"):
        cu.UNet(num_classes=10, vocab_size=17, null_prompt=[1, 0, 0])
    with pytest.raises(ValueError, match="needs null_prompt"):
        cu.UNet(vocab_size=17, prompt_length=3)
    with pytest.raises(ValueError, match="first id is a word"):
        cu.UNet(vocab_size=17, null_prompt=[0, 0, 0])
    with pytest.raises(ValueError, match="label_dropout"):
        cu.train(m, torch.rand(4, 3, 16, 16) * 2 - 1, cu.NoiseScheduler(1000), steps=1, labels=crayons.tokenize(
            ["a red sun"] * 4), label_dropout=1.0, progress=False)


def test_bad_text_configs_are_refused():
    good = text_unet().config
    for bad, match in [({"vocab_size": 2}, "vocab_size"), ({"null_prompt": [1, 0]}, "null_prompt"),
                       ({"null_prompt": [0, 0, 0]}, "not padding"), ({"num_classes": 10, "null_label": 10}, "without")]:
        with pytest.raises(CheckpointError, match=match):
            check_config({**good, **bad})
    lacking = {k: v for k, v in good.items() if k != "null_prompt"}
    with pytest.raises(CheckpointError, match="records vocab_size, prompt_length and null_prompt"):
        check_config(lacking)


def test_a_text_model_saves_and_loads(tmp_path, ddim):
    m = text_unet()
    cu.save_checkpoint(m, tmp_path / "t.safetensors", scheduler=cu.NoiseScheduler(1000, beta_schedule="cosine"))
    back = cu.load_checkpoint(tmp_path / "t.safetensors")
    assert back.config == m.config and back.vocab_size == 17
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    assert torch.equal(sample(m, ddim, 2, labels="a red sun", guidance=2, generator=g(), progress=False),
                       sample(back, ddim, 2, labels="a red sun", guidance=2, generator=g(), progress=False))


# ---------------------------------------------------------------- the shipped checkpoint

needs_crayons = pytest.mark.skipif(not SHIPPED["crayons"].exists(), reason="crayons checkpoint not trained yet")


@needs_crayons
def test_shipped_crayons_checkpoint_is_small_and_its_held_out_loss_is_bounded():
    assert SHIPPED["crayons"].stat().st_size < 5e6
    meta = read_metadata("crayons")
    assert [tuple(p) for p in meta["metadata"]["held_out_pairs"]] == list(HELD_OUT)
    m = cu.load_checkpoint("crayons")
    sched = cu.NoiseScheduler(1000, beta_schedule="cosine")
    seen = cu.make_drawings(400, 16, seed=TEST_SEED, exclude=HELD_OUT)
    loss = cu.evaluate_loss(m, seen.images, sched, labels=seen.tokens)
    assert loss < SHIPPED_CRAYONS_MAX_HELDOUT_LOSS
    assert loss < cu.evaluate_loss(m, seen.images, sched)  # the prompt helps: below the null prompt's loss


@needs_crayons
def test_shipped_crayons_draws_what_the_prompt_asks_cheaply():
    """A cheap version of the done-when rate (issue 14): 8 drawings per pair, the course's sampler (deterministic
    DDIM, 20 steps, clipped, one stride below T-1: crayons_eval.SAMPLER), guidance 3. Each pair on its own, not only
    the mean."""
    m = cu.load_checkpoint("crayons")
    pairs = [(c, o) for c in DONE_WHEN_COLOURS for o in crayons.OBJECTS]
    rows = prompt_table(m, pairs, n=8, guidance=3.0)
    assert summary(rows)["all"]["both"] >= 0.9
    assert all(r["both"] >= 0.75 for r in rows), [(r["prompt"], r["both"]) for r in rows if r["both"] < 0.75]


def test_prompt_table_names_its_samplers():
    with pytest.raises(ValueError, match='sampler must be "ddpm" or "ddim"'):
        prompt_table(text_unet(),
                     [("red", "sun")], n=1, sampler="heun")


@needs_crayons
def test_cli_prompt_writes_colour_samples(tmp_path, capsys):
    out = tmp_path / "s.npy"
    assert cli_main(["--checkpoint", "crayons", "--prompt", "a red house", "--guidance", "3", "--n", "4",
                     "--out", str(out)]) == 0
    x = np.load(out)
    assert x.shape == (4, 3, 16, 16) and x.dtype == np.float32 and x.min() >= -1 and x.max() <= 1
    assert (tmp_path / "s.png").stat().st_size > 0
    said = capsys.readouterr().out
    assert "prompt 'a red house' with guidance 3" in said and "ddim with 50 steps" in said  # as for labels


@needs_crayons
@pytest.mark.parametrize("args,match", [
    (["--prompt", "a pink house"], r"I don't know the word 'pink'.*colours: red"),
    (["--prompt", ""], r"has no words.*colours: red"),
    (["--prompt", "a red house", "--label", "3"], "--label is for digits_cond"),
    (["--prompt", "a red house", "--negative", "a red hat"], r"'hat'.*objects: sun"),
])
def test_cli_bad_prompts_get_one_line_naming_the_vocabulary(tmp_path, capsys, args, match):
    assert cli_main(["--checkpoint", "crayons", "--n", "2", "--steps", "2", "--out", str(tmp_path / "s.npy"),
                     *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
    import re

    assert re.search(match, err), err


def test_cli_prompt_on_a_checkpoint_without_prompts(tmp_path, capsys):
    assert cli_main(["--checkpoint", "digits", "--prompt", "a red house", "--n", "2", "--steps", "2",
                     "--out", str(tmp_path / "s.npy")]) == 2
    err = capsys.readouterr().err.strip()
    assert "text-conditional checkpoint (crayons)" in err and "red" in err and "\n" not in err


@needs_crayons
def test_prompt_box_draws_with_deterministic_ddim_from_the_same_static():
    """Lesson 7's prompt box: deterministic DDIM (crayons_eval.SAMPLER), clipped, one stride below T-1, so the same
    static turns into the picture at every w and every request (no fresh noise)."""
    from course_utils.sliders.lesson7 import PromptBox

    m = cu.load_checkpoint("crayons")
    box = PromptBox(m, n=2, guidance=3.0)
    assert isinstance(box.scheduler, DDIMScheduler) and box.scheduler.clip_sample
    assert int(box.scheduler.timesteps[0]) == 950 and len(box.scheduler.timesteps) == 20
    again = PromptBox(m, n=2, guidance=1.0).draw("a red house", 3.0)
    assert torch.equal(box.draw("a red house", 3.0), again)  # the same pictures, box after box
    direct = sample(m, box.scheduler, 2, labels="a red house", guidance=2.0, eta=0.0,
                    generator=torch.Generator().manual_seed(0), progress=False).clamp(-1, 1)
    assert torch.equal(box.draw("a red house", 2.0), direct)  # only the seed's static is drawn, nothing else
