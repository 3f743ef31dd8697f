# ruff: noqa: E501  (one wrong answer per line reads better)
"""Wrong answers for Lesson 4 (notebooks/04_static_to_picture.ipynb): each check must catch them with a one-line message.

For every exercise function, a list of (code that replaces the solution region, a fragment the check's
one-line message must contain). ``RIGHT_ANSWERS``: other correct ways to write it, which must pass.
"""

_POST = "alpha_ts = alpha_t / alpha_s\nsigma2_ts = sigma_t**2 - alpha_ts**2 * sigma_s**2\n"
_MEAN = "mean = (alpha_ts * sigma_s**2 / sigma_t**2) * u_t + (alpha_s * sigma2_ts / sigma_t**2) * u0_hat\n"
_VAR = "var = sigma2_ts * sigma_s**2 / sigma_t**2\n"
_IN = "u_t, u_eps = dct2(x_t), dct2(eps_hat)\n"
_U0 = "u0_hat = (u_t - sigma_t * u_eps) / alpha_t\n"
_POSTERIOR = "mean, var = posterior(u_t, u0_hat, alpha_t, alpha_s, sigma_t, sigma_s)\n"

WRONG_ANSWERS = {
    "frequency_alpha": [
        ("alpha = alpha_bar_t.sqrt() * torch.exp(-lam * blur_sigma**2 / 2)", "left out the floor d_min"),
        ("alpha = alpha_bar_t.sqrt() * torch.ones_like(lam)", "a scalar alpha where a per-frequency one belongs"),
        ("alpha = alpha_bar_t.sqrt()", "you returned one number"),
        ("alpha = alpha_bar_t.sqrt() * (torch.exp(-lam * blur_sigma**2 / 2) + d_min)", "the factor (1 - d_min)"),
        ("alpha = alpha_bar_t.sqrt() * ((1 - d_min) * torch.exp(-lam * blur_sigma) + d_min)", "not sigma: a blur"),
        ("alpha = alpha_bar_t.sqrt() * ((1 - d_min) * torch.exp(-lam * blur_sigma**2) + d_min)", "sqrt(2) times too wide"),
        ("alpha = alpha_bar_t * ((1 - d_min) * torch.exp(-lam * blur_sigma**2 / 2) + d_min)", "needs its square root"),
        ("alpha = (1 - d_min) * torch.exp(-lam * blur_sigma**2 / 2) + d_min", "that is d_t(k) alone"),
        ("alpha = alpha_bar_t.sqrt() * ((1 - d_min) * torch.exp(-lam.T * blur_sigma**2 / 2) + d_min)", "lam transposed"),
        ("alpha = (alpha_bar_t.sqrt() * ((1 - d_min) * torch.exp(-lam * blur_sigma**2 / 2) + d_min)).float()", "dtype float64"),
    ],
    "posterior": [
        (_POST + _MEAN + "var = sigma_s**2 / sigma_t**2 * (1 - (1 - sigma_t**2) / (1 - sigma_s**2))", "DDPM's posterior variance"),
        (_POST + _MEAN + "var = sigma2_ts", "variance of the forward step"),
        ("alpha_ts = alpha_t / alpha_s\nsigma2_ts = sigma_t**2 - alpha_ts * sigma_s**2\n" + _MEAN + _VAR, "must be squared"),
        (_POST + "var = 1 / (1 / sigma_s**2 + alpha_ts**2 / sigma2_ts)\nmean = var * (alpha_ts / sigma2_ts * u_t + alpha_s / sigma_s**2 * u0_hat)", "divides by zero"),
        (_POST + _VAR + "mean = (alpha_ts * sigma_s**2 / sigma_t**2) * u_t + (alpha_t * sigma2_ts / sigma_t**2) * u0_hat", "you used alpha_t where alpha_s belongs"),
        (_POST + _VAR + "mean = (alpha_s * sigma2_ts / sigma_t**2) * u_t + (alpha_ts * sigma_s**2 / sigma_t**2) * u0_hat", "swapped"),
        ("a_t, a_s = (1 - sigma_t**2).sqrt(), (1 - sigma_s**2).sqrt()\nalpha_ts = a_t / a_s\nsigma2_ts = sigma_t**2 - alpha_ts**2 * sigma_s**2\n" + _VAR.replace("sigma2_ts * sigma_s", "(sigma_t**2 - (alpha_t / alpha_s)**2 * sigma_s**2) * sigma_s") + "mean = (alpha_ts * sigma_s**2 / sigma_t**2) * u_t + (a_s * sigma2_ts / sigma_t**2) * u0_hat", "DDPM's mean"),
        ("alpha_ts = alpha_s / alpha_t\nsigma2_ts = sigma_t**2 - alpha_ts**2 * sigma_s**2\n" + _MEAN + "var = (sigma_t**2 - (alpha_t / alpha_s)**2 * sigma_s**2) * sigma_s**2 / sigma_t**2", "not alpha_s / alpha_t"),
        ("mean, var = None, None", "still None"),
        ("mean, var = u0_hat * alpha_s, torch.zeros_like(alpha_t)", "your var is all zeros"),
    ],
    "blur_step": [
        (_IN + "u0_hat = (u_t - sigma_t * u_eps) / (1 - sigma_t**2).sqrt()\n" + _POSTERIOR + "x_prev = idct2(mean + var.sqrt() * dct2(z))", "a scalar alpha where a per-frequency one belongs"),
        ("u_t = dct2(x_t)\nu0_hat = (u_t - sigma_t * eps_hat) / alpha_t\n" + _POSTERIOR + "x_prev = idct2(mean + var.sqrt() * dct2(z))", "eps_hat is a picture in pixels"),
        (_IN + _U0 + _POSTERIOR + "x_prev = mean + var.sqrt() * dct2(z)", "forgot to go back from the DCT basis"),
        (_IN + _U0 + _POSTERIOR + "x_prev = dct2(mean + var.sqrt() * dct2(z))", "DCT basis twice"),
        (_IN + _U0 + _POSTERIOR + "x_prev = idct2(mean) + sigma_s * z", "noise added with the scalar sigma in pixel space"),
        (_IN + _U0 + _POSTERIOR + "beta_tilde = sigma_s**2 / sigma_t**2 * (1 - (1 - sigma_t**2) / (1 - sigma_s**2))\nx_prev = idct2(mean) + beta_tilde.sqrt() * z", "DDPM's scalar standard deviation"),
        (_IN + _U0 + _POSTERIOR + "x_prev = idct2(mean) + var.sqrt() * z", "belongs to the DCT basis"),
        (_IN + _U0 + _POSTERIOR + "x_prev = idct2(mean + var.sqrt() * z)", "z is given in pixels"),
        (_IN + _U0 + _POSTERIOR + "x_prev = idct2(mean + var * dct2(z))", "not the standard deviation"),
        (_IN + _U0 + _POSTERIOR + "x_prev = idct2(mean)", "no fresh noise"),
        (_IN + _U0 + _POSTERIOR + "x_prev = idct2(mean + var.sqrt() * dct2(z)) if prev_t > 0 else idct2(mean)", "has no fresh noise, while your other steps are right"),
        (_IN + _U0 + _POSTERIOR + "x_prev = idct2(mean + var.sqrt() * dct2(torch.randn_like(x_t)))", "draws its own random numbers"),
        ("u_t, u_eps = C @ x_t @ C.T, dct2(eps_hat)\n" + _U0 + _POSTERIOR + "x_prev = idct2(mean + var.sqrt() * dct2(z))", "on float32 pictures"),
        ("x_prev = None", "returned None"),
    ],
}

