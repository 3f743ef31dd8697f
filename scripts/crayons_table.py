"""Lesson 7's seen/unseen table (docs/measurements.md): how often the shipped ``crayons`` model draws what was asked.

    python scripts/crayons_table.py            # about 2 minutes on a 2-core CPU

For every colour-object pair (40; the 5 in ``crayons_eval.HELD_OUT`` never drawn for training), 32 drawings from
its prompt, seed 0, read back with the course's measures (``crayons.read_colour``, ``crayons.read_object``). Rows:
guidance 3 with deterministic DDIM (the default since review part 3: eta 0, x0_hat clipped and eps re-derived,
the grid one stride below T-1) and with DDPM, both 20 steps; then DDIM without guidance (w = 1) and without a
request (w = 0: chance is 1/40).
Columns: the share read as the right colour and object for the issue's 20 test prompts (red, yellow, green and
blue on every object), the 35 seen pairs, the 5 unseen ones, and the worst pair.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import course_utils as cu  # noqa: E402
from course_utils import crayons  # noqa: E402
from course_utils.crayons_eval import DONE_WHEN_COLOURS, prompt_table, summary  # noqa: E402

ROWS = [("DDIM, w = 3 (the default)", "ddim", 3.0), ("DDPM, w = 3", "ddpm", 3.0), ("DDIM, w = 1", "ddim", 1.0),
        ("DDIM, w = 0 (no request)", "ddim", 0.0)]


def main() -> int:
    model = cu.load_checkpoint("crayons")
    pairs = [(c, o) for c in crayons.COLOURS for o in crayons.OBJECTS]
    print("| sampler, 20 steps | 20 test prompts | 35 seen pairs | 5 unseen pairs | worst pair | time |")
    print("|---|---|---|---|---|---|")
    for name, sampler, w in ROWS:
        tic = time.perf_counter()
        rows = prompt_table(model, pairs, n=32, guidance=w, sampler=sampler, steps=20)
        seconds = time.perf_counter() - tic
        s, test = summary(rows), summary([r for r in rows if r["colour"] in DONE_WHEN_COLOURS])["all"]
        worst = min(rows, key=lambda r: r["both"])
        print(f"| {name} | {test['both']:.1%} | {s['seen']['both']:.1%} | {s['unseen']['both']:.1%} | "
              f"{worst['prompt']}: {worst['both']:.0%} | {seconds:.0f} s |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
