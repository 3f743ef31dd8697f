"""Reproduce the measurements behind two of the command line's limits (issue 21, section 4).

    python scripts/cli_limits.py guidance   # why --guidance stops at 20 (guidance.MAX_GUIDANCE): a few minutes
    python scripts/cli_limits.py blur       # why a blur-to-static grid from t = T-1 is refused (sample.check_blur_grid)

guidance: the command line's sampler (DDIM, eta 0, 50 steps, below_top, x0_hat clipped, sample.make_scheduler);
digits_cond, 10 labels x 20 drawings, seeds 0 and 1, the share Lesson 3's classifier reads as the label; crayons,
the 20 prompts of crayons_eval.DONE_WHEN_COLOURS on every object x 4 drawings, seed 0, the shares the readers
read as the right colour and object; and the share of pixels at +-1 (saturated).
blur: digits_blur, deterministic DDIM-style blur steps, 300 samples, seeds 0 and 1, the stroke metric
(digit_quality.frechet_to_digits, lower is better) for grids that start below T-1 and at T-1.
The numbers are quoted in guidance.py, sample.py and docs/sampler-tables.md.
"""

from __future__ import annotations

import sys

import torch

from course_utils import crayons
from course_utils.checkpoints import load_checkpoint
from course_utils.crayons_eval import DONE_WHEN_COLOURS, prompt_table
from course_utils.digit_quality import frechet_to_digits
from course_utils.metrics import digit_classifier
from course_utils.process import scheduler_from_process
from course_utils.sample import make_scheduler
from course_utils.sampling import sample

SCALES = (0, 1, 3, 5, 8, 12, 16, 20, 30, 50, 100, 1000, 1e6)


def guidance() -> None:
    model = load_checkpoint("digits_cond")
    sched = make_scheduler(model, "ddim", 50)
    clf = digit_classifier()
    print("digits_cond: w, read as the label (seed 0, seed 1), pixels at +-1")
    for w in SCALES:
        acc, sat = [], []
        for seed in (0, 1):
            right, at_edge = 0, 0.0
            for label in range(10):
                x = sample(model, sched, 20, labels=label, guidance=float(w), progress=False,
                           generator=torch.Generator().manual_seed(seed)).clamp(-1, 1)
                right += int((torch.as_tensor(clf.predict(x)) == label).sum())
                at_edge += float((x.abs() > 0.999).float().mean()) / 10
            acc.append(right / 200)
            sat.append(at_edge)
        print(f"  w = {w:g}: {acc[0]:.1%}, {acc[1]:.1%}; saturated {sum(sat) / 2:.1%}", flush=True)
    model = load_checkpoint("crayons")
    pairs = [(c, o) for c in DONE_WHEN_COLOURS for o in crayons.OBJECTS]
    print(f"crayons: w, right colour, right object ({len(pairs)} prompts x 4, seed 0)")
    for w in SCALES[1:11]:
        rows = prompt_table(model, pairs, n=4, guidance=float(w), steps=50, seed=0)
        c = sum(r["colour_ok"] for r in rows) / len(rows)
        o = sum(r["object_ok"] for r in rows) / len(rows)
        print(f"  w = {w:g}: colour {c:.1%}, object {o:.1%}", flush=True)


def blur() -> None:
    model = load_checkpoint("digits_blur")
    print("digits_blur: grid, first t, Frechet distance to the digits (seed 0, seed 1), largest pixel")
    for steps, spacing in ((16, "below_top"), (50, "below_top"), (500, "below_top"), (666, "below_top"),
                           (1000, "below_top"), (50, "trailing")):
        proc = scheduler_from_process(model.trained_on["process"])
        proc.set_timesteps(steps, spacing)
        scores, peak = [], 0.0
        for seed in (0, 1):
            x = sample(model, proc, 300, eta=0.0, progress=False, generator=torch.Generator().manual_seed(seed))
            peak = max(peak, float(x.abs().max()))
            scores.append(frechet_to_digits(x.clamp(-1, 1)))
        print(f"  {steps} steps {spacing} (from t = {int(proc.timesteps[0])}): {sum(scores) / 2:.1f} "
              f"({scores[0]:.1f}, {scores[1]:.1f}); largest pixel {peak:.3g}", flush=True)


if __name__ == "__main__":
    what = sys.argv[1:] or ["guidance", "blur"]
    for part in what:
        {"guidance": guidance, "blur": blur}[part]()
