"""Draw samples from a checkpoint on the command line: a .npy array and a PNG grid.

    python -m course_utils.sample --checkpoint digits --n 1000 --steps 50 --out samples.npy

Writes samples.npy (n, 1, 8, 8) float32 at native resolution with values in [-1, 1], and samples.png,
a grid of the first 100 enlarged. --sampler ddim (default, deterministic with --eta 0) or ddpm;
--steps from 1 to 1000; --checkpoint "digits", "digits_blur" (or "digits-blur"), "points" or the path of a
.safetensors file. The process comes from the checkpoint's header: a blur-to-static checkpoint (Lesson 4) runs
BlurToStatic.step, with --eta for --sampler ddim and ancestral (eta = 1) for --sampler ddpm.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .checkpoints import CheckpointError, _resolve, load_checkpoint, process_from_record, read_metadata, stored_process
from .ddim import DDIMScheduler
from .env import get_device
from .forward import BlurToStatic
from .sampling import sample
from .scheduler import NoiseScheduler


def make_scheduler(checkpoint, sampler: str, steps: int) -> NoiseScheduler | BlurToStatic:
    """The sampler's scheduler with the process (noise schedule, blur) the checkpoint was trained with."""
    info = read_metadata(checkpoint)
    process = stored_process(info)
    if process is not None and process.get("kind") == "blur_to_static":
        proc = process_from_record(process)  # clip_sample=False: clipping the clean guess skews blurred digits
        proc.set_timesteps(steps)
        return proc
    meta = info["metadata"]
    schedule = meta.get("schedule", {"num_train_timesteps": 1000, "beta_schedule": "cosine"})
    arch = info["config"].get("arch")
    cls = DDIMScheduler if sampler == "ddim" else NoiseScheduler
    sched = cls(**schedule, clip_sample=(arch == "UNet"))  # points live outside [-1, 1]: no clipping there
    sched.set_timesteps(steps)
    return sched


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.sample", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="digits",
                        help='"digits", "digits_blur", "points" or a .safetensors path')
    parser.add_argument("--n", type=int, default=64, help="how many samples (default 64)")
    parser.add_argument("--steps", type=int, default=50, help="sampling steps, 1..1000 (default 50)")
    parser.add_argument("--sampler", choices=["ddim", "ddpm"], default="ddim")
    parser.add_argument("--eta", type=float, default=0.0, help="DDIM's noise, 0..1 (default 0: deterministic)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("samples.npy"))
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n must be at least 1, got {args.n}")
    if not 1 <= args.steps <= 1000:
        parser.error(f"--steps must be between 1 and 1000, got {args.steps}")
    if not 0 <= args.eta <= 1:
        parser.error(f"--eta must be between 0 and 1, got {args.eta}")
    if args.sampler == "ddpm" and args.eta:
        parser.error("--eta applies to --sampler ddim only")
    try:
        path = _resolve(args.checkpoint)
        model = load_checkpoint(path, device=get_device())
        sched = make_scheduler(path, args.sampler, args.steps)
    except (CheckpointError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    tic = time.perf_counter()
    eta = (1.0 if args.sampler == "ddpm" else args.eta) if isinstance(sched, BlurToStatic) else args.eta
    x = sample(model, sched, args.n, eta=eta, generator=torch.Generator().manual_seed(args.seed))
    seconds = time.perf_counter() - tic
    x = x.clamp(-1, 1) if x.ndim == 4 else x
    args.out.parent.mkdir(parents=True, exist_ok=True)
    out = args.out.with_suffix(".npy")
    np.save(out, x.cpu().numpy().astype(np.float32))
    png = args.out.with_suffix(".png")
    if x.ndim == 4:
        import matplotlib

        matplotlib.use("Agg")
        from .plotting import show_images

        k = min(100, x.shape[0])
        show_images(x[:k].cpu(), ncols=min(10, k), size=0.7).savefig(png, dpi=80)
    else:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4, 4))
        ax.scatter(x[:, 0].cpu(), x[:, 1].cpu(), s=3)
        ax.set_aspect("equal")
        fig.savefig(png, dpi=80)
    print(f"{args.n} samples, {args.sampler} with {args.steps} steps, {seconds:.2f} s -> {out} and {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
