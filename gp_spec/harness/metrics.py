"""Metrics of the training harness (SPEC §5), each a small function with stated definitions.

- :func:`w1_assignment`: exact W1 between two sample sets, the cost of the optimal assignment
  (003 §6 uses Kuhn-Munkres on 500 samples; here :func:`gp_spec.optimal.kantorovich`).
- :func:`sliced_w1`: sliced W1 for large or high-dimensional sets (1-D terms by
  :func:`gp_spec.optimal.w1_1d`).
- :func:`mode_statistics`: modes covered and the share of high-quality samples of a mixture.
- :func:`critic_loss`: ``L_D`` without penalty (003 Fig. 4 plots its negative).
- :func:`gradient_norm_stats`: input-gradient norms on the penalty measure.
- :func:`sup_distance_to_abs`: distance of a 1-D critic to ``-|x| + c`` (003 Prop. 2).
- :func:`mse_to_optimal`: MSE of ``D = sigmoid(f)`` to ``D*`` on a grid (004 Fig. 1).
- :func:`digit_classes_covered`, :func:`digits_frechet_distance`: image metrics for
  ``load_digits`` in the feature space of a small classifier. **This is not Inception FID**:
  the features come from a 2-layer MLP trained on 8x8 digits, and the numbers are comparable
  only with each other.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from gp_spec import measures, objectives, penalties
from gp_spec._types import Measure
from gp_spec.harness.errors import ConfigError

__all__ = [
    "DigitClassifier",
    "GradNormStats",
    "ModeStats",
    "SupDistance",
    "critic_loss",
    "digit_classes_covered",
    "digit_classifier",
    "digits_frechet_distance",
    "frechet_distance",
    "gradient_norm_stats",
    "mode_statistics",
    "mse_to_optimal",
    "sliced_w1",
    "sup_distance_to_abs",
    "w1_assignment",
]


def _flat64(x: Tensor | np.ndarray, name: str) -> np.ndarray:
    a = x.detach().cpu().double().numpy() if isinstance(x, Tensor) else np.asarray(x, float)
    if a.ndim < 1 or a.shape[0] == 0:
        raise ConfigError(f"{name}.shape={a.shape}, but should be (N, *event) with N >= 1")
    return a.reshape(a.shape[0], -1)


def w1_assignment(x: Tensor | np.ndarray, y: Tensor | np.ndarray, *,
                  num_iter_max: int | None = None) -> float:
    """Exact ``W1 = min_pi sum_ij pi_ij ||x_i - y_j||`` between uniform empirical measures.

    For ``len(x) == len(y)`` this is the mean cost of the optimal assignment (Birkhoff), the
    estimate of 003 §6. It is :func:`gp_spec.optimal.kantorovich` (POT's network simplex in
    float64, checked for optimality), imported on first use.

    Args:
      x: ``(N, *event)``. y: ``(M, *event)``. num_iter_max: simplex iteration cap (None:
        ``kantorovich``'s default).

    Returns:
      The transport cost (float).

    Raises:
      InvalidInputError: empty, mismatched or non-finite inputs. SolverError: the simplex
        stopped before optimality (raise ``num_iter_max``).

    Source: 003 §6 ("minimum assignment ... 500 samples"); SPEC §4.1.
    """
    from gp_spec.optimal import kantorovich  # POT and scipy: only when a W1 is computed

    return kantorovich(_tensor(x), _tensor(y), num_iter_max=num_iter_max).w1


def _tensor(x: Tensor | np.ndarray) -> Tensor:
    return x.detach() if isinstance(x, Tensor) else torch.as_tensor(np.asarray(x, dtype=float))


def sliced_w1(x: Tensor | np.ndarray, y: Tensor | np.ndarray, *, n_projections: int = 256,
              generator: torch.Generator | None = None) -> float:
    """Sliced W1: ``mean_k W1(<theta_k, x>, <theta_k, y>)``, ``theta_k`` uniform on the sphere.

    A Monte Carlo estimate of ``SW1 = E_theta W1(theta#mu, theta#nu)``; in 1-D, ``theta = +-1``
    and it equals W1 exactly. Cost ``O(K (N + M) log(N + M))``, so usable for large sets.

    Args:
      x: ``(N, *event)``. y: ``(M, *event)``. n_projections: ``K``.
      generator: draws the directions.
    """
    a, b = _flat64(x, "x"), _flat64(y, "y")
    if a.shape[1] != b.shape[1]:
        raise ConfigError(f"x has {a.shape[1]} features and y {b.shape[1]}, but they should match")
    from gp_spec.optimal import w1_1d

    theta = torch.randn(n_projections, a.shape[1], generator=generator, dtype=torch.float64)
    t = (theta / theta.norm(dim=1, keepdim=True)).numpy()
    pa, pb = a @ t.T, b @ t.T
    return float(np.mean([w1_1d(pa[:, k], pb[:, k]) for k in range(n_projections)]))


@dataclass(frozen=True)
class ModeStats:
    """Mode coverage of samples from a Gaussian mixture.

    Attributes:
      modes_covered: number of modes with at least ``min_count`` high-quality samples.
      n_modes: number of mixture components K.
      high_quality: fraction of samples within ``n_std`` standard deviations of their nearest
        centre.
      counts: high-quality samples per mode, ``(K,)`` tuple.
      min_count: the threshold used.
    """

    modes_covered: int
    n_modes: int
    high_quality: float
    counts: tuple[int, ...]
    min_count: int


def mode_statistics(samples: Tensor, centres: Tensor, std: float, *, n_std: float = 3.0,
                    min_share: float = 0.1) -> ModeStats:
    """Modes covered and high-quality share, the Unrolled-GAN / 004 convention for mixtures.

    A sample is **high-quality** if its distance to the nearest centre is at most
    ``n_std * std``; it is then assigned to that mode. A mode is **covered** if it receives at
    least ``min_count = max(1, ceil(min_share * N / K))`` high-quality samples, i.e. 10% of the
    count a perfect generator would give it (7 of 500 samples for 8 modes).

    Args:
      samples: ``(N, d)``. centres: ``(K, d)``. std: the components' standard deviation.

    Source: Metz et al. 2017 (Unrolled GAN) §3.1 and VEEGAN's protocol (3 std); 004 §6.2.
    """
    x = samples.detach().cpu().double().flatten(1)
    c = centres.detach().cpu().double()
    dist = torch.cdist(x, c)
    nearest_d, nearest = dist.min(1)
    good = nearest_d <= n_std * std
    counts = torch.bincount(nearest[good], minlength=c.shape[0])
    min_count = max(1, math.ceil(min_share * x.shape[0] / c.shape[0]))
    return ModeStats(int((counts >= min_count).sum()), int(c.shape[0]),
                     float(good.double().mean()), tuple(int(k) for k in counts), min_count)


def critic_loss(critic: nn.Module, real: Tensor, fake: Tensor,
                objective: objectives.Objective) -> float:
    """``L_D = E[phi(f(y))] + E[varphi(f(x))]`` without penalty (003 Fig. 4: its negative)."""
    with torch.no_grad():
        return float(objective.critic_loss(critic(real), critic(fake)))


@dataclass(frozen=True)
class GradNormStats:
    """Statistics of ``||grad_x f(x_hat)||`` over points of the penalty measure.

    Attributes: mean, std, min, max of the norms; above_one: fraction with norm > 1.
    """

    mean: float
    std: float
    min: float
    max: float
    above_one: float


def gradient_norm_stats(critic: nn.Module, real: Tensor, fake: Tensor, *,
                        measure: Measure | None = None,
                        generator: torch.Generator | None = None) -> GradNormStats:
    """Norm statistics at points of ``measure`` (default: interpolates, mu_GP).

    Uses :func:`gp_spec.penalties.gradient_norms`. Source: 003 Eq. 6, 8 (the quantity the
    penalties act on).
    """
    mu = measures.interpolate() if measure is None else measure
    pts = mu.sample(real, fake, generator=generator).points
    n = penalties.gradient_norms(critic, pts).detach().double().cpu()
    return GradNormStats(float(n.mean()), float(n.std(unbiased=False)), float(n.min()),
                         float(n.max()), float((n > 1).double().mean()))


@dataclass(frozen=True)
class SupDistance:
    """``min_c sup_x |f(x) - (-|x| + c)|`` on a grid and the minimising ``c``."""

    distance: float
    c: float


def sup_distance_to_abs(critic: nn.Module, *, lo: float = -3.0, hi: float = 3.0,
                        num: int = 601) -> SupDistance:
    """Sup-distance of a 1-D critic to the optimal family ``-|x| + c`` on ``[lo, hi]``.

    With ``h(x) = f(x) + |x|``, ``sup_x |h(x) - c|`` is minimised by the midrange
    ``c = (max h + min h) / 2`` and equals ``(max h - min h) / 2``.

    Source: 003 Prop. 2 (the optimal critic is ``-|x|`` up to a constant).
    """
    grid = torch.linspace(lo, hi, num, dtype=torch.float64)
    p = next(iter(critic.parameters()), None)
    x = grid[:, None].to(dtype=p.dtype if p is not None else torch.float32,
                         device=p.device if p is not None else "cpu")
    with torch.no_grad():
        h = critic(x).reshape(-1).double().cpu() + grid.abs()
    top, bottom = float(h.max()), float(h.min())
    return SupDistance((top - bottom) / 2, (top + bottom) / 2)


def grid_points(bounds: tuple[float, float, float, float], num: int) -> Tensor:
    """``(num^2, 2)`` float32 grid over ``(xmin, xmax, ymin, ymax)``, x varying fastest."""
    xs = torch.linspace(bounds[0], bounds[1], num)
    ys = torch.linspace(bounds[2], bounds[3], num)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)


def mse_to_optimal(critic: nn.Module, log_ratio: Callable[[Tensor], Tensor], *,
                   bounds: tuple[float, float, float, float] = (-3.0, 3.0, -3.0, 3.0),
                   num: int = 101) -> float:
    """``mean_grid (sigmoid(f(v)) - D*(v))^2`` with ``D* = sigmoid(log p_r/p_g)`` (004 Eq. 2).

    For logistic objectives (minimax / non-saturating), where ``D = sigmoid(f)``.

    Args:
      critic: 2-D critic. log_ratio: callable ``(M, 2) -> (M,)``, ``log p_r / p_g``.
      bounds, num: the ``num x num`` grid.
    """
    v = grid_points(bounds, num)
    p = next(iter(critic.parameters()), None)
    with torch.no_grad():
        d = torch.sigmoid(critic(v.to(p.device) if p is not None else v).reshape(-1).cpu().double())
        d_star = torch.sigmoid(log_ratio(v.double()).reshape(-1))
    return float((d - d_star).square().mean())


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix (negative round-off eigenvalues -> 0)."""
    lam, vec = np.linalg.eigh(s)
    return np.asarray((vec * np.sqrt(np.clip(lam, 0, None))) @ vec.T)


def frechet_distance(feat_x: np.ndarray | Tensor, feat_y: np.ndarray | Tensor) -> float:
    """``||m_x - m_y||^2 + Tr(S_x + S_y - 2 (S_x S_y)^{1/2})`` of Gaussian fits to two sets.

    ``Tr (S_x S_y)^{1/2}`` is computed as ``Tr (S_x^{1/2} S_y S_x^{1/2})^{1/2}`` (same
    eigenvalues, but a symmetric PSD matrix, so no complex round-off and no failure on the
    singular covariances of dead features). Covariances with ``ddof = 1`` (``np.cov``).

    Source: Heusel et al. 2017 (the FID formula, here on arbitrary features).
    """
    a, b = _flat64(feat_x, "feat_x"), _flat64(feat_y, "feat_y")
    m_a, m_b = a.mean(0), b.mean(0)
    s_a = np.atleast_2d(np.cov(a, rowvar=False))
    s_b = np.atleast_2d(np.cov(b, rowvar=False))
    root_a = _psd_sqrt(s_a)
    middle = root_a @ s_b @ root_a
    tr_root = float(np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None))))
    return float(np.sum((m_a - m_b) ** 2) + np.trace(s_a) + np.trace(s_b) - 2 * tr_root)


