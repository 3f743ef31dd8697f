"""Reproduce the checkpoints that ship with the course (course_utils/weights/), from a fixed seed.

    python scripts/train_checkpoints.py              # all three; about 10 minutes on a 2-core CPU
    python scripts/train_checkpoints.py --only points
    python scripts/train_checkpoints.py --only digits_blur   # Lesson 4's: the same recipe, blur-to-static noising
    python scripts/train_checkpoints.py --only digits_cond   # Lesson 5's: the same recipe, told each digit's label
    python scripts/train_checkpoints.py --only digits_flow   # Lesson 6's: the same recipe, flow matching
    python scripts/train_checkpoints.py --only crayons       # Lesson 7's: 16 x 16 crayon drawings from prompts
    python scripts/train_checkpoints.py --only crayons_blur  # Lesson 8's: crayons' recipe, blur-to-static in colour

Lesson 2's network and loop, trained longer (8,000 steps instead of 3,000) with dropout 0.1, which
keeps the longer run from memorising the 1,617 training digits (12,000 steps without it: held-out loss
0.171 against 0.099 on the training digits). Prints the held-out loss (the number tests/test_models.py
bounds) and the training time. Same seed, same machine type and torch version: the same weights.

The header records what each model was trained on (``train`` sets it, ``save_checkpoint`` writes it):
the process {"kind": "noise", "num_train_timesteps": 1000, "beta_schedule": "cosine"}, the shape of one
example and a SHA-256 fingerprint (course_utils/checkpoints.py describes the format).
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
from course_utils.checkpoints import ALIASES, SHIPPED  # noqa: E402
from course_utils.flow import FlowMatchScheduler  # noqa: E402

SETTINGS = {
    "digits": {"steps": 8000, "batch_size": 128, "lr": 2e-3, "ema_decay": 0.999, "seed": 0, "channels": 32,
               "dropout": 0.1},
    "points": {"steps": 4000, "batch_size": 512, "lr": 2e-3, "ema_decay": 0.995, "seed": 0},
}
# Lesson 4: digits' recipe with the blur-to-static process (max_blur_sigma chosen with scripts/blur_sweep.py).
SETTINGS["digits_blur"] = dict(SETTINGS["digits"], max_blur_sigma=3.0, d_min=0.001)
# Lesson 5: digits' recipe, class-conditional (10 labels + the null label), 20 % of examples trained without label
# (measured against 10 %, docs/models.md: the same accuracy, a little more variety under guidance)
SETTINGS["digits_cond"] = dict(SETTINGS["digits"], num_classes=10, label_dropout=0.2)
# Lesson 7: a text-conditional U-Net on 16 x 16 crayon drawings, told each drawing's prompt, 10 % trained with the
# null prompt (Lesson 5's measured share); fresh drawings (20,000, so no dropout); HELD_OUT pairs never drawn.
SETTINGS["crayons"] = {"steps": 4000, "batch_size": 128, "lr": 2e-3, "ema_decay": 0.999, "seed": 0, "channels": 32,
                       "dropout": 0.0, "label_dropout": 0.1, "image_size": 16, "n_train": 20000, "data_seed": 1}
# Lesson 8: crayons' recipe with the blur-to-static process in colour (max_blur_sigma chosen with
# scripts/crayons_blur_sweep.py, docs/models.md)
SETTINGS["crayons_blur"] = dict(SETTINGS["crayons"], max_blur_sigma=4.0, d_min=0.001, prediction_type="sample")
SCHEDULE = {"num_train_timesteps": 1000, "beta_schedule": "cosine"}
# Lesson 6: digits' recipe and network with flow matching (the network predicts the velocity eps - x_0)
SETTINGS["digits_flow"] = dict(SETTINGS["digits"], prediction_type="velocity")


def train_digits(out: Path, settings: dict) -> None:
    s = dict(settings)
    torch.manual_seed(s["seed"])
    model = cu.UNet(channels=s.pop("channels"), dropout=s.pop("dropout"), **({"prediction_type": s.pop(
        "prediction_type")} if "prediction_type" in s else {}))
    train, test = cu.load_digits(split="train"), cu.load_digits(split="test")
    sched = cu.NoiseScheduler(**SCHEDULE)
    if model.config.get("prediction_type") == "velocity":  # Lesson 6: flow matching, same time scale T = 1000
        sched = FlowMatchScheduler(num_train_timesteps=SCHEDULE["num_train_timesteps"])
    if "max_blur_sigma" in s:  # Lesson 4: blur, then static
        sched = cu.BlurToStatic(sched, max_blur_sigma=s.pop("max_blur_sigma"), d_min=s.pop("d_min"))
    ema, hist = cu.train(model, train, sched, progress=True, **s)
    meta = {"settings": settings, "train_seconds": round(hist.seconds, 1),
            "heldout_loss": cu.evaluate_loss(ema, test, sched), "torch": torch.__version__}
    cu.save_checkpoint(ema, out, metadata=meta)
    print(f"{out.stem}: {hist.seconds:.0f} s, held-out loss {meta['heldout_loss']:.4f}, "
          f"train loss {cu.evaluate_loss(ema, train[:180], sched):.4f} -> {out} ({out.stat().st_size / 1e6:.2f} MB)")


def train_digits_cond(out: Path, settings: dict) -> None:
    """Lesson 5: the digits recipe with each digit's label; held-out loss with the labels (none dropped)."""
    s = dict(settings)
    torch.manual_seed(s["seed"])
    model = cu.UNet(channels=s.pop("channels"), dropout=s.pop("dropout"), num_classes=s.pop("num_classes"))
    (train, y), (test, y_test) = (cu.load_digits(split=k, return_labels=True) for k in ("train", "test"))
    sched = cu.NoiseScheduler(**SCHEDULE)
    ema, hist = cu.train(model, train, sched, progress=True, labels=y, **s)
    meta = {"settings": settings, "train_seconds": round(hist.seconds, 1),
            "heldout_loss": cu.evaluate_loss(ema, test, sched, labels=y_test),
            "heldout_loss_null": cu.evaluate_loss(ema, test, sched), "torch": torch.__version__}
    cu.save_checkpoint(ema, out, metadata=meta)
    print(f"{out.stem}: {hist.seconds:.0f} s, held-out loss {meta['heldout_loss']:.4f} with labels, "
          f"{meta['heldout_loss_null']:.4f} with the null label -> {out} ({out.stat().st_size / 1e6:.2f} MB)")


