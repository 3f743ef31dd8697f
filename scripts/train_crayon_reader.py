"""Reproduce course_utils/weights/crayon_reader.safetensors, the object reader behind ``crayons.read_object``.

    OMP_NUM_THREADS=1 python scripts/train_crayon_reader.py            # writes the shipped file
    python scripts/train_crayon_reader.py --out /tmp/reader.safetensors --steps 500

Trains ``crayons.train_object_reader()`` (a small CNN, about 60 k weights) on fresh crayon drawings, then
prints its accuracy per object on drawings from another seed at 16, 24 and 32 pixels.
"""

from __future__ import annotations

import argparse
import time

import torch
from safetensors.torch import save_file

from course_utils import crayons


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(crayons.READER_FILE))
    ap.add_argument("--steps", type=int, default=2000)
    args = ap.parse_args()
    t = time.perf_counter()
    net = crayons.train_object_reader(steps=args.steps)
    print(f"trained in {time.perf_counter() - t:.0f} s ({torch.get_num_threads()} threads)")
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, args.out,
              metadata={"what": "crayons object reader", "steps": str(args.steps), "seed": str(crayons.READER_SEED)})
    for size in (16, 24, 32):
        d = crayons.make_drawings(4000, size, seed=99)
        with torch.no_grad():
            pred = net(crayons._reader_input(d.images)).argmax(1)
        acc = {o: round(float((pred[d.objects == k] == k).float().mean()), 4) for k, o in enumerate(crayons.OBJECTS)}
        print(size, acc)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
