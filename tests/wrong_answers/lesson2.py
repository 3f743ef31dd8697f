# ruff: noqa: E501  (one wrong answer per line reads better)
"""Wrong answers for Lesson 2 (notebooks/02_denoiser.ipynb): each check must catch them with a one-line message.

For every exercise function, a list of (code that replaces the solution region, a fragment the check's
one-line message must contain). ``RIGHT_ANSWERS``: other correct ways to write it, which must pass.
"""

WRONG_ANSWERS = {
    "predict_x0": [
        ("a = alphas_cumprod[t].double().view(-1, 1, 1, 1)\nx0_hat = (x_t - (1 - a).sqrt() * eps_hat) / a.sqrt()", "dtype float32"),
        ("a = alphas_cumprod[t].view(-1, 1, 1, 1)\nx0_hat = (x_t - (1 - a) * eps_hat) / a.sqrt()", "missing its square root"),
        ("a = alphas_cumprod[t].view(-1, 1, 1, 1)\nx0_hat = (x_t - (1 - a).sqrt() * eps_hat) / a", "not by alpha_bar_t"),
        ("a = alphas_cumprod[t].view(-1, 1, 1, 1)\nx0_hat = (x_t - (1 - a).sqrt() * eps_hat) * a.sqrt()", "swapped"),
        ("a = alphas_cumprod[t].view(-1, 1, 1, 1)\nx0_hat = (x_t + (1 - a).sqrt() * eps_hat) / a.sqrt()", "sign"),
        ("a = alphas_cumprod[t - 1].view(-1, 1, 1, 1)\nx0_hat = (x_t - (1 - a).sqrt() * eps_hat) / a.sqrt()", "off by one"),
        ("a = alphas_cumprod[t[0]]\nx0_hat = (x_t - (1 - a).sqrt() * eps_hat) / a.sqrt()", "one timestep for the whole batch"),
        ("a = alphas_cumprod[t]\nx0_hat = (x_t - (1 - a).sqrt() * eps_hat) / a.sqrt()", "broadcast along the image width"),
        ("a = alphas_cumprod[t + 1].view(-1, 1, 1, 1)\nx0_hat = (x_t - (1 - a).sqrt() * eps_hat) / a.sqrt()", "off by one"),
        ('a = alphas_cumprod[t].view(-1, 1, 1, 1)\nx0_hat = (x_t - (1 - a.sqrt()) * eps_hat) / a.sqrt()', '1 - sqrt(alpha_bar_t)'),
        ('a = alphas_cumprod[t].view(-1, 1, 1, 1)\nx0_hat = x_t - (1 - a).sqrt() * eps_hat', "did not undo the signal's scale"),
    ],
    "diffusion_loss": [
        (
            "t = torch.randint(0, T, (1,), generator=generator).expand(N)\n"
            "eps = torch.randn(x0.shape, generator=generator)\n"
            "a = alphas_cumprod[t].view(-1, 1, 1, 1)\n"
            "loss = ((model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t) - eps) ** 2).mean()",
            "one timestep for the whole batch",
        ),
        (
            "t = torch.randint(1, T + 1, (N,), generator=generator)\n"
            "eps = torch.randn(x0.shape, generator=generator)\n"
            "a = alphas_cumprod[t.clamp(max=T - 1)].view(-1, 1, 1, 1)\n"
            "loss = ((model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t) - eps) ** 2).mean()",
            "off by one",
        ),
        (
            "t = torch.randint(0, T, (N,), generator=generator)\n"
            "eps = torch.randn(x0.shape, generator=generator)\n"
            "a = alphas_cumprod[t].view(-1, 1, 1, 1)\n"
            "loss = ((model(a.sqrt() * x0 + (1 - a) * eps, t) - eps) ** 2).mean()",
            "missing its square root",
        ),
        (
            "t = torch.randint(0, T, (N,), generator=generator)\n"
            "eps = torch.randn(x0.shape, generator=generator)\n"
            "a = alphas_cumprod[t].view(-1, 1, 1, 1)\n"
            "x01 = (x0 + 1) / 2\n"
            "loss = ((model(a.sqrt() * x01 + (1 - a).sqrt() * eps, t) - eps) ** 2).mean()",
            "[0, 1]",
        ),
        (
            "t = torch.randint(0, T, (N,), generator=generator)\n"
            "eps = torch.randn(x0.shape, generator=generator)\n"
            "a = alphas_cumprod[t].view(-1, 1, 1, 1)\n"
            "loss = ((model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t) - x0) ** 2).mean()",
            "target is the noise eps",
        ),
        (
            "t = torch.randint(0, T, (N,), generator=generator)\n"
            "eps = torch.randn(x0.shape, generator=generator)\n"
            "a = alphas_cumprod[t].view(-1, 1, 1, 1)\n"
            "loss = ((model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t) - eps) ** 2).sum()",
            "not the sum",
        ),
        (
            "t = torch.randint(0, T, (N,), generator=generator)\n"
            "eps = torch.randn(x0.shape, generator=generator)\n"
            "a = alphas_cumprod[t].view(-1, 1, 1, 1)\n"
            "loss = ((model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t) - eps) ** 2).sum((1, 2, 3)).mean()",
            "summed over the pixels",
        ),
        (
            "t = torch.randint(0, T, (N,), generator=generator)\n"
            "eps = torch.randn(x0.shape, generator=generator)\n"
            "a = alphas_cumprod[t].view(-1, 1, 1, 1)\n"
            "loss = ((model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t) - eps) ** 2).mean().detach()",
            "no gradient",
        ),
        (
            "t = torch.randint(0, T, (N,), generator=generator)\n"
            "eps = torch.randn(x0.shape, generator=generator)\n"
            "a = alphas_cumprod[t].view(-1, 1, 1, 1)\n"
            "loss = ((model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t.float()) - eps) ** 2).mean()",
            "integer timesteps",
        ),
        (
            "eps = torch.randn(x0.shape, generator=generator)\n"
            "t = torch.randint(0, T, (N,), generator=generator)\n"
            "a = alphas_cumprod[t].view(-1, 1, 1, 1)\n"
            "loss = ((model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t) - eps) ** 2).mean()",
            "draw t first",
        ),
        ('t = torch.randint(0, T, (N,), generator=generator)\neps = torch.randn(x0.shape, generator=generator)\na = alphas_cumprod[t].view(-1, 1, 1, 1)\nx_t = a.sqrt() * x0 + (1 - a).sqrt() * eps\nloss = ((model(x0, t) - eps) ** 2).mean()', 'given the clean picture x0'),
        ('t = torch.randint(0, T, (N,), generator=generator)\neps = torch.randn(x0.shape, generator=generator)\na = alphas_cumprod[t]\nx_t = a.sqrt() * x0 + (1 - a).sqrt() * eps\nloss = ((model(x_t, t) - eps) ** 2).mean()', 'broadcast along the image width'),
        ('t = torch.randint(0, T, (N,), generator=generator)\neps = torch.randn(x0.shape, generator=generator)\na = alphas_cumprod[t].view(-1, 1, 1, 1)\nx_t = a.sqrt() * x0 + (1 - a).sqrt() * eps\nloss = ((model(eps, t) - eps) ** 2).mean()', 'given the noise eps itself'),
        ('t = torch.randint(0, T - 1, (N,), generator=generator)\neps = torch.randn(x0.shape, generator=generator)\na = alphas_cumprod[t].view(-1, 1, 1, 1)\nx_t = a.sqrt() * x0 + (1 - a).sqrt() * eps\nloss = ((model(x_t, t) - eps) ** 2).mean()', 'upper end is already exclusive'),
        ('t = torch.randint(0, T, (N,), generator=generator)\neps = torch.randn_like(x0)\na = alphas_cumprod[t].view(-1, 1, 1, 1)\nx_t = a.sqrt() * x0 + (1 - a).sqrt() * eps\nloss = ((model(x_t, t) - eps) ** 2).mean()', 'eps drawn right after t'),
    ],
    "timestep_embedding": [
        (
            "w = torch.exp(-math.log(10000.0) * torch.arange(half) / half)\n"
            "emb = torch.cat([torch.sin(t[:, None] * w), torch.cos(t[:, None] * w)], dim=1)",
            "divides by dim/2",
        ),
        (
            "w = torch.exp(-math.log(10000.0) * torch.arange(half) / (half - 1))\n"
            "emb = torch.cat([torch.cos(t[:, None] * w), torch.sin(t[:, None] * w)], dim=1)",
            "swapped",
        ),
        (
            "w = torch.exp(-math.log(10000.0) * torch.arange(half) / (half - 1))\n"
            "emb = torch.stack([torch.sin(t[:, None] * w), torch.cos(t[:, None] * w)], dim=2).reshape(len(t), dim)",
            "interleaved",
        ),
        (
            "w = torch.exp(math.log(10000.0) * torch.arange(half) / (half - 1))\n"
            "emb = torch.cat([torch.sin(t[:, None] * w), torch.cos(t[:, None] * w)], dim=1)",
            "go up instead of down",
        ),
        ("emb = t.float()[:, None].expand(-1, dim)", "differ"),
        ('w = torch.exp(-math.log(10000.0) * torch.arange(1, half + 1) / half)\nemb = torch.cat([torch.sin(t[:, None] * w), torch.cos(t[:, None] * w)], dim=1)', 'starts at i = 1'),
        ('w = torch.exp(-math.log(10000.0) * torch.arange(half) / (half - 1))\nemb = torch.cat([torch.sin(t * w), torch.cos(t * w)], dim=1)', 'outer product'),
    ],
    "ideal_denoiser": [
        (
            "a = alphas_cumprod[t]\n"
            "d2 = ((x_t[:, None] - data[None]) ** 2).sum(-1)\n"
            "guess = torch.softmax(-d2 / (2 * (1 - a)), dim=1) @ data",
            "scaled by sqrt(alpha_bar_t)",
        ),
        (
            "a = alphas_cumprod[t]\n"
            "d2 = ((x_t[:, None] - a.sqrt() * data[None]) ** 2).sum(-1)\n"
            "guess = torch.softmax(-d2 / (2 * (1 - a)), dim=0) @ data",
            "softmax over dim=1",
        ),
        (
            "a = alphas_cumprod[t]\n"
            "d2 = ((x_t[:, None] - a.sqrt() * data[None]) ** 2).sum(-1)\n"
            "guess = data[d2.argmin(dim=1)]",
            "nearest data point",
        ),
        (
            "a = alphas_cumprod[t]\n"
            "d2 = ((x_t[:, None] - a.sqrt() * data[None]) ** 2).sum(-1)\n"
            "guess = torch.softmax(-d2 / (1 - a), dim=1) @ data",
            "divide the squared distance by 2",
        ),
        (
            "a = alphas_cumprod[t]\n"
            "d2 = ((x_t[:, None] - a.sqrt() * data[None]) ** 2).sum(-1)\n"
            "guess = torch.softmax(d2 / (2 * (1 - a)), dim=1) @ data",
            "far points",
        ),
        ('a = alphas_cumprod[t]\nd2 = ((x_t[:, None] - a.sqrt() * data[None]) ** 2).sum(-1)\nguess = torch.exp(-d2 / (2 * (1 - a))) @ data', 'must sum to 1'),
        ('a = alphas_cumprod[t]\nd2 = ((x_t[:, None] - a.sqrt() * data[None]) ** 2).sum(-1)\nguess = torch.softmax(-d2 / (2 * (1 - a)), dim=1) @ (a.sqrt() * data)', 'averaged the scaled points'),
    ],
}

