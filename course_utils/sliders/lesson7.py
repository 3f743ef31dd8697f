"""Lesson 7's prompt box: type a prompt (or pick a colour and an object), get a grid of crayon drawings.

``PromptBox(model)`` shows a text box, two dropdowns, a guidance slider, a message line and the pictures.
Each (prompt, guidance) is drawn once (``sampling.sample`` with deterministic DDIM, 20 steps, x0_hat clipped, one
stride below T-1: ``crayons_eval.SAMPLER``, ``STEPS``; the same static every time and no fresh noise, so the same
static turns into the picture as w or the prompt changes) and cached. An unknown word gets a friendly message listing
the vocabulary and leaves the pictures as they were. Not essential on first read: display plumbing.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .. import crayons
from ..plotting import figure_to_png, to_display

GUIDANCE_OPTIONS = (0.0, 1.0, 2.0, 3.0, 5.0, 8.0)


class PromptBox:
    """Attributes: ``text`` (Text), ``colour`` and ``object`` (Dropdowns), ``slider`` (the guidance scale),
    ``message`` (HTML), ``image`` (Image), ``widget``; ``draw(prompt, guidance)`` gives the pictures."""

    def __init__(self, model, *, prompt: str = "a red house", n: int = 16, steps: int | None = None, seed: int = 0,
                 guidance: float = 3.0, guidance_options: Sequence[float] = GUIDANCE_OPTIONS, ncols: int = 8,
                 panel_size: float = 0.6):
        import ipywidgets as widgets
        from matplotlib.figure import Figure

        from ..crayons_eval import SAMPLER, STEPS
        from ..sample import make_scheduler

        if not getattr(model, "vocab_size", 0):
            raise ValueError("PromptBox needs a text-conditional model (Lesson 7): cu.load_checkpoint('crayons').")
        if float(guidance) not in [float(g) for g in guidance_options]:
            raise ValueError(f"guidance must be one of {list(guidance_options)}, got {guidance!r}.")
        self.model, self.n, self.seed = model, int(n), int(seed)
        # deterministic DDIM (crayons_eval.py)
        self.scheduler = make_scheduler(model, SAMPLER, STEPS if steps is None else steps)
        self._cache: dict[tuple, bytes] = {}
        self._syncing = False
        self._pictures: dict[tuple, torch.Tensor] = {}
        nrows = (self.n + ncols - 1) // ncols
        self._fig = Figure(figsize=(ncols * panel_size, nrows * panel_size + 0.35))
        axes = self._fig.subplots(nrows, ncols, squeeze=False)
        size = model.config["image_size"]
        blank = torch.ones(3, size, size)
        self._ims = []
        for i, ax in enumerate(axes.flat):
            ax.set_xticks([])
            ax.set_yticks([])
            if i < self.n:
                self._ims.append(ax.imshow(to_display(blank), vmin=0, vmax=1, interpolation="nearest"))
            else:
                ax.axis("off")
        self._title = self._fig.suptitle("", fontsize=9, y=0.99, va="top")
        self._fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.35 / (nrows * panel_size + 0.35),
                                  wspace=0.05, hspace=0.05)
        self.text = widgets.Text(value=prompt, description="prompt", continuous_update=False)
        self.colour = widgets.Dropdown(options=crayons.COLOURS, description="colour")
        self.object = widgets.Dropdown(options=crayons.OBJECTS, description="object")
        self.slider = widgets.SelectionSlider(options=[float(g) for g in guidance_options], value=float(guidance),
                                              description="guidance w", continuous_update=True)  # cached
        self.message = widgets.HTML()
        self.image = widgets.Image(format="png")
        self._update()
        self.text.observe(lambda _: self._update(), names="value")
        self.slider.observe(lambda _: self._update(), names="value")
        self.colour.observe(self._pick, names="value")
        self.object.observe(self._pick, names="value")
        self.widget = widgets.VBox([self.text, widgets.HBox([self.colour, self.object]), self.slider, self.message,
                                    self.image])

    def _pick(self, _change) -> None:
        if self._syncing:  # the dropdowns are following a typed prompt: nothing new to draw
            return
        self.text.value = crayons.prompt_for(self.colour.value, self.object.value)  # redraws through the text box

    def draw(self, prompt: str, guidance: float) -> torch.Tensor:
        """The n drawings for ``prompt`` at ``guidance`` (same static for every request), (n, 3, H, W) in [-1, 1]."""
        from ..sampling import sample

        ids = crayons.tokenize(prompt)  # ValueError naming the vocabulary for an unknown word
        key = (tuple(ids.tolist()), float(guidance))
        if key not in self._pictures:
            self._pictures[key] = sample(self.model, self.scheduler, self.n, labels=ids, guidance=float(guidance),
                                         generator=torch.Generator().manual_seed(self.seed),
                                         progress=False).clamp(-1, 1).cpu()
        return self._pictures[key]

    def _update(self) -> None:
        prompt, w = self.text.value, float(self.slider.value)
        try:
            ids = crayons.tokenize(prompt)
        except ValueError as err:
            self.message.value = f"<span style='color:#b00'>{err}</span>"
            return
        key = (tuple(ids.tolist()), w)
        if key not in self._cache:
            pics = self.draw(prompt, w)
            for im, pic in zip(self._ims, pics, strict=False):
                im.set_data(to_display(pic))
            self._title.set_text(f'"{crayons.detokenize(ids)}", guidance w = {w:g}')
            self._cache[key] = figure_to_png(self._fig)
        self.message.value = f"Drawing \"{crayons.detokenize(ids)}\" with guidance w = {w:g}."
        self._follow(crayons.detokenize(ids).split())
        self.image.value = self._cache[key]

    def _follow(self, words: list[str]) -> None:
        """Show a typed prompt's colour and object in the dropdowns (without drawing from them)."""
        self._syncing = True
        try:
            for box, names in ((self.colour, crayons.COLOURS), (self.object, crayons.OBJECTS)):
                picked = [w for w in words if w in names]
                if picked:
                    box.value = picked[0]
        finally:
            self._syncing = False

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
