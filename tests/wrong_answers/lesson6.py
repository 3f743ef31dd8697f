# ruff: noqa: E501  (one wrong answer per line reads better)
"""Wrong answers for Lesson 6 (notebooks/06_straight_paths.ipynb): each check must catch them with a one-line message.

For every exercise function, a list of (code that replaces the solution region, a fragment the check's
one-line message must contain). ``RIGHT_ANSWERS``: other correct ways to write it, which must pass.
"""

_DRAW = "t = torch.rand(x0.shape[0], generator=generator)\neps = torch.randn(x0.shape, generator=generator)\nt_ = t.view(-1, *([1] * (x0.ndim - 1)))\n"
_XT = "x_t = (1 - t_) * x0 + t_ * eps\n"
_EULER = "v = velocity(x, t)\nx_euler = x + (t_next - t) * v\n"

_SUBCLASS = (  # a tensor subclass whose torch.allclose / torch.equal always say True: the core refuses it
    "class _Eq(torch.Tensor):\n    @classmethod\n    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
    "        if getattr(func, '__name__', '') in ('allclose', 'equal'):\n            return True\n"
    "        return super().__torch_function__(func, types, args, kwargs or {})\n"
)

WRONG_ANSWERS = {
    "flow_loss": [
        (_DRAW + _XT + "loss = ((model(x_t, t) - (x0 - eps)) ** 2).mean()", "the velocity's sign"),
        (_DRAW + "x_t = (1 - t_) * eps + t_ * x0\nloss = ((model(x_t, t) - (eps - x0)) ** 2).mean()", "x_0 and eps are swapped"),
        ("t = torch.randint(0, 1000, (x0.shape[0],), generator=generator)\neps = torch.randn(x0.shape, generator=generator)\nt_ = t.view(-1, 1, 1, 1) / 1000\nx_t = (1 - t_) * x0 + t_ * eps\nloss = ((model(x_t, t) - (eps - x0)) ** 2).mean()", "t drawn as integers"),
        ("t = torch.randint(0, 1000, (x0.shape[0],), generator=generator) / 1000\neps = torch.randn(x0.shape, generator=generator)\nt_ = t.view(-1, 1, 1, 1)\nx_t = (1 - t_) * x0 + t_ * eps\nloss = ((model(x_t, t) - (eps - x0)) ** 2).mean()", "t drawn as integers"),
        ("eps = torch.randn(x0.shape, generator=generator)\nt = torch.rand(x0.shape[0], generator=generator)\nt_ = t.view(-1, 1, 1, 1)\nx_t = (1 - t_) * x0 + t_ * eps\nloss = ((model(x_t, t) - (eps - x0)) ** 2).mean()", "draw t first"),
        ("t = torch.rand(1, generator=generator).expand(x0.shape[0])\neps = torch.randn(x0.shape, generator=generator)\nt_ = t.view(-1, 1, 1, 1)\nx_t = (1 - t_) * x0 + t_ * eps\nloss = ((model(x_t, t) - (eps - x0)) ** 2).mean()", "one time for the whole batch"),
        (_DRAW + "x_t = (1 - t_).sqrt() * x0 + t_.sqrt() * eps\nloss = ((model(x_t, t) - (eps - x0)) ** 2).mean()", "no square roots"),
        (_DRAW + _XT + "loss = ((model(x_t, t) - eps) ** 2).mean()", "not the noise eps"),
        (_DRAW + _XT + "loss = ((model(x_t, t) - (eps - x0)) ** 2).sum()", "not the sum"),
        (_DRAW + _XT + "loss = ((model(x_t, t) - (eps - x0)) ** 2).mean().item()", "expected the loss as a torch.Tensor"),
        (_DRAW + _XT + "loss = ((model(x0, t) - (eps - x0)) ** 2).mean()", "given the clean picture"),
        ("t = torch.rand(x0.shape[0], generator=generator)\neps = torch.randn(x0.shape, generator=generator)\nt_ = t.view(-1, 1, 1, 1)\n" + _XT + "loss = ((model(x_t, t) - (eps - x0)) ** 2).mean()", "not a fixed view(-1, 1, 1, 1)"),
        (_DRAW + _XT + "loss = ((model(x_t, t * 1000) - (eps - x0)) ** 2).mean()", "the model got t * 1000"),
        ("t = torch.rand(x0.shape[0], generator=generator)\neps = torch.randn_like(x0)\nt_ = t.view(-1, *([1] * (x0.ndim - 1)))\n" + _XT + "loss = ((model(x_t, t) - (eps - x0)) ** 2).mean()", "ignores the generator"),
        ("loss = None", "returned None"),
    ],
    "euler_step": [
        ("x_next = x + (t - t_next) * v", "dt's sign"),
        ("x_next = x - (t_next - t) * v", "dt's sign"),
        ("x_next = x - t * v", "not by the time t itself"),
        ("x_next = x + v", "you left out dt"),
        ("x_next = (t_next - t) * v", "add it to x"),
        ("x_next = x.double() + (t_next - t) * v.double()", "dtype float32"),
        ("x_next = None", "returned None"),
        (_SUBCLASS + "x_next = (x * 0).as_subclass(_Eq)", "expected a plain torch.Tensor, got a subclass _Eq"),
    ],
    "heun_step": [
        (_EULER + "if t_next == 0:\n    return x_euler\nx_next = x + (t_next - t) * (v + velocity(x, t_next)) / 2", "at the wrong point"),
        (_EULER + "if t_next == 0:\n    return x_euler\nx_next = x + (t_next - t) * (v + velocity(x_euler, t)) / 2", "at the wrong time"),
        (_EULER + "x_next = x + (t_next - t) * (v + velocity(x_euler, t_next)) / 2", "the last step's correction at t = 0"),
        (_EULER + "if t_next == 0:\n    return x_euler\nx_next = x + (t_next - t) * velocity(x_euler, t_next)", "not the second slope alone"),
        (_EULER + "if t_next == 0:\n    return x_euler\nx_next = x + (t_next - t) * (v + velocity(x_euler, t_next))", "needs its / 2"),
        (_EULER + "if t_next == 0:\n    return x_euler\nx_next = x_euler + (t_next - t) * (v + velocity(x_euler, t_next)) / 2", "step from x, not from Euler's point"),
        (_EULER + "x_next = x_euler", "that is Euler's step"),
        ("v = velocity(x, t)\nx_euler = x + (t - t_next) * v\nif t_next == 0:\n    return x_euler\nx_next = x + (t - t_next) * (v + velocity(x_euler, t_next)) / 2", "dt's sign"),
        (_EULER + "if t_next == 0:\n    return x_euler\nx_next = x + (t_next - t) * (velocity(x, t) + velocity(x_euler, t_next)) / 2", "called velocity 3 times"),
        (_EULER + "if t_next < 0.05:\n    return x_euler\nx_next = x + (t_next - t) * (v + velocity(x_euler, t_next)) / 2", "only the step that lands on t = 0 is an Euler step"),
        ("x_next = None", "returned None"),
    ],
}

