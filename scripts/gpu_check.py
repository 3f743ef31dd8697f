"""Prove the course's CUDA path: "a GPU is used when present, never required". Run it on a machine with a GPU.

    python scripts/gpu_check.py                      # every check, on the GPU (a few minutes on one H100)
    python scripts/gpu_check.py --cpu-smoke          # tiny sizes on the CPU: catches typos, proves nothing about CUDA
    python scripts/gpu_check.py --only sampling,cli  # some checks only (names below); --skip notebooks leaves some out

Each check prints one summary line, PASS / WARN / FAIL / SKIP with its numbers, and the traceback of a failure;
one failing check never hides the others. WARN: it works, with a difference it documents (for example, two
same-seed runs that are not bit-for-bit equal). The results go to gpu_check.json in $OUT when OUT is set (or to
--json PATH), rewritten after every check; the exit status is 1 when a check failed.

The checks, in order:
  device       importing course_utils leaves CUDA alone; get_device() picks cuda; environment_report() names the GPU.
  checkpoint   the shipped digits and points checkpoints load onto cuda (load_checkpoint(device=...)); the held-out
               loss (evaluate_loss, also by timestep) on cuda matches the CPU's, with TF32 on (torch's default for
               convolutions) and off.
  sampling     sample() on cuda: DDPM (1,000 steps), DDIM (50 steps, eta 0 and 0.5), a CUDA generator: shape,
               finite, in [-1, 1], the same seed twice gives the same numbers; keep_trajectory; the points model;
               cuda against CPU samples from the same seed (reported, not required to agree).
  metrics      digit_metrics and energy_distance given CUDA tensors: the numbers of the same samples on the CPU.
  cli          python -m course_utils.sample (ddim twice, ddpm, points) in a subprocess, and main() in this
               process to see it allocate on the GPU; the same seed twice gives the same .npy.
  sliders      digits_denoiser_slider, points_denoiser_slider, trajectory_slider, points_trajectory_slider with
               models on cuda; the slider's noise guesses against the CPU model's; a slider move.
  train        train() on cuda for a few hundred steps (the digits UNet, the points MLP): the loss falls; two
               same-seed runs compared step by step (torch's defaults, then torch.use_deterministic_algorithms
               with warn_only, listing the operations torch warns about); the first steps against a CPU run (the
               same random draws); training a returned (EMA) model again; save/load from cuda.
  notebook_02, notebook_03
               the solution notebooks executed top to bottom with nbclient in one folder (Lesson 3 loads the
               model Lesson 2 trained on the GPU), with the tests' shortened settings (FAST_SETTINGS in
               tests/conftest.py); each notebook's runtime, and from inside its kernel the device it used.
  time_train   3,000 training steps of Lesson 2's digits model on cuda, Lesson 2's settings: seconds, held-out loss.
  time_sample  500 digits with DDPM (1,000 steps) and with DDIM (50 steps) on cuda: seconds and quality.

Needs the course's dependencies plus nbformat, nbclient and ipykernel (the test extras). Runs from a checkout
without installing it: the repo root goes on sys.path and on PYTHONPATH (for the CLI and the notebook kernels).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars in the log (also in the CLI and the notebook kernels)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import course_utils as cu  # noqa: E402
from course_utils.ddim import DDIMScheduler  # noqa: E402
from course_utils.sampling import sample  # noqa: E402

CUDA_INITIALISED_BY_IMPORT = torch.cuda.is_initialized()  # read before anything here touches the GPU

SIZES = {  # full run on the GPU; --cpu-smoke shrinks everything
    "full": {"n": 64, "ddpm_steps": 1000, "ddim_steps": 50, "train_steps": 300, "point_steps": 300,
             "cpu_steps": 50, "frames": 11, "points_n": 500, "cli_n": 256, "time_train": 3000, "time_n": 500},
    "smoke": {"n": 8, "ddpm_steps": 20, "ddim_steps": 10, "train_steps": 60, "point_steps": 60,
              "cpu_steps": 5, "frames": 3, "points_n": 50, "cli_n": 8, "time_train": 30, "time_n": 16},
}
S: dict[str, int] = {}
DEV = torch.device("cpu")
SMOKE = False
OUT: Path | None = None
TMP = Path(tempfile.mkdtemp(prefix="gpu_check_"))


class Skip(Exception):
    """A check that does not apply here (e.g. a CUDA-only comparison in a CPU smoke run)."""


def expect(cond: bool, message: str) -> None:
    """Like assert, but also under python -O."""
    if not cond:
        raise AssertionError(message)


def note(rec: dict, key: str, value) -> None:
    """Record one number (or short string) of a check and print it."""
    if isinstance(value, float):
        value = float(f"{value:.6g}")
    rec["numbers"][key] = value
    print(f"    {key}: {value}", flush=True)


def warn(rec: dict, message: str) -> None:
    """The check works, with a documented difference."""
    if rec["status"] == "PASS":
        rec["status"] = "WARN"
    rec["notes"].append(message)
    print(f"    WARN: {message}", flush=True)


def sync() -> None:
    if DEV.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, *args, **kwargs):
    """(result, seconds), the GPU's queue drained before and after."""
    sync()
    tic = time.perf_counter()
    out = fn(*args, **kwargs)
    sync()
    return out, time.perf_counter() - tic


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.detach().double().cpu() - b.detach().double().cpu()).abs().max())


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def scheduler() -> cu.NoiseScheduler:
    return cu.NoiseScheduler(1000, beta_schedule="cosine")


