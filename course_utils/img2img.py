"""Your picture back, or a new one (Lesson 8): image to image (SDEdit) and filling an erased part (inpainting).

    proc = make_scheduler(model, "ddim", 20)                       # the sampler's grid, as the command line makes it
    out = image_to_image(model, proc, drawing, strength=0.5, prompt="a blue boat")
    out = inpaint(model, proc, drawing, mask, prompt="a yellow sun")

**Image to image** (Meng et al. 2021, "SDEdit"; diffusers' ``StableDiffusionImg2ImgPipeline``, ``image=`` and
``strength=``): smudge the picture part of the way to static with the forward process, then run the reverse
process from there. ``strength`` in [0, 1] says how far: of a sampler's n steps, the last int(n * strength) run
(diffusers' ``get_timesteps``), and the picture is smudged to the first of them, t_start:

    x_start = process.add_noise(x_0, eps, t_start)      (Lesson 1, eq. 1.9; for blur-to-static, blurred too)

strength 0 runs no step (the picture comes back as it is); strength 1 starts from the top of the grid, where
almost nothing of the picture is left: a new drawing.

**Inpainting** (Lugmayr et al. 2022, "RePaint", their eq. 8, without their resampling): ``mask`` is 1 where the
picture is to be redrawn (diffusers' convention: white = repaint) and 0 where it is kept. After each reverse step
from t to s, the kept region is replaced by the learner's picture smudged to s with fresh static, so that both
parts of x_s are at the same smudge level; after the last step (s = -1, the clean picture) it is the picture itself:

    x_s = mask * x_s(model) + (1 - mask) * process.add_noise(x_0, fresh eps, s)      (x_0 itself at s = -1)

``settle_steps`` measures, frequency band by frequency band, when a reverse run's clean guess stops changing
(Lesson 8, "colour bit by bit"). Input checks give one sentence (``check_strength``, ``check_picture``, ``check_mask``).
"""

from __future__ import annotations

import math
import numbers

import torch

from ._validate import as_float_tensor, check_finite, check_image_batch
from .forward import BlurToStatic, dct_matrix
from .scheduler import NoiseScheduler


def check_strength(strength, name: str = "strength") -> float:
    """``strength`` as a float in [0, 1], or a ValueError saying what it means."""
    if isinstance(strength, bool) or not isinstance(strength, numbers.Real) or not math.isfinite(strength) or not (
        0 <= strength <= 1
    ):
        raise ValueError(f"{name} must be a number from 0 to 1 (0: your picture unchanged, 1: smudged to the top of "
                         f"the grid, a new drawing), got {strength!r}.")
    return float(strength)


def check_picture(picture, shape: tuple[int, ...] | None = None, name: str = "picture") -> torch.Tensor:
    """A picture as a float tensor (N, C, H, W) (one (C, H, W) picture gets N = 1) with values in [-1, 1]."""
    x = as_float_tensor(picture, name)
    if x.ndim == 3:
        x = x[None]
    check_image_batch(x, name)
    if shape is not None and tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(f"{name} must have the model's picture shape (C, H, W) = {tuple(shape)}, got "
                         f"{tuple(x.shape[1:])}: the course's crayon models draw 3 x 16 x 16 (img2img.load_picture "
                         "resizes a PNG to fit).")
    return x


