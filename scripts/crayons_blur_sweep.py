"""How much blur for Lesson 8's crayons_blur? Train Lesson 7's prompt model with blur-to-static at several widths.

    OMP_NUM_THREADS=1 python scripts/crayons_blur_sweep.py              # 0, 2, 4, 8 px; about 15 minutes on one thread
    python scripts/crayons_blur_sweep.py --sigmas 0 4 --steps 700 --json sweep.json

As scripts/blur_sweep.py did for Lesson 4's digits: for each max_blur_sigma (the blur width in pixels at t = T-1;
0 is Lesson 7's noise-only process), Lesson 7's recipe (10,000 fresh drawings with the held-out pairs left out,
batch 128, lr 2e-3, EMA 0.995, 10 % null prompts, seed 0) for ``--steps`` steps, then ``--n`` drawings for each
of the 20 test prompts (red, yellow, green and blue on every object) and the 5 never-seen pairs, guidance 3,
20 steps, ancestral (ddpm) and deterministic (ddim, eta 0), read by the course's colour and object readers.
Same seeds everywhere, so the rows differ only by the blur.

    python scripts/crayons_blur_sweep.py --blur-only      # no training: what the blur alone leaves, a few seconds

``--blur-only``: for each width, 400 fresh drawings blurred by the blur of t = 500, 750 and T (no static), and the
share still read as their object and as their colour by the course's readers: how far the blur alone goes before
the static ends it (docs/models.md, crayons_blur: 4 px is the smallest width whose blur alone takes the shape away
while the colour stays readable until t = 750).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import course_utils as cu  # noqa: E402
from course_utils import crayons  # noqa: E402
from course_utils.crayons_eval import DONE_WHEN_COLOURS, HELD_OUT, prompt_table, summary  # noqa: E402
from course_utils.sample import make_scheduler  # noqa: E402
from course_utils.sampling import sample  # noqa: E402

SCHEDULE = {"num_train_timesteps": 1000, "beta_schedule": "cosine"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sigmas", type=float, nargs="+", default=[0.0, 2.0, 4.0, 8.0])
    parser.add_argument("--steps", type=int, default=700, help="training steps (Lesson 7's lesson run: 700)")
    parser.add_argument("--n", type=int, default=16, help="drawings per prompt")
    parser.add_argument("--json", default=None, help="also write the rows here")
    parser.add_argument("--prediction-type", choices=["sample", "epsilon"], default="sample",
                        help="what the network predicts: the clean picture (crayons_blur's) or the noise")
    parser.add_argument("--blur-only", action="store_true", help="only what the blur alone leaves (no training)")
    args = parser.parse_args()
    if args.blur_only:
        x = cu.make_drawings(400, 16, seed=5_000_003)
        print(f"{'sigma':>5}" + "".join(f"{f'object, t = {t + 1}':>18}{f'colour, t = {t + 1}':>18}"
                                        for t in (499, 749, 999)))
        for sigma in args.sigmas:
            p = cu.BlurToStatic(cu.NoiseScheduler(**SCHEDULE), max_blur_sigma=sigma, d_min=0.001)
            cells = []
            for t in (499, 749, 999):
                b = p.blur_only(x.images, t)
                cells += [float((crayons.read_object(b) == x.objects).float().mean()),
                          float((crayons.read_colour(b) == x.colours).float().mean())]
            print(f"{sigma:5.1f}" + "".join(f"{v:18.0%}" for v in cells), flush=True)
        return 0
    pairs = [(c, o) for c in DONE_WHEN_COLOURS for o in crayons.OBJECTS] + list(HELD_OUT)
    prompts = [crayons.prompt_for(c, o) for c, o in pairs[:20]]
    data = cu.make_drawings(10_000, 16, seed=1, exclude=HELD_OUT)
    test = cu.make_drawings(500, 16, seed=5_000_003, exclude=HELD_OUT)
    rows = []
    print(f"{'sigma':>5} {'blur keeps':>10} {'train s':>8} {'sampler':>7} {'colour':>7} {'object':>7} {'both':>6} "
          f"{'unseen both':>11} {'max |x|':>9}")
    for sigma in args.sigmas:
        proc = cu.BlurToStatic(cu.NoiseScheduler(**SCHEDULE), max_blur_sigma=sigma, d_min=0.001)
        x0 = test.images[:200]
        keeps = float(((proc.blur_only(x0, 999) - x0.mean((2, 3), keepdim=True)) ** 2).sum()
                      / ((x0 - x0.mean((2, 3), keepdim=True)) ** 2).sum())  # share of the non-mean power left
        torch.manual_seed(0)
        model = cu.UNet(channels=32, image_size=16, in_channels=3, vocab_size=len(crayons.VOCAB),
                        prompt_length=crayons.PROMPT_LENGTH, null_prompt=crayons.null_tokens().tolist(),
                        prediction_type=args.prediction_type)
        tic = time.perf_counter()
        model, _ = cu.train(model, data.images, proc, labels=data.tokens, label_dropout=0.1, steps=args.steps,
                            batch_size=128, lr=2e-3, ema_decay=0.995, seed=0, progress=False)
        seconds = time.perf_counter() - tic
        for sampler in ("ddpm", "ddim"):
            s = summary(prompt_table(model, pairs, n=args.n, sampler=sampler))
            proc20 = make_scheduler(model, sampler, 20)  # the largest pixel before any clamp, 20 test prompts
            raw = sample(model, proc20, len(prompts), labels=prompts, guidance=3.0, progress=False,
                         eta=1.0 if sampler == "ddpm" else 0.0, generator=torch.Generator().manual_seed(0))
            row = {"sigma": sigma, "prediction_type": args.prediction_type, "blur_keeps": keeps,
                   "train_seconds": seconds, "sampler": sampler, "max_pixel": float(raw.abs().max()),
                   **{f"{k}_{part}": s[part][k] for part in ("seen", "unseen") for k in ("colour_ok", "object_ok",
                                                                                         "both")}}
            rows.append(row)
            print(f"{sigma:5.1f} {keeps:10.1%} {seconds:8.0f} {sampler:>7} {row['colour_ok_seen']:7.1%} "
                  f"{row['object_ok_seen']:7.1%} {row['both_seen']:6.1%} {row['both_unseen']:11.1%} "
                  f"{row['max_pixel']:9.1f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
