"""The common wrong answers each exercise check claims to catch.

For every exercise (keyed by notebook and by the name of the function the learner writes) a list of
(code that replaces the solution region, a fragment the check's one-line message must contain).
``tests/test_exercises.py`` substitutes each one into the solution notebook, in a real kernel, runs
the check cell and asserts that it fails with that message. The empty stub is tested separately
(every check must fail on the generated learner notebook).
"""

WRONG_ANSWERS = {
    "00_welcome.ipynb": {
        "to_model_range": [
            ("x = pixels / 255", "in [0, 1]"),
            ("x = pixels / 127.5", "in [0, 2]"),
            ("x = 1 - pixels / 127.5", "swapped"),
            ("x = pixels / 255 - 0.5", "[-0.5, 0.5]"),
            ("x = pixels.tolist()", "expected a torch.Tensor"),
            ("x = torch.zeros_like(pixels)", "all zeros"),
        ],
    },
    "01_picture_to_static.ipynb": {
        "heat_blur": [
            ("blurred = C_H.T @ ((C_H @ images @ C_W.T) * torch.exp(-lam * sigma)) @ C_W", "sigma, not sigma^2 / 2"),
            ("blurred = C_H.T @ ((C_H @ images @ C_W.T) * torch.exp(-lam * sigma**2)) @ C_W", "sqrt(2) times too wide"),
            ("blurred = (C_H @ images @ C_W.T) * torch.exp(-lam * sigma**2 / 2)", "returned the DCT coefficients"),
            ("blurred = C_H.T @ ((C_H @ images @ C_W.T) * torch.exp(lam * sigma**2 / 2)) @ C_W", "minus sign"),
            ("blurred = images * torch.exp(-lam * sigma**2 / 2)", "pixel space"),
            ("blurred = torch.zeros_like(images)", "all zeros"),
            ("blurred = images", "differ"),
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
        ],
        "alphas_cumprod_from_betas": [
            ("alpha_bar = torch.cat([torch.ones(1), torch.cumprod(1 - betas, 0)[:-1]])", "off by one"),
            ("alpha_bar = torch.cumprod(betas, 0)", "product of the betas"),
            ("alpha_bar = 1 - torch.cumsum(betas, 0)", "a sum where a product belongs"),
            ("alpha_bar = 1 - betas", "alpha_t itself"),
            ("alpha_bar = 1 - torch.cumprod(1 - betas, 0)", "1 - alpha_bar_t"),
            ("alpha_bar = torch.prod(1 - betas)", "expected shape"),
        ],
        "q_sample": [
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
        ],
    },
    "02_denoiser.ipynb": {
        "predict_x0": [
            ("a = alphas_cumprod[t].view(-1, 1, 1, 1)\nx0_hat = (x_t - (1 - a) * eps_hat) / a.sqrt()", "missing its square root"),
            ("a = alphas_cumprod[t].view(-1, 1, 1, 1)\nx0_hat = (x_t - (1 - a).sqrt() * eps_hat) / a", "not by alpha_bar_t"),
            ("a = alphas_cumprod[t].view(-1, 1, 1, 1)\nx0_hat = (x_t - (1 - a).sqrt() * eps_hat) * a.sqrt()", "swapped"),
            ("a = alphas_cumprod[t].view(-1, 1, 1, 1)\nx0_hat = (x_t + (1 - a).sqrt() * eps_hat) / a.sqrt()", "sign"),
            ("a = alphas_cumprod[t - 1].view(-1, 1, 1, 1)\nx0_hat = (x_t - (1 - a).sqrt() * eps_hat) / a.sqrt()", "off by one"),
            ("a = alphas_cumprod[t[0]]\nx0_hat = (x_t - (1 - a).sqrt() * eps_hat) / a.sqrt()", "one timestep for the whole batch"),
            ("a = alphas_cumprod[t]\nx0_hat = (x_t - (1 - a).sqrt() * eps_hat) / a.sqrt()", "broadcast along the image width"),
            ("a = alphas_cumprod[t + 1].view(-1, 1, 1, 1)\nx0_hat = (x_t - (1 - a).sqrt() * eps_hat) / a.sqrt()", "off by one"),
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
        ],
    },
    "03_sampling.ipynb": {
        "ddpm_step": [
            (
                "x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\n"
                "mean = (alpha_bar_prev.sqrt() * beta_t / (1 - alpha_bar_t)) * x0_hat + ((1 - beta_t).sqrt() * (1 - alpha_bar_prev) / (1 - alpha_bar_t)) * x_t\n"
                "x_prev = mean + beta_t.sqrt() * z if t > 0 else mean",
                "beta_tilde",
            ),
            (
                "x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\n"
                "mean = (alpha_bar_prev.sqrt() * beta_t / (1 - alpha_bar_t)) * x0_hat + ((1 - beta_t).sqrt() * (1 - alpha_bar_prev) / (1 - alpha_bar_t)) * x_t\n"
                "x_prev = mean + ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t) * z if t > 0 else mean",
                "not the standard deviation",
            ),
            (
                "x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\n"
                "mean = (alpha_bar_prev.sqrt() * beta_t / (1 - alpha_bar_t)) * x0_hat + ((1 - beta_t).sqrt() * (1 - alpha_bar_prev) / (1 - alpha_bar_t)) * x_t\n"
                "x_prev = mean + ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t).sqrt() * z + (beta_t.sqrt() * z if t == 0 else 0)",
                "noise was added at the last step",
            ),
            (
                "x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\n"
                "x_prev = (alpha_bar_prev.sqrt() * beta_t / (1 - alpha_bar_t)) * x0_hat + ((1 - beta_t).sqrt() * (1 - alpha_bar_prev) / (1 - alpha_bar_t)) * x_t",
                "no fresh noise",
            ),
            (
                "x0_hat = (x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()\n"
                "mean = (alpha_bar_prev.sqrt() * beta_t / (1 - alpha_bar_t)) * x0_hat + ((1 - beta_t).sqrt() * (1 - alpha_bar_prev) / (1 - alpha_bar_t)) * x_t\n"
                "x_prev = mean + ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t).sqrt() * z if t > 0 else mean",
                "not clipped",
            ),
            (
                "x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\n"
                "mean = (alpha_bar_t.sqrt() * beta_t / (1 - alpha_bar_t)) * x0_hat + ((1 - beta_t).sqrt() * (1 - alpha_bar_t) / (1 - alpha_bar_t)) * x_t\n"
                "x_prev = mean + ((1 - alpha_bar_t) / (1 - alpha_bar_t) * beta_t).sqrt() * z if t > 0 else mean",
                "alpha_bar of t where",
            ),
            (
                "x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\n"
                "mean = (alpha_bar_prev.sqrt() * beta_t / (1 - alpha_bar_t)) * x0_hat + ((1 - beta_t).sqrt() * (1 - alpha_bar_prev) / (1 - alpha_bar_t)) * x_t\n"
                "x_prev = mean + ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t).sqrt() * z if t > 1 else mean",
                "noise skipped at t = 1",
            ),
        ],
        "sample_loop": [
            (
                "x = torch.randn((n, 1, 8, 8), generator=generator)\n"
                "for t in reversed(scheduler.timesteps.tolist()):\n"
                "    x = scheduler.step(model(x, torch.full((n,), t)), t, x, generator=generator).prev_sample",
                "wrong way",
            ),
            (
                "x = torch.zeros((n, 1, 8, 8))\n"
                "for t in scheduler.timesteps.tolist():\n"
                "    x = scheduler.step(model(x, torch.full((n,), t)), t, x, generator=generator).prev_sample",
                "starts from zeros",
            ),
            (
                "x = torch.randn((n, 1, 8, 8), generator=generator)\n"
                "for t in scheduler.timesteps.tolist():\n"
                "    x = scheduler.step(model(x, t), t, x, generator=generator).prev_sample",
                "one timestep per sample",
            ),
            (
                "x = torch.randn((n, 1, 8, 8), generator=generator)\n"
                "for t in range(len(scheduler.timesteps) - 1, -1, -1):\n"
                "    x = scheduler.step(model(x, torch.full((n,), t)), t, x, generator=generator).prev_sample",
                "loop over scheduler.timesteps",
            ),
            (
                "x = torch.randn((n, 1, 8, 8), generator=generator)\n"
                "for t in scheduler.timesteps.tolist():\n"
                "    x = scheduler.step(model(x, torch.full((n,), float(t))), t, x, generator=generator).prev_sample",
                "floating-point timesteps",
            ),
        ],
        "ddim_step": [
            (
                "x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\n"
                "sigma = eta * ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * (1 - alpha_bar_t / alpha_bar_prev)).sqrt()\n"
                "x_prev = alpha_bar_prev.sqrt() * x0_hat + (1 - alpha_bar_prev).sqrt() * eps_hat + sigma * z",
                "leave room for the fresh noise",
            ),
            (
                "x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\n"
                "sigma = ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * (1 - alpha_bar_t / alpha_bar_prev)).sqrt()\n"
                "x_prev = alpha_bar_prev.sqrt() * x0_hat + (1 - alpha_bar_prev - sigma**2).sqrt() * eps_hat + sigma * z",
                "left out eta",
            ),
            (
                "x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\n"
                "x_prev = alpha_bar_t.sqrt() * x0_hat + (1 - alpha_bar_t).sqrt() * eps_hat",
                "alpha_bar of t where",
            ),
            (
                "x0_hat = (x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()\n"
                "sigma = eta * ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * (1 - alpha_bar_t / alpha_bar_prev)).sqrt()\n"
                "x_prev = alpha_bar_prev.sqrt() * x0_hat + (1 - alpha_bar_prev - sigma**2).sqrt() * eps_hat + sigma * z",
                "not clipped",
            ),
            (
                "x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\n"
                "eps_clipped = (x_t - alpha_bar_t.sqrt() * x0_hat) / (1 - alpha_bar_t).sqrt()\n"
                "sigma = eta * ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * (1 - alpha_bar_t / alpha_bar_prev)).sqrt()\n"
                "x_prev = alpha_bar_prev.sqrt() * x0_hat + (1 - alpha_bar_prev - sigma**2).sqrt() * eps_clipped + sigma * z",
                "re-derived from the clipped",
            ),
        ],
    },
}
