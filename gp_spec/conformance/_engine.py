"""The engine: run the catalogue for one implementation, safely, and collect a Report."""

from __future__ import annotations

import fnmatch
import hashlib
import math
import platform
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import gp_spec
from gp_spec.conformance._catalogue import Check, checks_for, statistical_rate
from gp_spec.conformance._context import (
    CheckContext,
    CheckFailed,
    CheckSkipped,
    CheckTimeout,
    ImplementationError,
    Outcome,
    global_state,
    restore_state,
    rng_sandbox,
)
from gp_spec.conformance._context import _text as _exc_text
from gp_spec.conformance._report import CheckResult, Report, Status
from gp_spec.conformance.adapters import adapt
from gp_spec.errors import (
    AdapterError,
    CheckSelectionError,
    DeviceUnavailableError,
    InvalidArgumentError,
    InvalidWeightError,
)
from gp_spec.specs import Spec, get_spec

__all__ = ["DEFAULT_TIMEOUT", "CheckTimeout", "PlannedCheck", "check", "plan", "describe_impl"]

DEFAULT_TIMEOUT = 60.0
"""Seconds one check may take before the implementation is declared hanging."""

_REFIRE = 1.0
"""Seconds between repeated alarms once a check is over its time (an implementation that
swallows the first ``CheckTimeout`` with a bare ``except:`` gets another one)."""


_IMPORT_GRACE = 30.0
"""Seconds past the limit for which an alarm that lands during an ``import`` is deferred (an
interrupted import leaves a half-initialised module in ``sys.modules`` that breaks every
later check in the process)."""

_WARM: set[str] = set()


def _warm_up(device: torch.device) -> None:
    """Once per process and device, outside any time limit: torch's lazy imports and device
    initialisation. The first ``torch.autograd.grad`` imports sympy (~0.5 s) and the first
    CUDA tensor creates the context (seconds); neither should count against the implementation
    nor be interrupted by a timeout.
    """
    key = str(device)
    if key in _WARM:
        return
    _WARM.add(key)
    try:
        with torch.inference_mode(False), torch.enable_grad():
            x = torch.linspace(-1.0, 1.0, 6, device=device).reshape(2, 3).requires_grad_(True)
            y = x.square().sum(1)
            (g,) = torch.autograd.grad(y, x, grad_outputs=torch.ones_like(y), create_graph=True)
            g.flatten(1).norm(dim=1).sum().backward()
    except Exception:  # a broken device shows up in the checks themselves, as errors
        pass


class _Hang:
    """Shared by the checks of one plan: the first check that timed out, if any.

    After a timeout the remaining checks of the plan are not run (each would wait for the
    full timeout again; in a non-main thread the runaway call is still running and would
    race with them): they are reported as errors naming the check that hung.
    """

    def __init__(self) -> None:
        self.check_id: str | None = None
        self.timeout = 0.0


@dataclass(frozen=True)
class PlannedCheck:
    """One check bound to an implementation: what both front doors (API, pytest) run."""

    id: str
    check: Check
    context: CheckContext
    expected_failure: str | None
    timeout: float
    hang: _Hang = field(default_factory=_Hang, compare=False, repr=False)

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


