"""Penalties written the way users write them, for ``gp-spec bench`` (no gp_spec import).

    gp-spec bench bench/examples_bench.py:r1 --spec r1 --weight 5 --critic dcgan --batch 64
    gp-spec bench bench/examples_bench.py:dragan --spec dragan --critic dcgan --batch 64
    gp-spec bench bench/examples_bench.py:dragan_batch_alpha --spec dragan   # fails conformance

``r1`` (Mescheder et al. 2018): ``gamma/2 E_real ||grad D(x)||^2`` with gamma = 10 (weight 5).
``dragan`` (Kodali et al. 2017, the reference code's perturbation): ``x_p = x + 0.5 std(x) u``
with ``u ~ U(0, 1)`` elementwise, ``x_hat = x + alpha (x_p - x)`` with one alpha per sample,
``10 E[(||grad D(x_hat)|| - 1)^2]``. ``dragan_batch_alpha`` has a classic bug: one alpha for the
whole batch. ``slow_wgan_gp`` is a correct WGAN-GP penalty that evaluates itself eight times
(a stand-in for a needlessly slow one).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

R1_GAMMA = 10.0
DRAGAN_LAMBDA = 10.0
DRAGAN_C = 0.5


def r1(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """``(gamma / 2) * mean_i ||grad D(x_i)||^2`` on the real batch."""
    x = real.detach().requires_grad_(True)
    scores = critic(x)
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    penalty: Tensor = 0.5 * R1_GAMMA * grad.pow(2).flatten(1).sum(1).mean()
    return penalty


def _dragan(critic: nn.Module, real: Tensor, *, per_sample: bool) -> Tensor:
    x = real.detach()
    x_p = x + DRAGAN_C * x.std(unbiased=False) * torch.rand_like(x)
    shape = (x.shape[0],) + (1,) * (x.ndim - 1) if per_sample else (1,) * x.ndim
    alpha = torch.rand(shape, device=x.device, dtype=x.dtype)
    x_hat = (x + alpha * (x_p - x)).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    penalty: Tensor = DRAGAN_LAMBDA * ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
    return penalty


def dragan(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """DRAGAN's penalty around the real data (fake is not used)."""
    return _dragan(critic, real, per_sample=True)


def dragan_batch_alpha(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """Buggy: one interpolation weight for the whole batch."""
    return _dragan(critic, real, per_sample=False)


def _wgan_gp(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    alpha = torch.rand(shape, device=real.device, dtype=real.dtype)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    penalty: Tensor = 10.0 * ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
    return penalty


def slow_wgan_gp(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """A correct WGAN-GP penalty (weight 10) that costs eight: the mean of eight estimates."""
    return torch.stack([_wgan_gp(critic, real, fake) for _ in range(8)]).mean()
