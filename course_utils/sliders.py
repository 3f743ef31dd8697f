"""Sliders that feel instant: every picture is rendered once, then a slider move is a dictionary lookup.

``FrameSlider`` pairs a slider with an ``ipywidgets.Image`` and caches one PNG per slider value.
``forward_process_slider`` is Lesson 1's timestep slider: blur only, noise only and blur-to-static side
by side, each with its pixel histogram against a standard normal.

Not essential on first read: this is display plumbing around ``course_utils.forward``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ._validate import as_float_tensor, check_image_batch
from .forward import BlurToStatic
from .plotting import figure_to_png, to_display
from .scheduler import NoiseScheduler


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


PANELS = {
    "blur": "blur only",
    "noise": "noise only (DDPM)",
    "blur_to_static": "blur + static",
}


def forward_process_slider(
    x0: torch.Tensor,
    scheduler: NoiseScheduler,
    *,
    max_blur_sigma: float = 4.0,
    panels: Sequence[str] = ("blur", "noise", "blur_to_static"),
    histograms: bool = True,
    n_frames: int = 101,
    seed: int = 0,
    precompute: bool = True,
    panel_size: float = 2.4,
) -> FrameSlider:
    """Lesson 1's timestep slider: drag t from 0 to T-1 and watch the picture turn into static.

    Args:
        x0: one clean image, shape (1, C, H, W), values in [-1, 1].
        scheduler: the noise schedule (alpha_bar_t).
        max_blur_sigma: the blur width (pixels) reached at t = T-1 by the blurring panels.
        panels: which of "blur", "noise", "blur_to_static" to show, left to right.
        histograms: show each panel's pixel histogram under it, against the standard normal N(0, 1).
        n_frames: how many timesteps the slider stops at (0 and T-1 included).
        seed: the static eps is drawn once from this seed and reused for every t, so the picture changes smoothly.
    """
    from matplotlib.figure import Figure  # a bare Figure: no pyplot state, nothing shown twice

    x0 = as_float_tensor(x0, "x0")
    check_image_batch(x0, "x0")
    if x0.shape[0] != 1:
        raise ValueError(f"x0 must be one image, shape (1, C, H, W), got {tuple(x0.shape)}. Use x0[i:i+1].")
    unknown = [p for p in panels if p not in PANELS]
    if unknown or not panels:
        raise ValueError(f"panels must be a non-empty list from {list(PANELS)}, got {list(panels)}.")

    x0 = x0.detach().cpu()
    ts = timestep_grid(scheduler.num_train_timesteps, n_frames)
    t = torch.tensor(ts)
    n = len(ts)
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed)).expand(n, *x0.shape[1:])
    batch = x0.expand(n, *x0.shape[1:])
    process = BlurToStatic(scheduler, max_blur_sigma)
    frames = {
        "blur": process.blur_only(batch, t),
        "noise": scheduler.add_noise(batch, eps, t),
        "blur_to_static": process.add_noise(batch, eps, t),
    }
    sigmas = process.blur_sigmas()[t]
    abar = scheduler.alphas_cumprod[t]

    # One persistent figure; each frame only swaps pixel data and bar heights.
    ncols = len(panels)
    nrows = 2 if histograms else 1
    fig = Figure(figsize=(panel_size * ncols, panel_size * (1.75 if histograms else 1.0) + 0.35))
    gs = fig.add_gridspec(nrows, ncols, height_ratios=[1.0, 0.75] if histograms else [1.0])
    edges = np.linspace(-3.5, 3.5, 36)
    centers = (edges[:-1] + edges[1:]) / 2
    normal_pdf = np.exp(-centers**2 / 2) / math.sqrt(2 * math.pi)
    artists = []
    for j, name in enumerate(panels):
        ax = fig.add_subplot(gs[0, j])
        arr = to_display(frames[name][0])
        im = ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        title = ax.set_title(PANELS[name], fontsize=9)
        bars = None
        if histograms:
            hax = fig.add_subplot(gs[1, j])
            bars = hax.bar(centers, np.zeros_like(centers), width=edges[1] - edges[0], color="tab:blue", alpha=0.7)
            hax.plot(centers, normal_pdf, color="tab:red", lw=1.2, label="N(0, 1)")
            hax.set_xlim(-3.5, 3.5)
            hax.set_ylim(0, 1.0)
            hax.set_yticks([])
            hax.tick_params(labelsize=7)
            hax.set_xlabel("pixel value", fontsize=7)
            if j == 0:
                hax.legend(fontsize=7, loc="upper left", frameon=False)
        artists.append((name, im, title, bars))
    suptitle = fig.suptitle("", fontsize=10)
    fig.subplots_adjust(left=0.03, right=0.97, top=0.86, bottom=0.1 if histograms else 0.02, wspace=0.08, hspace=0.25)
    index = {v: i for i, v in enumerate(ts)}

    def render(value: int) -> bytes:
        i = index[value]
        for name, im, title, bars in artists:
            img = frames[name][i]
            im.set_data(to_display(img))
            if name == "blur":
                title.set_text(f"blur only, sigma = {sigmas[i]:.2f} px")
            elif name == "noise":
                title.set_text(f"noise only, alpha_bar = {abar[i]:.3f}")
            else:
                title.set_text(f"blur + static, sigma = {sigmas[i]:.2f} px")
            if bars is not None:
                counts, _ = np.histogram(img.numpy().ravel(), bins=edges, density=True)
                for b, h in zip(bars, counts, strict=True):
                    b.set_height(h)
        suptitle.set_text(f"t = {value} of 0..{scheduler.num_train_timesteps - 1}   "
                          f"(signal kept: sqrt(alpha_bar_t) = {abar[i].sqrt():.3f})")
        return figure_to_png(fig)

    fs = FrameSlider(render, ts, description="t")
    fs.figure = fig
    fs.frames = frames
    if precompute:
        fs.precompute()
    return fs


@torch.no_grad()
def points_denoiser_slider(model: torch.nn.Module, data: torch.Tensor, scheduler: NoiseScheduler, *,
                           n_show: int = 300, n_arrows: int = 40, show_ideal: bool = True, n_frames: int = 51,
                           seed: int = 0, precompute: bool = True) -> FrameSlider:
    """Lesson 2's slider on 2-D points: the noisy cloud x_t, and where the model (and the ideal denoiser)
    thinks each point came from (its predicted x_0), with arrows from x_t to the model's guess."""
    from matplotlib.figure import Figure

    from .ideal import ideal_denoiser

    data = as_float_tensor(data, "data")
    if data.ndim != 2 or data.shape[1] != 2:
        raise ValueError(f"data must be 2-D points shaped (N, 2), got {tuple(data.shape)}.")
    device = next(model.parameters()).device
    g = torch.Generator().manual_seed(seed)
    pick = torch.randperm(data.shape[0], generator=g)[:n_show]
    x0 = data[pick]
    eps = torch.randn(x0.shape, generator=g)
    ts = timestep_grid(scheduler.num_train_timesteps, n_frames)
    lim = 3.2
    frames = {}
    for t in ts:
        tt = torch.full((x0.shape[0],), t)
        x_t = scheduler.add_noise(x0, eps, tt)
        guess = scheduler.predict_x0(x_t, model(x_t.to(device), tt.to(device)).cpu(), tt).clamp(-lim, lim)
        ideal = ideal_denoiser(x_t, tt, data, scheduler) if show_ideal else None
        frames[t] = (x_t, guess, ideal)

    fig = Figure(figsize=(5.2, 5.2))
    ax = fig.add_subplot()
    ax.scatter(data[:, 0], data[:, 1], s=3, color="0.85", label="training data")
    noisy = ax.scatter([], [], s=8, color="tab:blue", label="noisy x_t")
    guess_pts = ax.scatter([], [], s=8, color="tab:orange", label="model's x_0 guess")
    ideal_pts = ax.scatter([], [], s=8, marker="x", color="tab:green", label="ideal x_0 guess") if show_ideal else None
    quiv = ax.quiver(np.zeros(n_arrows), np.zeros(n_arrows), np.zeros(n_arrows), np.zeros(n_arrows),
                     angles="xy", scale_units="xy", scale=1, width=0.004, color="tab:orange", alpha=0.6)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    title = ax.set_title("t = 999   alpha_bar = 0.000")  # a placeholder of full height for the layout
    fig.tight_layout()

    def render(value: int) -> bytes:
        x_t, guess, ideal = frames[value]
        noisy.set_offsets(x_t.numpy())
        guess_pts.set_offsets(guess.numpy())
        if ideal_pts is not None:
            ideal_pts.set_offsets(ideal.numpy())
        k = min(n_arrows, x_t.shape[0])
        quiv.set_offsets(x_t[:k].numpy())
        quiv.set_UVC((guess[:k] - x_t[:k])[:, 0].numpy(), (guess[:k] - x_t[:k])[:, 1].numpy())
        title.set_text(f"t = {value}   alpha_bar = {float(scheduler.alphas_cumprod[value]):.3f}")
        return figure_to_png(fig)

    fs = FrameSlider(render, ts, description="t")
    fs.figure, fs.frames = fig, frames
    if precompute:
        fs.precompute()
    return fs


