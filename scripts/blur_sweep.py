"""How much blur? Train Lesson 2's U-Net with blur-to-static at several max_blur_sigma, equal steps; compare samples.

    python scripts/blur_sweep.py                          # 0, 1.5, 3, 5, 8 px; 2,000 steps each (CPU: about 6 min)
    python scripts/blur_sweep.py --steps 8000 --device cuda --json sweep.json

For each max_blur_sigma: the recipe of the shipped ``digits`` checkpoint (cu.UNet(channels=32, dropout=0.1), batch
128, lr 2e-3, EMA 0.999, seed 0) for ``--steps`` steps with ``BlurToStatic.add_noise`` as the noising (0 px is plain
DDPM noising), the held-out loss, then ``--n`` samples with ``--sample-steps`` steps, scored with Lesson 3's metrics
(Frechet distance, precision, recall in the fixed classifier's feature space against the 180 held-out digits, and
the class balance). Three samplers per model: ancestral (eta = 1), ancestral with the clean guess clipped to [-1, 1]
in pixel space (Lesson 3's habit), and deterministic (eta = 0). Same seeds everywhere, so rows differ only by blur.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import course_utils as cu  # noqa: E402
from course_utils.metrics import digit_metrics  # noqa: E402
from course_utils.sampling import sample  # noqa: E402

RECIPE = {"batch_size": 128, "lr": 2e-3, "ema_decay": 0.999, "seed": 0}  # scripts/train_checkpoints.py's digits
SCHEDULE = {"num_train_timesteps": 1000, "beta_schedule": "cosine"}
SAMPLERS = {"ancestral": {"eta": 1.0, "clip": False}, "ancestral, x0 clipped": {"eta": 1.0, "clip": True},
            "deterministic (eta 0)": {"eta": 0.0, "clip": False}}


def run(sigma: float, args, train: torch.Tensor, test: torch.Tensor) -> dict:
    torch.manual_seed(RECIPE["seed"])
    model = cu.UNet(channels=32, dropout=0.1)
    proc = cu.BlurToStatic(cu.NoiseScheduler(**SCHEDULE), max_blur_sigma=sigma)
    ema, hist = cu.train(model, train.to(args.device), proc, steps=args.steps, progress=False, **RECIPE)
    row = {"max_blur_sigma": sigma, "train_seconds": round(hist.seconds, 1),
           "heldout_loss": round(cu.evaluate_loss(ema, test.to(args.device), proc), 4), "samplers": {}}
    for name, how in SAMPLERS.items():
        p = cu.BlurToStatic(cu.NoiseScheduler(**SCHEDULE), max_blur_sigma=sigma, clip_sample=how["clip"])
        p.set_timesteps(args.sample_steps)
        tic = time.perf_counter()
        x = sample(ema, p, args.n, eta=how["eta"], generator=torch.Generator().manual_seed(10), progress=False)
        seconds = time.perf_counter() - tic
        m = digit_metrics(x.clamp(-1, 1).cpu(), test)
        shares = [m[f"class_{c}"] for c in range(10)]
        row["samplers"][name] = {"seconds": round(seconds, 2), "frechet": round(m["frechet"], 2),
                                 "precision": round(m["precision"], 3), "recall": round(m["recall"], 3),
                                 "class_min": round(min(shares), 3), "class_max": round(max(shares), 3)}
    return row


def table(rows: list[dict], args) -> str:
    lines = [f"Blur sweep: {args.steps} training steps each, {args.n} samples with {args.sample_steps} steps; Frechet "
             "(lower is better) / precision / recall against the 180 held-out digits; class shares min / max.", "",
             "| max_blur_sigma | held-out loss | sampler | Frechet | precision | recall | classes min / max |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        for name, m in r["samplers"].items():
            lines.append(f"| {r['max_blur_sigma']:g} px | {r['heldout_loss']:.4f} | {name} | {m['frechet']:.2f} | "
                         f"{m['precision']:.2f} | {m['recall']:.2f} | {m['class_min']:.1%} / {m['class_max']:.1%} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sigmas", type=float, nargs="+", default=[0.0, 1.5, 3.0, 5.0, 8.0])
    parser.add_argument("--steps", type=int, default=2000, help="training steps per model (default 2000)")
    parser.add_argument("--sample-steps", type=int, default=50, help="sampling steps (default 50)")
    parser.add_argument("--n", type=int, default=500, help="samples per model and sampler (default 500)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, mps")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.n < 10 or not 1 <= args.sample_steps <= 1000:
        parser.error("--steps >= 1, --n >= 10 and --sample-steps from 1 to 1000, please")
    if any(s < 0 for s in args.sigmas):
        parser.error("--sigmas are blur widths in pixels, >= 0")
    train, test = cu.load_digits(split="train"), cu.load_digits(split="test")
    rows, tic = [], time.perf_counter()
    for sigma in args.sigmas:
        rows.append(run(sigma, args, train, test))
        best = rows[-1]["samplers"]["ancestral"]
        print(f"max_blur_sigma {sigma:g}: {rows[-1]['train_seconds']:.0f} s training, held-out loss "
              f"{rows[-1]['heldout_loss']:.4f}, ancestral Frechet {best['frechet']:.2f}", flush=True)
    print(table(rows, args))
    print(f"total {time.perf_counter() - tic:.0f} s on {args.device}, torch {torch.__version__}")
    if args.json:
        args.json.write_text(json.dumps({"steps": args.steps, "sample_steps": args.sample_steps, "n": args.n,
                                         "device": args.device, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
