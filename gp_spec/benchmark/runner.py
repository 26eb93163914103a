"""One benchmark case (critic, batch, precision): check the exact variants, then time every
variant side by side (:mod:`gp_spec.benchmark.timing`).

A training step is ``zero_grad; loss = variant(critic, real, fake); loss.backward();
Adam.step()``. Each variant trains its own copy of one initial critic with its own Adam
(lr 1e-4, betas (0, 0.9) as in Gulrajani et al.) and its own seeded generator, on the same
fixed real and fake batches, so the variants differ only in how the loss is computed. Every
step's loss is kept (detached) and checked finite after each round, outside the timing.

Precision (:class:`Case`): ``float32``; ``bfloat16`` (critic parameters and data in bf16, the
penalty sees bf16 tensors); or ``bfloat16`` with ``amp`` (float32 parameters and data, the
critic's forward under ``torch.autocast`` returning float32 scores, :class:`AutocastCritic`;
``autograd.grad`` and ``backward`` run outside autocast, as the PyTorch AMP notes recommend, so
input gradients are float32). bf16 needs no loss scaling. float16 would need a GradScaler and,
for a gradient penalty, the AMP notes' recipe (grad of the scaled output, unscaled before the
norm); this module does not time float16.
"""

from __future__ import annotations

import contextlib
import copy
import math
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gp_spec.benchmark import memory, timing
from gp_spec.benchmark.agreement import (
    Agreement,
    agreement_of,
    check_agreement,
    outcome_of,
    tolerance,
    widened,
)
from gp_spec.benchmark.critics import CriticSpec, event_shape_of, resolve_critic
from gp_spec.benchmark.timing import Summary
from gp_spec.benchmark.variants import LossFn, Variant
from gp_spec.errors import first_line

__all__ = [
    "DTYPES",
    "AutocastCritic",
    "Case",
    "CaseResult",
    "NonFiniteLoss",
    "Settings",
    "Trainer",
    "VariantResult",
    "make_trainer",
    "run_case",
]

DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "bfloat16": torch.bfloat16}
"""Compute dtypes of ``--dtype``."""

SPEEDUPS: tuple[tuple[str, str], ...] = (("peer", "reference"), ("peer", "fused"))
"""Per-round time ratios ``a / b`` of ``gp-spec bench variants`` (> 1: ``b`` is faster)."""


@dataclass(frozen=True)
class Case:
    """One cell of the benchmark matrix.

    Attributes:
      critic: a name in :data:`~gp_spec.benchmark.critics.CRITICS` or the user's ``MODULE:ATTR``.
      batch: samples per batch.
      dtype: ``"float32"`` or ``"bfloat16"``.
      amp: with ``bfloat16``: float32 parameters, forward under ``torch.autocast``.
      event_shape: the shape of one sample (None: the critic's own).
    """

    critic: str
    batch: int
    dtype: str = "float32"
    amp: bool = False
    event_shape: tuple[int, ...] | None = None

    @property
    def precision(self) -> str:
        """``"float32"``, ``"bfloat16"`` or ``"bfloat16 autocast"``."""
        return f"{self.dtype} autocast" if self.amp and self.dtype != "float32" else self.dtype


@dataclass(frozen=True)
class Settings:
    """How a case is measured.

    Attributes:
      device: ``"cpu"`` or ``"cuda"`` (``"cuda:1"``...).
      iters: timed rounds (one sample of every variant per round).
      warmup: untimed rounds first.
      max_seconds: stop timing a case after this much wall time (at least 3 rounds).
      seed: seeds the critic, the data and every generator.
      lr: Adam's learning rate.
      steps: training steps per sample (None: :func:`~gp_spec.benchmark.timing.calibrate`).
      min_sample_ms: calibrated samples last at least this (None: 5 ms on CUDA, 1 ms on CPU).
      min_steps: calibrated samples cover at least this many steps (None: 4 on CUDA, 1 on CPU).
      max_steps: calibrated samples cover at most this many steps.
    """

    device: str = "cpu"
    iters: int = 20
    warmup: int = 3
    max_seconds: float | None = None
    seed: int = 0
    lr: float = 1e-4
    steps: int | None = None
    min_sample_ms: float | None = None
    min_steps: int | None = None
    max_steps: int = 64


