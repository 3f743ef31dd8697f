"""Crayon drawings in colour, each with its prompt ("a red house"): the data set of Lesson 7, made as code.

The brief that started the course is a full-colour crayon drawing smudged into TV static and brought back
colour by colour. This file draws such pictures, small enough for a laptop CPU to learn from:

- ``make_drawings(n, size, seed)``: ``n`` pictures of one object each (sun, house, tree, flower, boat) in one
  crayon colour (red, orange, yellow, green, blue, purple, brown, black) on off-white paper, with crayon
  grain, at a random position and size with small variations; and the prompt of each picture. Same seed,
  same pictures (bit for bit); 10,000 pictures take a few seconds. Nothing is downloaded.
- ``tokenize(prompt)``: a prompt as a fixed-length tensor of word ids from a tiny vocabulary, and the
  null prompt used by classifier-free guidance (Lesson 5).
- ``read_colour(images)``, ``read_object(images)``: the course's measures of a picture, used to ask
  whether a model drew what the prompt asked for.

What the colour names. A prompt's colour names the object's MAIN part; the other parts keep their natural
colours, as a child would draw them:

| object | in the named colour | natural parts |
|---|---|---|
| sun    | disc and rays            | (none) |
| house  | walls and roof           | door and window left uncoloured (paper) |
| tree   | crown                    | trunk brown |
| flower | petals                   | stem and leaf green, centre yellow (orange on a yellow flower) |
| boat   | hull and sail            | mast black |

The main part always holds more than half of a drawing's crayon (a flower's petals hold the least: about 70 %,
never under 55 %), so "the colour of the drawing" is the colour of most of its crayon: what ``read_colour`` reads.

How a picture is drawn (plumbing, not essential on first read): each shape is a mask computed on a grid
4 times finer than the picture; colours are laid on paper layer by layer; the crayon's grain is a pressure
between 0.45 and 1 (0.87 on average) that mixes each crayon pixel with the paper beneath (so it lightens a colour along
the line from the paper to that colour and never turns it into another colour); the fine grid is then
averaged down to the picture's pixels, which anti-aliases the edges.
"""

from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ._validate import as_float_tensor, check_image_batch, is_int

# ---------------------------------------------------------------- palette, objects, vocabulary

# Crayon colours as 8-bit RGB, close to the classic wax-crayon shades; chosen so that each one stays far from the
# others and from the paper even when the grain lightens it.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (226, 35, 50),
    "orange": (250, 128, 30),
    "yellow": (247, 206, 30),
    "green": (46, 160, 67),
    "blue": (35, 105, 225),
    "purple": (125, 65, 175),
    "brown": (140, 82, 45),
    "black": (40, 38, 42),
}
COLOURS: tuple[str, ...] = tuple(PALETTE)  # colour index -> name, in this order
OBJECTS: tuple[str, ...] = ("sun", "house", "tree", "flower", "boat")  # object index -> name
PAPER: tuple[int, int, int] = (248, 243, 230)  # off-white drawing paper

SIZES = (16, 64)  # smallest and largest picture side accepted, in pixels
_SUPERSAMPLE = 4  # shapes are drawn on a grid 4x finer, then averaged down (anti-aliasing)

# The vocabulary: id 0 pads a prompt to PROMPT_LENGTH, id 1 is the null prompt of classifier-free guidance
# (the "no request" the model also learns, Lesson 5); then the words the prompts use.
PAD, NULL = "<pad>", "<null>"
VOCAB: tuple[str, ...] = (PAD, NULL, "a", "an", *COLOURS, *OBJECTS)
PAD_ID, NULL_ID = 0, 1
PROMPT_LENGTH = 3  # "a red house", "an orange boat": every prompt the generator writes has 3 words
WORD_TO_ID: dict[str, int] = {w: i for i, w in enumerate(VOCAB)}


def prompt_for(colour: str, obj: str) -> str:
    """The prompt for one colour and one object: ``prompt_for("orange", "boat") == "an orange boat"``."""
    _check_name(colour, COLOURS, "colour")
    _check_name(obj, OBJECTS, "object")
    return f"{'an' if colour[0] in 'aeiou' else 'a'} {colour} {obj}"