def _select(available: Sequence[tuple[str, Check]], patterns: Iterable[str] | str | None
            ) -> list[tuple[str, Check]]:
    if patterns is None:
        return list(available)
    pats = [patterns] if isinstance(patterns, str) else list(patterns)
    bad = [p for p in pats if not isinstance(p, str)]
    if bad:
        raise CheckSelectionError(
            f"checks={pats!r}: {bad[0]!r} is not a str; give check ids, clauses or glob patterns"
        )
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
    if expected is None:
        return {}
    if not isinstance(expected, Mapping):
        raise CheckSelectionError(
            f"expected_failed_checks={expected!r}, but should be a mapping "
            "{check id or clause: reason}"
        )
    out: dict[str, str] = {}
    for key, reason in expected.items():
        if not isinstance(key, str) or not isinstance(reason, str) or not reason.strip():
            raise CheckSelectionError(
                f"expected_failed_checks entry {key!r}: {reason!r}, but should map a check id "
                "or clause (str) to a non-empty reason (str)"
            )
        hits = [cid for cid, c in available if key in (cid, c.clause)]
        if not hits:
            warnings.warn(
                f"expected_failed_checks: {key!r} matches no check of this spec", UserWarning,
                stacklevel=4,
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
    """Resolve and validate everything, and return the checks to run (nothing runs yet).

    Raises the same typed errors as :func:`check`.
    """
    sp = get_spec(spec)
    w = _weight(weight, sp)
    dev = _device(device)
    if adapter is not None and not isinstance(adapter, str):
        raise AdapterError(f"adapter={adapter!r}, but should be an adapter name (a str) or None")
    if adapter is not None and adapter.startswith("method:") and not adapter[7:].strip():
        raise AdapterError(f"adapter={adapter!r}: the method name is empty; use method:NAME")
    fn = adapt(impl, adapter)
    name = describe_impl(impl) if label is None else str(label)
    available = [(c.id_for(sp), c) for c in checks_for(sp)]
    if not available:
        raise CheckSelectionError(f"spec {sp.name!r} has no applicable checks")
    chosen = _select(available, checks)
    xfail = _expected(available, expected_failed_checks)
    limit = _timeout(timeout)
    s = _seed(seed)
    hang = _Hang()
    return [
        PlannedCheck(cid, c, CheckContext(fn, name, sp, w, dev, s, cid),
                     xfail.get(cid), limit, hang)
        for cid, c in chosen
    ]


def _timeout(timeout: float) -> float:
    """Seconds > 0; ``math.inf`` means no time limit."""
    try:
        t = float(timeout)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"timeout={timeout!r}, but should be a number of seconds > 0"
        ) from None
    if not t > 0:  # also rejects NaN
        raise InvalidArgumentError(
            f"timeout={timeout!r}, but should be > 0 seconds (math.inf: no limit)"
        )
    return t


def _seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InvalidArgumentError(f"seed={seed!r}, but should be an int")
    return int(seed)


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
      timeout: seconds per check before the implementation counts as hanging
        (``math.inf``: no limit). After a timeout the plan's remaining checks are not run
        and are reported as errors. See ``docs/errors.md`` for what a timeout can and cannot
        interrupt.
      adapter: see :mod:`gp_spec.conformance.adapters`.
      label: the name used in messages (default ``module:qualname`` of ``impl``).

    Returns:
      A :class:`Report`; ``report.passed`` is the verdict.

    Raises:
      gp_spec.errors.UnknownSpecError, InvalidWeightError, DeviceUnavailableError,
      AdapterError, NotCallableError, CheckSelectionError: bad arguments (never for
      anything the implementation does while checked: that becomes a result, a call of
      ``sys.exit()`` included); InvalidArgumentError (a ``ValueError`` and ``TypeError``)
      for a timeout that is not > 0 or a seed that is not an int.
      KeyboardInterrupt: propagated (Ctrl-C stops the run), after the global state and
      RNGs have been restored.
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
    _warm_up(p.context.device)  # not part of the check's time, nor of its time limit
    start = time.perf_counter()
    label = p.context.label
    if p.hang.check_id is not None:
        message = (
            f"{label}: not run, because the implementation hung in {p.hang.check_id} (no "
            f"result after {p.hang.timeout:g} s); run the checks one at a time with checks=[...]"
        )
        return _result(p, "error", message, None, start)
    outer, streams = global_state(), (sys.stdout, sys.stderr)
    try:
        # A canonical environment whatever the caller's: check() called under
        # torch.no_grad() or inference_mode() must still see the penalty's graph.
        with torch.inference_mode(False), torch.enable_grad():
            inner = global_state()
            try:
                status, message, p_value = _attempt(p)
            finally:
                after = global_state()
                restore_state(inner)
    finally:
        restore_state(outer)  # also when KeyboardInterrupt propagates
        _restore_streams(*streams)
    if status in ("error", "fail"):
        changed = [f"{k}: {inner[k]!r} -> {after[k]!r}" for k in inner if inner[k] != after[k]]
        if changed:  # often the cause of the error (e.g. grad mode switched off)
            message += f" (the implementation also changed global state: {', '.join(changed)})"
    return _result(p, status, message, p_value, start)


def _restore_streams(stdout: Any, stderr: Any) -> None:
    """Put back ``sys.stdout`` / ``sys.stderr`` if the implementation replaced them (the
    silencer of a call abandoned in a watcher thread stays: it forwards other threads)."""
    if sys.stdout is not stdout and getattr(sys.stdout, "target", None) is not stdout:
        sys.stdout = stdout
    if sys.stderr is not stderr:
        sys.stderr = stderr


