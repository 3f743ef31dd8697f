"""Lesson 8's widgets: your drawing smudged (blur, static, both), brought back at a strength, its erased part filled.

Each view follows a ``canvas.CrayonCanvas``: it redraws when a stroke ends, and when its own slider moves. The
pictures are 16 x 16, so a row is drawn straight into one enlarged PNG (no matplotlib): a slider move costs
milliseconds, a strength move one short reverse run (20 steps: a fraction of a second on a CPU).

Not essential on first read: display plumbing around ``course_utils.img2img``.
"""

from __future__ import annotations

import io

import numpy as np
import torch

from ..forward import BlurToStatic
from ..img2img import image_to_image, inpaint, smudge, strength_timesteps

ZOOM = 8  # screen pixels per picture pixel


def row_png(pictures: torch.Tensor, zoom: int = ZOOM, gap: int = 6) -> bytes:
    """Pictures (n, 3, H, W) in [-1, 1] (clipped) side by side, enlarged ``zoom`` times, as PNG bytes."""
    from PIL import Image

    x = ((pictures.detach().cpu().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    n, _, h, w = x.shape
    canvas = np.full((h * zoom, n * w * zoom + (n - 1) * gap, 3), 255, dtype=np.uint8)
    for i in range(n):
        big = x[i].transpose(1, 2, 0).repeat(zoom, 0).repeat(zoom, 1)
        canvas[:, i * (w * zoom + gap): i * (w * zoom + gap) + w * zoom] = big
    buf = io.BytesIO()
    Image.fromarray(canvas).save(buf, format="png")
    return buf.getvalue()


def _LEFT():  # noqa: N802 - show each PNG at its own size (not stretched to the cell's width), under its captions
    import ipywidgets as w

    return w.Layout(align_items="flex-start")


def _captions(names, width: int):
    import ipywidgets as w

    cells = [w.HTML(f"<div style='font-size:11px;text-align:center'>{n}</div>",
                    layout=w.Layout(width=f"{width - 6}px", margin="0 6px 0 0")) for n in names]
    return w.HBox(cells)


class SmudgeView:
    """Your drawing at smudge step t: blurred only, static only, and both (blur-to-static, what the model reverses).

    ``process`` is a BlurToStatic; the static-only row is its wrapped NoiseScheduler, with the same static (seed)."""

    NAMES = ("your drawing", "blur only", "static only", "blur, then static")

    def __init__(self, board, process: BlurToStatic, *, seed: int = 0, t: int = 300) -> None:
        import ipywidgets as w

        self.board, self.process = board, process
        self.noise = torch.randn((1, 3, board.size, board.size), generator=torch.Generator().manual_seed(seed))
        T = process.num_train_timesteps
        self.slider = w.IntSlider(value=t, min=0, max=T - 1, step=10, description="smudge t",
                                  continuous_update=True, layout=w.Layout(width="520px"))
        self.info = w.HTML()
        self.image = w.Image(format="png")
        self.slider.observe(lambda _: self.update(), names="value")
        board.on_change(lambda _: self.update())
        side = board.size * ZOOM
        self.widget = w.VBox([self.slider, _captions(self.NAMES, side + 6), self.image, self.info], layout=_LEFT())
        self.update()

    def pictures(self) -> torch.Tensor:
        x0, t = self.board.picture(), int(self.slider.value)
        tt = torch.tensor([t])
        blurred = self.process.blur_only(x0, tt)
        static = self.process.scheduler.add_noise(x0, self.noise, tt)
        both = self.process.add_noise(x0, self.noise, tt)
        return torch.cat([x0, blurred, static, both])

    def update(self) -> None:
        t = int(self.slider.value)
        abar = float(self.process.alphas_cumprod[t])
        sig = float(self.process.blur_sigmas()[t])
        self.info.value = (f"<small>t = {t}: blur {sig:.2f} px wide; {abar:.1%} of the picture's power left, "
                           f"{1 - abar:.1%} static</small>")
        self.image.value = row_png(self.pictures())

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class StrengthView:
    """SDEdit on your drawing: a strength slider, an optional prompt; 4 results, each from its own static."""

    def __init__(self, board, model, process, *, n: int = 4, strength: float = 0.5, prompt: str = "") -> None:
        import ipywidgets as w

        self.board, self.model, self.process, self.n = board, model, process, n
        values = [round(k * 0.05, 2) for k in range(21)]  # 0, 0.05, ..., 1: a selection, so keys and drags step by one
        if strength not in values:
            raise ValueError(f"strength must be one of 0, 0.05, ..., 1 for the slider, got {strength!r}.")
        self.slider = w.SelectionSlider(options=values, value=strength, description="strength",
                                        continuous_update=True, layout=w.Layout(width="520px"))
        self.prompt = w.Text(value=prompt, placeholder="optional: a blue boat", description="prompt",
                             continuous_update=False)
        self.info, self.image = w.HTML(), w.Image(format="png")
        self.slider.observe(lambda _: self.update(), names="value")
        self.prompt.observe(lambda _: self.update(), names="value")
        board.on_change(lambda _: self.update())
        side = board.size * ZOOM
        names = ("your drawing", "smudged to t_start") + tuple(f"back, static {i}" for i in range(n))
        self.widget = w.VBox([self.slider, self.prompt, _captions(names, side + 6), self.image, self.info],
                             layout=_LEFT())
        self.update()

    def results(self) -> tuple[torch.Tensor, torch.Tensor]:
        prompt = self.prompt.value.strip() or None
        x0 = self.board.picture()
        out, _, start = image_to_image(self.model, self.process, x0, float(self.slider.value), prompt=prompt,
                                       n=self.n, keep_trajectory=True)
        return out.clamp(-1, 1), start

    def update(self) -> None:
        try:
            out, start = self.results()
        except ValueError as err:  # an unknown word in the prompt: say so, keep the last pictures
            self.info.value = f"<span style='color:#b00'>{err}</span>"
            return
        x0 = self.board.picture()
        steps = strength_timesteps(self.process, float(self.slider.value))
        where = f"smudged to t = {int(steps[0])}, {len(steps)} of {len(self.process.timesteps)} steps back" if len(
            steps) else "no step: strength below 1 / steps"
        dist = float((out - x0).abs().mean())
        self.info.value = f"<small>{where}; mean distance to your drawing {dist:.3f} (values in [-1, 1])</small>"
        self.image.value = row_png(torch.cat([x0, start[:1].clamp(-1, 1), out]))

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class InpaintView:
    """Fill what you erased: the eraser's strokes are the mask; a prompt says what to draw there."""

    def __init__(self, board, model, process, *, n: int = 4, prompt: str = "a yellow sun") -> None:
        import ipywidgets as w

        self.board, self.model, self.process, self.n = board, model, process, n
        self.prompt = w.Text(value=prompt, description="prompt", continuous_update=False)
        self.button = w.Button(description="fill the erased part")
        self.info, self.image = w.HTML(), w.Image(format="png")
        self.button.on_click(lambda _: self.update())
        self.prompt.observe(lambda _: self.update(), names="value")
        side = board.size * ZOOM
        names = ("your drawing", "erased (mask)") + tuple(f"filled, static {i}" for i in range(n))
        self.widget = w.VBox([w.HBox([self.prompt, self.button]), _captions(names, side + 6), self.image, self.info],
                             layout=_LEFT())
        self.update()

    def update(self) -> None:
        mask = (self.board.erased_mask() > 0).float()
        x0 = self.board.picture()
        if mask.sum() == 0:
            self.info.value = ("<small>Nothing erased yet: pick the eraser above and rub out part of your "
                               "drawing.</small>")
            self.image.value = row_png(torch.cat([x0, x0]))
            return
        try:
            out = inpaint(self.model, self.process, x0, mask, prompt=self.prompt.value.strip() or None, n=self.n)
        except ValueError as err:
            self.info.value = f"<span style='color:#b00'>{err}</span>"
            return
        shown = x0 * (1 - mask) + mask * torch.tensor([0.2, 0.2, 0.2])[:, None, None]  # the erased part in grey
        kept = float((out - x0).abs().mul(1 - mask).max())
        self.info.value = (f"<small>{int(mask.sum())} of {mask.numel()} pixels redrawn; the rest differs from your "
                           f"drawing by at most {kept:.1e}</small>")
        self.image.value = row_png(torch.cat([x0, shown.clamp(-1, 1), out.clamp(-1, 1)]))

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def smudged_row(process, picture: torch.Tensor, ts, seed: int = 0) -> torch.Tensor:
    """The picture smudged to each of ``ts`` with the same static: (len(ts), 3, H, W)."""
    noise = torch.randn(picture.shape, generator=torch.Generator().manual_seed(seed))
    return torch.cat([smudge(process, picture, int(t), noise) for t in ts])
