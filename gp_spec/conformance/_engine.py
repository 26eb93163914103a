"""The engine: run the catalogue for one implementation, safely, and collect a Report."""

from __future__ import annotations

import fnmatch
import hashlib
import math
import platform
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import gp_spec
from gp_spec.conformance._catalogue import Check, checks_for, statistical_rate
from gp_spec.conformance._context import (
    CheckContext,
    CheckFailed,
    CheckSkipped,
    ImplementationError,
    Outcome,
    global_state,
    restore_state,
    rng_sandbox,
)
from gp_spec.conformance._report import CheckResult, Report, Status
from gp_spec.conformance.adapters import adapt
from gp_spec.errors import CheckSelectionError, DeviceUnavailableError, InvalidWeightError
from gp_spec.specs import Spec, get_spec

__all__ = ["DEFAULT_TIMEOUT", "PlannedCheck", "check", "plan", "describe_impl"]

DEFAULT_TIMEOUT = 60.0
"""Seconds one check may take before the implementation is declared hanging."""


class CheckTimeout(Exception):
    """Raised inside a check that ran past its time limit."""


@dataclass(frozen=True)
class PlannedCheck:
    """One check bound to an implementation: what both front doors (API, pytest) run."""

    id: str
    check: Check
    context: CheckContext
    expected_failure: str | None
    timeout: float

    def run(self) -> CheckResult:
        """Run the check under its guards; never raises for anything the implementation does."""
        return _run_guarded(self)


def describe_impl(impl: Any) -> str:
    """``module:qualname`` of an implementation (or its repr)."""
    mod = getattr(impl, "__module__", None)
    name = getattr(impl, "__qualname__", None) or getattr(impl, "__name__", None)
    if mod and name:
        return f"{mod}:{name}"
    return type(impl).__name__ if not callable(impl) else repr(impl)[:60]


def _device(device: str | torch.device) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise DeviceUnavailableError(f"device={device!r} is not a torch device: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError(f"device={device!r}, but CUDA is not available here")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise DeviceUnavailableError(
            f"device={device!r}, but only {torch.cuda.device_count()} CUDA device(s) exist"
        )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceUnavailableError(f"device={device!r}, but MPS is not available here")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise DeviceUnavailableError(f"device={device!r}: only cpu, cuda and mps are supported")
    return dev


def _weight(weight: float | None, spec: Spec) -> float:
    if weight is None:
        return spec.default_weight
    try:
        w = float(weight)
    except (TypeError, ValueError):
        raise InvalidWeightError(f"weight={weight!r}, but should be a number") from None
    if math.isnan(w) or math.isinf(w) or w < 0:
        raise InvalidWeightError(f"weight={weight!r}, but should be a finite number >= 0")
    return w


def _select(available: Sequence[tuple[str, Check]], patterns: Iterable[str] | None
            ) -> list[tuple[str, Check]]:
    if patterns is None:
        return list(available)
    pats = list(patterns)
    chosen = [
        (cid, c) for cid, c in available
        if any(fnmatch.fnmatchcase(cid, p) or fnmatch.fnmatchcase(c.clause, p) for p in pats)
    ]
    if not chosen:
        raise CheckSelectionError(
            f"checks={pats!r} match no check; available: {', '.join(i for i, _ in available)}"
        )
    return chosen


def _expected(available: Sequence[tuple[str, Check]], expected: Mapping[str, str] | None
              ) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, reason in (expected or {}).items():
        hits = [cid for cid, c in available if key in (cid, c.clause)]
        if not hits:
            warnings.warn(
                f"expected_failed_checks: {key!r} matches no check of this spec", UserWarning,
                stacklevel=3,
            )
        for cid in hits:
            out[cid] = reason
    return out


def plan(
    impl: Any,
    spec: str | Spec,
    *,
    weight: float | None = None,
    device: str | torch.device = "cpu",
    seed: int = 0,
    checks: Iterable[str] | None = None,
    expected_failed_checks: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    adapter: str | None = None,
    label: str | None = None,
) -> list[PlannedCheck]:
    """Resolve and validate everything, and return the checks to run (nothing runs yet)."""
    sp = get_spec(spec)
    w = _weight(weight, sp)
    dev = _device(device)
    fn = adapt(impl, adapter)
    name = label or describe_impl(impl)
    available = [(c.id_for(sp), c) for c in checks_for(sp)]
    chosen = _select(available, checks)
    xfail = _expected(available, expected_failed_checks)
    if not (timeout > 0):
        raise ValueError(f"timeout={timeout!r}, but should be > 0 seconds")
    return [
        PlannedCheck(cid, c, CheckContext(fn, name, sp, w, dev, int(seed), cid),
                     xfail.get(cid), float(timeout))
        for cid, c in chosen
    ]


