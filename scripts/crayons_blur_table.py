"""Lesson 8's measurements of the shipped ``crayons_blur`` through the command line (docs/measurements.md, Lesson 8).

    python scripts/crayons_blur_table.py                 # about 5 minutes on a 2-core CPU
    python scripts/crayons_blur_table.py --n 8 --pairs 5 # a quick look

1. Prompts: for every colour-object pair (40; the 5 in ``crayons_eval.HELD_OUT`` never drawn for training),
   ``python -m course_utils.sample --checkpoint crayons-blur --prompt P --guidance 3 --steps 50 --n 32`` with
   ``--sampler ddpm`` and with ``--sampler ddim --eta 0`` (deterministic), each drawing read back with the course's
   readers; the share read as the asked colour and object, per pair: the worst pair, seen and unseen.
2. Image to image: ``--init`` a red house drawing (``make_drawings``, saved as .npy and as an enlarged .png)
   ``--strength 0.2`` (the mean absolute difference to the drawing, values in [-1, 1]) and ``--strength 0.9
   --prompt "a blue boat"`` (the share of 32 read as a blue boat).
3. Draw, smudge and bring back: a drawing on the canvas (``canvas.CrayonCanvas``, no widget), smudged to the top of
   the grid and brought back in 20 steps (``img2img.image_to_image``, strength 1), timed (median of 5).
Every command runs in this process through ``course_utils.sample.main`` (the same code as the shell command).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import course_utils as cu  # noqa: E402
from course_utils import crayons  # noqa: E402
from course_utils.crayons_eval import HELD_OUT  # noqa: E402
from course_utils.sample import main as sample_main  # noqa: E402


def cli(args: list[str], out: Path) -> torch.Tensor:
    code = sample_main([*args, "--out", str(out)])
    if code != 0:
        raise SystemExit(f"the command failed ({code}): {' '.join(args)}")
    return torch.from_numpy(np.load(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="crayons-blur")
    parser.add_argument("--n", type=int, default=32, help="drawings per prompt")
    parser.add_argument("--pairs", type=int, default=40, help="the first K of the 40 pairs (a quick look)")
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="crayons_blur_table_"))
    pairs = [(c, o) for c in crayons.COLOURS for o in crayons.OBJECTS][: args.pairs]
    print(f"1. prompts: {args.checkpoint}, guidance 3, {args.steps} steps, {args.n} drawings per pair")
    for sampler in (["--sampler", "ddpm"], ["--sampler", "ddim", "--eta", "0"]):
        tic, rows = time.perf_counter(), []
        for colour, obj in pairs:
            x = cli(["--checkpoint", args.checkpoint, "--prompt", crayons.prompt_for(colour, obj), "--guidance", "3",
                     "--steps", str(args.steps), "--n", str(args.n), "--seed", "0", *sampler], tmp / "p.npy")
            ok = (crayons.read_colour(x) == crayons.COLOURS.index(colour)) & (
                crayons.read_object(x) == crayons.OBJECTS.index(obj))
            rows.append(((colour, obj), float(ok.float().mean())))
        seen = [v for p, v in rows if p not in HELD_OUT]
        unseen = [v for p, v in rows if p in HELD_OUT]
        worst = min(rows, key=lambda r: r[1])
        print(f"   {sampler[1]:5}: worst pair {' '.join(worst[0])} {worst[1]:.1%}; seen pairs {np.mean(seen):.1%} "
              f"(min {min(seen):.1%}); unseen {np.mean(unseen) if unseen else float('nan'):.1%} (min "
              f"{min(unseen) if unseen else float('nan'):.1%}); pairs under 95 %: "
              f"{[' '.join(p) for p, v in rows if v < 0.95]}; {time.perf_counter() - tic:.0f} s", flush=True)

    print("2. image to image from a red house (make_drawings seed 8), 32 draws each")
    house = crayons.make_drawings(1, 16, seed=8, pairs=[("red", "house")]).images
    np.save(tmp / "house.npy", house[0].numpy())
    from PIL import Image

    rgb = ((house[0].permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)
    Image.fromarray(rgb).resize((256, 256), Image.NEAREST).save(tmp / "house.png")
    for init in ("house.npy", "house.png"):
        x = cli(["--checkpoint", args.checkpoint, "--init", str(tmp / init), "--strength", "0.2", "--n", "32"],
                tmp / "i.npy")
        d = (x - house).abs().mean((1, 2, 3))
        print(f"   --init {init} --strength 0.2: mean |difference| {float(d.mean()):.4f} (max over draws "
              f"{float(d.max()):.4f})")
    for sampler in (["--sampler", "ddim"], ["--sampler", "ddpm"]):
        x = cli(["--checkpoint", args.checkpoint, "--init", str(tmp / "house.npy"), "--strength", "0.9", "--prompt",
                 "a blue boat", "--n", "32", *sampler], tmp / "b.npy")
        ok = (crayons.read_colour(x) == crayons.COLOURS.index("blue")) & (
            crayons.read_object(x) == crayons.OBJECTS.index("boat"))
        print(f"   --strength 0.9 --prompt 'a blue boat' ({sampler[1]}): {float(ok.float().mean()):.1%} read as a blue "
              "boat")

    print("3. draw, smudge and bring back (20 steps, one drawing)")
    from course_utils.canvas import CrayonCanvas
    from course_utils.img2img import image_to_image
    from course_utils.sample import make_scheduler

    model = cu.load_checkpoint(args.checkpoint.replace("-", "_"))
    times = []
    for k in range(6):
        tic = time.perf_counter()
        board = CrayonCanvas(widget=False)
        board.draw([(3, 10), (13, 10), (11, 13), (5, 13), (3, 10)], "blue")
        proc = make_scheduler(model, "ddim", 20)
        image_to_image(model, proc, board.picture(), 1.0, prompt="a blue boat")
        if k:  # the first run warms up
            times.append(time.perf_counter() - tic)
    print(f"   {statistics.median(times):.3f} s (median of {len(times)}; max {max(times):.3f} s), "
          f"torch threads {torch.get_num_threads()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
