"""Sliders that feel instant: every picture is rendered once, then a slider move is a dictionary lookup.

``FrameSlider`` pairs one slider with an ``ipywidgets.Image`` and caches one PNG per slider value;
``GridSliders`` does the same for several sliders over a grid of settings. Each lesson's slider builders
live in ``lessonN.py`` and use these two.

Not essential on first read: display plumbing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def timestep_grid(num_train_timesteps: int, n_frames: int = 101) -> list[int]:
    """About ``n_frames`` evenly spaced timesteps from 0 to T-1, both ends included."""
    if n_frames < 2:
        raise ValueError(f"n_frames must be at least 2, got {n_frames}.")
    T = num_train_timesteps
    return sorted({int(round(v)) for v in np.linspace(0, T - 1, min(n_frames, T))})


class FrameSlider:
    """A slider over ``values`` and the picture ``render(value)`` (PNG bytes), cached per value.

    Attributes: ``slider`` (an ``ipywidgets.SelectionSlider``), ``image`` (an ``ipywidgets.Image``),
    ``widget`` (both in a VBox; the object itself displays as that widget).
    """

    def __init__(self, render: Callable[[int], bytes], values: Sequence[int], *, description: str = "t",
                 value: int | None = None, width: str = "640px") -> None:
        import ipywidgets as widgets

        values = list(values)
        if not values:
            raise ValueError("FrameSlider needs at least one value.")
        self.render = render
        self._cache: dict[int, bytes] = {}
        start = values[0] if value is None else value
        if start not in values:
            raise ValueError(f"value {start} is not one of the slider's values ({values[0]} .. {values[-1]}).")
        self.slider = widgets.SelectionSlider(options=values, value=start, description=description,
                                              continuous_update=True, layout=widgets.Layout(width=width))
        self.image = widgets.Image(value=self.frame(start), format="png")
        self.slider.observe(self._on_change, names="value")
        # flex-start: show the PNG at its own size instead of stretching it (blurry) to the cell's width
        self.widget = widgets.VBox([self.slider, self.image], layout=widgets.Layout(align_items="flex-start"))

    def frame(self, value: int) -> bytes:
        """The PNG for one slider value, rendered on first use and cached."""
        png = self._cache.get(value)
        if png is None:
            png = self._cache[value] = self.render(value)
        return png

    def precompute(self, progress: bool = True) -> FrameSlider:
        """Render every frame now (a progress bar shows it), so that dragging never waits."""
        values = list(self.slider.options)
        if progress:
            from tqdm.auto import tqdm

            values = tqdm(values, desc="rendering frames", leave=False)
        for v in values:
            self.frame(v)
        return self

    def _on_change(self, change) -> None:
        self.image.value = self.frame(change["new"])

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class GridSliders:
    """Several sliders over a grid of settings and one picture ``render(**settings)``, every combination cached.

    Attributes: ``sliders`` (name -> SelectionSlider), ``image``, ``widget``; ``frame(**settings)``."""

    def __init__(self, render: Callable[..., bytes], options: dict[str, Sequence], *, precompute: bool = True,
                 width: str = "480px") -> None:
        import itertools

        import ipywidgets as widgets

        self.render, self.options = render, {k: list(v) for k, v in options.items()}
        self._cache: dict[tuple, bytes] = {}
        self.sliders = {k: widgets.SelectionSlider(options=v, value=v[0], description=k, continuous_update=True,
                                                   layout=widgets.Layout(width=width))
                        for k, v in self.options.items()}
        if precompute:
            from tqdm.auto import tqdm

            combos = list(itertools.product(*self.options.values()))
            for combo in tqdm(combos, desc="rendering", leave=False):
                self.frame(**dict(zip(self.options, combo, strict=True)))
        self.image = widgets.Image(value=self.frame(**self.settings()), format="png")
        for s in self.sliders.values():
            s.observe(lambda change: self._update(), names="value")
        self.widget = widgets.VBox([*self.sliders.values(), self.image],
                                   layout=widgets.Layout(align_items="flex-start"))

    def settings(self) -> dict:
        return {k: s.value for k, s in self.sliders.items()}

    def frame(self, **settings) -> bytes:
        key = tuple(settings[k] for k in self.options)
        if key not in self._cache:
            self._cache[key] = self.render(**settings)
        return self._cache[key]

    def _update(self) -> None:
        self.image.value = self.frame(**self.settings())

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
