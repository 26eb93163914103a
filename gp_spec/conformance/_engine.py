"""The engine: plan a conformance run (options, calling convention, input domain, checks),
run each check in the sandbox, and collect a Report.

Planning validates everything and infers the calling convention before anything runs, then
detects the input domain by probing the implementation (sandboxed); running a check happens
in :class:`Run`, which holds the one piece of state the checks of a run share (whether one
of them hung).
"""

from __future__ import annotations

import fnmatch
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import gp_spec
from gp_spec import measures
from gp_spec._seeding import derive_seed
from gp_spec.conformance._context import (
    CheckContext,
    CheckFailed,
    CheckSkipped,
    Domain,
    ImplementationError,
)
from gp_spec.conformance._diagnosis import diagnose
from gp_spec.conformance._domain import DomainSearch, detect_domain, make_probe
from gp_spec.conformance._options import DEFAULT_TIMEOUT, ExpectedFailureWarning, Options
from gp_spec.conformance._report import CheckResult, Report, Status
from gp_spec.conformance._sandbox import (
    CheckTimeout,
    RunState,
    global_state,
    restore_state,
    restore_streams,
    rng_sandbox,
    warm_up,
    with_timeout,
)
from gp_spec.conformance.adapters import Caller, adapt
from gp_spec.conformance.checks import Check, checks_for, statistical_rate
from gp_spec.conformance.checks._registry import clause_applies
from gp_spec.errors import AdapterError, CheckSelectionError, first_line
from gp_spec.specs import Spec

__all__ = [
    "DEFAULT_TIMEOUT",
    "Plan",
    "PlannedCheck",
    "Run",
    "check",
    "describe_impl",
    "plan",
    "versions",
]

_LIBRARY_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__))


@dataclass(frozen=True)
class PlannedCheck:
    """One check bound to an implementation: what every front door runs.

    ``context`` is None when no input domain runs (the check then reports that cause).
    """

    id: str
    check: Check
    context: CheckContext | None
    expected_failure: str | None
    timeout: float
    repro: str


@dataclass(frozen=True)
class Plan:
    """Everything resolved before the checks run."""

    options: Options
    label: str
    caller: Caller
    search: DomainSearch
    checks: tuple[PlannedCheck, ...]
    state: RunState = field(default_factory=RunState, compare=False, repr=False)

    @property
    def domain(self) -> Domain | None:
        return self.search.domain

    def domain_text(self) -> str:
        d = self.search.domain
        if d is None:
            return "none runs (see the causes)"
        return f"{d.describe()}; {d.how}"

    def run(self, on_result: Callable[[CheckResult], None] | None = None) -> Report:
        """Run every planned check (``on_result`` sees each result as it finishes)."""
        runner = Run(self)
        results = []
        for p in self.checks:
            r = runner.run(p)
            results.append(r)
            if on_result is not None:
                on_result(r)
        return self.report(tuple(results))

    def report(self, results: tuple[CheckResult, ...]) -> Report:
        opts = self.options
        return Report(
            implementation=self.label, spec=opts.spec.name, weight=opts.weight,
            device=str(opts.device), seed=opts.seed, results=results, versions=versions(),
            domain=self.domain_text(), convention=self.caller.convention.describe(),
            causes=diagnose(results, opts.weight), clauses=_clauses(results, opts.spec),
            strict=opts.strict,
        )


def _clauses(results: tuple[CheckResult, ...], spec: Spec) -> dict[str, str]:
    """Each clause of ``spec`` the run's checks can establish -> how it was established."""
    out: dict[str, str] = {}
    for r in results:
        for key in r.establishes:
            if not clause_applies(key, spec):
                continue
            now = out.get(key, "not established")
            if r.status in ("pass", "warn"):
                now = "direct" if r.observes == "direct" or now == "direct" else "values"
            elif r.expected_failure is not None and now == "not established":
                now = "waived"
            out[key] = now
    return out


