"""Ways to compute one WGAN-GP critic loss, composed from shared pieces, to be timed side by side.

Every variant is a :class:`Variant`: a cycle of loss functions
``loss(critic, real, fake, generator) -> Losses`` (one per training step; a cycle of length 1
for all but lazy regularisation). The pieces:

* :func:`wasserstein_loss` ``E[s_f] - E[s_r]`` (003 Eq. 5-6), the same in every variant;
* :func:`interpolates` ``x_hat = alpha x + (1 - alpha) y`` with one ``alpha ~ U(0, 1)`` per
  sample drawn by :func:`gp_spec.measures.per_sample_uniform`, so a variant and the reference
  fed generators in the same state see the same ``x_hat``;
* an input-gradient strategy (:func:`autograd_input_grads` through ``autograd.grad``,
  :func:`func_input_grads` through ``torch.func``) and :func:`penalty_from_grads`
  ``weight * mean((||g|| - 1)^2)`` with the norm taken in float32 (003 Eq. 6).

``peer`` alone is written independently, the way public WGAN-GP code usually writes it.
:func:`penalty_loss` wraps any penalty ``(critic, real, fake) -> 0-dim`` (the user's, or a
spec's reference) into a loss, for ``gp-spec bench IMPL --spec NAME``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from gp_spec import measures, penalties
from gp_spec._types import Critic

__all__ = [
    "GradFn",
    "Kind",
    "LossFn",
    "Losses",
    "Variant",
    "autograd_input_grads",
    "compiled_loss",
    "func_input_grads",
    "func_loss",
    "fused_loss",
    "input_grads",
    "interpolates",
    "lazy",
    "peer_loss",
    "penalty_loss",
    "points_loss",
    "penalty_from_grads",
    "plain_loss",
    "reference_loss",
    "separate_loss",
    "standard_variants",
    "wasserstein_loss",
]


@dataclass(frozen=True)
class Losses:
    """The two parts of a critic loss, each a 0-dim tensor.

    Attributes:
      critic: ``E[s_f] - E[s_r]``.
      penalty: the gradient penalty (a zero tensor where a step has none).
    """

    critic: Tensor
    penalty: Tensor

    @property
    def total(self) -> Tensor:
        """``critic + penalty``, the loss that is back-propagated."""
        return self.critic + self.penalty


Kind = Literal["exact", "floor", "estimator", "user"]

LossFn = Callable[[Critic, Tensor, Tensor, torch.Generator], Losses]
"""``(critic, real (N, *event), fake (N, *event), generator) -> Losses``."""

GradFn = Callable[[Critic, Tensor], Tensor]
"""``(critic, points (N, *event)) -> (N, *event)`` per-sample input gradients (create_graph)."""

PointsLossFn = Callable[[Critic, Tensor, Tensor, Tensor], Losses]
"""``(critic, real, fake, points) -> Losses`` with the interpolates given (CUDA graphs)."""


@dataclass(frozen=True)
class Variant:
    """One way of computing the critic loss, as timed by :mod:`gp_spec.benchmark.timing`.

    Attributes:
      name: label in tables, e.g. ``"fused"``.
      schedule: the loss of consecutive training steps, repeated cyclically; one sample of
        the timing is one pass over it, reported per step.
      kind: ``"exact"`` computes the reference's penalty and is checked equal to it before it
        is timed; ``"floor"`` has no penalty (``plain``); ``"estimator"`` is a different
        estimator of the penalty (lazy regularisation), timed but never checked equal;
        ``"user"`` is the user's penalty, judged by the conformance check instead.
      description: one line for reports.
      graph_loss: set for a variant whose whole step is captured in a CUDA graph
        (:mod:`gp_spec.benchmark.graphs`); ``schedule`` is then its eager twin.
    """

    name: str
    schedule: tuple[LossFn, ...]
    kind: Kind
    description: str
    graph_loss: PointsLossFn | None = None

    def __post_init__(self) -> None:
        if not self.schedule:
            raise ValueError(f"variant {self.name!r}: schedule is empty")

    @property
    def loss(self) -> LossFn:
        """The first step's loss: the one with the penalty, which the agreement check uses."""
        return self.schedule[0]


def wasserstein_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """``E[s_f] - E[s_r]`` (003 Eq. 5-6), scores ``(N,)`` in float32."""
    return fake_scores.float().mean() - real_scores.float().mean()


def interpolates(real: Tensor, fake: Tensor, generator: torch.Generator) -> Tensor:
    """``alpha * real + (1 - alpha) * fake``, ``alpha ~ U(0, 1)`` per sample (003 Eq. 6).

    Draws ``alpha`` exactly as :class:`gp_spec.measures.Interpolate` does, so the reference
    and a variant given generators in the same state use the same points. Detached leaf.
    """
    alpha = measures.per_sample_uniform(real, generator=generator)
    return (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)


