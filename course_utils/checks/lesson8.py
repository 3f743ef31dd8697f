"""Checks of Lesson 8 (notebooks/08_your_drawing.ipynb): one ``check_*`` function per exercise.

Exercise 8.1 (blur, then static: eq. 1.9 by hand) is checked against ``BlurToStatic.add_noise``; the named mistakes:
static before the blur (the static blurred too), no blur, no static, alpha_bar without its square root, the
weights left out, the blur of another step.

The references are the package's own: ``img2img.strength_timesteps`` and ``img2img.smudge`` (where image to image
starts: the last int(n * strength) timesteps, and the picture smudged to the first of them, diffusers'
``get_timesteps``) and ``img2img.inpaint_merge`` (RePaint's merge after each step). Both are checked on a
blur-to-static process and on a DDIM scheduler. The named mistakes: the first k timesteps, k from 1 - strength,
round for int, no smudge, pure static, static without the blur, the wrong timestep to smudge to, no case for "no
step runs"; an inverted mask, the kept part not smudged, s = -1 (the clean picture) not kept as it is, a hard
choice where the mask is soft.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .. import img2img
from ..ddim import DDIMScheduler
from ..forward import BlurToStatic
from ..scheduler import NoiseScheduler
from .core import ExerciseFailed, _call, _compare_steps, _fail, _passed, _refuse_subclass, _same_twice, exercise

_N, _C, _H, _W = 3, 3, 16, 16  # the lesson's pictures: 16 x 16 crayon drawings in colour
_T = 1000

_STATIC_ONLY = ("the blur-to-static process also blurs: use process.add_noise(x0, noise, t), not "
                "process.scheduler.add_noise (or sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) noise), which adds the "
                "static without the blur, so the picture is not smudged the way the model's process smudges it.")
_NO_SCHEDULER = ("process.scheduler is the static part inside a BlurToStatic, and other processes (a DDIMScheduler "
                 "here) have none; the blur-to-static process also blurs: use process.add_noise, which every process "
                 "has.")


def _blur_process(n: int) -> BlurToStatic:
    proc = BlurToStatic(NoiseScheduler(_T, beta_schedule="cosine"), max_blur_sigma=4.0)
    proc.set_timesteps(n, "below_top")  # the command line's grid, as make_scheduler sets it
    return proc


def _ddim_process(n: int, spacing: str = "leading") -> DDIMScheduler:
    proc = DDIMScheduler(_T, beta_schedule="cosine")
    proc.set_timesteps(n, spacing)
    return proc


def _pictures(seed: int, n: int = _N) -> tuple[torch.Tensor, torch.Tensor]:
    """(x0 in [-1, 1], noise), both (n, 3, 16, 16) float32."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, _C, _H, _W, generator=g) * 2 - 1, torch.randn(n, _C, _H, _W, generator=g)


def _at(process, x0: torch.Tensor, noise: torch.Tensor, t: int) -> torch.Tensor:
    return process.add_noise(x0, noise, torch.full((x0.shape[0],), int(t), dtype=torch.long))


