"""Draw the README's two figures: docs/crayons_from_prompts.png (drawings the shipped ``crayons`` model made from
typed prompts, Lesson 7) and docs/blur_to_static.png (picture -> static, blur and noise together).

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
CRAYONS_OUT = OUT.parent / "crayons_from_prompts.png"
# One prompt per column; "a purple tree" and "a green sun" were never drawn for the model's training.
STRIP_PROMPTS = ("a red house", "a yellow sun", "a blue boat", "a purple tree", "an orange flower",
                 "a green sun", "a black house", "a brown boat")


def crayon_strip() -> None:
    """Three drawings for each of STRIP_PROMPTS from the shipped model (guidance 3, crayons_eval.SAMPLER and STEPS:
    deterministic DDIM, 20 steps; seed c for column c)."""
    from course_utils import crayons
    from course_utils.crayons_eval import HELD_OUT, SAMPLER, STEPS
    from course_utils.plotting import to_display
    from course_utils.sample import make_scheduler
    from course_utils.sampling import sample

    model = cu.load_checkpoint("crayons")
    sched = make_scheduler(model, SAMPLER, STEPS)
    rows = 3
    fig, axes = plt.subplots(rows, len(STRIP_PROMPTS), figsize=(1.15 * len(STRIP_PROMPTS), 1.12 * rows + 0.55))
    for c, prompt in enumerate(STRIP_PROMPTS):
        x = sample(model, sched, rows, labels=prompt, guidance=3.0, progress=False,
                   generator=torch.Generator().manual_seed(c)).clamp(-1, 1)
        words = crayons.detokenize(crayons.tokenize(prompt)).split()
        unseen = (words[-2], words[-1]) in HELD_OUT
        for r in range(rows):
            ax = axes[r, c]
            ax.imshow(to_display(x[r]), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, c].set_title(f'"{prompt}"' + ("\n(never seen)" if unseen else "\n"), fontsize=8)
    fig.suptitle("typed prompts, drawn by the course's 1.8 MB model on a CPU (16 x 16 pixels, enlarged)", fontsize=9)
    fig.tight_layout()
    fig.savefig(CRAYONS_OUT, dpi=90)
    print(f"wrote {CRAYONS_OUT}")


def main() -> None:
    crayon_strip()
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
