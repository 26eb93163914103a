"""gp_spec.harness.reproduce: every claim C1-C8 is registered with a criterion fixed in code, and
``gp-spec reproduce`` runs end to end (C8 for real, a training claim in smoke mode)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gp_spec import cli
from gp_spec.harness.claims import EXPERIMENTS
from gp_spec.harness.claims._common import CriterionResult, verdict

CLAIMS = [f"C{i}" for i in range(1, 9)]
RESULT_FIELDS = {"claim", "title", "source", "mode", "verdict", "criterion", "checks", "metric",
                 "paper_setup", "quick_changes", "seeds", "measurements", "per_seed", "figures",
                 "device", "command", "elapsed_s"}
VERDICTS = {"reproduced", "partly", "not reproduced"}


def test_registry_holds_exactly_the_claims_of_spec_section_5() -> None:
    assert list(EXPERIMENTS) == CLAIMS


@pytest.mark.parametrize("claim", CLAIMS)
def test_claim_states_its_setup_metric_and_criterion(claim: str) -> None:
    e = EXPERIMENTS[claim]
    for name in ("title", "source", "paper_setup", "quick_changes", "metric", "criterion"):
        assert len(getattr(e, name).strip()) > 10, f"{claim}.{name} is empty, but should say it"
    for quick in (True, False):
        checks = e.checks(quick)
        assert checks, f"{claim}: no checks (quick={quick}), but the criterion must be code"
        assert len({c.name for c in checks}) == len(checks), f"{claim}: duplicate check names"
        assert all(len(c.text) > 10 for c in checks), f"{claim}: a check has no criterion text"


def test_verdict_is_a_function_of_the_checks() -> None:
    ok, bad = CriterionResult("a", "t", "o", True), CriterionResult("b", "t", "o", False)
    assert verdict([ok, ok]) == "reproduced"
    assert verdict([ok, bad]) == "partly"
    assert verdict([bad, bad]) == "not reproduced"


def _result(out: Path, claim: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((out / claim / "result.json").read_text())
    return data


def test_c8_end_to_end_through_the_cli(tmp_path: Path) -> None:
    code = cli.main(["reproduce", "C8", "--quick", "--out", str(tmp_path), "--device", "cpu",
                     "--quiet"])
    result = _result(tmp_path, "C8")
    assert RESULT_FIELDS <= set(result), f"missing {RESULT_FIELDS - set(result)}"
    assert result["verdict"] in VERDICTS
    assert code == (0 if result["verdict"] == "reproduced" else 1)
    checks = result["checks"]
    assert isinstance(checks, list) and len(checks) == 5
    assert all({"name", "criterion", "observed", "passed"} <= set(c) for c in checks)
    figures = result["figures"]
    assert isinstance(figures, list) and figures
    for name in figures:
        png = tmp_path / "C8" / str(name)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size < 300_000


def test_training_claim_runs_in_smoke_mode_and_reuses_cached_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["reproduce", "C3", "--quick", "--smoke", "--seeds", "1", "--out", str(tmp_path),
            "--device", "cpu"]
    assert cli.main(args) in (0, 1)
    result = _result(tmp_path, "C3")
    assert result["verdict"] in VERDICTS and result["mode"] == "smoke, quick"
    per_seed = result["per_seed"]
    assert isinstance(per_seed, dict) and len(per_seed["w100/sup_dist"]) == 1
    capsys.readouterr()
    assert cli.main(args) in (0, 1)  # the second invocation loads the runs from DIR/runs
    assert "cached" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["C9"], "unknown claim"),
    (["C1", "--seeds", "0"], "--seeds 0"),
    (["C1", "--device", "cuda:7"], "cuda"),
])
def test_bad_input_exits_2(tmp_path: Path, args: list[str], message: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["reproduce", *args, "--quick", "--smoke", "--out", str(tmp_path)])
    assert code == 2
    assert message in capsys.readouterr().err


def test_list_prints_every_claim(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["reproduce", "list"]) == 0
    out = capsys.readouterr().out
    assert all(claim in out for claim in CLAIMS)