def _check_name(name, names: tuple[str, ...], what: str) -> int:
    if not isinstance(name, str) or name not in names:
        raise ValueError(f"{what} must be one of {', '.join(names)}; got {name!r}.")
    return names.index(name)


def _vocab_sentence() -> str:
    return (f"The words I know are: a, an; colours: {', '.join(COLOURS)}; objects: {', '.join(OBJECTS)}. "
            'Try for example "a red house" or "a purple tree".')


# ---------------------------------------------------------------- tokenizer

def tokenize(prompt: str | list[str], *, length: int = PROMPT_LENGTH) -> torch.Tensor:
    """A prompt as word ids, padded with PAD_ID to ``length``: "a red house" -> tensor([2, 4, 13]) (Lesson 7).

    Case does not matter and punctuation is ignored ("A RED house!" reads as "a red house"). A list of prompts
    gives a (n, length) tensor. Unknown words, empty prompts and prompts longer than ``length`` words raise a
    ValueError that lists the vocabulary. For the null prompt (no request) use ``null_tokens``.

    A prompt asks for one drawing: at most one colour and at most one object (a word may repeat), at least one of
    the two, and "a" or "an" at most once. Anything else raises a ValueError rather than drawing something else
    without a word: a symbol or a digit ("a 🔴 house" would read as "a house", drawn in any colour), an article
    alone ("a": the model draws whatever its null-like request gives), two colours or two objects ("red blue
    house", "a sun house": the mean of the words' vectors is neither).
    Returns a torch.long tensor of shape (length,), or (n, length) for a list.
    """
    if not is_int(length) or int(length) < 1:
        raise ValueError(f"length must be a positive int (the number of word slots), got {length!r}.")
    length = int(length)
    if isinstance(prompt, (list, tuple)):
        if len(prompt) == 0:
            raise ValueError("tokenize got an empty list of prompts: give at least one prompt, e.g. ['a red house'].")
        return torch.stack([tokenize(p, length=length) for p in prompt])
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a string such as 'a red house' (or a list of them), "
                        f"got {type(prompt).__name__}.")
    odd = [c for c in dict.fromkeys(prompt) if not (c.isascii() and (c.isalpha() or c.isspace() or c in _PUNCTUATION))]
    if odd:  # an emoji, a digit, a letter outside a-z: dropping it would draw something the prompt did not ask for
        listed = ", ".join(repr(c) for c in odd)
        raise ValueError(f"The prompt {prompt!r} holds {listed}: a prompt holds words only (spaces and punctuation "
                         f"are ignored). {_vocab_sentence()}")
    words = re.findall(r"[a-z]+", prompt.lower())  # lower case; anything but letters separates words
    if not words:
        raise ValueError(f"The prompt {prompt!r} has no words. {_vocab_sentence()} "
                         "(For classifier-free guidance's empty request use null_tokens().)")
    unknown = [w for w in words if w not in WORD_TO_ID or w in (PAD, NULL)]
    if unknown:
        listed = ", ".join(repr(w) for w in dict.fromkeys(unknown))
        raise ValueError(f"I don't know the word{'s' if len(unknown) > 1 else ''} {listed} in {prompt!r}. "
                         f"{_vocab_sentence()}")
    if len(words) > length:
        raise ValueError(f"The prompt {prompt!r} has {len(words)} words; at most {length} fit "
                         f"(like \"a red house\"). {_vocab_sentence()}")
    _check_request(prompt, words)
    ids = [WORD_TO_ID[w] for w in words] + [PAD_ID] * (length - len(words))
    return torch.tensor(ids, dtype=torch.long)


_PUNCTUATION = set(string.punctuation)


