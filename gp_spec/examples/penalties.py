"""Example implementations shipped with gp-spec, written as a user would write them.

``wgan_gp`` is a correct WGAN-GP penalty (weight 10) in the common public style;
``buggy_wgan_gp`` has two classic bugs: the gradient norm is taken per channel/row
(``grad.norm(2, dim=1)``) and one interpolation weight is drawn for the whole batch.

    gp-spec conform gp_spec.examples.penalties:wgan_gp --spec wgan-gp        # exit 0
    gp-spec conform gp_spec.examples.penalties:buggy_wgan_gp --spec wgan-gp  # exit 1
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

LAMBDA = 10.0


def wgan_gp(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """``LAMBDA * E[(||grad D(x_hat)|| - 1)^2]`` on random interpolates (Gulrajani et al.)."""
    real, fake = real.detach(), fake.detach()
    shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    alpha = torch.rand(shape, device=real.device, dtype=real.dtype)
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(
        scores, x_hat, grad_outputs=torch.ones_like(scores), create_graph=True
    )
    norm = grad.flatten(1).norm(2, dim=1)
    penalty: Tensor = LAMBDA * ((norm - 1) ** 2).mean()
    return penalty


def buggy_wgan_gp(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """The same, with a per-batch alpha and a norm over dim 1 only (two common bugs)."""
    alpha = torch.rand(1, device=real.device, dtype=real.dtype)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(
        scores, x_hat, grad_outputs=torch.ones_like(scores), create_graph=True
    )
    norm = grad.norm(2, dim=1)
    penalty: Tensor = LAMBDA * ((norm - 1) ** 2).mean()
    return penalty
