"""The loss terms and the two update steps of GAN training, one function per term.

``critic_loss_term`` (``L_D`` without penalty), ``penalty_term`` (the regulariser) and
``generator_loss_term`` (``L_G``) are composed by :func:`critic_backward`,
:func:`critic_step` and :func:`generator_step`.

**DistributedDataParallel.** Measured on this project's machines (and tested in
``tests/test_harness_ddp.py``):

1. default DDP settings give the same parameter gradients as one process on the global batch
   when ``L_D`` and the penalty go through **one** backward, as :func:`critic_backward` does;
2. ``static_graph=True`` silently gives wrong gradients with the double backward of a
   gradient penalty (each rank keeps its local gradient), so :func:`wrap_ddp` and
   :func:`critic_backward` refuse it with :class:`ConfigError`;
3. a backward of the penalty alone fails: the critic's output bias gets no gradient from
   ``||grad_x f||`` and the reducer waits for it ("Expected to have finished reduction").
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from gp_spec import objectives, penalties
from gp_spec.constraints import clip_weights
from gp_spec.harness.errors import ConfigError
from gp_spec.specs import SPECS, Spec, get_spec

__all__ = [
    "PenaltyFn",
    "Regulariser",
    "StepStats",
    "critic_backward",
    "critic_loss_term",
    "critic_step",
    "generator_loss_term",
    "generator_step",
    "get_objective",
    "make_regulariser",
    "penalty_term",
    "unwrap",
    "wrap_ddp",
]

PenaltyFn = Callable[[nn.Module, Tensor, Tensor, "torch.Generator | None"], Tensor]
"""``(critic, real, fake, generator) -> 0-dim penalty``."""

OBJECTIVES: tuple[str, ...] = (
    "wasserstein", "minimax", "non_saturating", "hinge", "least_squares",
    *(f"lipschitz:{k}" for k in objectives.EQ12_INSTANCES),
)
"""Objective names accepted by :func:`get_objective`."""


def get_objective(name: str) -> objectives.Objective:
    """An objective of :mod:`gp_spec.objectives` by name (:data:`OBJECTIVES`).

    ``least_squares`` uses ``a = 0, b = c = 1``; ``lipschitz:<phi>`` is
    ``lipschitz_family(EQ12_INSTANCES[phi])``.
    """
    fixed = {
        "wasserstein": objectives.wasserstein,
        "minimax": objectives.minimax,
        "non_saturating": objectives.non_saturating,
        "hinge": objectives.hinge,
    }
    if name in fixed:
        return fixed[name]
    if name == "least_squares":
        return objectives.least_squares()
    if name.startswith("lipschitz:") and name[10:] in objectives.EQ12_INSTANCES:
        return objectives.lipschitz_family(objectives.EQ12_INSTANCES[name[10:]])
    raise ConfigError(f"unknown objective {name!r}; known: {', '.join(OBJECTIVES)}")


@dataclass
class Regulariser:
    """What keeps the critic in check: a penalty added to ``L_D``, weight clipping, or nothing.

    Attributes:
      name: ``"none"``, ``"clip"`` or a spec name.
      weight: the penalty weight (0 for ``none``/``clip``).
      fn: the penalty, or None.
      clip: the clipping bound, or None.
      max_gradient: the S_max state of ``max-gradient`` (saved in checkpoints), or None.
    """

    name: str
    weight: float
    fn: PenaltyFn | None = None
    clip: float | None = None
    max_gradient: penalties.MaxGradient | None = field(default=None, repr=False)

    def state_dict(self) -> dict[str, Any]:
        """The mutable state (the S_max buffer of ``max-gradient``)."""
        buf = None if self.max_gradient is None else self.max_gradient.buffer
        return {"max_gradient_buffer": None if buf is None else buf.detach().cpu()}

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        """Restore :meth:`state_dict`."""
        buf = state.get("max_gradient_buffer")
        if self.max_gradient is not None:
            self.max_gradient.buffer = None if buf is None else buf.to(device)


def _gradient_fn(spec: Spec, weight: float) -> PenaltyFn:
    term, measure = spec.term, spec.measure
    if term is None or measure is None:
        raise ConfigError(f"spec {spec.name!r} lacks a term or a measure")

    def fn(critic: nn.Module, real: Tensor, fake: Tensor, gen: torch.Generator | None) -> Tensor:
        return penalties.gradient_penalty(
            term, critic, real, fake, weight=weight, measure=measure, generator=gen
        )

    return fn


def make_regulariser(
    name: str, weight: float | None = None, *, clip: float = 0.01,
    penalty_on: Literal["score", "probability"] = "score",
) -> Regulariser:
    """Build the regulariser ``name``: ``"none"``, ``"clip"`` or a name of :data:`gp_spec.SPECS`.

    A spec's penalty is composed from the spec's own pieces (its term and measure, or its
    family's function), so the random draws can take the run's ``torch.Generator`` and the
    ``max-gradient`` buffer can be checkpointed. ``weight=None`` means the spec's default.
    ``penalty_on="probability"`` evaluates the penalty on ``D = sigmoid(f)`` instead of the
    critic's output ``f`` (004 Eq. 6-7 with D a probability, as in its authors' code).

    Raises:
      ConfigError / UnknownSpecError: unknown name (the message suggests the closest spec).
    """
    reg = _make_regulariser(name, weight, clip=clip)
    if penalty_on == "probability" and reg.fn is not None:
        reg.fn = _on_probability(reg.fn)
    return reg


def _on_probability(fn: PenaltyFn) -> PenaltyFn:
    """``fn`` evaluated on the discriminator ``D = sigmoid(f)`` of the critic ``f``."""

    def on_d(critic: nn.Module, real: Tensor, fake: Tensor, gen: torch.Generator | None
             ) -> Tensor:
        def d(x: Tensor) -> Tensor:
            return torch.sigmoid(critic(x))

        return fn(d, real, fake, gen)  # type: ignore[arg-type]  # any critic callable works

    return on_d


def _make_regulariser(name: str, weight: float | None, *, clip: float) -> Regulariser:
    if name == "none":
        return Regulariser("none", 0.0)
    if name == "clip":
        return Regulariser("clip", 0.0, clip=float(clip))
    spec = get_spec(name)
    w = spec.default_weight if weight is None else float(weight)
    if spec.family == "gradient":
        return Regulariser(name, w, _gradient_fn(spec, w))
    if spec.family == "difference_quotient":
        cost = spec.cost
        return Regulariser(name, w, lambda c, r, f, g: penalties.difference_quotient(
            c, r, f, weight=w, cost=cost))
    if spec.family == "transport":
        return Regulariser(name, w, lambda c, r, f, g: penalties.transport(c, r, f, weight=w))
    state = penalties.MaxGradient(spec.buffer_size)
    return Regulariser(name, w, lambda c, r, f, g: state(c, r, f, weight=w, generator=g),
                       max_gradient=state)


REGULARISERS: tuple[str, ...] = ("none", "clip", *SPECS)
"""Names accepted by :func:`make_regulariser`."""


# ---------------------------------------------------------------------------- loss terms


def critic_loss_term(
    critic: nn.Module, real: Tensor, fake: Tensor, objective: objectives.Objective
) -> Tensor:
    """``L_D = E[phi(f(y))] + E[varphi(f(x))]`` without penalty; one forward of ``[x; y]``.

    Critics here have no batch statistics, so scoring the concatenation equals scoring each.
    Source: SPEC §1.
    """
    scores = critic(torch.cat([real, fake]))
    n = real.shape[0]
    return objective.critic_loss(scores[:n], scores[n:])


def penalty_term(
    critic: nn.Module,
    real: Tensor,
    fake: Tensor,
    regulariser: Regulariser,
    generator: torch.Generator | None = None,
) -> Tensor | None:
    """The regulariser's penalty ``weight * E_mu[term]`` (SPEC §3), or None if it has none."""
    if regulariser.fn is None:
        return None
    return regulariser.fn(critic, real, fake, generator)