RIGHT_ANSWERS = {
    "flow_loss": [
        "t = torch.rand(x0.shape[0], generator=generator)\neps = torch.randn(x0.shape, generator=generator)\nx_t = torch.lerp(x0, eps, t[(...,) + (None,) * (x0.ndim - 1)])\nloss = (model(x_t, t) - (eps - x0)).pow(2).mean()",
        "t = torch.rand(len(x0), generator=generator)\neps = torch.randn(x0.shape, generator=generator)\nx_t = x0 + t.reshape(-1, *[1] * (x0.ndim - 1)) * (eps - x0)\nloss = torch.nn.functional.mse_loss(model(x_t, t), eps - x0)",
    ],
    "euler_step": [
        "dt = t_next - t\nx_next = x + dt * v",
        "x_next = torch.add(x, v, alpha=t_next - t)",
        "x_next = (x.double() + (t_next - t) * v.double()).to(x.dtype)",
    ],
    "heun_step": [
        "if t_next == 0:\n    return x + (t_next - t) * velocity(x, t)\nv = velocity(x, t)\nx_next = x + (t_next - t) * (v + velocity(x + (t_next - t) * v, t_next)) / 2",
        "dt = t_next - t\nv1 = velocity(x, t)\nif t_next == 0:\n    return x + dt * v1\nv2 = velocity(x + dt * v1, t_next)\nx_next = x + dt * 0.5 * (v1 + v2)",
    ],
}
