"""Mutants: penalties with one bug each, in the bug classes seen in public GAN code.

Every mutant is a small function ``impl(critic, real, fake, *, weight)`` that differs from a
correct implementation in one place (marked ``# BUG``), declared as data in :data:`MUTANTS`:
``Mutant(name, spec, weight, fn, catches, bug)``, where ``fn`` is the canonical
``fn(critic, real, fake)`` with the weight baked in and ``catches`` is the clause of the catalogue
check that names the bug. The meta-test (``test_mutants.py``) requires each mutant's report to
fail and ``catches`` to be among its failing checks; ``python -m conformance.table`` prints them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["MUTANTS", "Canonical", "Impl", "Mutant", "bake"]

Impl = Callable[..., Tensor]
Canonical = Callable[[nn.Module, Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class Mutant:
    """One broken implementation.

    Attributes:
      name: unique id (the pytest id and the table row).
      spec: the ``gp_spec.SPECS`` name it claims to implement.
      weight: the weight baked into ``fn`` (passed to ``check(..., weight=)``).
      fn: canonical ``fn(critic, real, fake) -> 0-dim tensor``.
      catches: the clause (``<spec>.<clause>`` without the spec) of the check naming the bug.
      bug: the bug in one line.
      status: the status of that check: ``fail``, or ``error`` for an implementation that
        raises (e.g. gp-spec's own exceptions, which are the implementation's errors).
      options: further keywords of ``check()`` (e.g. an adapter), usually none.
    """

    name: str
    spec: str
    weight: float
    fn: Canonical
    catches: str
    bug: str
    status: str = "fail"
    options: Mapping[str, Any] = field(default_factory=dict)


def bake(impl: Impl, weight: float) -> Canonical:
    """``impl(critic, real, fake, weight=weight)`` as a canonical function named after ``impl``."""

    def fn(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        return impl(critic, real, fake, weight=weight)

    fn.__name__ = fn.__qualname__ = impl.__name__
    fn.__module__ = impl.__module__
    fn.__doc__ = impl.__doc__
    return fn


# -- correct building blocks (the mutants below break exactly one thing) ------------------

def _alpha(x: Tensor) -> Tensor:
    """One ``alpha ~ U(0, 1)`` per sample, shaped ``(N, 1, ..., 1)``."""
    return torch.rand((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype, device=x.device)


def _interpolates(real: Tensor, fake: Tensor) -> Tensor:
    alpha = _alpha(real)
    return alpha * real.detach() + (1 - alpha) * fake.detach()


def _input_grad(critic: nn.Module, points: Tensor) -> Tensor:
    """``grad_x f(x)`` per sample, differentiable w.r.t. the critic's parameters."""
    x = points.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return grad


def _norms(grad: Tensor) -> Tensor:
    return grad.flatten(1).norm(2, dim=1)


