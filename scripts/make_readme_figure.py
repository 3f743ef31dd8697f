"""Draw docs/blur_to_static.png, the strip at the top of the README (picture -> static, blur and noise together).

The blur widths are the lessons' own: 6 px for the drawing (Lesson 0), 8 px for the photo and 3 px for the
8x8 digits (the width Lesson 4 trains with, chosen by measurement; Lesson 1 shows 5 px).

    python scripts/make_readme_figure.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import course_utils as cu  # noqa: E402
from course_utils.plotting import show_image  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "blur_to_static.png"


def main() -> None:
    scheduler = cu.NoiseScheduler(1000, beta_schedule="cosine")
    ts = torch.tensor([0, 150, 300, 450, 600, 750, 999])
    rows = [("crayon drawing", cu.crayon_drawing(64), 6.0), ("photo", cu.load_photo(64), 8.0),
            ("digit", cu.load_digits()[:1], 3.0)]
    fig, axes = plt.subplots(len(rows), len(ts), figsize=(1.3 * len(ts), 1.35 * len(rows) + 0.4))
    for r, (_name, x0, max_blur) in enumerate(rows):
        process = cu.BlurToStatic(scheduler, max_blur_sigma=max_blur)
        eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(r)).expand(len(ts), -1, -1, -1)
        xt = process.add_noise(x0.expand(len(ts), -1, -1, -1), eps, ts)
        for c in range(len(ts)):
            show_image(axes[r, c], xt[c], f"t = {int(ts[c])}" if r == 0 else None)
    fig.suptitle("forward: blur and static together, until only static is left (code timesteps t)", fontsize=9)
    fig.tight_layout()
    OUT.parent.mkdir(exist_ok=True)
    fig.savefig(OUT, dpi=90)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
