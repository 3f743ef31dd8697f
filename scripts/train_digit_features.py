"""Reproduce course_utils/weights/digit_features.safetensors, the feature network of ``digit_quality``.

    OMP_NUM_THREADS=1 python scripts/train_digit_features.py            # writes the shipped file (about 70 s)
    python scripts/train_digit_features.py --out /tmp/features.safetensors

Trains ``digit_quality.train_features()`` (a small CNN, about 150 k weights) on all 1,797 digits, shifted by up
to a pixel and lightly noised, then prints its accuracy on the digits and on shifted copies, and the floor and
ceiling of the measure: real digits against the references, the mean digit, pure static.
With one thread the file is the same bit for bit on every run (the test checks its golden values).
"""

from __future__ import annotations

import argparse
import time

import torch
from safetensors.torch import save_file

from course_utils import digit_quality as dq
from course_utils.data import load_digits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(dq.FEATURES_FILE))
    ap.add_argument("--steps", type=int, default=3000)
    args = ap.parse_args()
    t = time.perf_counter()
    net = dq.train_features(steps=args.steps)
    print(f"trained in {time.perf_counter() - t:.0f} s ({torch.get_num_threads()} threads)")
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, args.out,
              metadata={"what": "digit feature network (digit_quality)", "steps": str(args.steps),
                        "seed": str(dq.FEATURES_SEED)})
    x, y = load_digits(return_labels=True)
    with torch.no_grad():
        print("accuracy on the digits:", float((net(x).argmax(1) == y).float().mean()),
              "shifted:", float((net(dq._shift(x, torch.Generator().manual_seed(1))).argmax(1) == y).float().mean()))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
