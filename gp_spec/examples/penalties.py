"""Example implementations shipped with gp-spec, written as users write them.

- ``wgan_gp``: a correct WGAN-GP penalty (weight 10) for inputs of any rank;
- ``buggy_wgan_gp``: two classic bugs: the gradient norm is taken per channel/row
  (``grad.norm(2, dim=1)``) and one interpolation weight is drawn for the whole batch;
- ``image_wgan_gp``: a correct WGAN-GP written for images only, with a critic returning
  ``(N, 1)``, as the most-copied public code is (checked with no options: the image domain
  and the critic's output convention are detected);
- ``buggy_image_wgan_gp``: the same with one interpolation weight per pixel.

    gp-spec conform gp_spec.examples.penalties:wgan_gp --spec wgan-gp              # exit 0
    gp-spec conform gp_spec.examples.penalties:buggy_wgan_gp --spec wgan-gp        # exit 1
    gp-spec conform gp_spec.examples.penalties:image_wgan_gp --spec wgan-gp        # exit 0
    gp-spec conform gp_spec.examples.penalties:buggy_image_wgan_gp --spec wgan-gp  # exit 1
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


def image_wgan_gp(D: nn.Module, real_imgs: Tensor, fake_imgs: Tensor) -> Tensor:
    """WGAN-GP written for images only, as the most-copied public code is: ``alpha`` of
    shape ``(N, 1, 1, 1)``, a critic returning ``(N, 1)`` and ``grad_outputs`` of that shape.

    ``gp-spec conform gp_spec.examples.penalties:image_wgan_gp --spec wgan-gp`` detects the
    image domain by itself (on vectors the alpha would broadcast into ``(N, 1, N, d)``).
    """
    n = real_imgs.size(0)
    alpha = torch.rand(n, 1, 1, 1, device=real_imgs.device, dtype=real_imgs.dtype)
    x_hat = (alpha * real_imgs.detach() + (1 - alpha) * fake_imgs.detach()).requires_grad_(True)
    d_hat = D(x_hat)
    ones = torch.ones(n, 1, device=real_imgs.device, dtype=real_imgs.dtype)
    (grad,) = torch.autograd.grad(d_hat, x_hat, grad_outputs=ones, create_graph=True)
    penalty: Tensor = LAMBDA * ((grad.view(n, -1).norm(2, dim=1) - 1) ** 2).mean()
    return penalty


def buggy_image_wgan_gp(D: nn.Module, real_imgs: Tensor, fake_imgs: Tensor) -> Tensor:
    """The same with a seeded bug: one interpolation weight per pixel (``alpha`` of shape
    ``(N, 1, H, W)``, shared by the channels but not by the pixels of an image)."""
    n, _, h, w = real_imgs.shape
    alpha = torch.rand(n, 1, h, w, device=real_imgs.device, dtype=real_imgs.dtype)  # BUG
    x_hat = (alpha * real_imgs.detach() + (1 - alpha) * fake_imgs.detach()).requires_grad_(True)
    d_hat = D(x_hat)
    ones = torch.ones(n, 1, device=real_imgs.device, dtype=real_imgs.dtype)
    (grad,) = torch.autograd.grad(d_hat, x_hat, grad_outputs=ones, create_graph=True)
    penalty: Tensor = LAMBDA * ((grad.view(n, -1).norm(2, dim=1) - 1) ** 2).mean()
    return penalty
