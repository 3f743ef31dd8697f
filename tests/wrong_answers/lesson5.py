# ruff: noqa: E501  (one wrong answer per line reads better)
"""Wrong answers for Lesson 5 (notebooks/05_asking_for_a_picture.ipynb): each check must catch them with a one-line message.

For every exercise function, a list of (code that replaces the solution region, a fragment the check's
one-line message must contain). ``RIGHT_ANSWERS``: other correct ways to write it, which must pass.
"""

_LOOP_START = "n = labels.shape[0]\nx = torch.randn((n, *shape), generator=generator)\nnull = torch.full_like(labels, model.num_classes)\n"
_LOOP = "for t in scheduler.timesteps.tolist():\n    tt = torch.full((n,), t)\n"
_STEP = "    x = scheduler.step(eps, t, x, generator=generator).prev_sample\n"

WRONG_ANSWERS = {
    "drop_labels": [
        ("y = torch.full_like(labels, null_label) if torch.rand(1, generator=generator) < p else labels.clone()", "whole batch"),
        ("drop = torch.rand(labels.shape[0], generator=generator) < p\ny = torch.where(drop, torch.zeros_like(labels), labels)", "0 is a real digit"),
        ("drop = torch.rand(labels.shape[0], generator=generator) < p\ny = torch.where(drop, torch.full_like(labels, null_label - 1), labels)", "not the null label"),
        ("drop = torch.rand(labels.shape[0], generator=generator) > p\ny = torch.where(drop, torch.full_like(labels, null_label), labels)", "share you should KEEP"),
        ("drop = torch.rand(labels.shape[0]) < p\ny = torch.where(drop, torch.full_like(labels, null_label), labels)", "draws its own random numbers"),
        ("y = labels\ny[torch.rand(labels.shape[0], generator=generator) < p] = null_label", "changed one of its inputs in place"),
        ("y = labels.clone()", "not one of 1,000 labels was dropped"),
        ("drop = torch.rand(labels.shape[0], generator=generator) < p\ny = torch.where(drop, float(null_label), labels.float())", "must stay integers"),
        ("drop = torch.rand(labels.shape[0], generator=generator) < p\ny = torch.where(drop, torch.full_like(labels, null_label), labels).int()", "torch.long (int64)"),
        ("drop = torch.rand(labels.shape[0], generator=generator) < p\ny = torch.where(drop, torch.full_like(labels, null_label), labels).numpy()", "expected a torch.Tensor"),
        ("y = None", "returned None"),
    ],
    "guided_eps": [
        ("eps = eps_uncond + (1 + w) * (eps_cond - eps_uncond)", "Ho & Salimans' form"),
        ("eps = (1 + w) * eps_cond - w * eps_uncond", "Ho & Salimans' form"),
        ("eps = eps_cond + w * (eps_cond - eps_uncond)", "Ho & Salimans' form"),  # the same as (1 + w) on the difference
        ("eps = w * eps_cond", "you scaled eps_y alone"),
        ("eps = eps_cond + w * (eps_uncond - eps_cond)", "toward the unconditional prediction"),
        ("eps = w * eps_uncond + (eps_cond - eps_uncond)", "the scale sits on the wrong term: you scaled eps_null"),
        ("eps = eps_uncond + w * eps_cond", "left out the difference"),
        ("eps = (eps_uncond + eps_cond) / 2", "averaged the two predictions"),
        ("eps = eps_uncond.double() + w * (eps_cond.double() - eps_uncond.double())", "dtype float32"),
        ("eps = None", "returned None"),
    ],
    "guided_sample_loop": [
        (_LOOP_START + _LOOP + "    eps = guided_eps(model(x, tt, torch.zeros_like(labels)), model(x, tt, labels), w)\n" + _STEP, "with label 0, a real digit"),
        (_LOOP_START + _LOOP + "    eps = model(x, tt, labels)\n" + _STEP, "never asked without the label"),
        (_LOOP_START + _LOOP + "    eps = guided_eps(model(x, tt), model(x, tt), w)\n" + _STEP, "never told the labels"),
        (_LOOP_START + _LOOP + "    eps = guided_eps(model(x, tt, null), model(x, tt, labels), 1 + w)\n" + _STEP, "Ho & Salimans' form"),
        (_LOOP_START + _LOOP + "    eps = guided_eps(model(x, tt, null), model(x, tt, labels), w)\n    x = scheduler.step(eps, t, x).prev_sample\n", "draws its own random numbers"),
        ("n = labels.shape[0]\nx = torch.randn((n, *shape))\nnull = torch.full_like(labels, model.num_classes)\n" + _LOOP + "    eps = guided_eps(model(x, tt, null), model(x, tt, labels), w)\n" + _STEP, "draws its own random numbers"),
        ("n = labels.shape[0]\nx = torch.randn((n, *shape), generator=generator)\nnull = torch.full_like(labels, model.num_classes)\nscheduler.set_timesteps(20)\n" + _LOOP + "    eps = guided_eps(model(x, tt, null), model(x, tt, labels), w)\n" + _STEP, "set_timesteps"),
        (_LOOP_START + _LOOP + "    eps = guided_eps(model(x, tt, labels), model(x, tt, null), w)\n" + _STEP, "predictions are swapped"),
        (_LOOP_START + _LOOP.replace("scheduler.timesteps.tolist()", "reversed(scheduler.timesteps.tolist())") + "    eps = guided_eps(model(x, tt, null), model(x, tt, labels), w)\n" + _STEP, "timesteps backwards"),
        (_LOOP_START + _LOOP + "    eps = guided_eps(model(x, tt, null), model(x, tt, labels), w)\n    x = scheduler.step(eps, t, x, generator=generator).pred_original_sample\n", "pred_original_sample"),
        (_LOOP_START.replace("torch.randn", "torch.rand") + _LOOP + "    eps = guided_eps(model(x, tt, null), model(x, tt, labels), w)\n" + _STEP, "uniform noise"),
        (_LOOP_START + _LOOP + "    eps = guided_eps(model(x, tt, null), model(x, tt, labels), w).double()\n" + _STEP, "samples are float64"),
        ("x = None", "returned None"),
        (_LOOP_START + _LOOP + "    eps = guided_eps(model(x, tt, null), model(x, tt, labels), w)\n    unused = model(x, tt, labels)\n" + _STEP, "twice per example and step"),
    ],
}