def input_grads(scores: Tensor, points: Tensor) -> Tensor:
    """``grad_x sum_i f(x_i)`` at ``points`` (a leaf), built with ``create_graph=True``."""
    (grad,) = torch.autograd.grad(scores.sum(), points, create_graph=True)
    return grad


def func_input_grads(critic: Critic, points: Tensor) -> Tensor:
    """Per-sample input gradients ``vmap(grad(f))(points)`` through ``torch.func``.

    Differentiable w.r.t. the critic's parameters (they are captured, not transformed).
    """

    def score(x: Tensor) -> Tensor:
        return critic(x.unsqueeze(0)).squeeze(0)

    grads: Tensor = torch.func.vmap(torch.func.grad(score))(points.detach())
    return grads


def penalty_from_grads(grads: Tensor, weight: float) -> Tensor:
    """``weight * mean_i((||g_i|| - 1)^2)`` with ``||g_i||`` over all non-batch dims in float32."""
    norms = torch.linalg.vector_norm(grads.flatten(1), dim=1, dtype=torch.float32)
    return weight * penalties.two_sided_term(norms).mean()


def plain_loss(critic: Critic, real: Tensor, fake: Tensor, generator: torch.Generator) -> Losses:
    """The floor: the Wasserstein critic loss and no penalty."""
    critic_loss = wasserstein_loss(critic(real), critic(fake))
    return Losses(critic_loss, torch.zeros_like(critic_loss))


def reference_loss(weight: float) -> LossFn:
    """Critic loss + :func:`gp_spec.penalties.two_sided` (the library's default path)."""

    def loss(critic: Critic, real: Tensor, fake: Tensor, generator: torch.Generator) -> Losses:
        penalty = penalties.two_sided(critic, real, fake, weight=weight, generator=generator)
        return Losses(wasserstein_loss(critic(real), critic(fake)), penalty)

    return loss


def peer_loss(weight: float) -> LossFn:
    """WGAN-GP as public implementations commonly write it (separate forward on interpolates).

    Written independently of gp_spec: ``autograd.grad`` with ``grad_outputs=ones`` and
    ``create_graph=True``, ``grad.view(N, -1).norm(2, dim=1)``, ``((norm - 1)**2).mean() * w``.
    """

    def loss(critic: Critic, real: Tensor, fake: Tensor, generator: torch.Generator) -> Losses:
        n = real.shape[0]
        alpha_shape = (n,) + (1,) * (real.dim() - 1)
        alpha = torch.rand(alpha_shape, generator=generator, device=real.device, dtype=real.dtype)
        mixed = (alpha * real + (1 - alpha) * fake).detach().requires_grad_(True)
        mixed_scores = critic(mixed)
        gradients = torch.autograd.grad(
            outputs=mixed_scores, inputs=mixed, grad_outputs=torch.ones_like(mixed_scores),
            create_graph=True, retain_graph=True,
        )[0]
        gradient_penalty = ((gradients.view(n, -1).norm(2, dim=1) - 1) ** 2).mean() * weight
        critic_loss = critic(fake).mean() - critic(real).mean()
        return Losses(critic_loss, gradient_penalty)

    return loss


def autograd_input_grads(critic: Critic, points: Tensor) -> Tensor:
    """:func:`input_grads` of ``critic(points)``: a separate forward on the interpolates."""
    return input_grads(critic(points), points)


def _separate_parts(
    critic: Critic, real: Tensor, fake: Tensor, points: Tensor, weight: float,
    grads_of: GradFn = autograd_input_grads,
) -> tuple[Tensor, Tensor]:
    """Forwards on real and fake, ``grads_of`` on the interpolates; a tuple (for compile)."""
    penalty = penalty_from_grads(grads_of(critic, points), weight)
    return wasserstein_loss(critic(real), critic(fake)), penalty


def points_loss(weight: float) -> PointsLossFn:
    """The separate-forward loss at given interpolates (what a CUDA graph captures)."""

    def loss(critic: Critic, real: Tensor, fake: Tensor, points: Tensor) -> Losses:
        return Losses(*_separate_parts(critic, real, fake, points, weight))

    return loss


def penalty_loss(penalty: Callable[..., Tensor], *, pass_generator: bool = False) -> LossFn:
    """Critic loss + ``penalty(critic, real, fake)`` (``pass_generator``: the step's
    generator is passed as a fourth argument, as :class:`gp_spec.specs.BoundPenalty` takes it).
    """

    def loss(critic: Critic, real: Tensor, fake: Tensor, generator: torch.Generator) -> Losses:
        value = penalty(critic, real, fake, generator) if pass_generator \
            else penalty(critic, real, fake)
        return Losses(wasserstein_loss(critic(real), critic(fake)), value)

    return loss


