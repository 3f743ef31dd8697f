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
from .core import (
    _call,
    _compare,
    _compare_steps,
    _fail,
    _passed,
    _plain,
    _same_twice,
    _want_dtype,
    _want_tensor,
    exercise,
)

_NULL = 10  # the checks use 10 classes, as the lesson's digits


@exercise("Exercise 5.1 (drop_labels)")
def check_drop_labels(fn: Callable, ex: str) -> None:
    """Exercise 5.1: each label replaced by the null label with probability p, per example (Lesson 5, eq. 5.1)."""
    labels = torch.arange(10).repeat(100)  # (1000,) every digit, 100 times
    for p, seed in ((0.2, 51), (0.5, 52), (0.0, 53), (1.0, 54)):
        got = _call(ex, fn, labels.clone(), _NULL, p, torch.Generator().manual_seed(seed))
        again = _call(ex, fn, labels.clone(), _NULL, p, torch.Generator().manual_seed(seed))
        _same_twice(ex, got, again, "the generator")
        got = _want_tensor(ex, got)
        if tuple(got.shape) != (1000,):
            _fail(ex, f"expected one label per example, shape (1000,), got {tuple(got.shape)}: drop each example's "
                      "label on its own, with one uniform number per example.")
        if torch.is_floating_point(got):
            _fail(ex, f"the labels came back as {got.dtype}: they index the label embedding, so they must stay "
                      "integers (torch.long). torch.where(drop, null_label, labels) keeps their dtype.")
        _want_dtype(ex, got, torch.long, "labels index the label embedding (nn.Embedding takes torch.long), so "
                                         "keep the dtype of the labels given (no .int(), no int32 tensors).")
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
                      "own, with one uniform number per example, so every batch mixes both jobs.")
        if 0 < p < 1 and share == 0.0:
            _fail(ex, f"not one of 1,000 labels was dropped with p = {p}: drop each example on its own, where its "
                      "uniform number is below p (one number for the whole batch, all or none, is the usual slip).")
        if 0 < p < 1 and abs(share - (1 - p)) < 0.06 and abs(p - 0.5) > 0.1:
            _fail(ex, f"you dropped about {share:.0%} of the labels with p = {p}: that is the share you should KEEP. "
                      "Drop where the uniform number is below p.")
        if p == 0 and changed.any():
            _fail(ex, "with p = 0 no label may be dropped: drop where torch.rand(N) < p (strictly less).")
        if p == 1 and not changed.all():
            _fail(ex, "with p = 1 every label must become the null label: drop where torch.rand(N) < p.")
        if 0 < p < 1 and abs(share - p) < 0.06:
            _fail(ex, "the share dropped is right, but not which examples: draw N uniform numbers in one call, "
                      "torch.rand(N, generator=generator), and drop where they are below p, so that training is "
                      "repeatable (the course's training loop makes the same draw).")
        _fail(ex, f"you dropped {share:.0%} of the labels with p = {p}: drop each one with probability p (one "
                  "uniform number per example, below p), and put the null label where it is dropped.")
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
    _compare_steps(ex, cases, "eps_guided = eps_uncond + w * (eps_cond - eps_uncond) (eq. 5.2).", dtype=torch.float32)
    _passed(ex, "eps_null + w (eps_y - eps_null): w = 0 the unconditional, w = 1 the conditional prediction.")


class _CondRecorder(torch.nn.Module):
    """A stand-in class-conditional denoiser: remembers the labels it is asked with; its output depends on them."""

    num_classes = _NULL

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(0.3))
        self.asked: list = []
        self.times: list[int] = []  # the timestep of each call, in order
        self.rows: list[int] = []  # the number of examples of each call, in order

    def forward(self, x, t, y=None):
        x, t, y = _plain(x), _plain(t), _plain(y)
        n = x.shape[0]
        if not isinstance(t, torch.Tensor) or t.shape != (n,):  # as the course's models refuse it
            shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"t must hold one timestep per example, shape ({n},), got {shape}: the lesson's models "
                             "refuse one number for the batch, so pass torch.full((n,), t).")
        self.times.append(int(torch.as_tensor(t).reshape(-1)[0]))
        self.rows.append(n)
        if y is None:
            y = torch.full((n,), _NULL, dtype=torch.long)
        self.asked.append(y.detach().clone() if isinstance(y, torch.Tensor) else y)
        y_ = torch.as_tensor(y).reshape(-1, *([1] * (x.ndim - 1))).float()
        t_ = torch.as_tensor(t, dtype=torch.float32).reshape(-1, *([1] * (x.ndim - 1)))
        return self.w * x + 1e-3 * t_ + 0.05 * (y_ - 4.5) * torch.cos(x)


def _loop(model, sched, labels, w, shape, seed, *, combine=guided_eps, start=torch.randn, x0_path=False):
    """The guided loop with one switch per common mistake (the right loop with the defaults)."""
    g = torch.Generator().manual_seed(seed)
    n = labels.shape[0]
    x = start((n, *shape), generator=g)
    null = torch.full_like(labels, _NULL)
    for t in sched.timesteps.tolist():
        tt = torch.full((n,), t)
        out = sched.step(combine(model(x, tt, null), model(x, tt, labels), w), t, x, generator=g)
        x = out.pred_original_sample if x0_path else out.prev_sample
    return x


