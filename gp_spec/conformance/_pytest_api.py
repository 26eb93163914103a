"""``parametrize_with_checks``: the catalogue as parametrized tests in a user's test file."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from gp_spec.conformance._engine import DEFAULT_TIMEOUT, PlannedCheck, plan
from gp_spec.conformance._report import CheckResult

__all__ = ["parametrize_with_checks", "outcome_to_pytest"]


def outcome_to_pytest(result: CheckResult) -> None:
    """Turn a result into pytest's language: fail, skip or xfail (pass returns)."""
    import pytest

    if result.status == "pass":
        if result.expected_failure:
            return  # an expected failure that passes is fine (non-strict)
        return
    if result.status == "skip":
        pytest.skip(result.message)
    if result.expected_failure:
        pytest.xfail(f"{result.expected_failure}: {result.message}")
    pytest.fail(f"[{result.status}] {result.message}\nrepro: {result.repro}", pytrace=False)


def _runner(p: PlannedCheck) -> Callable[[], None]:
    def run() -> None:
        outcome_to_pytest(p.run())

    run.__name__ = p.id
    return run


def parametrize_with_checks(
    cases: Iterable[tuple[Any, str] | tuple[Any, str, float | None]],
    *,
    device: str = "cpu",
    seed: int = 0,
    expected_failed_checks: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    adapter: str | None = None,
) -> Any:
    """A ``pytest.mark.parametrize`` over every check of every ``(impl, spec, weight)``.

    Usage::

        from gp_spec.conformance import parametrize_with_checks

        @parametrize_with_checks([(my_penalty, "wgan-gp", 10.0)])
        def test_my_penalty(check):
            check()

    Test ids are the check ids (``wgan-gp.norm.all-event-dims``), so ``-k`` selects them.
    """
    import pytest

    params = []
    for case in cases:
        impl, spec = case[0], case[1]
        weight = case[2] if len(case) > 2 else None
        for p in plan(impl, spec, weight=weight, device=device, seed=seed,
                      expected_failed_checks=expected_failed_checks, timeout=timeout,
                      adapter=adapter):
            params.append(pytest.param(_runner(p), id=p.id))
    return pytest.mark.parametrize("check", params)
