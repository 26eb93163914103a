"""The claims of SPEC §5 as experiments, one registry entry per claim (C1-C8).

Each module holds the claims of one paper: :mod:`.petzka` (003: C1-C3),
:mod:`.thanh_tung` (004: C4-C5), :mod:`.kim` (000: C6, C8), :mod:`.zhou` (002: C7); and the
experiments added for open points and for figures no claim covers: :mod:`.petzka_figures`
(F1-F3), :mod:`.thanh_tung_open` (C5A, F5), :mod:`.zhou_figures` (F4).
:mod:`gp_spec.harness.reproduce` is the command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from gp_spec.harness.claims._common import (
    Criterion,
    CriterionResult,
    Experiment,
    Measured,
    RunContext,
)
from gp_spec.harness.claims.kim import C6, C8
from gp_spec.harness.claims.petzka import C1, C2, C3
from gp_spec.harness.claims.petzka_figures import F1, F2, F3
from gp_spec.harness.claims.thanh_tung import C4, C5
from gp_spec.harness.claims.thanh_tung_open import C5A, F5
from gp_spec.harness.claims.zhou import C7
from gp_spec.harness.claims.zhou_figures import F4

__all__ = ["EXPERIMENTS", "Criterion", "CriterionResult", "Experiment", "Measured", "RunContext"]

EXPERIMENTS: Mapping[str, Experiment] = MappingProxyType(
    {e.claim: e for e in (C1, C2, C3, C4, C5, C6, C7, C8, C5A, F1, F2, F3, F4, F5)}
)
"""Claim id -> :class:`Experiment` (read-only): the claims C1-C8 of SPEC §5, then F1, ...,
experiments for figures of the papers not covered by a claim (issue 16 item 6)."""
