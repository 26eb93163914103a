"""Benchmark of one full conformance ``check`` of one implementation (issue 4: <= 30 s on 2
CPU cores). The suite's every check runs, on the shipped example and on a reference."""

from __future__ import annotations

from typing import Any

import pytest

import gp_spec
from gp_spec.conformance import check
from gp_spec.examples import penalties as examples

CASES = {
    "example-wgan-gp": (examples.wgan_gp, "wgan-gp"),
    "reference-wgan-lp": (gp_spec.SPECS["wgan-lp"].reference, "wgan-lp"),
    "reference-r1": (gp_spec.SPECS["r1"].reference, "r1"),
    "reference-lp-quotient": (gp_spec.SPECS["lp-quotient"].reference, "lp-quotient"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_conformance_check(benchmark: Any, case: str) -> None:
    """One full conformance check (every applicable check of the spec)."""
    impl, spec = CASES[case]
    check(impl, spec, checks=["reduction.batch-mean"])  # warm-up: lazy imports, first autograd
    report = benchmark.pedantic(lambda: check(impl, spec), rounds=5, iterations=1)
    assert report.passed, report.to_text()