def load_picture(path, size: int = 16) -> tuple[torch.Tensor, str | None]:
    """A drawing from a .png or .npy file as (1, 3, size, size) float32 in [-1, 1], and a note if it was resized.

    .png: any colour PNG (RGB, RGBA with transparency laid on the paper colour, or a palette); a square of another
    size is resized with an area average (PIL's BOX filter) and the note says so; a grey PNG or a non-square one is
    refused (a crayon model draws in colour, and squeezing a picture would distort it). .npy: the command line's own
    layout, one picture (3, H, W) or (1, 3, H, W), floats in [-1, 1] (``--out`` writes such files), resized the same
    way. Everything else gets a ValueError in one sentence that says what was expected.
    """
    from pathlib import Path

    import numpy as np

    p = Path(path)
    if not p.exists():
        raise ValueError(f"--init {p}: no such file.")
    if p.is_dir():
        raise ValueError(f"--init {p} is a folder: give a .png or .npy drawing.")
    if p.suffix.lower() == ".npy":
        try:
            a = np.load(p, allow_pickle=False)
        except Exception as err:  # noqa: BLE001 - a corrupt or non-.npy file: one line, not numpy's traceback
            raise ValueError(f"--init {p} is not a readable .npy array ({type(err).__name__}).") from None
        if a.ndim == 4 and a.shape[0] == 1:
            a = a[0]
        if a.ndim == 4:
            raise ValueError(f"--init {p} holds {a.shape[0]} pictures {a.shape}; give one: np.save('one.npy', x[0]).")
        if a.ndim != 3 or a.shape[0] not in (1, 3):
            raise ValueError(f"--init {p}: expected one picture shaped (3, H, W) (channels first, as --out writes), "
                             f"got shape {a.shape}.")
        if a.shape[0] == 1:
            raise ValueError(f"--init {p} is a grey picture (1 channel); the crayon models draw in colour: give 3 "
                             "channels (RGB).")
        if not np.issubdtype(a.dtype, np.floating):
            raise ValueError(f"--init {p} holds {a.dtype} values; expected floats in [-1, 1] (as --out writes): "
                             "for 0..255 use x / 127.5 - 1.")
        x = torch.from_numpy(a.astype(np.float32))[None]
        try:
            check_image_batch(x, f"--init {p}")
        except ValueError as err:
            raise ValueError(str(err)) from None
        rgb = None
    elif p.suffix.lower() == ".png":
        from PIL import Image, UnidentifiedImageError

        try:
            im = Image.open(p)
            im.load()
        except (UnidentifiedImageError, OSError) as err:
            raise ValueError(f"--init {p} is not a PNG picture that can be read ({type(err).__name__}).") from None
        if im.mode in ("1", "L", "LA", "I", "I;16", "F"):
            raise ValueError(f"--init {p} is a grey picture (PNG mode {im.mode}); the crayon models draw in colour: "
                             "save it in colour (RGB).")
        if im.mode != "RGB":
            rgba = im.convert("RGBA")
            paper = Image.new("RGBA", rgba.size, (*[int(v) for v in _paper_255()], 255))
            im = Image.alpha_composite(paper, rgba).convert("RGB")
        rgb = im
        x = None
    else:
        raise ValueError(f"--init {p}: expected a .png or .npy file, got {p.suffix or 'no suffix'!r}.")
    h, w = (rgb.height, rgb.width) if rgb is not None else tuple(x.shape[-2:])
    if h != w:
        raise ValueError(f"--init {p} is {w} x {h} pixels; expected a square picture (it is resized to {size} x "
                         f"{size}, and a squeezed drawing is not the drawing): crop it square first.")
    note = None if h == size else f"note: --init {p} resized from {w} x {h} to {size} x {size} (the model's size)."
    if rgb is not None:
        from PIL import Image

        if h != size:
            rgb = rgb.resize((size, size), Image.BOX)
        x = torch.from_numpy(np.asarray(rgb, dtype=np.float32) / 127.5 - 1).permute(2, 0, 1)[None].contiguous()
    elif h != size:
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="area" if h > size else "nearest")
    return x.clamp(-1, 1), note


def _paper_255():
    from .crayons import PAPER

    return PAPER


def check_mask(mask, picture: torch.Tensor, name: str = "mask") -> torch.Tensor:
    """A mask as a float tensor that broadcasts to ``picture`` (N, 1 or C, H, W), values in [0, 1] (1: redraw)."""
    if isinstance(mask, torch.Tensor) and mask.dtype == torch.bool:
        mask = mask.float()
    m = as_float_tensor(mask, name)
    if m.ndim == 2:
        m = m[None, None]
    elif m.ndim == 3:
        m = m[:, None]
    n, c, h, w = picture.shape
    if m.ndim != 4 or m.shape[-2:] != (h, w) or m.shape[1] not in (1, c) or m.shape[0] not in (1, n):
        raise ValueError(f"{name} must be (H, W) = {(h, w)}, (N, H, W) or (N, 1, H, W), 1 where the picture is to "
                         f"be redrawn and 0 where it is kept, got shape {tuple(m.shape)}.")
    check_finite(m, name)
    if float(m.min()) < 0 or float(m.max()) > 1:
        raise ValueError(f"{name} must have values in [0, 1] (1: redraw, 0: keep), got values in "
                         f"[{float(m.min()):.3g}, {float(m.max()):.3g}].")
    return m


