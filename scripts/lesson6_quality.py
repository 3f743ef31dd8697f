"""Lesson 6's sampler comparison with a spread: DDIM on `digits` against flow matching on `digits_flow`, and the
ablation that says where the difference comes from (time grid, clipping, network), 3 seeds of 2,000 samples.

    python scripts/lesson6_quality.py             # about 10 minutes on one thread of a busy 2-core CPU
    python scripts/lesson6_quality.py --n 500     # a quick look (the metric is biased and noisier at small n)

Quality is ``course_utils.digit_quality.score``: the Frechet distance of stroke features against all 1,797 digits,
mean +- standard deviation over seeds 0, 1, 2 (seed s: the static of ``torch.Generator().manual_seed(s)``, the same
static for every sampler). Lower is better; a difference smaller than the spreads is not a difference.

The rows (a budget of B network evaluations; Heun makes 2n - 1 for n steps, so it gets (B + 1) // 2 steps):

* ``DDIM``: the command line's DDIM (``make_scheduler``: "below_top" grid T - T/n, ..., 0, clean guess clipped
  to [-1, 1] and the noise guess re-derived from it).
* ``DDIM, unclipped``: the same grid, no clipping: the pure ODE step (Lesson 6, eq. 6.0).
* ``DDIM, trailing``: clipped, diffusers' "trailing" grid (starts at T - 1, the purest static).
* ``flow, Euler``: the command line's flow sampler, uniform grid 1, (n-1)/n, ..., 0.
* ``flow, Euler on DDIM's grid``: the velocity network stepped by Euler on the times matched to DDIM's
  below_top grid, t = sqrt(1 - abar) / (sqrt(abar) + sqrt(1 - abar)), from the same static rescaled by
  1 / (sqrt(abar) + sqrt(1 - abar)) (Gao et al. 2024). With exact networks this IS "DDIM, unclipped"
  (tests/test_sampler_equivalence.py); here only the network differs from that row.
* ``flow, Heun``: the command line's Heun (its last step, onto t = 0, is an Euler step).
* ``flow, Heun, full last step``: Heun's averaged slope on the last step too (one more evaluation).
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
from course_utils.ddim import DDIMScheduler  # noqa: E402
from course_utils.digit_quality import score  # noqa: E402
from course_utils.flow import steps_for_evals  # noqa: E402
from course_utils.sample import make_scheduler  # noqa: E402
from course_utils.sampling import sample  # noqa: E402

T = 1000


def matched_times(abar_grid: torch.Tensor) -> list[float]:
    """Flow times of a DDIM grid: t = sqrt(1 - abar) / (sqrt(abar) + sqrt(1 - abar)), then 0 (DDIM lands on
    abar = 1)."""
    a, b = abar_grid.double().sqrt(), (1 - abar_grid.double()).sqrt()
    return (b / (a + b)).tolist() + [0.0]


@torch.no_grad()
def flow_solve(model, x, times, heun: bool = False, full_last: bool = False):
    """Euler (or Heun) over ``times`` (decreasing to 0) with the velocity network; returns x at t = 0."""
    n = x.shape[0]
    for t, t_next in zip(times[:-1], times[1:], strict=True):
        v = model(x, torch.full((n,), t))
        x_euler = x + (t_next - t) * v
        if heun and (t_next > 0 or full_last):
            v2 = model(x_euler, torch.full((n,), t_next))
            x = x + (t_next - t) * (v + v2) / 2
        else:
            x = x_euler
    return x


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="samples per seed (default 2000: the metric's spread "
                                                              "is about 5 at 1,000)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budgets", type=int, nargs="+", default=[2, 4, 8, 16])
    parser.add_argument("--ablation-budgets", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    noise_model, flow_model = cu.load_checkpoint("digits"), cu.load_checkpoint("digits_flow")
    shape = (args.n, 1, 8, 8)

    def static(seed):
        return torch.randn(shape, generator=torch.Generator().manual_seed(seed))  # what sample() starts from

    def ddim(steps, clip=True, spacing="below_top"):
        def draw(seed):
            if clip:
                sched = make_scheduler(noise_model, "ddim", steps, spacing=spacing)
            else:
                sched = DDIMScheduler(T, beta_schedule="cosine", clip_sample=False)
                sched.set_timesteps(steps, timestep_spacing=spacing)
            return sample(noise_model, sched, args.n, generator=torch.Generator().manual_seed(seed), progress=False)
        return draw

    def flow(solver, budget):
        def draw(seed):
            sched = make_scheduler(flow_model, solver, steps_for_evals(solver, budget))
            return sample(flow_model, sched, args.n, generator=torch.Generator().manual_seed(seed), progress=False)
        return draw

    def flow_on_ddim_grid(steps):
        grid = DDIMScheduler(T, beta_schedule="cosine", clip_sample=False)
        grid.set_timesteps(steps, timestep_spacing="below_top")
        abar = grid.alphas_cumprod[grid.timesteps]
        times = matched_times(abar)
        scale = float(abar[0].sqrt() + (1 - abar[0]).sqrt())

        def draw(seed):
            return flow_solve(flow_model, static(seed) / scale, times).float()
        return draw

    def heun_full_last(budget):
        steps = budget // 2  # n full Heun steps: 2n evaluations

        def draw(seed):
            return flow_solve(flow_model, static(seed), torch.linspace(1, 0, steps + 1).tolist(), heun=True,
                              full_last=True)
        return draw

    rows = {}
    for b in args.budgets:
        rows[("DDIM", b)] = (ddim(b), b)
        rows[("flow, Euler", b)] = (flow("euler", b), b)
        if b >= 3:
            rows[("flow, Heun", b)] = (flow("heun", b), 2 * steps_for_evals("heun", b) - 1)
    for b in args.ablation_budgets:
        rows[("DDIM, unclipped", b)] = (ddim(b, clip=False), b)
        rows[("DDIM, trailing", b)] = (ddim(b, spacing="trailing"), b)
        rows[("flow, Euler on DDIM's grid", b)] = (flow_on_ddim_grid(b), b)
        rows[("flow, Heun, full last step", b)] = (heun_full_last(b), b)
    print(f"n = {args.n} samples per seed, seeds {args.seeds}; cells: Frechet mean +- std over seeds "
          f"[evaluations made]; lower is better", flush=True)
    for (name, b), (draw, nfe) in rows.items():
        tic = time.perf_counter()
        s = score(draw, seeds=args.seeds)
        values = ", ".join(f"{v:.1f}" for v in s.values)
        print(f"{name:30s} budget {b:2d} [{nfe:2d} evals]: {s.mean:6.1f} +- {s.std:5.1f}   ({values})   "
              f"{time.perf_counter() - tic:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