def fused_loss(weight: float) -> LossFn:
    """One forward over ``cat(real, fake, x_hat)``, scores split afterwards; one double backward."""

    def loss(critic: Critic, real: Tensor, fake: Tensor, generator: torch.Generator) -> Losses:
        points = interpolates(real, fake, generator)
        s_r, s_f, s_hat = critic(torch.cat([real, fake, points])).chunk(3)
        return Losses(wasserstein_loss(s_r, s_f),
                      penalty_from_grads(input_grads(s_hat, points), weight))

    return loss


def separate_loss(weight: float) -> LossFn:
    """Forwards on real and fake, a separate forward and input gradient on the interpolates."""

    def loss(critic: Critic, real: Tensor, fake: Tensor, generator: torch.Generator) -> Losses:
        return points_loss(weight)(critic, real, fake, interpolates(real, fake, generator))

    return loss


def func_loss(weight: float) -> LossFn:
    """Per-sample input gradients through ``torch.func.vmap(grad(f))``."""

    def loss(critic: Critic, real: Tensor, fake: Tensor, generator: torch.Generator) -> Losses:
        points = interpolates(real, fake, generator)
        return Losses(*_separate_parts(critic, real, fake, points, weight, func_input_grads))

    return loss


def compiled_loss(weight: float, *, backend: str = "inductor") -> LossFn:
    """``torch.compile(fullgraph=True)`` of :func:`_separate_parts` (forwards, input gradient,
    penalty); the backward and the optimizer step stay eager.

    Dynamo refuses ``torch.autograd.grad`` unless ``torch._dynamo.config.trace_autograd_ops``
    is set; it is set only around this call (``config.patch``). ``x_hat`` is made a leaf
    outside the compiled region (dynamo rejects ``requires_grad_()`` on an intermediate it
    returns through). Each call of ``compiled_loss`` makes a fresh compiled function;
    ``backend="aot_eager"`` traces the same graphs without generating kernels (fast tests).
    """
    compiled = torch.compile(_separate_parts, fullgraph=True, backend=backend)

    def loss(critic: Critic, real: Tensor, fake: Tensor, generator: torch.Generator) -> Losses:
        points = interpolates(real, fake, generator)
        with torch._dynamo.config.patch(trace_autograd_ops=True):
            critic_loss, penalty = compiled(critic, real, fake, points, weight)
        return Losses(critic_loss, penalty)

    return loss


def lazy(every: int, weight: float) -> Variant:
    """Lazy regularisation (StyleGAN2): the reference penalty at weight ``every * weight`` on one
    step in ``every``, none on the others. A different estimator, so never checked equal.
    """
    if every < 1:
        raise ValueError(f"every={every}, but should be >= 1")
    schedule = (reference_loss(every * weight),) + (plain_loss,) * (every - 1)
    return Variant(f"lazy({every})", schedule, kind="estimator",
                   description=f"reference penalty x{every} every {every} steps (amortised; "
                               "a different estimator)")


def standard_variants(
    *, weight: float = penalties.DEFAULT_WEIGHT, lazy_every: Sequence[int] = (4,),
    graphed: bool = False,
) -> list[Variant]:
    """The variants of ``gp-spec bench variants``, ``plain`` first and ``reference`` second;
    ``graphed=True`` adds the CUDA-graph variant (CUDA only)."""
    graph = [Variant("graphed", (separate_loss(weight),), kind="exact",
                     description="the whole step (separate-forward loss, backward, Adam) "
                                 "captured once in a CUDA graph and replayed",
                     graph_loss=points_loss(weight))] if graphed else []
    return [
        Variant("plain", (plain_loss,), kind="floor", description="critic loss only (the floor)"),
        Variant("reference", (reference_loss(weight),), kind="exact",
                description="gp_spec.penalties.two_sided"),
        Variant("peer", (peer_loss(weight),), kind="exact",
                description="the common public formulation, written independently"),
        Variant("fused", (fused_loss(weight),), kind="exact",
                description="one forward over cat(real, fake, x_hat), one double backward"),
        *(lazy(k, weight) for k in lazy_every),
        Variant("func", (func_loss(weight),), kind="exact",
                description="torch.func vmap(grad(f)) per-sample input gradients"),
        Variant("compiled", (compiled_loss(weight),), kind="exact",
                description="torch.compile(fullgraph) of the separate-forward loss, "
                            "trace_autograd_ops scoped to the call"),
        *graph,
    ]