def strength_timesteps(process: NoiseScheduler | BlurToStatic, strength: float) -> torch.Tensor:
    """The timesteps an image-to-image run takes: the last int(n * strength) of ``process.timesteps`` (n of them).

    diffusers' ``StableDiffusionImg2ImgPipeline.get_timesteps``, number for number: init = min(int(n * strength), n),
    start = n - init, timesteps[start:]. Its first entry is t_start, where the picture is smudged to; empty for a
    strength below 1 / n (no step: the picture comes back unchanged). Call ``process.set_timesteps(n)`` first.
    """
    strength = check_strength(strength)
    ts = process.timesteps
    n = len(ts)
    init = min(int(n * strength), n)
    return ts[n - init:]


def smudge(process: NoiseScheduler | BlurToStatic, picture: torch.Tensor, t: int, noise: torch.Tensor) -> torch.Tensor:
    """The picture smudged to step t by ``process``'s forward process (eq. 1.9): ``process.add_noise`` for one t."""
    x0 = check_picture(picture)
    return process.add_noise(x0, noise, torch.full((x0.shape[0],), int(t), dtype=torch.long))


def _request(prompt, guidance, negative=None):
    if prompt is None:
        if negative is not None or guidance is not None:
            raise ValueError("guidance and negative need a prompt, such as prompt='a red house'.")
        return {}
    out = {"labels": prompt, "guidance": 3.0 if guidance is None else guidance}
    return out if negative is None else {**out, "negative": negative}


def image_to_image(model, process, picture, strength: float, *, prompt=None, guidance: float | None = None,
                   negative=None, n: int | None = None, eta: float = 0.0, seed: int = 0, keep_trajectory: bool = False,
                   progress: bool = False):
    """SDEdit: ``picture`` smudged to ``strength`` and brought back by ``model`` (``prompt`` optional, guidance 3).

    Args:
        model: a picture model (a crayon checkpoint); process: its sampler with ``set_timesteps`` done
            (``sample.make_scheduler``): NoiseScheduler, DDIMScheduler or BlurToStatic.
        picture: (C, H, W) or (N, C, H, W) in [-1, 1]; n: how many results (default: one per picture; one picture
            is repeated n times, each with its own static).
        strength: 0 .. 1 (``strength_timesteps``). eta: fresh noise in each step (0: deterministic; DDIM and
            blur-to-static); seed: the static's seed.
    Returns: the results (n, C, H, W) (not clamped), or (results, Trajectory, x_start) with ``keep_trajectory``.
    """
    from .sampling import sample

    x0, n = _pictures_for(model, picture, n)
    steps = strength_timesteps(process, strength)
    device = next(model.parameters()).device
    x0 = x0.to(device)
    g = torch.Generator().manual_seed(seed)
    if len(steps) == 0:  # strength below 1 / n: no step to run
        out = x0.clone()
        return (out, None, out.clone()) if keep_trajectory else out
    noise = torch.randn(x0.shape, generator=g).to(device)
    x_start = smudge(process, x0, int(steps[0]), noise)
    kw = {"eta": eta} if isinstance(process, BlurToStatic) or _takes_eta(process) else {}
    res = sample(model, process, n, x_start=x_start, timesteps=steps, generator=g, progress=progress,
                 keep_trajectory=keep_trajectory, **kw, **_request(prompt, guidance, negative))
    if keep_trajectory:
        return res[0], res[1], x_start
    return res


def _pictures_for(model, picture, n: int | None) -> tuple[torch.Tensor, int]:
    """``picture`` checked against ``model``'s picture shape, one per result: (n, C, H, W) and n."""
    from .sampling import sample_shape

    x0 = check_picture(picture, sample_shape(model))
    n = x0.shape[0] if n is None else n
    if x0.shape[0] == 1 and n > 1:
        x0 = x0.expand(n, *x0.shape[1:]).contiguous()
    if x0.shape[0] != n:
        raise ValueError(f"n = {n} results from {x0.shape[0]} pictures: give one picture, or one per result.")
    return x0, n