def ddpm(steps: int, clip: bool = True) -> cu.NoiseScheduler:
    s = cu.NoiseScheduler(1000, beta_schedule="cosine", clip_sample=clip)
    if steps != 1000:  # as the lessons do: all 1,000 steps without set_timesteps
        s.set_timesteps(steps)
    return s


def ddim(steps: int, clip: bool = True) -> DDIMScheduler:
    s = DDIMScheduler(1000, beta_schedule="cosine", clip_sample=clip)
    s.set_timesteps(steps)
    return s


@cache
def shipped(name: str, device: str):
    return cu.load_checkpoint(name, device=device)


@cache
def digits(split: str) -> torch.Tensor:
    return cu.load_digits(split=split)


def check_images(rec: dict, x: torch.Tensor, n: int, label: str) -> None:
    """Samples of digits: on DEV, shaped (n, 1, 8, 8), finite, in [-1, 1] (the last step returns the clipped x0_hat)."""
    expect(x.device.type == DEV.type, f"{label}: samples are on {x.device}, expected {DEV}")
    expect(tuple(x.shape) == (n, 1, 8, 8), f"{label}: shape {tuple(x.shape)}, expected ({n}, 1, 8, 8)")
    expect(bool(torch.isfinite(x).all()), f"{label}: samples hold NaN or inf")
    lo, hi = float(x.min()), float(x.max())
    expect(-1 - 1e-5 <= lo and hi <= 1 + 1e-5, f"{label}: samples in [{lo:.4g}, {hi:.4g}], expected [-1, 1]")


def same_twice(rec: dict, label: str, a: torch.Tensor, b: torch.Tensor) -> bool:
    equal = torch.equal(a, b)
    note(rec, f"{label}: same seed twice, bit-for-bit equal", equal)
    if not equal:
        warn(rec, f"{label}: two runs from the same seed differ by up to {max_diff(a, b):.3g}")
    return equal


# ------------------------------------------------------------------------------------------------ checks


def check_device(rec: dict) -> None:
    note(rec, "torch", torch.__version__)
    note(rec, "torch.version.cuda", str(torch.version.cuda))
    note(rec, "cuda available", torch.cuda.is_available())
    note(rec, "CUDA initialised by `import course_utils`", CUDA_INITIALISED_BY_IMPORT)
    expect(not CUDA_INITIALISED_BY_IMPORT, "importing course_utils initialised CUDA (its docstring says: no probing)")
    dev = cu.get_device()
    note(rec, "get_device()", str(dev))
    expect(cu.get_device("cpu").type == "cpu", "get_device('cpu') did not force the CPU")
    if torch.cuda.is_available():
        expect(dev.type == "cuda", f"get_device() picked {dev} on a machine with CUDA")
        note(rec, "GPU", torch.cuda.get_device_name(0))
        note(rec, "compute capability", ".".join(map(str, torch.cuda.get_device_capability(0))))
        note(rec, "cudnn", torch.backends.cudnn.version())
        note(rec, "TF32 convolutions (cudnn.allow_tf32)", torch.backends.cudnn.allow_tf32)
        note(rec, "TF32 matmul (cuda.matmul.allow_tf32)", torch.backends.cuda.matmul.allow_tf32)
        note(rec, "cudnn.benchmark", torch.backends.cudnn.benchmark)
    elif not SMOKE:
        raise AssertionError("no CUDA here: run on a machine with a GPU, or use --cpu-smoke")
    report = cu.environment_report()
    note(rec, "environment_report()['device']", report["device"])
    if dev.type == "cuda":
        expect(report["device"].startswith("cuda ("), "environment_report does not name the GPU")