@exercise("Exercise 5.3 (guided_sample_loop)")
def check_guided_sample_loop(fn: Callable, ex: str) -> None:
    """Exercise 5.3: Lesson 3's sampling loop with the guided prediction of eq. 5.2."""
    from ..ddim import DDIMScheduler
    from ..sampling import sample

    ddpm = NoiseScheduler(1000, beta_schedule="cosine")
    ddpm.set_timesteps(8)
    ddim = DDIMScheduler(1000, beta_schedule="cosine", clip_sample=False)  # the lesson's points use DDIM
    ddim.set_timesteps(8)
    labels = torch.tensor([3, 1, 4, 1, 5])
    for w, shape, sched in ((3.0, (1, 8, 8), ddpm), (0.5, (2,), ddpm), (3.0, (2,), ddim)):
        want = sched.timesteps.tolist()
        model = _CondRecorder()
        got = _call(ex, fn, model, sched, labels.clone(), w, shape, torch.Generator().manual_seed(56))
        if sched.timesteps.tolist() != want:
            _fail(ex, "your loop called scheduler.set_timesteps(...) itself: loop over scheduler.timesteps as given.")
        got = _want_tensor(ex, got)
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
        n = labels.shape[0]  # the labels may sit anywhere in a batch of both questions, torch.cat([null, labels])
        if not any(torch.equal(a.reshape(-1)[k:k + n], labels) for a in asked for k in range(0, a.numel(), n)):
            _fail(ex, "the model was never told the labels asked for: call model(x, t_batch, labels).")
        seen = list(dict.fromkeys(model.times))  # the timesteps asked about, in order
        if seen == want[::-1]:
            _fail(ex, f"your loop went through the timesteps backwards ({seen[0]} first): sampling starts from "
                      f"static, the largest timestep, so go through scheduler.timesteps in its order ({want[0]} "
                      "first).")
        if seen != want:
            _fail(ex, f"the model was asked at the timesteps {seen}, expected scheduler.timesteps, {want}: one step "
                      "per entry, in order.")
        per_step = {t: sum(r for r, s in zip(model.rows, model.times, strict=True) if s == t) for t in seen}
        odd = next(((t, k) for t, k in per_step.items() if k != 2 * n), None)
        if odd is not None:
            _fail(ex, f"at timestep {odd[0]} the model was asked about {odd[1]} examples for {n} samples: guidance "
                      f"asks it twice per example and step (with the label and with the null label), {2 * n} in all, "
                      "in two calls or one batched call; no more.")
        if tuple(got.shape) == (5, *shape) and got.dtype == torch.float64:
            _fail(ex, "your samples are float64, expected float32 like the static they start from: a float64 eps "
                      "(from your guided_eps? then Exercise 5.2 fails too) makes the scheduler draw its noise in "
                      "float64, other random numbers; keep everything float32.")
        again = _call(ex, fn, _CondRecorder(), sched, labels.clone(), w, shape, torch.Generator().manual_seed(56))
        _same_twice(ex, got, again, "the generator (for the start and for scheduler.step)")
        ref = _CondRecorder()

        def ref_sample(guidance: float, ref=ref, sched=sched, shape=shape) -> torch.Tensor:
            return sample(ref, sched, 5, labels=labels, guidance=guidance, shape=shape, progress=False,
                          generator=torch.Generator().manual_seed(56))

        expected = ref_sample(w)
        assert torch.allclose(expected, _loop(ref, sched, labels, w, shape, 56), atol=1e-5)  # the same loop
        mistakes = {
            "you wrote Ho & Salimans' form (1 + w) eps_y - w eps_null with the course's w: use your guided_eps, "
            "eps_null + w (eps_y - eps_null).": ref_sample(1 + w),
            "your samples are the conditional model's alone (w = 1): combine the two predictions with guided_eps "
            "and the scale w.": ref_sample(1.0),
            "your samples ignore the labels (the unconditional model, w = 0): the asked prediction needs the labels.":
            ref_sample(0.0),
            "the two predictions are swapped: guided_eps(eps_uncond, eps_cond, w) takes the null label's "
            "prediction first, the labels' second.":
            _loop(ref, sched, labels, w, shape, 56, combine=lambda u, c, w_: guided_eps(c, u, w_)),
            "the guided prediction leaves out the difference: combine the two predictions with your guided_eps, "
            "eps_null + w (eps_y - eps_null) (eq. 5.2).":
            _loop(ref, sched, labels, w, shape, 56, combine=lambda u, c, w_: u + w_ * c),
            "each step went on from the step's clean guess (pred_original_sample): go on from the sample it lands "
            "on, scheduler.step(...).prev_sample.": _loop(ref, sched, labels, w, shape, 56, x0_path=True),
            "the loop starts from uniform noise (torch.rand): static is Gaussian, torch.randn((n, *shape), "
            "generator=generator).": _loop(ref, sched, labels, w, shape, 56, start=torch.rand),
        }
        _compare(ex, got, expected, {k: v for k, v in mistakes.items() if not torch.allclose(v, expected)},
                 "Lesson 3's loop (Exercise 3.2) with your guided_eps of the two predictions (eq. 5.2) as the noise "
                 "guess: static from the generator, one scheduler step per timestep, the generator passed on.",
                 dtype=torch.float32)
    _passed(ex, "matches course_utils.sampling.sample(model, scheduler, n, labels=..., guidance=w), with DDPM and "
                "DDIM, on pictures and on points.")
