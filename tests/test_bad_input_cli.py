"""The command line never gives a silent wrong answer (issue 21, section 4): each bad request is refused in one
sentence before sampling (exit code 2, no traceback), and samples that came out NaN or infinite are never written.

Cheap on purpose: the refusals stub out the sampler (they must come before it), the few real runs use --steps 1..20
and --n 1..2 on the shipped checkpoints.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import course_utils as cu
from course_utils.guidance import MAX_GUIDANCE, check_guidance
from course_utils.sample import main as cli_main
from course_utils.sample import make_scheduler


def _no_sampling(*args, **kwargs):
    raise AssertionError("sampled before refusing the request")


@pytest.fixture
def refuse_first(monkeypatch, tmp_path):
    """Run in tmp_path with the sampler replaced by a failure: a refusal must come before any sampling."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("course_utils.sample.sample", _no_sampling)
    return tmp_path


def run(capsys, *args) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of the command line; argparse's own errors exit through SystemExit."""
    try:
        rc = cli_main([*args])
    except SystemExit as stop:
        rc = stop.code
    out, err = capsys.readouterr()
    return rc, out, err


def refused(capsys, *args, code: int = 2) -> str:
    """The one-sentence error of a refused command line (argparse's errors come after a usage block)."""
    rc, out, err = run(capsys, "--n", "2", "--steps", "2", *args)
    assert rc == code, (rc, out, err)
    assert "Traceback" not in err, err
    line = err.strip().splitlines()[-1]
    assert "error: " in line, err
    message = line.split("error: ", 1)[1]
    assert message.count(". ") == 0, message  # one sentence
    return message


# ----------------------------------------------------------------------------- guidance: range, never non-finite


@pytest.mark.parametrize("w", ["1e6", "1e30", "inf", "-inf", "nan", "-1", "20.001"])
def test_guidance_outside_its_range_is_refused_with_the_range(refuse_first, capsys, w):
    msg = refused(capsys, "--checkpoint", "digits_cond", "--label", "3", f"--guidance={w}")
    assert msg.startswith(f"--guidance must be a number >= 0 and at most {MAX_GUIDANCE:g}"), msg
    assert "the shipped checkpoints lose the request" in msg


def test_guidance_range_in_the_library():
    assert MAX_GUIDANCE == 20
    assert check_guidance(20, maximum=MAX_GUIDANCE) == 20.0 and check_guidance(0, maximum=MAX_GUIDANCE) == 0.0
    with pytest.raises(ValueError, match="at most 20 .*got 1e\\+06"):
        check_guidance(1e6, maximum=MAX_GUIDANCE)
    assert check_guidance(1e6) == 1e6  # the library takes any finite w (a lesson may show what a huge w does)


def test_guidance_at_the_bound_runs(tmp_path, capsys):
    out = tmp_path / "s.npy"
    rc, stdout, err = run(capsys, "--checkpoint", "digits_cond", "--label", "3", "--guidance", "20", "--n", "2",
                          "--steps", "2", "--out", str(out))
    assert rc == 0, err
    assert "label 3 with guidance 20" in stdout and np.isfinite(np.load(out)).all()


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_samples_are_never_written(tmp_path, capsys, monkeypatch, bad):
    def diverged(model, sched, n, **kwargs):
        x = torch.zeros(n, 1, 8, 8)
        x[0, 0, 0, 0] = bad  # one value is enough: clamp would hide inf as 1 and keep NaN
        return x

    monkeypatch.setattr("course_utils.sample.sample", diverged)
    out = tmp_path / "s.npy"
    msg = refused(capsys, "--checkpoint", "digits", "--out", str(out), code=1)
    assert "1 of the 128 sampled values are NaN or infinite" in msg and "nothing was written" in msg
    assert not out.exists() and not out.with_suffix(".png").exists()


# ----------------------------------------------------------------------------- options: no abbreviations, no misfits


@pytest.mark.parametrize("args", [
    ("--checkpoint", "digits-flow", "--samp", "ddpm"),
    ("--checkpoint", "digits-flow", "--spac", "leading"),
    ("--checkpoint", "digits", "--et", "0.5"),
    ("--checkpoint", "digits-flow", "--et", "0.5"),
    ("--check", "digits"),
])
def test_abbreviated_options_are_refused(refuse_first, capsys, args):
    msg = refused(capsys, *args)
    assert msg.startswith("unrecognized arguments: " + args[-2]), msg


