"""Lesson 6's table (docs/measurements.md): quality against network evaluations, DDIM on `digits` against flow matching
on `digits_flow` (Euler and Heun), from the same static, with the time each run took.

    python scripts/flow_table.py            # --n 1000 by default; about a minute on a 2-core CPU

Each sampler gets the schedulers of the command line (course_utils.sample.make_scheduler: DDIM on the
"below_top" grid T - T/n, ..., 0 with the clean guess clipped and the noise guess re-derived from it; flow
matching on the uniform time grid). A budget of B network evaluations
is B steps of DDIM or Euler and (B + 1) // 2 steps of Heun (2n - 1 evaluations: an even budget leaves one unused).
The Frechet distance is Lesson 3's (course_utils.metrics), against the 180 held-out digits; lower is better.
One seed: this table shows the times and the shape of the curves, not a ranking. To rank the samplers use
scripts/lesson6_quality.py (course_utils.digit_quality.score: 2,000 samples, 3 seeds, mean +- spread).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import course_utils as cu  # noqa: E402
from course_utils.flow import steps_for_evals  # noqa: E402
from course_utils.metrics import digit_metrics  # noqa: E402
from course_utils.sample import make_scheduler  # noqa: E402
from course_utils.sampling import sample  # noqa: E402

BUDGETS = [1, 2, 4, 8, 16, 32]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="samples per run (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    test = cu.load_digits(split="test")
    samplers = {"DDIM (digits)": ("digits", "ddim"), "flow, Euler (digits_flow)": ("digits_flow", "euler"),
                "flow, Heun (digits_flow)": ("digits_flow", "heun")}
    print(f"| sampler | {' | '.join(str(b) for b in BUDGETS)} |")
    print("|---|" + "---:|" * len(BUDGETS))
    for name, (ckpt, solver) in samplers.items():
        model = cu.load_checkpoint(ckpt)
        cells = []
        for b in BUDGETS:
            sched = make_scheduler(model, solver, steps_for_evals(solver, b))
            nfe = sched.num_function_evals if solver != "ddim" else len(sched.timesteps)
            tic = time.perf_counter()
            x = sample(model, sched, args.n, generator=torch.Generator().manual_seed(args.seed), progress=False)
            seconds = time.perf_counter() - tic
            fd = digit_metrics(x.clamp(-1, 1), test)["frechet"]
            cells.append(f"{fd:.2f} ({nfe}, {seconds:.2f} s)")
        print(f"| {name} | {' | '.join(cells)} |")
    real = digit_metrics(cu.load_digits(split="train")[: args.n], test)["frechet"]
    print(f"\nreal training digits against the held-out ones: {real:.2f}; cells: Frechet (evaluations made, seconds "
          f"for {args.n} samples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
