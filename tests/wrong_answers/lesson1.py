# ruff: noqa: E501  (one wrong answer per line reads better)
"""Wrong answers for Lesson 1 (notebooks/01_picture_to_static.ipynb): each check must catch them with a one-line message.

For every exercise function, a list of (code that replaces the solution region, a fragment the check's
one-line message must contain). ``RIGHT_ANSWERS``: other correct ways to write it, which must pass.
"""

WRONG_ANSWERS = {
    "heat_blur": [
        ("blurred = C_H.T @ ((C_H @ images @ C_W.T) * torch.exp(-lam * sigma)) @ C_W", "sigma, not sigma^2 / 2"),
        ("blurred = C_H.T @ ((C_H @ images @ C_W.T) * torch.exp(-lam * sigma**2)) @ C_W", "sqrt(2) times too wide"),
        ("blurred = (C_H @ images @ C_W.T) * torch.exp(-lam * sigma**2 / 2)", "returned the DCT coefficients"),
        ("blurred = C_H.T @ ((C_H @ images @ C_W.T) * torch.exp(lam * sigma**2 / 2)) @ C_W", "minus sign"),
        ("blurred = images * torch.exp(-lam * sigma**2 / 2)", "pixel space"),
        ("blurred = torch.zeros_like(images)", "all zeros"),
        ("blurred = images", "differ"),
        ('coeffs = C_W @ images @ C_H.T\nblurred = C_W.T @ (coeffs * torch.exp(-lam * sigma**2 / 2)) @ C_H', 'C_H and C_W are swapped'),
        ('blurred = C_H @ ((C_H.T @ images @ C_W) * torch.exp(-lam * sigma**2 / 2)) @ C_W.T', 'the transforms go the wrong way round'),
        ('blurred = C_H.T @ ((C_H @ images @ C_W) * torch.exp(-lam * sigma**2 / 2)) @ C_W.T', 'wrong along W'),
    ],
    "forward_step": [
        ("x_t = (1 - beta_t) * x_prev + beta_t * eps", "square roots are missing"),
        ("x_t = math.sqrt(1 - beta_t) * x_prev + beta_t * eps", "instead of sqrt(beta_t)"),
        ("x_t = x_prev + math.sqrt(beta_t) * eps", "not shrunk"),
        ("x_t = math.sqrt(beta_t) * x_prev + math.sqrt(1 - beta_t) * eps", "swapped"),
        ("x_t = torch.zeros_like(x_prev)", "all zeros"),
        ("x_t = (1 - beta_t) * x_prev + math.sqrt(beta_t) * eps", "signal is scaled by (1 - beta_t)"),
        ("x_t = torch.sqrt(1 - beta_t) * x_prev + torch.sqrt(beta_t) * eps", "use math.sqrt"),
        ("x_prev.mul_(math.sqrt(1 - beta_t)).add_(math.sqrt(beta_t) * eps)\nx_t = x_prev", "in place"),
        ('x_t = math.sqrt(1 - beta_t) * x_prev + math.sqrt(beta_t) * torch.randn_like(x_prev)', 'draws its own random numbers'),
        ('x_t = math.sqrt(1 - beta_t**2) * x_prev + beta_t * eps', "as the noise's standard deviation"),
    ],
    "alphas_cumprod_from_betas": [
        ("alpha_bar = torch.cat([torch.ones(1), torch.cumprod(1 - betas, 0)[:-1]])", "off by one"),
        ("alpha_bar = torch.cumprod(betas, 0)", "product of the betas"),
        ("alpha_bar = 1 - torch.cumsum(betas, 0)", "a sum where a product belongs"),
        ("alpha_bar = 1 - betas", "alpha_t itself"),
        ("alpha_bar = 1 - torch.cumprod(1 - betas, 0)", "1 - alpha_bar_t"),
        ("alpha_bar = torch.prod(1 - betas)", "expected shape"),
        ('alpha_bar = torch.cumsum(1 - betas, 0)', 'cumsum where cumprod belongs'),
        ('alpha_bar = (1 - betas) ** torch.arange(1, len(betas) + 1)', 'to the power t + 1'),
    ],
    "q_sample": [
        ("a = alphas_cumprod[t].double().view(-1, 1, 1, 1)\nx_t = a.sqrt() * x0 + (1 - a).sqrt() * eps", "dtype float32"),
        (
            "a = alphas_cumprod[t].view(-1, 1, 1, 1)\n"
            "x_t = a.sqrt() * x0 + (1 - a) * eps",
            "instead of sqrt(1 - alpha_bar_t)",
        ),
        (
            "a = alphas_cumprod[t].view(-1, 1, 1, 1)\n"
            "x_t = a * x0 + (1 - a).sqrt() * eps",
            "signal is scaled by alpha_bar_t",
        ),
        (
            "a = alphas_cumprod[(t - 1).clamp(min=0)].view(-1, 1, 1, 1)\n"
            "x_t = a.sqrt() * x0 + (1 - a).sqrt() * eps",
            "off by one: you used alpha_bar at t - 1",
        ),
        (
            "a = alphas_cumprod[(t + 1).clamp(max=len(alphas_cumprod) - 1)].view(-1, 1, 1, 1)\n"
            "x_t = a.sqrt() * x0 + (1 - a).sqrt() * eps",
            "off by one: you used alpha_bar at t + 1",
        ),
        (
            "a = alphas_cumprod[t[0]]\n"
            "x_t = a.sqrt() * x0 + (1 - a).sqrt() * eps",
            "one timestep for the whole batch",
        ),
        (
            "a = alphas_cumprod[t]\n"
            "x_t = a.sqrt() * x0 + (1 - a).sqrt() * eps",
            "broadcast along the image width",
        ),
        (
            "a = alphas_cumprod[t].view(-1, 1, 1, 1)\n"
            "x_t = (1 - a).sqrt() * x0 + a.sqrt() * eps",
            "swapped",
        ),
        ("x_t = x0 + eps", "differ"),
        (
            "a = alphas_cumprod[t - 1].view(-1, 1, 1, 1)\n"
            "x_t = a.sqrt() * x0 + (1 - a).sqrt() * eps",
            "wraps around",
        ),
        (
            "a = alphas_cumprod[t + 1].view(-1, 1, 1, 1)\n"
            "x_t = a.sqrt() * x0 + (1 - a).sqrt() * eps",
            "index alphas_cumprod with t itself",
        ),
        (
            "a = scheduler.alphas_cumprod[t].view(-1, 1, 1, 1)\n"
            "x_t = a.sqrt() * x0 + (1 - a).sqrt() * eps",
            "differ",
        ),
        ('a = scheduler.alphas[t].view(-1, 1, 1, 1)\nx_t = a.sqrt() * x0 + (1 - a).sqrt() * eps', 'you used alpha_t = 1 - beta_t, the one-step share'),
        ('a = (1 - scheduler.betas[t]).view(-1, 1, 1, 1)\nx_t = a.sqrt() * x0 + (1 - a).sqrt() * eps', 'eq. 1.5 needs alpha_bar_t'),
        ('a = alphas_cumprod[t].view(-1, 1, 1, 1)\nx_t = a.sqrt() * x0 + (1 - a.sqrt()) * eps', '1 - sqrt(alpha_bar_t)'),
        ('a = alphas_cumprod[t].view(-1, 1, 1, 1)\nx_t = a.sqrt() * x0 + (1 - a).sqrt() * torch.randn_like(x0)', 'draws its own random numbers'),
    ],
}