def check(
    impl: Any,
    spec: str | Spec,
    *,
    weight: float | None = None,
    device: str | torch.device = "cpu",
    seed: int = 0,
    checks: Iterable[str] | None = None,
    expected_failed_checks: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    adapter: str | None = None,
    label: str | None = None,
) -> Report:
    """Check an implementation of a penalty against its spec.

    Args:
      impl: the implementation; canonical signature ``fn(critic, real, fake) -> 0-dim
        tensor`` with its weight baked in (other conventions through ``adapter``).
      spec: a name in ``gp_spec.SPECS`` (e.g. ``"wgan-gp"``) or a ``Spec``.
      weight: the weight the implementation uses; None means ``spec.default_weight``.
      device: where the checks' tensors live (``"cpu"``, ``"cuda"``, ...).
      seed: every random input derives from it; the same seed gives the same verdict.
      checks: ids, clauses or glob patterns to run (default: every applicable check).
      expected_failed_checks: ``{id or clause: reason}``; such failures do not fail the
        report (a warning is issued for keys that match no check).
      timeout: seconds per check before the implementation counts as hanging.
      adapter: see :mod:`gp_spec.conformance.adapters`.
      label: the name used in messages (default ``module:qualname`` of ``impl``).

    Returns:
      A :class:`Report`; ``report.passed`` is the verdict.

    Raises:
      gp_spec.errors.UnknownSpecError, InvalidWeightError, DeviceUnavailableError,
      AdapterError, NotCallableError, CheckSelectionError: bad arguments (never for
      anything the implementation does while checked: that becomes a result).
    """
    planned = plan(
        impl, spec, weight=weight, device=device, seed=seed, checks=checks,
        expected_failed_checks=expected_failed_checks, timeout=timeout, adapter=adapter,
        label=label,
    )
    results = tuple(p.run() for p in planned)
    ctx = planned[0].context
    return Report(
        implementation=ctx.label, spec=ctx.spec.name, weight=ctx.weight,
        device=str(ctx.device), seed=ctx.seed, results=results, versions=versions(),
    )


def versions() -> dict[str, str]:
    """Library versions recorded in every report."""
    return {
        "gp_spec": gp_spec.__version__, "torch": torch.__version__,
        "numpy": np.__version__, "python": platform.python_version(),
    }


def _repro(p: PlannedCheck) -> str:
    ctx = p.context
    return (
        f"gp_spec.conformance.check({ctx.label.split(':')[-1]}, {ctx.spec.name!r}, "
        f"weight={ctx.weight:g}, device={str(ctx.device)!r}, seed={ctx.seed}, "
        f"checks=[{p.id!r}])"
    )


def _check_seed(p: PlannedCheck) -> int:
    digest = hashlib.sha256(f"{p.context.seed}|{p.id}|global".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def _run_guarded(p: PlannedCheck) -> CheckResult:
    state = global_state()
    start = time.perf_counter()
    p_value: float | None = None
    status: Status
    try:
        with rng_sandbox(_check_seed(p), p.context.device):
            outcome = _with_timeout(lambda: p.check.run(p.context), p.timeout)
        status, message, p_value = "pass", outcome.message, outcome.p_value
    except CheckFailed as exc:
        status, message, p_value = "fail", str(exc), exc.p_value
    except CheckSkipped as exc:
        status, message = "skip", str(exc)
    except ImplementationError as exc:
        status, message = "error", f"{p.context.label}: {exc}"
    except CheckTimeout:
        status, message = "error", (
            f"{p.context.label}: no result after {p.timeout:g} s (timeout): the implementation "
            "hangs or is far too slow"
        )
    except Exception as exc:  # anything else the implementation provoked inside the check
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        status, message = "error", f"{p.context.label}: {type(exc).__name__}: {text}"
    finally:
        restore_state(state)
    rate = statistical_rate(p.context.spec) if p.check.statistical else None
    return CheckResult(
        id=p.id, status=status, message=message, citation=p.check.citation, p_value=p_value,
        threshold=rate, repro=_repro(p), expected_failure=p.expected_failure,
        seconds=time.perf_counter() - start,
    )


def _with_timeout(fn: Callable[[], Outcome], timeout: float) -> Outcome:
    """Run ``fn`` with a time limit: SIGALRM in the main thread, a watcher thread elsewhere."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        def on_alarm(signum: int, frame: object) -> None:
            raise CheckTimeout

        old_handler = signal.signal(signal.SIGALRM, on_alarm)
        old_timer = signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            return fn()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
            if old_timer[0] > 0:  # re-arm an outer timer (e.g. pytest-timeout)
                signal.setitimer(signal.ITIMER_REAL, old_timer[0], old_timer[1])
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["out"] = fn()
        except BaseException as exc:
            box["exc"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise CheckTimeout
    if "exc" in box:
        raise box["exc"]
    out: Outcome = box["out"]
    return out
