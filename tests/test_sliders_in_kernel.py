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

SLIDERS += [("07_crayons_from_words.ipynb", "journey_slider", [0, 5, 10])]  # Lesson 7: static to a drawing


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


def test_prompt_box_draws_new_pictures(lesson_kernel):
    """Lesson 7: typing a prompt, picking from the dropdowns or moving the guidance slider draws new pictures; an
    unknown word gets a message naming the vocabulary and leaves the pictures as they were."""
    run, _ = lesson_kernel("07_crayons_from_words.ipynb")
    reply = run(
        """
b = box
b.text.value = "a red house"
first = bytes(b.image.value)
assert first[:8] == b"\\x89PNG\\r\\n\\x1a\\n", "not a PNG"
b.text.value = "a blue boat"
second = bytes(b.image.value)
assert (b.colour.value, b.object.value) == ("blue", "boat"), "the dropdowns do not follow a typed prompt"
b.slider.value = 0.0
third = bytes(b.image.value)
b.colour.value, b.object.value = "purple", "tree"
fourth = bytes(b.image.value)
assert b.text.value == "a purple tree", b.text.value
assert len({first, second, third, fourth}) == 4, "a new request did not change the picture"
b.text.value = "a purple elephant"
assert bytes(b.image.value) == fourth and "elephant" in b.message.value and "colours: red" in b.message.value
b.text.value = "a red house"
b.slider.value = 3.0
assert bytes(b.image.value) == first, "the same request must give the same picture"
"""
    )
    assert reply["status"] == "ok", f"{reply.get('ename')}: {reply.get('evalue')}"


def test_canvas_strokes_reach_the_smudge_and_strength_views(lesson_kernel):
    """Lesson 8: mouse events on the canvas (as the browser sends them) change the drawing, and the smudge and
    strength views follow it; their sliders change their pictures as they should (blur only is smoother at a larger
    t; strength 0 gives the drawing back exactly, strength 1 a picture further from it)."""
    run, _ = lesson_kernel("08_your_drawing.ipynb")
    reply = run(
        """
import numpy as np, io
from PIL import Image

def panels(view):
    a = np.asarray(Image.open(io.BytesIO(bytes(view.image.value))).convert("RGB")).astype(float)
    side = 16 * 8
    return [a[:, i * (side + 6): i * (side + 6) + side] for i in range((a.shape[1] + 6) // (side + 6))]

c = board._canvas
before = board.picture().clone()
smudge_before, strength_before = bytes(smudge_view.image.value), bytes(strength_view.image.value)
board.set_colour("blue")
c._handle_frontend_event(None, {"event": "mouse_down", "x": 40, "y": 200}, [])
for x in range(40, 220, 12):
    c._handle_frontend_event(None, {"event": "mouse_move", "x": x, "y": 200}, [])
c._handle_frontend_event(None, {"event": "mouse_up", "x": 220, "y": 200}, [])
after = board.picture()
assert (after - before).abs().max() > 0.5, "the stroke did not change the drawing"
blue = crayons.colour_votes(after)[0, crayons.COLOURS.index("blue")]
assert blue > 5, f"the stroke was not read as blue crayon ({float(blue):.1f})"
assert bytes(smudge_view.image.value) != smudge_before, "the smudge view did not follow the drawing"
assert bytes(strength_view.image.value) != strength_before, "the strength view did not follow the drawing"

smudge_view.slider.value = 0
p = panels(smudge_view)
# t = 0: the blur is 1e-5 px and the static's weight sqrt(1 - abar_0) = 0.006 (a few of 255 levels)
assert np.abs(p[0] - p[1]).max() <= 1 and np.abs(p[0] - p[3]).max() <= 8, "at t = 0 almost nothing is smudged"
smudge_view.slider.value = 300
low = panels(smudge_view)[1].std()
smudge_view.slider.value = 900
high = panels(smudge_view)[1].std()
assert high < low, f"blur only must be smoother at t = 900 than at 300 ({high:.1f} vs {low:.1f})"

strength_view.slider.value = 0.0
p = panels(strength_view)
assert all(np.abs(p[0] - q).max() <= 1 for q in p[2:]), "strength 0 must give the drawing back unchanged"
dist = {}
for s in (0.2, 1.0):
    strength_view.slider.value = s
    p = panels(strength_view)
    dist[s] = float(np.mean([np.abs(p[0] - q).mean() for q in p[2:]]))
assert dist[0.2] < dist[1.0], dist
strength_view.slider.value = 0.5
"""
    )
    assert reply["status"] == "ok", f"{reply.get('ename')}: {reply.get('evalue')}"
