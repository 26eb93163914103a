"""Rewrites: correct penalties written differently from gp_spec's references; all must pass.

Each is declared as data, ``Rewrite(name, spec, weight, fn, how)``, with ``fn`` the canonical
``fn(critic, real, fake)`` (weight baked in). They keep the catalogue honest: a check that
fails one of them rejects a correct implementation, and must be fixed rather than the rewrite.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap

from conformance.mutants import Impl, bake

__all__ = ["REWRITES", "Rewrite"]


@dataclass(frozen=True)
class Rewrite:
    """One correct implementation written another way.

    Attributes:
      name: unique id (the pytest id and the table row).
      spec: the ``gp_spec.SPECS`` name it implements.
      weight: the weight baked into ``fn``.
      fn: the implementation: canonical ``fn(critic, real, fake) -> 0-dim tensor``, or a
        convention gp-spec infers from the signature (``(real_pred, real_img)``, ...).
      how: what is different about it, in one line.
      options: further keywords of ``check()`` (e.g. ``batch_size`` for code that
        hard-codes one), usually none.
    """

    name: str
    spec: str
    weight: float
    fn: Callable[..., Any]
    how: str
    options: Mapping[str, Any] = field(default_factory=dict)


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


# -- issue 14: correct but unusual ---------------------------------------------------------

def _wgan_gp_at(critic: nn.Module, x_hat: Tensor, weight: float) -> Tensor:
    x = x_hat.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return weight * ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()


def jacrev_per_sample(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                      ) -> Tensor:
    """WGAN-GP with per-sample input gradients from ``torch.func.jacrev`` under ``vmap``."""
    from torch.func import functional_call, jacrev

    alpha = _alpha(real)
    x_hat = (alpha * real + (1 - alpha) * fake).detach()
    params = dict(critic.named_parameters())

    def score(x: Tensor) -> Tensor:
        return functional_call(critic, params, (x[None],)).reshape(())

    g = vmap(jacrev(score))(x_hat)
    return weight * ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()


def channels_last(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """WGAN-GP on interpolates in ``torch.channels_last`` memory format (for images)."""
    alpha = _alpha(real)
    x_hat = alpha * real.detach() + (1 - alpha) * fake.detach()
    if x_hat.ndim == 4:
        x_hat = x_hat.contiguous(memory_format=torch.channels_last)
    return _wgan_gp_at(critic, x_hat, weight)


def lerp_interpolates(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                      ) -> Tensor:
    """WGAN-GP with ``torch.lerp(fake, real, alpha)``."""
    return _wgan_gp_at(critic, torch.lerp(fake.detach(), real.detach(), _alpha(real)), weight)


def local_generator(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """WGAN-GP drawing alpha from a local ``torch.Generator`` seeded afresh on every call."""
    g = torch.Generator(device=real.device).manual_seed(int(torch.randint(2**62, ())))
    shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    alpha = torch.rand(shape, generator=g, device=real.device, dtype=real.dtype)
    return _wgan_gp_at(critic, alpha * real + (1 - alpha) * fake, weight)


def numpy_alpha(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """WGAN-GP with alpha drawn by NumPy's global RNG (PyTorch-GAN's ``np.random.random``)."""
    import numpy as np

    shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    alpha = torch.as_tensor(np.random.random(shape), dtype=real.dtype, device=real.device)
    return _wgan_gp_at(critic, alpha * real + (1 - alpha) * fake, weight)


class GradientPenalty:
    """WGAN-GP as a callable object (``__call__(critic, real, fake)``)."""

    def __init__(self, weight: float) -> None:
        self.weight = weight

    def __call__(self, critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        alpha = _alpha(real)
        return _wgan_gp_at(critic, alpha * real + (1 - alpha) * fake, self.weight)


@torch.jit.script
def _scripted_term(norm: Tensor) -> Tensor:
    return (norm - 1.0) ** 2


def torchscript_term(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """WGAN-GP whose per-sample term is a TorchScript function."""
    alpha = _alpha(real)
    x = (alpha * real + (1 - alpha) * fake).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return weight * _scripted_term(g.flatten(1).norm(dim=1)).mean()


def r1_concatenated(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """R1 from one critic pass over ``cat(real, fake)``, penalising the real half."""
    n = real.shape[0]
    x = torch.cat([real.detach(), fake.detach()]).requires_grad_(True)
    scores = critic(x)
    (g,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    return weight * g[:n].flatten(1).square().sum(1).mean()


def r2_concatenated(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """R2 from one critic pass over ``cat(real, fake)``, penalising the fake half."""
    n = real.shape[0]
    x = torch.cat([real.detach(), fake.detach()]).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return weight * g[n:].flatten(1).square().sum(1).mean()


def eps_1e8_in_sqrt(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """WGAN-GP with ``sqrt(sum(g^2) + 1e-8)``: below float32 resolution (SPEC §6)."""
    alpha = _alpha(real)
    x = (alpha * real + (1 - alpha) * fake).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return weight * ((torch.sqrt(g.flatten(1).square().sum(1) + 1e-8) - 1) ** 2).mean()


def eps_1e6_in_sqrt(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    """0-GP with ``sqrt(sum(g^2) + 1e-6)`` squared: the largest eps SPEC §6 accepts."""
    alpha = _alpha(real)
    x = (alpha * real + (1 - alpha) * fake).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return weight * (torch.sqrt(g.flatten(1).square().sum(1) + 1e-6) ** 2).mean()


def d_r1_loss(real_pred: Tensor, real_img: Tensor) -> Tensor:
    """R1 in StyleGAN2's ``(real_pred, real_img)`` form (convention inferred), unweighted."""
    (g,) = torch.autograd.grad(real_pred.sum(), real_img, create_graph=True)
    return g.pow(2).reshape(g.shape[0], -1).sum(1).mean()


