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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from gp_spec import measures, objectives
from gp_spec.constraints import clip_weights
from gp_spec.harness.errors import ConfigError
from gp_spec.objectives import OBJECTIVES, get_objective
from gp_spec.specs import SPECS, BoundPenalty, Spec, get_spec

__all__ = [
    "HARNESS_SPECS",
    "OBJECTIVES",
    "REGULARISERS",
    "Regulariser",
    "StepStats",
    "critic_backward",
    "critic_loss_term",
    "critic_step",
    "generator_loss_term",
    "generator_step",
    "get_objective",
    "lookup_spec",
    "make_regulariser",
    "penalty_term",
    "unwrap",
    "wrap_ddp",
]

# ``OBJECTIVES`` and ``get_objective`` live in :mod:`gp_spec.objectives`; re-exported here for
# callers of the harness that imported them from this module.


HARNESS_SPECS: Mapping[str, Spec] = MappingProxyType({
    "gan-0gp-sample": Spec(
        "gan-0gp-sample", "gradient", 10.0,
        "004 Table 1 (0-GP-sample: lambda E_{v in D}[||grad D(v)||^2], D = D_r u D_g)",
        "weight = lambda; the measure is the union of the real and the fake batch (each point "
        "mass 1: a mixture of real and fake with masses 1/2 each over 2N points)",
        "zero_centred", measures.mixture([(0.5, measures.real()), (0.5, measures.fake())])),
    "wgan-gp-local": Spec(
        "wgan-gp-local", "gradient", 10.0, "003 App. D.4 (GP on perturbed training samples)",
        "weight = lambda; x_hat = x + N(0, 0.1^2 I) (the noise std is not stated in 003; "
        "0.1 is this harness's choice)", "two_sided", measures.perturbed(0.1)),
    "wgan-gp-local-both": Spec(
        "wgan-gp-local-both", "gradient", 10.0,
        "003 App. D.4 (GP on perturbed training and generated samples)",
        "weight = lambda; noise std 0.1 (this harness's choice)", "two_sided",
        measures.perturbed(0.1, fake_too=True)),
    "wgan-lp-local-both": Spec(
        "wgan-lp-local-both", "gradient", 10.0,
        "003 App. D.4 (LP on perturbed training and generated samples)",
        "weight = lambda; noise std 0.1 (this harness's choice)", "one_sided",
        measures.perturbed(0.1, fake_too=True)),
})
"""Penalties the harness trains with that :data:`gp_spec.SPECS` does not hold (yet): 004's
0-GP-sample on real AND fake samples, as its Table 1 defines it (``r1`` is the real-only variant
its authors' code uses), and 003 App. D.4's local perturbation for GP and LP. Built from the
core's terms and measures; candidates for SPECS."""


def lookup_spec(name: str) -> Spec:
    """:data:`HARNESS_SPECS` ``[name]``, else :func:`gp_spec.get_spec` (which suggests names)."""
    return HARNESS_SPECS[name] if name in HARNESS_SPECS else get_spec(name)


@dataclass
class Regulariser:
    """What keeps the critic in check: a penalty added to ``L_D``, weight clipping, or nothing.

    Attributes:
      name: ``"none"``, ``"clip"`` or a spec name.
      weight: the penalty weight (0 for ``none``/``clip``).
      penalty: the spec's penalty at ``weight`` (:meth:`gp_spec.Spec.bind`), or None. Its
        ``state`` is max-gradient's S_max buffer (saved in checkpoints).
      clip: the clipping bound, or None.
      on_probability: evaluate the penalty on ``D = sigmoid(f)`` instead of on ``f``.
    """

    name: str
    weight: float
    penalty: BoundPenalty | None = None
    clip: float | None = None
    on_probability: bool = False

    def state_dict(self) -> dict[str, Any]:
        """The mutable state (the S_max buffer of ``max-gradient``)."""
        state = None if self.penalty is None else self.penalty.state
        buf = None if state is None else state.buffer
        return {"max_gradient_buffer": None if buf is None else buf.detach().cpu()}

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        """Restore :meth:`state_dict`."""
        buf = state.get("max_gradient_buffer")
        if self.penalty is not None and self.penalty.state is not None:
            self.penalty.state.buffer = None if buf is None else buf.to(device)


def make_regulariser(
    name: str, weight: float | None = None, *, clip: float = 0.01,
    penalty_on: Literal["score", "probability"] = "score",
) -> Regulariser:
    """Build the regulariser ``name``: ``"none"``, ``"clip"``, a name of :data:`gp_spec.SPECS`
    or of :data:`HARNESS_SPECS`.

    A spec's penalty is ``get_spec(name).bind(weight)`` (the one place where a spec's family
    becomes a function); its random draws take the run's ``torch.Generator`` and its
    ``state`` (max-gradient's S_max buffer) is checkpointed. ``weight=None`` means the spec's
    default. ``penalty_on="probability"`` evaluates the penalty on ``D = sigmoid(f)`` instead of
    the critic's output ``f`` (004 Eq. 6-7 with D a probability, as in its authors' code).

    Raises:
      ConfigError / UnknownSpecError: unknown name (the message suggests the closest spec).
    """
    if name == "none":
        return Regulariser("none", 0.0)
    if name == "clip":
        return Regulariser("clip", 0.0, clip=float(clip))
    bound = lookup_spec(name).bind(weight)
    return Regulariser(name, bound.weight, bound, on_probability=penalty_on == "probability")


REGULARISERS: tuple[str, ...] = ("none", "clip", *SPECS, *HARNESS_SPECS)
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
    """The regulariser's penalty ``weight * E_mu[term]`` (SPEC §3), or None if it has none.

    With ``regulariser.on_probability`` the penalty sees the critic ``x -> sigmoid(f(x))``.
    """
    if regulariser.penalty is None:
        return None
    if not regulariser.on_probability:
        return regulariser.penalty(critic, real, fake, generator)

    def d(x: Tensor) -> Tensor:
        return torch.sigmoid(critic(x))

    return regulariser.penalty(d, real, fake, generator)


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
