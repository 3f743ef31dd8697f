"""Sliders in a real Jupyter kernel: run the lesson, move each slider, and the picture must change.

An ``observe`` callback runs synchronously in the kernel, so setting ``slider.value`` and reading the
Image widget's bytes in the same cell shows exactly what the browser would be sent.
"""

import pytest

SLIDERS = [
    ("00_welcome.ipynb", "slider", [0, 999, 500]),
    ("01_picture_to_static.ipynb", "slider", [0, 500, 999]),
    ("01_picture_to_static.ipynb", "digit_slider", [0, 300, 999]),
    ("02_denoiser.ipynb", "points_slider", [0, 500, 999]),
    ("02_denoiser.ipynb", "digit_slider", [0, 500, 999]),
    ("03_sampling.ipynb", "run_slider", [0, 500, 999]),
    ("03_sampling.ipynb", "points_slider", [0, 500, 999]),
    ("04_static_to_picture.ipynb", "run_slider", [0, 500, 1000]),
    ("04_static_to_picture.ipynb", "sdedit_slider", [0, 400, 900]),
    ("05_asking_for_a_picture.ipynb", "guide_slider", [0, 3, 8]),
]
SLIDERS.append(("06_straight_paths.ipynb", "evals_view", [0, 4, 32]))  # Lesson 6


@pytest.mark.parametrize("notebook,name,values", SLIDERS, ids=[f"{n}-{s}" for n, s, _ in SLIDERS])
def test_moving_the_slider_changes_the_picture(lesson_kernel, notebook, name, values):
    run, _ = lesson_kernel(notebook)
    code = f"""
s = {name}
assert s.slider.value == 0, s.slider.value
seen = {{}}
for v in {values!r}:
    assert v in s.slider.options, v
    s.slider.value = v
    png = bytes(s.image.value)
    assert png[:8] == b"\\x89PNG\\r\\n\\x1a\\n", "not a PNG"
    seen[v] = png
assert len(set(seen.values())) == len(seen), "two timesteps show the same picture"
s.slider.value = 0
assert bytes(s.image.value) == seen[0], "moving back does not bring the first picture back"
assert len(s._cache) == len(s.slider.options), "frames are not all precomputed: dragging would stall"
"""
    reply = run(code)
    assert reply["status"] == "ok", f"{reply.get('ename')}: {reply.get('evalue')}"


def test_last_frame_is_static(lesson_kernel):
    """At t = T-1 the blur-to-static panel's pixels are standard normal: the picture is gone."""
    run, _ = lesson_kernel("01_picture_to_static.ipynb")
    reply = run(
        """
x = slider.frames["blur_to_static"][-1]
assert abs(float(x.mean())) < 0.1 and abs(float(x.std()) - 1) < 0.1, (float(x.mean()), float(x.std()))
x0 = slider.frames["blur_to_static"][0]
assert float((x0 - photo[0]).abs().max()) < 0.2  # t = 0: still the photo
"""
    )
    assert reply["status"] == "ok", f"{reply.get('ename')}: {reply.get('evalue')}"


def test_ddim_sliders_change_the_picture(lesson_kernel):
    run, _ = lesson_kernel("03_sampling.ipynb")
    reply = run(
        """
g = ddim_sliders
first = bytes(g.image.value)
g.sliders["steps"].value = 50
second = bytes(g.image.value)
g.sliders["eta"].value = 1.0
third = bytes(g.image.value)
assert len({first, second, third}) == 3, "the picture did not change"
assert second == g.frame(steps=50, eta=0.0) and third == g.frame(steps=50, eta=1.0)
"""
    )
    assert reply["status"] == "ok", f"{reply.get('ename')}: {reply.get('evalue')}"
