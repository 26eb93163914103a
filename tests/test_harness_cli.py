"""gp_spec.harness.cli: the ``gp-spec train`` options, resume, and exit code 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gp_spec.harness import cli

TINY = ["--hidden", "8,8", "--batch", "16", "--critic-steps", "1", "--eval-samples", "32",
        "--device", "cpu", "--quiet", "--log-every", "1", "--checkpoint-every", "1"]


def _train(out: Path, *extra: str) -> int:
    return cli.main(["--dataset", "8gaussians", "--objective", "wasserstein", "--penalty",
                     "wgan-lp", "--weight", "5", "--seed", "0", "--out", str(out), *TINY, *extra])


def test_train_then_resume_appends_metrics(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert _train(out, "--steps", "2") == 0
    names = {p.name for p in out.iterdir()}
    assert {"metrics.jsonl", "checkpoint.pt", "config.json", "summary.json",
            "level_sets.png", "gradient_field.png", "metrics.png"} <= names
    # resume with only --out, --resume, --steps: the rest comes from config.json
    assert cli.main(["--out", str(out), "--resume", "--steps", "3", "--quiet"]) == 0
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3]
    assert json.loads((out / "summary.json").read_text())["resumed_from"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "9gaussians"], "unknown dataset"),
        (["--penalty", "wgan-pl"], "did you mean"),
        (["--objective", "wgan"], "unknown objective"),
        (["--steps", "0"], "steps=0"),
        (["--device", "cuda:7"], "cuda"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _train(tmp_path / "bad", "--steps", "1", *args) == 2
    assert message in capsys.readouterr().err


def test_existing_run_without_resume_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert _train(out, "--steps", "1", "--no-plots") == 0
    assert _train(out, "--steps", "2", "--no-plots") == 2
    assert "--resume" in capsys.readouterr().err
    assert cli.main(["--out", str(out), "--resume", "--lr", "0.1", "--quiet"]) == 2


def test_argparse_rejects_malformed_widths(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--out", str(tmp_path), "--hidden", "a,b"])
    assert exc.value.code == 2


def test_help_defines_every_metric_and_docs_page_agrees(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    from gp_spec.harness.evaluation import METRIC_DEFINITIONS

    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    page = (Path(__file__).parents[1] / "docs" / "metrics.md").read_text()
    for key, definition in METRIC_DEFINITIONS.items():
        assert f"{key}: " in text, key
        assert f"| `{key}` | {definition.replace('|', chr(92) + '|')} |" in page, key