class Run:
    """Runs planned checks under their guards; never raises for anything the
    implementation does (``KeyboardInterrupt`` excepted)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def run(self, p: PlannedCheck) -> CheckResult:
        start = time.perf_counter()
        state = self.plan.state
        if p.context is None:
            search = self.plan.search
            if state.hung_in is not None:
                return self._result(p, "error", (
                    f"{self.plan.label}: not run: the implementation hung while gp-spec probed "
                    f"its input domain (no result after {state.timeout:g} s (timeout)): it "
                    "hangs or is far too slow"), None, start, cause="hang")
            return self._result(p, "error", f"{self.plan.label}: no input domain runs: "
                                + search.reasons(), None, start, cause="domain")
        if state.hung_in is not None:
            return self._result(p, "error", (
                f"{p.context.label}: not run, because the implementation hung in "
                f"{state.hung_in} (no result after {state.timeout:g} s); run the checks one "
                "at a time with checks=[...]"), None, start, cause="hang")
        warm_up(p.context.device)  # not part of the check's time, nor of its time limit
        start = time.perf_counter()
        outer, streams = global_state(), (sys.stdout, sys.stderr)
        try:
            # A canonical environment whatever the caller's: check() called under
            # torch.no_grad() or inference_mode() must still see the penalty's graph.
            with torch.inference_mode(False), torch.enable_grad():
                if p.context.device.type == "cpu":
                    torch.set_num_threads(1)  # the checks' tensors are small: no OpenMP
                inner = global_state()
                try:
                    status, message, p_value, extra = self._attempt(p)
                finally:
                    after = global_state()
                    restore_state(inner)
        finally:
            restore_state(outer)  # also when KeyboardInterrupt propagates
            restore_streams(*streams)
        if status in ("error", "fail"):
            changed = [f"{k}: {inner[k]!r} -> {after[k]!r}" for k in inner if inner[k] != after[k]]
            if changed:  # often the cause of the error (e.g. grad mode switched off)
                message += (" (the implementation also changed global state: "
                            f"{', '.join(changed)})")
        return self._result(p, status, message, p_value, start, **extra)

    def _attempt(self, p: PlannedCheck) -> tuple[Status, str, float | None, dict[str, Any]]:
        """Run one check in its RNG sandbox under its time limit; classify how it ended."""
        ctx = p.context
        assert ctx is not None
        state = self.plan.state
        state.alarm_fired = False
        try:
            with rng_sandbox(derive_seed(ctx.seed, p.id, "global"), ctx.device):
                outcome = with_timeout(lambda: p.check.run(ctx), p.timeout, state)
            return outcome.status, outcome.message, outcome.p_value, {}
        except CheckFailed as exc:
            return "fail", first_line(exc, 2000), exc.p_value, {"cause": exc.cause,
                                                                 "ratio": exc.ratio}
        except CheckSkipped as exc:
            return "skip", first_line(exc, 2000), None, {}
        except ImplementationError as exc:
            return "error", f"{ctx.label}: {first_line(exc, 2000)}", None, {"cause": exc.cause}
        except CheckTimeout:
            state.hung_in, state.timeout = p.id, p.timeout
            return "error", (
                f"{ctx.label}: no result after {p.timeout:g} s (timeout): the implementation "
                "hangs or is far too slow"), None, {"cause": "hang"}
        except (Exception, SystemExit) as exc:
            if _from_torch(exc):  # autograd rejected the implementation's result
                return "error", (
                    f"{ctx.label}: its result could not be differentiated by the check: "
                    f"{type(exc).__name__}: {first_line(exc)} (did it call backward() "
                    "itself, or detach part of the graph?)"), None, {"cause": "backward"}
            return "error", (
                f"gp-spec internal error in {p.id} (not the implementation's fault; please "
                f"report it): {type(exc).__name__}: {first_line(exc)}"
            ), None, {"cause": "engine", "engine_error": True}

    def _result(self, p: PlannedCheck, status: Status, message: str, p_value: float | None,
                start: float, *, cause: str | None = None, ratio: float | None = None,
                engine_error: bool = False) -> CheckResult:
        spec = self.plan.options.spec
        rate = statistical_rate(spec) if p.check.statistical else None
        return CheckResult(
            id=p.id, status=status, message=message, citation=p.check.citation,
            p_value=p_value, threshold=rate, repro=p.repro,
            expected_failure=p.expected_failure, seconds=time.perf_counter() - start,
            cause=cause, establishes=p.check.establishes, observes=p.check.observes,
            engine_error=engine_error, ratio=ratio,
        )


def _from_torch(exc: BaseException) -> bool:
    """Whether the innermost frame of ``exc`` is inside torch (autograd on a result the
    implementation built), not in gp-spec's own code."""
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return last is not None and os.path.abspath(last).startswith(_TORCH_DIR) \
        and isinstance(exc, RuntimeError)


def describe_impl(impl: Any) -> str:
    """``module:qualname`` of an implementation (or its repr)."""
    mod = getattr(impl, "__module__", None)
    name = getattr(impl, "__qualname__", None) or getattr(impl, "__name__", None)
    if isinstance(mod, str) and isinstance(name, str):
        return f"{mod}:{name}"
    return type(impl).__name__ if not callable(impl) else repr(impl)[:60]