RIGHT_ANSWERS = {
    "drop_labels": [
        "y = labels.masked_fill(torch.rand(len(labels), generator=generator) < p, null_label)",
        "y = labels.clone()\ny[torch.rand(labels.shape[0], generator=generator) < p] = null_label",
    ],
    "guided_eps": [
        "eps = w * eps_cond + (1 - w) * eps_uncond",
        "eps = eps_cond + (w - 1) * (eps_cond - eps_uncond)",
        "eps = torch.lerp(eps_uncond, eps_cond, w)",
        "eps = (eps_uncond.double() + w * (eps_cond.double() - eps_uncond.double())).float()",
    ],
    "guided_sample_loop": [
        # the package's batched form: both questions in one call on 2n examples
        "n = labels.shape[0]\nx = torch.randn((n, *shape), generator=generator)\nnull = torch.full_like(labels, model.num_classes)\n"
        "for t in scheduler.timesteps:\n    tt = torch.full((2 * n,), int(t))\n    e_c, e_u = model(torch.cat([x, x]), tt, torch.cat([labels, null])).chunk(2)\n"
        "    x = scheduler.step(guided_eps(e_u, e_c, w), int(t), x, generator=generator).prev_sample",
        # batched the other way round, [null, labels], with timesteps as tensors
        "n = labels.shape[0]\nx = torch.randn(n, *shape, generator=generator)\nyy = torch.cat([torch.full_like(labels, model.num_classes), labels])\n"
        "for t in scheduler.timesteps:\n    out = model(torch.cat([x, x]), torch.full((2 * n,), int(t)), yy)\n    e0, e1 = out.chunk(2)\n"
        "    x = scheduler.step(guided_eps(e0, e1, w), t, x, generator=generator).prev_sample\nreturn x",
        # the null label as model(x, t) without y
        "n = labels.shape[0]\nx = torch.randn((n, *shape), generator=generator)\n"
        "for t in scheduler.timesteps.tolist():\n    tt = torch.full((n,), t)\n    eps = guided_eps(model(x, tt), model(x, tt, labels), w)\n"
        "    x = scheduler.step(eps, t, x, generator=generator).prev_sample",
    ],
}