@dataclass(frozen=True)
class VariantResult:
    """One variant in one case.

    Attributes:
      status: ``"timed"`` or ``"not timed: <reason>"``.
      agreement: the check against the reference (None for the reference, plain, lazy, user).
      ms: milliseconds per training step (``ms.samples``: one per round).
      vs_plain: per-round ratio of ``ms`` to plain's.
      peak_mib: peak memory of one step above what was allocated before it (None: n/a).
    """

    name: str
    kind: str
    description: str
    status: str
    agreement: Agreement | None = None
    ms: Summary | None = None
    vs_plain: Summary | None = None
    peak_mib: float | None = None


@dataclass(frozen=True)
class CaseResult:
    """Every variant of one case, the per-round ratios (``"a/b"`` keys) and the steps per
    sample."""

    case: Case
    event_shape: tuple[int, ...]
    variants: tuple[VariantResult, ...]
    ratios: dict[str, Summary | None]
    steps: int = 1

    @property
    def speedups(self) -> dict[str, Summary | None]:
        """The former name of :attr:`ratios`."""
        return self.ratios

    def variant(self, name: str) -> VariantResult:
        """The result of the variant called ``name``."""
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(f"{name!r}: this case has {[v.name for v in self.variants]}")


class NonFiniteLoss(RuntimeError):
    """A step's loss was NaN or infinite."""


class AutocastCritic(nn.Module):
    """Runs ``critic``'s forward under ``torch.autocast(dtype)``; scores come out float32.

    The autocast weight cache is off: each forward is its own autocast region (nothing to
    reuse), and CUDA-graph capture requires it off.
    """

    def __init__(self, critic: nn.Module, device_type: str, dtype: torch.dtype) -> None:
        super().__init__()
        self.critic = critic
        self.device_type = device_type
        self.dtype = dtype

    def forward(self, x: Tensor) -> Tensor:
        """``(N, *event) -> (N,)`` float32."""
        with torch.autocast(self.device_type, dtype=self.dtype, cache_enabled=False):
            scores: Tensor = self.critic(x)
        return scores.float()


class Trainer:
    """One variant's critic, optimizer and generator; :meth:`run` continues its schedule."""

    def __init__(
        self, variant: Variant, critic: nn.Module, real: Tensor, fake: Tensor, *,
        seed: int, lr: float, capturable: bool = False,
    ) -> None:
        self.variant = variant
        self.critic = critic
        self.real, self.fake = real, fake
        self.optimizer = torch.optim.Adam(critic.parameters(), lr=lr, betas=(0.0, 0.9),
                                          capturable=capturable)
        self.generator = torch.Generator(device=real.device).manual_seed(seed)
        self.position = 0
        self.losses: list[Tensor] = []

    def step(self, loss: LossFn) -> None:
        """One critic training step with ``loss``; the loss is kept for :meth:`check_finite`."""
        self.optimizer.zero_grad(set_to_none=True)
        total = loss(self.critic, self.real, self.fake, self.generator).total
        torch.autograd.backward(total)
        self.optimizer.step()
        self.losses.append(total.detach())

    def run(self, steps: int) -> None:
        """``steps`` steps, continuing the variant's schedule where the last call stopped."""
        schedule = self.variant.schedule
        for _ in range(steps):
            self.step(schedule[self.position % len(schedule)])
            self.position += 1

    def check_finite(self) -> None:
        """Raise :class:`NonFiniteLoss` if a loss kept since the last call is not finite."""
        kept, self.losses = self.losses, []
        if kept and not bool(torch.isfinite(torch.stack(kept).float()).all()):
            raise NonFiniteLoss(f"a loss of {self.variant.name} was not finite")

    def peak_memory_mib(self) -> float | None:
        """Peak memory of one schedule pass above what is resident before it (grads freed)."""
        self.optimizer.zero_grad(set_to_none=True)
        mib = memory.peak_memory_mib(lambda: self.run(len(self.variant.schedule)),
                                     self.real.device)
        self.losses.clear()
        return None if mib is None else mib / len(self.variant.schedule)


