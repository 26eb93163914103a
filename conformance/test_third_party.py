"""Third-party penalties from PyPI keep the verdicts recorded in THIRD_PARTY.md.

Skipped when a package is not installed (none is a dependency of gp_spec); CI may install
them with ``pip install --no-deps`` (the list is in ``conformance/third_party.py``).
"""

from __future__ import annotations

import importlib.metadata

import pytest

from conformance.third_party import THIRD_PARTY, ThirdParty, failing_clauses, load, run


def _require(tp: ThirdParty) -> None:
    try:
        version = importlib.metadata.version(tp.package)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{tp.package} is not installed (pip install --no-deps "
                    f"{tp.package}=={tp.version})")
    if version != tp.version:
        pytest.skip(f"{tp.package} {version} installed; the record is for {tp.version}")
    try:
        load(tp.module, tp.stubs, cuda_import=tp.cuda_import)
    except ImportError as exc:
        pytest.skip(f"{tp.module} cannot be imported here: {exc}")


@pytest.mark.parametrize("tp", THIRD_PARTY, ids=[t.name for t in THIRD_PARTY])
def test_third_party_verdict_matches_the_record(tp: ThirdParty) -> None:
    _require(tp)
    report = run(tp)
    assert report is not None
    assert failing_clauses(report) == tp.failing, report.to_text()
    assert report.passed == (not tp.failing)


def test_torchgan_wgan_gp_differs_exactly_by_batch_alpha_and_batch_norm() -> None:
    (tp,) = [t for t in THIRD_PARTY if t.name == "torchgan-wgan-gp"]
    _require(tp)
    report = run(tp)
    assert report is not None
    by_clause = {r.id.split(".", 1)[1]: r for r in report.results}
    assert "1 distinct interpolation weights" in by_clause["measure.alpha-per-sample"].message
    assert "one norm over the whole batch" in by_clause["grad.per-sample"].message
