"""Which resolution for Lesson 7's crayon drawings? Train the lesson's model at 16, 24 and 32 pixels a side.

    OMP_NUM_THREADS=1 python scripts/crayons_resolution.py            # about 25 minutes on one thread
    python scripts/crayons_resolution.py --sizes 16 24 --steps 700

For each size: the lesson's recipe (10,000 fresh drawings, the held-out pairs left out, batch 128, lr 2e-3, EMA
0.995, seed 0) for ``--steps`` steps; the training time; then the share of drawings read as the right colour and
object (``crayons_eval.prompt_table``: guidance 3, DDPM 20 steps, 16 drawings for each of red, yellow, green and
blue on every object), with the drawings averaged down to 16 x 16 for the course's object reader.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import course_utils as cu  # noqa: E402
from course_utils import crayons  # noqa: E402
from course_utils.crayons_eval import DONE_WHEN_COLOURS, HELD_OUT, prompt_table, summary  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 24, 32])
    parser.add_argument("--steps", type=int, default=700, help="training steps (the lesson's: 700)")
    parser.add_argument("--n", type=int, default=16, help="drawings per prompt")
    args = parser.parse_args()
    pairs = [(c, o) for c in DONE_WHEN_COLOURS for o in crayons.OBJECTS]
    print(f"{'size':>5} {'train s':>8} {'s/step':>7} {'held-out loss':>14} {'colour':>7} {'object':>7} {'both':>6}")
    for size in args.sizes:
        torch.manual_seed(0)
        model = cu.UNet(channels=32, image_size=size, in_channels=3, vocab_size=len(crayons.VOCAB),
                        prompt_length=crayons.PROMPT_LENGTH, null_prompt=crayons.null_tokens().tolist())
        data = cu.make_drawings(10_000, size, seed=1, exclude=HELD_OUT)
        sched = cu.NoiseScheduler(1000, beta_schedule="cosine")
        tic = time.perf_counter()
        model, hist = cu.train(model, data.images, sched, labels=data.tokens, label_dropout=0.1, steps=args.steps,
                               batch_size=128, lr=2e-3, ema_decay=0.995, seed=0, progress=False)
        seconds = time.perf_counter() - tic
        test = cu.make_drawings(500, size, seed=5_000_003, exclude=HELD_OUT)
        loss = cu.evaluate_loss(model, test.images, sched, labels=test.tokens)
        s = summary(prompt_table(model, pairs, n=args.n))["all"]
        print(f"{size:5d} {seconds:8.0f} {seconds / args.steps:7.3f} {loss:14.4f} {s['colour_ok']:7.1%} "
              f"{s['object_ok']:7.1%} {s['both']:6.1%}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
