"""Rewrites: correct penalties written differently from gp_spec's references; all must pass.

Each is declared as data, ``Rewrite(name, spec, weight, fn, how)``, with ``fn`` the canonical
``fn(critic, real, fake)`` (weight baked in). They keep the catalogue honest: a check that
fails one of them rejects a correct implementation, and must be fixed rather than the rewrite.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap

from conformance.mutants import Canonical, Impl, bake

__all__ = ["REWRITES", "Rewrite"]


@dataclass(frozen=True)
class Rewrite:
    """One correct implementation written another way.

    Attributes:
      name: unique id (the pytest id and the table row).
      spec: the ``gp_spec.SPECS`` name it implements.
      weight: the weight baked into ``fn``.
      fn: canonical ``fn(critic, real, fake) -> 0-dim tensor``.
      how: what is different about it, in one line.
    """

    name: str
    spec: str
    weight: float
    fn: Canonical
    how: str


def _alpha(x: Tensor) -> Tensor:
    return torch.rand((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype, device=x.device)


def grad_outputs_ones(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """WGAN-GP as in Gulrajani et al.'s code: ``grad_outputs=torch.ones_like(scores)``."""
    alpha = _alpha(real)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat)
    (g,) = torch.autograd.grad(
        outputs=scores, inputs=x_hat, grad_outputs=torch.ones_like(scores),
        create_graph=True, retain_graph=True, only_inputs=True,
    )
    return weight * ((g.view(g.size(0), -1).norm(2, dim=1) - 1) ** 2).mean()


