"""One benchmark case (critic, batch, dtype): check every variant, then time them side by side.

A training step is ``zero_grad; loss = variant(critic, real, fake); loss.backward();
Adam.step()``. Each variant trains its own copy of one initial critic with its own Adam
(lr 1e-4, betas (0, 0.9) as in Gulrajani et al.) and its own seeded generator, on the same
fixed real and fake batches, so the variants differ only in how the loss is computed.

Under ``dtype=bfloat16`` the critic's forward runs in ``torch.autocast`` and returns float32
scores (:class:`AutocastCritic`); ``autograd.grad`` and ``backward`` run outside autocast, as
the PyTorch AMP notes recommend, so input gradients are float32 (the input's dtype) and every
norm is taken in float32. bf16 needs no loss scaling. For float16 a GradScaler is needed and,
for a gradient penalty, the AMP notes' recipe: take ``autograd.grad`` of the *scaled* output
(``scaler.scale(out)``), multiply the returned gradients by ``1 / scaler.get_scale()`` before
the norm, add the penalty to the loss inside autocast, then ``scaler.scale(loss).backward()``,
``scaler.step(opt)``, ``scaler.update()``; this module does not time float16.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gp_spec.benchmark import timing
from gp_spec.benchmark.agreement import (
    Agreement,
    check_agreement,
    outcome_of,
    tolerance,
    widened,
)
from gp_spec.benchmark.critics import CRITICS, CriticSpec
from gp_spec.benchmark.timing import Summary
from gp_spec.benchmark.variants import LossFn, Variant

__all__ = [
    "DTYPES",
    "AutocastCritic",
    "Case",
    "CaseResult",
    "Settings",
    "Trainer",
    "VariantResult",
    "run_case",
]

DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "bfloat16": torch.bfloat16}
"""Compute dtypes of ``--dtype``: float32, or bfloat16 autocast over float32 parameters."""

SPEEDUPS: tuple[tuple[str, str], ...] = (("peer", "reference"), ("peer", "fused"))
"""Per-round time ratios ``a / b`` reported for every case (> 1: ``b`` is faster)."""


@dataclass(frozen=True)
class Case:
    """One cell of the benchmark matrix."""

    critic: str
    batch: int
    dtype: str = "float32"


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
    """

    device: str = "cpu"
    iters: int = 20
    warmup: int = 3
    max_seconds: float | None = None
    seed: int = 0
    lr: float = 1e-4


@dataclass(frozen=True)
class VariantResult:
    """One variant in one case.

    Attributes:
      status: ``"timed"`` or ``"not timed: <reason>"``.
      agreement: the check against the reference (None for the reference, plain, lazy).
      ms: milliseconds per training step (a lazy cycle's time over its length).
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
    """Every variant of one case, and the speed-ups of :data:`SPEEDUPS` (``"a/b"`` keys)."""

    case: Case
    event_shape: tuple[int, ...]
    variants: tuple[VariantResult, ...]
    speedups: dict[str, Summary | None]


class AutocastCritic(nn.Module):
    """Runs ``critic``'s forward under ``torch.autocast(dtype)``; scores come out float32."""

    def __init__(self, critic: nn.Module, device_type: str, dtype: torch.dtype) -> None:
        super().__init__()
        self.critic = critic
        self.device_type = device_type
        self.dtype = dtype

    def forward(self, x: Tensor) -> Tensor:
        """``(N, *event) -> (N,)`` float32."""
        with torch.autocast(self.device_type, dtype=self.dtype):
            scores: Tensor = self.critic(x)
        return scores.float()


class Trainer:
    """One variant's critic, optimizer and generator; :meth:`cycle` runs its schedule once."""

    def __init__(
        self, variant: Variant, critic: nn.Module, real: Tensor, fake: Tensor, *,
        seed: int, lr: float,
    ) -> None:
        self.variant = variant
        self.critic = critic
        self.real, self.fake = real, fake
        self.optimizer = torch.optim.Adam(critic.parameters(), lr=lr, betas=(0.0, 0.9))
        self.generator = torch.Generator(device=real.device).manual_seed(seed)

    def step(self, loss: LossFn) -> None:
        """One critic training step with ``loss``."""
        self.optimizer.zero_grad(set_to_none=True)
        torch.autograd.backward(loss(self.critic, self.real, self.fake, self.generator).total)
        self.optimizer.step()

    def cycle(self) -> None:
        """One pass over the variant's schedule (one step for all but lazy variants)."""
        for loss in self.variant.schedule:
            self.step(loss)

    def peak_memory_mib(self) -> float | None:
        """Peak memory of one :meth:`cycle` above what is resident before it (grads freed)."""
        self.optimizer.zero_grad(set_to_none=True)
        return timing.peak_memory_mib(self.cycle, self.real.device)


def _critic_factory(
    template: nn.Module, dtype: torch.dtype, device_type: str
) -> Callable[[], nn.Module]:
    """Fresh copies of ``template``, wrapped in :class:`AutocastCritic` below float32."""

    def make() -> nn.Module:
        critic = copy.deepcopy(template)
        return critic if dtype == torch.float32 else AutocastCritic(critic, device_type, dtype)

    return make


