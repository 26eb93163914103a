"""``parametrize_with_checks``: the catalogue as parametrized tests in a user's test file."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from gp_spec.conformance._engine import Plan, PlannedCheck, Run, plan
from gp_spec.conformance._report import CheckResult

__all__ = ["outcome_to_pytest", "parametrize_with_checks"]


def outcome_to_pytest(result: CheckResult, *, strict: bool = False) -> None:
    """Turn a result into pytest's language: fail, skip or xfail (pass and warn return; a
    warning is shown as a ``UserWarning`` and fails under ``strict``)."""
    import warnings

    import pytest

    if result.status == "pass":
        return
    if result.status == "skip":
        pytest.skip(result.message)
    if result.expected_failure:
        pytest.xfail(f"{result.expected_failure}: {result.message}")
    if result.status == "warn":
        if strict:
            pytest.fail(f"[warn, strict] {result.message}", pytrace=False)
        warnings.warn(f"{result.id}: {result.message}", UserWarning, stacklevel=2)
        return
    pytest.fail(f"[{result.status}] {result.message}\nrepro: {result.repro}", pytrace=False)


def runner(run: Run, p: PlannedCheck, strict: bool) -> Callable[[], None]:
    """A callable that runs one planned check and reports it to pytest."""

    def check() -> None:
        outcome_to_pytest(run.run(p), strict=strict)

    check.__name__ = p.id
    return check


def _name(pl: Plan) -> str:
    """The implementation's short name for test ids (``wgan_gp``)."""
    label = pl.label.rsplit(":", 1)[-1]
    return label.rsplit(".", 1)[-1] or label


def parametrize_with_checks(
    cases: Iterable[tuple[Any, str] | tuple[Any, str, float | None]],
    **options: Any,
) -> Any:
    """A ``pytest.mark.parametrize`` over every check of every ``(impl, spec[, weight])``.

    Usage::

        from gp_spec.conformance import parametrize_with_checks

        @parametrize_with_checks([(my_penalty, "wgan-gp", 10.0)])
        def test_my_penalty(check):
            check()

    ``options`` are those of :func:`gp_spec.conformance.check` (``event_shape``,
    ``batch_size``, ``expected_failed_checks``, ...). Test ids name the implementation and
    the check (``my_penalty:wgan-gp.norm.all-event-dims``), so ``-k`` selects either.
    """
    import pytest

    params = []
    for case in cases:
        impl, spec = case[0], case[1]
        weight = case[2] if len(case) > 2 else None
        pl = plan(impl, spec, weight=weight, **options)
        run = Run(pl)
        for p in pl.checks:
            params.append(pytest.param(runner(run, p, pl.options.strict),
                                       id=f"{_name(pl)}:{p.id}"))
    return pytest.mark.parametrize("check", params)