def _check_request(prompt: str, words: list[str]) -> None:
    """One drawing's request: at most one colour and one object (repeats allowed), at least one of them, at most one
    article. Anything else would be drawn as something the prompt did not ask for."""
    colours = list(dict.fromkeys(w for w in words if w in COLOURS))
    objects = list(dict.fromkeys(w for w in words if w in OBJECTS))
    articles = [w for w in words if w in ("a", "an")]
    if len(colours) > 1 or len(objects) > 1:
        both = " and ".join(repr(w) for w in (colours if len(colours) > 1 else objects))
        kind = "colours" if len(colours) > 1 else "objects"
        raise ValueError(f"The prompt {prompt!r} names two {kind}, {both}: a prompt asks for one drawing, at most one "
                         f"colour and one object. {_vocab_sentence()}")
    if not colours and not objects:
        raise ValueError(f"The prompt {prompt!r} names no colour and no object: a prompt asks for a colour, an object "
                         f"or both. {_vocab_sentence()}")
    if len(articles) > 1:
        raise ValueError(f"The prompt {prompt!r} has {len(articles)} articles: use 'a' or 'an' at most once, first. "
                         f"{_vocab_sentence()}")


def null_tokens(n: int | None = None, *, length: int = PROMPT_LENGTH) -> torch.Tensor:
    """The null prompt (no request) of classifier-free guidance: [NULL_ID, PAD_ID, ...], (length,) or (n, length)."""
    if not is_int(length) or int(length) < 1:
        raise ValueError(f"length must be a positive int, got {length!r}.")
    ids = torch.full((int(length),), PAD_ID, dtype=torch.long)
    ids[0] = NULL_ID
    if n is None:
        return ids
    if not is_int(n) or int(n) < 1:
        raise ValueError(f"n must be a positive int (how many null prompts), got {n!r}.")
    return ids.expand(int(n), -1).clone()


def detokenize(ids: torch.Tensor) -> str | list[str]:
    """Word ids back to text, padding dropped: (length,) -> "a red house"; (n, length) -> a list of n strings."""
    if not isinstance(ids, torch.Tensor) or torch.is_floating_point(ids) or ids.dtype == torch.bool:
        raise TypeError(f"ids must be an integer tensor from tokenize(), got {type(ids).__name__}"
                        f"{' of dtype ' + str(ids.dtype) if isinstance(ids, torch.Tensor) else ''}.")
    if ids.ndim == 2:
        return [detokenize(row) for row in ids]
    if ids.ndim != 1:
        raise ValueError(f"ids must be shaped (length,) or (n, length), got shape {tuple(ids.shape)}.")
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= len(VOCAB)):
        raise ValueError(f"ids must lie in 0..{len(VOCAB) - 1} (the vocabulary has {len(VOCAB)} entries), "
                         f"got values from {int(ids.min())} to {int(ids.max())}.")
    return " ".join(VOCAB[i] for i in ids.tolist() if i != PAD_ID)


# ---------------------------------------------------------------- the data set

@dataclass
class Drawings:
    """Crayon drawings and their labels: ``images`` (n, 3, H, W) float32 in [-1, 1] (paper is near +1),
    ``prompts`` (n strings), ``colours`` and ``objects`` (n,) long, indices into COLOURS and OBJECTS."""

    images: torch.Tensor
    prompts: list[str]
    colours: torch.Tensor
    objects: torch.Tensor

    def __len__(self) -> int:
        return len(self.prompts)

    @property
    def tokens(self) -> torch.Tensor:
        """The prompts as word ids, (n, PROMPT_LENGTH) long."""
        return tokenize(self.prompts)


def _check_pairs(pairs, name: str) -> list[tuple[int, int]]:
    if isinstance(pairs, (str, bytes)) or not hasattr(pairs, "__iter__"):
        raise TypeError(f"{name} must be a list of (colour, object) pairs such as [('purple', 'tree')], "
                        f"got {type(pairs).__name__}.")
    out = []
    for p in pairs:
        if not isinstance(p, (tuple, list)) or len(p) != 2:
            raise ValueError(f"{name} must hold (colour, object) pairs such as ('purple', 'tree'), got {p!r}. "
                             f"For one pair write {name}=[('red', 'house')].")
        out.append((_check_name(p[0], COLOURS, f"the colour in {name}"),
                    _check_name(p[1], OBJECTS, f"the object in {name}")))
    return out