@pytest.mark.parametrize("args,expected", [
    (("--checkpoint", "digits-flow", "--sampler", "ddpm"), "--sampler does not apply to the flow-matching"),
    (("--checkpoint", "digits-flow", "--spacing", "below_top"), "--spacing does not apply to the flow-matching"),
    (("--checkpoint", "digits-flow", "--eta", "0"), "--eta does not apply to the flow-matching"),
    (("--checkpoint", "digits-flow", "--eta=0.5"), "--eta does not apply to the flow-matching"),
    (("--checkpoint", "digits-flow", "--label", "3"), "--label needs a class-conditional checkpoint"),
    (("--checkpoint", "digits", "--solver", "heun"), "--solver heun is for a flow-matching checkpoint"),
    (("--checkpoint", "digits", "--sampler", "ddpm", "--eta", "0"), "--eta applies to --sampler ddim only"),
    (("--checkpoint", "digits", "--sampler", "dpm-solver", "--eta", "0.5"), "--eta applies to --sampler ddim only"),
    (("--checkpoint", "digits-blur", "--sampler", "dpm-solver"), "--sampler dpm-solver is for noise checkpoints"),
    (("--checkpoint", "digits", "--label", "3"), "--label needs a class-conditional checkpoint"),
    (("--checkpoint", "digits", "--guidance", "3"), "--guidance needs a class-conditional checkpoint"),
    (("--checkpoint", "digits_cond", "--guidance", "3"), "--guidance needs --label"),
    (("--checkpoint", "digits_cond", "--prompt", "a red house"), "--prompt needs a text-conditional checkpoint"),
    (("--checkpoint", "crayons", "--label", "3"), "--label is for digits_cond (a class-conditional checkpoint); "
                                                  "crayons is text-conditional"),
    (("--checkpoint", "crayons", "--guidance", "3"), "--guidance needs --prompt"),
    (("--checkpoint", "crayons", "--negative", "a blue house"), "--negative needs --prompt"),
    (("--checkpoint", "crayons", "--prompt", "a red house", "--negative", "a blue house", "--guidance", "1"),
     "--negative with --guidance 1 draws 'a red house' as if"),
    (("--checkpoint", "crayons", "--prompt", "a red house", "--negative", "a blue house", "--guidance", "0"),
     "--negative with --guidance 0 draws the negative prompt"),
])
def test_options_that_do_not_apply_are_refused_in_one_sentence(refuse_first, capsys, args, expected):
    assert expected in refused(capsys, *args)


@pytest.mark.parametrize("checkpoint", ["digits_cond", "digits"])
def test_negative_on_a_checkpoint_without_prompts_names_the_right_option(refuse_first, capsys, checkpoint):
    """It used to answer "--label is for digits_cond" to a request made of digits_cond."""
    msg = refused(capsys, "--checkpoint", checkpoint, "--label", "3", "--negative", "5")
    assert msg.startswith(f"--negative needs a text-conditional checkpoint (crayons); {checkpoint} was trained "
                          "without prompts"), msg
    assert "--label is for" not in msg


# ----------------------------------------------------------------------------- --out, --n, --steps: before sampling


def test_out_never_overwrites_a_file_the_user_did_not_name(refuse_first, capsys):
    (refuse_first / "mydata.npy").write_bytes(b"precious")
    msg = refused(capsys, "--out", "mydata.png")
    assert msg.startswith("--out mydata.png would also write mydata.npy, which exists and was not named"), msg
    assert "would also write mydata.npy" in refused(capsys, "--out", "mydata")  # no suffix names neither
    assert (refuse_first / "mydata.npy").read_bytes() == b"precious"
    (refuse_first / "pic.png").write_bytes(b"mine")
    assert "would also write pic.png" in refused(capsys, "--out", "pic.npy")
    msg = refused(capsys, "--out", "run.v2")  # with_suffix would have written run.npy
    assert msg.startswith("--out must name a .npy file"), msg


def test_out_named_file_and_an_earlier_pair_are_written_over(tmp_path, capsys):
    out = tmp_path / "s.npy"
    out.write_bytes(b"old")  # named: the user asked for it
    assert run(capsys, "--n", "1", "--steps", "1", "--out", str(out))[0] == 0
    assert np.load(out).shape == (1, 1, 8, 8)
    assert run(capsys, "--n", "2", "--steps", "1", "--out", str(tmp_path / "s.png"))[0] == 0  # the pair of a run
    assert np.load(out).shape == (2, 1, 8, 8)


