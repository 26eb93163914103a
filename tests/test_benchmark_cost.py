"""``gp_spec.benchmark.assert_cost`` under pytest-benchmark, as a user's suite runs it.

Each test writes a user's benchmark file and runs pytest on it in a subprocess (``pytester``),
with pytest-benchmark enabled or with ``--benchmark-disable``. The slow penalty
(``bench/examples_bench.py:slow_wgan_gp``, four WGAN-GP estimates averaged) costs about
1 + 4 x (penalty / plain - 1), i.e. 4-5x plain on the 003 MLP, against about 2x for the
example: a bound of 3x separates them with margins of 1.5x on both sides.
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


def test_example_within_3x(benchmark):
    result = assert_cost(benchmark, "gp_spec.examples.penalties:wgan_gp", "wgan-gp",
                         max_ratio=3.0, critic="mlp", batch=64, iters=7)
    assert benchmark.extra_info["conformance"] == "PASS"
    assert set(benchmark.extra_info) >= {{"user/plain", "reference/plain", "user/reference"}}


def test_slow_within_3x(benchmark):
    assert_cost(benchmark, SLOW, "wgan-gp", max_ratio=3.0, critic="mlp", batch=64, iters=7)


def test_buggy_within_100x(benchmark):
    assert_cost(benchmark, "gp_spec.examples.penalties:buggy_wgan_gp", "wgan-gp",
                max_ratio=100.0, critic="mlp", batch=64, iters=3)
'''


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user_bench=USER_SUITE)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", *args, timeout=600)


def test_too_slow_penalty_fails_its_ratio(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "--benchmark-disable-gc")
    result.assert_outcomes(passed=1, failed=2)
    text = result.stdout.str()
    assert "slow_wgan_gp: user/plain = " in text and "but should be <= 3x" in text, text
    assert "buggy_wgan_gp: conformance FAIL: " in text, "wrong is never a win, at any ratio"
    assert "test_example_within_3x" in text, "pytest-benchmark's table times the user's step"


def test_benchmark_disable_runs_once_and_asserts_no_ratio(pytester: pytest.Pytester) -> None:
    # --benchmark-disable: run the benchmarks as tests, time nothing; conformance still holds
    result = _run(pytester, "--benchmark-disable")
    result.assert_outcomes(passed=2, failed=1)
    text = result.stdout.str()
    assert "but should be <=" not in text, "no ratio is asserted without timing"
    assert "buggy_wgan_gp: conformance FAIL: " in text