def check_checkpoint(rec: dict) -> None:
    sch = scheduler()
    test = digits("test")
    cpu_model = cu.load_checkpoint("digits")
    gpu_model = cu.load_checkpoint("digits", expected_arch="UNet", device=DEV)
    expect(all(p.device.type == DEV.type for p in gpu_model.parameters()),
           "load_checkpoint(device=...) left weights off that device")
    expect(not gpu_model.training, "load_checkpoint did not return the model in eval mode")
    with torch.no_grad():
        t = torch.full((test.shape[0],), 500)
        out = gpu_model(test.to(DEV), t.to(DEV))
        expect(out.device.type == DEV.type, f"the model's output is on {out.device}")
        note(rec, f"one forward pass (t = 500, 180 digits): max |{DEV.type} - cpu|", max_diff(out, cpu_model(test, t)))
    l_cpu = cu.evaluate_loss(cpu_model, test, sch)
    l_dev = cu.evaluate_loss(gpu_model, test.to(DEV), sch)
    note(rec, "held-out loss, cpu", l_cpu)
    note(rec, f"held-out loss, {DEV.type}", l_dev)
    note(rec, "|difference|", abs(l_dev - l_cpu))
    expect(abs(l_dev - l_cpu) <= 1e-3, f"held-out loss on {DEV.type} {l_dev:.6f} vs cpu {l_cpu:.6f}: beyond 1e-3")
    _, (_, bins_cpu) = cu.evaluate_loss(cpu_model, test, sch, repeats=2, bins=10)
    _, (_, bins_dev) = cu.evaluate_loss(gpu_model, test.to(DEV), sch, repeats=2, bins=10)
    note(rec, "loss by timestep (10 bins): max |difference|", max_diff(bins_dev, bins_cpu))
    expect(max_diff(bins_dev, bins_cpu) <= 5e-3, "loss by timestep differs between devices beyond 5e-3")
    if DEV.type == "cuda":
        flags = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
        try:
            torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
            l_fp32 = cu.evaluate_loss(gpu_model, test.to(DEV), sch)
        finally:
            torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = flags
        note(rec, "held-out loss, cuda with TF32 off", l_fp32)
        note(rec, "|difference| with TF32 off", abs(l_fp32 - l_cpu))
    points_cpu = cu.load_checkpoint("points")
    points_dev = cu.load_checkpoint("points", expected_arch="PointDenoiser", device=DEV)
    held = cu.load_points(500, seed=1)
    p_cpu, p_dev = cu.evaluate_loss(points_cpu, held, sch), cu.evaluate_loss(points_dev, held.to(DEV), sch)
    note(rec, "points held-out loss, cpu", p_cpu)
    note(rec, f"points held-out loss, {DEV.type}", p_dev)
    expect(abs(p_dev - p_cpu) <= 1e-3, "the points model's held-out loss differs between devices beyond 1e-3")


def check_sampling(rec: dict) -> None:
    from course_utils.metrics import energy_distance

    model = shipped("digits", str(DEV))
    n = S["n"]
    runs = {
        f"DDPM {S['ddpm_steps']} steps": (lambda: ddpm(S["ddpm_steps"]), 0.0),
        f"DDIM {S['ddim_steps']} steps, eta 0": (lambda: ddim(S["ddim_steps"]), 0.0),
        f"DDIM {S['ddim_steps']} steps, eta 0.5": (lambda: ddim(S["ddim_steps"]), 0.5),
    }
    firsts = {}
    for label, (make, eta) in runs.items():
        a, secs = timed(sample, model, make(), n, eta=eta, generator=gen(0), progress=False)
        b = sample(model, make(), n, eta=eta, generator=gen(0), progress=False)
        check_images(rec, a, n, label)
        note(rec, f"{label}: {n} samples, seconds", secs)
        same_twice(rec, label, a, b)
        c = sample(model, make(), n, eta=eta, generator=gen(1), progress=False)
        expect(not torch.equal(a, c), f"{label}: seeds 0 and 1 gave the same samples")
        firsts[label] = a
    if DEV.type == "cuda":  # a generator on the GPU: x_T and every fresh noise drawn there
        for label, make in [("DDPM 100 steps, CUDA generator", lambda: ddpm(100)),
                            (f"DDIM {S['ddim_steps']} steps, eta 1, CUDA generator", lambda: ddim(S["ddim_steps"]))]:
            eta = 1.0 if "eta 1" in label else 0.0
            a = sample(model, make(), n, eta=eta, generator=torch.Generator("cuda").manual_seed(0), progress=False)
            b = sample(model, make(), n, eta=eta, generator=torch.Generator("cuda").manual_seed(0), progress=False)
            check_images(rec, a, n, label)
            same_twice(rec, label, a, b)
    x, traj = sample(model, ddim(S["ddim_steps"]), n, generator=gen(0), keep_trajectory=True, progress=False)
    expect(len(traj.timesteps) == S["ddim_steps"], "keep_trajectory: wrong number of steps")
    expect(traj.samples[0].device.type == "cpu" and traj.x0_guesses[-1].device.type == "cpu",
           "keep_trajectory: the trajectory is not on the CPU (its docstring says it is)")
    expect(torch.equal(traj.samples[-1], x.cpu()), "keep_trajectory: the last trajectory step is not the result")
    expect(torch.equal(x, firsts[f"DDIM {S['ddim_steps']} steps, eta 0"]), "keep_trajectory changed the samples")
    if DEV.type == "cuda":  # the same seed on the CPU: the same x_T, then float differences grow over the steps
        cpu_model = cu.load_checkpoint("digits")
        for label, (make, eta) in runs.items():
            if "eta 0.5" in label:
                continue
            c = sample(cpu_model, make(), n, eta=eta, generator=gen(0), progress=False)
            d = (firsts[label].cpu() - c).abs()
            note(rec, f"{label}: cuda vs cpu from the same seed, max |diff|", float(d.max()))
            note(rec, f"{label}: cuda vs cpu, share of pixels off by > 0.1", float((d > 0.1).float().mean()))
    pm = shipped("points", str(DEV))
    pts, secs = timed(sample, pm, ddpm(S["ddpm_steps"], clip=False), S["points_n"], generator=gen(1), progress=False)
    expect(pts.device.type == DEV.type and tuple(pts.shape) == (S["points_n"], 2), f"points: {pts.shape} {pts.device}")
    expect(bool(torch.isfinite(pts).all()), "points: samples hold NaN or inf")
    note(rec, f"points: {S['points_n']} samples, DDPM {S['ddpm_steps']} steps, seconds", secs)
    pts2 = sample(pm, ddpm(S["ddpm_steps"], clip=False), S["points_n"], generator=gen(1), progress=False)
    same_twice(rec, "points DDPM", pts, pts2)
    energy = energy_distance(pts.cpu(), cu.load_points(1000, seed=2))
    note(rec, "points: energy distance to real points (cpu copy)", energy)
    if not SMOKE:
        expect(energy < 0.05, f"points: energy distance {energy:.4f}: the samples do not look like the data")


