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

__all__ = ["EvalInputs", "evaluate", "fake_samples"]


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
