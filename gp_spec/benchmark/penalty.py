"""What does *my* penalty cost? The user's implementation beside the spec's reference and the
plain critic step, timed side by side, with a conformance verdict next to the times.

Three training steps of one critic (:mod:`gp_spec.benchmark.runner`), each with its own copy of
the critic and its own Adam, interleaved in one process (:mod:`gp_spec.benchmark.timing`):

* ``plain``: the Wasserstein critic loss ``E[f(fake)] - E[f(real)]`` and its backward, no
  penalty (the floor; the same critic loss for every spec, since the penalty's cost is the
  question: another GAN loss differs by one elementwise operation on ``N`` scores);
* ``reference``: the same plus ``gp_spec.SPECS[spec].bind(weight)(critic, real, fake)``;
* ``user``: the same plus the user's ``penalty(critic, real, fake)``.

Reported per case: ms per step (min, median, max over rounds, raw samples), the per-round
ratios ``user/plain``, ``reference/plain`` and ``user/reference``, and peak memory. Before any
timing, :func:`gp_spec.conformance.check` gives the user's implementation a verdict, shown
beside every ratio, so that a fast wrong penalty is never reported as a win.

    from gp_spec.benchmark import bench_penalty
    result = bench_penalty("mypkg.losses:gradient_penalty", "wgan-gp", critic="dcgan",
                           batch=(64,))
    print(result.to_markdown()); result.write("bench-out")
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gp_spec._devices import resolve_device
from gp_spec._validation import check_weight
from gp_spec.benchmark.critics import CriticSpec, critic_batches
from gp_spec.benchmark.runner import (
    DTYPES,
    Case,
    CaseResult,
    Settings,
    Trainer,
    make_trainer,
    run_case,
)
from gp_spec.benchmark.timing import Summary
from gp_spec.benchmark.variants import Variant, penalty_loss, plain_loss
from gp_spec.errors import first_line
from gp_spec.specs import Spec, get_spec

__all__ = ["RATIOS", "BenchResult", "Verdict", "bench_penalty", "conformance_kwargs",
           "penalty_variants", "user_trainer"]

RATIOS: tuple[tuple[str, str], ...] = (("user", "plain"), ("reference", "plain"),
                                        ("user", "reference"))
"""The per-round time ratios of every case (``"user/plain"``, ...)."""

CriticLike = str | nn.Module | Callable[[], nn.Module]


@dataclass(frozen=True)
class Verdict:
    """The conformance verdict of the user's implementation.

    Attributes:
      passed: every check passed (or was skipped).
      failed: ids of the checks that failed or errored.
      counts: results per status (pass, fail, error, skip).
      error: why no verdict could be reached (the check itself raised), else None.
    """

    passed: bool
    failed: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def label(self) -> str:
        """``"PASS"``, ``"FAIL: id, id"`` or ``"NO VERDICT: reason"``."""
        if self.error is not None:
            return f"NO VERDICT: {self.error}"
        return "PASS" if self.passed else "FAIL: " + ", ".join(self.failed)


@dataclass(frozen=True)
class BenchResult:
    """Everything :func:`bench_penalty` measured.

    Attributes:
      implementation: the user's implementation as named in reports.
      spec: the spec's name.
      weight: the weight of both penalties.
      verdict: the conformance verdict (None when ``verdict=False`` was asked).
      cases: one :class:`~gp_spec.benchmark.runner.CaseResult` per critic, batch and dtype,
        with variants ``plain``, ``reference`` and ``user`` and the :data:`RATIOS`.
      meta: device, versions, commit, date and settings.
    """

    implementation: str
    spec: str
    weight: float
    verdict: Verdict | None
    cases: tuple[CaseResult, ...]
    meta: dict[str, object]

    def ratio(self, name: str = "user/plain", case: int = 0) -> Summary | None:
        """The per-round ratio ``name`` of case number ``case`` (None: not timed)."""
        return self.cases[case].ratios.get(name)

    def to_dict(self) -> dict[str, Any]:
        """Every number, JSON-ready (raw samples included)."""
        from gp_spec.benchmark import penalty_report

        return penalty_report.to_dict(self)

    def to_markdown(self) -> str:
        """The verdict and one table row per case."""
        from gp_spec.benchmark import penalty_report

        return penalty_report.markdown(self)

    def write(self, directory: str | Path | None = None, *, json: str | Path | None = None,
              markdown: str | Path | None = None, png: str | Path | None = None
              ) -> list[Path]:
        """Write JSON, Markdown and a PNG bar chart; returns the paths written.

        ``directory`` gives all three default names (``<impl>-<spec>-<device>.json`` ...);
        ``json``, ``markdown`` and ``png`` give (or, without ``directory``, select) each path.
        """
        from gp_spec.benchmark import penalty_report

        return penalty_report.write(self, directory, json=json, markdown=markdown, png=png)


def conformance_kwargs(
    *, weight: float, device: torch.device, label: str, adapter: str | None,
    event_shape: Sequence[int] | None, batch: Sequence[int],
) -> dict[str, Any]:
    """THE ONE PLACE where the keyword arguments of :func:`gp_spec.conformance.check` for the
    benchmark's verdict are built.

    ``event_shape`` (``--event-shape``) is forwarded: the verdict judges the domain that was
    timed. ``batch`` is not: the timed batch sizes are a choice of the benchmark, not one the
    implementation hard-codes, and the check varies N (a batch size the code hard-codes is
    read off its errors).
    """
    del batch
    out: dict[str, Any] = {"weight": weight, "device": device, "label": label,
                           "adapter": adapter}
    if event_shape is not None:
        out["event_shape"] = tuple(event_shape)
    return out


def _verdict(impl: Any, spec: Spec, kwargs: dict[str, Any]) -> Verdict:
    """Run the conformance check; a check that cannot run becomes a verdict's ``error``."""
    from gp_spec.conformance import check

    try:
        report = check(impl, spec, **kwargs)
    except Exception as exc:  # bad arguments: report, and still time what can be timed
        return Verdict(False, error=f"{type(exc).__name__}: {first_line(exc, 200)}")
    return Verdict(report.passed, tuple(r.id for r in report.failures), report.counts())


