"""A sampler is a time grid plus a parametrisation (Lesson 6, section 4): with exact denoisers, flow-matching
Euler on the time grid matched to DDIM's is DDIM (eta 0, unclipped), to rounding in float64; on another grid it
is not. The two walk the same paths, rescaled by 1 / (sqrt(abar) + sqrt(1 - abar)) (Gao et al. 2024, "Diffusion
meets flow matching: two sides of the same coin"), though those paths bend by different amounts.

The exact denoisers are those of a finite data set (a dozen 8 x 8 digits): Lesson 2's ideal denoiser
(``course_utils.ideal``) gives DDIM its exact noise guess E[eps | x_t]; the flow's exact velocity is written
out here independently, from eq. 6.1: x_t = (1 - t) x_0 + t eps, so
    w_i = softmax_i( -|x - (1 - t) x_i|^2 / (2 t^2) ),  x0_hat = sum_i w_i x_i,  v = (x - x0_hat) / t.
"""

from __future__ import annotations

import pytest
import torch

import course_utils as cu
from course_utils.ddim import DDIMScheduler
from course_utils.flow import euler_step, path_bend
from course_utils.ideal import ideal_noise


def flow_velocity(x: torch.Tensor, t: float, data: torch.Tensor) -> torch.Tensor:
    """The exact velocity E[eps - x_0 | x_t = x] of eq. 6.1 for the data set ``data`` (N, ...); float64."""
    xf, d = x.flatten(1), data.flatten(1)
    dist2 = ((xf[:, None, :] - (1 - t) * d[None]) ** 2).sum(-1)  # (M, N)
    w = torch.softmax(-dist2 / (2 * t**2), dim=1)
    return ((xf - w @ d) / t).reshape(x.shape)


def run_ddim(ddim: DDIMScheduler, x: torch.Tensor, data: torch.Tensor) -> list[torch.Tensor]:
    """DDIM (eta 0, the library's step) with the exact noise guess; every state, from the start to x_0."""
    states = [x]
    for t in ddim.timesteps.tolist():
        eps = ideal_noise(x, t, data, ddim)
        x = ddim.step(eps, t, x).prev_sample
        states.append(x)
    return states


def run_flow_euler(times: list[float], x: torch.Tensor, data: torch.Tensor) -> list[torch.Tensor]:
    """Flow-matching Euler (the library's euler_step, eq. 6.4) over ``times`` with the exact velocity."""
    states = [x]
    for t, t_next in zip(times[:-1], times[1:], strict=True):
        x = euler_step(x, flow_velocity(x, t, data), t, t_next)
        states.append(x)
    return states


def float64_ddim(n: int, spacing: str) -> DDIMScheduler:
    """The course's DDIM (cosine schedule, eta 0) without clipping, its alpha_bar table in float64 (the library
    keeps float32, whose rounding, about 1e-5 in a step's coefficients, would hide the identity)."""
    ddim = DDIMScheduler(1000, beta_schedule="cosine", clip_sample=False)
    ddim.alphas_cumprod = ddim.alphas_cumprod.double()
    ddim.set_timesteps(n, timestep_spacing=spacing)
    return ddim


def matched(ddim: DDIMScheduler):
    """DDIM's grid in flow time, t = sqrt(1 - abar) / (sqrt(abar) + sqrt(1 - abar)) (so t / (1 - t) = sigma =
    sqrt((1 - abar) / abar)), ending at 0 (DDIM's last step lands on abar = 1), and the scale a + b of each state."""
    abar = ddim.alphas_cumprod.double()[ddim.timesteps]
    a, b = abar.sqrt(), (1 - abar).sqrt()
    times = (b / (a + b)).tolist() + [0.0]
    return times, torch.cat([a + b, torch.ones(1, dtype=torch.float64)])


@pytest.fixture(scope="module")
def data():
    return cu.load_digits(split="train")[:12].double()  # (12, 1, 8, 8): a finite data set, exact denoisers


@pytest.mark.parametrize("n,spacing", [(4, "trailing"), (4, "below_top"), (10, "leading"), (25, "trailing")])
def test_flow_euler_on_the_matched_grid_is_ddim(data, n, spacing):
    ddim = float64_ddim(n, spacing)
    x_vp = torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(n), dtype=torch.float64)
    times, scale = matched(ddim)
    vp = run_ddim(ddim, x_vp, data)
    fm = run_flow_euler(times, x_vp / scale[0], data)  # the same start, x_FM = x_VP / (a + b)
    for k, (u, w) in enumerate(zip(vp, fm, strict=True)):  # every state, not only the end
        assert float((u / scale[k] - w).abs().max()) <= 1e-10, (k, float((u / scale[k] - w).abs().max()))
    assert float(vp[-1].abs().max()) < 1.5  # and it is a real run: it ends near the digits, not at the static


def test_on_another_grid_they_differ(data):
    """The same start, the same number of steps, flow Euler on its own uniform grid: not DDIM any more."""
    ddim = float64_ddim(4, "trailing")
    x_vp = torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    times, scale = matched(ddim)
    vp_end = run_ddim(ddim, x_vp, data)[-1]
    uniform = torch.linspace(times[0], 0, 5, dtype=torch.float64).tolist()  # from the same start time
    fm_end = run_flow_euler(uniform, x_vp / scale[0], data)[-1]
    assert float((vp_end - fm_end).abs().max()) > 1e-2  # measured 0.05 (both land near the same digits)


def test_same_paths_rescaled_different_bends(data):
    """With many steps both follow the same ODE: the flow's path is DDIM's divided by a + b at every state (to
    rounding), which is 1 at both ends and 1/sqrt(2) midway; so their bends in x differ though the samples agree."""
    ddim = float64_ddim(200, "trailing")
    x_vp = torch.randn(32, 1, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    times, scale = matched(ddim)
    vp = torch.stack(run_ddim(ddim, x_vp, data))
    fm = torch.stack(run_flow_euler(times, x_vp / scale[0], data))
    assert float((vp / scale.view(-1, 1, 1, 1, 1) - fm).abs().max()) <= 1e-10
    bend_vp, bend_fm = float(path_bend(vp).median()), float(path_bend(fm).median())
    assert abs(bend_vp - bend_fm) > 0.03, (bend_vp, bend_fm)
