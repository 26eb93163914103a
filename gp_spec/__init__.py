"""gp_spec: the executable specification of GAN objectives and gradient penalties.

Modules: :mod:`gp_spec.objectives` (SPEC §1), :mod:`gp_spec.measures` (§2),
:mod:`gp_spec.penalties` and :mod:`gp_spec.constraints` (§3), the registry
:data:`gp_spec.SPECS`, and the conformance engine :mod:`gp_spec.conformance`.
"""

from __future__ import annotations

from gp_spec import constraints, errors, measures, objectives, penalties
from gp_spec._types import Critic, Measure, PenaltyFn, Points
from gp_spec.specs import SPECS, Spec, get_spec

__version__ = "0.1.0"

__all__ = [
    "SPECS",
    "Critic",
    "Measure",
    "PenaltyFn",
    "Points",
    "Spec",
    "__version__",
    "constraints",
    "errors",
    "get_spec",
    "measures",
    "objectives",
    "penalties",
]
