"""Asking for a picture (Lesson 5): class labels, the null label, and classifier-free guidance.

A class-conditional denoiser eps_theta(x_t, t, y) is the Lesson 2 network with one more input, a label y in
0..K-1, whose learned embedding is added to the time embedding (``models.UNet(num_classes=K)``). One more
row of that embedding, y = K, is the null label ("no request"). Trained with the label replaced by the null
label for a share p of the examples (``drop_labels``), the same network learns both eps(x_t, t, y) and the
unconditional eps(x_t, t, null) (Ho & Salimans 2022, "Classifier-Free Diffusion Guidance", Algorithm 1).

Classifier-free guidance (Lesson 5, eq. 5.2; Ho & Salimans 2022, eq. 6 rewritten):

    eps_guided = eps(x_t, t, null) + w * (eps(x_t, t, y) - eps(x_t, t, null))

The course's scale w is diffusers' ``guidance_scale``: w = 0 is the unconditional model, w = 1 the
conditional model alone (no guidance), w > 1 pushes further along the direction "y minus no request". Ho &
Salimans write eps = (1 + w') eps(x, y) - w' eps(x, null), so their w' is the course's w - 1 (their w' = 0 is
our w = 1).

What it samples. Since eps(x_t) = -sqrt(1 - abar_t) grad log p(x_t), eq. 5.2 is, at each t, the score of
p(x_t) p(y | x_t)^w: the request sharpened (Ho & Salimans 2022, sec. 3). That does NOT make the guided sampler draw
from p(x_0) p(y | x_0)^w: the tilted densities of the different t are not the marginals of one diffusion (noising
the tilted target does not give them), so following their scores lands elsewhere, and DDPM and DDIM land on
different places (Chidambaram et al. 2024, "What does guidance do?"; Bradley & Nakkiran 2024, "Classifier-free
guidance is a predictor-corrector"). Measured with exact scores in 1-D (``guidance_1d``; tests/
test_guidance_target.py): target mean 1.05, guided DDPM 1.24, guided DDIM 1.52 (3 seeds). Guidance is a useful heuristic
that trades variety for the request, not a sampler of the tilted distribution.

Essential: ``drop_labels`` and ``guided_eps``. The measuring helpers (``guidance_table``) are not
essential on first read.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

# The command line's upper bound on w (``check_guidance(..., maximum=MAX_GUIDANCE)``). Measured on the shipped
# checkpoints with the command line's sampler (DDIM, eta 0, 50 steps, below_top, x0_hat clipped), the share the
# course's readers read as the request:
#   digits_cond, 10 labels x 20 drawings, seeds 0 / 1: w = 1: 98.5 / 93.5 %; 3 to 20: 99.0 to 100 %; 30: 98.0 / 98.0;
#       50: 96.5 / 96.5; 100: 91.5 / 93.0; 1000: 78.5 / 74.0; 1e6: 30.0 / 36.5 % (99.8 % of the pixels at +-1).
#   crayons, 20 prompts (red, yellow, green, blue on every object) x 4 drawings, seed 0, right colour / object:
#       w = 1: 100 / 97.5 %; 3 to 12: 100 / 100; 16 and 20: 100 / 97.5; 30: 100 / 90.0; 50: 100 / 83.8 %.
# 20 is the largest w measured at which both models read the request at least as often as w = 1 (no guidance)
# does; past it crayons loses the object (90 % at 30), and a huge w saturates the picture (1e6: 99.8 % of pixels).
MAX_GUIDANCE = 20.0


def check_guidance(guidance, name: str = "guidance", maximum: float | None = None) -> float:
    """The guidance scale w as a float: a finite real number >= 0 (0: no request, 1: the request alone).

    ``maximum``: refuse a w above it too (the command line passes ``MAX_GUIDANCE``; the library itself takes any
    finite w, so that a lesson can show what a huge w does; MAX_GUIDANCE gives the measurement).
    """
    if isinstance(guidance, torch.Tensor) and guidance.numel() == 1 and torch.is_floating_point(guidance):
        guidance = float(guidance)
    real = isinstance(guidance, numbers.Real) and not isinstance(guidance, (bool, np.bool_))
    if maximum is not None and real and not 0 <= guidance <= maximum:  # NaN and inf too
        raise ValueError(f"{name} must be a number >= 0 and at most {maximum:g} (0 draws without the request, 1 with "
                         f"the request alone, 3 to 5 more clearly; past {maximum:g} the shipped checkpoints lose the "
                         f"request), got {float(guidance):g}.")
    if not real or not math.isfinite(guidance) or guidance < 0:
        raise ValueError(f"{name} must be a finite number >= 0 (the course's w, diffusers' guidance_scale: 0 draws "
                         f"without the request, 1 with the request alone, 3 to 5 more clearly), got {guidance!r}.")
    return float(guidance)


def drop_labels(labels: torch.Tensor, null_label: int, p: float,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Replace each label by ``null_label`` with probability ``p``, independently per example (Lesson 5, eq. 5.1).

    Draws ``torch.rand(N, generator=generator)`` once (on the CPU) and drops where it is below p. Returns a new
    (N,) long tensor on ``labels``' device; ``labels`` itself is left alone. p = 0 returns a copy without drawing.
    """
    from .models import check_labels

    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0 <= p <= 1:
        raise ValueError(f"p (the share of examples given the null label) must be from 0 to 1, got {p!r}.")
    n = labels.shape[0] if isinstance(labels, torch.Tensor) and labels.ndim >= 1 else 0
    check_labels(labels, n, int(null_label), "labels")
    if p == 0:
        return labels.clone()
    drop = torch.rand(labels.shape[0], generator=generator) < p  # (N,) True: this example gets no request
    return torch.where(drop.to(labels.device), torch.full_like(labels, int(null_label)), labels)


