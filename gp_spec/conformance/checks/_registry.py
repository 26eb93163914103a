"""The registry of checks: :class:`Check`, :func:`register`, :data:`CATALOGUE`.

A check is a small function ``run(ctx) -> Outcome`` that raises ``CheckFailed`` (the
implementation breaks the clause) or ``CheckSkipped``; ``applies(spec)`` says for which specs
it exists; ``establishes`` names the spec clauses (:data:`CLAUSES`) a pass establishes, and
``observes`` whether it observes them directly (the points the critic saw, the inputs, the
global state) or only through penalty values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from gp_spec.conformance._context import CheckContext, Outcome
from gp_spec.specs import Spec

__all__ = [
    "CATALOGUE",
    "CLAUSES",
    "SUITE_FALSE_POSITIVE_RATE",
    "Check",
    "RunFn",
    "checks_for",
    "clause_applies",
    "clauses_for",
    "register",
    "statistical_rate",
]

SUITE_FALSE_POSITIVE_RATE = 1e-6
"""Probability that a correct implementation fails any statistical check of one spec's suite
under one seed (Bonferroni: each of the m statistical checks rejects at this rate / m)."""

RunFn = Callable[[CheckContext], Outcome]

CLAUSES: dict[str, str] = {
    "term": "the per-sample term of the gradient norm (two-sided, one-sided, zero-centred, "
            "max), at every norm from 0 to far above 1",
    "value": "the value of a penalty that is not a gradient penalty (quotients, transport)",
    "weight": "the weight is applied once",
    "reduction": "the expectation is a mean over the measure's points (a max for "
                 "max-gradient), at every batch size",
    "norm": "one gradient norm per sample, over all event dimensions",
    "parameters": "the penalty is differentiable w.r.t. the critic's parameters, with the "
                  "right gradient, finite where the input gradient is zero",
    "measure": "the points where the penalty is evaluated follow the spec's measure",
    "pairing": "real and fake samples are paired by index",
    "floor": "the quotient's distance floor is 1e-6",
    "state": "max-gradient's S_max buffer is kept over successive calls",
    "critic": "the critic is called on inputs of the batch's shape, in its mode, and left "
              "unchanged",
    "purity": "inputs, the generator, global state and RNGs are left alone",
    "dtype": "float32 and float64 inputs give results in their dtype and device",
}
"""The spec's clauses; CONFORMANT needs each applicable one established by a passing check."""


def _norm_based(spec: Spec) -> bool:
    return spec.family in ("gradient", "max_gradient")


def _paired(spec: Spec) -> bool:
    return spec.family in ("difference_quotient", "transport")


CLAUSE_APPLIES: dict[str, Callable[[Spec], bool]] = {
    "term": _norm_based,
    "value": _paired,
    "norm": _norm_based,
    "measure": _norm_based,
    "pairing": _paired,
    "floor": lambda s: s.family == "difference_quotient",
    "state": lambda s: s.family == "max_gradient",
}
"""Clauses that exist only for some specs (the others exist for every spec)."""


def clause_applies(key: str, spec: Spec) -> bool:
    """Whether the spec clause ``key`` exists for ``spec``."""
    pred = CLAUSE_APPLIES.get(key)
    return True if pred is None else pred(spec)


@dataclass(frozen=True)
class Check:
    """One catalogue entry.

    Attributes:
      clause: id suffix, e.g. ``norm.all-event-dims``.
      summary: the property enforced and the bug class it catches.
      citation: where the clause comes from.
      applies: which specs it exists for.
      run: the check body.
      statistical: True when it tests a sampling law (then it has a false-positive rate).
      establishes: the :data:`CLAUSES` a pass establishes.
      observes: ``"direct"`` or ``"values"`` (only through penalty values).
    """

    clause: str
    summary: str
    citation: str
    applies: Callable[[Spec], bool]
    run: RunFn
    statistical: bool = False
    establishes: tuple[str, ...] = ()
    observes: Literal["direct", "values"] = "values"

    def id_for(self, spec: Spec) -> str:
        return f"{spec.name}.{self.clause}"


CATALOGUE: list[Check] = []


def register(
    clause: str, summary: str, citation: str, applies: Callable[[Spec], bool], *,
    statistical: bool = False, establishes: tuple[str, ...] = (),
    observes: Literal["direct", "values"] = "values",
) -> Callable[[RunFn], RunFn]:
    """Decorator adding ``run`` to :data:`CATALOGUE` under ``clause``."""
    for key in establishes:
        if key not in CLAUSES:
            raise ValueError(f"check {clause!r}: unknown spec clause {key!r}")

    def deco(fn: RunFn) -> RunFn:
        CATALOGUE.append(Check(clause, summary, citation, applies, fn, statistical,
                               establishes, observes))
        return fn

    return deco


def checks_for(spec: Spec) -> list[Check]:
    """The catalogue entries that apply to ``spec``, in catalogue order."""
    return [c for c in CATALOGUE if c.applies(spec)]


def clauses_for(spec: Spec) -> list[str]:
    """The spec clauses some applicable check can establish (the ones CONFORMANT needs)."""
    seen: dict[str, None] = {}
    for c in checks_for(spec):
        for key in c.establishes:
            if clause_applies(key, spec):
                seen[key] = None
    return [k for k in CLAUSES if k in seen]


def statistical_rate(spec: Spec) -> float:
    """Per-check false-positive rate for ``spec``'s statistical checks (Bonferroni)."""
    m = sum(1 for c in checks_for(spec) if c.statistical)
    return SUITE_FALSE_POSITIVE_RATE / max(m, 1)