@torch.no_grad()
def digits_denoiser_slider(model: torch.nn.Module, images: torch.Tensor, scheduler: NoiseScheduler, *,
                           n_frames: int = 51, seed: int = 0, precompute: bool = True,
                           panel_size: float = 1.1) -> FrameSlider:
    """Lesson 2's slider on pictures: for each image (a column), x_t, the model's noise guess and its x_0 guess."""
    from matplotlib.figure import Figure

    images = as_float_tensor(images, "images")
    check_image_batch(images, "images")
    device = next(model.parameters()).device
    n = images.shape[0]
    eps = torch.randn(images.shape, generator=torch.Generator().manual_seed(seed))
    ts = timestep_grid(scheduler.num_train_timesteps, n_frames)
    frames = {}
    for t in ts:
        tt = torch.full((n,), t)
        x_t = scheduler.add_noise(images, eps, tt)
        eps_hat = model(x_t.to(device), tt.to(device)).cpu()
        frames[t] = (x_t, eps_hat, scheduler.predict_x0(x_t, eps_hat, tt).clamp(-1, 1))

    rows = [("clean x_0", None), ("noisy x_t", 0), ("true noise", "eps"), ("predicted noise", 1),
            ("predicted x_0", 2)]
    fig = Figure(figsize=(panel_size * n + 1.2, panel_size * len(rows) + 0.4))
    axes = fig.subplots(len(rows), n, squeeze=False)
    ims = {}
    for r, (name, _) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            first = images[c] if r == 0 else torch.zeros_like(images[c])
            arr = to_display(first)
            ims[r, c] = ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=1,
                                  interpolation="nearest")
        axes[r, 0].set_ylabel(name, fontsize=8)
    title = fig.suptitle("")
    fig.subplots_adjust(left=0.12, right=0.98, top=0.9, bottom=0.02, wspace=0.05, hspace=0.08)

    def render(value: int) -> bytes:
        x_t, eps_hat, x0_hat = frames[value]
        shown = {1: x_t, 2: eps / 2.5, 3: eps_hat / 2.5, 4: x0_hat}  # noise shown at +-2.5 std
        for r, batch in shown.items():
            for c in range(n):
                ims[r, c].set_data(to_display(batch[c]))
        title.set_text(f"t = {value}   alpha_bar = {float(scheduler.alphas_cumprod[value]):.3f}")
        return figure_to_png(fig)

    fs = FrameSlider(render, ts, description="t")
    fs.figure, fs.frames = fig, frames
    if precompute:
        fs.precompute()
    return fs


