# ruff: noqa: E501  (one wrong answer per line reads better)
"""Wrong answers for Lesson 3 (notebooks/03_sampling.ipynb): each check must catch them with a one-line message.

For every exercise function, a list of (code that replaces the solution region, a fragment the check's
one-line message must contain). ``RIGHT_ANSWERS``: other correct ways to write it, which must pass.
"""

WRONG_ANSWERS = {
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
            "unclipped x0_hat",
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
        ('mean = (x_t - beta_t / (1 - alpha_bar_t).sqrt() * eps_hat) / (1 - beta_t).sqrt()\nx_prev = mean + ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t).sqrt() * z if t > 0 else mean', 'Algorithm 2 form'),
        ('mean = (x_t - beta_t / (1 - alpha_bar_t).sqrt() * eps_hat) / (1 - beta_t).sqrt()\nx_prev = mean + beta_t.sqrt() * z if t > 0 else mean', 'sigma_t^2 = beta_t'),
        ('alpha_t = 1 - beta_t\nmean = (x_t - beta_t / (1 - alpha_t).sqrt() * eps_hat) / alpha_t.sqrt()\nx_prev = mean + ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t).sqrt() * z if t > 0 else mean', 'you used alpha_t = 1 - beta_t, the one-step share'),
        ('alpha_t = 1 - beta_t\nx0_hat = ((x_t - (1 - alpha_t).sqrt() * eps_hat) / alpha_t.sqrt()).clamp(-1, 1)\nmean = (alpha_bar_prev.sqrt() * beta_t / (1 - alpha_bar_t)) * x0_hat + ((1 - beta_t).sqrt() * (1 - alpha_bar_prev) / (1 - alpha_bar_t)) * x_t\nx_prev = mean + ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t).sqrt() * z if t > 0 else mean', 'one-step share, where alpha_bar_t, the product up to t, belongs in x0_hat'),
        ('mean = (x_t - beta_t / (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()\nx_prev = mean + ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t).sqrt() * z if t > 0 else mean', 'divided by sqrt(alpha_bar_t)'),
        ('x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\nmean = (alpha_bar_prev.sqrt() * beta_t / (1 - alpha_bar_t)) * x0_hat + ((1 - beta_t).sqrt() * (1 - alpha_bar_prev) / (1 - alpha_bar_t)) * x_t\nx_prev = mean + ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t).sqrt() * torch.randn_like(x_t) if t > 0 else mean', 'draws its own random numbers'),
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
        ('scheduler.set_timesteps(50)\nx = torch.randn((n, 1, 8, 8), generator=generator)\nfor t in scheduler.timesteps.tolist():\n    x = scheduler.step(model(x, torch.full((n,), t)), t, x, generator=generator).prev_sample', 'called scheduler.set_timesteps(...) itself'),
        ('x = torch.randn((n, 1, 8, 8), generator=generator)\nfor t in scheduler.timesteps.tolist()[:-1]:\n    x = scheduler.step(model(x, torch.full((n,), t)), t, x, generator=generator).prev_sample', 'skipped timestep 0'),
        ('x = torch.randn((64, 1, 8, 8), generator=generator)\nfor t in scheduler.timesteps.tolist():\n    x = scheduler.step(model(x, torch.full((n,), t)), t, x, generator=generator).prev_sample', 'you drew 64 samples; draw n'),
        ('x = torch.randn((n, 1, 8, 8), generator=generator)\nfor t in range(999, -1, -1):\n    x = scheduler.step(model(x, torch.full((n,), t)), t, x, generator=generator).prev_sample', 'not one of scheduler.timesteps'),
        ('x = torch.randn((n, 1, 8, 8), generator=generator)\nfor t in scheduler.timesteps.tolist():\n    x = scheduler.step(model(x, torch.full((n,), t)), t, x).prev_sample', 'same seed gave different samples'),
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
        ('x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\nsigma = eta * (1 - alpha_bar_prev) / (1 - alpha_bar_t) * (1 - alpha_bar_t / alpha_bar_prev)\nx_prev = alpha_bar_prev.sqrt() * x0_hat + (1 - alpha_bar_prev - sigma**2).sqrt() * eps_hat + sigma * z', 'sigma_t is a standard deviation'),
        ('x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\nsigma = eta * ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * (1 - alpha_bar_t / alpha_bar_prev)).sqrt()\nx_prev = alpha_bar_prev.sqrt() * x0_hat + (1 - alpha_bar_prev - sigma**2).sqrt() * eps_hat + sigma * torch.randn_like(x_t)', 'draws its own random numbers'),
        ('x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\nsigma = eta * ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * (1 - alpha_bar_t / alpha_bar_prev)).sqrt()\nx_prev = alpha_bar_prev.sqrt() * x0_hat + (1 - alpha_bar_prev - sigma**2).sqrt() * eps_hat', 'you left it out'),
        ('x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\nx_prev = alpha_bar_prev.sqrt() * x0_hat + (1 - alpha_bar_prev).sqrt() * eps_hat', 'deterministic step (eta = 0) for every eta'),
    ],
}

RIGHT_ANSWERS: dict[str, list[str]] = {
    "ddpm_step": [
        'x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\nmean = (alpha_bar_prev.sqrt() * beta_t / (1 - alpha_bar_t)) * x0_hat + ((1 - beta_t).sqrt() * (1 - alpha_bar_prev) / (1 - alpha_bar_t)) * x_t\nx_prev = mean + ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t).sqrt() * z',
        'x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\nmean = (alpha_bar_prev.sqrt() * beta_t * x0_hat + (1 - beta_t).sqrt() * (1 - alpha_bar_prev) * x_t) / (1 - alpha_bar_t)\nx_prev = mean + ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t).sqrt() * z if t > 0 else mean',
    ],
    "sample_loop": [
        'x = torch.randn((n, 1, 8, 8), generator=generator)\nfor t in scheduler.timesteps:\n    x = scheduler.step(model(x, t.repeat(n)), t, x, generator=generator).prev_sample',
    ],
    "ddim_step": [
        'x0_hat = ((x_t.double() - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\nsigma = eta * ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * (1 - alpha_bar_t / alpha_bar_prev)).sqrt()\nx_prev = (alpha_bar_prev.sqrt() * x0_hat + (1 - alpha_bar_prev - sigma**2).sqrt() * eps_hat + sigma * z).to(x_t.dtype)',
        'x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_bar_t.sqrt()).clamp(-1, 1)\nsigma = eta * ((1 - alpha_bar_prev) / (1 - alpha_bar_t)).sqrt() * (1 - alpha_bar_t / alpha_bar_prev).sqrt()\nx_prev = alpha_bar_prev.sqrt() * x0_hat + (1 - alpha_bar_prev - sigma**2).sqrt() * eps_hat + sigma * z',
    ],
}
