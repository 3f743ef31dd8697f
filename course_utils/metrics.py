"""Measuring samples offline (Lesson 3): how close generated digits (or points) are to real ones.

- A small classifier trained on the bundled digits (scikit-learn's MLPClassifier, fixed seed) gives each
  picture a 64-number feature vector (its hidden layer) and a predicted class.
- Frechet distance between the feature distributions of two sets, as FID does with Inception features
  (Heusel et al. 2017): ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2)). 0 for identical sets.
- Precision and recall (Kynkaanniemi et al. 2019): the share of generated samples inside the k-nearest-
  neighbour balls of the real ones (quality), and of real ones inside the generated balls (coverage).
- For 2-D points: the energy distance (Szekely & Rizzo 2013), 0 for identical distributions.

Always print a metric next to its references (real against real, and noise), as Lesson 3 does: the
numbers mean little on their own. The Frechet distance also depends on the number of samples: compare
values computed with the same N only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from ._validate import as_float_tensor
from .data import load_digits


@dataclass
class DigitClassifier:
    """A fixed digit classifier: ``features(x)`` (N, 64) and ``predict(x)`` (N,) for x (N, 1, 8, 8) in [-1, 1]."""

    model: object  # sklearn.neural_network.MLPClassifier
    test_accuracy: float

    def _flat(self, x) -> np.ndarray:
        x = as_float_tensor(x, "images").detach().cpu()
        if x.ndim != 4 or tuple(x.shape[1:]) != (1, 8, 8):
            raise ValueError(f"the digit classifier takes images shaped (N, 1, 8, 8), got {tuple(x.shape)}.")
        return x.clamp(-1, 1).reshape(x.shape[0], 64).double().numpy()

    def features(self, x) -> np.ndarray:
        """The hidden layer's activations, (N, 64): the feature space of the Frechet distance."""
        h = self._flat(x) @ self.model.coefs_[0] + self.model.intercepts_[0]
        return np.maximum(h, 0.0)

    def predict(self, x) -> np.ndarray:
        return self.model.predict(self._flat(x))


@lru_cache(maxsize=1)
def digit_classifier() -> DigitClassifier:
    """Train (once per session, about a second) the fixed classifier on the training digits."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    x, y = load_digits(split="train", return_labels=True)
    xt, yt = load_digits(split="test", return_labels=True)
    clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=400, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x.reshape(len(x), 64).double().numpy(), y.numpy())
    acc = float((clf.predict(xt.reshape(len(xt), 64).double().numpy()) == yt.numpy()).mean())
    return DigitClassifier(clf, acc)


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (N, D) and (M, D)."""
    from scipy import linalg

    a, b = np.asarray(features_a, dtype=np.float64), np.asarray(features_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need two feature sets (N, D) with the same D and N >= 2, got {a.shape} and {b.shape}.")
    mu_a, mu_b = a.mean(0), b.mean(0)
    ridge = 1e-6 * np.eye(a.shape[1])  # some ReLU features are always 0: keep the covariances invertible
    cov_a, cov_b = np.cov(a, rowvar=False) + ridge, np.cov(b, rowvar=False) + ridge
    covmean = np.real(linalg.sqrtm(cov_a @ cov_b))
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * covmean))


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) with k-nearest-neighbour balls."""
    real, fake = torch.as_tensor(np.asarray(real)), torch.as_tensor(np.asarray(fake))
    if min(len(real), len(fake)) < k + 2:
        raise ValueError(f"precision and recall need at least {k + 2} samples in each set, got {len(real)} and "
                         f"{len(fake)}; use a few hundred for stable numbers.")

    def radii(x: torch.Tensor) -> torch.Tensor:
        d = torch.cdist(x, x)
        return d.kthvalue(k + 1, dim=1).values  # +1: the point itself is at distance 0

    r_real, r_fake = radii(real), radii(fake)
    d = torch.cdist(fake, real)  # (M, N)
    precision = (d <= r_real[None, :]).any(dim=1).double().mean()
    recall = (d.T <= r_fake[None, :]).any(dim=1).double().mean()
    return float(precision), float(recall)


def digit_metrics(samples: torch.Tensor, reference: torch.Tensor | None = None) -> dict[str, float]:
    """Frechet distance, precision, recall against ``reference`` (default: the held-out test digits),
    and the share of each predicted class, for samples (N, 1, 8, 8) in [-1, 1]."""
    clf = digit_classifier()
    reference = load_digits(split="test") if reference is None else reference
    f_fake, f_real = clf.features(samples), clf.features(reference)
    precision, recall = precision_recall(f_real, f_fake)
    classes = np.bincount(clf.predict(samples), minlength=10) / len(samples)
    out = {"frechet": frechet_distance(f_real, f_fake), "precision": precision, "recall": recall}
    out.update({f"class_{c}": float(classes[c]) for c in range(10)})
    return out


def energy_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Energy distance between two point sets (N, D), (M, D): 2 E|a-b| - E|a-a'| - E|b-b'| (>= 0).

    The plain (V-statistic) estimate over all pairs, self-pairs included: use a few hundred points or more.
    The two sets may live on different devices (samples on a GPU, reference points on the CPU).
    """
    a, b = as_float_tensor(a, "a").detach().cpu().double(), as_float_tensor(b, "b").detach().cpu().double()
    return float(2 * torch.cdist(a, b).mean() - torch.cdist(a, a).mean() - torch.cdist(b, b).mean())
