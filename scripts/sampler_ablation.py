"""Why guided DDIM failed, one cause at a time (review part 3): the ablation table of docs/sampler-tables.md.

    OMP_NUM_THREADS=1 python scripts/sampler_ablation.py                    # digits_cond and crayons (about 25 min)
    python scripts/sampler_ablation.py --only digits_cond --seeds 0 1 2     # the digits part (about 6 min)

For each checkpoint, every combination of
  - the clean guess: unclipped; clipped, eps NOT re-derived; clipped, eps re-derived from the clipped x0_hat
    (diffusers' ``use_clipped_model_output=True``; DDPM's step uses x0_hat and x_t only, so it has nothing to
    re-derive),
  - where the first step starts: t = T-1 (diffusers' "trailing") or one stride below ("below_top"),
  - the sampler: DDIM (eta 0, deterministic) or DDPM,
  - the guidance scale w = 1, 3, 8,
gives the share of drawings read as the request (digits_cond: the Lesson 3 classifier reads the asked digit, all
ten labels; crayons: the asked colour and the asked object, the 20 prompts of red, yellow, green and blue on every
object), as the mean and the standard deviation over seeds (one seed = one batch of static).
Then the done-when rows: the command line's own scheduler (``sample.make_scheduler``, DDIM, eta 0, 50 steps, w = 3),
digits_cond per label and crayons per colour over all 40 colour-object pairs.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import torch

from course_utils import crayons
from course_utils.checkpoints import load_checkpoint
from course_utils.ddim import DDIMScheduler
from course_utils.metrics import digit_classifier
from course_utils.sample import make_scheduler
from course_utils.sampling import _predict, sample
from course_utils.scheduler import NoiseScheduler

GUESSES = {"unclipped": (False, False), "clipped": (True, False), "clipped, eps re-derived": (True, True)}
STARTS = {"T-1": "trailing", "below": "below_top"}
PROMPT_COLOURS = ("red", "yellow", "green", "blue")


@torch.no_grad()
def run(model, sampler: str, guess: str, start: str, w: float, labels: torch.Tensor, seed: int, steps: int = 50,
        shape=(1, 8, 8)) -> torch.Tensor:
    """Samples for ``labels`` (n,) (or (n, L) prompt ids) with one configuration of the table."""
    clip, rederive = GUESSES[guess]
    sched = (DDIMScheduler if sampler == "ddim" else NoiseScheduler)(1000, beta_schedule="cosine", clip_sample=clip)
    sched.set_timesteps(steps, timestep_spacing=STARTS[start])
    g = torch.Generator().manual_seed(seed)
    n = labels.shape[0]
    x = torch.randn((n, *shape), generator=g)
    for t in sched.timesteps.tolist():
        eps = _predict(model, x, torch.full((n,), t), labels, w)
        if sampler == "ddim":
            x = sched.step(eps, t, x, eta=0.0, use_clipped_model_output=rederive).prev_sample
        else:
            x = sched.step(eps, t, x, generator=g).prev_sample
    return x.clamp(-1, 1)


def configurations():
    for sampler, guess, start in itertools.product(("ddim", "ddpm"), GUESSES, STARTS):
        if sampler == "ddpm" and guess == "clipped, eps re-derived":
            continue
        yield sampler, guess, start


def fmt(values) -> str:
    v = np.asarray(values, dtype=float)
    return f"{100 * v.mean():.1f} +- {100 * v.std(ddof=1):.1f}" if len(v) > 1 else f"{100 * v.mean():.1f}"


def digits_table(seeds, n_per_label: int, scales) -> None:
    model, clf = load_checkpoint("digits_cond"), digit_classifier()
    labels = torch.arange(10).repeat_interleave(n_per_label)  # (10 n,)
    print(f"\n## digits_cond: % read as the asked digit (10 labels x {n_per_label}, seeds {list(seeds)}, 50 steps)\n")
    print("| sampler | clean guess | first step from | " + " | ".join(f"w = {w:g}" for w in scales) + " |")
    print("|---|---|---|" + "---|" * len(scales))
    for sampler, guess, start in configurations():
        cells = []
        for w in scales:
            accs = [float((clf.predict(run(model, sampler, guess, start, w, labels, s)) == labels.numpy()).mean())
                    for s in seeds]
            cells.append(fmt(accs))
        print(f"| {sampler} | {guess} | {start} | " + " | ".join(cells) + " |", flush=True)
    # the done-when row: the command line's scheduler
    sched = make_scheduler(model, "ddim", 50)
    per_label = np.zeros((len(seeds), 10))
    for i, s in enumerate(seeds):
        x = sample(model, sched, len(labels), labels=labels, guidance=3.0, progress=False,
                   generator=torch.Generator().manual_seed(s)).clamp(-1, 1)
        hit = clf.predict(x) == labels.numpy()
        per_label[i] = [hit[labels.numpy() == k].mean() for k in range(10)]
    print(f"\nCommand line (ddim, eta 0, 50 steps, {sched.timestep_spacing}, w = 3), % per label, mean over seeds "
          "(min over seeds): "
          + ", ".join(f"{k}: {100 * per_label[:, k].mean():.0f} ({100 * per_label[:, k].min():.0f})"
                      for k in range(10)),
          flush=True)


def crayons_table(seeds, n_per_prompt: int, scales) -> None:
    model = load_checkpoint("crayons")
    pairs = [(c, o) for c in PROMPT_COLOURS for o in crayons.OBJECTS]
    ids = crayons.tokenize([crayons.prompt_for(c, o) for c, o in pairs for _ in range(n_per_prompt)])  # (P n, L)
    want_c = torch.tensor([crayons.COLOURS.index(c) for c, _ in pairs]).repeat_interleave(n_per_prompt)
    want_o = torch.tensor([crayons.OBJECTS.index(o) for _, o in pairs]).repeat_interleave(n_per_prompt)
    print(f"\n## crayons: % right colour / right object ({len(pairs)} prompts x {n_per_prompt}, seeds {list(seeds)}, "
          "50 steps)\n")
    print("| sampler | clean guess | first step from | " + " | ".join(f"w = {w:g}" for w in scales) + " |")
    print("|---|---|---|" + "---|" * len(scales))
    for sampler, guess, start in configurations():
        cells = []
        for w in scales:
            c_ok, o_ok = [], []
            for s in seeds:
                x = run(model, sampler, guess, start, w, ids, s, shape=(3, 16, 16))
                c_ok.append(float((crayons.read_colour(x) == want_c).float().mean()))
                o_ok.append(float((crayons.read_object(x) == want_o).float().mean()))
            cells.append(f"{fmt(c_ok)} / {fmt(o_ok)}")
        print(f"| {sampler} | {guess} | {start} | " + " | ".join(cells) + " |", flush=True)
    all_pairs = [(c, o) for c in crayons.COLOURS for o in crayons.OBJECTS]
    sched = make_scheduler(model, "ddim", 50)
    prompts = [crayons.prompt_for(c, o) for c, o in all_pairs for _ in range(n_per_prompt)]
    want_c = torch.tensor([crayons.COLOURS.index(c) for c, _ in all_pairs]).repeat_interleave(n_per_prompt)
    want_o = torch.tensor([crayons.OBJECTS.index(o) for _, o in all_pairs]).repeat_interleave(n_per_prompt)
    per = np.zeros((len(seeds), len(crayons.COLOURS)))
    both = []
    for i, s in enumerate(seeds):
        x = sample(model, sched, len(prompts), labels=prompts, guidance=3.0, progress=False,
                   generator=torch.Generator().manual_seed(s)).clamp(-1, 1)
        c_hit = crayons.read_colour(x) == want_c
        both.append(float((c_hit & (crayons.read_object(x) == want_o)).float().mean()))
        per[i] = [float(c_hit[want_c == k].float().mean()) for k in range(len(crayons.COLOURS))]
    print(f"\nCommand line (ddim, eta 0, 50 steps, {sched.timestep_spacing}, w = 3), all {len(all_pairs)} pairs "
          f"(held-out ones included), right colour % per colour, mean (min over seeds): "
          + ", ".join(f"{c}: {100 * per[:, k].mean():.0f} ({100 * per[:, k].min():.0f})"
                      for k, c in enumerate(crayons.COLOURS))
          + f"; right colour and object {fmt(both)}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["digits_cond", "crayons"], default=None)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--n-digits", type=int, default=100, help="drawings per label")
    ap.add_argument("--n-crayons", type=int, default=8, help="drawings per prompt")
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0, 3.0, 8.0])
    args = ap.parse_args()
    tic = time.perf_counter()
    if args.only in (None, "digits_cond"):
        digits_table(args.seeds, args.n_digits, args.scales)
    if args.only in (None, "crayons"):
        crayons_table(args.seeds, args.n_crayons, args.scales)
    print(f"\n{time.perf_counter() - tic:.0f} s, {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