def generator_loss_term(
    critic: nn.Module, fake: Tensor, objective: objectives.Objective
) -> Tensor:
    """``L_G = E[gen(f(G(z)))]`` (SPEC §1)."""
    return objective.generator_loss(critic(fake))


# ---------------------------------------------------------------------------- DDP


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a ``DistributedDataParallel`` wrapper (or ``module`` itself)."""
    inner = module.module if isinstance(module, DistributedDataParallel) else module
    if not isinstance(inner, nn.Module):
        raise ConfigError(f"DDP wraps a {type(inner).__name__}, but should wrap an nn.Module")
    return inner


def _refuse_static_graph(module: nn.Module) -> None:
    if isinstance(module, DistributedDataParallel) and bool(getattr(module, "static_graph", False)):
        raise ConfigError(
            "DistributedDataParallel(static_graph=True) gives silently wrong gradients with the "
            "double backward of a gradient penalty (each rank keeps its local gradient); wrap "
            "the critic with default settings (gp_spec.harness.steps.wrap_ddp)"
        )


def wrap_ddp(module: nn.Module, *, static_graph: bool = False, **kwargs: Any) -> nn.Module:
    """``DistributedDataParallel(module, **kwargs)`` with default settings; refuses static graphs.

    Raises:
      ConfigError: ``static_graph=True`` (see the module docstring, fact 2).
    """
    if static_graph:
        raise ConfigError(
            "static_graph=True is refused: with a gradient penalty's double backward DDP keeps "
            "each rank's local gradient (silently wrong); use the default static_graph=False"
        )
    return DistributedDataParallel(module, **kwargs)


# ---------------------------------------------------------------------------- steps


@dataclass(frozen=True)
class StepStats:
    """Detached 0-dim tensors of one critic step (no host sync until they are read).

    Attributes:
      loss: ``L_D`` without penalty. penalty: the penalty (0 if none).
    """

    loss: Tensor
    penalty: Tensor


def critic_backward(
    critic: nn.Module,
    real: Tensor,
    fake: Tensor,
    *,
    objective: objectives.Objective,
    regulariser: Regulariser,
    generator: torch.Generator | None = None,
    autocast: contextlib.AbstractContextManager[Any] | None = None,
) -> StepStats:
    """Accumulate ``grad_theta (L_D + penalty)`` into the critic's ``.grad`` in ONE backward.

    One backward of the sum is what keeps DDP correct (module docstring, facts 1 and 3).

    Raises:
      ConfigError: a DDP critic built with ``static_graph=True``.
    """
    _refuse_static_graph(critic)
    with autocast if autocast is not None else contextlib.nullcontext():
        loss = critic_loss_term(critic, real, fake, objective)
        penalty = penalty_term(critic, real, fake, regulariser, generator)
    total = loss if penalty is None else loss + penalty
    torch.autograd.backward(total)
    zero = torch.zeros((), device=loss.device)
    return StepStats(loss.detach(), zero if penalty is None else penalty.detach())


def critic_step(
    critic: nn.Module,
    optimizer: torch.optim.Optimizer,
    real: Tensor,
    fake: Tensor,
    *,
    objective: objectives.Objective,
    regulariser: Regulariser,
    generator: torch.Generator | None = None,
    autocast: contextlib.AbstractContextManager[Any] | None = None,
) -> StepStats:
    """One critic update: zero grads, :func:`critic_backward`, optimiser step, clipping."""
    optimizer.zero_grad(set_to_none=True)
    stats = critic_backward(critic, real, fake, objective=objective, regulariser=regulariser,
                            generator=generator, autocast=autocast)
    optimizer.step()
    if regulariser.clip is not None:
        clip_weights(unwrap(critic), regulariser.clip)
    return stats


@contextlib.contextmanager
def _frozen(module: nn.Module) -> Iterator[None]:
    """Parameters of ``module`` do not require grad inside the block."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags, strict=True):
            p.requires_grad_(flag)


def generator_step(
    generator_model: nn.Module,
    critic: nn.Module,
    optimizer: torch.optim.Optimizer,
    z: Tensor,
    *,
    objective: objectives.Objective,
    autocast: contextlib.AbstractContextManager[Any] | None = None,
) -> Tensor:
    """One generator update on ``L_G``; the critic is frozen and called unwrapped (no DDP sync).

    Returns:
      ``L_G`` detached, 0-dim.
    """
    inner = unwrap(critic)
    optimizer.zero_grad(set_to_none=True)
    with _frozen(inner):
        with autocast if autocast is not None else contextlib.nullcontext():
            loss = generator_loss_term(inner, generator_model(z), objective)
        torch.autograd.backward(loss)
    optimizer.step()
    return loss.detach()