RIGHT_ANSWERS: dict[str, list[str]] = {
    "predict_x0": [
        'a = alphas_cumprod[t].view(-1, 1, 1, 1)\nx0_hat = x_t / a.sqrt() - ((1 - a) / a).sqrt() * eps_hat',
        'a = alphas_cumprod[t][:, None, None, None]\nx0_hat = (x_t - torch.sqrt(1 - a) * eps_hat) * torch.rsqrt(a)',
    ],
    "diffusion_loss": [
        't = torch.randint(0, T, (N,), generator=generator)\neps = torch.randn(x0.shape, generator=generator)\na = alphas_cumprod[t].view(-1, 1, 1, 1)\nx_t = a.sqrt() * x0 + (1 - a).sqrt() * eps\nloss = torch.nn.functional.mse_loss(model(x_t, t), eps)',
        't = torch.randint(0, T, (N,), generator=generator)\neps = torch.randn(x0.shape, generator=generator)\na = alphas_cumprod[t].view(-1, 1, 1, 1)\nx_t = a.sqrt() * x0 + (1 - a).sqrt() * eps\nloss = (model(x_t, t) - eps).pow(2).mean()',
    ],
    "ideal_denoiser": [
        'a = alphas_cumprod[t]\nd2 = torch.cdist(x_t, a.sqrt() * data) ** 2\nguess = torch.softmax(-d2 / (2 * (1 - a)), dim=1) @ data',
        'a = alphas_cumprod[t]\nd2 = ((x_t[:, None] - a.sqrt() * data[None]) ** 2).sum(-1)\nlogw = -d2 / (2 * (1 - a))\nguess = torch.exp(logw - torch.logsumexp(logw, dim=1, keepdim=True)) @ data',
    ],
    "timestep_embedding": [
        'w = 10000 ** (-torch.arange(half) / (half - 1))\nangles = t[:, None] * w\nemb = torch.cat([angles.sin(), angles.cos()], dim=-1)',
    ],
}