RIGHT_ANSWERS = {
    "frequency_alpha": [
        "alpha = torch.sqrt(alpha_bar_t) * (d_min + (1 - d_min) * torch.exp(-0.5 * lam * blur_sigma**2))",
        "import math\nalpha = math.sqrt(float(alpha_bar_t)) * ((1 - d_min) * (-lam * blur_sigma * blur_sigma / 2).exp() + d_min)",
        "alpha = alpha_bar_t.double().sqrt() * torch.lerp(torch.exp(-lam * blur_sigma**2 / 2), torch.ones_like(lam), d_min)",
    ],
    "posterior": [
        "mean = (alpha_t / alpha_s * sigma_s**2 * u_t + alpha_s * (sigma_t**2 - (alpha_t / alpha_s) ** 2 * sigma_s**2) * u0_hat) / sigma_t**2\n"
        "var = (sigma_t**2 - (alpha_t / alpha_s) ** 2 * sigma_s**2) * sigma_s**2 / sigma_t**2",
        _POST + "var = sigma_s**2 * (1 - alpha_ts**2 * sigma_s**2 / sigma_t**2)\nmean = alpha_ts * sigma_s**2 / sigma_t**2 * u_t + alpha_s * (1 - alpha_ts**2 * sigma_s**2 / sigma_t**2) * u0_hat",
    ],
    "blur_step": [
        _IN + _U0 + _POSTERIOR + "x_prev = idct2(mean) + idct2(var.sqrt() * dct2(z))",
        "u_t = torch.einsum('ij,...jk,lk->...il', C, x_t.double(), C)\nu0_hat = (u_t - sigma_t * dct2(eps_hat)) / alpha_t\n" + _POSTERIOR + "x_prev = torch.einsum('ji,...jk,kl->...il', C, mean + var.sqrt() * dct2(z), C)",
        "u0_hat = dct2(x_t - sigma_t * eps_hat) / alpha_t\n" + "mean, var = posterior(dct2(x_t), u0_hat, alpha_t, alpha_s, sigma_t, sigma_s)\n" + "x_prev = idct2(mean + torch.sqrt(var) * dct2(z))",
    ],
}
