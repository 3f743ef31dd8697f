"""Does it understand, or copy? (Lesson 7, section 4): draw from prompts and read back colour and object.

The shipped checkpoint ``crayons`` never saw the pairs in ``HELD_OUT`` (one colour per object, chosen so that
every object and every colour still appears in training, only never together). ``prompt_table`` asks the model
for colour-object pairs and measures, with the course's readers (``crayons.read_colour``, ``crayons.read_object``),
the share of drawings read as the right colour, the right object, and both. Not essential on first read.

Measured on the shipped checkpoint (guidance 3, the 20 prompts of red, yellow, green and blue on every object,
seed 0; scripts/sampler_ablation.py): deterministic DDIM (eta 0, x0_hat clipped and eps re-derived from it, the
grid one stride below T-1) draws the right colour and object as often as DDPM. Before review part 3 the course
sampled guided prompts with DDPM because its DDIM failed (39.5 % right): the cause was the unclipped first step
from t = T-1 (71 % right colour with DDIM and with DDPM alike, at 50 steps) and, where it clipped, an eps not
re-derived from the clipped guess; not the absence of fresh noise. Hence the default here, in the prompt box and
on the command line: ``SAMPLER = "ddim"``, ``STEPS = 20``.
"""

from __future__ import annotations

import torch

from . import crayons

# Never drawn for the shipped checkpoint's training: each object once, each with a different colour.
HELD_OUT: tuple[tuple[str, str], ...] = (("green", "sun"), ("orange", "house"), ("purple", "tree"),
                                         ("brown", "flower"), ("black", "boat"))
TEST_SEED = 5_000_003  # fresh drawings for held-out losses: a seed no training run uses
DONE_WHEN_COLOURS = ("red", "yellow", "green", "blue")  # issue 14: these colours on every object, guidance 3
SAMPLER, STEPS = "ddim", 20  # for guided prompts (measured above)


def prompt_table(model, pairs, *, n: int = 32, guidance: float = 3.0, steps: int = STEPS, seed: int = 0,
                 negative=None, sampler: str = SAMPLER) -> list[dict]:
    """For each (colour, object) pair: ``n`` drawings from its prompt (``sampler`` "ddpm" or "ddim" with eta 0,
    ``steps`` steps, ``guidance``),
    and the share read as the right colour, the right object and both. Returns one dict per pair with keys
    colour, object, prompt, seen (not in HELD_OUT), colour_ok, object_ok, both, and samples (n, 3, H, W)."""
    from .forward import BlurToStatic
    from .sample import make_scheduler
    from .sampling import sample

    if sampler not in ("ddpm", "ddim"):
        raise ValueError(f'sampler must be "ddpm" or "ddim", got {sampler!r}.')
    sched = make_scheduler(model, sampler, steps)  # the course's grid, x0_hat clipped (sample.make_scheduler)
    # a blur-to-static model (Lesson 8) has one scheduler for both: ddpm is its ancestral step, ddim its eta = 0
    eta = (1.0 if sampler == "ddpm" else 0.0) if isinstance(sched, BlurToStatic) else None
    rows = []
    for colour, obj in pairs:
        prompt = crayons.prompt_for(colour, obj)
        x = sample(model, sched, n, labels=prompt, guidance=guidance, negative=negative, progress=False, eta=eta,
                   generator=torch.Generator().manual_seed(seed)).clamp(-1, 1).cpu()
        c_ok = crayons.read_colour(x) == crayons.COLOURS.index(colour)
        o_ok = crayons.read_object(x) == crayons.OBJECTS.index(obj)
        rows.append({"colour": colour, "object": obj, "prompt": prompt, "seen": (colour, obj) not in HELD_OUT,
                     "colour_ok": float(c_ok.float().mean()), "object_ok": float(o_ok.float().mean()),
                     "both": float((c_ok & o_ok).float().mean()), "samples": x})
    return rows


def summary(rows: list[dict]) -> dict:
    """Mean shares over rows, and over seen and unseen pairs separately: {"all"|"seen"|"unseen": {...}}."""
    out = {}
    for name, keep in (("all", lambda r: True), ("seen", lambda r: r["seen"]), ("unseen", lambda r: not r["seen"])):
        sel = [r for r in rows if keep(r)]
        if sel:
            out[name] = {k: sum(r[k] for r in sel) / len(sel) for k in ("colour_ok", "object_ok", "both")}
            out[name]["pairs"] = len(sel)
    return out