def penalty_variants(user: Callable[..., Any], spec: Spec, weight: float) -> list[Variant]:
    """``plain``, ``reference`` (a fresh ``spec.bind(weight)``) and ``user`` as variants."""
    return [
        Variant("plain", (plain_loss,), kind="floor", description="critic loss only (the floor)"),
        Variant("reference", (penalty_loss(spec.bind(weight), pass_generator=True),),
                kind="exact", description=f"gp_spec.SPECS[{spec.name!r}].bind({weight:g})"),
        Variant("user", (penalty_loss(user),), kind="user",
                description="the user's implementation"),
    ]


def _copies(module: nn.Module) -> Callable[[tuple[int, ...]], nn.Module]:
    return lambda _shape: copy.deepcopy(module)


def _calls(factory: Callable[[], nn.Module]) -> Callable[[tuple[int, ...]], nn.Module]:
    return lambda _shape: factory()


def _critics(critic: CriticLike | Sequence[CriticLike], batches: Sequence[int]
             ) -> list[tuple[str | CriticSpec, list[int]]]:
    """``(critic, batches)`` pairs: names (``"dcgan:64,256"`` carries its own batch sizes),
    ``MODULE:ATTR`` strings, or modules/factories wrapped as CriticSpecs."""
    items = [critic] if isinstance(critic, (str, nn.Module)) or callable(critic) else \
        list(critic)
    out: list[tuple[str | CriticSpec, list[int]]] = []
    for i, c in enumerate(items):
        if isinstance(c, str):
            out.append(critic_batches(c, batches))
        elif isinstance(c, nn.Module):
            out.append((CriticSpec(f"{type(c).__name__}", (), _copies(c),
                                   f"the user's {type(c).__name__}"), list(batches)))
        elif callable(c):
            out.append((CriticSpec(getattr(c, "__name__", f"critic{i}"), (), _calls(c),
                                   "the user's critic"), list(batches)))
        else:
            raise TypeError(f"critic={c!r}, but should be a name, MODULE:ATTR, an nn.Module "
                            "or a function making one")
    return out