def _distinct(expected: torch.Tensor, mistakes: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The mistakes that give other numbers than the right answer on this input (the others cannot be named here)."""
    return {m: w for m, w in mistakes.items()
            if not torch.allclose(w.double(), expected.double(), atol=1e-5, rtol=1e-4)}


def _short(ts: list[int]) -> str:
    return str(ts) if len(ts) <= 8 else f"[{ts[0]}, {ts[1]}, {ts[2]}, ..., {ts[-2]}, {ts[-1]}] ({len(ts)} of them)"


# ---------------------------------------------------------------- Exercise 8.1


@exercise("Exercise 8.1 (blur_then_static)")
def check_blur_then_static(fn: Callable, ex: str) -> None:
    """Exercise 8.1: sqrt(abar_t) B_t(x0) + sqrt(1 - abar_t) noise, with B_t the blur of step t (eq. 1.9)."""
    proc = BlurToStatic(NoiseScheduler(_T, beta_schedule="cosine"), max_blur_sigma=4.0)
    static_first = ("you added the static first and then blurred: the blur then smooths the static too (blurred static "
                    "is no longer white noise, and at t = T-1 nothing like the pure static sampling starts from). Blur "
                    "the picture, scale it, then add the static: eq. 1.9.")
    named = {(ValueError, "must have values in [-1, 1]"): static_first}  # blur_only refuses a picture with static
    cases = []
    for seed, t in ((0, 400), (1, 150), (2, 800), (3, 0)):
        x0, noise = _pictures(seed)
        got = _call(ex, fn, proc, x0.clone(), t, noise.clone(), named=named)
        tt = torch.full((x0.shape[0],), t, dtype=torch.long)
        abar = proc.alphas_cumprod[t]
        blurred = proc.blur_only(x0, tt)
        expected = proc.add_noise(x0, noise, tt)
        c = float(noise.abs().max())  # the blur is linear: B(noise) = c B(noise / c), and noise / c is in range
        static_blurred = abar.sqrt() * blurred + (1 - abar).sqrt() * c * proc.blur_only(noise / c, tt)
        mistakes = {
            static_first: static_blurred,
            "there is no blur: you added static to the picture itself (that is Lesson 1's noise-only process). "
            "Blur it first with process.blur_only(x0, t).": proc.scheduler.add_noise(x0, noise, tt),
            "there is no static: you only blurred (and scaled) the picture. Add sqrt(1 - alpha_bar_t) * noise.":
                abar.sqrt() * blurred,
            "you blurred without scaling: eq. 1.9 multiplies the blurred picture by sqrt(alpha_bar_t) and the "
            "static by sqrt(1 - alpha_bar_t).": blurred + noise,
            "you used alpha_bar_t where eq. 1.9 has its square root (the weights are amplitudes; their squares add "
            "up to 1).": abar * blurred + (1 - abar) * noise,
            "you blurred the picture but added the static with weight 1: the static's weight is "
            "sqrt(1 - alpha_bar_t).": abar.sqrt() * blurred + noise,
        }
        alpha = proc.scheduler.alphas[t]
        mistakes["you used alpha_t, one step's share (process.scheduler.alphas[t]), where eq. 1.9 has alpha_bar_t, "
                 "the share left after all t steps: process.alphas_cumprod[t]."] = (
            alpha.sqrt() * blurred + (1 - alpha).sqrt() * noise)
        mistakes["the weights are swapped: the picture gets sqrt(alpha_bar_t) (most of it early on) and the static "
                 "sqrt(1 - alpha_bar_t)."] = (1 - abar).sqrt() * blurred + abar.sqrt() * noise
        if t > 0:
            prev = torch.full_like(tt, t - 1)
            mistakes["you used step t - 1's numbers (alpha_bar or blur of t - 1): the code's timesteps count from 0, "
                     "so step t's are alphas_cumprod[t] and blur_only(x0, t)."] = proc.add_noise(x0, noise, prev)
        cases.append((got, expected, _distinct(expected, mistakes)))
    _compare_steps(ex, cases, "x_t = sqrt(alpha_bar_t) * process.blur_only(x0, t) + sqrt(1 - alpha_bar_t) * noise, "
                   "with alpha_bar_t = process.alphas_cumprod[t].", atol=1e-5, dtype=torch.float32)
    _passed(ex, "the picture blurred by step t's blur, scaled by sqrt(alpha_bar_t), plus sqrt(1 - alpha_bar_t) static "
                "(eq. 1.9), at t = 0, 150, 400 and 800.")


# ---------------------------------------------------------------- Exercise 8.2

_IMG2IMG_CASES = (  # (process, n, strength): the notebook's 20-step blur-to-static grid first, then other grids
    ("blur", 20, 0.5), ("blur", 20, 0.38), ("blur", 20, 0.2), ("blur", 50, 0.5), ("blur", 7, 0.5),
    ("blur", 20, 1.0), ("blur", 20, 0.04), ("blur", 20, 0.0),
    ("ddim", 20, 0.5), ("ddim", 7, 0.38), ("ddim", 10, 1.0), ("ddim", 20, 0.0),
)

_FIRST_K = ("you took the first int(n * strength) timesteps: image to image runs the LAST ones, "
            "process.timesteps[n - k:], from t_start down to 0 (the first ones start at the top, from static, and "
            "stop half way, before the picture is clean).")
_ONE_MINUS = ("k, the number of steps that run, is int(n * strength), not int(n * (1 - strength)): strength 1 runs all "
              "n steps (a new drawing) and strength 0 none (your drawing back). Take process.timesteps[n - k:].")
_SKIP_K = ("process.timesteps[int(n * strength):] skips int(n * strength) steps and runs the rest, which is n * (1 - "
           "strength) of them: the k = int(n * strength) steps that run are the last ones, process.timesteps[n - k:].")
_ROUND = ("k = min(int(n * strength), n) truncates, as diffusers' get_timesteps does: with n = 20 and strength 0.38 "
          "that is int(7.6) = 7 steps, not round(7.6) = 8 (and strength 0.04 runs no step). Use int(), not round().")
_MINUS_K = ("with k = 0 steps to run, process.timesteps[-k:] is the whole grid (-0 is 0): slice from the front, "
            "process.timesteps[n - k:], which is empty for k = 0.")
_ORDER = ("keep the order of process.timesteps, from t_start down to 0: the reverse process runs from high t to low "
          "(process.timesteps[n - k:]).")
_ONE_MORE = ("one step too many: the k = min(int(n * strength), n) steps that run are exactly process.timesteps[n - "
             "k:] (process.timesteps[n - k - 1:] takes one more).")
_ONE_LESS = ("one step too few: the k = min(int(n * strength), n) steps that run are exactly process.timesteps[n - "
             "k:] (process.timesteps[n - k + 1:] leaves out t_start).")
_CEIL = ("k = min(int(n * strength), n) truncates, as diffusers' get_timesteps does: with n = 20 and strength 0.38 "
         "that is int(7.6) = 7 steps, not ceil(7.6) = 8 (and strength 0.04 runs no step). Use int(), not ceil().")
_TS_HINT = ("The timesteps that run are the last k = min(int(n * strength), n) entries of process.timesteps: "
            "process.timesteps[n - k:].")

_X0 = ("x_start is x0 unchanged, though steps run: smudge x0 to the first of them, process.add_noise(x0, noise, "
       "t_start) with t_start = timesteps[0], so that the first reverse step gets a picture at its smudge level.")
_NOISE = ("x_start is the noise alone: that ignores your picture (a plain sample from static). Smudge x0 itself: "
          "process.add_noise(x0, noise, t_start) with t_start = timesteps[0].")
_NOISE_NO_STEP = ("with a strength below 1 / n no step runs, so nothing would turn static back into a picture: "
                  "x_start is x0 unchanged (return x0, or x0.clone(), when k = 0).")
_SMUDGE_NO_STEP = ("with a strength below 1 / n no step runs (timesteps is empty): x_start is x0 unchanged, not "
                   "smudged (nothing would remove the static again).")
_STRENGTH_T = ("you smudged to t = int(strength * T): smudge to the first timestep that runs, t_start = "
               "timesteps[0] (a timestep of the sampler's grid, where the first reverse step starts).")
_LAST_T = ("you smudged to the last timestep that runs (timesteps[-1]): smudge to the first one, t_start = "
           "timesteps[0], where the reverse run starts.")
_TOP_T = ("you smudged to the top of the grid (process.timesteps[0]) but run only the last k steps: smudge to "
          "t_start = timesteps[0], the first of the steps you return.")
_X_HINT = ("x_start = process.add_noise(x0, noise, t_start) with t_start = timesteps[0] for every picture "
           "(torch.full((N,), t_start)); x0 unchanged when no step runs.")


def _ts_mistakes(grid: list[int], n: int, strength: float) -> dict[str, list[int]]:
    k = min(int(n * strength), n)
    out = {
        _FIRST_K: grid[:k],
        _ONE_MINUS: grid[n - min(int(n * (1 - strength)), n):],
        _SKIP_K: grid[int(n * strength):],
        _ROUND: grid[n - min(round(n * strength), n):],
        _CEIL: grid[n - min(math.ceil(n * strength), n):],
        _ORDER: grid[n - k:][::-1],
    }
    if k == 0:
        out[_MINUS_K] = grid
    out[_ONE_MORE] = grid[max(n - k - 1, 0):]
    out[_ONE_LESS] = grid[n - k + 1:]
    expected = grid[n - k:]
    return {m: w for m, w in out.items() if w != expected}


def _timesteps_list(ex: str, ts, where: str) -> list[int]:
    """The learner's timesteps as a list of ints, after checking that they are a 1-D integer torch.Tensor."""
    if isinstance(ts, list | tuple):
        _fail(ex, f"{where}: timesteps is a {type(ts).__name__}; return a torch.Tensor of integer timesteps, a slice "
                  "of process.timesteps (process.timesteps[n - k:]), as the sampler and the next cell take it.")
    if not isinstance(ts, torch.Tensor):
        _fail(ex, f"{where}: timesteps must be a torch.Tensor of integers (a slice of process.timesteps), got "
                  f"{type(ts).__name__}.")
    if ts.dtype == torch.bool or ts.is_floating_point() or ts.is_complex():
        if ts.numel() == 0:
            _fail(ex, f"{where}: no step runs, and you returned an empty {str(ts.dtype).replace('torch.', '')} tensor "
                      "(torch.tensor([]) is float32): timesteps are integers; process.timesteps[n:] is an empty "
                      "integer tensor (or torch.tensor([], dtype=torch.long)).")
        _fail(ex, f"{where}: timesteps are integers (they index the schedule), got dtype "
                  f"{str(ts.dtype).replace('torch.', '')}: return a slice of process.timesteps, which keeps its "
                  "integer dtype.")
    if ts.ndim != 1:
        _fail(ex, f"{where}: timesteps must be a 1-D tensor (k,), the steps that run, got shape {tuple(ts.shape)}: "
                  "slice process.timesteps (process.timesteps[n - k:]) rather than index one entry.")
    return [int(v) for v in ts.tolist()]


def _img2img_case(kind: str, n: int, strength: float, seed: int):
    proc = _blur_process(n) if kind == "blur" else _ddim_process(n, "trailing" if n == 7 else "leading")
    x0, noise = _pictures(seed)
    return proc, x0, noise


@exercise("Exercise 8.2 (img2img_start)")
def check_img2img_start(fn: Callable, ex: str) -> None:
    """Exercise 8.2: the last int(n * strength) timesteps, and x0 smudged to the first of them (SDEdit)."""
    done, crashes = [], []  # done: (where, got, process, x0, noise, n, strength); crashes: deferred failures
    for i, (kind, n, strength) in enumerate(_IMG2IMG_CASES):
        proc, x0, noise = _img2img_case(kind, n, strength, 80 + i)
        grid = proc.timesteps.clone()
        where = f"{'blur-to-static' if kind == 'blur' else 'DDIM'}, n = {n}, strength {strength}"
        k = min(int(n * strength), n)
        named = {(AttributeError, "scheduler"): _NO_SCHEDULER,
                 (ValueError, "must lie in 0.."): f"{where}: your function asked process.add_noise for a timestep "
                 "outside 0 .. T-1: smudge x0 to the first timestep that runs, t_start = timesteps[0], one of "
                 "process.timesteps (not strength * T)."}
        hints = {Exception: f"with {where}"}
        if k == 0:
            named[(IndexError, "")] = (f"{where}: int({n} * {strength}) = 0, so no step runs and timesteps is empty, "
                                       "and your function raised IndexError: there is no first timestep to smudge "
                                       "to. When no step runs, return the empty timesteps and x0 unchanged as x_start.")
            hints[Exception] = f"with {where} no step runs: return x0 unchanged as x_start"
        try:
            got = _call(ex, fn, proc, x0.clone(), strength, noise.clone(), named=named, hints=hints)
        except ExerciseFailed as err:  # told after the comparisons, which name most mistakes better
            crashes.append(err)
            continue
        if proc.timesteps.shape != grid.shape or not torch.equal(proc.timesteps, grid):
            _fail(ex, f"{where}: your function changed process.timesteps (process.set_timesteps inside it?): the "
                      "sampler's grid is given; return its last int(n * strength) entries and leave the process as "
                      "it is (the sampler runs that grid, and set_timesteps(k) would spread k steps from the top).")
        if got is None or isinstance(got, tuple | list) and len(got) == 2 and got[0] is None and got[1] is None:
            _fail(ex, "your function returned None for timesteps and x_start: replace the stub's None, None with "
                      "your code (and keep `return timesteps, x_start`).")
        if not isinstance(got, tuple | list) or len(got) != 2:
            _fail(ex, "return two things, the timesteps that run and x_start: `return timesteps, x_start`.")
        if got[0] is None or got[1] is None:
            _fail(ex, f"{'timesteps' if got[0] is None else 'x_start'} is still None: replace the stub's None with "
                      "your code.")
        if not done:  # the first case twice: the noise is given, so the result must be the same
            again = _call(ex, fn, proc, x0.clone(), strength, noise.clone())
            if isinstance(again, tuple | list) and len(again) == 2:
                _same_twice(ex, got[1], again[1], "the noise")
        done.append((where, got, proc, x0, noise, n, strength))

    ts_cases = []
    for where, got, proc, _, _, n, strength in done:
        grid = proc.timesteps.tolist()
        ts_cases.append((_timesteps_list(ex, got[0], where), grid[n - min(int(n * strength), n):],
                         _ts_mistakes(grid, n, strength), where))
    _compare_ints(ex, ts_cases, _TS_HINT)

    x_cases = []
    for _, got, proc, x0, noise, _, strength in done:
        steps = img2img.strength_timesteps(proc, strength)
        if len(steps) == 0:
            expected = x0
            mistakes = {_NOISE_NO_STEP: noise, _SMUDGE_NO_STEP: _at(proc, x0, noise, proc.timesteps[-1])}
        else:
            t0 = int(steps[0])
            expected = img2img.smudge(proc, x0, t0, noise)
            mistakes = {_X0: x0, _NOISE: noise}
            if isinstance(proc, BlurToStatic):
                mistakes[_STATIC_ONLY] = _at(proc.scheduler, x0, noise, t0)
            mistakes[_STRENGTH_T] = _at(proc, x0, noise, min(int(strength * _T), _T - 1))
            mistakes[_LAST_T] = _at(proc, x0, noise, int(steps[-1]))
            mistakes[_TOP_T] = _at(proc, x0, noise, int(proc.timesteps[0]))
        x_cases.append((got[1], expected, _distinct(expected, mistakes)))
    _compare_steps(ex, x_cases, _X_HINT, atol=1e-5, dtype=torch.float32)
    if crashes:
        raise crashes[0]
    _passed(ex, "the last int(n * strength) timesteps and x0 smudged to the first of them, for blur-to-static and "
                "DDIM grids of 7 to 50 steps, strengths 0 to 1 (no step below 1 / n).")


def _compare_ints(ex: str, cases: list[tuple], hint: str) -> None:
    """``_compare_steps`` for lists of ints (timesteps): name the first mistake that fits every case where listed."""
    failing = [case for case in cases if case[0] != case[1]]
    if not failing:
        return
    got, expected, mistakes, where = failing[0]
    for message, wrong in mistakes.items():
        if got == wrong and all(g == m[message] for g, _, m, _ in cases if message in m):
            _fail(ex, message)
    for message, wrong in mistakes.items():
        if got == wrong:
            _fail(ex, f"{where}: {message}")
    _fail(ex, f"{where}: expected the timesteps {_short(expected)}, got {_short(got)}. {hint}")


# ---------------------------------------------------------------- Exercise 8.3

_INVERTED = ("the mask is inverted: it is 1 where the model redraws (diffusers' convention: white = repaint) and 0 "
             "where your drawing is kept, so take x_s where mask is 1: mask * x_s + (1 - mask) * known.")
_NOT_SMUDGED = ("the kept part is x0 as it is at every step: smudge it to s first, known = process.add_noise(x0, "
                "noise, s), so that both parts of x_s have the same smudge level (x0 itself only after the last "
                "step, s = -1).")
_S_ZERO = ("s = 0 is a real timestep (the step before the clean picture lands on it): smudge x0 to t = 0 there too; "
           "only s = -1 means the clean picture (test s < 0, not s <= 0).")
_LAST_ZERO = ("after the last step s is -1: keep x0 itself (smudged to t = 0 it still carries a little static, and "
              "the kept part must come back exactly as you drew it).")
_LAST_WRAP = ("after the last step s is -1: keep x0 itself (alphas_cumprod[-1] is t = T-1, the static at the top, "
              "not the clean picture).")
_LAST_CRASH = ("after the last step s is -1: keep x0 itself (there is no timestep -1 to smudge to: if s < 0, known "
               "= x0, else process.add_noise(x0, noise, s)).")
_X_S = ("you returned x_s unchanged (no merge): put your drawing back where mask is 0, mask * x_s + (1 - mask) * "
        "known, with known = x0 smudged to s.")
_KNOWN = ("you returned only your smudged drawing: the model's x_s belongs where mask is 1, mask * x_s + (1 - mask) "
          "* known.")
_HARD = ("the mask can be soft (values between 0 and 1, a feathered edge): blend, mask * x_s + (1 - mask) * known, "
         "rather than choosing with torch.where(mask > 0.5, ...) or a rounded mask.")
_HARD_ANY = ("the mask can be soft (values between 0 and 1, a feathered edge): blend, mask * x_s + (1 - mask) * "
             "known, rather than choosing with torch.where(mask > 0, ...) or mask.bool().")
_MERGE_HINT = ("merged = mask * x_s + (1 - mask) * known, known = process.add_noise(x0, noise, torch.full((N,), s)) "
               "(x0 itself at s = -1).")

_MERGE_CASES = (  # (process, s, mask): hard masks (1 or N pictures), soft ones, the last step (s = -1)
    ("blur", 450, "hard1"), ("blur", 900, "hardN"), ("blur", 0, "hard1"), ("blur", -1, "hard1"),
    ("blur", 450, "soft1"), ("blur", -1, "softN"), ("ddim", 300, "hardN"), ("ddim", 0, "soft1"), ("ddim", -1, "hard1"),
)


def _mask(kind: str, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    m = torch.rand(_N if kind.endswith("N") else 1, 1, _H, _W, generator=g)
    if kind.startswith("hard"):
        m = (m > 0.5).float()
        m[..., 0, 0], m[..., 0, 1] = 1.0, 0.0  # both parts present
    return m


@exercise("Exercise 8.3 (inpaint_merge)")
def check_inpaint_merge(fn: Callable, ex: str) -> None:
    """Exercise 8.3: mask * x_s + (1 - mask) * x0 smudged to s (x0 itself at s = -1): RePaint's merge."""
    cases, crashes = [], []
    for i, (kind, s, mask_kind) in enumerate(_MERGE_CASES):
        proc = _blur_process(20) if kind == "blur" else _ddim_process(20)
        x0, noise = _pictures(120 + i)
        x_s = torch.randn(_N, _C, _H, _W, generator=torch.Generator().manual_seed(220 + i))  # the model's sample
        mask = _mask(mask_kind, 320 + i)
        where = f"{'blur-to-static' if kind == 'blur' else 'DDIM'}, s = {s}, a {mask_kind[:4]} mask"
        named = {(AttributeError, "scheduler"): _NO_SCHEDULER}
        if s < 0:
            named[(ValueError, "must lie in 0..")] = _LAST_CRASH
        try:
            got = _call(ex, fn, x_s.clone(), x0.clone(), mask.clone(), proc, s, noise.clone(), named=named,
                        hints={Exception: f"with {where}"})
        except ExerciseFailed as err:  # told after the comparisons, which name most mistakes better
            crashes.append(err)
            continue
        _refuse_subclass(ex, got)
        if not cases:  # the first case twice: the noise is given, so the result must be the same
            _same_twice(ex, got, _call(ex, fn, x_s.clone(), x0.clone(), mask.clone(), proc, s, noise.clone()),
                        "the noise")
        known = x0 if s < 0 else _at(proc, x0, noise, s)
        expected = img2img.inpaint_merge(x_s, x0, mask, proc, s, noise)
        mistakes = {_INVERTED: (1 - mask) * x_s + mask * known}
        if s >= 0:
            mistakes[_NOT_SMUDGED] = mask * x_s + (1 - mask) * x0
            if s == 0:
                mistakes[_S_ZERO] = mask * x_s + (1 - mask) * x0
            if isinstance(proc, BlurToStatic):
                mistakes[_STATIC_ONLY] = mask * x_s + (1 - mask) * _at(proc.scheduler, x0, noise, s)
        else:
            mistakes[_LAST_ZERO] = mask * x_s + (1 - mask) * _at(proc, x0, noise, 0)
            mistakes[_LAST_WRAP] = mask * x_s + (1 - mask) * _at(proc, x0, noise, _T - 1)
        mistakes[_X_S] = x_s
        mistakes[_KNOWN] = known.expand_as(x_s)
        if mask_kind.startswith("soft"):
            mistakes[_HARD] = torch.where(mask > 0.5, x_s, known)
            mistakes[_HARD_ANY] = torch.where(mask > 0, x_s, known)
        cases.append((got, expected, _distinct(expected, mistakes)))
    _compare_steps(ex, cases, _MERGE_HINT, atol=1e-5, dtype=torch.float32)
    if crashes:
        raise crashes[0]
    _passed(ex, "the model's x_s where the mask is 1, your drawing smudged to s where it is 0 (itself at s = -1), "
                "hard and soft masks, blur-to-static and DDIM.")