def train_crayons(out: Path, settings: dict) -> None:
    """Lesson 7: crayon drawings from prompts; the pairs in crayons_eval.HELD_OUT are never drawn for training.
    Held-out loss on fresh drawings of the seen pairs (with their prompts) and of the held-out pairs."""
    from course_utils import crayons
    from course_utils.crayons_eval import HELD_OUT, TEST_SEED

    s = dict(settings)
    torch.manual_seed(s["seed"])
    size = s.pop("image_size")
    model = cu.UNet(channels=s.pop("channels"), dropout=s.pop("dropout"), image_size=size, in_channels=3,
                    vocab_size=len(crayons.VOCAB), prompt_length=crayons.PROMPT_LENGTH,
                    null_prompt=crayons.null_tokens().tolist(), prediction_type=s.pop("prediction_type", "epsilon"))
    data = cu.make_drawings(s.pop("n_train"), size, seed=s.pop("data_seed"), exclude=HELD_OUT)
    sched = cu.NoiseScheduler(**SCHEDULE)
    if "max_blur_sigma" in s:  # Lesson 8: blur, then static, in colour
        sched = cu.BlurToStatic(sched, max_blur_sigma=s.pop("max_blur_sigma"), d_min=s.pop("d_min"))
    ema, hist = cu.train(model, data.images, sched, progress=True, labels=data.tokens, **s)
    seen = cu.make_drawings(1000, size, seed=TEST_SEED, exclude=HELD_OUT)
    unseen = cu.make_drawings(500, size, seed=TEST_SEED, pairs=HELD_OUT)
    meta = {"settings": settings, "held_out_pairs": [list(p) for p in HELD_OUT],
            "train_seconds": round(hist.seconds, 1),
            "heldout_loss": cu.evaluate_loss(ema, seen.images, sched, labels=seen.tokens),
            "heldout_loss_unseen_pairs": cu.evaluate_loss(ema, unseen.images, sched, labels=unseen.tokens),
            "heldout_loss_null": cu.evaluate_loss(ema, seen.images, sched), "torch": torch.__version__}
    cu.save_checkpoint(ema, out, metadata=meta)
    print(f"{out.stem}: {hist.seconds:.0f} s, held-out loss {meta['heldout_loss']:.4f} with prompts (unseen pairs "
          f"{meta['heldout_loss_unseen_pairs']:.4f}), {meta['heldout_loss_null']:.4f} with the null prompt -> {out} "
          f"({out.stat().st_size / 1e6:.2f} MB)")


def train_points(out: Path, settings: dict) -> None:
    s = dict(settings)
    torch.manual_seed(s["seed"])
    model = cu.PointDenoiser()
    data, test = cu.load_points(2000, seed=0), cu.load_points(500, seed=1)
    sched = cu.NoiseScheduler(**SCHEDULE)
    ema, hist = cu.train(model, data, sched, progress=True, **s)
    meta = {"settings": settings, "train_seconds": round(hist.seconds, 1),
            "heldout_loss": cu.evaluate_loss(ema, test, sched), "torch": torch.__version__}
    cu.save_checkpoint(ema, out, metadata=meta)
    print(f"points: {hist.seconds:.0f} s, held-out loss {meta['heldout_loss']:.4f} -> {out}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["digits", "points", "digits_blur", "digits-blur", "digits_cond",
                                           "digits-cond", "digits_flow", "digits-flow", "crayons", "crayons_blur",
                                           "crayons-blur"])
    parser.add_argument("--out-dir", type=Path, default=None, help="write here instead of course_utils/weights")
    parser.add_argument("--steps", type=int, default=None, help="override the number of steps (experiments)")
    parser.add_argument("--max-blur-sigma", type=float, default=None, help="override digits_blur's (experiments)")
    parser.add_argument("--label-dropout", type=float, default=None, help="override digits_cond's (experiments)")
    parser.add_argument("--prediction-type", choices=["epsilon", "sample"], default=None,
                        help="override crayons_blur's (experiments: docs/models.md)")
    args = parser.parse_args()
    only = ALIASES.get(args.only, args.only)
    tic = time.perf_counter()
    for name, fn in (("points", train_points), ("digits", train_digits), ("digits_blur", train_digits),
                     ("digits_cond", train_digits_cond), ("digits_flow", train_digits), ("crayons", train_crayons),
                     ("crayons_blur", train_crayons)):
        if only and only != name:
            continue
        out = (args.out_dir / SHIPPED[name].name) if args.out_dir else SHIPPED[name]
        settings = dict(SETTINGS[name], **({"steps": args.steps} if args.steps else {}))
        if args.max_blur_sigma is not None and name in ("digits_blur", "crayons_blur"):
            settings["max_blur_sigma"] = args.max_blur_sigma
        if args.prediction_type is not None and name == "crayons_blur":
            settings["prediction_type"] = args.prediction_type
        if args.label_dropout is not None and name in ("digits_cond", "crayons", "crayons_blur"):
            settings["label_dropout"] = args.label_dropout
        fn(out, settings)
    print(f"total {time.perf_counter() - tic:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