def _critic_factory(
    template: nn.Module, case: Case, device_type: str
) -> Callable[[], nn.Module]:
    """Fresh copies of ``template`` in the case's precision."""
    dtype = DTYPES[case.dtype]

    def make() -> nn.Module:
        critic = copy.deepcopy(template)
        if dtype == torch.float32:
            return critic
        return AutocastCritic(critic, device_type, dtype) if case.amp else critic.to(dtype)

    return make


def _data(shape: tuple[int, ...], device: torch.device, seed: int) -> tuple[Tensor, Tensor]:
    """Fixed float32 batches: real ``N(0, 1)``, fake ``N(1, 1)``."""
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(shape, generator=g)
    fake = torch.randn(shape, generator=g) + 1.0
    return real.to(device), fake.to(device)


def _check(
    variants: Sequence[Variant], template: nn.Module, case: Case, real: Tensor, fake: Tensor,
    *, seed: int, lr: float,
) -> dict[str, Agreement]:
    """Every exact variant's agreement with the reference (none: no reference is run).

    Below float32 the tolerance is :func:`~gp_spec.benchmark.agreement.widened` by the
    reference's own error against its float32 result.
    """
    exact = [v for v in variants if v.kind == "exact" and v.name != "reference"]
    if not exact:
        return {}
    from gp_spec.benchmark import graphs

    make = _critic_factory(template, case, real.device.type)
    reference = _named(variants, "reference").loss
    data = _cast(case, real, fake)
    expected = outcome_of(reference, make, *data, seed=seed)
    tol = tolerance(DTYPES[case.dtype], real.device)
    if case.dtype != "float32":
        make_f32 = _critic_factory(template, Case(case.critic, case.batch), real.device.type)
        tol = widened(tol, expected, outcome_of(reference, make_f32, real, fake, seed=seed))
    out = {}
    for v in exact:
        if v.graph_loss is not None:
            out[v.name] = agreement_of(
                lambda v=v: graphs.graphed_outcome(v, make, *data, seed=seed, lr=lr),  # type: ignore[misc]
                expected, tol=tol)
        else:
            out[v.name] = check_agreement(v.loss, expected, make, *data, seed=seed, tol=tol)
    return out