def make_drawings(n: int, size: int = 16, seed: int = 0, *, pairs=None, exclude=None) -> Drawings:
    """``n`` crayon drawings of side ``size`` pixels with their prompts (Lesson 7); same seed, same pictures.

    Every (colour, object) pair is drawn equally often (each run of 40 pictures holds each pair once, in a random
    order). ``pairs``: draw only these, e.g. ``[("red", "house")]``; ``exclude``: never draw these (to keep
    some combinations out of training, e.g. ``[("purple", "tree"), ("green", "sun")]``).
    Returns Drawings with images (n, 3, size, size) float32 in [-1, 1], prompts, colours (n,), objects (n,).
    """
    if not is_int(n) or int(n) < 1:
        raise ValueError(f"n must be a positive int (how many drawings), got {n!r}.")
    if not is_int(size) or not SIZES[0] <= int(size) <= SIZES[1]:
        raise ValueError(f"size must be an int from {SIZES[0]} to {SIZES[1]} pixels (16, 24 or 32 are usual), "
                         f"got {size!r}.")
    if not is_int(seed) or not 0 <= int(seed) < 2**63:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}.")
    n, size, seed = int(n), int(size), int(seed)
    allowed = [(c, o) for c in range(len(COLOURS)) for o in range(len(OBJECTS))]
    if pairs is not None:
        allowed = list(dict.fromkeys(_check_pairs(pairs, "pairs")))
    if exclude is not None:
        ex = set(_check_pairs(exclude, "exclude"))
        allowed = [p for p in allowed if p not in ex]
    if not allowed:
        why = "'pairs' is empty" if pairs is not None and not list(pairs) else "'exclude' removes every pair"
        raise ValueError(f"No (colour, object) pair is left to draw: {why}.")

    rng = np.random.default_rng(seed)
    reps = -(-n // len(allowed))
    order = np.concatenate([rng.permutation(len(allowed)) for _ in range(reps)])[:n]
    colour_idx = np.array([allowed[k][0] for k in order], dtype=np.int64)
    object_idx = np.array([allowed[k][1] for k in order], dtype=np.int64)
    params = _draw_params(rng, n)
    images = np.empty((n, 3, size, size), dtype=np.float32)
    grid = _grid(size)
    chunk = max(1, 2**21 // (size * _SUPERSAMPLE) ** 2)  # about 2 M fine pixels a chunk: fast, little memory
    for k, draw in enumerate(_DRAW):
        where = np.flatnonzero(object_idx == k)
        for start in range(0, where.size, chunk):
            idx = where[start:start + chunk]
            # a child generator per chunk, keyed by the first picture's index: the grain does not depend on
            # the order in which the chunks are drawn
            g = np.random.default_rng([seed, int(idx[0])])
            images[idx] = _render(draw, grid, {k2: v[idx] for k2, v in params.items()}, colour_idx[idx], size, g)
    prompts = [prompt_for(COLOURS[c], OBJECTS[o]) for c, o in zip(colour_idx, object_idx, strict=True)]
    return Drawings(torch.from_numpy(images), prompts, torch.from_numpy(colour_idx), torch.from_numpy(object_idx))


# ---------------------------------------------------------------- drawing (plumbing)

def _draw_params(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Random placement and small variations, one value per picture, drawn in a fixed order."""
    u = rng.random((n, 12))
    scale = 0.62 + 0.3 * u[:, 0]  # the object's box is 62-92 % of the picture's side
    aspect = 0.9 + 0.2 * u[:, 1]  # a little wider or narrower
    half_w, half_h = 0.5 * scale * aspect, 0.5 * scale
    margin = 0.03
    cx = margin + half_w + (1 - 2 * margin - 2 * half_w).clip(0) * u[:, 2]
    cy = margin + half_h + (1 - 2 * margin - 2 * half_h).clip(0) * u[:, 3]
    return {
        "scale": scale, "aspect": aspect, "cx": cx, "cy": cy,
        "angle": (u[:, 4] - 0.5) * 0.24,  # tilted by up to about 7 degrees
        "shade": 0.95 + 0.07 * u[:, 5],  # the same crayon pressed a little harder or softer
        "a": u[:, 6], "b": u[:, 7], "c": u[:, 8], "d": u[:, 9],  # shape variations, used per object
        "paper": 0.985 + 0.015 * u[:, 10],  # the paper's brightness
        "hatch": u[:, 11] * np.pi,  # direction of the crayon strokes
    }


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the fine grid in picture units, x to the right and y up, each (1, S, S)."""
    s = size * _SUPERSAMPLE
    t = (np.arange(s, dtype=np.float32) + 0.5) / s
    return t[None, None, :].repeat(s, 1), (1 - t)[None, :, None].repeat(s, 2)


def _col(p: np.ndarray) -> np.ndarray:
    return p[:, None, None].astype(np.float32)  # (m,) -> (m, 1, 1), to broadcast over the fine grid


def _disc(x, y, cx, cy, r):
    return (x - cx) ** 2 + (y - cy) ** 2 <= r**2


def _box(x, y, x0, x1, y0, y1):
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def _triangle(x, y, p0, p1, p2):
    """Inside the triangle p0 p1 p2 (each an (x, y) pair of arrays); either orientation."""
    def side(a, b):
        return (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0])
    s0, s1, s2 = side(p0, p1), side(p1, p2), side(p2, p0)
    return ((s0 >= 0) & (s1 >= 0) & (s2 >= 0)) | ((s0 <= 0) & (s1 <= 0) & (s2 <= 0))


# Each object is drawn in a local frame: its box is [-0.5, 0.5] x [-0.5, 0.5]. A draw function returns layers
# (mask, colour) painted in order; colour is "main" (the named colour), a palette name, or "paper".

def _sun(x, y, p):
    r = _col(0.2 + 0.06 * p["a"])  # disc radius
    rays = np.floor(7 + 4 * p["b"])[:, None, None]  # 7 to 10 rays
    phase = _col(p["c"] * 2 * np.pi)
    rad = np.sqrt(x**2 + y**2)
    ang = np.arctan2(y, x) - phase
    step = 2 * np.pi / rays
    off = (ang - step * np.round(ang / step)) * rad  # distance across the nearest ray
    ray = (np.abs(off) <= 0.055) & (rad >= r + 0.07) & (rad <= 0.5)
    return [((rad <= r) | ray, "main")]


def _house(x, y, p):
    w = _col(0.3 + 0.06 * p["a"])  # half-width of the walls
    eave = _col(-0.02 + 0.1 * p["b"])  # where the walls end and the roof starts
    walls = _box(x, y, -w, w, -0.5, eave)
    roof = _triangle(x, y, (-w - 0.09, eave), (w + 0.09, eave), (_col(0.08 * (p["c"] - 0.5)), 0.5))
    side = np.where(p["d"] < 0.5, -1.0, 1.0)
    dx = _col(side * 0.14)
    door = _box(x, y, dx - 0.075, dx + 0.075, -0.5, -0.18)
    wy = _col(-0.12 + 0.06 * p["c"])
    window = _box(x, y, -dx - 0.08, -dx + 0.08, wy - 0.08, wy + 0.08)
    return [(walls | roof, "main"), (door | window, "paper")]


def _tree(x, y, p):
    tw = _col(0.065 + 0.025 * p["a"])  # half-width of the trunk
    trunk = _box(x, y, -tw, tw, -0.5, 0.0)
    r = _col(0.2 + 0.04 * p["b"])
    lean = _col(0.06 * (p["c"] - 0.5))
    crown = (_disc(x, y, lean, 0.5 - r, r) | _disc(x, y, lean - 0.17, 0.12 + 0.02 * _col(p["d"]), r * 0.9)
             | _disc(x, y, lean + 0.17, 0.12 + 0.02 * _col(p["a"]), r * 0.9) | _disc(x, y, lean, 0.15, r))
    return [(trunk, "brown"), (crown, "main")]


def _flower(x, y, p):
    hx, hy = _col(0.05 * (p["c"] - 0.5)), np.float32(0.2)  # centre of the flower head
    stem = _box(x, y, -0.045, 0.045, -0.5, 0.1)
    lx = _col(np.where(p["d"] < 0.5, -0.13, 0.13))
    leaf = ((x - lx) / 0.14) ** 2 + ((y + 0.2 + 0.5 * (x - lx) * np.sign(lx)) / 0.065) ** 2 <= 1
    petals = np.floor(5 + 2 * p["a"])[:, None, None]  # 5 or 6 petals
    turn = _col(p["b"] * 2 * np.pi)
    head = np.zeros(np.broadcast_shapes(x.shape, hx.shape), dtype=bool)
    for k in range(6):
        a = turn + 2 * np.pi * k / petals
        head |= _disc(x, y, hx + 0.17 * np.cos(a), hy + 0.17 * np.sin(a), 0.12) & (k < petals)
    centre = _disc(x, y, hx, hy, 0.095)
    return [(stem | leaf, "green"), (head, "main"), (centre, "centre")]


def _boat(x, y, p):
    top, deck = _col(0.42 + 0.08 * p["a"]), np.float32(-0.18)
    hull = _triangle(x, y, (-top, deck), (top, deck), (-top + 0.16, -0.45)) | _triangle(
        x, y, (top, deck), (top - 0.16, -0.45), (-top + 0.16, -0.45))
    mx = _col(-0.06 + 0.08 * (p["b"] - 0.5))
    mast = _box(x, y, mx - 0.035, mx + 0.035, deck, 0.5)
    sail = _triangle(x, y, (mx + 0.06, deck + 0.06), (mx + 0.06, 0.48), (mx + 0.34 + 0.06 * _col(p["c"]), deck + 0.06))
    jib = _triangle(x, y, (mx - 0.06, deck + 0.06), (mx - 0.06, 0.3 + 0.1 * _col(p["d"])), (mx - 0.3, deck + 0.06))
    return [(mast, "black"), (hull | sail | jib, "main")]


_DRAW = (_sun, _house, _tree, _flower, _boat)  # in the order of OBJECTS
_RGB = {name: np.array(rgb, dtype=np.float32) / 255 for name, rgb in PALETTE.items()}
_PAPER = np.array(PAPER, dtype=np.float32) / 255


def _render(draw, grid, p, colours, size, g: np.random.Generator) -> np.ndarray:
    """Draw m pictures of one object: (m, 3, size, size) float32 in [-1, 1]."""
    m, s = colours.size, size * _SUPERSAMPLE
    X, Y = grid
    # the object's local frame: centred, scaled, a little wider or narrower, tilted
    ca, sa = _col(np.cos(p["angle"])), _col(np.sin(p["angle"]))
    dx, dy = X - _col(p["cx"]), Y - _col(p["cy"])
    x = (ca * dx + sa * dy) / _col(p["scale"] * p["aspect"])
    y = (-sa * dx + ca * dy) / _col(p["scale"])
    main = np.stack([_RGB[COLOURS[c]] for c in colours]) * p["shade"][:, None].astype(np.float32)  # (m, 3)
    centre = np.stack([_RGB["orange" if COLOURS[c] == "yellow" else "yellow"] for c in colours])
    paper = _PAPER[None, :] * p["paper"][:, None].astype(np.float32)  # (m, 3)
    label = np.zeros((m, s, s), dtype=np.uint8)  # which layer's crayon covers each fine pixel; 0 = paper
    deltas = []  # per layer: crayon colour minus paper, (m, 3)
    for mask, name in draw(x, y, p):
        if name == "paper":  # left uncoloured
            label = np.where(mask, np.uint8(0), label)
            continue
        rgb = {"main": main, "centre": centre}.get(name)
        rgb = np.broadcast_to(_RGB[name], (m, 3)) if rgb is None else rgb
        deltas.append((rgb - paper).astype(np.float32))
        label = np.where(mask, np.uint8(len(deltas)), label)
    # crayon grain: wax sticks to the tops of the paper's tooth, so some specks keep the paper's colour; strokes
    # run in one direction. Pressure 1 = full colour; the grain moves a pixel only towards the paper.
    pressure = grain(g, p["hatch"], size)  # (m, s, s)
    pic = np.broadcast_to(paper[:, :, None, None], (m, 3, size, size)).copy()
    for k, delta in enumerate(deltas, start=1):
        # the share of each picture pixel this layer covers, weighted by the pressure: (m, size, size)
        cover = np.where(label == k, pressure, np.float32(0))
        cover = cover.reshape(m, size, _SUPERSAMPLE, size, _SUPERSAMPLE).mean(axis=(2, 4))
        pic += delta[:, :, None, None] * cover[:, None]
    return np.clip(2 * pic - 1, -1, 1).astype(np.float32)


def grain(g: np.random.Generator, hatch: np.ndarray, size: int) -> np.ndarray:
    """The crayon's pressure on the fine grid (4 cells a pixel), from 0.45 to 1: (m, 4 size, 4 size) float32.

    Wax sticks to the tops of the paper's tooth, so some specks keep the paper's colour; strokes run in the
    direction ``hatch`` (radians, one per picture). Used by the drawings and by Lesson 8's canvas (``canvas.py``).
    """
    m = len(hatch)
    gs, rep = 2 * size, _SUPERSAMPLE // 2  # grain cells are half a picture pixel
    speck = g.random((m, gs, gs), dtype=np.float32)
    t = (np.arange(gs, dtype=np.float32) + 0.5) / gs
    h = _col(np.asarray(hatch))
    stroke = 0.5 + 0.5 * np.sin((t[None, None, :] * np.cos(h) + t[None, :, None] * np.sin(h)) * (np.pi * size * 1.5))
    pressure = (1.0 - 0.55 * speck**2 * (0.4 + 0.6 * stroke)).astype(np.float32)  # (m, gs, gs)
    return pressure.repeat(rep, 1).repeat(rep, 2)  # (m, s, s)


# ---------------------------------------------------------------- the course's measures

_SHADES = np.stack([_RGB[c] for c in COLOURS]) - _PAPER  # (K, 3): from the paper towards each crayon
INK_THRESHOLD = 0.35  # a pixel counts as crayon when it is at least 35 % of the way from the paper to a colour


def colour_votes(images: torch.Tensor) -> torch.Tensor:
    """How much crayon of each colour a picture holds: (n, 3, H, W) in [-1, 1] -> (n, len(COLOURS)) float32.

    Each pixel is placed on the nearest line from the paper to a crayon colour (grain and anti-aliased edges
    move a pixel along its line, towards the paper); it votes for that colour with its amount of crayon,
    from 0 (paper) to 1 (full colour), if that amount is at least INK_THRESHOLD.
    """
    x = _check_rgb(images, "images").detach().cpu().float()
    if x.shape[0] > 1024:  # in chunks: the per-colour tensors below are (n, H*W, 8)
        return torch.cat([colour_votes(b) for b in x.split(1024)])
    rgb = ((x + 1) / 2).permute(0, 2, 3, 1).reshape(x.shape[0], -1, 3)  # (n, HW, 3)
    d = rgb - torch.from_numpy(_PAPER)
    shades = torch.from_numpy(_SHADES)  # (K, 3)
    dv, vv = d @ shades.T, (shades**2).sum(1)  # (n, HW, K), (K,)
    amount = (dv / vv).clamp(0, 1)  # (n, HW, K): how far along each line, 0 = paper, 1 = full colour
    resid = (d**2).sum(-1, keepdim=True) - 2 * amount * dv + amount**2 * vv  # |d - amount * shade|^2: off the line
    best = resid.argmin(-1)  # (n, HW)
    a = amount.gather(-1, best[..., None])[..., 0]
    a = torch.where(a >= INK_THRESHOLD, a, torch.zeros_like(a))
    votes = torch.zeros(x.shape[0], len(COLOURS))
    return votes.scatter_add_(1, best, a)


def read_colour(images: torch.Tensor) -> torch.Tensor:
    """The colour of each drawing, read from its pixels: (n, 3, H, W) in [-1, 1] -> (n,) long, indices into COLOURS.

    The colour with the most crayon (``colour_votes``); the object's main part is several times larger than
    its natural parts, so that colour is the one a prompt names. A blank page reads as the colour with the
    most (near zero) votes: check ``colour_votes(images).sum(1)`` if blank pictures matter.
    """
    return colour_votes(images).argmax(1)


def _check_rgb(images, name: str) -> torch.Tensor:
    x = as_float_tensor(images, name)
    check_image_batch(x, name)
    if x.shape[1] != 3:
        raise ValueError(f"{name} must be colour pictures shaped (n, 3, H, W), got {x.shape[1]} channel(s) "
                         f"(shape {tuple(x.shape)}).")
    if x.shape[0] == 0:
        raise ValueError(f"{name} holds no pictures (shape {tuple(x.shape)}).")
    return x


# The object reader: a small CNN trained on the generator's own drawings (every size is first averaged down to
# 16 x 16 pixels, so one reader serves every size). It ships as course_utils/weights/crayon_reader.safetensors
# (about 100 KB), made by scripts/train_crayon_reader.py with train_object_reader(); if the file is missing it
# is trained on first use (a minute or two on a laptop CPU). Its training pictures come from a seed no lesson uses.
READER_FILE = Path(__file__).parent / "weights" / "crayon_reader.safetensors"
READER_INPUT = 16  # pictures are averaged down to 16 x 16 before the reader looks at them
READER_SEED = 7_000_001
READER_SIZES = (16, 24, 32)  # drawn at these sizes, all averaged down to 16 x 16 for training


def _reader_net() -> torch.nn.Module:
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),  # (n, 16, 16, 16)
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),  # (n, 32, 8, 8)
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),  # (n, 64, 4, 4)
        nn.Conv2d(64, 64, 3, stride=2, padding=1), nn.ReLU(),  # (n, 64, 2, 2)
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, len(OBJECTS)),  # (n, 5) logits
    )


