"""One evaluation of a training run: the metrics of :mod:`gp_spec.harness.metrics` that apply.

Every key is a float (or an int count); the keys present depend on the data set:

- always: ``w1_assignment`` (exact W1 of ``eval_samples`` generated vs real samples, 003 §6),
  ``critic_loss`` (``L_D`` without penalty on fresh samples), ``critic_gap``
  (``mean f(x) - mean f(y)``, the critic's dual estimate of W1 for WGANs), ``grad_norm_mean``,
  ``grad_norm_max``, ``grad_norm_above_one`` (on the regulariser's penalty measure; mu_GP if it
  has none);
- images: ``w1_sliced``;
- Gaussian mixtures: ``modes_covered``, ``high_quality``;
- 1-D critics: ``sup_dist_abs`` and ``sup_dist_c`` (003 Prop. 2);
- a known ``D*``: ``mse_dstar`` (004 Fig. 1);
- digits: ``digit_classes``, ``digit_fd`` (classifier features, not Inception FID).

Evaluation draws from its own generators, seeded from the run's seed and the step, so it never
changes the training streams (a resumed run equals an uninterrupted one).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gp_spec import objectives
from gp_spec._types import Measure
from gp_spec.harness import metrics
from gp_spec.harness.data import Dataset

__all__ = ["METRIC_DEFINITIONS", "EvalInputs", "evaluate", "fake_samples"]

METRIC_DEFINITIONS: dict[str, str] = {
    "step": "generator steps done (outer iterations; critic-only runs: critic steps)",
    "critic_updates": "critic updates done (warm-up included)",
    "train_critic_loss": "L_D without penalty on the last critic batch (training samples)",
    "train_penalty": "the penalty (weight included) on the last critic batch; 0 without one",
    "train_generator_loss": "L_G on the last generator batch",
    "w1_assignment": "exact W1 between eval_samples real and eval_samples generated samples: "
                     "the mean cost of the optimal assignment (003 §6; POT network simplex via "
                     "gp_spec.optimal.kantorovich); two finite samples of one distribution "
                     "already differ (the noise floor: ~0.11 for 500 samples of 8 Gaussians)",
    "critic_loss": "L_D without penalty on eval_samples fresh samples per side (003 Fig. 4 "
                   "plots its negative)",
    "critic_gap": "mean f(real) - mean f(fake) on those samples: the critic's dual estimate of "
                  "W1 for a 1-Lipschitz critic",
    "grad_norm_mean": "mean of ||grad_x f|| at points of the run's penalty measure (mu_GP, "
                      "the interpolates, if the run has no gradient penalty)",
    "grad_norm_max": "largest ||grad_x f|| at those points",
    "grad_norm_above_one": "share of those points with ||grad_x f|| > 1",
    "w1_sliced": "(images) sliced W1: mean over 256 random unit directions of the 1-D W1 of "
                 "the projections",
    "modes_covered": "(Gaussian mixtures) modes with at least max(1, ceil(0.1 N / K)) "
                     "high-quality samples, i.e. 10% of a perfect generator's share; a sample "
                     "is high-quality if it lies within 3 standard deviations of its nearest "
                     "centre (Metz et al. 2017; 004 §6.2)",
    "high_quality": "(Gaussian mixtures) share of generated samples within 3 standard "
                    "deviations of their nearest centre",
    "sup_dist_abs": "(1-D critics) min_c max_{x in [-3, 3]} |f(x) - (-|x| + c)| on a "
                    "601-point grid: distance to the optimal critic of 003 Prop. 2",
    "sup_dist_c": "(1-D critics) the minimising c",
    "mse_dstar": "(known D*) mean over a 101 x 101 grid of (sigmoid(f) - D*)^2, "
                 "D* = p_r / (p_r + p_g) (004 Eq. 2, Fig. 1)",
    "digit_classes": "(digits) classes receiving at least 10% of a uniform share of the "
                     "predicted labels of a small classifier",
    "digit_fd": "(digits) Frechet distance in the 32 features of that classifier (NOT "
                "Inception FID; comparable only with itself)",
    "elapsed_s": "wall time since the start of this call (resumed runs restart it)",
}
"""Every key of a ``metrics.jsonl`` record and of ``summary.json``'s ``final``, defined.
``gp-spec train --help`` prints these; docs/metrics.md lists them."""


@dataclass(frozen=True)
class EvalInputs:
    """What :func:`evaluate` needs besides the networks.

    Attributes:
      dataset: the real data. objective: the run's objective. measure: where gradient norms
      are measured (None: interpolates). n: samples per set. latent_dim: generator input size.
      critic_only: fakes come from ``dataset.reference`` instead of a generator.
      device: where the networks live.
    """

    dataset: Dataset
    objective: objectives.Objective
    measure: Measure | None
    n: int
    latent_dim: int
    critic_only: bool
    device: torch.device


def fake_samples(
    generator_model: nn.Module | None, inputs: EvalInputs, gen: torch.Generator
) -> Tensor:
    """``n`` fakes: ``G(z)``, ``z ~ N(0, I)`` drawn from ``gen`` (CPU), or reference samples."""
    if inputs.critic_only or generator_model is None:
        return inputs.dataset.sample_reference(inputs.n, gen).to(inputs.device)
    z = torch.randn(inputs.n, inputs.latent_dim, generator=gen).to(inputs.device)
    with torch.no_grad():
        out: Tensor = generator_model(z)
    return out.float()


def evaluate(
    critic: nn.Module,
    generator_model: nn.Module | None,
    inputs: EvalInputs,
    *,
    seed: int,
) -> dict[str, float]:
    """All applicable metrics (module docstring) with draws seeded by ``seed``."""
    cpu_gen = torch.Generator().manual_seed(seed)
    dev_gen = torch.Generator(device=inputs.device).manual_seed(seed + 1)
    ds = inputs.dataset
    real = ds.sample(inputs.n, cpu_gen).to(inputs.device)
    fake = fake_samples(generator_model, inputs, cpu_gen)
    out: dict[str, float] = {"w1_assignment": metrics.w1_assignment(real, fake)}
    with torch.no_grad():
        s_r, s_f = critic(real), critic(fake)
    out["critic_loss"] = float(inputs.objective.critic_loss(s_r, s_f))
    out["critic_gap"] = float(s_r.mean() - s_f.mean())
    g = metrics.gradient_norm_stats(critic, real, fake, measure=inputs.measure, generator=dev_gen)
    out.update(grad_norm_mean=g.mean, grad_norm_max=g.max, grad_norm_above_one=g.above_one)
    if ds.kind == "images":
        out["w1_sliced"] = metrics.sliced_w1(real, fake, generator=cpu_gen)
    if ds.centres is not None and ds.mode_std is not None:
        m = metrics.mode_statistics(fake, ds.centres, ds.mode_std)
        out.update(modes_covered=float(m.modes_covered), high_quality=m.high_quality)
    if ds.event_shape == (1,):
        sd = metrics.sup_distance_to_abs(critic)
        out.update(sup_dist_abs=sd.distance, sup_dist_c=sd.c)
    if ds.log_ratio is not None and ds.bounds is not None:
        out["mse_dstar"] = metrics.mse_to_optimal(critic, ds.log_ratio, bounds=ds.bounds)
    if ds.name.startswith("digits"):
        out["digit_classes"] = float(metrics.digit_classes_covered(fake))
        out["digit_fd"] = metrics.digits_frechet_distance(fake, real)
    return out