@dataclass(frozen=True)
class DigitClassifier:
    """A 64-64-32-10 MLP trained on all of ``load_digits`` (pixels in [-1, 1]).

    Attributes:
      net: the network; ``features`` are its 32 last hidden ReLU units.
      train_accuracy: accuracy on the 1797 training digits.
    """

    net: nn.Sequential
    train_accuracy: float

    def features(self, images: Tensor) -> Tensor:
        """``(N, 1, 8, 8) -> (N, 32)``, the penultimate activations."""
        with torch.no_grad():
            out: Tensor = self.net[:-1](images.detach().cpu().float().flatten(1))
        return out

    def predict(self, images: Tensor) -> Tensor:
        """Predicted classes ``(N,)``."""
        with torch.no_grad():
            out: Tensor = self.net(images.detach().cpu().float().flatten(1)).argmax(1)
        return out


@functools.lru_cache(maxsize=1)
def digit_classifier() -> DigitClassifier:
    """Train (once per process, seed 0, full-batch Adam, 100 steps) and cache the classifier.

    The global torch RNG is forked, so training it does not disturb a run's random streams.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.as_tensor(bunch.images, dtype=torch.float32).flatten(1) / 8 - 1
    y = torch.as_tensor(bunch.target, dtype=torch.long)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                            nn.Linear(32, 10))
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        for _ in range(100):
            opt.zero_grad()
            torch.autograd.backward(nn.functional.cross_entropy(net(x), y))
            opt.step()
    net.eval()
    with torch.no_grad():
        acc = float((net(x).argmax(1) == y).float().mean())
    return DigitClassifier(net, acc)


def digit_classes_covered(samples: Tensor, *, min_share: float = 0.1) -> int:
    """Digit classes that get at least ``ceil(min_share * N / 10)`` of the predicted labels.

    The 10-class analogue of :func:`mode_statistics` (a class is a mode).
    """
    pred = digit_classifier().predict(samples)
    counts = torch.bincount(pred, minlength=10)
    need = max(1, math.ceil(min_share * samples.shape[0] / 10))
    return int((counts >= need).sum())


def digits_frechet_distance(samples: Tensor, real: Tensor) -> float:
    """Frechet distance between generated and real digits in the classifier's 32 features.

    NOT Inception FID: the feature extractor is :func:`digit_classifier`.
    """
    clf = digit_classifier()
    return frechet_distance(clf.features(samples).numpy(), clf.features(real).numpy())
