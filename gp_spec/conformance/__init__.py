"""Conformance: check any penalty implementation against the spec.

One catalogue of checks (:data:`CATALOGUE`) feeds every front door, which run the same
thing through one validated options object:

- :func:`check` (programmatic, returns a :class:`Report`),
- the ``gp-spec conform MODULE:ATTR --spec NAME`` command line,
- the pytest plugin (``pytest --gp-impl MODULE:ATTR --gp-spec NAME``) and
  :func:`parametrize_with_checks` for a user's own test file.

The names below are imported on first use (PEP 562), so importing this package (e.g. by
the pytest plugin in a run that does not use it) costs nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gp_spec.conformance._context import Domain
    from gp_spec.conformance._engine import (
        DEFAULT_TIMEOUT,
        Plan,
        PlannedCheck,
        check,
        plan,
    )
    from gp_spec.conformance._loading import load_implementation
    from gp_spec.conformance._options import ExpectedFailureWarning, Options
    from gp_spec.conformance._pytest_api import parametrize_with_checks
    from gp_spec.conformance._report import Cause, CheckResult, Report
    from gp_spec.conformance.adapters import ADAPTERS, Convention, adapt
    from gp_spec.conformance.checks import (
        CATALOGUE,
        CLAUSES,
        SUITE_FALSE_POSITIVE_RATE,
        Check,
        checks_for,
        clauses_for,
        statistical_rate,
    )

_HOME = {
    "DEFAULT_TIMEOUT": "_engine", "Plan": "_engine", "PlannedCheck": "_engine",
    "check": "_engine", "plan": "_engine",
    "Domain": "_context",
    "load_implementation": "_loading",
    "ExpectedFailureWarning": "_options", "Options": "_options",
    "parametrize_with_checks": "_pytest_api",
    "Cause": "_report", "CheckResult": "_report", "Report": "_report",
    "ADAPTERS": "adapters", "Convention": "adapters", "adapt": "adapters",
    "CATALOGUE": "checks", "CLAUSES": "checks", "SUITE_FALSE_POSITIVE_RATE": "checks",
    "Check": "checks", "checks_for": "checks", "clauses_for": "checks",
    "statistical_rate": "checks",
}

__all__ = [
    "ADAPTERS",
    "CATALOGUE",
    "CLAUSES",
    "DEFAULT_TIMEOUT",
    "SUITE_FALSE_POSITIVE_RATE",
    "Cause",
    "Check",
    "CheckResult",
    "Convention",
    "Domain",
    "ExpectedFailureWarning",
    "Options",
    "Plan",
    "PlannedCheck",
    "Report",
    "adapt",
    "check",
    "checks_for",
    "clauses_for",
    "load_implementation",
    "parametrize_with_checks",
    "plan",
    "statistical_rate",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'gp_spec.conformance' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"gp_spec.conformance.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