def _anchor(fake: Tensor) -> Tensor:
    """gp_spec's reference anchor: ``2, -1, 2, -1, ...`` over the flattened event."""
    n = fake[0].numel()
    pattern = torch.tensor([2.0, -1.0], dtype=fake.dtype, device=fake.device)
    return pattern.repeat((n + 1) // 2)[:n].reshape(fake.shape[1:])


# -- the gradient norm --------------------------------------------------------------------

def norm_per_pixel(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    grad = _input_grad(critic, _interpolates(real, fake))
    norm = grad.norm(2, dim=1)  # BUG: on (N, C, H, W) a norm over channels, one per pixel
    return weight * ((norm - 1) ** 2).mean()


def norm_per_channel(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    grad = _input_grad(critic, real)
    sq = grad.square().flatten(2).sum(2) if grad.ndim > 2 else grad.square()  # BUG: per channel
    return weight * sq.mean()


def norm_last_dim(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    grad = _input_grad(critic, _interpolates(real, fake))
    norm = grad.norm(2, dim=-1)  # BUG: a norm per image row on (N, C, H, W)
    return weight * torch.relu(norm - 1).square().mean()


def norm_whole_batch(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    grad = _input_grad(critic, _interpolates(real, fake))
    norm = grad.norm(2)  # BUG: one norm over the whole (N, ...) batch (torchgan 0.1.0)
    return weight * (norm - 1) ** 2


def grad_of_batch_mean(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    x = _interpolates(real, fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).mean(), x, create_graph=True)  # BUG: grads / N
    return weight * _norms(grad).square().mean()


def sqrt_without_eps(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    grad = _input_grad(critic, _interpolates(real, fake))
    norm = grad.flatten(1).square().sum(1).sqrt()  # BUG: d sqrt(s)/ds = inf at s = 0 -> NaN
    return weight * ((norm - 1) ** 2).mean()


def large_eps_norm(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    x = real.detach()
    x_p = x + 0.5 * x.std(unbiased=False) * torch.rand_like(x)
    alpha = _alpha(x)
    grad = _input_grad(critic, x + alpha * (x_p - x))
    norm = (grad.flatten(1).square().sum(1) + 1e-2).sqrt()  # BUG: eps 1e-2 shifts every norm
    return weight * ((norm - 1) ** 2).mean()


# -- the per-sample term ------------------------------------------------------------------

def squared_norm_term(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    norm = _norms(_input_grad(critic, _interpolates(real, fake)))
    return weight * ((norm**2 - 1) ** 2).mean()  # BUG: (||g||^2 - 1)^2


def one_sided_for_gp(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    norm = _norms(_input_grad(critic, _interpolates(real, fake)))
    return weight * torch.relu(norm - 1).square().mean()  # BUG: LP's term under WGAN-GP


def two_sided_for_lp(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    norm = _norms(_input_grad(critic, _interpolates(real, fake)))
    return weight * ((norm - 1) ** 2).mean()  # BUG: GP's term under WGAN-LP


def zero_centred_for_gp(
    critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
) -> Tensor:
    norm = _norms(_input_grad(critic, _interpolates(real, fake)))
    return weight * norm.square().mean()  # BUG: 0-GP's term under WGAN-GP


def two_sided_for_0gp(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    norm = _norms(_input_grad(critic, _interpolates(real, fake)))
    return weight * ((norm - 1) ** 2).mean()  # BUG: 1-GP's term under 0-GP


# -- reduction and weight -------------------------------------------------------------------

def sum_over_batch(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    norm = _norms(_input_grad(critic, _interpolates(real, fake)))
    return weight * ((norm - 1) ** 2).sum()  # BUG: sum, not mean


def weight_missing(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    norm = _norms(_input_grad(critic, _interpolates(real, fake)))
    return torch.relu(norm - 1).square().mean()  # BUG: weight never applied


def weight_applied_twice(
    critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
) -> Tensor:
    norm = _norms(_input_grad(critic, _interpolates(real, fake)))
    penalty = weight * ((norm - 1) ** 2).mean()
    return weight * penalty  # BUG: the caller's lambda applied again


def r1_gamma_not_halved(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    gamma = 2 * weight  # weight is gamma / 2
    grad = _input_grad(critic, real)
    return gamma * grad.flatten(1).square().sum(1).mean()  # BUG: gamma, not gamma / 2


# -- gradients w.r.t. the critic's parameters -------------------------------------------------

def no_create_graph(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    x = _interpolates(real, fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x)  # BUG: create_graph=False
    return weight * ((_norms(grad) - 1) ** 2).mean()


def detached_gradient(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    grad = _input_grad(critic, real).detach()  # BUG: the penalty no longer trains the critic
    return weight * grad.flatten(1).square().sum(1).mean()


# -- the penalty measure ------------------------------------------------------------------

def alpha_per_batch(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    alpha = torch.rand(1, dtype=real.dtype, device=real.device)  # BUG: one alpha per batch
    x_hat = alpha * real.detach() + (1 - alpha) * fake.detach()
    return weight * ((_norms(_input_grad(critic, x_hat)) - 1) ** 2).mean()


def alpha_per_element(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    alpha = torch.rand_like(real)  # BUG: one alpha per element: off the segment [y, x]
    x_hat = alpha * real.detach() + (1 - alpha) * fake.detach()
    return weight * ((_norms(_input_grad(critic, x_hat)) - 1) ** 2).mean()


def alpha_half_range(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    alpha = 0.5 * _alpha(real)  # BUG: U(0, 0.5)
    x_hat = alpha * real.detach() + (1 - alpha) * fake.detach()
    return weight * torch.relu(_norms(_input_grad(critic, x_hat)) - 1).square().mean()


def alpha_beta_half(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    beta = torch.distributions.Beta(torch.tensor(0.5), torch.tensor(0.5))
    shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    alpha = beta.sample(shape).to(real)  # BUG: Beta(0.5, 0.5), not U(0, 1)
    x_hat = alpha * real.detach() + (1 - alpha) * fake.detach()
    return weight * _norms(_input_grad(critic, x_hat)).square().mean()


def alpha_clipped_normal(
    critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
) -> Tensor:
    alpha = (0.5 + 0.25 * torch.randn_like(_alpha(real))).clamp(0, 1)  # BUG: clipped normal
    x_hat = alpha * real.detach() + (1 - alpha) * fake.detach()
    return weight * _norms(_input_grad(critic, x_hat)).square().mean()


def real_with_real(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    alpha = _alpha(real)
    other = real[torch.randperm(real.shape[0], device=real.device)]
    x_hat = alpha * real.detach() + (1 - alpha) * other.detach()  # BUG: fake never used
    return weight * ((_norms(_input_grad(critic, x_hat)) - 1) ** 2).mean()


def r1_on_fake(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    grad = _input_grad(critic, fake)  # BUG: R1 is on the real samples
    return weight * grad.flatten(1).square().sum(1).mean()


def r2_on_real(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    grad = _input_grad(critic, real)  # BUG: R2 is on the fake samples
    return weight * grad.flatten(1).square().sum(1).mean()


def midpoint_random_alpha(
    critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
) -> Tensor:
    x_hat = _interpolates(real, fake)  # BUG: mu_GP, not the midpoint alpha = 1/2
    return weight * _norms(_input_grad(critic, x_hat)).square().mean()


def anchor_wrong_point(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    a = -_anchor(fake)  # BUG: A = (-2, 1), the anchor's sign flipped
    alpha = _alpha(fake)
    x_hat = alpha * a + (1 - alpha) * fake.detach()
    return weight * _norms(_input_grad(critic, x_hat)).square().mean()


def dragan_centred_noise(
    critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
) -> Tensor:
    x = real.detach()
    x_p = x + 0.5 * x.std(unbiased=False) * (torch.rand_like(x) - 0.5)  # BUG: compare_gan's
    alpha = _alpha(x)
    grad = _input_grad(critic, x + alpha * (x_p - x))
    return weight * ((_norms(grad) - 1) ** 2).mean()


def dragan_alpha_per_element(
    critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
) -> Tensor:
    x = real.detach()
    alpha, beta = torch.rand_like(x), torch.rand_like(x)
    x_hat = x + (1 - alpha) * 0.5 * x.std(unbiased=False) * beta  # BUG: alpha per element
    return weight * ((_norms(_input_grad(critic, x_hat)) - 1) ** 2).mean()


# -- purity -----------------------------------------------------------------------------------

def requires_grad_on_caller(
    critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
) -> Tensor:
    real.requires_grad_(True)  # BUG: flips the caller's tensor (and would leak into its graph)
    (grad,) = torch.autograd.grad(critic(real).sum(), real, create_graph=True)
    return weight * grad.flatten(1).square().sum(1).mean()


def in_place_interpolation(
    critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
) -> Tensor:
    alpha = _alpha(real)
    x_hat = real.mul_(alpha).add_((1 - alpha) * fake.detach())  # BUG: overwrites `real`
    return weight * ((_norms(_input_grad(critic, x_hat)) - 1) ** 2).mean()


def grad_mode_left_off(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    x_hat = 0.5 * real.detach() + 0.5 * fake.detach()
    penalty = weight * _norms(_input_grad(critic, x_hat)).square().mean()
    torch.set_grad_enabled(False)  # BUG: "to save memory", never switched back on
    return penalty


def default_dtype_changed(
    critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
) -> Tensor:
    torch.set_default_dtype(torch.float64)  # BUG: global side effect
    norm = _norms(_input_grad(critic, _interpolates(real, fake)))
    return weight * torch.relu(norm - 1).square().mean()


def fake_not_detached(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    alpha = _alpha(real)
    x_hat = alpha * real + (1 - alpha) * fake  # BUG: keeps G's graph: the penalty trains G
    if not x_hat.requires_grad:
        x_hat.requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return weight * ((_norms(grad) - 1) ** 2).mean()


def reseeds_global_rng(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    torch.manual_seed(0)  # BUG: every call draws the same alphas
    fake_d = fake.detach()
    alpha = _alpha(fake_d)
    x_hat = alpha * _anchor(fake_d) + (1 - alpha) * fake_d
    return weight * _norms(_input_grad(critic, x_hat)).square().mean()


def hardcoded_float32(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    x_hat = _interpolates(real, fake).float()  # BUG: float32 whatever the input dtype
    return weight * ((_norms(_input_grad(critic, x_hat)) - 1) ** 2).mean()


# -- paired penalties -------------------------------------------------------------------------

def _scores(critic: nn.Module, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    x, y = real.detach(), fake.detach()
    dist = (x - y).flatten(1).norm(2, dim=1)
    return critic(x).reshape(-1), critic(y).reshape(-1), dist


def quotient_no_clamp(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    s_r, s_f, dist = _scores(critic, real, fake)
    quotient = (s_r - s_f).abs() / dist  # BUG: 0 / 0 = NaN on identical pairs
    return weight * torch.relu(quotient - 1).square().mean()


def quotient_squared_cost(
    critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
) -> Tensor:
    s_r, s_f, dist = _scores(critic, real, fake)
    quotient = (s_r - s_f).abs() / dist.square().clamp_min(1e-6)  # BUG: W2's cost under Eq. 7
    return weight * torch.relu(quotient - 1).square().mean()


def w2_euclidean_cost(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    s_r, s_f, dist = _scores(critic, real, fake)
    quotient = (s_r - s_f).abs() / dist.clamp_min(1e-6)  # BUG: Eq. 7's cost under W2 (Eq. 11)
    return weight * torch.relu(quotient - 1).square().mean()


def quotient_shuffled_pairs(
    critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
) -> Tensor:
    fake = fake[torch.randperm(fake.shape[0], device=fake.device)]  # BUG: breaks (x_i, y_i)
    s_r, s_f, dist = _scores(critic, real, fake)
    quotient = (s_r - s_f).abs() / dist.clamp_min(1e-6)
    return weight * torch.relu(quotient - 1).square().mean()


def transport_abs(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    s_r, s_f, dist = _scores(critic, real, fake)
    return weight * (s_r - s_f - dist).abs().square().mean()  # BUG: abs, not relu


def transport_shuffled_pairs(
    critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
) -> Tensor:
    real = real[torch.randperm(real.shape[0], device=real.device)]  # BUG: breaks (x_i, y_i)
    s_r, s_f, dist = _scores(critic, real, fake)
    return weight * torch.relu(s_r - s_f - dist).square().mean()


def max_gradient_mean(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    norms = _norms(_input_grad(critic, _interpolates(real, fake)))
    return weight * norms.square().mean()  # BUG: E ||g||^2, not max ||g||^2


# -- the catalogue ------------------------------------------------------------------------------

_W, _R = 10.0, 5.0



# -- issue 14: bugs that show only at some shape, batch size or magnitude ------------------

def _two_sided_of(critic: nn.Module, points: Tensor, weight: float) -> Tensor:
    return weight * ((_norms(_input_grad(critic, points)) - 1) ** 2).mean()


def alpha_per_pixel(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    n, _, h, w = real.shape  # images only
    alpha = torch.rand(n, 1, h, w, dtype=real.dtype, device=real.device)  # BUG: per pixel
    return _two_sided_of(critic, alpha * real.detach() + (1 - alpha) * fake.detach(), weight)


def norm_dim1_signals(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                      ) -> Tensor:
    if real.ndim > 3:
        raise ValueError("written for vectors and signals (N, C, L)")
    grad = _input_grad(critic, _interpolates(real, fake))
    norm = grad.norm(2, dim=1)  # BUG: right for (N, d), per position on (N, C, L)
    return weight * ((norm - 1) ** 2).mean()


def one_sided_when_odd(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                       ) -> Tensor:
    norm = _norms(_input_grad(critic, _interpolates(real, fake)))
    if real.shape[0] % 2:  # BUG: the one-sided term when the batch size is odd
        return weight * torch.relu(norm - 1).square().mean()
    return weight * ((norm - 1) ** 2).mean()


def two_sided_when_even(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                        ) -> Tensor:
    norm = _norms(_input_grad(critic, _interpolates(real, fake)))
    if real.shape[0] % 2 == 0:  # BUG: the two-sided term when the batch size is even
        return weight * ((norm - 1) ** 2).mean()
    return weight * torch.relu(norm - 1).square().mean()


def norm_clamped_at_3(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                      ) -> Tensor:
    norm = _norms(_input_grad(critic, _interpolates(real, fake))).clamp(max=3.0)  # BUG
    return weight * ((norm - 1) ** 2).mean()


def mean_over_half(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    norm = _norms(_input_grad(critic, _interpolates(real, fake)))
    return weight * ((norm[: norm.shape[0] // 2 + 1] - 1) ** 2).mean()  # BUG: half the batch


def alpha_shared_by_pairs(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                          ) -> Tensor:
    n = real.shape[0]
    half = torch.rand(((n + 1) // 2,) + (1,) * (real.ndim - 1), dtype=real.dtype,
                      device=real.device)
    alpha = half.repeat_interleave(2, dim=0)[:n]  # BUG: samples 2i and 2i+1 share alpha
    return _two_sided_of(critic, alpha * real.detach() + (1 - alpha) * fake.detach(), weight)


def sum_above_64(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    term = (_norms(_input_grad(critic, _interpolates(real, fake))) - 1) ** 2
    return weight * (term.sum() if real.shape[0] > 64 else term.mean())  # BUG beyond N = 64


# -- issue 14: torch.func hides the points; the values still show the measure -------------

def _func_penalty(critic: nn.Module, points: Tensor, weight: float) -> Tensor:
    """The two-sided term with per-sample input gradients from torch.func (no concrete
    points ever reach the critic)."""
    from torch.func import functional_call, grad, vmap

    params = dict(critic.named_parameters())

    def score(p: dict[str, Tensor], x: Tensor) -> Tensor:
        return functional_call(critic, p, (x[None],)).sum()

    g = vmap(grad(score, argnums=1), in_dims=(None, 0))(params, points.detach())
    return weight * ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()


def func_alpha_per_element(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                           ) -> Tensor:
    alpha = torch.rand_like(real)  # BUG: one alpha per element
    return _func_penalty(critic, alpha * real + (1 - alpha) * fake, weight)


def func_alpha_beta22(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                      ) -> Tensor:
    shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    alpha = torch.distributions.Beta(2.0, 2.0).sample(shape).to(real)  # BUG: Beta(2, 2)
    return _func_penalty(critic, alpha * real + (1 - alpha) * fake, weight)


def func_alpha_narrow(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                      ) -> Tensor:
    alpha = 0.1 + 0.8 * _alpha(real)  # BUG: U(0.1, 0.9)
    return _func_penalty(critic, alpha * real + (1 - alpha) * fake, weight)


def func_dragan_std_of_fake(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                            ) -> Tensor:
    x = real.detach()
    u = torch.rand_like(x)
    x_p = x + 0.5 * fake.detach().std(unbiased=False) * u  # BUG: the fake batch's std
    alpha = _alpha(x)
    return _func_penalty(critic, x + alpha * (x_p - x), weight)


# -- issue 14: a forged verdict ------------------------------------------------------------

def raises_check_skipped(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                         ) -> Tensor:
    from gp_spec.conformance._context import CheckSkipped

    raise CheckSkipped("nothing to see here")  # BUG: gp-spec's own exception, forged


# -- issue 14: clauses never checked before --------------------------------------------------

def max_gradient_no_buffer(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                           ) -> Tensor:
    norm = _norms(_input_grad(critic, _interpolates(real, fake)))
    return weight * norm.square().max()  # BUG: no S_max buffer across calls


def max_gradient_on_real(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                         ) -> Tensor:
    norm = _norms(_input_grad(critic, real))  # BUG: the real points, not interpolates
    return weight * norm.square().max()


def _dragan_with(x: Tensor, std: Tensor | float, critic: nn.Module, weight: float) -> Tensor:
    u = torch.rand_like(x)
    x_p = x + 0.5 * std * u
    alpha = _alpha(x)
    return _two_sided_of(critic, x + alpha * (x_p - x), weight)


def dragan_per_sample_std(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                          ) -> Tensor:
    x = real.detach()
    std = x.flatten(1).std(dim=1, unbiased=False).reshape((-1,) + (1,) * (x.ndim - 1))
    return _dragan_with(x, std, critic, weight)  # BUG: std per sample


def dragan_std_of_fake(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                       ) -> Tensor:
    return _dragan_with(real.detach(), fake.detach().std(unbiased=False), critic, weight)


def dragan_unbiased_std(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                        ) -> Tensor:
    x = real.detach()
    return _dragan_with(x, x.std(), critic, weight)  # BUG: torch's unbiased std


def quotient_floor_1e2(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                       ) -> Tensor:
    s_r, s_f, dist = _scores(critic, real, fake)
    q = (s_r - s_f).abs() / dist.clamp_min(1e-2)  # BUG: floor 1e-2, not 1e-6
    return weight * torch.relu(q - 1).square().mean()


def eval_mode_inside(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                     ) -> Tensor:
    was = critic.training
    critic.eval()  # BUG: the penalty of the critic in eval mode (restored afterwards)
    try:
        return _two_sided_of(critic, _interpolates(real, fake), weight)
    finally:
        critic.train(was)


# -- issue 14, second round (found by a red team after the first round's fixes) -------------

def chunked_mean_of_means(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                          ) -> Tensor:
    terms = (_norms(_input_grad(critic, _interpolates(real, fake))) - 1) ** 2
    return weight * torch.stack([c.mean() for c in terms.split(300)]).mean()  # BUG: chunks


def norm_clamped_at_100(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                        ) -> Tensor:
    norm = _norms(_input_grad(critic, _interpolates(real, fake))).clamp(max=100.0)  # BUG
    return weight * ((norm - 1) ** 2).mean()


def per_position_norm_above_256(critic: nn.Module, real: Tensor, fake: Tensor, *,
                                weight: float) -> Tensor:
    g = _input_grad(critic, _interpolates(real, fake))
    norm = g.norm(2, dim=1) if g.shape[0] > 256 else _norms(g)  # BUG: per position at large N
    return weight * ((norm - 1) ** 2).mean()


def quotient_floor_1e5(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                       ) -> Tensor:
    s_r, s_f, dist = _scores(critic, real, fake)
    q = (s_r - s_f).abs() / dist.clamp_min(1e-5)  # BUG: floor 1e-5, not 1e-6
    return weight * torch.relu(q - 1).square().mean()


def w2_floor_on_distance(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                         ) -> Tensor:
    s_r, s_f, dist = _scores(critic, real, fake)
    q = (s_r - s_f).abs() / dist.clamp_min(1e-6).square()  # BUG: floor on d, not on d^2
    return weight * torch.relu(q - 1).square().mean()


def fake_last_broadcast(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                        ) -> Tensor:
    alpha = _alpha(real)
    x_hat = alpha * real + (1 - alpha) * fake[-1]  # BUG: every real paired with one fake
    return weight * ((_norms(_input_grad(critic, x_hat)) - 1) ** 2).mean()


def midpoint_with_first_fake(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                             ) -> Tensor:
    x_hat = 0.5 * (real + fake[:1])  # BUG: every midpoint towards fake[0]
    return weight * _norms(_input_grad(critic, x_hat)).square().mean()


def zero_grad_inside(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                     ) -> Tensor:
    critic.zero_grad(set_to_none=True)  # BUG: drops the gradients the loop accumulated
    return _two_sided_of(critic, _interpolates(real, fake), weight)


def backward_inside(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float) -> Tensor:
    gp = _two_sided_of(critic, _interpolates(real, fake), weight)
    gp.backward(retain_graph=True)  # BUG: accumulates into .grad; the loop back-propagates too
    return gp


def alpha_per_batch_on_images(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                              ) -> Tensor:
    shape = (1,) * real.ndim if real.ndim == 4 else (real.shape[0],) + (1,) * (real.ndim - 1)
    alpha = torch.rand(shape, dtype=real.dtype, device=real.device)  # BUG: one per batch (4-D)
    return _two_sided_of(critic, alpha * real + (1 - alpha) * fake, weight)


def dragan_u_per_channel_on_images(critic: nn.Module, real: Tensor, fake: Tensor, *,
                                   weight: float) -> Tensor:
    x = real.detach()
    shape = x.shape[:2] + (1,) * (x.ndim - 2) if x.ndim == 4 else x.shape
    u = torch.rand(shape, dtype=x.dtype, device=x.device)  # BUG: u per channel on images
    x_p = x + 0.5 * x.std(unbiased=False) * u
    return _two_sided_of(critic, x + _alpha(x) * (x_p - x), weight)


class _MaxGradientBuffer:
    """max-gradient with an S_max of ``size`` points, kept from the fresh points only or from
    the fresh and the buffered ones (the reference: 32, both)."""

    def __init__(self, size: int, fresh_only: bool) -> None:
        self.size, self.fresh_only = size, fresh_only
        self.buffer: Tensor | None = None

    def __call__(self, critic: nn.Module, real: Tensor, fake: Tensor, weight: float) -> Tensor:
        fresh = _interpolates(real, fake).detach()
        buf = self.buffer
        if buf is not None and (buf.shape[1:] != fresh.shape[1:] or buf.dtype != fresh.dtype):
            buf = None
        points = fresh if buf is None else torch.cat([fresh, buf])
        norms = _norms(_input_grad(critic, points))
        pool, pool_norms = (fresh, norms[: len(fresh)]) if self.fresh_only else (points, norms)
        top = pool_norms.detach().topk(min(self.size, len(pool))).indices
        self.buffer = pool[top].detach()
        return weight * norms.square().max()


_BUFFER_OF_ONE = _MaxGradientBuffer(1, fresh_only=False)
_FRESH_ONLY_BUFFER = _MaxGradientBuffer(32, fresh_only=True)


def max_gradient_buffer_of_one(critic: nn.Module, real: Tensor, fake: Tensor, *, weight: float
                               ) -> Tensor:
    return _BUFFER_OF_ONE(critic, real, fake, weight)  # BUG: S_max keeps 1 point, not 32


def max_gradient_fresh_only_buffer(critic: nn.Module, real: Tensor, fake: Tensor, *,
                                   weight: float) -> Tensor:
    return _FRESH_ONLY_BUFFER(critic, real, fake, weight)  # BUG: S_max from fresh points only


def _m(impl: Impl, spec: str, weight: float, catches: str, bug: str, status: str = "fail"
       ) -> Mutant:
    return Mutant(impl.__name__, spec, weight, bake(impl, weight), catches, bug, status)


MUTANTS: tuple[Mutant, ...] = (
    # the gradient norm
    _m(norm_per_pixel, "wgan-gp", _W, "norm.all-event-dims",
       "grad.norm(2, dim=1) on (N, C, H, W): one norm per pixel, over channels only"),
    _m(norm_per_channel, "r1", _R, "norm.all-event-dims",
       "R1 as ||g_c||^2 per channel averaged over channels (sum over dims [2, 3] only)"),
    _m(norm_last_dim, "wgan-lp", _W, "norm.all-event-dims",
       "grad.norm(2, dim=-1): one norm per image row"),
    _m(norm_whole_batch, "wgan-gp", 2.5, "grad.per-sample",
       "grad.norm(2) over the whole batch tensor (torchgan 0.1.0)"),
    _m(grad_of_batch_mean, "gan-0gp", _W, "grad.per-sample",
       "autograd.grad(critic(x).mean(), x): every per-sample gradient scaled by 1/N"),
    _m(sqrt_without_eps, "wgan-gp", _W, "grad.zero-gradient-finite",
       "sqrt(sum(g^2)) without care: NaN parameter gradients where grad f = 0"),
    _m(large_eps_norm, "dragan", _W, "grad.zero-gradient-finite",
       "sqrt(sum(g^2) + 1e-2): the norm is 0.1 where grad f = 0"),
    # the per-sample term
    _m(squared_norm_term, "wgan-gp", _W, "term.above-one", "(||g||^2 - 1)^2"),
    _m(one_sided_for_gp, "wgan-gp", _W, "term.below-one", "one-sided term under WGAN-GP"),
    _m(two_sided_for_lp, "wgan-lp", _W, "term.below-one", "two-sided term under WGAN-LP"),
    _m(zero_centred_for_gp, "wgan-gp", _W, "term.at-one", "zero-centred term under WGAN-GP"),
    _m(two_sided_for_0gp, "gan-0gp", _W, "term.at-one", "two-sided term under 0-GP"),
    # reduction and weight
    _m(sum_over_batch, "wgan-gp", _W, "reduction.batch-mean", "sum over the batch, not mean"),
    _m(weight_missing, "wgan-lp", _W, "weight.applied-once", "lambda never applied"),
    _m(weight_applied_twice, "wgan-gp", 2.5, "weight.applied-once",
       "lambda applied inside the penalty and again by the caller"),
    _m(r1_gamma_not_halved, "r1", _R, "weight.applied-once",
       "R1 multiplied by gamma where the weight is gamma / 2"),
    # gradients w.r.t. the critic's parameters
    _m(no_create_graph, "wgan-gp", _W, "grad.parameters",
       "autograd.grad without create_graph=True: the penalty does not train the critic"),
    _m(detached_gradient, "r1", _R, "grad.parameters", "the input gradient is detached"),
    # the penalty measure
    _m(alpha_per_batch, "wgan-gp", _W, "measure.alpha-per-sample",
       "one alpha ~ U(0, 1) for the whole batch"),
    _m(alpha_per_element, "wgan-gp", _W, "measure.support",
       "alpha = rand_like(real): one alpha per element, points off the segments"),
    _m(alpha_half_range, "wgan-lp", _W, "measure.alpha-uniform", "alpha ~ U(0, 0.5)"),
    _m(alpha_beta_half, "gan-0gp", _W, "measure.alpha-uniform", "alpha ~ Beta(0.5, 0.5)"),
    _m(alpha_clipped_normal, "sgp-interpolate", _W, "measure.alpha-uniform",
       "alpha ~ N(0.5, 0.25^2) clipped to [0, 1]"),
    _m(real_with_real, "wgan-gp", _W, "measure.support",
       "interpolates a real sample with a shuffled real sample"),
    _m(r1_on_fake, "r1", _R, "measure.value-distribution", "R1 evaluated on the fake samples"),
    _m(r2_on_real, "r2", _R, "measure.value-distribution", "R2 evaluated on the real samples"),
    _m(midpoint_random_alpha, "sgp-mid", _W, "measure.support",
       "mu_mid drawn with alpha ~ U(0, 1) instead of alpha = 1/2"),
    _m(anchor_wrong_point, "sgp-anchor", _W, "measure.support",
       "anchor A = (-2, 1) instead of (2, -1)"),
    _m(dragan_centred_noise, "dragan", _W, "measure.support",
       "DRAGAN noise c std(x) (u - 0.5) as compare_gan, not c std(x) u"),
    _m(dragan_alpha_per_element, "dragan", _W, "measure.value-distribution",
       "DRAGAN noise (1 - alpha) beta c std(x) with alpha per element (torchgan 0.1.0)"),
    # purity
    _m(in_place_interpolation, "wgan-gp", _W, "purity.inputs-unchanged",
       "interpolates built in place in the caller's real tensor"),
    _m(grad_mode_left_off, "sgp-mid", _W, "purity.global-state",
       "torch.set_grad_enabled(False) left behind"),
    _m(default_dtype_changed, "wgan-lp", _W, "purity.global-state",
       "torch.set_default_dtype(torch.float64) inside the penalty"),
    _m(fake_not_detached, "wgan-gp", _W, "purity.no-gradient-to-inputs",
       "fake not detached: the penalty's gradient reaches the generator"),
    _m(reseeds_global_rng, "sgp-anchor", _W, "purity.rng-not-reseeded",
       "torch.manual_seed(0) inside the penalty"),
    _m(hardcoded_float32, "wgan-gp", _W, "dtype.float64",
       "interpolates cast to float32: float32 result for float64 inputs"),
    # paired penalties and max-gradient
    _m(quotient_no_clamp, "lp-quotient", _W, "quotient.distance-floor",
       "|f(x) - f(y)| / ||x - y|| without the 1e-6 floor: NaN on identical pairs"),
    _m(quotient_squared_cost, "lp-quotient", _W, "value.closed-form",
       "squared Euclidean cost under the Euclidean quotient (Eq. 7)"),
    _m(w2_euclidean_cost, "w2-quotient", _W, "value.closed-form",
       "Euclidean cost under the W2 quotient (Eq. 11)"),
    _m(quotient_shuffled_pairs, "lp-quotient", _W, "pairing.by-index",
       "fake shuffled before pairing: (x_i, y_perm(i))"),
    _m(transport_abs, "transport", _W, "value.closed-form",
       "abs(f(x) - f(y) - ||x - y||) instead of relu"),
    _m(transport_shuffled_pairs, "transport", _W, "pairing.by-index",
       "real shuffled before pairing"),
    _m(max_gradient_mean, "max-gradient", _W, "reduction.max-over-points",
       "mean of ||g||^2 over the points instead of the max"),
    # issue 14: shape-, batch- and magnitude-dependent bugs
    _m(alpha_per_pixel, "wgan-gp", _W, "measure.support",
       "images only: alpha of shape (N, 1, H, W), one per pixel"),
    _m(norm_dim1_signals, "wgan-gp", _W, "norm.all-event-dims",
       "grad.norm(2, dim=1): right on (N, d), per position on (N, C, L)"),
    _m(one_sided_when_odd, "wgan-gp", _W, "term.below-one",
       "the one-sided term when the batch size is odd"),
    _m(two_sided_when_even, "wgan-lp", _W, "term.below-one",
       "the two-sided term when the batch size is even"),
    _m(norm_clamped_at_3, "wgan-gp", _W, "term.above-one", "the norm clamped at 3"),
    _m(mean_over_half, "wgan-gp", _W, "differential.recorded-points",
       "the mean over the first half of the batch"),
    _m(alpha_shared_by_pairs, "wgan-lp", _W, "measure.alpha-per-sample",
       "samples 2i and 2i + 1 share one alpha"),
    _m(sum_above_64, "gan-0gp", _W, "term.above-one", "a sum over the batch when N > 64"),
    # issue 14: torch.func (no concrete points reach the critic)
    _m(func_alpha_per_element, "wgan-gp", _W, "measure.value-distribution",
       "torch.func: one alpha per element"),
    _m(func_alpha_beta22, "wgan-gp", _W, "measure.value-distribution",
       "torch.func: alpha ~ Beta(2, 2)"),
    _m(func_alpha_narrow, "wgan-gp", _W, "measure.value-distribution",
       "torch.func: alpha ~ U(0.1, 0.9)"),
    _m(func_dragan_std_of_fake, "dragan", _W, "measure.value-distribution",
       "torch.func DRAGAN perturbed by the std of the fake batch"),
    # issue 14: a forged verdict, and clauses never checked before
    _m(raises_check_skipped, "wgan-gp", _W, "term.below-one",
       "raises gp-spec's own CheckSkipped to skip every check", status="error"),
    _m(max_gradient_no_buffer, "max-gradient", _W, "state.max-gradient-buffer",
       "max-gradient without the S_max buffer"),
    _m(max_gradient_on_real, "max-gradient", _W, "measure.max-gradient-points",
       "max-gradient on the real points instead of fresh interpolates"),
    _m(dragan_per_sample_std, "dragan", _W, "measure.dragan-scale",
       "DRAGAN scaled by each sample's own std"),
    _m(dragan_std_of_fake, "dragan", _W, "measure.dragan-scale",
       "DRAGAN scaled by the std of the fake batch"),
    _m(dragan_unbiased_std, "dragan", _W, "measure.dragan-scale",
       "DRAGAN scaled by torch's unbiased std (NaN for one element)"),
    _m(quotient_floor_1e2, "lp-quotient", _W, "quotient.distance-floor",
       "the distance clamped below at 1e-2 instead of 1e-6"),
    _m(eval_mode_inside, "wgan-gp", _W, "critic.mode-unchanged",
       "critic.eval() inside the penalty (train() restored after)"),
    # issue 14, second round
    _m(chunked_mean_of_means, "wgan-gp", _W, "differential.recorded-points",
       "the mean of per-chunk means (chunks of 300)"),
    _m(norm_clamped_at_100, "wgan-gp", _W, "term.above-one", "the norm clamped at 100"),
    _m(per_position_norm_above_256, "wgan-gp", _W, "differential.recorded-points",
       "grad.norm(dim=1) when N > 256 (per position on images)"),
    _m(quotient_floor_1e5, "lp-quotient", _W, "quotient.distance-floor",
       "the distance clamped below at 1e-5 instead of 1e-6"),
    _m(w2_floor_on_distance, "w2-quotient", _W, "quotient.distance-floor",
       "the distance clamped at 1e-6 before squaring (the cost's floor is 1e-12)"),
    _m(fake_last_broadcast, "wgan-gp", _W, "measure.support",
       "every real sample interpolated with fake[-1] (broadcast)"),
    _m(midpoint_with_first_fake, "sgp-mid", _W, "measure.support",
       "every midpoint taken towards fake[0] (broadcast)"),
    _m(zero_grad_inside, "wgan-gp", _W, "purity.critic-state-kept",
       "critic.zero_grad() inside the penalty"),
    _m(backward_inside, "wgan-gp", _W, "purity.critic-state-kept",
       "backward() inside the penalty (the critic's .grad accumulates twice)"),
    _m(alpha_per_batch_on_images, "wgan-gp", _W, "measure.alpha-per-sample",
       "one alpha per batch, only for 4-D (image) inputs"),
    _m(dragan_u_per_channel_on_images, "dragan", _W, "measure.dragan-scale",
       "DRAGAN noise u drawn per channel, only for 4-D (image) inputs"),
    _m(max_gradient_buffer_of_one, "max-gradient", _W, "state.max-gradient-buffer",
       "an S_max buffer of one point instead of 32"),
    _m(max_gradient_fresh_only_buffer, "max-gradient", _W, "state.max-gradient-buffer",
       "S_max refilled from the fresh points only (the buffered ones are dropped)"),
)
"""Every mutant, in table order."""
