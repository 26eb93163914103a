"""``gp-spec bench IMPL --spec NAME`` and ``bench_penalty``: the user's penalty beside the
reference and the plain step, with its conformance verdict beside every ratio. Tiny sizes;
no speed is asserted here (bench/ holds speed targets; test_benchmark_timing.py the method).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from gp_spec import SPECS
from gp_spec.benchmark import bench_penalty, cli, penalty, penalty_report
from gp_spec.examples.penalties import buggy_wgan_gp, wgan_gp
from gp_spec.harness.models import MLPCritic

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "bench" / "examples_bench.py"
FAST = {"iters": 2, "warmup": 0, "steps": 1}


def _tiny() -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return MLPCritic((2,), (16, 16))


TINY: dict[str, Any] = {"critic": _tiny(), "event_shape": (2,), "batch": 8}
"""A 2 x 16 MLP on 2-D data, batch 8 (bench_penalty copies the module for every step)."""


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("name", list(SPECS))
def test_every_spec_benches_with_its_reference_as_the_user(name: str) -> None:
    # paired (lp-quotient, w2-quotient, transport) and stateful (max-gradient) specs included
    spec = SPECS[name]
    result = bench_penalty(spec.bind(), name, **TINY, **FAST)
    (case,) = result.cases
    assert [v.status for v in case.variants] == ["timed"] * 3, case.variants
    for key in ("user/plain", "reference/plain", "user/reference"):
        s = case.ratios[key]
        assert s is not None and s.n == 2 and len(s.samples) == 2, (key, s)
        assert s.min <= s.median <= s.max
    assert result.verdict is not None and result.verdict.passed, result.verdict
    assert result.weight == spec.default_weight


def test_buggy_penalty_shows_its_failed_verdict_next_to_its_time(tmp_path: Path) -> None:
    result = bench_penalty(buggy_wgan_gp, "wgan-gp", critic=_tiny(), event_shape=(2,), batch=8,
                           label="buggy_wgan_gp", **FAST)
    verdict = result.verdict
    assert verdict is not None and not verdict.passed
    # gp-spec conform names these for this example (its docstring: per-batch alpha)
    assert "wgan-gp.measure.alpha-per-sample" in verdict.failed, verdict.failed
    row = next(line for line in result.to_markdown().splitlines() if line.startswith("| "
                                                                                     "MLPCritic"))
    assert "FAIL: " in row and "wgan-gp.measure.alpha-per-sample" in row, row
    assert "x [" in row, "the ratios are in the same row as the verdict"
    data = result.to_dict()
    assert data["verdict"]["passed"] is False
    assert data["verdict"]["label"].startswith("FAIL: ")
    fig = penalty_report.figure(result)
    title = fig._suptitle.get_text()  # the figure's title (get_suptitle: matplotlib >= 3.8)
    assert "FAIL" in title and "alpha-per-sample" in title, title
    assert "user/plain" in fig.axes[0].get_title(), "each panel names its ratios"
    paths = result.write(tmp_path)
    assert sorted(p.suffix for p in paths) == [".json", ".md", ".png"]
    assert all(p.stat().st_size > 0 for p in paths)
    saved = json.loads(next(p for p in paths if p.suffix == ".json").read_text())
    again = penalty_report.from_dict(saved)
    assert again.to_markdown() == result.to_markdown(), "saved results render the same"


def test_penalty_that_returns_nan_is_not_timed() -> None:
    def nan_penalty(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        return wgan_gp(critic, real, fake) * float("nan")

    result = bench_penalty(nan_penalty, "wgan-gp", **TINY, verdict=False,
                           **FAST)
    user = result.cases[0].variant("user")
    assert user.ms is None and "NonFiniteLoss" in user.status, user.status
    assert result.ratio("user/plain") is None
    assert result.cases[0].variant("plain").ms is not None, "the others are still timed"


def test_penalty_that_turns_nan_while_timed_is_dropped() -> None:
    calls = [0]

    def late_nan(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        calls[0] += 1
        value = wgan_gp(critic, real, fake)
        return value * float("nan") if calls[0] > 2 else value

    result = bench_penalty(late_nan, "wgan-gp", **TINY, verdict=False,
                           iters=4, warmup=0, steps=1)
    user = result.cases[0].variant("user")
    assert user.ms is None and "while timed" in user.status, user.status


def test_penalty_that_raises_is_reported() -> None:
    def broken(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        raise RuntimeError("boom")

    result = bench_penalty(broken, "wgan-gp", **TINY, **FAST)
    assert result.verdict is not None and not result.verdict.passed
    user = result.cases[0].variant("user")
    assert user.status == "not timed: raised RuntimeError: boom in its first step", user.status


def test_bfloat16_and_autocast_cases_run() -> None:
    result = bench_penalty(wgan_gp, "wgan-gp", **TINY, verdict=False,
                           dtype=("float32", "bfloat16"), **FAST)
    assert [c.case.precision for c in result.cases] == ["float32", "bfloat16"]
    amp = bench_penalty(wgan_gp, "wgan-gp", **TINY, verdict=False,
                        dtype="bfloat16", amp=True, **FAST)
    assert amp.cases[0].case.precision == "bfloat16 autocast"
    assert all(v.ms is not None for c in (*result.cases, *amp.cases) for v in c.variants)


def test_conformance_keywords_are_built_in_one_place(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    built = penalty.conformance_kwargs

    def spy(**kwargs: Any) -> dict[str, Any]:
        out = built(**kwargs)
        seen["built"] = out
        return out

    import gp_spec.conformance as conformance

    real_check = conformance.check

    def check(impl: Any, spec: Any, **kwargs: Any) -> Any:
        seen["passed"] = kwargs
        return real_check(impl, spec, **kwargs)

    monkeypatch.setattr(penalty, "conformance_kwargs", spy)
    monkeypatch.setattr(conformance, "check", check)
    bench_penalty(wgan_gp, "wgan-gp", weight=10, **TINY, label="L", **FAST)
    assert seen["passed"] == seen["built"]
    # the timed event shape is forwarded (the verdict judges the domain that was timed)
    assert set(seen["built"]) == {"weight", "device", "label", "adapter", "event_shape"}
    assert seen["built"]["label"] == "L" and seen["built"]["weight"] == 10


def test_bad_arguments_are_named() -> None:
    with pytest.raises(KeyError, match="did you mean 'wgan-gp'"):
        bench_penalty(wgan_gp, "wgan-g", critic=_tiny(), event_shape=(2,), **FAST)
    with pytest.raises(ValueError, match="batch size should be >= 1"):
        bench_penalty(wgan_gp, "wgan-gp", critic=_tiny(), event_shape=(2,), batch=0, **FAST)
    with pytest.raises(ValueError, match="dtype"):
        bench_penalty(wgan_gp, "wgan-gp", critic=_tiny(), event_shape=(2,), dtype="float16", **FAST)
    with pytest.raises(ValueError, match="should be one of"):
        bench_penalty(wgan_gp, "wgan-gp", critic="vgg", **FAST)


# --------------------------------------------------------------------------------- CLI


def test_cli_writes_json_markdown_and_png(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["gp_spec.examples.penalties:wgan_gp", "--spec", "wgan-gp", "--critic",
                     "mlp", "--batch", "8", "--iters", "2", "--warmup", "0", "--out",
                     str(tmp_path)])
    assert code == 0
    stem = tmp_path / "wgan_gp-wgan-gp-cpu"
    data = json.loads(stem.with_suffix(".json").read_text())
    (case,) = data["cases"]
    assert set(case["ratios"]) == {"user/plain", "reference/plain", "user/reference"}
    for s in case["ratios"].values():
        assert {"min", "median", "max", "samples"} <= set(s) and len(s["samples"]) == 2
    assert data["verdict"]["label"] == "PASS"
    assert {"device", "torch", "commit", "date"} <= set(data["meta"])
    assert stem.with_suffix(".png").stat().st_size > 0
    assert "| mlp | 8 | float32 |" in stem.with_suffix(".md").read_text()
    out, err = capsys.readouterr()
    assert "**PASS**" in out
    assert "USDT" not in err and "profiler" not in err, err


@pytest.mark.parametrize(("target", "spec", "weight"), [
    (f"{EXAMPLES}:r1", "r1", "5"), (f"{EXAMPLES}:dragan", "dragan", "10")])
def test_cli_r1_and_dragan_examples_pass_and_time(tmp_path: Path, target: str, spec: str,
                                                  weight: str) -> None:
    code = cli.main([target, "--spec", spec, "--weight", weight, "--critic", "mlp",
                     "--batch", "8", "--iters", "2", "--warmup", "0", "--json",
                     str(tmp_path / "r.json")])
    assert code == 0
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["verdict"]["passed"] and data["cases"][0]["ratios"]["user/plain"] is not None
    assert not (tmp_path / "r.md").exists(), "only what was asked for"


def test_cli_buggy_penalty_exits_1_with_its_verdict(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main([f"{EXAMPLES}:dragan_batch_alpha", "--spec", "dragan", "--critic", "mlp",
                     "--batch", "8", "--iters", "2", "--warmup", "0", "--out", str(tmp_path)])
    assert code == 1
    out = capsys.readouterr().out
    assert "FAIL: dragan.measure.value-distribution" in out, out


def test_cli_user_critic_needs_an_event_shape(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    critic = tmp_path / "nets.py"
    critic.write_text("import torch\n"
                      "def Critic():\n"
                      "    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 1),"
                      " torch.nn.Flatten(0))\n")
    base = ["gp_spec.examples.penalties:wgan_gp", "--spec", "wgan-gp", "--critic",
            f"{critic}:Critic", "--batch", "4", "--iters", "2", "--warmup", "0", "--out",
            str(tmp_path / "out")]
    assert cli.main(base) == 2
    assert "--event-shape" in capsys.readouterr().err
    assert cli.main([*base, "--event-shape", "3", "4"]) == 0


@pytest.mark.parametrize(("argv", "message"), [
    (["gp_spec.examples.penalties:wgan_gp"], "--spec NAME is required"),
    (["gp_spec.examples.penalties:wgan_gp", "--spec", "wgan-gp", "--amp"], "--amp applies"),
    (["gp_spec.examples.penalties:wgan_gp", "--spec", "wgan-gp", "--variants", "peer"],
     "apply to 'gp-spec bench variants'"),
    (["gp_spec.examples.penalties:wgan_gp", "--spec", "wgan-gp", "--critic", "vgg"],
     "should be one of"),
    (["nowhere.module:fn", "--spec", "wgan-gp", "--critic", "mlp"], "nowhere"),
    (["variants", "--spec", "wgan-gp"], "--spec applies to IMPL mode"),
    (["--device", "cuda:7"], "--device"),
])
def test_cli_usage_errors_exit_2(argv: list[str], message: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_cli_help_says_what_each_mode_times(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    for phrase in ("YOUR penalty", "plain (critic loss only)", "user/reference",
                   "gp-spec bench variants", "WGAN-GP strategies", "conformance check",
                   "barrier"):
        assert phrase in text, phrase