def check_metrics(rec: dict) -> None:
    from course_utils.metrics import digit_metrics, energy_distance

    model = shipped("digits", str(DEV))
    x = sample(model, ddim(S["ddim_steps"]), max(S["n"], 32), generator=gen(2), progress=False).clamp(-1, 1)
    m_dev = digit_metrics(x)  # samples left on the GPU, as a learner might pass them
    m_cpu = digit_metrics(x.cpu())
    note(rec, "digit_metrics(cuda samples) frechet", m_dev["frechet"])
    expect(all(abs(m_dev[k] - m_cpu[k]) < 1e-9 for k in m_cpu), "digit_metrics differs for the same samples on cuda")
    pts = sample(shipped("points", str(DEV)), ddim(S["ddim_steps"], clip=False), S["points_n"], generator=gen(3),
                 progress=False)
    real = cu.load_points(1000, seed=2)
    e_cpu = energy_distance(pts.cpu(), real)
    note(rec, "energy_distance(cpu samples, cpu points)", e_cpu)
    try:
        e_dev = energy_distance(pts, real)  # samples on the GPU, reference on the CPU
    except Exception as err:
        raise AssertionError(f"energy_distance(cuda samples, cpu points) raised {type(err).__name__}: {err}. "
                             "digit_metrics moves its input to the CPU; energy_distance does not.") from err
    note(rec, "energy_distance(cuda samples, cpu points)", e_dev)
    expect(abs(e_dev - e_cpu) < 1e-6, "energy_distance differs for the same samples on cuda")