def _needs(spec: Spec) -> frozenset[str]:
    if spec.family == "gradient":
        m = spec.measure
        if isinstance(m, (measures.Real, measures.Dragan, measures.Perturbed)) and not (
                isinstance(m, measures.Perturbed) and m.fake_too):
            return frozenset({"real"})
        if isinstance(m, (measures.Fake, measures.Anchor)):
            return frozenset({"fake"})
    return frozenset({"real", "fake"})


def _select(available: list[tuple[str, Check]], patterns: tuple[str, ...] | None
            ) -> list[tuple[str, Check]]:
    if patterns is None:
        return available
    chosen = [(cid, c) for cid, c in available
              if any(fnmatch.fnmatchcase(cid, p) or fnmatch.fnmatchcase(c.clause, p)
                     for p in patterns)]
    if not chosen:
        raise CheckSelectionError(
            f"checks={list(patterns)!r} match no check; available: "
            f"{', '.join(i for i, _ in available)}"
        )
    return chosen


def _expected(available: list[tuple[str, Check]], expected: Mapping[str, str]
              ) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, reason in expected.items():
        hits = [cid for cid, c in available if key in (cid, c.clause)]
        if not hits:
            warnings.warn(ExpectedFailureWarning(
                f"expected_failed_checks: {key!r} matches no check of this spec"),
                stacklevel=4)
        for cid in hits:
            out[cid] = reason
    return out


def plan(impl: Any, spec: str | Spec, **options: Any) -> Plan:
    """Resolve and validate everything, infer the calling convention, detect the input
    domain (the only calls of the implementation here), and return the checks to run.

    Takes the keywords of :func:`check`; raises the same typed errors.
    """
    opts = Options.make(spec, **options)
    return plan_options(impl, opts)


def plan_options(impl: Any, opts: Options) -> Plan:
    """:func:`plan` from validated :class:`Options` (the front doors' shared path)."""
    sp = opts.spec
    pred_on = "fake" if isinstance(sp.measure, measures.Fake) else "real"
    caller = adapt(impl, opts.adapter, needs=_needs(sp), weight=opts.weight, pred_on=pred_on,
                   labels=opts.num_classes is not None, halved=sp.halved_constant)
    conv = caller.convention
    if "pred" in conv.roles and _needs(sp) == frozenset({"real", "fake"}):
        raise AdapterError(
            f"the convention {conv.describe()} passes the critic's output on one batch, "
            f"which fits specs evaluated on real or fake samples (r1, r2, sgp-real, "
            f"sgp-fake), not {sp.name!r}"
        )
    label = describe_impl(impl) if opts.label is None else opts.label
    available = [(c.id_for(sp), c) for c in checks_for(sp)]
    if not available:
        raise CheckSelectionError(f"spec {sp.name!r} has no applicable checks")
    chosen = _select(available, opts.checks)
    xfail = _expected(available, opts.expected_failed_checks)
    num_classes = opts.num_classes or (10 if conv.uses_labels else None)
    state = RunState()
    base = CheckContext(caller, label, sp, opts.weight, opts.device, opts.seed, "",
                        Domain(opts.event_shape or (3,)), num_classes=num_classes,
                        state=state)
    search = _detect(base, opts)
    planned = tuple(
        PlannedCheck(
            cid, c,
            None if search.domain is None else CheckContext(
                caller, label, sp, opts.weight, opts.device, opts.seed, cid, search.domain,
                num_classes=num_classes, state=state),
            xfail.get(cid), opts.timeout, _repro(impl, label, opts, cid))
        for cid, c in chosen
    )
    return Plan(opts, label, caller, search, planned, state)


