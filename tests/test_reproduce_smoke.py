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
FIGURES = ["C5A", "F1", "F2", "F3", "F4", "F5"]
RESULT_FIELDS = {"claim", "title", "source", "mode", "verdict", "criterion", "checks", "metric",
                 "paper_setup", "quick_changes", "seeds", "measurements", "per_seed", "figures",
                 "device", "command", "elapsed_s"}
VERDICTS = {"reproduced", "partly", "not reproduced"}


def test_registry_holds_the_claims_of_spec_section_5_then_figure_experiments() -> None:
    assert list(EXPERIMENTS) == CLAIMS + FIGURES


@pytest.mark.parametrize("claim", CLAIMS + FIGURES)
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


def test_many_runs_record_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # C1 and C2 share runs: --many-runs trains them once, together; --record writes the
    # committed-results layout; --report renders REPRODUCTION.md from it alone.
    out, rec = tmp_path / "out", tmp_path / "rec"
    args = ["reproduce", "C1,C2", "--quick", "--smoke", "--seeds", "2", "--out", str(out),
            "--device", "cpu", "--many-runs", "--record", str(rec)]
    assert cli.main(args) in (0, 1)
    err = capsys.readouterr().err
    assert "training 24 runs together" in err  # 8g x {LP, GP} x 6 weights x 2 seeds
    assert "below the registered design of 3" in err
    folders = sorted((rec / "C1").iterdir())
    assert len(folders) == 1 and folders[0].name.startswith("smoke-quick-2seeds-cpu-")
    folder = folders[0]
    result = json.loads((folder / "result.json").read_text())
    assert result["trainer"] == "many-runs" and result["joint_training"]["runs"] == 24
    assert {"machine", "torch", "commit"} <= set(result)
    seed1 = json.loads((folder / "seeds" / "seed-1.json").read_text())
    assert seed1["seed"] == 1 and seed1["wall_s"] > 0
    assert seed1["values"]["8gaussians/LP/w5/w1_final"] == \
        result["per_seed"]["8gaussians/LP/w5/w1_final"][1]
    assert (folder / "c1_curves_8gaussians.png").read_bytes()[:4] == b"\x89PNG"
    report = tmp_path / "REPRODUCTION.md"
    assert cli.main(["reproduce", "--report", "--results", str(rec), "--output",
                     str(report)]) == 0
    text = report.read_text()
    assert "| C1 | smoke, quick | 2 (design 10) |" in text  # C1 v3 registers 10 seeds
    assert "| C2 | smoke, quick | 2 (design 3) |" in text
    assert "many-runs" in text and "Criterion v1" in text


def test_one_seed_below_the_design_is_flagged(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["reproduce", "C3", "--quick", "--smoke", "--seeds", "1", "--out",
                     str(tmp_path), "--device", "cpu", "--quiet"])
    assert code in (0, 1)
    line = capsys.readouterr().out.strip()
    assert line.startswith("C3: ") and "1 seed(s) is below the registered design of 3" in line


def test_t_lower_bound_matches_scipys_interval() -> None:
    # the one-sided 95% bound is the lower end of scipy's two-sided 90% t-interval
    import numpy as np
    from scipy import stats

    from gp_spec.harness.claims.zhou import t_lower_bound

    x = [0.9, 1.0, 0.8, 1.0, 0.7, 1.0, 0.9, 0.6, 1.0, 0.9]
    lo, _ = stats.t.interval(0.90, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert t_lower_bound(x) == pytest.approx(lo, rel=1e-12)
    assert t_lower_bound([1.0]) == float("-inf")


def test_points_at_partner_geometry() -> None:
    # one fake point at the origin, partner at (1, 0), another real point at (0, 1): a
    # gradient at 30 degrees points at the partner, one at 60 degrees at the other point.
    import numpy as np
    import torch
    from torch import nn

    from gp_spec.harness.claims.zhou import DiscreteOptimum, alignment

    real = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    fake = torch.tensor([[0.0, 0.0]])
    opt = DiscreteOptimum(np.zeros(3), 1.0, (np.array([0]),))
    for deg, expected in ((30.0, True), (60.0, False)):
        lin = nn.Linear(2, 1)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor([[np.cos(np.radians(deg)), np.sin(np.radians(deg))]]))
        got = alignment(lin, real, fake, opt)
        assert bool(got.closer_to_partner[0]) is expected
        assert got.cos_partners[0] == pytest.approx(np.cos(np.radians(deg)), rel=1e-6)


def test_the_committed_report_is_rendered_from_every_committed_record() -> None:
    # issue 16: REPRODUCTION.md is generated from bench/results/claims and lists every record
    # (C1-C8 and the added experiments C5A, F1-F5), so a record can't be left out of the table.
    from gp_spec.harness.report import render

    repo = Path(__file__).resolve().parents[1]
    root = repo / "bench" / "results" / "claims"
    text = (repo / "REPRODUCTION.md").read_text()
    records = sorted(root.glob("*/*/result.json"))
    assert {p.parents[1].name for p in records} >= {"C1", "C7", "F1", "F5"}
    rows = [line for line in text.splitlines() if line.startswith("| ") and "](bench/" in line]
    for path in records:
        claim, folder = path.parents[1].name, path.parent.name
        assert any(row.startswith(f"| {claim} |") and f"/{claim}/{folder})" in row
                   for row in rows), f"{claim}/{folder} has no row in REPRODUCTION.md"
    assert render(root, Path("bench/results/claims")) == text, \
        "REPRODUCTION.md is stale: run gp-spec reproduce --report"