def _data(shape: tuple[int, ...], device: torch.device, seed: int) -> tuple[Tensor, Tensor]:
    """Fixed float32 batches: real ``N(0, 1)``, fake ``N(1, 1)``."""
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(shape, generator=g)
    fake = torch.randn(shape, generator=g) + 1.0
    return real.to(device), fake.to(device)


def _check(
    variants: Sequence[Variant], template: nn.Module, dtype: torch.dtype, real: Tensor,
    fake: Tensor, *, seed: int,
) -> tuple[Callable[[], nn.Module], dict[str, Agreement]]:
    """The case's critic factory, and every exact variant's agreement with the reference.

    Below float32 the tolerance is :func:`~gp_spec.benchmark.agreement.widened` by the
    reference's own error against its float32 result.
    """
    make = _critic_factory(template, dtype, real.device.type)
    reference = _named(variants, "reference").loss
    expected = outcome_of(reference, make, real, fake, seed=seed)
    tol = tolerance(dtype, real.device)
    if dtype != torch.float32:
        make_f32 = _critic_factory(template, torch.float32, real.device.type)
        tol = widened(tol, expected, outcome_of(reference, make_f32, real, fake, seed=seed))
    return make, {
        v.name: check_agreement(v.loss, expected, make, real, fake, seed=seed, tol=tol)
        for v in variants if v.kind == "exact" and v.name != "reference"
    }


def _named(variants: Sequence[Variant], name: str) -> Variant:
    for v in variants:
        if v.name == name:
            return v
    raise ValueError(f"variants {[v.name for v in variants]}, but should include {name!r}")


def _first_cycles(trainers: dict[str, Trainer]) -> dict[str, str]:
    """Run every trainer's schedule once, alone; drop those that raise (out of memory, say).

    Returns ``{name: "TypeName: message"}`` of the dropped trainers.
    """
    failed = {}
    for name, trainer in list(trainers.items()):
        try:
            trainer.cycle()
        except Exception as exc:  # reported, never raised: the other variants are still timed
            failed[name] = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"
            del trainers[name]
            if trainer.real.device.type == "cuda":
                torch.cuda.empty_cache()
    return failed


def _per_step(times: Mapping[str, list[float]], trainers: Mapping[str, Trainer]
              ) -> dict[str, list[float]]:
    """Milliseconds per training step: a sample covers one pass over a variant's schedule."""
    return {n: [t / len(trainers[n].variant.schedule) for t in ts] for n, ts in times.items()}


def run_case(
    case: Case,
    variants: Sequence[Variant],
    settings: Settings,
    *,
    critics: Mapping[str, CriticSpec] = CRITICS,
) -> CaseResult:
    """Check the exact variants against ``reference``, then time every agreeing variant.

    ``variants`` must include ``"reference"`` and ``"plain"``. Nothing a variant raises
    escapes: it is reported as ``"not timed: ..."``.
    """
    _named(variants, "plain")
    device = torch.device(settings.device)
    spec = critics[case.critic]
    torch._dynamo.reset()  # fresh compiled graphs: no recompilation limits, static shapes
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        template = spec.make().to(device)
    real, fake = _data((case.batch, *spec.event_shape), device, settings.seed + 1)
    make_critic, checks = _check(
        variants, template, DTYPES[case.dtype], real, fake, seed=settings.seed
    )
    trainers = {
        v.name: Trainer(v, make_critic(), real, fake, seed=settings.seed, lr=settings.lr)
        for v in variants if v.name not in checks or checks[v.name].ok
    }
    failed = _first_cycles(trainers)
    times = _per_step(timing.interleaved(
        {name: t.cycle for name, t in trainers.items()},
        rounds=settings.iters, warmup=settings.warmup, timer=timing.make_timer(device),
        max_seconds=settings.max_seconds,
    ), trainers)
    results = tuple(
        _result(v, checks.get(v.name), trainers.get(v.name), times, failed.get(v.name))
        for v in variants
    )
    speedups = {
        f"{a}/{b}": timing.ratios(times[a], times[b]) if a in times and b in times else None
        for a, b in SPEEDUPS
    }
    return CaseResult(case, spec.event_shape, results, speedups)


def _result(
    variant: Variant, agreement: Agreement | None, trainer: Trainer | None,
    times: Mapping[str, list[float]], failure: str | None,
) -> VariantResult:
    """A timed variant's summaries and peak memory, or why it was not timed."""
    head = (variant.name, variant.kind, variant.description)
    if trainer is None:
        reason = (f"raised {failure} in its first step" if failure is not None
                  else agreement.message if agreement is not None else "not run")
        return VariantResult(*head, f"not timed: {reason}", agreement)
    plain = times.get("plain")
    vs_plain = timing.ratios(times[variant.name], plain) if plain else None
    return VariantResult(*head, "timed", agreement, Summary.of(times[variant.name]), vs_plain,
                         trainer.peak_memory_mib())