RIGHT_ANSWERS: dict[str, list[str]] = {
    "heat_blur": [
        'tau = 0.5 * sigma * sigma\nblurred = C_H.T @ ((C_H @ images @ C_W.T) * (-tau * lam).exp()) @ C_W',
        "coeffs = torch.einsum('hi,ncij,wj->nchw', C_H, images, C_W)\nblurred = torch.einsum('hi,nchw,wj->ncij', C_H, coeffs * torch.exp(-lam * sigma**2 / 2), C_W)",
    ],
    "forward_step": [
        'x_t = (1 - beta_t) ** 0.5 * x_prev + beta_t ** 0.5 * eps',
        'x_t = math.sqrt(1 - beta_t) * (x_prev + math.sqrt(beta_t / (1 - beta_t)) * eps)',
    ],
    "alphas_cumprod_from_betas": [
        'alpha_bar = torch.exp(torch.cumsum(torch.log1p(-betas), dim=0))',
        'alpha_bar = torch.empty_like(betas)\nrunning = 1.0\nfor i, b in enumerate(betas.tolist()):\n    running *= 1 - b\n    alpha_bar[i] = running',
    ],
    "q_sample": [
        'x_t = alphas_cumprod[t].sqrt()[:, None, None, None] * x0 + (1 - alphas_cumprod[t])[:, None, None, None].sqrt() * eps',
        's = torch.sqrt(alphas_cumprod[t]).reshape(-1, 1, 1, 1)\nx_t = s * x0 + torch.sqrt(1 - s**2) * eps',
    ],
}