def _detect(base: CheckContext, opts: Options) -> DomainSearch:
    """Domain detection, sandboxed like a check (RNGs, global state, streams, time limit)."""
    warm_up(opts.device)
    outer, streams = global_state(), (sys.stdout, sys.stderr)
    probe = make_probe(base)
    try:
        with torch.inference_mode(False), torch.enable_grad(), \
                rng_sandbox(derive_seed(opts.seed, "domain"), opts.device):
            return with_timeout(lambda: detect_domain(
                probe, event_shape=opts.event_shape, batch_size=opts.batch_size,
                critic_output=opts.critic_output), opts.timeout, base.state)
    except CheckTimeout:
        base.state.hung_in, base.state.timeout = "the domain probes", opts.timeout
        return DomainSearch(None, (("the first candidate", f"no result after "
                                    f"{opts.timeout:g} s (timeout)"),))
    finally:
        restore_state(outer)
        restore_streams(*streams)


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
    event_shape: Iterable[int] | str | None = None,
    batch_size: int | None = None,
    critic_output: str = "auto",
    strict: bool = False,
    num_classes: int | None = None,
) -> Report:
    """Check an implementation of a penalty against its spec.

    Args:
      impl: the implementation: ``fn(critic, real, fake) -> 0-dim tensor`` with its weight
        baked in, or any convention the adapters know (inferred from the signature).
      spec: a name in ``gp_spec.SPECS`` (e.g. ``"wgan-gp"``) or a ``Spec``.
      weight: the weight the implementation uses; None means ``spec.default_weight``.
      device: where the checks' tensors live (``"cpu"``, ``"cuda"``, ...).
      seed: every random input derives from it; the same seed gives the same verdict.
      checks: ids, clauses or glob patterns to run (default: every applicable check).
      expected_failed_checks: ``{id or clause: reason}``; such failures do not fail the
        report (an ``ExpectedFailureWarning`` is issued for keys that match no check).
      timeout: seconds per check before the implementation counts as hanging
        (``math.inf``: no limit).
      adapter: the calling convention (:mod:`gp_spec.conformance.adapters`); None infers it
        from the signature.
      label: the name used in messages (default ``module:qualname`` of ``impl``).
      event_shape: the input domain's event shape, e.g. ``(3, 32, 32)``; None detects it.
      batch_size: a batch size the implementation hard-codes; None lets checks vary N.
      critic_output: ``"auto"``, ``"n"`` (the critic returns ``(N,)``) or ``"n1"``.
      strict: warnings fail the report.
      num_classes: conditional critics ``D(x, y)``: labels drawn from ``range(num_classes)``.

    Returns:
      A :class:`Report`; ``report.passed`` is the verdict.

    Raises:
      gp_spec.errors.UnknownSpecError, InvalidWeightError, DeviceUnavailableError,
      AdapterError (a signature that fits no convention, naming the adapter that might),
      NotCallableError, CheckSelectionError, InvalidArgumentError: bad arguments, never
      for anything the implementation does while checked (that becomes a result).
      KeyboardInterrupt: propagated after the global state and RNGs are restored.
    """
    return plan(
        impl, spec, weight=weight, device=device, seed=seed, checks=checks,
        expected_failed_checks=expected_failed_checks, timeout=timeout, adapter=adapter,
        label=label, event_shape=event_shape, batch_size=batch_size,
        critic_output=critic_output, strict=strict, num_classes=num_classes,
    ).run()


def versions() -> dict[str, str]:
    """Library versions recorded in every report."""
    return {
        "gp_spec": gp_spec.__version__, "torch": torch.__version__,
        "numpy": np.__version__, "python": platform.python_version(),
    }


def _repro(impl: Any, label: str, opts: Options, cid: str) -> str:
    """A runnable line that re-runs one check (with the import of the implementation)."""
    target = label if ":" in label and _loadable(label) else _target(impl)
    if target is None:
        load = "impl = <your implementation>; "
    elif target.split(":", 1)[0].endswith(".py") or "/" in target:
        load = f"impl = load_implementation({target!r}); "
    else:
        mod, attr = target.split(":", 1)
        load = f"from {mod} import {attr.split('.')[0]}; impl = {attr}; "
    kw = [f"weight={opts.weight:g}", f"seed={opts.seed}", f"checks=[{cid!r}]"]
    if str(opts.device) != "cpu":
        kw.append(f"device={str(opts.device)!r}")
    if opts.adapter:
        kw.append(f"adapter={opts.adapter!r}")
    if opts.event_shape is not None:  # a detected domain is detected again the same way
        kw.append(f"event_shape={opts.event_shape!r}")
    if opts.batch_size is not None:
        kw.append(f"batch_size={opts.batch_size}")
    if opts.critic_output != "auto":
        kw.append(f"critic_output={opts.critic_output!r}")
    if opts.num_classes:
        kw.append(f"num_classes={opts.num_classes}")
    return ("python -c \"from gp_spec.conformance import check, load_implementation; "
            f"{load}print(check(impl, {opts.spec.name!r}, {', '.join(kw)}).to_text())\"")


def _loadable(label: str) -> bool:
    mod = label.split(":", 1)[0]
    return bool(mod) and (mod.endswith(".py") or mod.replace(".", "").replace("_", "")
                          .isalnum())


def _target(impl: Any) -> str | None:
    mod = getattr(impl, "__module__", None)
    name = getattr(impl, "__qualname__", None)
    if not isinstance(mod, str) or not isinstance(name, str) or "<" in name:
        return None
    if mod == "__main__" or mod.startswith("_gp_spec_impl_"):
        return None
    return f"{mod}:{name}"

