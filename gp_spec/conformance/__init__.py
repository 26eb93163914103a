"""Conformance: check any penalty implementation against the spec.

One catalogue of checks (:data:`CATALOGUE`) feeds three front doors that run the same thing:

- :func:`check` (programmatic, returns a :class:`Report`),
- the ``gp-spec conform MODULE:ATTR --spec NAME`` command line,
- the pytest plugin (``pytest --gp-impl MODULE:ATTR --gp-spec NAME``) and
  :func:`parametrize_with_checks` for a user's own test file.
"""

from __future__ import annotations

from gp_spec.conformance._catalogue import (
    CATALOGUE,
    SUITE_FALSE_POSITIVE_RATE,
    Check,
    checks_for,
    statistical_rate,
)
from gp_spec.conformance._engine import DEFAULT_TIMEOUT, PlannedCheck, check, plan
from gp_spec.conformance._loading import load_implementation
from gp_spec.conformance._pytest_api import parametrize_with_checks
from gp_spec.conformance._report import CheckResult, Report
from gp_spec.conformance.adapters import ADAPTERS, adapt

__all__ = [
    "ADAPTERS",
    "CATALOGUE",
    "DEFAULT_TIMEOUT",
    "SUITE_FALSE_POSITIVE_RATE",
    "Check",
    "CheckResult",
    "PlannedCheck",
    "Report",
    "adapt",
    "check",
    "checks_for",
    "load_implementation",
    "parametrize_with_checks",
    "plan",
    "statistical_rate",
]
