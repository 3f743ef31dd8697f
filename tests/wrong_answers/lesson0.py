# ruff: noqa: E501  (one wrong answer per line reads better)
"""Wrong answers for Lesson 0 (notebooks/00_welcome.ipynb): each check must catch them with a one-line message.

For every exercise function, a list of (code that replaces the solution region, a fragment the check's
one-line message must contain). ``RIGHT_ANSWERS``: other correct ways to write it, which must pass.
"""

WRONG_ANSWERS = {
    "to_model_range": [
        ("x = pixels / 255", "in [0, 1]"),
        ("x = pixels.double() / 127.5 - 1", "dtype float32"),
        ("x = pixels / 127.5", "in [0, 2]"),
        ("x = 1 - pixels / 127.5", "swapped"),
        ("x = pixels / 255 - 0.5", "[-0.5, 0.5]"),
        ("x = pixels.tolist()", "expected a torch.Tensor"),
        ("x = torch.zeros_like(pixels)", "all zeros"),
        ('x = 2 * pixels / 255 - 1', 'wrong on uint8 pixels'),
        ('x = pixels.clone()\nx /= 127.5\nx -= 1', 'in-place arithmetic on integer pixels'),
        ('x = pixels / 128 - 1', 'not by 128'),
        ('x = (2 * pixels - 255) / 255', 'wraps around'),
    ],
}

RIGHT_ANSWERS: dict[str, list[str]] = {
    "to_model_range": [
        'x = pixels / 127.5 - 1',
        'x = 2 * pixels.float() / 255 - 1',
        'x = 2 * (pixels / 255) - 1',
    ],
}
