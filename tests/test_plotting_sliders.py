"""Display helpers and Lesson 1's timestep slider."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")  # conftest.py does this too; harmless twice

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils.data import load_digits  # noqa: E402
from course_utils.plotting import figure_to_png, show_images, to_display  # noqa: E402
from course_utils.scheduler import NoiseScheduler  # noqa: E402
from course_utils.sliders import forward_process_slider, timestep_grid  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- to_display

def test_to_display_grey():
    x = torch.tensor([[[-1.0, 0.0], [0.5, 1.0]]])  # (1, 2, 2)
    arr = to_display(x)
    assert isinstance(arr, np.ndarray) and arr.shape == (2, 2)
    np.testing.assert_allclose(arr, [[0.0, 0.5], [0.75, 1.0]])
    assert to_display(x[None]).shape == (2, 2)  # a batch of one is accepted too


def test_to_display_colour():
    x = torch.zeros(3, 4, 5)
    x[0] = 1.0  # red channel full
    x[2] = -1.0  # blue channel empty
    arr = to_display(x)
    assert arr.shape == (4, 5, 3)
    np.testing.assert_allclose(arr[..., 0], 1.0)
    np.testing.assert_allclose(arr[..., 1], 0.5)
    np.testing.assert_allclose(arr[..., 2], 0.0)


def test_to_display_clips_for_display_only():
    x = torch.tensor([[[-3.0, 3.0, 0.2]]])
    before = x.clone()
    np.testing.assert_allclose(to_display(x), [[0.0, 1.0, 0.6]])
    np.testing.assert_allclose(to_display(x, clip=False), [[-1.0, 2.0, 0.6]])
    assert torch.equal(x, before)  # the input is untouched


@pytest.mark.parametrize("shape", [(2, 4, 4), (4, 4), (2, 1, 4, 4)])
def test_to_display_bad_shape(shape):
    with pytest.raises(ValueError, match=r"\(C, H, W\) with C = 1 or 3"):
        to_display(torch.zeros(shape))


# ---------------------------------------------------------------- show_images

def test_show_images_grid():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    imgs = torch.linspace(-1, 1, 5)[:, None, None, None].expand(5, 1, 4, 4)
    fig = show_images(imgs, titles=[f"#{i}" for i in range(5)], ncols=3, suptitle="five")
    try:
        assert isinstance(fig, Figure)
        assert len(fig.axes) == 6  # 2 rows x 3 columns
        with_images = [ax for ax in fig.axes if ax.images]
        assert len(with_images) == 5
        assert [ax.get_title() for ax in with_images] == ["#0", "#1", "#2", "#3", "#4"]
        np.testing.assert_allclose(with_images[-1].images[0].get_array(), np.ones((4, 4)))
        assert not fig.axes[5].axison  # the spare cell is hidden
        assert figure_to_png(fig).startswith(PNG_MAGIC)
    finally:
        plt.close(fig)


def test_show_images_one_row_colour():
    import matplotlib.pyplot as plt

    fig = show_images(torch.zeros(3, 3, 4, 4))
    try:
        assert len(fig.axes) == 3
        assert all(ax.images[0].get_array().shape == (4, 4, 3) for ax in fig.axes)
    finally:
        plt.close(fig)


def test_show_images_errors():
    with pytest.raises(ValueError, match=r"images must be shaped \(N, C, H, W\)"):
        show_images(torch.zeros(1, 4, 4))
    with pytest.raises(ValueError, match="got 1 titles for 2 images"):
        show_images(torch.zeros(2, 1, 4, 4), titles=["only one"])


# ---------------------------------------------------------------- timestep_grid

@pytest.mark.parametrize("T,n", [(1000, 101), (1000, 6), (1000, 2), (50, 11), (5, 101), (1000, 1000)])
def test_timestep_grid(T, n):
    grid = timestep_grid(T, n)
    assert grid[0] == 0 and grid[-1] == T - 1
    assert grid == sorted(set(grid))  # sorted, unique
    assert all(isinstance(v, int) and 0 <= v < T for v in grid)
    assert len(grid) == min(n, T)


def test_timestep_grid_values():
    assert timestep_grid(1000, 6) == [0, 200, 400, 599, 799, 999]
    assert timestep_grid(5, 101) == [0, 1, 2, 3, 4]


def test_timestep_grid_needs_two_frames():
    with pytest.raises(ValueError, match="n_frames must be at least 2"):
        timestep_grid(1000, 1)


# ---------------------------------------------------------------- forward_process_slider

@pytest.fixture(scope="module")
def digit():
    return load_digits()[:1]


@pytest.fixture(scope="module")
def slider(digit):
    fs = forward_process_slider(digit, NoiseScheduler(), n_frames=6, precompute=False)
    yield fs
    fs.figure.clear()


def test_slider_options_and_frames(slider, digit):
    assert list(slider.slider.options) == [0, 200, 400, 599, 799, 999]
    assert slider.slider.value == 0
    assert set(slider.frames) == {"blur", "noise", "blur_to_static"}
    for frames in slider.frames.values():
        assert frames.shape == (6, 1, 8, 8)
    # t = 0 is nearly clean; the last frame with static is nearly standard normal noise, not the digit
    assert (slider.frames["blur"][0] - digit[0]).abs().max() < 1e-3
    assert (slider.frames["noise"][0] - digit[0]).abs().max() < 0.05
    corr = np.corrcoef(slider.frames["noise"][-1].flatten(), digit.flatten())[0, 1]
    assert abs(corr) < 0.3
    # the same static eps at every t (drawn once from the seed)
    eps = torch.randn(digit.shape, generator=torch.Generator().manual_seed(0))
    t = torch.tensor(slider.slider.options)
    want = NoiseScheduler().add_noise(digit.expand(6, 1, 8, 8), eps.expand(6, 1, 8, 8), t)
    torch.testing.assert_close(slider.frames["noise"], want)


def test_slider_move_changes_picture_and_uses_cache(slider):
    first = bytes(slider.image.value)
    assert first.startswith(PNG_MAGIC)
    assert first == slider.frame(0)

    calls = []
    render = slider.render

    def counting_render(value):
        calls.append(value)
        return render(value)

    slider.render = counting_render
    try:
        slider.slider.value = 599
        moved = bytes(slider.image.value)
        assert moved.startswith(PNG_MAGIC)
        assert moved != first
        assert moved == slider.frame(599)
        assert calls == [599]  # rendered once, on the move

        slider.slider.value = 0
        assert bytes(slider.image.value) == first  # back to the original picture
        slider.slider.value = 599
        assert bytes(slider.image.value) == moved
        assert calls == [599]  # both came from the cache
    finally:
        slider.render = render
        slider.slider.value = 0


def test_slider_frames_differ_along_t(slider):
    pngs = [slider.frame(v) for v in (0, 400, 999)]
    assert len(set(pngs)) == 3


def test_slider_histograms_fit_their_axes_and_have_y_ticks(digit):
    """Every frame's bars stay inside a fixed y range (no bar runs off the top), and the axes say what y is."""
    fs = forward_process_slider(digit, NoiseScheduler(1000, beta_schedule="cosine"), max_blur_sigma=5.0,
                                n_frames=11, precompute=False)
    try:
        hists = [ax for ax in fs.figure.axes if ax.patches]
        assert len(hists) == 3
        limits = [ax.get_ylim() for ax in hists]
        for v in fs.slider.options:
            fs.frame(v)
            for ax, lim in zip(hists, limits, strict=True):
                assert ax.get_ylim() == lim  # fixed, not rescaled per frame
                assert max(b.get_height() for b in ax.patches) <= lim[1]
        assert all(len(ax.get_yticks()) >= 2 for ax in hists)
        assert hists[0].get_ylabel() == "density"
        # the digit's blur-only frames pile the pixels into a few bins: its range is taller than N(0, 1)'s peak
        assert limits[0][1] > 1.0
    finally:
        fs.figure.clear()


def test_slider_panels_subset(digit):
    fs = forward_process_slider(digit, NoiseScheduler(100), panels=["noise"], histograms=False, n_frames=3,
                                precompute=True)
    try:
        assert list(fs.slider.options) == [0, 50, 99]
        assert len(fs.figure.axes) == 1
        assert set(fs._cache) == {0, 50, 99}  # precompute rendered every frame
    finally:
        fs.figure.clear()


@pytest.mark.parametrize("panels", [("blur", "sharpen"), (), ["static"]])
def test_slider_bad_panels(digit, panels):
    with pytest.raises(ValueError, match="panels must be a non-empty list"):
        forward_process_slider(digit, NoiseScheduler(), panels=panels, n_frames=3, precompute=False)


def test_slider_needs_one_image(digit):
    two = load_digits()[:2]
    with pytest.raises(ValueError, match=r"x0 must be one image, shape \(1, C, H, W\), got \(2, 1, 8, 8\)"):
        forward_process_slider(two, NoiseScheduler(), n_frames=3, precompute=False)


def test_slider_checks_range(digit):
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        forward_process_slider((digit + 1) * 127.5, NoiseScheduler(), n_frames=3, precompute=False)
