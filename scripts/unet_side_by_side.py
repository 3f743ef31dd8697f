"""The course's U-Net against diffusers' ``UNet2DModel``: same data, same loop, same CPU seconds.

    python scripts/unet_side_by_side.py                          # 90 CPU seconds of training each
    python scripts/unet_side_by_side.py --seconds 90 --threads 1 --equal-steps --json out.json

The second line took 6 min 52 s with 1 thread on 2 cores shared with other work (load average 5); without
--equal-steps about 1.5 minutes less.

A learner's obvious alternative to the course's small U-Net (``course_utils.models.UNet``, channels=32, as
Lesson 2 and scripts/train_checkpoints.py build it) is the library block, diffusers' ``UNet2DModel``. This
script configures one to about the same number of parameters for the (N, 1, 8, 8) digits, wraps it so that it
has the course's signature ``model(x_t, t) -> eps``, and trains both with the very same ``course_utils.train``
(Lesson 2's settings: batch 128, lr 2e-3, 100-step warm-up and cosine decay, EMA 0.999, seed 0, the cosine
schedule with T = 1000) in one process with a fixed number of threads.

Same seconds, not same steps: each model's CPU seconds per step are measured first (short timed runs on
copies), and each gets the number of steps that fits the budget. CPU seconds (this process's, all threads
together), not the wall clock: on a machine shared with other programs the wall clock of a step varies
many-fold (measured: 41 ms for the course U-Net with 2 threads on an idle 2-core machine, 1.5 s at a load
average of 6), its CPU time hardly (53 ms with 1 thread at a load of 5). Under such load, use --threads 1: two
threads that wait for each other on busy cores waste most of their time. Then each samples N digits with DDIM in
50 steps (course_utils' sampler, a fixed seed) and gets Lesson 3's metrics (``course_utils.metrics.
digit_metrics``: Frechet distance, precision, recall and the class shares, against the 180 held-out digits),
as scripts/benchmark.py's sampler table does. ``--equal-steps`` also trains the faster model for the slower
one's number of steps, for the held-out loss at equal steps.

Essential: ``DiffusersEps`` (the wrapper) and ``compare``. Plumbing: the table and the command line.
diffusers is a test dependency of the course (``pip install -e '.[test]'``), never imported by course_utils.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import course_utils as cu  # noqa: E402
from course_utils.ddim import DDIMScheduler  # noqa: E402
from course_utils.metrics import digit_metrics  # noqa: E402
from course_utils.sampling import sample  # noqa: E402

SHAPE = (1, 8, 8)  # one digit: (C, H, W)
SETTINGS = {"batch_size": 128, "lr": 2e-3, "ema_decay": 0.999, "seed": 0}  # Lesson 2's cells, as train() takes them
SCHEDULE = {"num_train_timesteps": 1000, "beta_schedule": "cosine"}  # Lesson 1's schedule, as Lessons 2-3 use it
SAMPLE_SEED = 10  # the seed of scripts/benchmark.py's sampler table
# The library block, sized to the course U-Net's 411k parameters: the same three resolutions (8x8, 4x4, 2x2; the
# last down block does not downsample), one ResNet block per level on the way down (two on the way up, as
# diffusers builds them), and diffusers' default middle block (ResNet, self-attention, ResNet) at 2x2.
DIFFUSERS_CONFIG = {
    "sample_size": 8,
    "in_channels": 1,
    "out_channels": 1,
    "block_out_channels": (20, 40, 40),  # 417k parameters; (24, 48, 48) would be 599k, (16, 32, 32) 267k
    "down_block_types": ("DownBlock2D", "DownBlock2D", "DownBlock2D"),
    "up_block_types": ("UpBlock2D", "UpBlock2D", "UpBlock2D"),
    "layers_per_block": 1,
    "norm_num_groups": 4,  # divides 20 and 40
}


class DiffusersEps(nn.Module):
    """diffusers' ``UNet2DModel`` with the course's call signature: ``model(x_t (N, 1, 8, 8), t (N,)) -> eps``."""

    def __init__(self, **config):
        super().__init__()
        try:
            from diffusers import UNet2DModel
        except ImportError as e:  # a test dependency only
            raise ImportError("this comparison needs diffusers: pip install -e '.[test]'") from e
        self.unet = UNet2DModel(**config)
        # Not a course architecture (checkpoints cannot rebuild it); sample() gets shape= explicitly.
        self.config = {"arch": "diffusers.UNet2DModel", "num_train_timesteps": SCHEDULE["num_train_timesteps"],
                       **{k: (list(v) if isinstance(v, tuple) else v) for k, v in config.items()}}

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.unet(x, t).sample  # (N, 1, 8, 8): the predicted noise


def models(seed: int = SETTINGS["seed"]) -> dict[str, nn.Module]:
    """The two contenders, each initialised from ``seed``."""
    torch.manual_seed(seed)
    course = cu.UNet(channels=32)
    torch.manual_seed(seed)
    library = DiffusersEps(**DIFFUSERS_CONFIG)
    return {"course UNet (channels=32)": course, "diffusers UNet2DModel": library}


def parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def seconds_per_step(contenders: list[nn.Module], data: torch.Tensor, scheduler: cu.NoiseScheduler, steps: int,
                     rounds: int = 3) -> list[tuple[float, float]]:
    """(CPU seconds, wall seconds) per training step of ``cu.train`` for each model: medians of ``rounds`` runs
    of ``steps`` steps, the models taking turns (so that a change in the machine's load hits both), on copies.

    CPU seconds are this process's (``time.process_time``, all threads together): unlike the wall clock, they
    hardly change when other programs share the cores."""
    trials = [copy.deepcopy(m) for m in contenders]  # the models themselves are left as they were
    for m in trials:
        cu.train(m, data, scheduler, steps=2, progress=False, **SETTINGS)  # first calls are slower
    times: list[list[tuple[float, float]]] = [[] for _ in trials]
    for _ in range(rounds):
        for m, ts in zip(trials, times, strict=True):
            _, wall, cpu = _train(m, data, scheduler, steps)
            ts.append((cpu / steps, wall / steps))
    return [(statistics.median(c for c, _ in ts), statistics.median(w for _, w in ts)) for ts in times]


def _train(model, data, scheduler, steps):
    cpu0 = time.process_time()
    ema, hist = cu.train(model, data, scheduler, steps=steps, progress=False, **SETTINGS)
    return ema, hist.seconds, time.process_time() - cpu0


def compare(seconds: float = 90.0, n_samples: int = 500, threads: int | None = 2, timing_steps: int = 10,
            timing_rounds: int = 3, ddim_steps: int = 50, equal_steps: bool = False, log=print) -> dict:
    """Train both models for ``seconds`` of CPU time each (``threads`` torch threads), sample, measure.

    Returns a dict: "rows" (one per model, and the real digits as a reference), "settings", "lines" (the
    markdown table with its caption). ``threads=None`` keeps torch's current number of threads.
    """
    if seconds <= 0 or n_samples < 5 or timing_steps < 1 or timing_rounds < 1:
        raise ValueError(f"need seconds > 0, n_samples >= 5, timing_steps >= 1 and timing_rounds >= 1, got {seconds}, "
                         f"{n_samples}, {timing_steps}, {timing_rounds}.")
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _compare(seconds, n_samples, timing_steps, timing_rounds, ddim_steps, equal_steps, log)
    finally:
        torch.set_num_threads(old_threads)


def _compare(seconds, n_samples, timing_steps, timing_rounds, ddim_steps, equal_steps, log) -> dict:
    import diffusers

    train, test = cu.load_digits(split="train"), cu.load_digits(split="test")
    sched = cu.NoiseScheduler(**SCHEDULE)
    ddim = DDIMScheduler(**SCHEDULE)
    ddim.set_timesteps(ddim_steps)
    load_before = os.getloadavg()
    tic = time.perf_counter()
    contenders = models()
    rows = []
    speeds = seconds_per_step(list(contenders.values()), train, sched, timing_steps, timing_rounds)
    for (name, model), (cpu, wall) in zip(contenders.items(), speeds, strict=True):
        rows.append({"model": name, "parameters": parameters(model), "cpu_seconds_per_step": cpu,
                     "wall_seconds_per_step": wall, "steps": max(1, int(seconds / cpu))})
        log(f"{name}: {rows[-1]['parameters']:,} parameters, {cpu * 1000:.1f} ms of CPU per step -> "
            f"{rows[-1]['steps']} steps")
    for row, model in zip(rows, contenders.values(), strict=True):
        ema, wall, cpu = _train(model, train, sched, row["steps"])
        row.update(train_wall_s=wall, train_cpu_s=cpu, heldout_loss=cu.evaluate_loss(ema, test, sched))
        t0 = time.perf_counter()
        x = sample(ema, ddim, n_samples, generator=torch.Generator().manual_seed(SAMPLE_SEED), shape=SHAPE,
                   progress=False)
        row["sample_s"] = time.perf_counter() - t0
        row["metrics"] = digit_metrics(x.clamp(-1, 1), test)
        log(f"{row['model']}: trained {row['steps']} steps in {wall:.1f} s, held-out loss {row['heldout_loss']:.4f}, "
            f"Frechet {row['metrics']['frechet']:.2f}")
    equal = None
    if equal_steps:  # the faster model again, for the slower one's number of steps
        equal = min(r["steps"] for r in rows)
        for row, model in zip(rows, models().values(), strict=True):
            if row["steps"] == equal:
                row["heldout_loss_equal_steps"] = row["heldout_loss"]
            else:
                ema, _, _ = _train(model, train, sched, equal)
                row["heldout_loss_equal_steps"] = cu.evaluate_loss(ema, test, sched)
    reference = {"model": "reference: real training digits", "metrics": digit_metrics(train[:n_samples], test)}
    settings = {"seconds_budget": seconds, "threads": torch.get_num_threads(), "n_samples": n_samples,
                "ddim_steps": ddim_steps, "timing_steps": timing_steps, "timing_rounds": timing_rounds,
                "equal_steps": equal, **SETTINGS,
                "schedule": SCHEDULE, "diffusers_config": {k: list(v) if isinstance(v, tuple) else v
                                                           for k, v in DIFFUSERS_CONFIG.items()},
                "torch": torch.__version__, "diffusers": diffusers.__version__,
                "load_average_before": [round(v, 2) for v in load_before],
                "load_average_after": [round(v, 2) for v in os.getloadavg()], "cpu_count": os.cpu_count(),
                "total_s": round(time.perf_counter() - tic, 1)}
    result = {"rows": rows, "reference": reference, "settings": settings}
    result["lines"] = table(result)
    return result


def table(result: dict) -> list[str]:
    """The markdown table, with a caption that says how it was measured."""
    s = result["settings"]
    equal = s["equal_steps"]
    lines = [f"Course U-Net against diffusers' `UNet2DModel` (diffusers {s['diffusers']}), trained by the same "
             f"`course_utils.train` in one process for the same {s['seconds_budget']:.0f} CPU seconds each "
             f"(torch threads: {s['threads']}; batch {s['batch_size']}, lr {s['lr']}, EMA {s['ema_decay']}, seed "
             f"{s['seed']}, cosine schedule T = 1000): steps = budget / CPU seconds per step (this process's CPU time, "
             f"all threads together), measured first (median of {s['timing_rounds']} runs of {s['timing_steps']} "
             f"steps, the models taking turns). Held-out loss on "
             f"the 180 test digits; {s['n_samples']} samples with DDIM "
             f"{s['ddim_steps']} steps (seed {SAMPLE_SEED}), Lesson 3's metrics against the test digits (lower "
             f"Frechet is better). Load average {s['load_average_before'][0]:.2f} before, "
             f"{s['load_average_after'][0]:.2f} after, on {s['cpu_count']} cores.", "",
             "| model | parameters | CPU ms per step | steps in the budget | training: CPU / wall | held-out loss "
             + (f"| held-out loss at {equal} steps " if equal else "")
             + "| sampling time | Frechet | precision | recall | classes, min / max share |",
             "|---|---|---|---|---|---" + ("|---" if equal else "") + "|---|---|---|---|---|"]

    def metric_cells(m):
        shares = [m[f"class_{c}"] for c in range(10)]
        return (f"{m['frechet']:.2f} | {m['precision']:.2f} | {m['recall']:.2f} | "
                f"{min(shares):.1%} / {max(shares):.1%}")

    for r in result["rows"]:
        eq = f"| {r['heldout_loss_equal_steps']:.4f} " if equal else ""
        lines.append(f"| {r['model']} | {r['parameters']:,} | {1000 * r['cpu_seconds_per_step']:.1f} | {r['steps']:,} "
                     f"| {r['train_cpu_s']:.1f} s / {r['train_wall_s']:.1f} s | {r['heldout_loss']:.4f} {eq}"
                     f"| {r['sample_s']:.2f} s | {metric_cells(r['metrics'])} |")
    ref = result["reference"]
    lines.append(f"| {ref['model']} | - | - | - | - | - " + ("| - " if equal else "") + "| - | "
                 f"{metric_cells(ref['metrics'])} |")
    return lines


def _finite(result: dict) -> bool:
    numbers = [v for r in result["rows"] for k, v in r.items() if isinstance(v, float)]
    numbers += [v for r in result["rows"] for v in r["metrics"].values()]
    return all(math.isfinite(v) for v in numbers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=90.0, help="training budget per model, CPU seconds")
    parser.add_argument("--samples", type=int, default=500, help="digits sampled per model for the metrics")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (fixed for both models)")
    parser.add_argument("--equal-steps", action="store_true",
                        help="also train the faster model for the slower one's steps (held-out loss at equal steps)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--out", type=Path, default=None, help="write the markdown table here")
    args = parser.parse_args()
    result = compare(args.seconds, args.samples, args.threads, equal_steps=args.equal_steps)
    text = "\n".join(result["lines"]) + "\n"
    print("\n" + text)
    if args.out:
        args.out.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if _finite(result) else 1


if __name__ == "__main__":
    sys.exit(main())