@pytest.mark.parametrize("name", ["a" * 300 + ".npy", "f" * 300 + "/s.npy", "a" * 252 + ".png"])
def test_out_name_too_long_is_refused_before_sampling(refuse_first, capsys, name):
    msg = refused(capsys, "--out", name)
    assert "bytes long, more than the" in msg and "choose a shorter name" in msg, msg


@pytest.mark.parametrize("args,expected", [
    (("--n", str(10**12)), "--n must be between 1 and 10,000"),
    (("--n", "10001"), "--n must be between 1 and 10,000"),
    (("--n", "0"), "--n must be between 1 and 10,000"),
    (("--steps", "1001"), "--steps must be between 1 and 1000"),
    (("--steps", "0"), "--steps must be between 1 and 1000"),
])
def test_n_and_steps_are_bounded(refuse_first, capsys, args, expected):
    rc, _, err = run(capsys, *args)
    assert rc == 2 and expected in err and "Traceback" not in err, err


# ----------------------------------------------------------------------------- the blur-to-static grid


@pytest.mark.parametrize("steps", ["667", "999", "1000"])
def test_blur_never_starts_at_T_minus_1(refuse_first, capsys, steps):
    msg = refused(capsys, "--checkpoint", "digits-blur", "--steps", steps)
    assert msg.startswith(f"--steps {steps} with --spacing below_top would start a blur-to-static run at t = T-1"), msg
    assert "use --steps 16 to 666" in msg


def test_blur_refuses_trailing_and_leading_slips(refuse_first, capsys):
    msg = refused(capsys, "--checkpoint", "digits-blur", "--spacing", "trailing")
    assert msg.startswith("--spacing trailing starts every blur-to-static run at t = T-1 = 999"), msg
    msg = refused(capsys, "--checkpoint", "digits-blur", "--spacing", "leading", "--steps", "501")
    assert msg.startswith("--steps 501 with --spacing leading would start a blur-to-static run at t = 500"), msg
    assert "too few" in refused(capsys, "--checkpoint", "digits-blur", "--steps", "15")


def test_blur_grid_is_the_spacing_asked_for():
    model = cu.load_checkpoint("digits_blur")
    for steps in (16, 50, 61, 501, 666):
        ts = make_scheduler(model, "ddim", steps).timesteps
        assert int(ts[0]) == round(1000 - 1000 / steps) < 999 and len(ts) == steps and int(ts[-1]) == 0
    assert int(make_scheduler(model, "ddim", 666).timesteps[0]) == 998
    sched = make_scheduler(model, "ddim", 61, "leading")  # it used to be below_top whatever was asked
    assert sched.timestep_spacing == "leading" and sched.timesteps.tolist() == list(range(960, -1, -16))
    p = cu.BlurToStatic(cu.NoiseScheduler(1000, beta_schedule="cosine"), max_blur_sigma=3.0)
    ref = cu.NoiseScheduler(1000, beta_schedule="cosine")
    for n in (1, 7, 50, 61, 501, 667, 1000):
        p.set_timesteps(n, timestep_spacing="below_top")
        ref.set_timesteps(n, timestep_spacing="below_top")
        assert torch.equal(p.timesteps, ref.timesteps) and p.timestep_spacing == "below_top"


def test_blur_summary_says_what_ran(tmp_path, capsys):
    rc, out, err = run(capsys, "--checkpoint", "digits-blur", "--spacing", "leading", "--steps", "20", "--n", "2",
                       "--out", str(tmp_path / "s.npy"))
    assert rc == 0, err
    assert "ddim with 20 steps (leading)" in out


# ----------------------------------------------------------------------------- the summary line


def test_summary_names_the_negative_prompt_and_counts_in_the_singular(tmp_path, capsys):
    rc, out, err = run(capsys, "--checkpoint", "crayons", "--prompt", "a red house", "--negative", "a blue house",
                       "--n", "1", "--steps", "1", "--out", str(tmp_path / "s.npy"))
    assert rc == 0, err
    assert out.startswith("1 sample, prompt 'a red house' away from 'a blue house' with guidance 3, ddim with 1 step "
                          "(below_top), "), out