def check_cli(rec: dict) -> None:
    from course_utils.sample import main as cli_main

    tmp = TMP / "cli"
    tmp.mkdir(exist_ok=True)
    n = S["cli_n"]

    def run_cli(out: str, *args: str) -> np.ndarray:
        cmd = [sys.executable, "-m", "course_utils.sample", *args, "--out", str(tmp / out)]
        tic = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp, env=os.environ)
        secs = time.perf_counter() - tic
        expect(proc.returncode == 0, f"{' '.join(cmd[1:])} exited {proc.returncode}: {proc.stderr[-2000:]}")
        note(rec, f"`{' '.join(args)}`", f"{proc.stdout.strip()} ({secs:.1f} s with start-up)")
        arr = np.load(tmp / out)
        expect(np.isfinite(arr).all(), f"{out}: NaN or inf")
        expect((tmp / out).with_suffix(".png").stat().st_size > 0, f"{out}: no PNG written")
        return arr

    ddim_args = ("--checkpoint", "digits", "--n", str(n), "--steps", str(S["ddim_steps"]), "--sampler", "ddim")
    a = run_cli("ddim_a.npy", *ddim_args)
    b = run_cli("ddim_b.npy", *ddim_args)
    expect(a.shape == (n, 1, 8, 8) and a.dtype == np.float32, f"ddim: {a.shape} {a.dtype}")
    expect(a.min() >= -1 and a.max() <= 1, "ddim: values outside [-1, 1]")
    note(rec, "ddim: same seed twice, bit-for-bit equal", bool(np.array_equal(a, b)))
    if not np.array_equal(a, b):
        warn(rec, f"the CLI's ddim samples differ between two runs by up to {np.abs(a - b).max():.3g}")
    c = run_cli("ddpm.npy", "--checkpoint", "digits", "--n", str(n), "--steps", str(S["ddpm_steps"]),
                "--sampler", "ddpm", "--seed", "1")
    expect(c.shape == (n, 1, 8, 8) and c.min() >= -1 and c.max() <= 1, f"ddpm: {c.shape} [{c.min()}, {c.max()}]")
    p = run_cli("points.npy", "--checkpoint", "points", "--n", str(n), "--steps", str(S["ddim_steps"]))
    expect(p.shape == (n, 2), f"points: shape {p.shape}")
    if DEV.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    rc = cli_main([*ddim_args, "--out", str(tmp / "inproc.npy")])
    expect(rc == 0, f"main() returned {rc}")
    d = np.load(tmp / "inproc.npy")
    note(rec, "main() in this process equals the subprocess's samples", bool(np.array_equal(a, d)))
    expect(np.allclose(a, d, atol=1e-5), "main() in this process and the subprocess disagree")
    if DEV.type == "cuda":
        peak = torch.cuda.max_memory_allocated() - before
        note(rec, "main(): GPU memory allocated while sampling (bytes)", int(peak))
        expect(peak > 0, "main() allocated nothing on the GPU: the CLI did not use it")
    if OUT is not None:
        (OUT / "cli_digits.png").write_bytes((tmp / "ddim_a.png").read_bytes())


