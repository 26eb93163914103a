"""Keep "my penalty costs at most K x a plain critic step" as a benchmark in your own suite.

With pytest-benchmark installed, in a benchmark file of your project (run with
``pytest --benchmark-only``, skipped by ``--benchmark-skip``)::

    from gp_spec.benchmark import assert_cost

    def test_gradient_penalty_cost(benchmark):
        assert_cost(benchmark, "mypkg.losses:gradient_penalty", "wgan-gp", max_ratio=2.5,
                    critic="dcgan", batch=64)

:func:`assert_cost` first checks the implementation's conformance (a wrong penalty fails
whatever its speed), then times plain, reference and your penalty interleaved in one process
(:func:`~gp_spec.benchmark.bench_penalty`) and fails when the median per-round ratio
``user/plain`` (or ``user/reference`` with ``against="reference"``) exceeds ``max_ratio``.
The ratios go into ``benchmark.extra_info``; pytest-benchmark's own table times your penalty's
training step alone (for ``--benchmark-compare`` across commits).

Under ``--benchmark-disable`` (run the benchmarks as tests, time nothing) every step runs once
and is checked finite, conformance is still required, and no ratio is asserted: a ratio from
unwarmed single steps would only be noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from gp_spec._devices import resolve_device
from gp_spec.benchmark.penalty import BenchResult, bench_penalty, user_trainer
from gp_spec.benchmark.runner import Settings, Trainer

__all__ = ["assert_cost"]


def assert_cost(
    benchmark: Any,
    impl: Any,
    spec: str,
    *,
    max_ratio: float,
    against: str = "plain",
    weight: float | None = None,
    critic: Any = "mlp",
    batch: int = 64,
    event_shape: Sequence[int] | None = None,
    dtype: str = "float32",
    amp: bool = False,
    device: str = "cpu",
    adapter: str | None = None,
    iters: int = 10,
    warmup: int = 2,
    steps: int | None = None,
    seed: int = 0,
    require_conformance: bool = True,
) -> BenchResult:
    """Assert that ``impl``'s critic step costs at most ``max_ratio`` times ``against``'s.

    Args:
      benchmark: pytest-benchmark's ``benchmark`` fixture (used once, as pytest-benchmark
        requires; with ``benchmark.disabled`` nothing is timed and no ratio asserted).
      impl, spec, weight, critic, batch, event_shape, dtype, amp, device, adapter, iters,
        warmup, steps, seed: as :func:`~gp_spec.benchmark.bench_penalty` (one case).
      max_ratio: the largest median per-round ratio accepted.
      against: ``"plain"`` (the critic step without penalty) or ``"reference"`` (the spec's).
      require_conformance: fail when the conformance verdict is not PASS (default).

    Returns:
      The :class:`~gp_spec.benchmark.penalty.BenchResult` (for further assertions).

    Raises:
      AssertionError: the verdict is not PASS, the penalty could not be timed (it raised or
        its loss was not finite), or the ratio exceeds ``max_ratio``.
      ValueError: ``against`` is neither ``"plain"`` nor ``"reference"``, or ``max_ratio``
        is not > 0.
    """
    if against not in ("plain", "reference"):
        raise ValueError(f"against={against!r}, but should be 'plain' or 'reference'")
    if not max_ratio > 0:
        raise ValueError(f"max_ratio={max_ratio!r}, but should be > 0")
    disabled = bool(getattr(benchmark, "disabled", False))
    result = bench_penalty(
        impl, spec, weight=weight, critic=critic, batch=(batch,), event_shape=event_shape,
        dtype=(dtype,), amp=amp, device=device, adapter=adapter,
        iters=1 if disabled else iters, warmup=0 if disabled else warmup,
        steps=1 if disabled else steps, seed=seed, verdict=require_conformance,
    )
    (case,) = result.cases
    where = (f"[{result.spec}, weight {result.weight:g}, {case.case.critic} batch "
             f"{case.case.batch} {case.case.precision}, {result.meta.get('device')}]")
    verdict = result.verdict
    if require_conformance and verdict is not None and not (verdict.passed and
                                                            verdict.error is None):
        raise AssertionError(f"{result.implementation}: conformance {verdict.label} {where}; "
                             "a penalty that fails its spec has no cost target")
    user = case.variant("user")
    if user.ms is None:
        raise AssertionError(f"{result.implementation}: {user.status} {where}")
    key = f"user/{against}"
    ratio = case.ratios.get(key)
    benchmark.extra_info.update({
        k: None if s is None else round(s.median, 4) for k, s in case.ratios.items()})
    benchmark.extra_info["conformance"] = "not checked" if verdict is None else verdict.label
    settings = Settings(device=str(resolve_device(device)), seed=seed)
    trainer = user_trainer(impl, spec, case.case, settings,
                           weight=weight, critic=critic, adapter=adapter)
    _time_step(benchmark, trainer, rounds=1 if disabled else iters)
    if disabled:
        return result
    if ratio is None:
        raise AssertionError(f"{result.implementation}: {key} could not be measured {where}")
    if ratio.median > max_ratio:
        raise AssertionError(
            f"{result.implementation}: {key} = {ratio.median:.2f}x (min {ratio.min:.2f}, max "
            f"{ratio.max:.2f} over {ratio.n} interleaved rounds), but should be <= "
            f"{max_ratio:g}x {where}"
        )
    return result


def _time_step(benchmark: Any, trainer: Trainer, *, rounds: int) -> None:
    """Give pytest-benchmark one training step to time per iteration (synchronised on CUDA)."""
    device = trainer.real.device

    def step() -> None:
        trainer.run(1)
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    benchmark.pedantic(step, rounds=rounds, iterations=1, warmup_rounds=1)