def torch_func_vmap(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """Per-sample ``grad`` of ``functional_call(critic, params, x[None])`` under ``vmap``."""
    alpha = _alpha(real)
    x_hat = alpha * real.detach() + (1 - alpha) * fake.detach()
    params = dict(critic.named_parameters())
    buffers = dict(critic.named_buffers())

    def score(p: dict[str, Tensor], x: Tensor) -> Tensor:
        return functional_call(critic, (p, buffers), (x.unsqueeze(0),)).reshape(())

    g = vmap(grad(score, argnums=1), in_dims=(None, 0))(params, x_hat)
    norm = torch.linalg.vector_norm(g.flatten(1), dim=1)
    return weight * ((norm - 1) ** 2).mean()


def shuffled_pairing(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """mu_GP with fake shuffled first: any pairing of real and fake samples is allowed."""
    fake = fake.detach()[torch.randperm(fake.shape[0], device=fake.device)]
    alpha = _alpha(real)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return weight * F.relu(g.flatten(1).norm(dim=1) - 1).square().mean()


def float64_inside(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """Computed in float64 whatever the input dtype, cast back to the input dtype."""
    x, y = real.detach().double(), fake.detach().double()
    alpha = _alpha(x)
    x_hat = (alpha * x + (1 - alpha) * y).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    penalty = weight * ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()
    return penalty.to(real.dtype)


def linalg_vector_norm(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """0-GP on mu_GP with ``torch.linalg.vector_norm`` over all event dims at once."""
    alpha = _alpha(real)
    x_hat = torch.lerp(fake.detach(), real.detach(), alpha).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    dims = tuple(range(1, g.ndim))
    return weight * torch.linalg.vector_norm(g, dim=dims).square().mean()


def r1_stylegan2(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """R1 as in stylegan2-ada ``training/loss.py``: square-sum of the gradient of sum(logits)."""
    r1_gamma = 2 * weight  # weight is gamma / 2
    real_img_tmp = real.detach().requires_grad_(True)
    real_logits = critic(real_img_tmp)
    r1_grads = torch.autograd.grad(
        outputs=[real_logits.sum()], inputs=[real_img_tmp], create_graph=True
    )[0]
    r1_penalty = r1_grads.square().sum(dim=tuple(range(1, r1_grads.ndim)))
    return (r1_penalty * (r1_gamma / 2)).mean()


def fused_critic_call(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """One critic call on cat(real, fake, x_hat); the gradient w.r.t. the x_hat slice only.

    Valid for mu_GP: real and fake points are endpoints of the segments (alpha = 1, 0).
    """
    x, y = real.detach(), fake.detach()
    alpha = _alpha(x)
    x_hat = (alpha * x + (1 - alpha) * y).requires_grad_(True)
    n = x.shape[0]
    scores = critic(torch.cat([x, y, x_hat])).reshape(-1)
    (g,) = torch.autograd.grad(scores[2 * n:].sum(), x_hat, create_graph=True)
    return weight * ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()


def one_sided_clamp(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """WGAN-LP with ``clamp(min=0)`` in place of ``max(0, .)``."""
    alpha = _alpha(real)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return weight * ((g.flatten(1).norm(dim=1) - 1).clamp(min=0) ** 2).mean()


def tiny_eps_norm(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """``sqrt(sum(g^2) + 1e-12)``, the guard of many public WGAN-GP implementations."""
    alpha = _alpha(real)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    norm = torch.sqrt(torch.sum(g.flatten(1) ** 2, dim=1) + 1e-12)
    return weight * ((norm - 1) ** 2).mean()


def dragan_reference_style(
    critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
) -> Tensor:
    """DRAGAN as Kodali et al.'s code: ``X_p = X + 0.5 X.std() U``, ``x + alpha (X_p - X)``."""
    x = real.detach()
    x_p = x + 0.5 * x.std(unbiased=False) * torch.rand_like(x)
    differences = x_p - x
    alpha = _alpha(x)
    interpolates = (x + alpha * differences).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(interpolates).sum(), interpolates, create_graph=True)
    return weight * ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def anchor_with_lerp(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """SGP on mu_g,anc written with ``torch.lerp`` and an explicit (2, -1, ...) anchor."""
    y = fake.detach()
    n = y[0].numel()
    anchor = torch.tensor([2.0, -1.0] * ((n + 1) // 2), dtype=y.dtype, device=y.device)
    anchor = anchor[:n].reshape(y.shape[1:]).expand_as(y)
    x_hat = torch.lerp(y, anchor, _alpha(y)).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return weight * g.flatten(1).pow(2).sum(1).mean()


def midpoint_as_mean(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """SGP on mu_mid as ``torch.stack([real, fake]).mean(0)``."""
    x_hat = torch.stack([real.detach(), fake.detach()]).mean(0).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return weight * torch.linalg.vector_norm(g.flatten(1), dim=1).square().mean()


def quotient_with_maximum(
    critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
) -> Tensor:
    """Eq. 7 with ``torch.maximum`` for the floor and ``F.relu`` for max(0, .)."""
    x, y = real.detach(), fake.detach()
    s_r, s_f = critic(x).reshape(-1), critic(y).reshape(-1)
    dist = torch.linalg.vector_norm(x - y, dim=tuple(range(1, x.ndim)))
    floor = torch.full_like(dist, 1e-6)
    lip = (s_r - s_f).abs() / torch.maximum(dist, floor)
    return weight * F.relu(lip - 1).pow(2).mean()


def transport_soft_constraint(
    critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
) -> Tensor:
    """Eq. 9 as the 003 authors' code writes it: ``LAMBDA * mean(relu(...)**2)``."""
    x, y = real.detach(), fake.detach()
    cost = (x - y).flatten(1).pow(2).sum(1).sqrt()
    excess = critic(x).view(-1) - critic(y).view(-1) - cost
    return weight * torch.mean(torch.clamp(excess, min=0.0) ** 2)


def float32_alpha(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """WGAN-GP with ``torch.rand(N, 1)`` in the default float32, promoted by float64 inputs."""
    alpha = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), device=real.device)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return weight * ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()


def _r(impl: Impl, spec: str, weight: float) -> Rewrite:
    doc = (impl.__doc__ or "").strip().splitlines()[0]
    return Rewrite(impl.__name__, spec, weight, bake(impl, weight), doc)


REWRITES: tuple[Rewrite, ...] = (
    _r(grad_outputs_ones, "wgan-gp", 10.0),
    _r(torch_func_vmap, "wgan-gp", 10.0),
    _r(shuffled_pairing, "wgan-lp", 10.0),
    _r(float64_inside, "wgan-gp", 2.5),
    _r(linalg_vector_norm, "gan-0gp", 10.0),
    _r(r1_stylegan2, "r1", 5.0),
    _r(fused_critic_call, "wgan-gp", 10.0),
    _r(one_sided_clamp, "wgan-lp", 2.5),
    _r(tiny_eps_norm, "wgan-gp", 10.0),
    _r(dragan_reference_style, "dragan", 10.0),
    _r(anchor_with_lerp, "sgp-anchor", 10.0),
    _r(midpoint_as_mean, "sgp-mid", 10.0),
    _r(quotient_with_maximum, "lp-quotient", 10.0),
    _r(transport_soft_constraint, "transport", 10.0),
    _r(float32_alpha, "wgan-gp", 10.0),
)
"""Every rewrite, in table order."""
