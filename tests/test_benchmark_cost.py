"""``gp_spec.benchmark.assert_cost`` under pytest-benchmark, as a user's suite runs it.

Each test writes a user's benchmark file and runs pytest on it in a subprocess (``pytester``),
with pytest-benchmark enabled or with ``--benchmark-disable``. The slow penalty
(``bench/examples_bench.py:slow_wgan_gp``, eight WGAN-GP estimates averaged) costs about
(1 + 8) / (1 + 1) = 4.5x the reference step (a penalty step is about two plain steps: a
double backward), the example about 1x: a bound of 2x separates them with margins of about 2x
on both sides, wide enough for this shared machine (at load 5-7, 7-round medians of
``user/plain`` for the example ranged 1.9-3.2x, hence the plain bound of 5x).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytest_benchmark")

pytest_plugins = ["pytester"]

EXAMPLES = Path(__file__).resolve().parents[1] / "bench" / "examples_bench.py"

USER_SUITE = f'''
import torch
from gp_spec.benchmark import assert_cost

torch.set_num_threads(1)
SLOW = "{EXAMPLES}:slow_wgan_gp"


def test_example_within_5x_plain(benchmark):
    assert_cost(benchmark, "gp_spec.examples.penalties:wgan_gp", "wgan-gp", max_ratio=5.0,
                critic="mlp", batch=64, iters=7)
    assert benchmark.extra_info["conformance"] == "PASS"
    assert set(benchmark.extra_info) >= {{"user/plain", "reference/plain", "user/reference"}}


def test_example_within_2x_reference(benchmark):
    assert_cost(benchmark, "gp_spec.examples.penalties:wgan_gp", "wgan-gp", max_ratio=2.0,
                against="reference", critic="mlp", batch=64, iters=7)


def test_slow_within_2x_reference(benchmark):
    assert_cost(benchmark, SLOW, "wgan-gp", max_ratio=2.0, against="reference", critic="mlp",
                batch=64, iters=7)


def test_buggy_within_100x(benchmark):
    assert_cost(benchmark, "gp_spec.examples.penalties:buggy_wgan_gp", "wgan-gp",
                max_ratio=100.0, critic="mlp", batch=64, iters=3)
'''


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user_bench=USER_SUITE)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", *args, timeout=600)


def test_too_slow_penalty_fails_its_ratio(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "--benchmark-disable-gc")
    result.assert_outcomes(passed=2, failed=2)
    text = result.stdout.str()
    assert "slow_wgan_gp: user/reference = " in text and "but should be <= 2x" in text, text
    assert "buggy_wgan_gp: conformance FAIL: " in text, "wrong is never a win, at any ratio"
    assert "test_example_within_5x_plain" in text, "pytest-benchmark's table times the step"


def test_benchmark_disable_runs_once_and_asserts_no_ratio(pytester: pytest.Pytester) -> None:
    # --benchmark-disable: run the benchmarks as tests, time nothing; conformance still holds
    result = _run(pytester, "--benchmark-disable")
    result.assert_outcomes(passed=3, failed=1)
    text = result.stdout.str()
    assert "but should be <=" not in text, "no ratio is asserted without timing"
    assert "buggy_wgan_gp: conformance FAIL: " in text

