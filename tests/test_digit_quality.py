"""The stroke metric of review part 3 (course_utils/digit_quality.py) ranks known-better digit samples better."""

import pytest
import torch

from course_utils import digit_quality as dq
from course_utils.checkpoints import load_checkpoint
from course_utils.data import load_digits
from course_utils.sample import make_scheduler
from course_utils.sampling import sample


@pytest.fixture(scope="module")
def digits():
    return load_checkpoint("digits")


def test_it_ranks_more_steps_better_and_real_digits_best(digits):
    """Known order: real digits < 50 DDIM steps < 8 < 4 < 2 (the command line's grid), one seed of 2,000 samples.

    Measured gaps (scripts/sampler_tables.py, 3 seeds) are several spreads wide, so one seed is enough here."""
    scores = {"real": dq.real_halves(seeds=(0, 1), n=2000).mean}
    for steps in (50, 8, 4, 2):
        x = sample(digits, make_scheduler(digits, "ddim", steps), 2000, progress=False,
                   generator=torch.Generator().manual_seed(0))
        scores[steps] = dq.frechet_to_digits(x)
    order = list(scores)
    values = [scores[k] for k in order]
    assert values == sorted(values), f"the metric does not rank {order} in order: {scores}"


def test_the_mean_digit_and_static_score_far_above_samples():
    x = load_digits()
    mean = x.mean(0, keepdim=True).expand(1000, -1, -1, -1) + 1e-3 * torch.randn(1000, 1, 8, 8)
    static = torch.randn(1000, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    assert dq.frechet_to_digits(mean) > 500 and dq.frechet_to_digits(static) > 500
    assert dq.frechet_to_digits(x[torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:1000]]) < 10


def test_score_reports_mean_and_spread():
    x = load_digits()

    def draw(seed):
        return x[torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:500]]

    s = dq.score(draw, seeds=(0, 1, 2))
    assert len(s.values) == 3 and s.std > 0 and min(s.values) <= s.mean <= max(s.values)
    assert "+-" in str(s)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        dq.score(draw, seeds=(0,))


def test_training_is_deterministic_for_a_seed():
    a, b = dq.train_features(steps=5), dq.train_features(steps=5)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k


@pytest.mark.parametrize("bad, fragment", [
    (torch.zeros(10, 3, 8, 8), r"\(N, 1, 8, 8\)"),
    (torch.zeros(1, 1, 8, 8), "N >= 2"),
    (torch.full((4, 1, 8, 8), float("nan")), "NaN"),
    ("pictures", "torch.Tensor"),
    (torch.zeros(4, 1, 8, 8, dtype=torch.uint8), "floating-point"),
])
def test_bad_input_is_refused_clearly(bad, fragment):
    with pytest.raises((ValueError, TypeError), match=fragment):
        dq.frechet_to_digits(bad)