def _attempt(p: PlannedCheck) -> tuple[Status, str, float | None]:
    """Run one check in its RNG sandbox under its time limit; classify how it ended."""
    label = p.context.label
    try:
        with rng_sandbox(_check_seed(p), p.context.device):
            outcome = _with_timeout(lambda: p.check.run(p.context), p.timeout)
        return "pass", outcome.message, outcome.p_value
    except CheckFailed as exc:
        return "fail", _exc_text(exc, 2000), exc.p_value
    except CheckSkipped as exc:
        return "skip", _exc_text(exc, 2000), None
    except ImplementationError as exc:
        return "error", f"{label}: {_exc_text(exc, 2000)}", None
    except CheckTimeout:
        p.hang.check_id, p.hang.timeout = p.id, p.timeout
        return "error", (
            f"{label}: no result after {p.timeout:g} s (timeout): the implementation hangs or "
            "is far too slow"
        ), None
    except (Exception, SystemExit) as exc:  # anything else the implementation provoked
        text = _exc_text(exc)
        return "error", (
            f"{label}: {type(exc).__name__} while checking its result"
            + (f": {text}" if text else "")
        ), None


def _result(p: PlannedCheck, status: Status, message: str, p_value: float | None,
            start: float) -> CheckResult:
    rate = statistical_rate(p.context.spec) if p.check.statistical else None
    return CheckResult(
        id=p.id, status=status, message=message, citation=p.check.citation, p_value=p_value,
        threshold=rate, repro=_repro(p), expected_failure=p.expected_failure,
        seconds=time.perf_counter() - start,
    )


def _with_timeout(fn: Callable[[], Outcome], timeout: float) -> Outcome:
    """Run ``fn`` with a time limit: SIGALRM in the main thread, a watcher thread elsewhere.

    Main thread: ``CheckTimeout`` is raised inside ``fn`` when the time is up (Python checks
    signals between bytecodes, so a long C call is interrupted only when it returns), and
    again every ``_REFIRE`` s in case the implementation swallows it; a check that swallowed
    it and finished late still counts as timed out. Other threads: ``fn`` runs in a daemon
    thread that is abandoned, still running, when the time is up (Python cannot stop a
    thread). ``timeout = inf`` runs ``fn`` directly.
    """
    if math.isinf(timeout):
        return fn()
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        return _with_alarm(fn, timeout)
    return _with_watcher(fn, timeout)


def _with_alarm(fn: Callable[[], Outcome], timeout: float) -> Outcome:
    flags = {"active": True, "fired": False}
    base = sys._getframe()
    refire = min(_REFIRE, timeout)
    give_up = time.monotonic() + timeout + _IMPORT_GRACE

    def on_alarm(signum: int, frame: Any) -> None:
        if not flags["active"]:  # fn has returned (the alarm may race with the return)
            return
        if _importing(frame, base) and time.monotonic() < give_up:
            signal.setitimer(signal.ITIMER_REAL, 0.02, refire)  # retry once it is done
            return
        flags["fired"] = True
        raise CheckTimeout

    try:
        old_handler = signal.signal(signal.SIGALRM, on_alarm)
    except ValueError:  # not the main interpreter: signals are not ours to use
        return _with_watcher(fn, timeout)
    started = time.monotonic()
    old_timer = signal.setitimer(signal.ITIMER_REAL, timeout, refire)
    try:
        out = fn()
        swallowed = flags["fired"]  # the implementation caught CheckTimeout and went on
    finally:
        _disarm(flags)
        signal.signal(signal.SIGALRM, old_handler)
        if old_timer[0] > 0:  # re-arm an outer timer (e.g. pytest-timeout) with its remainder
            left = old_timer[0] - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3), old_timer[1])
    if swallowed:
        raise CheckTimeout
    return out


def _importing(frame: Any, base: Any) -> bool:
    """Whether a frame between ``frame`` (innermost) and ``base`` belongs to importlib."""
    while frame is not None and frame is not base:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _disarm(flags: dict[str, bool]) -> None:
    """Stop the alarm; an alarm that lands while doing so is absorbed, never propagated."""
    while True:
        try:
            flags["active"] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            return
        except CheckTimeout:
            continue


def _with_watcher(fn: Callable[[], Outcome], timeout: float) -> Outcome:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["out"] = fn()
        except BaseException as exc:
            box["exc"] = exc

    worker = threading.Thread(target=target, daemon=True, name="gp-spec-check")
    worker.start()
    worker.join(timeout)
    if worker.is_alive():  # abandoned: it keeps running until the implementation returns
        raise CheckTimeout
    if "exc" in box:
        raise box["exc"]
    out: Outcome = box["out"]
    return out