def _reader_input(x: torch.Tensor) -> torch.Tensor:
    x = x.detach().cpu().float()
    if x.shape[-1] != READER_INPUT:
        x = torch.nn.functional.interpolate(x, size=(READER_INPUT, READER_INPUT), mode="area")
    return x


def train_object_reader(steps: int = 2000, per_size: int = 4000, seed: int = READER_SEED) -> torch.nn.Module:
    """Train the object reader on fresh drawings (READER_SIZES, averaged down to 16 x 16): the shipped recipe.

    Adam with a one-cycle learning rate, batches of 128, a little random static added to half of each batch
    (so that a model's slightly noisy samples are read as well as clean drawings). Deterministic for a seed.
    """
    data = [make_drawings(per_size, s, seed=seed + s) for s in READER_SIZES]
    x = torch.cat([_reader_input(d.images) for d in data])  # (3 * per_size, 3, 16, 16)
    y = torch.cat([d.objects for d in data])
    with torch.random.fork_rng(devices=[]):  # our seed, without touching the caller's random state
        torch.manual_seed(seed)
        net = _reader_net()
        opt = torch.optim.Adam(net.parameters(), lr=3e-3)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
        for _ in range(steps):
            idx = torch.randint(0, x.shape[0], (128,))
            noise = 0.15 * torch.rand(128, 1, 1, 1) * (torch.rand(128, 1, 1, 1) < 0.5)
            xb = x[idx] + noise * torch.randn_like(x[idx])
            loss = torch.nn.functional.cross_entropy(net(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return net.eval()


@functools.lru_cache(maxsize=1)
def object_reader() -> torch.nn.Module:
    """The object classifier behind ``read_object``: loaded from READER_FILE (trained if it is missing), then kept."""
    if not READER_FILE.is_file():
        return train_object_reader()
    from safetensors.torch import load_file

    net = _reader_net()
    state = load_file(str(READER_FILE))
    expected = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    if {k: tuple(v.shape) for k, v in state.items()} != expected:
        raise RuntimeError(f"{READER_FILE} does not hold the object reader's weights (names or shapes differ); "
                           "remake it with scripts/train_crayon_reader.py.")
    net.load_state_dict(state)
    return net.eval()


def read_object(images: torch.Tensor) -> torch.Tensor:
    """What each drawing shows: (n, 3, H, W) in [-1, 1] -> (n,) long, indices into OBJECTS.

    A small CNN trained on this generator's drawings (``object_reader``); pictures are averaged down to 16 x 16
    pixels first, so it reads every size from 16 to 64.
    """
    x = _check_rgb(images, "images")
    if x.shape[2] != x.shape[3] or not SIZES[0] <= x.shape[2] <= SIZES[1]:
        raise ValueError(f"images must be square, {SIZES[0]} to {SIZES[1]} pixels a side (as make_drawings draws "
                         f"them), got shape {tuple(x.shape)}.")
    net = object_reader()
    with torch.no_grad():
        out = [net(_reader_input(b)).argmax(1) for b in x.split(1024)]
    return torch.cat(out)
