"""Every reference in ``gp_spec.SPECS`` passes its own spec, at its default weight and at 2.5."""

from __future__ import annotations

import pytest

from gp_spec import SPECS
from gp_spec.conformance import check

ONLY_SKIPPED = {"device.cuda"}  # skipped on a machine without a GPU; nothing else may skip


@pytest.mark.parametrize("weight", [None, 2.5], ids=["default-weight", "weight-2.5"])
@pytest.mark.parametrize("name", list(SPECS))
def test_reference_passes_its_own_spec(name: str, weight: float | None) -> None:
    spec = SPECS[name]
    report = check(spec.bind(weight), name, weight=weight)  # bind: a fresh reference
    assert report.passed, report.to_text()
    skipped = {r.id.split(".", 1)[1] for r in report.results if r.status == "skip"}
    assert skipped <= ONLY_SKIPPED, report.to_text()
    assert report.weight == (spec.default_weight if weight is None else weight)
