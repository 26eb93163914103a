"""Correct implementations written differently from the references all pass their spec."""

from __future__ import annotations

import pytest

from conformance.rewrites import REWRITES, Rewrite
from gp_spec.conformance import check


@pytest.mark.parametrize("rewrite", REWRITES, ids=[r.name for r in REWRITES])
def test_rewrite_passes(rewrite: Rewrite) -> None:
    report = check(rewrite.fn, rewrite.spec, weight=rewrite.weight, label=rewrite.name,
                   **rewrite.options)
    assert report.passed, f"{rewrite.name} ({rewrite.how}) fails:\n{report.to_text()}"


def test_torch_func_rewrite_is_checked_through_the_penalty_values() -> None:
    # Under vmap the critic sees functorch-wrapped tensors: the recording checks skip, and
    # the measure is then held to its law by measure.value-distribution alone.
    (rewrite,) = [r for r in REWRITES if r.name == "torch_func_vmap"]
    report = check(rewrite.fn, rewrite.spec, weight=rewrite.weight, label=rewrite.name,
                   **rewrite.options)
    status = {r.id.split(".", 1)[1]: r.status for r in report.results}
    assert status["measure.support"] == "skip"
    assert status["measure.value-distribution"] == "pass"