def _cast(case: Case, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    """The data in the case's parameter dtype (float32 under autocast)."""
    if case.amp or case.dtype == "float32":
        return real, fake
    dtype = DTYPES[case.dtype]
    return real.to(dtype), fake.to(dtype)


def _named(variants: Sequence[Variant], name: str) -> Variant:
    for v in variants:
        if v.name == name:
            return v
    raise ValueError(f"variants {[v.name for v in variants]}, but should include {name!r}")


def _first_steps(trainers: dict[str, Trainer]) -> dict[str, str]:
    """Run every trainer's schedule once, alone; drop those that raise (out of memory, say)
    or whose loss is not finite. Returns ``{name: "TypeName: message"}`` of the dropped."""
    failed = {}
    for name, trainer in list(trainers.items()):
        try:
            trainer.run(len(trainer.variant.schedule))
            trainer.check_finite()
        except Exception as exc:  # reported, never raised: the other variants are still timed
            failed[name] = f"{type(exc).__name__}: {first_line(exc, 200)}"
            del trainers[name]
            if trainer.real.device.type == "cuda":
                torch.cuda.empty_cache()
    return failed


def _steps(trainers: Mapping[str, Trainer], settings: Settings, timer: timing.Timer,
           device: torch.device) -> int:
    """Settings.steps, or calibrated: a multiple of every schedule's length."""
    multiple = math.lcm(*(len(t.variant.schedule) for t in trainers.values()), 1)
    if settings.steps is not None:
        return multiple * math.ceil(settings.steps / multiple)
    cuda = device.type == "cuda"
    min_steps = settings.min_steps if settings.min_steps is not None else (4 if cuda else 1)
    min_ms = settings.min_sample_ms if settings.min_sample_ms is not None else \
        (5.0 if cuda else 1.0)
    return timing.calibrate({n: t.run for n, t in trainers.items()}, timer, multiple=multiple,
                            min_steps=min_steps, min_ms=min_ms, max_steps=settings.max_steps)


@contextlib.contextmanager
def _on(device: torch.device) -> Iterator[None]:
    """``device`` as the current CUDA device (nothing on the CPU)."""
    if device.type == "cuda":
        with torch.cuda.device(device):
            yield
    else:
        yield


def run_case(
    case: Case,
    variants: Sequence[Variant],
    settings: Settings,
    *,
    critics: Mapping[str, CriticSpec] | None = None,
    ratios: Sequence[tuple[str, str]] = SPEEDUPS,
) -> CaseResult:
    """Check the exact variants against ``reference``, then time every agreeing variant.

    ``variants`` must include ``"plain"``, and ``"reference"`` where there are exact variants.
    Nothing a variant raises escapes: it is reported as ``"not timed: ..."``. ``ratios``
    names the per-round ratios ``a/b`` to report.
    """
    _named(variants, "plain")
    device = torch.device(settings.device)
    spec = resolve_critic(case.critic, dict(critics) if critics is not None else None)
    shape = event_shape_of(spec, case.event_shape)
    if "torch._dynamo" in sys.modules:  # fresh compiled graphs: no recompilation limits
        torch._dynamo.reset()
    with _on(device):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(settings.seed)
            template = spec.make(shape).to(device)
        real, fake = _data((case.batch, *shape), device, settings.seed + 1)
        checks = _check(variants, template, case, real, fake, seed=settings.seed,
                        lr=settings.lr)
        trainers = _trainers(variants, checks, template, case, real, fake, settings)
        failed = {n: f"{why} in its first step" for n, why in _first_steps(trainers).items()}
        timer = timing.make_timer(device)
        steps = _steps(trainers, settings, timer, device) if trainers else 1
        times, dropped = timing.interleaved(
            {name: t.run for name, t in trainers.items()}, steps=steps,
            rounds=settings.iters, warmup=settings.warmup, timer=timer,
            max_seconds=settings.max_seconds, verify=lambda name: trainers[name].check_finite(),
        )
        failed.update({n: f"{why} while timed" for n, why in dropped.items()})
        results = tuple(
            _result(v, checks.get(v.name), trainers.get(v.name), times, failed.get(v.name))
            for v in variants
        )
    table = {
        f"{a}/{b}": timing.ratios(times[a], times[b]) if a in times and b in times else None
        for a, b in ratios
    }
    return CaseResult(case, shape, results, table, steps)


def make_trainer(case: Case, variant: Variant, settings: Settings, *,
                 critics: Mapping[str, CriticSpec] | None = None) -> Trainer:
    """One variant's trainer on the case's critic and data, as :func:`run_case` builds it
    (for timing a variant's step elsewhere, e.g. under pytest-benchmark)."""
    device = torch.device(settings.device)
    spec = resolve_critic(case.critic, dict(critics) if critics is not None else None)
    shape = event_shape_of(spec, case.event_shape)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        template = spec.make(shape).to(device)
    real, fake = _data((case.batch, *shape), device, settings.seed + 1)
    return _trainers([variant], {}, template, case, real, fake, settings)[variant.name]


def _trainers(
    variants: Sequence[Variant], checks: Mapping[str, Agreement], template: nn.Module,
    case: Case, real: Tensor, fake: Tensor, settings: Settings,
) -> dict[str, Trainer]:
    """A trainer for every variant that may be timed (agreeing, or not checked)."""
    from gp_spec.benchmark import graphs

    make = _critic_factory(template, case, real.device.type)
    data = _cast(case, real, fake)
    out: dict[str, Trainer] = {}
    for v in variants:
        if v.name in checks and not checks[v.name].ok:
            continue
        kind = graphs.GraphedTrainer if v.graph_loss is not None else Trainer
        out[v.name] = kind(v, make(), *data, seed=settings.seed, lr=settings.lr)
    return out


def _result(
    variant: Variant, agreement: Agreement | None, trainer: Trainer | None,
    times: Mapping[str, list[float]], failure: str | None,
) -> VariantResult:
    """A timed variant's summaries and peak memory, or why it was not timed."""
    head = (variant.name, variant.kind, variant.description)
    if trainer is None or variant.name not in times:
        reason = (f"raised {failure}" if failure is not None
                  else agreement.message if agreement is not None else "not run")
        return VariantResult(*head, f"not timed: {reason}", agreement)
    plain = times.get("plain")
    vs_plain = timing.ratios(times[variant.name], plain) if plain else None
    return VariantResult(*head, "timed", agreement, Summary.of(times[variant.name]), vs_plain,
                         trainer.peak_memory_mib())