def guided_eps(eps_uncond: torch.Tensor, eps_cond: torch.Tensor, guidance: float) -> torch.Tensor:
    """Classifier-free guidance (eq. 5.2): eps_uncond + w (eps_cond - eps_uncond), w = ``guidance`` >= 0."""
    w = check_guidance(guidance)
    if not isinstance(eps_uncond, torch.Tensor) or not isinstance(eps_cond, torch.Tensor) \
            or eps_uncond.shape != eps_cond.shape:
        got = [tuple(e.shape) if isinstance(e, torch.Tensor) else type(e).__name__ for e in (eps_uncond, eps_cond)]
        raise ValueError(f"eps_uncond and eps_cond must be tensors of the same shape, got {got[0]} and {got[1]}.")
    return eps_uncond + w * (eps_cond - eps_uncond)


def load_labelled_points(n: int = 2000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The two moons of ``data.load_points`` with their labels: points (n, 2) float32 and labels (n,) long (0 or 1).

    The same points as ``load_points(n, seed)`` (scikit-learn's ``make_moons``, centred and scaled to standard
    deviation 1); label 0 is the upper moon, 1 the lower one.
    """
    from sklearn.datasets import make_moons

    from .data import load_points

    x = load_points(n, seed)  # checks n
    _, y = make_moons(n_samples=int(n), noise=0.06, random_state=seed)
    return x, torch.as_tensor(y, dtype=torch.long)


def within_label_spread(samples: torch.Tensor) -> float:
    """How different samples of one request are from each other: the mean pixel std across them, clipped to [-1, 1]
    (as ``sampling.spread_between_runs`` measures; real digits of one class: about 0.4)."""
    x = samples.detach().cpu().clamp(-1, 1)
    return float(x.std(dim=0).mean())


@torch.no_grad()
def guidance_table(model, scheduler=None, scales=(0, 1, 2, 3, 5, 8), labels=range(10), n: int = 100, seed: int = 0,
                   progress: bool = False) -> list[dict]:
    """Measure what guidance buys and costs on a conditional digit model (Lesson 5, section 5).

    ``scheduler`` None: the command line's, ``sample.make_scheduler(model, "ddim", 50)`` (deterministic DDIM,
    x0_hat clipped and eps re-derived from it, the grid one stride below T-1). For every label and scale w: ``n``
    samples from the same static (seed), the share the Lesson 3 classifier reads as the label ("accuracy"), their
    spread (``within_label_spread``), and the Frechet distance and recall
    (classifier features, ``metrics``) against that digit's real examples (all 1,797 digits of the class, about
    180). Returns one dict per (label, w). Frechet distances from about 100 samples are biased upward: compare
    them with each other and with the real-against-real reference, not with Lesson 3's numbers.
    """
    from .data import load_digits
    from .metrics import digit_classifier, frechet_distance, precision_recall
    from .sample import make_scheduler
    from .sampling import sample

    if scheduler is None:
        scheduler = make_scheduler(model, "ddim", 50)
    clf = digit_classifier()
    real, real_y = load_digits(return_labels=True)
    rows = []
    for label in labels:
        ref = real[real_y == int(label)]
        f_ref = clf.features(ref)
        for w in scales:
            x = sample(model, scheduler, n, labels=int(label), guidance=float(w), progress=progress,
                       generator=torch.Generator().manual_seed(seed)).clamp(-1, 1).cpu()
            f = clf.features(x)
            _, recall = precision_recall(f_ref, f)
            rows.append({"label": int(label), "w": float(w), "accuracy": float((clf.predict(x) == int(label)).mean()),
                         "spread": within_label_spread(x), "frechet": frechet_distance(f_ref, f), "recall": recall})
    return rows