def trajectory_slider(trajectory, *, n_show: int = 16, ncols: int = 8, every: int = 1,
                      precompute: bool = True, panel_size: float = 0.75) -> FrameSlider:
    """Lesson 3: scrub through a sampling run. Left, the samples x_t; right, the model's current guess x0_hat.

    ``trajectory`` is what ``sampling.sample(..., keep_trajectory=True)`` returns, for pictures (N, C, H, W)."""
    from matplotlib.figure import Figure

    steps = list(range(0, len(trajectory.timesteps), every))
    if steps[-1] != len(trajectory.timesteps) - 1:
        steps.append(len(trajectory.timesteps) - 1)
    first = trajectory.samples[0]
    check_image_batch(first, "trajectory samples", check_range=False)
    n = min(n_show, first.shape[0])
    nrows = (n + ncols - 1) // ncols
    fig = Figure(figsize=(2 * ncols * panel_size + 0.6, nrows * panel_size + 0.6))
    grids = fig.subfigures(1, 2, wspace=0.02)
    ims = {}
    for side, (sub, name) in enumerate(zip(grids, ["samples x_t", "the model's guess x0_hat"], strict=True)):
        axes = sub.subplots(nrows, ncols, squeeze=False)
        sub.suptitle(name, fontsize=9)
        for i, ax in enumerate(axes.flat):
            ax.set_xticks([])
            ax.set_yticks([])
            if i < n:
                arr = to_display(first[i])
                ims[side, i] = ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=1,
                                         interpolation="nearest")
            else:
                ax.axis("off")
    title = fig.suptitle("", fontsize=10, y=0.02, va="bottom")
    labels = {k: f"after step {k + 1} of {len(trajectory.timesteps)} (the step from t = {trajectory.timesteps[k]})"
              for k in steps}

    def render(k: int) -> bytes:
        for i in range(n):
            ims[0, i].set_data(to_display(trajectory.samples[k][i]))
            ims[1, i].set_data(to_display(trajectory.x0_guesses[k][i]))
        title.set_text(labels[k])
        return figure_to_png(fig)

    fs = FrameSlider(render, steps, description="step")
    fs.figure = fig
    if precompute:
        fs.precompute()
    return fs


def points_trajectory_slider(trajectory, data: torch.Tensor, *, every: int = 1,
                             precompute: bool = True) -> FrameSlider:
    """Lesson 3: the 2-D cloud flowing back onto the data, step by step (a trajectory of points (N, 2))."""
    from matplotlib.figure import Figure

    steps = list(range(0, len(trajectory.timesteps), every))
    if steps[-1] != len(trajectory.timesteps) - 1:
        steps.append(len(trajectory.timesteps) - 1)
    fig = Figure(figsize=(4.6, 4.6))
    ax = fig.add_subplot()
    ax.scatter(data[:, 0], data[:, 1], s=3, color="0.85", label="training data")
    pts = ax.scatter([], [], s=5, color="tab:blue", label="samples")
    ax.set_xlim(-3.2, 3.2)
    ax.set_ylim(-3.2, 3.2)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    title = ax.set_title("after step 1000 of 1000 (t = 999)")
    fig.tight_layout()

    def render(k: int) -> bytes:
        pts.set_offsets(trajectory.samples[k].numpy())
        title.set_text(f"after step {k + 1} of {len(trajectory.timesteps)} (from t = {trajectory.timesteps[k]})")
        return figure_to_png(fig)

    fs = FrameSlider(render, steps, description="step")
    fs.figure = fig
    if precompute:
        fs.precompute()
    return fs


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
