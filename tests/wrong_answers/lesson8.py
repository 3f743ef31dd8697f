# ruff: noqa: E501  (one wrong answer per line reads better)
"""Wrong answers for Lesson 8 (notebooks/08_your_drawing.ipynb): each check must catch them with a one-line message.

For every exercise function, a list of (code that replaces the solution region, a fragment the check's
one-line message must contain). ``RIGHT_ANSWERS``: other correct ways to write it, which must pass.
"""

_K = "n = len(process.timesteps)\nk = min(int(n * strength), n)\n"
_TS = _K + "timesteps = process.timesteps[n - k:]\n"
_FULL = "torch.full((x0.shape[0],), int(timesteps[0]))"
_SMUDGE = f"x_start = x0.clone() if k == 0 else process.add_noise(x0, noise, {_FULL})"


def _start(timesteps: str, k: str = _K) -> str:
    """The solution's smudge after another way of choosing the timesteps."""
    return k + f"timesteps = {timesteps}\n" + _SMUDGE


def _smudged(x_start: str) -> str:
    """The solution's timesteps, then another x_start where a step runs."""
    return _TS + f"x_start = x0.clone() if k == 0 else {x_start}"


_KNOWN = "known = x0 if s < 0 else process.add_noise(x0, noise, torch.full((x0.shape[0],), s))\n"

WRONG_ANSWERS = {
    "blur_then_static": [
        ("x_t = None", "returned None"),
        ("a = process.scheduler.alphas[t]\nx_t = a.sqrt() * process.blur_only(x0, t) + (1 - a).sqrt() * noise", "you used alpha_t, one step's share"),
        ("abar = process.alphas_cumprod[t]\nx_t = (1 - abar).sqrt() * process.blur_only(x0, t) + abar.sqrt() * noise", "the weights are swapped"),
        ("tt = torch.full((x0.shape[0],), t)\nabar = process.alphas_cumprod[t]\nx_t = process.blur_only(abar.sqrt() * x0 + (1 - abar).sqrt() * noise, tt)", "added the static first and then blurred"),
        ("abar = process.alphas_cumprod[t]\nx_t = abar.sqrt() * x0 + (1 - abar).sqrt() * noise", "there is no blur"),
        ("tt = torch.full((x0.shape[0],), t)\nabar = process.alphas_cumprod[t]\nx_t = abar.sqrt() * process.blur_only(x0, tt)", "there is no static"),
        ("tt = torch.full((x0.shape[0],), t)\nx_t = process.blur_only(x0, tt) + noise", "blurred without scaling"),
        ("tt = torch.full((x0.shape[0],), t)\nabar = process.alphas_cumprod[t]\nx_t = abar * process.blur_only(x0, tt) + (1 - abar) * noise", "where eq. 1.9 has its square root"),
        ("tt = torch.full((x0.shape[0],), t)\nabar = process.alphas_cumprod[t]\nx_t = abar.sqrt() * process.blur_only(x0, tt) + noise", "added the static with weight 1"),
        ("tt = torch.full((x0.shape[0],), max(t - 1, 0))\nabar = process.alphas_cumprod[max(t - 1, 0)]\nx_t = abar.sqrt() * process.blur_only(x0, tt) + (1 - abar).sqrt() * noise", "step t - 1's numbers"),
        ("tt = torch.full((x0.shape[0],), t)\nabar = process.alphas_cumprod[t].double()\nx_t = abar.sqrt() * process.blur_only(x0, tt).double() + (1 - abar).sqrt() * noise.double()", "dtype float32"),
    ],
    "img2img_start": [
        (_start("process.timesteps[:k]"), "image to image runs the LAST ones"),
        (_start("process.timesteps[n - k:]", "n = len(process.timesteps)\nk = min(int(n * (1 - strength)), n)\n"), "not int(n * (1 - strength))"),
        (_start("process.timesteps[int(n * strength):]"), "skips int(n * strength) steps"),
        (_start("process.timesteps[n - k:]", "n = len(process.timesteps)\nk = min(round(n * strength), n)\n"), "not round(7.6) = 8"),
        (_start("process.timesteps[-k:]"), "process.timesteps[-k:] is the whole grid"),
        (_start("process.timesteps[n - k:].flip(0)"), "keep the order of process.timesteps"),
        (_start("process.timesteps[n - k - 1:]"), "one step too many"),
        (_TS + "x_start = noise.clone()", "x_start is the noise alone"),
        (_TS + "x_start = x0.clone()", "x_start is x0 unchanged, though steps run"),
        (_smudged(f"process.scheduler.add_noise(x0, noise, {_FULL})"), "the blur-to-static process also blurs: use process.add_noise"),
        (_TS + "if k == 0:\n    x_start = x0.clone()\nelse:\n    abar = process.alphas_cumprod[int(timesteps[0])]\n    x_start = abar.sqrt() * x0 + (1 - abar).sqrt() * noise", "the blur-to-static process also blurs: use process.add_noise"),
        (_smudged("process.add_noise(x0, noise, torch.full((x0.shape[0],), int(strength * process.num_train_timesteps)))"), "you smudged to t = int(strength * T)"),
        (_smudged("process.add_noise(x0, noise, torch.full((x0.shape[0],), int(timesteps[-1])))"), "smudged to the last timestep that runs"),
        (_smudged("process.add_noise(x0, noise, torch.full((x0.shape[0],), int(process.timesteps[0])))"), "smudged to the top of the grid"),
        (_TS + f"x_start = process.add_noise(x0, noise, {_FULL})", "no step runs and timesteps is empty"),
        (_TS + "x_start = x0\nif k > 0:\n    x_start[:] = process.add_noise(x0, noise, torch.full((x0.shape[0],), int(timesteps[0])))", "changed one of its inputs in place"),
        (_smudged("process.add_noise(x0, torch.randn_like(x0), torch.full((x0.shape[0],), int(timesteps[0])))"), "draws its own random numbers"),
        (_smudged(f"process.add_noise(x0.double(), noise.double(), {_FULL})"), "dtype float32"),
        (_K + "timesteps = process.timesteps.tolist()[n - k:]\nx_start = x0.clone() if k == 0 else process.add_noise(x0, noise, torch.full((x0.shape[0],), timesteps[0]))", "timesteps is a list"),
        (_K + "timesteps = process.timesteps[n - k:] if k > 0 else torch.tensor([])\n" + _SMUDGE, "torch.tensor([]) is float32"),
        (_K + "process.set_timesteps(max(k, 1))\ntimesteps = process.timesteps\n" + _SMUDGE, "changed process.timesteps"),
        ("timesteps, x_start = None, None", "returned None"),
    ],
    "inpaint_merge": [
        (_KNOWN + "merged = (1 - mask) * x_s + mask * known", "the mask is inverted"),
        ("merged = mask * x_s + (1 - mask) * x0", "the kept part is x0 as it is at every step"),
        ("known = x0 if s <= 0 else process.add_noise(x0, noise, torch.full((x0.shape[0],), s))\nmerged = mask * x_s + (1 - mask) * known", "s = 0 is a real timestep"),
        ("known = process.add_noise(x0, noise, torch.full((x0.shape[0],), s))\nmerged = mask * x_s + (1 - mask) * known", "after the last step s is -1: keep x0 itself"),
        ("known = process.add_noise(x0, noise, torch.full((x0.shape[0],), max(s, 0)))\nmerged = mask * x_s + (1 - mask) * known", "after the last step s is -1: keep x0 itself"),
        ("known = x0 if s < 0 else process.scheduler.add_noise(x0, noise, torch.full((x0.shape[0],), s))\nmerged = mask * x_s + (1 - mask) * known", "the blur-to-static process also blurs: use process.add_noise"),
        (_KNOWN + "merged = x_s.clone()", "you returned x_s unchanged"),
        (_KNOWN + "merged = torch.where(mask > 0.5, x_s, known)", "the mask can be soft"),
        (_KNOWN + "merged = torch.where(mask.bool(), x_s, known)", "the mask can be soft"),
        (_KNOWN + "merged = x_s.mul_(mask).add_((1 - mask) * known)", "changed one of its inputs in place"),
        (_KNOWN + "merged = mask.double() * x_s + (1 - mask.double()) * known", "dtype float32"),
        ("known = x0 if s < 0 else process.add_noise(x0, torch.randn_like(x0), torch.full((x0.shape[0],), s))\nmerged = mask * x_s + (1 - mask) * known", "draws its own random numbers"),
        ("merged = None", "returned None"),
    ],
}

