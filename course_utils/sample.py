"""Draw samples from a checkpoint on the command line: a .npy array and a PNG grid.

    python -m course_utils.sample --checkpoint digits --n 1000 --steps 50 --out samples.npy

Writes samples.npy (n, 1, 8, 8) float32 at native resolution with values in [-1, 1], and samples.png,
a grid of the first 100 enlarged. --sampler ddim (default, deterministic with --eta 0), ddpm or dpm-solver
(DPM-Solver++(2M), course_utils/dpm_solver.py; not for the blur-to-static checkpoint); --n from 1 to 10,000
(one batch); --steps from 1 to 1000; --checkpoint "digits", "digits_blur" (or "digits-blur"), "points" or the
path of a .safetensors file. The scheduler is made with the process recorded in the checkpoint (its T and noise
schedule, and for a blur-to-static checkpoint of Lesson 4 its blur: BlurToStatic.step, deterministic with
--sampler ddim and --eta 0, ancestral with --sampler ddpm).

--spacing below_top (the default) spreads the --steps timesteps as T - T/n, T - 2T/n, ..., 0: one stride below
t = T-1. At T-1 the cosine schedule leaves alpha_bar = 2.4e-9, and the step from there multiplies the error of
the noise guess by sqrt(abar_s / abar_{T-1}) (632 for s = 979): a noise-predicting model's first step from T-1
is its worst (measured, with the course's stroke metric, in docs/sampler-tables.md: at 4 and 8 steps below_top
is the best grid on digits). --spacing trailing is diffusers' "trailing" (starts at T-1 for every n; Lin et al.
2024 pair it with a zero-terminal-SNR schedule and v-prediction, which these checkpoints do not have); --spacing
leading is Lesson 3's set_timesteps: (n-1) r, ..., r, 0 with r = T // n, the same as below_top when n divides T,
but starting at t = 500 for --steps 501.
The blur-to-static checkpoint takes below_top and leading, and refuses a grid that starts at t = T-1 (trailing
always; below_top from --steps 667 on, whose rounding lands on T-1) or where more than 1 % of the picture is left
(fewer than 16 steps; leading's slip): nothing clips its clean guess, and measured (digits_blur, deterministic,
300 samples, seeds 0 and 1, digit_quality's stroke metric) 50 steps score 30.0, 1000 steps from T-1 420.7 with
pixels of 2.8e5, trailing's 50 steps 2105.7 with pixels of 1.5e6. The summary line names the spacing used.
--label K (0..9) asks a class-conditional checkpoint (digits_cond, or "digits-cond", Lesson 5) for digit K
(deterministic DDIM by default: the same --seed gives the same static, and the picture changes only with W);
--guidance W (0 to 20, default 3 with --label) is the classifier-free guidance scale: eps_null + W (eps_K -
eps_null), the course's w, the same as diffusers' guidance_scale (Ho & Salimans' w is W - 1). Both are refused
on a checkpoint trained without labels; digits_cond without --label draws without a request (the null label).
Above W = 20 the shipped checkpoints lose the request (measured: guidance.MAX_GUIDANCE), and W = 1e6 saturates
every pixel: refused. Samples that came out NaN or infinite are never written (exit code 1).
--prompt "a red house" asks a text-conditional checkpoint (crayons, Lesson 7) for a drawing, with --guidance W
(default 3) from the null prompt, or from --negative "a blue house" instead; an unknown word, an empty prompt
or a prompt for a checkpoint without prompts is refused in one line that names the vocabulary; --negative at
--guidance 0 or 1 (where it, or the prompt, has no effect) is refused too.
--out is checked before sampling: an existing folder, an empty path, a name longer than the file system takes,
a suffix other than .npy or .png, a place that cannot be written to, or an existing file the command would write
but the user did not name (--out mydata.png beside an existing mydata.npy; the pair of an earlier run is
written over) is refused at once (exit code 2). Options are never abbreviated (--samp is not --sampler), and an
option that does not apply to the checkpoint is refused in one sentence.

--init PATH (Lesson 8: image to image, SDEdit) starts from a drawing (.png, or .npy of one (3, H, W) picture in
[-1, 1]; a square of another size is resized to the model's) instead of pure static: --strength S (0..1, default
0.8, as diffusers) runs the last int(steps * S) steps of the grid from the drawing smudged to the first of them
(img2img.image_to_image); --prompt steers it. For the colour checkpoints (crayons, crayons-blur); a missing, grey,
non-square or out-of-range --init, and --strength outside [0, 1] or without --init, are refused in one line.

A flow-matching checkpoint (Lesson 6: --checkpoint digits-flow) is sampled with --solver euler (the default)
or heun: --steps counts solver steps over the uniform time grid 1, 1 - 1/n, ..., 0. Euler makes one network
evaluation a step (--steps 4: 4), Heun two, except on its last step to t = 0, which is an Euler step (Karras
et al. 2022): --steps 4 is 7 evaluations. --solver is refused on the other checkpoints, --sampler, --eta and
--spacing on a flow checkpoint.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from .checkpoints import CheckpointError, _resolve, load_checkpoint
from .ddim import DDIMScheduler
from .dpm_solver import DPMSolverMultistepScheduler
from .env import get_device
from .flow import SOLVERS, FlowMatchScheduler
from .forward import BlurToStatic
from .guidance import MAX_GUIDANCE, check_guidance
from .process import scheduler_from_process
from .sampling import sample
from .scheduler import NoiseScheduler

MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes a 64-bit seed
# --n: one batch. Measured peaks (CPU, --steps 1): digits_cond 10,000 samples 1.4 GB, crayons 4.7 GB (twice that
# with guidance: two network evaluations a step). --n 10**12 used to end in an allocator traceback.
MAX_N = 10_000


def make_scheduler(model, sampler: str, steps: int, spacing: str = "below_top") -> NoiseScheduler | BlurToStatic:
    """The sampler's scheduler for the process ``model`` was trained with (``model.trained_on``), ``steps`` steps.

    A checkpoint of the first format without a record: the course's schedule (cosine) with the model's T.
    """
    process = (getattr(model, "trained_on", None) or {}).get("process") or {
        "kind": "noise", "num_train_timesteps": model.config["num_train_timesteps"], "beta_schedule": "cosine"}
    if process["kind"] == "flow_matching":  # Lesson 6: the sampler is the solver, "euler" or "heun"
        sched = scheduler_from_process(process, solver=sampler if sampler in SOLVERS else "euler")
        sched.set_timesteps(steps)
        return sched
    if process["kind"] == "blur_to_static":  # Lesson 4: its own step, without clipping the clean guess
        if sampler == "dpm-solver":
            raise ValueError("--sampler dpm-solver is for noise checkpoints; a blur-to-static checkpoint samples with "
                             "its own step: --sampler ddim (eta 0) or ddpm (ancestral).")
        sched = scheduler_from_process(process)  # (clipping in pixels skews blurred digits: forward.py)
        sched.set_timesteps(steps, timestep_spacing=spacing)  # the spacing asked for, recorded for the summary
        check_blur_grid(sched, steps, spacing)
        return sched
    cls = {"ddim": DDIMScheduler, "dpm-solver": DPMSolverMultistepScheduler}.get(sampler, NoiseScheduler)
    # Pictures: clip the clean guess to [-1, 1]; sample() then re-derives DDIM's eps from the clipped guess
    # (use_clipped_model_output), without which guided DDIM fails (scripts/sampler_ablation.py). Points live
    # outside [-1, 1]: no clipping there.
    clip = model.config["arch"] == "UNet"
    sched = scheduler_from_process(process, cls, clip_sample=clip)
    sched.set_timesteps(steps, timestep_spacing=spacing)
    return sched


BLUR_START_MAX_ALPHA_BAR = 0.01  # where a blur-to-static run may start: the picture is at least 99 % static


def blur_timesteps(process, steps: int) -> torch.Tensor:
    """The command line's timesteps for a blur-to-static checkpoint: T - T/n, T - 2T/n, ..., 0 (rounded).

    The same grid as the noise checkpoints' "below_top" (scheduler.set_timesteps): not diffusers' "trailing",
    which starts at T-1. There the cosine schedule's capped beta leaves abar = 2.4e-9, and the jump to s
    multiplies the network's error by sqrt(abar_s / abar_{T-1}) (632 for s = 979), at every frequency alike: the
    blur plays no part (the noise-only digits fail from T-1 the same way, scripts/sampler_ablation.py). Noise
    checkpoints can clip their clean guess to bound it; a blur checkpoint cannot (clipping in pixels skews
    blurred digits: forward.py). Measured on digits_blur, 50 steps: from T-1, Frechet distance 107; one stride
    lower, 5.1 (Lesson 3's metric, one seed). The grid must still start at least 99 % static (abar <= 0.01): at
    least 16 steps for T = 1000; fewer are refused with the reason. From n = 667 on the rounding lands on T-1
    again (999 for n = 1000): this function returns that grid, and the command line (``make_scheduler``, through
    ``process.set_timesteps`` and ``check_blur_grid``) refuses it: measured, 1000 steps from T-1 score 420.7
    against 30.0 for 50 steps (``check_blur_grid``).
    """
    T = process.num_train_timesteps
    ts = torch.from_numpy(np.round(T - (np.arange(steps) + 1) * T / steps).astype(np.int64))  # (n,): ..., 0
    abar = float(process.alphas_cumprod[int(ts[0])])
    if abar > BLUR_START_MAX_ALPHA_BAR:
        raise ValueError(f"--steps {steps} is too few for a blur-to-static checkpoint: its first step would start "
                         f"at t = {int(ts[0])}, where {abar:.1%} of the picture's power is left (at most "
                         f"{BLUR_START_MAX_ALPHA_BAR:.0%}: it starts from pure static). Use --steps 16 or more.")
    return ts


def check_blur_grid(process: BlurToStatic, steps: int, spacing: str) -> None:
    """Refuse, in one sentence, a blur-to-static grid (``process.timesteps``) the checkpoint cannot sample well.

    Two ways to fail, both measured on digits_blur (deterministic, 300 samples, seeds 0 and 1, the stroke
    metric of ``digit_quality``): a first step from t = T-1 (trailing for every n, below_top for n >= 667,
    leading at n = T), where nothing clips the clean guess and the first step multiplies the network's error by
    sqrt(abar_s / abar_{T-1}) (BLUR_T_MINUS_1); a first step where more than 1 % of the picture is left
    (too few steps, or leading's slip: t = 500 at n = 501), which the static it starts from does not match.
    Measured (Frechet distance to the digits, mean of seeds 0 and 1; first timestep; largest pixel before the clamp):
    below_top 16 steps (t = 938) 37.6, 50 (980) 30.0, 500 (998) 31.2, 666 (998) 30.3, 999 and 1000 (999) 420.7
    (pixels of 2.8e5); trailing 50 (999) 2105.7 (pixels of 1.5e6); 999 steps over T-1 (from 998) 30.0. The start at
    T-1 alone is the fault, and 666 steps already score as 50 do: --steps 667 to 1000 are refused, not re-spaced.
    """
    T = process.num_train_timesteps
    ts = process.timesteps
    first = int(ts[0])
    if first == T - 1:
        s = int(ts[1]) if len(ts) > 1 else -1
        abar = process.alphas_cumprod.double()
        gain = float((abar[s] / abar[T - 1]).sqrt()) if s >= 0 else float(1 / abar[T - 1].sqrt())
        if spacing == "trailing":
            raise ValueError(f"--spacing trailing starts every blur-to-static run at t = T-1 = {T - 1}, where the "
                             f"first step multiplies the network's error about {gain:,.0f} times and nothing clips it "
                             "(50 steps: pixels of 1.5e6): use --spacing below_top (the default) or leading.")
        top = max(n for n in range(1, T + 1) if round(T - T / n) < T - 1)  # below_top's last n below T-1: 666
        raise ValueError(f"--steps {steps} with --spacing {spacing} would start a blur-to-static run at t = T-1 = "
                         f"{T - 1}, where the first step multiplies the network's error about {gain:,.0f} times and "
                         f"nothing clips it: use --steps {_blur_min_steps(process)} to {top}.")
    abar = float(process.alphas_cumprod[first])
    if abar > BLUR_START_MAX_ALPHA_BAR:
        if spacing == "leading" and steps >= _blur_min_steps(process):
            raise ValueError(f"--steps {steps} with --spacing leading would start a blur-to-static run at t = {first} "
                             f"(steps of T // n = {T // steps}), where {abar:.1%} of the picture's power is left (at "
                             f"most {BLUR_START_MAX_ALPHA_BAR:.0%}: it starts from pure static): use --spacing "
                             "below_top (the default).")
        raise ValueError(f"--steps {steps} is too few for a blur-to-static checkpoint: its first step would start "
                         f"at t = {first}, where {abar:.1%} of the picture's power is left (at most "
                         f"{BLUR_START_MAX_ALPHA_BAR:.0%}: it starts from pure static): use --steps "
                         f"{_blur_min_steps(process)} or more.")


def _blur_min_steps(process) -> int:
    """The fewest below_top steps whose first timestep leaves at most BLUR_START_MAX_ALPHA_BAR (16 for T = 1000)."""
    T, abar = process.num_train_timesteps, process.alphas_cumprod
    return min(n for n in range(1, T + 1) if float(abar[int(round(T - T / n))]) <= BLUR_START_MAX_ALPHA_BAR)


def default_sampler(model) -> str:
    """ddim (deterministic with --eta 0) for every noise checkpoint, guided ones included.

    Guided DDIM used to fail (the course defaulted to ddpm for digits_cond and crayons): the cause was not the
    guidance but two sampler faults, each measured alone in scripts/sampler_ablation.py: a clipped x0_hat whose
    eps was not re-derived, and the first step from t = T-1. With both fixed, guided DDIM at w = 3 draws the asked
    digit and colour as often as DDPM does."""
    return "ddim"


DEFAULT_GUIDANCE = 3.0  # with --label: the scale of the course's measured table (docs/measurements.md, Lesson 5)


def check_request(model, name: str, label: int | None, guidance: float | None) -> dict:
    """``sample``'s keyword arguments for --label and --guidance, or a ValueError in one line (Lesson 5)."""
    k = getattr(model, "num_classes", 0)
    if label is None and guidance is None:
        return {}
    if not k:
        which = "--label" if label is not None else "--guidance"
        raise ValueError(f"{which} needs a class-conditional checkpoint (digits_cond); {name} was trained without "
                         "labels: leave out --label and --guidance, or use --checkpoint digits_cond.")
    if label is None:
        raise ValueError(f"--guidance needs --label (0..{k - 1}): guidance pushes the samples toward the label "
                         "asked for.")
    if not 0 <= label < k:
        raise ValueError(f"--label must be from 0 to {k - 1}, got {label}.")
    return {"labels": int(label), "guidance": DEFAULT_GUIDANCE if guidance is None else float(guidance)}


def check_prompt(model, name: str, prompt: str | None, guidance: float | None, negative: str | None = None) -> dict:
    """``sample``'s keyword arguments for --prompt, --guidance and --negative, or a ValueError in one line that
    names the vocabulary (Lesson 7)."""
    from . import crayons

    if not getattr(model, "vocab_size", 0):
        which = "--prompt" if prompt is not None else "--negative"
        instead = " (it takes --label and --guidance)" if getattr(model, "num_classes", 0) else ""
        raise ValueError(f"{which} needs a text-conditional checkpoint (crayons); {name} was trained without "
                         f"prompts{instead}: use --checkpoint crayons (words: {', '.join(crayons.VOCAB[2:])}).")
    if prompt is None:
        if negative is not None:
            raise ValueError("--negative needs --prompt: it guides away from one request toward another.")
        if guidance is not None:
            raise ValueError("--guidance needs --prompt on this checkpoint, such as --prompt \"a red house\".")
        return {}
    crayons.tokenize(prompt)  # unknown words, an empty prompt: one line that lists the vocabulary
    request = {"labels": prompt, "guidance": DEFAULT_GUIDANCE if guidance is None else float(guidance)}
    if negative is not None:
        crayons.tokenize(negative)  # the same one-line error for a bad word
        if request["guidance"] in (0.0, 1.0):  # eps_neg + w (eps_y - eps_neg): w = 1 is eps_y, w = 0 is eps_neg
            drawn = (f"{prompt!r} as if there were no --negative" if request["guidance"] == 1
                     else f"the negative prompt {negative!r} itself")
            raise ValueError(f"--negative with --guidance {request['guidance']:g} draws {drawn} (eps_neg + w "
                             "(eps_prompt - eps_neg)): give a guidance other than 0 and 1, such as 3, or leave out "
                             "--negative.")
        request["negative"] = negative
    return request


def check_requests(model, args) -> dict:
    """``sample``'s keyword arguments for --label, --prompt, --negative and --guidance on ``model``, or a ValueError
    in one sentence naming the option that does not apply (Lessons 5 and 7)."""
    if getattr(model, "vocab_size", 0):  # text-conditional (crayons)
        if args.label is not None:
            raise ValueError(f"--label is for digits_cond (a class-conditional checkpoint); {args.checkpoint} is "
                             "text-conditional: ask with --prompt, such as --prompt \"a red house\".")
        return check_prompt(model, args.checkpoint, args.prompt, args.guidance, args.negative)
    if args.prompt is not None or args.negative is not None:
        check_prompt(model, args.checkpoint, args.prompt, args.guidance, args.negative)  # raises: no prompts here
    return check_request(model, args.checkpoint, args.label, args.guidance)


def _name_max(folder: Path) -> int:
    """The longest file name (bytes) the file system of ``folder`` (or of its nearest existing parent) takes."""
    for p in (folder.absolute(), *folder.absolute().parents):
        try:
            return int(os.pathconf(p, "PC_NAME_MAX"))
        except (OSError, ValueError, AttributeError):  # missing (or a name too long itself): ask its parent
            continue
    return 255


def check_out(raw: str) -> tuple[Path, Path]:
    """The .npy and .png paths for ``--out``, or a ValueError saying why nothing could be written there.

    Creates the missing folders and proves a file can be made in the folder (a probe, deleted at once), so
    that sampling never ends in a traceback that loses the work.
    """
    if not raw.strip():
        raise ValueError("--out is empty: give a file name such as samples.npy.")
    out = Path(raw)
    name_max = _name_max(out.parent)  # before any stat: a name too long makes Path.is_dir raise, not answer
    too_long = [part for part in out.with_suffix(".npy").parts if len(os.fsencode(part)) > name_max]
    if too_long:
        raise ValueError(f"--out: the name that starts {too_long[0][:16]!r} is {len(os.fsencode(too_long[0]))} bytes "
                         f"long, more than the {name_max} a file or folder name may have here: choose a shorter name.")
    if out.is_dir() or raw.endswith(("/", os.sep)):
        raise ValueError(f"--out {out} is a folder: give a file name inside it, such as {out / 'samples.npy'}.")
    if out.suffix not in ("", ".npy", ".png"):  # with_suffix would silently write another name (run.v2 -> run.npy)
        raise ValueError(f"--out must name a .npy file (or its .png grid; the other is written beside it), got "
                         f"{raw!r}: use, for example, {out.name}.npy.")
    npy, png = out.with_suffix(".npy"), out.with_suffix(".png")
    for p in (npy, png):
        if p.exists() and not p.is_file():
            raise ValueError(f"--out: {p} exists and is not a file (a folder or a device): choose another name.")
    # Never overwrite a file the user did not name: --out mydata.png must not replace an existing mydata.npy.
    # Both files there: an earlier run's pair (or the user named one of them), written over as a pair.
    named = {".npy": npy, ".png": png}.get(out.suffix)
    there = [p for p in (npy, png) if p.exists()]
    if len(there) == 1 and there[0] != named:
        raise ValueError(f"--out {raw} would also write {there[0]}, which exists and was not named: move it or "
                         "choose another --out name (nothing was sampled).")
    folder = npy.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".sample-write-test-"):
            pass
        for p in (npy, png):
            if p.exists() and not os.access(p, os.W_OK):
                raise PermissionError(f"{p} is read-only")
    except OSError as err:
        why = err.strerror or str(err)
        raise ValueError(f"--out: cannot write to the folder {folder} ({why}): choose a "
                         "folder you can write to.") from None
    return npy, png


def check_init(model, args) -> tuple[torch.Tensor, str | None]:
    """--init's drawing for ``model`` as (1, 3, H, W) in [-1, 1] and a note if it was resized, or a ValueError in one
    line (img2img.load_picture: missing, not a picture, grey, not square, values out of range)."""
    from .img2img import load_picture
    from .sampling import sample_shape

    shape = sample_shape(model)
    if len(shape) != 3 or shape[0] != 3 or shape[1] != shape[2]:
        raise ValueError(f"--init is for the colour crayon checkpoints (crayons, crayons-blur); {args.checkpoint} "
                         f"draws {'x'.join(map(str, shape))} samples.")
    if ((getattr(model, "trained_on", None) or {}).get("process") or {}).get("kind") == "flow_matching":
        raise ValueError("--init is for the noise and blur-to-static checkpoints, not a flow-matching one.")
    return load_picture(args.init, shape[-1])


def _check_flow_args(args, flow: bool) -> None:
    """--solver belongs to flow checkpoints only; --sampler, --spacing and --eta to the others (a ValueError).

    Given or not is read from the parsed values (their defaults are None), so any spelling counts: --eta=0.5 too.
    """
    if not flow and args.solver is not None:
        raise ValueError(f"--solver {args.solver} is for a flow-matching checkpoint (--checkpoint digits-flow); "
                         f"{args.checkpoint!r} predicts the noise: use --sampler ddim or ddpm.")
    if flow:
        wrong = [f"--{k}" for k in ("eta", "sampler", "spacing") if getattr(args, k) is not None]
        if wrong:
            verb = "does" if len(wrong) == 1 else "do"
            raise ValueError(f"{', '.join(wrong)} {verb} not apply to the flow-matching checkpoint "
                             f"{args.checkpoint!r}: "
                             "choose its ODE solver with --solver euler or heun (no noise, a uniform time grid).")


def main(argv: list[str] | None = None) -> int:
    # allow_abbrev=False: "--samp ddpm" is not "--sampler ddpm" (an abbreviation slipped past the checks below)
    parser = argparse.ArgumentParser(prog="python -m course_utils.sample", description=__doc__, allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="digits",
                        help='"digits", "digits_blur", "digits_cond", "digits_flow", "crayons", "crayons_blur" (or '
                             'with - for _), "points" or a .safetensors path')
    parser.add_argument("--n", type=int, default=64, help=f"how many samples, 1..{MAX_N:,} (default 64)")
    parser.add_argument("--steps", type=int, default=50,
                        help="sampling steps, 1..1000 (default 50; 16..666 for the blur-to-static checkpoint)")
    parser.add_argument("--sampler", choices=["ddim", "ddpm", "dpm-solver"], default=None,
                        help="ddim (the default; deterministic with --eta 0), ddpm, or dpm-solver "
                             "(DPM-Solver++(2M), Lu et al. 2022: one network evaluation a step, second order)")
    parser.add_argument("--spacing", choices=["below_top", "trailing", "leading"], default=None,
                        help="where the steps sit: below_top (default) T - T/n, ..., 0, one stride below T-1; "
                             "trailing starts at t = T-1 (diffusers; not for the blur-to-static checkpoint); "
                             "leading is Lesson 3's set_timesteps")
    parser.add_argument("--eta", type=float, default=None, help="DDIM's noise, 0..1 (default 0: deterministic)")
    parser.add_argument("--solver", choices=list(SOLVERS), default=None,
                        help="for a flow-matching checkpoint (digits-flow): euler (1 network evaluation a step, the "
                             "default) or heun (2 a step, 1 on the last: 2 * steps - 1)")
    parser.add_argument("--seed", type=int, default=0, help="random seed, 0..2**63-1 (default 0)")
    parser.add_argument("--label", type=int, default=None,
                        help="the digit to ask for, 0..9 (a class-conditional checkpoint: digits_cond)")
    parser.add_argument("--guidance", type=float, default=None,
                        help=f"classifier-free guidance scale w, 0..{MAX_GUIDANCE:g} (default 3 with --label or "
                             "--prompt; 1: the request alone, no guidance)")
    parser.add_argument("--prompt", default=None,
                        help='what to draw, e.g. "a red house" (a text-conditional checkpoint: crayons, Lesson 7)')
    parser.add_argument("--negative", default=None,
                        help="a prompt to guide away from instead of the null prompt (with --prompt)")
    parser.add_argument("--init", default=None,
                        help="image to image (Lesson 8, SDEdit): start from this drawing, a .png or .npy (3, H, W) in "
                             "[-1, 1], smudged part of the way to static (--strength) and brought back; a square "
                             "picture of another size is resized to the model's")
    parser.add_argument("--strength", type=float, default=None,
                        help="with --init: how far to smudge it, 0..1 (default 0.8, as diffusers; 0: unchanged, 1: "
                             "smudged to the top of the grid, a new drawing); the last int(steps * strength) steps run")
    parser.add_argument("--out", default="samples.npy",
                        help="the .npy file to write (a .png of the same name goes beside it)")
    args = parser.parse_args(argv)
    if not 1 <= args.n <= MAX_N:
        parser.error(f"--n must be between 1 and {MAX_N:,} (the samples are drawn in one batch; draw more in "
                     f"several runs with different --seed), got {args.n}")
    if not 1 <= args.steps <= 1000:
        parser.error(f"--steps must be between 1 and 1000, got {args.steps}")
    if args.eta is not None and not 0 <= args.eta <= 1:  # NaN too
        parser.error(f"--eta must be between 0 and 1, got {args.eta}")
    if args.sampler in ("ddpm", "dpm-solver") and args.eta is not None:
        parser.error(f"--eta applies to --sampler ddim only (--sampler {args.sampler} has no eta)")
    if not 0 <= args.seed <= MAX_SEED:
        parser.error(f"--seed must be between 0 and 2**63-1, got {args.seed}")
    if args.strength is not None and args.init is None:
        parser.error("--strength needs --init (the drawing to start from), such as --init drawing.png --strength 0.5")
    if args.strength is not None and not 0 <= args.strength <= 1:  # NaN too
        parser.error(f"--strength must be between 0 and 1 (0: the drawing unchanged, 1: a new drawing), got "
                     f"{args.strength}")
    if args.guidance is not None:  # NaN, inf and 1e6 too: one sentence with the range (guidance.MAX_GUIDANCE)
        try:
            check_guidance(args.guidance, "--guidance", maximum=MAX_GUIDANCE)
        except ValueError as err:
            parser.error(str(err).rstrip("."))
    try:
        model = load_checkpoint(_resolve(args.checkpoint), device=get_device())
        request = check_requests(model, args)
        flow = ((getattr(model, "trained_on", None) or {}).get("process") or {}).get("kind") == "flow_matching"
        _check_flow_args(args, flow)
        sampler = (args.solver or "euler") if flow else (args.sampler or default_sampler(model))
        spacing = args.spacing or "below_top"
        sched = make_scheduler(model, sampler, args.steps, spacing)
        init = check_init(model, args) if args.init is not None else None
        npy, png = check_out(args.out)
    except (CheckpointError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if init is not None and init[1]:
        print(init[1], file=sys.stderr)
    tic = time.perf_counter()
    eta = args.eta or 0.0
    if isinstance(sched, BlurToStatic):  # one scheduler, both samplers: ddpm is its ancestral step (eta = 1)
        eta = 1.0 if sampler == "ddpm" else eta
    if init is not None:  # Lesson 8: SDEdit from the drawing (img2img.image_to_image)
        from .img2img import image_to_image

        strength = 0.8 if args.strength is None else args.strength
        x = image_to_image(model, sched, init[0], strength, n=args.n, eta=eta, seed=args.seed,
                           prompt=request.get("labels"), guidance=request.get("guidance"),
                           negative=request.get("negative"))
        from .img2img import strength_timesteps

        request = {**request, "init": args.init, "strength": strength, "ran": len(strength_timesteps(sched, strength))}
    else:
        x = sample(model, sched, args.n, eta=eta, generator=torch.Generator().manual_seed(args.seed), **request)
    seconds = time.perf_counter() - tic
    bad = int((~torch.isfinite(x)).sum())
    if bad:  # never write a silent wrong answer: NaN would pass through clamp, inf would become +-1
        print(f"error: {bad} of the {x.numel()} sampled values are NaN or infinite (the sampler diverged), so "
              f"nothing was written to {npy}.", file=sys.stderr)
        return 1
    x = x.clamp(-1, 1) if x.ndim == 4 else x
    np.save(npy, x.cpu().numpy().astype(np.float32))
    import matplotlib

    matplotlib.use("Agg")
    if x.ndim == 4:
        from .plotting import show_images

        k = min(100, x.shape[0])
        fig = show_images(x[:k].cpu(), ncols=min(10, k), size=0.7)
        fig.savefig(png, dpi=80)
        import matplotlib.pyplot as plt

        plt.close(fig)  # main() may run many times in one process (scripts/crayons_blur_table.py)
    else:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4, 4))
        ax.scatter(x[:, 0].cpu(), x[:, 1].cpu(), s=3)
        ax.set_aspect("equal")
        fig.savefig(png, dpi=80)
        plt.close(fig)
    print(summary_line(args.n, request, sched, sampler, args.steps, seconds, npy, png))
    return 0