def check_sliders(rec: dict) -> None:
    from course_utils.sliders import (
        digits_denoiser_slider,
        points_denoiser_slider,
        points_trajectory_slider,
        trajectory_slider,
    )

    sch, f = scheduler(), S["frames"]
    model, cpu_model = shipped("digits", str(DEV)), cu.load_checkpoint("digits")
    images = digits("test")[:6]
    s, secs = timed(digits_denoiser_slider, model, images, sch, n_frames=f)
    note(rec, f"digits_denoiser_slider on {DEV.type} ({f} frames), seconds", secs)
    expect(len(s._cache) == len(s.slider.options) and all(p[:4] == b"\x89PNG" for p in s._cache.values()),
           "digits slider: frames missing or not PNG")
    expect(all(v[1].device.type == "cpu" and bool(torch.isfinite(v[1]).all()) for v in s.frames.values()),
           "digits slider: the noise guesses are not finite CPU tensors")
    ref = digits_denoiser_slider(cpu_model, images, sch, n_frames=f, precompute=False)
    diff = max(max_diff(s.frames[t][1], ref.frames[t][1]) for t in s.frames)
    note(rec, f"digits slider: noise guesses, max |{DEV.type} - cpu|", diff)
    expect(diff < 1e-2, f"the digits slider's noise guesses differ between devices by {diff:.3g}")
    last = s.slider.options[-1]
    s.slider.value = last
    expect(s.image.value == s.frame(last), "moving the slider did not show that frame")
    points = cu.load_points(2000, seed=0)
    ps, secs = timed(points_denoiser_slider, shipped("points", str(DEV)), points, sch, n_frames=f)
    note(rec, f"points_denoiser_slider on {DEV.type}, seconds", secs)
    expect(len(ps._cache) == len(ps.slider.options), "points slider: frames missing")
    _, traj = sample(model, ddim(S["ddim_steps"]), 16, generator=gen(0), keep_trajectory=True, progress=False)
    ts, secs = timed(trajectory_slider, traj, n_show=16, every=max(1, S["ddim_steps"] // 5))
    note(rec, "trajectory_slider, seconds", secs)
    expect(len(ts._cache) == len(ts.slider.options), "trajectory slider: frames missing")
    _, ptraj = sample(shipped("points", str(DEV)), ddim(S["ddim_steps"], clip=False), 300, generator=gen(1),
                      keep_trajectory=True, progress=False)
    pts, secs = timed(points_trajectory_slider, ptraj, points, every=max(1, S["ddim_steps"] // 5))
    note(rec, "points_trajectory_slider, seconds", secs)
    expect(len(pts._cache) == len(pts.slider.options), "points trajectory slider: frames missing")


def _train_digits(data: torch.Tensor, steps: int):
    cu.seed_everything(0)  # the UNet's initial weights come from torch's global generator
    kw = {"warmup": 10} if SMOKE else {}
    return cu.train(cu.UNet(channels=32), data, scheduler(), steps=steps, batch_size=128, lr=2e-3,
                    ema_decay=0.999, seed=0, progress=False, **kw)


def _compare_runs(rec: dict, label: str, run_a, run_b) -> bool:
    (ma, ha), (mb, hb) = run_a, run_b
    la, lb = np.array(ha.loss), np.array(hb.loss)
    differ = np.flatnonzero(la != lb)
    wdiff = max(max_diff(p, q) for p, q in zip(ma.parameters(), mb.parameters(), strict=True))
    note(rec, f"{label}: steps whose loss differs", int(differ.size))
    if differ.size:
        note(rec, f"{label}: first differing step", int(differ[0]))
        note(rec, f"{label}: max |loss difference|", float(np.abs(la - lb).max()))
        note(rec, f"{label}: last-50-step mean loss, a vs b", f"{la[-50:].mean():.6f} vs {lb[-50:].mean():.6f}")
    note(rec, f"{label}: max |EMA weight difference|", wdiff)
    return differ.size == 0 and wdiff == 0


def check_train(rec: dict) -> None:
    steps = S["train_steps"]
    data = digits("train").to(DEV)
    test = digits("test").to(DEV)
    run1, secs = timed(_train_digits, data, steps)
    model, hist = run1
    note(rec, f"UNet, {steps} steps on {DEV.type}, seconds", secs)
    loss = np.array(hist.loss)
    expect(bool(np.isfinite(loss).all()), "training loss went NaN/inf")
    first, last = loss[:50].mean(), loss[-50:].mean()
    note(rec, "mean loss, first 50 steps", float(first))
    note(rec, "mean loss, last 50 steps", float(last))
    expect(last < (1.0 if SMOKE else 0.6) * first, f"the loss did not fall: {first:.4f} -> {last:.4f}")
    expect(all(p.device.type == DEV.type for p in model.parameters()), "train() returned a model off the data's device")
    expect(not model.training, "train() returned a model in train mode")
    note(rec, "held-out loss after training", cu.evaluate_loss(model, test, scheduler()))
    run2 = _train_digits(data, steps)
    if not _compare_runs(rec, "defaults, run 1 vs run 2", run1, run2):
        warn(rec, "two same-seed training runs on this device are not bit-for-bit equal (see the numbers)")
    if DEV.type == "cuda":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.use_deterministic_algorithms(True, warn_only=True)
            try:
                run3, run4 = _train_digits(data, steps), _train_digits(data, steps)
            finally:
                torch.use_deterministic_algorithms(False)
        ops = sorted({str(w.message).split("\n")[0][:160] for w in caught})
        note(rec, "use_deterministic_algorithms(warn_only): operations torch warned about", ops)
        same = _compare_runs(rec, "deterministic algorithms, run 3 vs run 4", run3, run4)
        note(rec, "deterministic algorithms: bit-for-bit equal", same)
        # the same draws on the CPU: step 0 must agree (the zero-initialised output layer predicts eps = 0)
        cm, ch = _train_digits(data.cpu(), S["cpu_steps"])
        la, lc = np.array(hist.loss[: S["cpu_steps"]]), np.array(ch.loss)
        note(rec, "cuda vs cpu, loss at step 0", f"{la[0]:.7f} vs {lc[0]:.7f}")
        note(rec, f"cuda vs cpu, max |loss difference| over {S['cpu_steps']} steps", float(np.abs(la - lc).max()))
        expect(abs(la[0] - lc[0]) <= 1e-5 * lc[0], "step 0's loss differs between cuda and cpu: not the same draws")
    path = cu.save_checkpoint(model, TMP / "trained_on_gpu.safetensors", metadata={"steps": steps})
    back = cu.load_checkpoint(path, expected_arch="UNet", device=DEV)
    x, t = test[:32], torch.full((32,), 300, device=DEV)
    with torch.no_grad():
        expect(torch.equal(model(x, t), back(x, t)), "save_checkpoint/load_checkpoint from cuda changed the outputs")
        d = max_diff(model(x, t), cu.load_checkpoint(path)(x.cpu(), t.cpu()))
    note(rec, f"saved from {DEV.type}, loaded on the CPU: max |output difference|", d)
    expect(d < 1e-2, "the checkpoint saved from cuda gives different outputs on the CPU")
    again, h_again = cu.train(model, data, scheduler(), steps=10, warmup=1, seed=1, progress=False)
    expect(h_again.steps == 10 and all(p.device.type == DEV.type for p in again.parameters()),
           "training the returned (EMA) model again failed")
    points = cu.load_points(2000, seed=0).to(DEV)
    cu.seed_everything(0)
    pm, ph = cu.train(cu.PointDenoiser(), points, scheduler(), steps=S["point_steps"], batch_size=512,
                      ema_decay=0.995, seed=0, progress=False, **({"warmup": 10} if SMOKE else {}))
    pl = np.array(ph.loss)
    note(rec, f"PointDenoiser, {S['point_steps']} steps on {DEV.type}, seconds", ph.seconds)
    note(rec, "PointDenoiser loss, first 50 / last 50 steps", f"{pl[:50].mean():.4f} / {pl[-50:].mean():.4f}")
    expect(pl[-50:].mean() < pl[:50].mean(), "the points model's loss did not fall")
    note(rec, "PointDenoiser held-out loss", cu.evaluate_loss(pm, cu.load_points(500, seed=1).to(DEV), scheduler()))


NB_DIR = TMP / "notebooks"
NB_PROBE = {  # run in the kernel after the notebook: what device it used, and numbers worth quoting
    "02_denoiser.ipynb": "{'device': str(device), 'cuda_peak_bytes': torch.cuda.max_memory_allocated() if "
                         "torch.cuda.is_available() else 0, 'digit_steps': DIGIT_STEPS, 'digits_training_s': "
                         "round(digit_hist.seconds, 2) if digit_hist else None, 'held_out_loss': round(yours, 4), "
                         "'shipped_loss': round(theirs, 4), 'points_training_s': round(point_hist.seconds, 2)}",
    "03_sampling.ipynb": "{'device': str(device), 'model_device': str(next(model.parameters()).device), "
                         "'cuda_peak_bytes': torch.cuda.max_memory_allocated() if torch.cuda.is_available() else 0, "
                         "'n_eval': N_EVAL, 'samplers': [(r[0], round(r[1], 3) if r[1] == r[1] else None, "
                         "round(r[2]['frechet'], 3)) for r in rows]}",
}


def _run_notebook(rec: dict, name: str) -> dict:
    import nbformat
    from nbclient import NotebookClient

    from course_utils.exercises import SOLUTIONS

    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import FAST_SETTINGS, fast_copy  # the tests' shortened settings

    NB_DIR.mkdir(exist_ok=True)
    path = fast_copy(SOLUTIONS / name, NB_DIR)
    note(rec, "shortened settings", FAST_SETTINGS.get(name, {}))
    nb = nbformat.read(path, as_version=4)
    probe_code = "import json as _j\nprint('GPU_CHECK', _j.dumps(" + NB_PROBE[name] + "))"
    nb.cells.append(nbformat.v4.new_code_cell(probe_code))
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NB_DIR)}})
    tic = time.perf_counter()
    try:
        client.execute()
    finally:
        note(rec, "runtime, seconds (kernel start included)", time.perf_counter() - tic)
        nbformat.write(nb, path)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")
    probe = json.loads(text.split("GPU_CHECK ", 1)[1].splitlines()[0])
    for k, v in probe.items():
        note(rec, k, v)
    if DEV.type == "cuda":
        expect(probe["device"] == "cuda", f"the notebook's kernel computed on {probe['device']}")
        expect(probe["cuda_peak_bytes"] > 0, "the notebook's kernel allocated nothing on the GPU")
    rec["output_tail"] = text[-3000:]
    return probe


