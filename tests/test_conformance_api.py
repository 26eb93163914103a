"""The conformance engine's front doors: check(), Report, the CLI, the pytest plugin and
parametrize_with_checks all run the same catalogue (issue 4, items 1, 3, 4, 6)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

import gp_spec
from gp_spec.conformance import (
    CATALOGUE,
    SUITE_FALSE_POSITIVE_RATE,
    check,
    checks_for,
    parametrize_with_checks,
    statistical_rate,
)
from gp_spec.conformance import cli as conform_cli
from gp_spec.examples import penalties as examples

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "gp_spec" / "examples" / "penalties.py")


def test_every_spec_has_checks_and_the_catalogue_ids_are_unique() -> None:
    for spec in gp_spec.SPECS.values():
        ids = [c.id_for(spec) for c in checks_for(spec)]
        assert len(ids) >= 10, f"{spec.name} has only {len(ids)} checks"
        assert len(set(ids)) == len(ids), f"duplicate ids for {spec.name}"
        assert all(i.startswith(spec.name + ".") for i in ids)
    clauses = [c.clause for c in CATALOGUE]
    assert len(set(clauses)) == len(clauses)


def test_bonferroni_rate_splits_the_suite_rate() -> None:
    spec = gp_spec.SPECS["wgan-gp"]
    m = sum(c.statistical for c in checks_for(spec))
    assert m >= 2
    assert statistical_rate(spec) * m == pytest.approx(SUITE_FALSE_POSITIVE_RATE)


def test_report_of_a_correct_example_passes_and_serialises() -> None:
    report = check(examples.wgan_gp, "wgan-gp", weight=10.0)
    assert report.passed, report.to_text()
    payload = json.loads(report.to_json())
    assert payload["passed"] is True
    assert {r["id"] for r in payload["results"]} == {r.id for r in report.results}
    for r in report.results:
        assert r.status in ("pass", "skip"), r
        assert r.citation
    stats = [r for r in report.results if r.threshold is not None]
    assert stats and all(r.p_value is not None for r in stats if r.status == "pass")
    md = report.to_markdown()
    assert "| `wgan-gp.norm.all-event-dims` | pass |" in md


def test_report_of_the_buggy_example_names_the_bugs() -> None:
    report = check(examples.buggy_wgan_gp, "wgan-gp", weight=10.0)
    assert not report.passed
    failed = {r.id for r in report.failures}
    assert "wgan-gp.norm.all-event-dims" in failed
    assert "wgan-gp.measure.alpha-per-sample" in failed
    first = report.failures[0]
    assert "but should be" in first.message
    assert first.repro.startswith('python -c "from gp_spec.conformance import check')


def test_a_repro_line_runs_as_printed_and_reproduces_the_failure() -> None:
    report = check(examples.buggy_wgan_gp, "wgan-gp", weight=10.0)
    first = report.failures[0]
    assert first.repro.startswith("python -c ")
    code = first.repro[len('python -c "'):-1]
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert f"FAIL  {first.id}" in proc.stdout and "NOT CONFORMANT" in proc.stdout


def test_same_seed_same_verdict_and_values() -> None:
    a = check(examples.wgan_gp, "wgan-gp", seed=3)
    b = check(examples.wgan_gp, "wgan-gp", seed=3)
    assert [(r.id, r.status, r.message) for r in a.results] == [
        (r.id, r.status, r.message) for r in b.results
    ]


def test_check_leaves_the_callers_rng_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check(examples.wgan_gp, "wgan-gp", checks=["measure.*"])
    assert torch.equal(torch.rand(3), expected)


def test_expected_failed_checks_turn_a_failure_into_a_pass_and_warn_on_unknown_ids() -> None:
    reason = "we draw one alpha per batch on purpose"
    with pytest.warns(UserWarning, match="no-such-check"):
        report = check(
            examples.buggy_wgan_gp, "wgan-gp",
            checks=["measure.alpha-per-sample"],
            expected_failed_checks={"wgan-gp.measure.alpha-per-sample": reason,
                                    "no-such-check": "x"},
        )
    (result,) = report.results
    assert result.status == "fail" and result.expected_failure == reason
    assert report.passed


def test_checks_selection_by_glob() -> None:
    report = check(examples.wgan_gp, "wgan-gp", checks=["purity.*"])
    assert {r.id for r in report.results} == {
        c.id_for(gp_spec.SPECS["wgan-gp"]) for c in CATALOGUE
        if c.clause.startswith("purity.") and c.applies(gp_spec.SPECS["wgan-gp"])
    }


def test_cli_exit_codes_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    js, md = tmp_path / "r.json", tmp_path / "r.md"
    rc = conform_cli.main([f"{EXAMPLE}:wgan_gp", "--spec", "wgan-gp", "--json", str(js),
                           "--markdown", str(md)])
    assert rc == 0
    assert json.loads(js.read_text())["passed"] is True
    assert "CONFORMANT" in capsys.readouterr().out
    assert conform_cli.main([f"{EXAMPLE}:buggy_wgan_gp", "--spec", "wgan-gp"]) == 1
    assert "NOT CONFORMANT" in capsys.readouterr().out
    assert conform_cli.main([f"{EXAMPLE}:wgan_gp", "--spec", "wgan_gp"]) == 2
    assert "did you mean 'wgan-gp'" in capsys.readouterr().err


def test_cli_reads_the_implementation_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GP_SPEC_IMPL", f"{EXAMPLE}:wgan_gp")
    assert conform_cli.main(["--spec", "wgan-gp", "--checks", "term.*"]) == 0
    assert "3 passed" in capsys.readouterr().out


def _pytest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd, capture_output=True, text=True, timeout=240,
    )


def test_pytest_plugin_gives_one_junit_case_per_check(tmp_path: Path) -> None:
    xml = tmp_path / "out.xml"
    proc = _pytest("--gp-impl", f"{EXAMPLE}:buggy_wgan_gp", "--gp-spec", "wgan-gp",
                   "--gp-weight", "10", f"--junitxml={xml}", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout
    text = xml.read_text()
    n_checks = len(checks_for(gp_spec.SPECS["wgan-gp"]))
    assert text.count("<testcase ") == n_checks
    assert 'name="wgan-gp.norm.all-event-dims"' in text
    assert "gp-spec: implementation" in proc.stdout  # the header names impl, spec, seed
    assert "seed 0" in proc.stdout and "torch " in proc.stdout
    assert "gp-spec: domain vectors (N, 3)" in proc.stdout  # and the domain it detected
    # pytest counts the checks as collected items (not "collected 0 items")
    assert f"collected {n_checks} items" in proc.stdout, proc.stdout
    # the JUnit class is gp-spec.<spec>, with no leading dot
    assert 'classname="gp-spec.wgan-gp"' in text and 'classname=".' not in text


def test_the_plugin_is_silent_and_imports_nothing_without_gp_impl(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text(
        "import sys\n"
        "def test_no_torch():\n"
        "    assert 'torch' not in sys.modules and 'gp_spec.conformance._engine' not in "
        "sys.modules\n"
    )
    proc = _pytest("-q", "test_plain.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert "gp-spec" not in proc.stdout and "1 passed" in proc.stdout


def test_parametrize_with_checks_in_a_users_test_file(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(
        "from gp_spec.examples.penalties import wgan_gp, buggy_wgan_gp\n"
        "from gp_spec.conformance import parametrize_with_checks\n"
        "@parametrize_with_checks([(wgan_gp, 'wgan-gp', 10.0)])\n"
        "def test_good(check):\n    check()\n"
        "@parametrize_with_checks([(buggy_wgan_gp, 'wgan-gp', 10.0)],\n"
        "    expected_failed_checks={'norm.all-event-dims': 'known'})\n"
        "def test_bad(check):\n    check()\n"
    )
    proc = _pytest("-q", "test_user.py", "-k", "norm", cwd=tmp_path)
    assert "1 passed" in proc.stdout and "1 xfailed" in proc.stdout, proc.stdout


def test_parametrize_ids_are_check_ids() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mark = parametrize_with_checks([(examples.wgan_gp, "wgan-gp")])
    ids = [p.id for p in mark.args[1]]
    assert "wgan_gp:wgan-gp.norm.all-event-dims" in ids  # the implementation, then the check


def test_the_checkouts_examples_path_is_the_packages_examples(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # examples/penalties.py (a checkout's path, used by older commands and issue texts) re-exports
    # gp_spec.examples.penalties: the same function objects, every public one, and the CLI takes it.
    from gp_spec.conformance._loading import load_implementation

    path = Path(__file__).parents[1] / "examples" / "penalties.py"
    public = {n for n, v in vars(examples).items()
              if callable(v) and not n.startswith("_") and v.__module__ == examples.__name__}
    for name in public:
        assert load_implementation(f"{path}:{name}") is getattr(examples, name)
    assert conform_cli.main([f"{path}:buggy_image_wgan_gp", "--spec", "wgan-gp"]) == 1
    assert "NOT CONFORMANT" in capsys.readouterr().out


def test_weight_zero_is_a_usage_error_naming_the_default() -> None:
    # a penalty of weight 0 is 0 for every critic: no clause can be established, so a verdict
    # would say nothing (before, references were NOT CONFORMANT at weight 0)
    from gp_spec.errors import InvalidWeightError

    with pytest.raises(InvalidWeightError, match=r"weight=0, but should be > 0.*default is 10"):
        check(examples.wgan_gp, "wgan-gp", weight=0)