RIGHT_ANSWERS = {
    "blur_then_static": [
        "x_t = process.add_noise(x0, noise, torch.full((x0.shape[0],), t))",
        "import math\nabar = float(process.alphas_cumprod[t])\nx_t = math.sqrt(abar) * process.blur_only(x0, t) + math.sqrt(1 - abar) * noise",
    ],
    "img2img_start": [
        "from course_utils.img2img import smudge, strength_timesteps\ntimesteps = strength_timesteps(process, strength)\nx_start = smudge(process, x0, int(timesteps[0]), noise) if len(timesteps) else x0",
        "n = process.timesteps.shape[0]\nstart = n - min(int(n * strength), n)\ntimesteps = torch.tensor(process.timesteps.tolist()[start:], dtype=torch.long)\nx_start = x0 if start == n else process.add_noise(x0, noise, int(timesteps[0]))",
        "steps = int(len(process.timesteps) * strength)\ntimesteps = process.timesteps[len(process.timesteps) - steps:]\nx_start = process.add_noise(x0, noise, timesteps[:1].expand(len(x0))) if steps > 0 else x0.clone()",
    ],
    "inpaint_merge": [
        "from course_utils.img2img import inpaint_merge as merge\nmerged = merge(x_s, x0, mask, process, s, noise)",
        "known = x0 if s == -1 else process.add_noise(x0, noise, s)\nmerged = torch.lerp(known, x_s, mask)",
        "known = process.add_noise(x0, noise, torch.tensor([s])) if s >= 0 else x0\nmerged = x_s * mask + known * (1 - mask)",
    ],
}