def check_notebook_02(rec: dict) -> None:
    _run_notebook(rec, "02_denoiser.ipynb")
    expect((NB_DIR / "runs" / "digits_unet.safetensors").exists(), "Lesson 2 did not save its model in runs/")


def check_notebook_03(rec: dict) -> None:
    from_lesson_2 = (NB_DIR / "runs" / "digits_unet.safetensors").exists()
    probe = _run_notebook(rec, "03_sampling.ipynb")
    note(rec, "used the model Lesson 2 trained here", from_lesson_2)
    if DEV.type == "cuda":
        expect(probe["model_device"].startswith("cuda"), f"Lesson 3's model is on {probe['model_device']}")


def check_time_train(rec: dict) -> None:
    steps = S["time_train"]
    data, test = digits("train").to(DEV), digits("test").to(DEV)
    (model, hist), wall = timed(_train_digits, data, steps)
    note(rec, f"{steps} steps, Lesson 2's settings, train()'s own seconds", hist.seconds)
    note(rec, "wall seconds (model built, queue drained)", wall)
    note(rec, "steps per second", steps / hist.seconds)
    held = cu.evaluate_loss(model, test, scheduler())
    note(rec, "held-out loss", held)
    note(rec, "held-out loss, shipped checkpoint", cu.evaluate_loss(shipped("digits", str(DEV)), test, scheduler()))
    if not SMOKE:
        expect(held < 0.2, f"held-out loss {held:.4f} after {steps} steps: Lesson 2 reaches about 0.14 on a CPU")