def _takes_eta(process) -> bool:
    from .ddim import DDIMScheduler

    return isinstance(process, DDIMScheduler)


def inpaint_merge(x_s: torch.Tensor, picture: torch.Tensor, mask: torch.Tensor, process, s: int,
                  noise: torch.Tensor) -> torch.Tensor:
    """RePaint's merge (Lugmayr et al. 2022, eq. 8): the model's x_s where ``mask`` is 1, the picture smudged to s
    (with ``noise``) where it is 0; at s = -1 (after the last step) the picture itself."""
    known = picture if s < 0 else process.add_noise(picture, noise, torch.full((picture.shape[0],), int(s)))
    return mask * x_s + (1 - mask) * known


def inpaint(model, process, picture, mask, *, prompt=None, guidance: float | None = None, negative=None,
            n: int | None = None,
            eta: float = 0.0, seed: int = 0, keep_trajectory: bool = False, progress: bool = False, merge=None):
    """Redraw the masked part of ``picture`` (mask 1: redraw, 0: keep) from pure static, the rest kept (RePaint).

    ``merge`` replaces ``inpaint_merge`` (Exercise 8.3 passes the learner's). Returns (n, C, H, W), or
    (results, Trajectory) with ``keep_trajectory``. The kept region comes back exactly as it was.
    """
    from .sampling import sample

    x0, n = _pictures_for(model, picture, n)
    m = check_mask(mask, x0)
    device = next(model.parameters()).device
    x0, m = x0.to(device), m.to(device)
    g = torch.Generator().manual_seed(seed)
    merge = merge or inpaint_merge

    def after_step(x_s, s):
        return merge(x_s, x0, m, process, s, torch.randn(x0.shape, generator=g).to(device))

    kw = {"eta": eta} if isinstance(process, BlurToStatic) or _takes_eta(process) else {}
    return sample(model, process, n, generator=g, progress=progress, keep_trajectory=keep_trajectory,
                  after_step=after_step, **kw, **_request(prompt, guidance, negative))


# ---------------------------------------------------------------- colour bit by bit: when does each band settle?

BANDS = {"coarse (k_y + k_x <= 2)": (0, 2), "middle (3 to 8)": (3, 8), "fine (>= 9)": (9, 10**9)}  # 16 x 16 DCT


def band_errors(guesses: list[torch.Tensor] | torch.Tensor, final: torch.Tensor, bands: dict | None = None
                ) -> torch.Tensor:
    """(steps, bands): |x0_hat - final|^2 / |final - mean|^2 within each DCT band (k_y + k_x in [lo, hi]),
    summed over the batch, for each step's clean guess x0_hat (a list of (N, C, H, W) or a (steps, N, C, H, W))."""
    bands = BANDS if bands is None else bands
    g = torch.stack(list(guesses)) if not isinstance(guesses, torch.Tensor) else guesses
    h, w = final.shape[-2:]
    ch, cw = dct_matrix(h, dtype=torch.float64), dct_matrix(w, dtype=torch.float64)
    k = torch.arange(h)[:, None] + torch.arange(w)[None, :]  # (H, W): k_y + k_x
    err = (ch @ (g.double() - final.double()) @ cw.T) ** 2  # (steps, N, C, H, W)
    ref = (ch @ final.double() @ cw.T) ** 2  # (N, C, H, W)
    ref[..., 0, 0] = 0  # the mean colour is not "detail": the band's power without it
    out = []
    for lo, hi in bands.values():
        sel = (k >= lo) & (k <= hi)
        out.append(err[..., sel].sum((1, 2, 3)) / ref[..., sel].sum().clamp_min(1e-12))
    return torch.stack(out, 1).float()


def settle_steps(errors: torch.Tensor, level: float = 0.1) -> list[int]:
    """For each band (column of ``band_errors``), the first step index from which the error stays below ``level``."""
    out = []
    for j in range(errors.shape[1]):
        above = (errors[:, j] >= level).nonzero()
        out.append(int(above[-1, 0]) + 1 if above.numel() else 0)
    return out