def images_only_n1(D: nn.Module, real_imgs: Tensor, fake_imgs: Tensor) -> Tensor:
    """WGAN-GP for images only: alpha ``(N, 1, 1, 1)``, ``grad_outputs`` of shape ``(N, 1)``."""
    n = real_imgs.size(0)
    alpha = torch.rand(n, 1, 1, 1, dtype=real_imgs.dtype, device=real_imgs.device)
    x = (alpha * real_imgs + (1 - alpha) * fake_imgs).detach().requires_grad_(True)
    out = D(x)
    (g,) = torch.autograd.grad(out, x, grad_outputs=torch.ones(n, 1, dtype=x.dtype,
                                                                device=x.device),
                               create_graph=True)
    return 10.0 * ((g.view(n, -1).norm(2, dim=1) - 1) ** 2).mean()


def dict_critic_labels(real_images: Tensor, real_labels: Tensor, fake_images: Tensor,
                       discriminator: nn.Module, device: torch.device) -> Tensor:
    """StudioGAN's form: ``(real, labels, fake, critic, device)``, a critic ``D(x, labels)``
    returning ``{"adv_output": ...}``, unweighted."""
    n = real_images.shape[0]
    alpha = torch.rand((n,) + (1,) * (real_images.ndim - 1), dtype=real_images.dtype,
                       device=device)
    x = (alpha * real_images + (1 - alpha) * fake_images).detach().requires_grad_(True)
    out = discriminator(x, real_labels, eval=False)["adv_output"]
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return ((g.reshape(n, -1).norm(2, dim=1) - 1) ** 2).mean()


BATCH_SIZE = 64


def hard_coded_batch(netD: nn.Module, real_data: Tensor, fake_data: Tensor) -> Tensor:
    """WGAN-GP with the batch size hard-coded as a global (caogang's ``BATCH_SIZE``)."""
    alpha = torch.rand(BATCH_SIZE, 1, dtype=real_data.dtype).expand(BATCH_SIZE, real_data[0]
                                                                      .numel())
    alpha = alpha.reshape(real_data.shape)
    x = (alpha * real_data + (1 - alpha) * fake_data).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(netD(x).sum(), x, create_graph=True)
    return 10.0 * ((g.reshape(BATCH_SIZE, -1).norm(2, dim=1) - 1) ** 2).mean()


class Trainer:
    """A trainer whose method reads the critic from ``self.D`` (EmilienDupont's form)."""

    def __init__(self, D: nn.Module | None, gp_weight: float) -> None:
        self.D = D
        self.gp_weight = gp_weight

    def gradient_penalty(self, real_data: Tensor, generated_data: Tensor) -> Tensor:
        """WGAN-GP as a trainer's method reading its critic from ``self.D``."""
        alpha = _alpha(real_data)
        x_hat = alpha * real_data + (1 - alpha) * generated_data
        assert self.D is not None
        return _wgan_gp_at(self.D, x_hat, self.gp_weight)


# -- issue 13/14, second round: real code as written ----------------------------------------

def r1_required_gamma(discriminator: nn.Module, real: Tensor, fake: Tensor,
                      gamma: float) -> Tensor:
    """R1 taking Mescheder's ``gamma`` (required): ``gamma / 2 * E||grad D(x)||^2``."""
    x = real.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(discriminator(x).sum(), x, create_graph=True)
    return gamma / 2 * g.flatten(1).square().sum(1).mean()


def transport_pairwise_distance(critic: nn.Module, real: Tensor, fake: Tensor, *,
                                weight: float) -> Tensor:
    """Transport penalty with ``F.pairwise_distance`` (its eps = 1e-6 inside)."""
    x, y = real.detach(), fake.detach()
    dist = F.pairwise_distance(x.flatten(1), y.flatten(1))
    excess = torch.relu(critic(x).reshape(-1) - critic(y).reshape(-1) - dist)
    return weight * excess.square().mean()


