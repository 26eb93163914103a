"""The check catalogue, split by the clause prefixes of the check ids.

=====================  ==============================================================
module                 clauses
=====================  ==============================================================
``value``              ``term.*``, ``value.closed-form``, ``weight.*``, ``reduction.batch-mean``,
                       ``critic.*``
``gradient``           ``norm.*``, ``grad.*``
``measure``            ``measure.*`` (support, alpha law, value distribution, DRAGAN scale)
``state``              max-gradient: ``reduction.max-over-points``, its points, its buffer
``paired``             ``pairing.by-index``, ``quotient.distance-floor``
``purity``             ``purity.*``
``dtype``              ``dtype.*``, ``device.cuda``
``differential``       ``differential.*`` (against the reference on random critics)
=====================  ==============================================================

Closed forms and the tolerance policy live in ``_numbers``, the measure-law table in
``_laws``, input builders in ``_inputs``, the checks' critics in ``_critics``.
"""

from __future__ import annotations

# Each module registers its checks when imported; _ORDER below fixes the catalogue's order.
from gp_spec.conformance.checks import (  # noqa: F401
    differential,
    dtype,
    gradient,
    measure,
    paired,
    purity,
    state,
    value,
)
from gp_spec.conformance.checks._registry import (
    CATALOGUE,
    CLAUSES,
    SUITE_FALSE_POSITIVE_RATE,
    Check,
    checks_for,
    clauses_for,
    statistical_rate,
)

_ORDER = ("value", "gradient", "measure", "state", "paired", "purity", "dtype",
          "differential")
CATALOGUE.sort(key=lambda c: _ORDER.index(c.run.__module__.rsplit(".", 1)[-1]))

__all__ = [
    "CATALOGUE",
    "CLAUSES",
    "SUITE_FALSE_POSITIVE_RATE",
    "Check",
    "checks_for",
    "clauses_for",
    "statistical_rate",
]
