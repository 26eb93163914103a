"""The one registry of penalty specs: ``SPECS[name] -> Spec``.

A :class:`Spec` names a penalty of SPEC §3 as the conformance engine sees it: its family,
its (term, measure) pair where it is a gradient penalty, its default weight and the paper's
own constant. ``spec.reference`` has the canonical conformance signature
``(critic, real, fake) -> 0-dim tensor`` with the default weight baked in.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import torch
from torch import Tensor

from gp_spec import _validation as v
from gp_spec import measures, penalties
from gp_spec._types import Critic, Measure
from gp_spec.errors import UnknownSpecError

__all__ = ["SPECS", "BoundPenalty", "Family", "Spec", "TermName", "get_spec"]

Family = Literal["gradient", "difference_quotient", "transport", "max_gradient"]
TermName = Literal["two_sided", "one_sided", "zero_centred"]

_TERMS: dict[TermName, penalties.Term] = {
    "two_sided": penalties.two_sided_term,
    "one_sided": penalties.one_sided_term,
    "zero_centred": penalties.zero_centred_term,
}


@dataclass(frozen=True)
class Spec:
    """One penalty specification.

    Attributes:
      name: registry key, e.g. ``"wgan-lp"``.
      family: ``"gradient"`` (term on a measure), ``"difference_quotient"``, ``"transport"``
        or ``"max_gradient"``.
      default_weight: the weight ``reference`` uses.
      citation: the equation(s) it implements.
      paper_constant: how the paper's own constant maps to ``weight``.
      term_name: for gradient penalties, ``"two_sided"``, ``"one_sided"`` or ``"zero_centred"``.
      measure: for gradient penalties (and max-gradient's fresh points), the penalty measure.
      cost: for difference quotients, ``"euclidean"`` or ``"squared_euclidean"``.
      halved_constant: the paper's constant when ``weight`` is half of it (``"gamma"`` for
        R1/R2, Mescheder's gamma/2; ``"rho"`` for SGP's rho/2), else None: code that takes
        that constant as an argument applies twice the weight.
    """

    name: str
    family: Family
    default_weight: float
    citation: str
    paper_constant: str
    term_name: TermName | None = None
    measure: Measure | None = None
    cost: Literal["euclidean", "squared_euclidean"] = "euclidean"
    buffer_size: int = 32
    halved_constant: str | None = None

    @property
    def term(self) -> penalties.Term | None:
        """The per-sample term of a gradient penalty (None for the other families)."""
        return None if self.term_name is None else _TERMS[self.term_name]

    def bind(self, weight: float | None = None) -> BoundPenalty:
        """A fresh implementation with the canonical signature and ``weight`` baked in.

        This is the one place where a spec's family becomes a penalty function. For
        ``max-gradient`` every call of ``bind`` makes a new S_max buffer, held in
        ``BoundPenalty.state``.
        """
        w = self.default_weight if weight is None else v.check_weight(weight)
        state = penalties.MaxGradient(self.buffer_size) if self.family == "max_gradient" \
            else None
        return BoundPenalty(self, w, state)

    @property
    def reference(self) -> BoundPenalty:
        """The reference implementation at ``default_weight`` (canonical signature)."""
        return self.bind(None)


@dataclass(frozen=True, eq=False)
class BoundPenalty:
    """``spec``'s penalty at ``weight``: ``(critic, real, fake, generator=None) -> 0-dim``.

    Made by :meth:`Spec.bind`. It satisfies :class:`gp_spec.PenaltyFn` and also takes the
    optional ``torch.Generator`` of the measure's random draws.

    Attributes:
      spec: the spec it implements.
      weight: the weight baked in.
      state: max-gradient's S_max buffer (002 App. E), updated by every call; None for the
        other families, which keep no state between calls.
    """

    spec: Spec
    weight: float
    state: penalties.MaxGradient | None = None

    def __post_init__(self) -> None:
        # the name conformance messages and benchmark tables show for the reference
        name = f"reference[{self.spec.name}, weight={self.weight:g}]"
        object.__setattr__(self, "__name__", name)
        object.__setattr__(self, "__qualname__", name)

    def __call__(
        self, critic: Critic, real: Tensor, fake: Tensor,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        spec, w = self.spec, self.weight
        if spec.family == "gradient":
            term, measure = spec.term, spec.measure
            if term is None or measure is None:
                raise ValueError(
                    f"spec {spec.name!r}: a gradient penalty needs a term and a measure"
                )
            return penalties.gradient_penalty(
                term, critic, real, fake, weight=w, measure=measure, generator=generator
            )
        if spec.family == "difference_quotient":
            return penalties.difference_quotient(critic, real, fake, weight=w, cost=spec.cost)
        if spec.family == "transport":
            return penalties.transport(critic, real, fake, weight=w)
        if self.state is None:
            raise ValueError(f"spec {spec.name!r}: max-gradient needs its S_max state")
        return self.state(critic, real, fake, weight=w, generator=generator)


_W = penalties.DEFAULT_WEIGHT
_R = penalties.R_WEIGHT


def _sgp(name: str, measure: Measure, where: str) -> Spec:
    return Spec(
        name, "gradient", _W, f"000 Def. 4, Table 1 ({where})",
        "weight = rho/2 (000's SGP is (rho/2) E_mu ||grad D||^2)", "zero_centred", measure,
        halved_constant="rho",
    )


_ALL: tuple[Spec, ...] = (
    Spec("wgan-gp", "gradient", _W, "003 Eq. 6; 004 Eq. 7 (1-GP)",
         "weight = lambda (10 in Gulrajani et al.)", "two_sided", measures.interpolate()),
    Spec("wgan-lp", "gradient", _W, "003 Eq. 8",
         "weight = lambda (5 and 10 in 003 §6)", "one_sided", measures.interpolate()),
    Spec("gan-0gp", "gradient", _W, "004 Eq. 6",
         "weight = lambda (10 in 004 §6)", "zero_centred", measures.interpolate()),
    Spec("r1", "gradient", _R, "004 Table 1 (0-GP-sample); Mescheder et al. 2018",
         "weight = gamma/2 (gamma = 10)", "zero_centred", measures.real(),
         halved_constant="gamma"),
    Spec("r2", "gradient", _R, "004 Table 1; Mescheder et al. 2018",
         "weight = gamma/2 (gamma = 10)", "zero_centred", measures.fake(),
         halved_constant="gamma"),
    _sgp("sgp-real", measures.real(), "p_d"),
    _sgp("sgp-fake", measures.fake(), "p_g"),
    _sgp("sgp-interpolate", measures.interpolate(), "mu_GP"),
    _sgp("sgp-mid", measures.midpoint(), "mu_mid"),
    _sgp("sgp-anchor", measures.anchor(), "mu_g,anc, A = (2, -1) tiled"),
    Spec("dragan", "gradient", _W, "Kodali et al. 2017; 003 footnote 7",
         "weight = lambda (10 in the DRAGAN reference code), c = 0.5", "two_sided",
         measures.dragan(0.5)),
    Spec("lp-quotient", "difference_quotient", _W, "003 Eq. 7",
         "weight = lambda; distance clamped below at 1e-6 as in the authors' code",
         cost="euclidean"),
    Spec("w2-quotient", "difference_quotient", _W, "003 Eq. 11",
         "weight = lambda; cost ||x - y||^2 clamped below at 1e-6", cost="squared_euclidean"),
    Spec("transport", "transport", _W, "003 Eq. 9",
         "weight = lambda/4 of the paper's Eq. 9 (the authors' code uses LAMBDA directly)"),
    Spec("max-gradient", "max_gradient", _W, "002 Eq. 18, App. E",
         "weight = lambda of lambda k(f)^2; S_max buffer of 32 points",
         measure=measures.interpolate()),
)

SPECS: Mapping[str, Spec] = MappingProxyType({s.name: s for s in _ALL})
"""Every penalty spec by name (read-only)."""


def get_spec(name: str | Spec) -> Spec:
    """``SPECS[name]``, or :class:`UnknownSpecError` suggesting the closest name."""
    if isinstance(name, Spec):
        return name
    try:
        return SPECS[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), list(SPECS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownSpecError(
            f"unknown spec {name!r}{hint} Known specs: {', '.join(SPECS)}"
        ) from None