def shape_probe_then_func(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                          ) -> Tensor:
    """A ``no_grad`` call on one sample to learn the output shape, then torch.func."""
    with torch.no_grad():
        squeeze = critic(real[:1]).dim() == 2
    alpha = _alpha(real)
    x_hat = alpha * real.detach() + (1 - alpha) * fake.detach()
    params, buffers = dict(critic.named_parameters()), dict(critic.named_buffers())

    def score(p: dict[str, Tensor], x: Tensor) -> Tensor:
        out = functional_call(critic, (p, buffers), (x.unsqueeze(0),))
        return (out.squeeze(1) if squeeze else out).reshape(())

    g = vmap(grad(score, argnums=1), in_dims=(None, 0))(params, x_hat)
    return weight * ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()


def eval_logging_no_grad(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                         ) -> Tensor:
    """Logs the critic's eval-mode score under ``no_grad``, then the penalty in training mode."""
    was = critic.training
    critic.eval()
    with torch.no_grad():
        critic(real).mean()
    critic.train(was)
    alpha = _alpha(real)
    return _wgan_gp_at(critic, alpha * real + (1 - alpha) * fake, weight)


def returns_penalty_and_norms(real_data: Tensor, fake_data: Tensor, discriminator: nn.Module
                              ) -> tuple[Tensor, Tensor]:
    """WGAN-GP returning ``(penalty, gradient norms)`` for logging, unweighted."""
    alpha = _alpha(real_data)
    x = (alpha * real_data + (1 - alpha) * fake_data).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(discriminator(x).sum(), x, create_graph=True)
    norms = g.flatten(1).norm(dim=1)
    return ((norms - 1) ** 2).mean(), norms.detach()


class AdversarialLoss(nn.Module):
    """A loss object (an ``nn.Module`` for its settings) whose R1 takes the critic's output."""

    def __init__(self, r1_gamma: float = 10.0) -> None:
        super().__init__()
        self.r1_gamma = r1_gamma

    def r1_penalty(self, real_images: Tensor, real_logits: Tensor) -> Tensor:
        """R1 of a loss object: ``r1_gamma / 2 * E||grad||^2`` from ``(images, logits)``."""
        (g,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
        return self.r1_gamma * 0.5 * g.flatten(1).square().sum(1).mean()


class CriticTrainer:
    """A trainer that keeps its critic under a name of its own (``self.netC``)."""

    def __init__(self, netC: nn.Module | None, netG: nn.Module | None) -> None:
        self.netC, self.netG = netC, netG

    def gradient_penalty(self, real: Tensor, fake: Tensor) -> Tensor:
        """WGAN-GP as a trainer's method reading its critic from ``self.netC``."""
        alpha = _alpha(real)
        assert self.netC is not None
        return _wgan_gp_at(self.netC, alpha * real + (1 - alpha) * fake, 10.0)


def _r(impl: Impl, spec: str, weight: float) -> Rewrite:
    doc = (impl.__doc__ or "").strip().splitlines()[0]
    return Rewrite(impl.__name__, spec, weight, bake(impl, weight), doc)


def _raw(fn: Callable[..., Any], spec: str, weight: float, name: str | None = None,
         **options: Any) -> Rewrite:
    """A rewrite called as written (its convention inferred from its signature)."""
    doc = ((fn.__doc__ or "").strip().splitlines() or [""])[0]
    return Rewrite(name or getattr(fn, "__name__", type(fn).__name__), spec, weight, fn, doc,
                   options)


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
    # issue 14: correct but unusual
    _r(jacrev_per_sample, "wgan-gp", 10.0),
    _r(channels_last, "wgan-gp", 10.0),
    _r(lerp_interpolates, "wgan-gp", 10.0),
    _r(local_generator, "wgan-gp", 10.0),
    _r(numpy_alpha, "wgan-gp", 10.0),
    _raw(GradientPenalty(10.0), "wgan-gp", 10.0, "callable_class"),
    _r(torchscript_term, "wgan-gp", 10.0),
    _r(r1_concatenated, "r1", 5.0),
    _r(r2_concatenated, "r2", 5.0),
    _r(eps_1e8_in_sqrt, "wgan-gp", 10.0),
    _r(eps_1e6_in_sqrt, "gan-0gp", 10.0),
    # issue 13: real conventions, called as written
    _raw(d_r1_loss, "r1", 1.0),
    _raw(images_only_n1, "wgan-gp", 10.0),
    _raw(dict_critic_labels, "wgan-gp", 1.0),
    _raw(hard_coded_batch, "wgan-gp", 10.0, batch_size=64),
    _raw(Trainer(None, 10.0).gradient_penalty, "wgan-gp", 10.0, "trainer_method"),
    # second round
    _raw(r1_required_gamma, "r1", 5.0),
    _r(transport_pairwise_distance, "transport", 10.0),
    _r(shape_probe_then_func, "wgan-gp", 10.0),
    _r(eval_logging_no_grad, "wgan-gp", 10.0),
    _raw(returns_penalty_and_norms, "wgan-gp", 1.0),
    _raw(AdversarialLoss(10.0).r1_penalty, "r1", 5.0, "loss_object_r1"),
    _raw(CriticTrainer(None, None).gradient_penalty, "wgan-gp", 10.0, "trainer_netC"),
)
"""Every rewrite, in table order."""
