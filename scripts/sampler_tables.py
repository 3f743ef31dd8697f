"""The digit sampler tables of docs/sampler-tables.md, with the course's stroke metric and a spread over seeds.

    OMP_NUM_THREADS=2 python scripts/sampler_tables.py                # about 6 minutes on 2 cores
    python scripts/sampler_tables.py --n 2000 --seeds 0 1 2 --steps 2 4 8 50

For the shipped ``digits`` (noise) and ``digits_flow`` (velocity): ``digit_quality.score`` (Frechet distance in
stroke features to all 1,797 digits; lower is better) of ``--n`` samples per seed, mean +- standard deviation over
seeds, for each number of network evaluations. Noise: DDIM (eta 0, x0_hat clipped, eps re-derived) on each grid
(below_top: the command line's default; leading; trailing), DPM-Solver++(2M) and DDPM;
flow: Euler and Heun on the uniform grid (Heun: the most steps whose
2n - 1 evaluations fit the budget, so an even budget leaves one evaluation unused).
The floor (real digits scored the same way) and the metric's known-worse rows are printed first.
"""

from __future__ import annotations

import argparse
import time

import torch

from course_utils import digit_quality as dq
from course_utils.checkpoints import load_checkpoint
from course_utils.flow import steps_for_evals
from course_utils.sample import make_scheduler
from course_utils.sampling import sample


def draw_with(model, sched, n):
    def draw(seed: int) -> torch.Tensor:
        return sample(model, sched, n, progress=False, generator=torch.Generator().manual_seed(seed))
    return draw


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--steps", type=int, nargs="+", default=[2, 4, 8, 50])
    args = ap.parse_args()
    tic = time.perf_counter()
    print(f"n = {args.n} samples per seed, seeds {args.seeds}; digit_quality.score, mean +- std over seeds\n")
    print(f"real digits ({args.n} drawn with replacement from the 1,797 references): "
          f"{dq.real_halves(args.seeds, args.n)}")
    digits, flow = load_checkpoint("digits"), load_checkpoint("digits_flow")
    print("\n| network evaluations | " + " | ".join(str(s) for s in args.steps) + " |")
    print("|---|" + "---|" * len(args.steps))
    rows = [(f"DDIM, {sp}", digits, "ddim", sp) for sp in ("below_top", "leading", "trailing")]
    rows += [("DPM-Solver++(2M), below_top", digits, "dpm-solver", "below_top"),
             ("DDPM, below_top", digits, "ddpm", "below_top")]
    rows += [("flow, Euler", flow, "euler", None), ("flow, Heun", flow, "heun", None)]
    for name, model, sampler, spacing in rows:
        cells = []
        for evals in args.steps:
            if sampler == "heun":
                if evals < 3:
                    cells.append("-")
                    continue
                steps = steps_for_evals("heun", evals)
            else:
                steps = evals
            sched = make_scheduler(model, sampler, steps, spacing) if spacing else make_scheduler(model, sampler, steps)
            cells.append(str(dq.score(draw_with(model, sched, args.n), args.seeds)))
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    # the spread of Lesson 3's metric (180 held-out digits, classifier features) at docs/measurements.md's 500 samples
    from course_utils.metrics import digit_metrics

    sched = make_scheduler(digits, "ddim", 50)
    old = [digit_metrics(draw_with(digits, sched, 500)(s))["frechet"] for s in args.seeds]
    print(f"\nLesson 3's metric (digit_metrics), DDIM 50 steps, 500 samples, seeds {args.seeds}: "
          + ", ".join(f"{v:.2f}" for v in old) + f" (std {torch.tensor(old).std().item():.2f})")
    print(f"\n{time.perf_counter() - tic:.0f} s, {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
