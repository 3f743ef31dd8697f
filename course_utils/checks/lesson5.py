"""Checks of Lesson 5 (notebooks/05_asking_for_a_picture.ipynb): one ``check_*`` function per exercise.

The references are the package's ``guidance.drop_labels``, ``guidance.guided_eps`` and ``sampling.sample`` with
``labels`` and ``guidance``; the named mistakes are the usual ones: the label dropped for the whole batch at
once, replaced by 0 (a real digit) instead of the null label, the share p kept instead of dropped; the scale on
the wrong term, w and 1 + w confused, guidance pointed toward the unconditional prediction; a loop that never
asks without the label, asks with label 0 as "no request", or never tells the model the label.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..guidance import drop_labels, guided_eps
from ..scheduler import NoiseScheduler
from .core import _call, _compare, _compare_steps, _fail, _passed, _same_twice, exercise

_NULL = 10  # the checks use 10 classes, as the lesson's digits


@exercise("Exercise 5.1 (drop_labels)")
def check_drop_labels(fn: Callable, ex: str) -> None:
    """Exercise 5.1: each label replaced by the null label with probability p, per example (Lesson 5, eq. 5.1)."""
    labels = torch.arange(10).repeat(100)  # (1000,) every digit, 100 times
    for p, seed in ((0.2, 51), (0.5, 52), (0.0, 53), (1.0, 54)):
        got = _call(ex, fn, labels.clone(), _NULL, p, torch.Generator().manual_seed(seed))
        again = _call(ex, fn, labels.clone(), _NULL, p, torch.Generator().manual_seed(seed))
        _same_twice(ex, got, again, "the generator")
        if got is None:
            _fail(ex, "your function returned None: replace the stub's None with your code (and keep the `return`).")
        if not isinstance(got, torch.Tensor):
            _fail(ex, f"expected a torch.Tensor of labels, got {type(got).__name__}.")
        if tuple(got.shape) != (1000,):
            _fail(ex, f"expected one label per example, shape (1000,), got {tuple(got.shape)}: drop each example's "
                      "label on its own, torch.rand(N, generator=generator) < p.")
        if torch.is_floating_point(got):
            _fail(ex, f"the labels came back as {got.dtype}: they index the label embedding, so they must stay "
                      "integers (torch.long). torch.where(drop, null_label, labels) keeps their dtype.")
        expected = drop_labels(labels, _NULL, p, torch.Generator().manual_seed(seed))
        if torch.equal(got.long(), expected):
            continue
        changed = got != labels
        share = float(changed.float().mean())
        to_null, to_zero = got[changed] == _NULL, got[changed] == 0
        if changed.any() and bool(to_zero.all()):
            _fail(ex, "you replaced the dropped labels by 0, but 0 is a real digit: the network then learns that "
                      "\"no request\" means \"draw a 0\". Use the null label (null_label, one more than the last "
                      "class), the extra row of the label embedding.")
        if changed.any() and not bool(to_null.all()):
            _fail(ex, f"the dropped labels became {sorted(set(got[changed].tolist()))[:3]}, not the null label "
                      f"({_NULL}): a dropped label must become null_label, the one that means \"no request\".")
        if 0 < p < 1 and share == 1.0:
            _fail(ex, "you dropped the labels of the whole batch at once (all or none): drop each example on its "
                      "own, drop = torch.rand(N, generator=generator) < p, so every batch mixes both jobs.")
        if 0 < p < 1 and share == 0.0:
            _fail(ex, f"not one of 1,000 labels was dropped with p = {p}: drop each example on its own, drop = "
                      "torch.rand(N, generator=generator) < p (one number for the whole batch, all or none, is "
                      "the usual slip).")
        if 0 < p < 1 and abs(share - (1 - p)) < 0.06 and abs(p - 0.5) > 0.1:
            _fail(ex, f"you dropped about {share:.0%} of the labels with p = {p}: that is the share you should KEEP. "
                      "Drop where torch.rand(N, generator=generator) < p.")
        if p == 0 and changed.any():
            _fail(ex, "with p = 0 no label may be dropped: drop where torch.rand(N) < p (strictly less).")
        if p == 1 and not changed.all():
            _fail(ex, "with p = 1 every label must become the null label: drop where torch.rand(N) < p.")
        if 0 < p < 1 and abs(share - p) < 0.06:
            _fail(ex, "the share dropped is right, but not which examples: draw once, torch.rand(N, "
                      "generator=generator) < p, in that order, so that training is repeatable (the course's "
                      "training loop makes the same draw).")
        _fail(ex, f"you dropped {share:.0%} of the labels with p = {p}: drop each one with probability p, "
                  "drop = torch.rand(N, generator=generator) < p, then torch.where(drop, null_label, labels).")
    _passed(ex, "drops each label to the null label with probability p, as course_utils.guidance.drop_labels.")


@exercise("Exercise 5.2 (guided_eps)")
def check_guided_eps(fn: Callable, ex: str) -> None:
    """Exercise 5.2: eps_null + w (eps_y - eps_null) (Lesson 5, eq. 5.2; Ho & Salimans 2022)."""
    g = torch.Generator().manual_seed(55)
    e_u, e_c = torch.randn(4, 1, 8, 8, generator=g), torch.randn(4, 1, 8, 8, generator=g)
    cases = []
    for w in (3.0, 0.0, 1.0, 7.5):
        got = _call(ex, fn, e_u.clone(), e_c.clone(), w)
        d = e_c - e_u
        mistakes = {
            "you wrote Ho & Salimans' form (1 + w) eps_y - w eps_null with the course's w: the course's w is "
            "diffusers' guidance_scale, eps_null + w (eps_y - eps_null); theirs is w - 1. At w = 1 you must get "
            "eps_y itself.": e_u + (1 + w) * d,
            "this guides toward the unconditional prediction (the difference eps_null - eps_y): guidance pushes "
            "along eps_y - eps_null, away from \"no request\".": e_c + w * (e_u - e_c),
            "the scale sits on the wrong term: you scaled eps_null; it is eps_null + w (eps_y - eps_null), the "
            "scale on the difference.": w * e_u + d,
            "the scale sits on the wrong term: you scaled eps_y alone; it is eps_null + w (eps_y - eps_null), the "
            "scale on the difference.": w * e_c,
            "you left out the difference: eps_null + w (eps_y - eps_null), not eps_null + w eps_y.": e_u + w * e_c,
            "you averaged the two predictions: eps_null + w (eps_y - eps_null) extrapolates past eps_y for w > 1.":
            (e_u + e_c) / 2,
        }
        cases.append((got, guided_eps(e_u, e_c, w), {k: v for k, v in mistakes.items() if not torch.allclose(
            v, guided_eps(e_u, e_c, w))}))
    _compare_steps(ex, cases, "eps_guided = eps_uncond + w * (eps_cond - eps_uncond) (eq. 5.2).")
    _passed(ex, "eps_null + w (eps_y - eps_null): w = 0 the unconditional, w = 1 the conditional prediction.")


class _CondRecorder(torch.nn.Module):
    """A stand-in class-conditional denoiser: remembers the labels it is asked with; its output depends on them."""

    num_classes = _NULL

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(0.3))
        self.asked: list = []

    def forward(self, x, t, y=None):
        n = x.shape[0]
        if y is None:
            y = torch.full((n,), _NULL, dtype=torch.long)
        self.asked.append(y.detach().clone() if isinstance(y, torch.Tensor) else y)
        y_ = torch.as_tensor(y).reshape(-1, *([1] * (x.ndim - 1))).float()
        t_ = torch.as_tensor(t, dtype=torch.float32).reshape(-1, *([1] * (x.ndim - 1)))
        return self.w * x + 1e-3 * t_ + 0.05 * (y_ - 4.5) * torch.cos(x)


@exercise("Exercise 5.3 (guided_sample_loop)")
def check_guided_sample_loop(fn: Callable, ex: str) -> None:
    """Exercise 5.3: Lesson 3's sampling loop with the guided prediction of eq. 5.2."""
    from ..sampling import sample

    sched = NoiseScheduler(1000, beta_schedule="cosine")
    sched.set_timesteps(8)
    want = sched.timesteps.tolist()
    labels = torch.tensor([3, 1, 4, 1, 5])
    for w, shape in ((3.0, (1, 8, 8)), (0.5, (2,))):
        model = _CondRecorder()
        got = _call(ex, fn, model, sched, labels.clone(), w, shape, torch.Generator().manual_seed(56))
        if sched.timesteps.tolist() != want:
            _fail(ex, "your loop called scheduler.set_timesteps(...) itself: loop over scheduler.timesteps as given.")
        if got is None:
            _fail(ex, "your function returned None: replace the stub's None with your code (and keep the `return`).")
        asked = [a for a in model.asked if isinstance(a, torch.Tensor)]
        flat = torch.cat([a.reshape(-1) for a in asked]) if asked else torch.zeros(0, dtype=torch.long)
        if not asked:
            _fail(ex, "the model was never called: ask it for the noise at every timestep, with and without the label.")
        if not (flat == _NULL).any() and (flat == 0).any():
            _fail(ex, "you asked \"without a request\" with label 0, a real digit: the null label is "
                      "model.num_classes (10), or call model(x, t) without y.")
        if not (flat == _NULL).any():
            _fail(ex, "the model was never asked without the label (the null label, model.num_classes): guidance "
                      "needs both eps(x_t, y) and eps(x_t, null) at every step.")
        if not any(torch.equal(a.reshape(-1)[:5], labels) or torch.equal(a.reshape(-1), labels) for a in asked):
            _fail(ex, "the model was never told the labels asked for: call model(x, t_batch, labels).")
        again = _call(ex, fn, _CondRecorder(), sched, labels.clone(), w, shape, torch.Generator().manual_seed(56))
        _same_twice(ex, got, again, "the generator (for the start and for scheduler.step)")
        ref = _CondRecorder()
        expected = sample(ref, sched, 5, labels=labels, guidance=w, shape=shape, progress=False,
                          generator=torch.Generator().manual_seed(56))
        mistakes = {
            "you wrote Ho & Salimans' form (1 + w) eps_y - w eps_null with the course's w: use your guided_eps, "
            "eps_null + w (eps_y - eps_null).":
            sample(ref, sched, 5, labels=labels, guidance=1 + w, shape=shape, progress=False,
                   generator=torch.Generator().manual_seed(56)),
            "your samples are the conditional model's alone (w = 1): combine the two predictions with guided_eps "
            "and the scale w.": sample(ref, sched, 5, labels=labels, guidance=1.0, shape=shape, progress=False,
                                       generator=torch.Generator().manual_seed(56)),
            "your samples ignore the labels (the unconditional model, w = 0): the asked prediction needs the labels.":
            sample(ref, sched, 5, labels=labels, guidance=0.0, shape=shape, progress=False,
                   generator=torch.Generator().manual_seed(56)),
        }
        _compare(ex, got, expected, mistakes, "Start from torch.randn((n, *shape), generator=generator); for each t "
                 "in scheduler.timesteps: tt = torch.full((n,), t); eps = guided_eps(model(x, tt, null), "
                 "model(x, tt, labels), w); x = scheduler.step(eps, t, x, generator=generator).prev_sample.")
    _passed(ex, "matches course_utils.sampling.sample(model, scheduler, n, labels=..., guidance=w).")