def bench_penalty(
    impl: Any,
    spec: str | Spec,
    *,
    weight: float | None = None,
    critic: CriticLike | Sequence[CriticLike] = "dcgan",
    batch: int | Sequence[int] = (64,),
    event_shape: Sequence[int] | None = None,
    dtype: str | Sequence[str] = ("float32",),
    amp: bool = False,
    device: str | torch.device = "cpu",
    adapter: str | None = None,
    label: str | None = None,
    iters: int = 20,
    warmup: int = 3,
    steps: int | None = None,
    max_seconds: float | None = None,
    seed: int = 0,
    verdict: bool = True,
    progress: bool = False,
) -> BenchResult:
    """Time one critic training step plain, with the spec's reference and with ``impl``.

    Args:
      impl: the user's penalty ``fn(critic, real, fake) -> 0-dim tensor`` (weight baked in),
        another convention through ``adapter``, or ``"MODULE:ATTR"`` / ``"file.py:ATTR"``.
      spec: a name in ``gp_spec.SPECS`` (paired and max-gradient specs included).
      weight: the weight ``impl`` uses, given to the reference too (None: the spec's).
      critic: ``"mlp"``, ``"dcgan"``, ``"resnet"`` (``"dcgan:64,256"``: with its own batch
        sizes), ``"MODULE:ATTR"``, an ``nn.Module`` or a function making one, or a sequence
        of these (one case per critic and batch size).
      batch: batch size(s). event_shape: one sample's shape (required for your own critic).
      dtype: ``"float32"`` and/or ``"bfloat16"``; ``amp=True`` runs the bf16 cases under
        ``torch.autocast`` with float32 parameters instead of bf16 parameters.
      device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
      adapter, label: as for :func:`gp_spec.conformance.check`.
      iters, warmup, steps, max_seconds, seed: as :class:`~gp_spec.benchmark.runner.Settings`
        (``steps``: training steps per sample, None to calibrate).
      verdict: run the conformance check first (default; False skips it).
      progress: a progress line per case on stderr.

    Returns:
      A :class:`BenchResult`. Nothing the implementation raises escapes: a case where it
      raises or returns a non-finite loss reports ``user`` as ``not timed: <reason>``.

    Raises:
      gp_spec.errors.UnknownSpecError, InvalidWeightError, DeviceUnavailableError,
      ImplementationLoadError, AdapterError, NotCallableError; ValueError for an unknown
      critic or dtype, or a batch or iteration count below 1.
    """
    from gp_spec._progress import Progress
    from gp_spec.benchmark.meta import run_meta

    name, obj, user, sp, w = _prepare(impl, spec, weight, adapter, label)
    dev = resolve_device(device)
    batches = [batch] if isinstance(batch, int) else list(batch)
    dtypes = [dtype] if isinstance(dtype, str) else list(dtype)
    _validate(batches, dtypes, iters, warmup)
    critics = _critics(critic, batches)
    judged = None
    if verdict:
        judged = _verdict(obj, sp, conformance_kwargs(
            weight=w, device=dev, label=name, adapter=adapter, event_shape=event_shape,
            batch=batches))
        if progress:  # the verdict before the timing, which takes longer
            print(f"bench: conformance of {name} against {sp.name}: {judged.label}",
                  file=sys.stderr, flush=True)
    settings = Settings(device=str(dev), iters=iters, warmup=warmup, max_seconds=max_seconds,
                        seed=seed, steps=steps)
    meta = run_meta(dev, iters=iters, warmup=warmup, steps=steps, max_seconds=max_seconds,
                    seed=seed, weight=w)
    meta["device type"] = dev.type
    plan = [(d, c, b) for d in dtypes for c, bs in critics for b in bs]
    results = []
    with Progress(len(plan), "bench", every=0.0, enabled=progress) as bar:
        for d, c, b in plan:
            start = time.perf_counter()
            key = c if isinstance(c, str) else c.name
            case = _case(key, b, d, amp, event_shape)
            result = run_case(case, penalty_variants(user, sp, w), settings,
                              critics=None if isinstance(c, str) else {c.name: c},
                              ratios=RATIOS)
            results.append(result)
            ratio = result.ratios.get("user/plain")
            shown = "not timed" if ratio is None else f"user/plain {ratio.median:.2f}x"
            bar.update(1, f"{key} batch {b} {case.precision}: {shown} "
                          f"({time.perf_counter() - start:.0f} s)")
        bar.close("done")
    return BenchResult(name, sp.name, w, judged, tuple(results), meta)


def _case(critic: str, batch: int, dtype: str, amp: bool,
          event_shape: Sequence[int] | None) -> Case:
    return Case(critic, batch, dtype, amp and dtype != "float32",
                None if event_shape is None else tuple(event_shape))


def _prepare(impl: Any, spec: str | Spec, weight: float | None, adapter: str | None,
             label: str | None) -> tuple[str, Any, Callable[..., Any], Spec, float]:
    """``(label, implementation object, canonical callable, spec, weight)``."""
    from gp_spec.conformance import adapt, load_implementation

    sp = get_spec(spec)
    w = sp.default_weight if weight is None else check_weight(weight)
    name = label if label is not None else impl if isinstance(impl, str) else \
        f"{getattr(impl, '__module__', '?')}:{getattr(impl, '__qualname__', type(impl).__name__)}"
    obj = load_implementation(impl) if isinstance(impl, str) else impl
    return name, obj, adapt(obj, adapter), sp, w


def user_trainer(
    impl: Any, spec: str | Spec, case: Case, settings: Settings, *, weight: float | None = None,
    critic: CriticLike = "mlp", adapter: str | None = None,
) -> Trainer:
    """A trainer of the ``user`` step of :func:`bench_penalty` on ``case`` (for timing it
    elsewhere, e.g. under pytest-benchmark)."""
    _, _, user, sp, w = _prepare(impl, spec, weight, adapter, None)
    ((c, _),) = _critics(critic, [case.batch])
    critics = None if isinstance(c, str) else {c.name: c}
    return make_trainer(case, penalty_variants(user, sp, w)[2], settings, critics=critics)


def _validate(batches: Sequence[int], dtypes: Sequence[str], iters: int, warmup: int) -> None:
    if not batches or min(batches) < 1:
        raise ValueError(f"batch={list(batches)}, but every batch size should be >= 1")
    unknown = [d for d in dtypes if d not in DTYPES]
    if unknown or not dtypes:
        raise ValueError(f"dtype={list(dtypes)}, but should be among {list(DTYPES)}")
    if iters < 1 or warmup < 0:
        raise ValueError(f"iters={iters}, warmup={warmup}, but should be >= 1 and >= 0")