def check_time_sample(rec: dict) -> None:
    from course_utils.metrics import digit_metrics

    model, n = shipped("digits", str(DEV)), S["time_n"]
    sample(model, ddim(5), 8, generator=gen(0), progress=False)  # warm-up
    for label, make in [(f"DDPM {S['ddpm_steps']} steps", lambda: ddpm(S["ddpm_steps"])),
                        (f"DDIM {S['ddim_steps']} steps", lambda: ddim(S["ddim_steps"]))]:
        x, secs = timed(sample, model, make(), n, generator=gen(10), progress=False)
        check_images(rec, x, n, label)
        m = digit_metrics(x)
        note(rec, f"{n} digits, {label}, seconds", secs)
        note(rec, f"{label}: Frechet / precision / recall", f"{m['frechet']:.3f} / {m['precision']:.3f} / "
                                                             f"{m['recall']:.3f}")


CHECKS = {
    "device": check_device,
    "checkpoint": check_checkpoint,
    "sampling": check_sampling,
    "metrics": check_metrics,
    "cli": check_cli,
    "sliders": check_sliders,
    "train": check_train,
    "notebook_02": check_notebook_02,
    "notebook_03": check_notebook_03,
    "time_train": check_time_train,
    "time_sample": check_time_sample,
}


def run_check(name: str, fn) -> dict:
    rec = {"check": name, "status": "PASS", "numbers": {}, "notes": []}
    print(f"\n=== {name} ===", flush=True)
    tic = time.perf_counter()
    try:
        fn(rec)
    except Skip as why:
        rec["status"] = "SKIP"
        rec["notes"].append(str(why))
    except Exception as err:  # one failing check must not hide the others
        rec["status"] = "FAIL"
        rec["error"] = f"{type(err).__name__}: {err}"
        rec["traceback"] = traceback.format_exc()
        print(rec["traceback"], flush=True)
    rec["seconds"] = round(time.perf_counter() - tic, 2)
    detail = rec.get("error") or "; ".join(rec["notes"])
    print(f"{rec['status']:4s}  {name}  ({rec['seconds']:.1f} s){'  ' + detail[:300] if detail else ''}", flush=True)
    return rec


def main(argv: list[str] | None = None) -> int:
    global DEV, SMOKE, OUT
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny sizes on the CPU, to catch typos")
    parser.add_argument("--only", default="", help=f"comma-separated checks to run, from: {', '.join(CHECKS)}")
    parser.add_argument("--skip", default="", help="comma-separated checks to leave out")
    parser.add_argument("--json", type=Path, default=None,
                        help="where to write the results (default: $OUT/gpu_check.json when OUT is set)")
    args = parser.parse_args(argv)
    only = [c for c in args.only.split(",") if c]
    skip = [c for c in args.skip.split(",") if c]
    unknown = sorted(set(only + skip) - set(CHECKS))
    if unknown:
        parser.error(f"unknown checks {unknown}: choose from {', '.join(CHECKS)}")
    SMOKE = args.cpu_smoke
    S.update(SIZES["smoke" if SMOKE else "full"])
    DEV = torch.device("cpu") if SMOKE else cu.get_device()
    OUT = Path(os.environ["OUT"]) if os.environ.get("OUT") else None
    json_path = args.json or (OUT / "gpu_check.json" if OUT is not None else None)
    meta = {"argv": sys.argv, "smoke": SMOKE, "device": str(DEV), "python": platform.python_version(),
            "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0) if DEV.type == "cuda" else None,
            "host": platform.node(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(f"gpu_check: {'CPU SMOKE RUN (proves nothing about CUDA)' if SMOKE else 'full run'} on {DEV}"
          f"{' (' + meta['gpu'] + ')' if meta['gpu'] else ''}, torch {torch.__version__}", flush=True)
    results = []
    for name, fn in CHECKS.items():
        if (only and name not in only) or name in skip:
            continue
        results.append(run_check(name, fn))
        if json_path is not None:  # rewritten after every check: a run cut short still leaves its results
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps({"meta": meta, "checks": results}, indent=1, default=str))
    print("\n=== summary ===")
    for r in results:
        print(f"{r['status']:4s}  {r['check']:12s} {r['seconds']:7.1f} s  {r.get('error', '')[:200]}")
    counts = {s: sum(r["status"] == s for r in results) for s in ("PASS", "WARN", "FAIL", "SKIP")}
    verdict = "FAIL" if counts["FAIL"] else "PASS"
    print(f"gpu_check {verdict}: " + ", ".join(f"{v} {k.lower()}" for k, v in counts.items())
          + (f"; results in {json_path}" if json_path else ""), flush=True)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
