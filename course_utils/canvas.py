"""A crayon canvas for Lesson 8: draw with the mouse in the course's crayon colours, as the model sees it.

    board = CrayonCanvas()          # in a notebook: display(board) shows the canvas and its buttons
    board.draw([(3, 8), (12, 8)], "blue")     # or draw from code: a line through picture coordinates
    x = board.picture()             # (1, 3, 16, 16) float32 in [-1, 1], with the crayon grain of the drawings

The canvas is an ``ipycanvas.Canvas`` (a maintained Jupyter widget with mouse events and a prebuilt JupyterLab
extension; nothing is fetched at run time). What you draw is kept in Python, not read back from the browser: each
stroke paints a disc along the mouse's path on a grid 4 times finer than the picture, in one crayon colour, with the
crayon grain of ``crayons.grain``; the picture is that grid averaged down to 16 x 16, exactly as ``make_drawings``
makes its drawings. The canvas shows that 16 x 16 picture enlarged: what you see is what the model gets.

Tools: the 8 crayon colours, the eraser (back to paper; what you erase is also ``erased_mask()``, the part Lesson
8's inpainting redraws), "clear", a brush size, and "start from" one of the generated drawings (``start_from``).
``on_change(callback)`` calls ``callback(picture)`` after each stroke. Bad input (a colour that is not a crayon,
points off the page, a picture of the wrong shape) gets one sentence.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from . import crayons
from ._validate import as_float_tensor, check_image_batch

FINE = 4  # fine cells per picture pixel, as crayons._SUPERSAMPLE
BASE, PAPER = -2, -1  # fine-cell labels: the starting picture, paper; 0.. are indices into crayons.COLOURS
ERASER = "eraser"
BRUSH_SIZES = (0.6, 1.0, 1.6)  # brush radius in picture pixels: thin, medium, thick


def _rgb(name: str) -> np.ndarray:
    return np.array(crayons.PALETTE[name], dtype=np.float32) / 255


class CrayonCanvas:
    """A drawing of ``size`` x ``size`` pixels (the model's size, 16), shown ``scale`` times enlarged.

    Args:
        size: the picture's side in pixels (16: the crayon models'). scale: screen pixels per picture pixel.
        seed: the seed of the paper's grain (same seed, same grain: the same strokes give the same picture).
        widget: False builds no widget (for scripts and tests: ``draw`` and ``picture`` still work).
    """

    def __init__(self, size: int = 16, scale: int = 16, seed: int = 0, *, widget: bool = True) -> None:
        for name, v, lo in (("size", size, 4), ("scale", scale, 1)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not lo <= v <= 512:
                raise ValueError(f"{name} must be an int from {lo} to 512, got {v!r}.")
        self.size, self.scale = int(size), int(scale)
        s = self.size * FINE
        g = np.random.default_rng(seed)
        self._pressure = crayons.grain(g, np.array([g.random() * np.pi]), self.size)[0]  # (s, s)
        self._labels = np.full((s, s), PAPER, dtype=np.int8)
        self._erased = np.zeros((s, s), dtype=bool)
        self._base = np.broadcast_to(_rgb_paper()[:, None, None], (3, s, s)).copy()  # the starting picture, fine
        self.colour, self.brush = "red", BRUSH_SIZES[1]
        self._last: tuple[float, float] | None = None
        self._callbacks: list = []
        self.widget = self._build_widget() if widget else None
        self._redraw()

    # ------------------------------------------------------------ drawing, from code or from the mouse

    def set_colour(self, colour: str) -> None:
        """The crayon to draw with: one of crayons.COLOURS, or "eraser"."""
        if colour != ERASER and colour not in crayons.COLOURS:
            raise ValueError(f"colour must be one of {', '.join(crayons.COLOURS)} or {ERASER!r}, got {colour!r}.")
        self.colour = colour
        if self.widget is not None and self._tools.value != colour:
            self._tools.value = colour

    def draw(self, points, colour: str | None = None, *, brush: float | None = None) -> None:
        """A stroke through ``points``, a list of (x, y) in picture pixels (0 .. size, x right, y down), in
        ``colour`` (default: the current one); ``brush`` its radius in picture pixels. Calls the on_change callbacks."""
        if colour is not None:
            self.set_colour(colour)
        pts = [self._check_point(p) for p in points]
        if not pts:
            raise ValueError("points must hold at least one (x, y) point.")
        radius = self.brush if brush is None else float(brush)
        if not 0.2 <= radius <= self.size / 2:
            raise ValueError(f"brush must be a radius from 0.2 to {self.size / 2} picture pixels, got {brush!r}.")
        prev = pts[0]
        self._dab(prev, prev, radius)
        for p in pts[1:]:
            self._dab(prev, p, radius)
            prev = p
        self._changed()

    def _check_point(self, p) -> tuple[float, float]:
        try:
            x, y = (float(v) for v in p)
        except (TypeError, ValueError):
            raise ValueError(f"each point must be a pair (x, y) of numbers, got {p!r}.") from None
        if not (0 <= x <= self.size and 0 <= y <= self.size):
            raise ValueError(f"points must lie on the page, x and y from 0 to {self.size} (picture pixels), got "
                             f"({x:g}, {y:g}).")
        return x, y

    def _dab(self, a: tuple[float, float], b: tuple[float, float], radius: float) -> None:
        """Paint the fine cells within ``radius`` of the segment a-b (picture pixels)."""
        s = self.size * FINE
        c = (np.arange(s) + 0.5) / FINE  # fine cell centres in picture pixels
        X, Y = np.meshgrid(c, c)  # (s, s): x across, y down
        ax, ay = a
        dx, dy = b[0] - ax, b[1] - ay
        L2 = dx * dx + dy * dy
        u = np.clip(((X - ax) * dx + (Y - ay) * dy) / L2, 0, 1) if L2 > 0 else np.zeros_like(X)
        hit = (X - ax - u * dx) ** 2 + (Y - ay - u * dy) ** 2 <= radius**2
        if self.colour == ERASER:
            self._labels[hit] = PAPER
            self._erased |= hit
        else:
            self._labels[hit] = crayons.COLOURS.index(self.colour)

    def clear(self) -> None:
        """A blank page (the starting picture and what was erased are forgotten too)."""
        self._labels[:] = PAPER
        self._erased[:] = False
        self._base[:] = _rgb_paper()[:, None, None]
        self._changed()

    def start_from(self, picture) -> None:
        """Start from a picture (3, size, size) or (1, 3, size, size) in [-1, 1], e.g. ``make_drawings(...).images[0]``;
        strokes are drawn over it."""
        x = as_float_tensor(picture, "picture")
        x = x[None] if x.ndim == 3 else x
        check_image_batch(x, "picture")
        if tuple(x.shape) != (1, 3, self.size, self.size):
            raise ValueError(f"picture must be one colour picture (3, {self.size}, {self.size}) in [-1, 1], got shape "
                             f"{tuple(x.shape)}.")
        rgb = ((x[0].detach().cpu().float().numpy() + 1) / 2).repeat(FINE, 1).repeat(FINE, 2)  # (3, s, s)
        self._base = rgb.astype(np.float32)
        self._labels[:] = BASE
        self._erased[:] = False
        self._changed()

    def picture(self) -> torch.Tensor:
        """The drawing as the model sees it: (1, 3, size, size) float32 in [-1, 1]."""
        paper = _rgb_paper()[:, None, None]
        fine = self._base.copy() * (self._labels == BASE) + paper * (self._labels == PAPER)
        for k, name in enumerate(crayons.COLOURS):
            sel = self._labels == k
            if sel.any():
                fine += (paper + self._pressure * (_rgb(name)[:, None, None] - paper)) * sel
        s = self.size
        pic = fine.reshape(3, s, FINE, s, FINE).mean((2, 4))
        return torch.from_numpy(np.clip(2 * pic - 1, -1, 1).astype(np.float32))[None]

    def erased_mask(self) -> torch.Tensor:
        """(size, size) float32: the share of each pixel erased with the eraser (1: all of it), the part to redraw."""
        s = self.size
        return torch.from_numpy(self._erased.reshape(s, FINE, s, FINE).mean((1, 3)).astype(np.float32))

    def on_change(self, callback) -> None:
        """Call ``callback(picture)`` after each stroke, clear and start_from."""
        self._callbacks.append(callback)

    def _changed(self) -> None:
        self._redraw()
        pic = self.picture()
        for cb in self._callbacks:
            cb(pic)

    # ------------------------------------------------------------ the widget (ipycanvas + ipywidgets)

    def _build_widget(self):
        import ipywidgets as w
        from ipycanvas import Canvas

        side = self.size * self.scale
        self._canvas = Canvas(width=side, height=side, layout=w.Layout(width=f"{side}px", height=f"{side}px",
                                                                       border="1px solid #999"))
        self._canvas.on_mouse_down(self._mouse_down)
        self._canvas.on_mouse_move(self._mouse_move)
        self._canvas.on_mouse_up(self._mouse_up)
        self._canvas.on_mouse_out(self._mouse_up)
        self._tools = w.ToggleButtons(options=[*crayons.COLOURS, ERASER], value=self.colour,
                                      style={"button_width": "58px"}, description="crayon")
        self._tools.observe(lambda ch: self.set_colour(ch["new"]), names="value")
        self._brush = w.ToggleButtons(options=[("thin", BRUSH_SIZES[0]), ("medium", BRUSH_SIZES[1]),
                                               ("thick", BRUSH_SIZES[2])], value=self.brush, description="brush",
                                      style={"button_width": "58px"})
        self._brush.observe(lambda ch: setattr(self, "brush", ch["new"]), names="value")
        clear = w.Button(description="clear", icon="eraser")
        clear.on_click(lambda _: self.clear())
        starts = [("blank page", None)] + [(crayons.prompt_for(c, o), (c, o)) for c, o in
                                           (("red", "house"), ("blue", "boat"), ("yellow", "sun"),
                                            ("green", "tree"), ("purple", "flower"))]
        self._start = w.Dropdown(options=starts, value=None, description="start from")
        self._start.observe(self._start_changed, names="value")
        return w.VBox([w.HBox([self._canvas, w.VBox([self._start, clear])]), self._tools, self._brush])

    def _start_changed(self, change) -> None:
        if change["new"] is None:
            self.clear()
        else:
            self.start_from(crayons.make_drawings(1, self.size, seed=8, pairs=[change["new"]]).images[0])

    def _to_picture(self, x: float, y: float) -> tuple[float, float]:
        return (min(max(x / self.scale, 0.0), float(self.size)), min(max(y / self.scale, 0.0), float(self.size)))

    def _mouse_down(self, x, y) -> None:
        p = self._to_picture(x, y)
        self._last = p
        self._dab(p, p, self.brush)
        self._redraw()

    def _mouse_move(self, x, y) -> None:
        if self._last is None:
            return
        p = self._to_picture(x, y)
        self._dab(self._last, p, self.brush)
        self._last = p
        self._redraw()

    def _mouse_up(self, x, y) -> None:
        if self._last is None:
            return
        self._last = None
        self._changed()

    def _redraw(self) -> None:
        if self.widget is None:
            return
        rgb = ((self.picture()[0].numpy() + 1) * 127.5).round().astype(np.uint8).transpose(1, 2, 0)  # (H, W, 3)
        self._canvas.put_image_data(rgb.repeat(self.scale, 0).repeat(self.scale, 1), 0, 0)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def _rgb_paper() -> np.ndarray:
    return np.array(crayons.PAPER, dtype=np.float32) / 255