def _plural(k: int, word: str) -> str:
    return f"{k} {word}" if k == 1 else f"{k} {word}s"


def summary_line(n: int, request: dict, sched, sampler: str, steps: int, seconds: float, npy, png) -> str:
    """The line printed after sampling: what was asked and what actually ran (the spacing the scheduler used)."""
    asked = ""
    start = ""
    if request.get("init") is not None:
        start = (f", from {request['init']} at strength {request['strength']:g} (the last "
                 f"{_plural(request['ran'], 'step')} of the grid ran)")
        request = {k: v for k, v in request.items() if k not in ("init", "strength", "ran")}
    if request and isinstance(request["labels"], str):
        away = f" away from {request['negative']!r}" if request.get("negative") is not None else ""
        asked = f", prompt {request['labels']!r}{away} with guidance {request['guidance']:g}"
    elif request:
        asked = f", label {request['labels']} with guidance {request['guidance']:g}"
    if isinstance(sched, FlowMatchScheduler):
        how = (f"flow matching, {sched.solver} with {_plural(steps, 'step')} "
               f"({_plural(sched.num_function_evals, 'network evaluation')})")
    else:
        how = f"{sampler} with {_plural(steps, 'step')} ({sched.timestep_spacing})"
    return f"{_plural(n, 'sample')}{asked}{start}, {how}, {seconds:.2f} s -> {npy} and {png}"


if __name__ == "__main__":
    sys.exit(main())
