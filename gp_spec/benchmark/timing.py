"""Timing and memory: device timers, interleaved rounds, robust summaries, peak memory.

On CUDA a sample is timed with CUDA events recorded around it (device time, read after one
synchronisation per round); on the CPU with ``time.perf_counter`` (CPU work is synchronous).
Variants are interleaved: every round times each variant once, in an order rotated by one
each round, so slow drift (clocks, thermals, other load) falls on all variants alike and
per-round ratios cancel it.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

__all__ = [
    "CpuTimer",
    "CudaTimer",
    "Summary",
    "Timer",
    "interleaved",
    "make_timer",
    "peak_memory_mib",
    "ratios",
]

Thunk = Callable[[], object]


@dataclass(frozen=True)
class Summary:
    """Median and interquartile range of ``n`` samples (milliseconds or ratios)."""

    median: float
    q1: float
    q3: float
    n: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        """Summary of at least one sample (quartiles by the inclusive method)."""
        if not samples:
            raise ValueError("Summary.of: no samples")
        xs = sorted(samples)
        if len(xs) == 1:
            return cls(xs[0], xs[0], xs[0], 1)
        q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive")
        return cls(statistics.median(xs), q1, q3, len(xs))


class Timer(Protocol):
    """Times a thunk; the returned reader gives milliseconds once :meth:`synchronize` ran."""

    def time(self, fn: Thunk) -> Callable[[], float]: ...

    def synchronize(self) -> None: ...


class CpuTimer:
    """Wall-clock timing with ``time.perf_counter`` (no synchronisation needed on the CPU)."""

    def time(self, fn: Thunk) -> Callable[[], float]:
        """Run ``fn`` and return a reader of its duration in ms."""
        start = time.perf_counter()
        fn()
        elapsed = (time.perf_counter() - start) * 1e3
        return lambda: elapsed

    def synchronize(self) -> None:
        """Nothing to wait for."""


class CudaTimer:
    """CUDA events around the thunk on the current stream (device time between them)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def time(self, fn: Thunk) -> Callable[[], float]:
        """Enqueue ``fn`` between two events; the reader is valid after :meth:`synchronize`."""
        start = torch.Event(self.device, enable_timing=True)
        end = torch.Event(self.device, enable_timing=True)
        start.record()
        fn()
        end.record()
        return lambda: float(start.elapsed_time(end))

    def synchronize(self) -> None:
        """Wait for every queued kernel of the device."""
        torch.cuda.synchronize(self.device)


def make_timer(device: torch.device) -> Timer:
    """:class:`CudaTimer` on a CUDA device, :class:`CpuTimer` otherwise."""
    return CudaTimer(device) if device.type == "cuda" else CpuTimer()


MIN_ROUNDS = 3
"""Rounds :func:`interleaved` always times, whatever its time budget."""


def interleaved(
    samplers: Mapping[str, Thunk], *, rounds: int, warmup: int, timer: Timer,
    max_seconds: float | None = None,
) -> dict[str, list[float]]:
    """Milliseconds of up to ``rounds`` samples of each sampler, interleaved.

    ``warmup`` untimed rounds run first. Round ``r`` runs the samplers in their order rotated
    by ``r``; the timer synchronises once per round, after its last sampler. With
    ``max_seconds``, no round starts once that much wall time has passed since the first
    timed round, after at least :data:`MIN_ROUNDS` rounds.
    """
    names = list(samplers)
    for _ in range(warmup):
        for name in names:
            samplers[name]()
    timer.synchronize()
    times: dict[str, list[float]] = {name: [] for name in names}
    start = time.perf_counter()
    for r in range(rounds):
        if max_seconds is not None and r >= MIN_ROUNDS and (
            time.perf_counter() - start > max_seconds
        ):
            break
        k = r % len(names) if names else 0
        pending = [(name, timer.time(samplers[name])) for name in names[k:] + names[:k]]
        timer.synchronize()
        for name, read in pending:
            times[name].append(read())
    return times


def ratios(numerator: Sequence[float], denominator: Sequence[float]) -> Summary:
    """Summary of per-round ratios ``numerator[r] / denominator[r]`` (paired by round)."""
    return Summary.of([a / b for a, b in zip(numerator, denominator, strict=True)])


def peak_memory_mib(fn: Thunk, device: torch.device) -> float | None:
    """Peak memory allocated while ``fn`` runs, above what was allocated before, in MiB.

    CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``. CPU: the
    running sum of the allocations and frees the profiler records (``profile_memory=True``).
    None where neither is available.
    """
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        fn()
        torch.cuda.synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - base) / 2**20
    if device.type == "cpu":
        return _cpu_peak_mib(fn)
    return None


def _cpu_peak_mib(fn: Thunk) -> float | None:
    """Peak of the profiler's CPU allocation curve during ``fn`` (None if unavailable)."""
    from torch.profiler import ProfilerActivity, profile

    try:
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            fn()
        events = prof.profiler.kineto_results.events()
        deltas = [
            int(e.nbytes()) for e in sorted(events, key=lambda e: e.start_ns())
            if e.name() == "[memory]" and e.device_type().name == "CPU"
        ]
    except (AttributeError, RuntimeError):  # a profiler without kineto memory events
        return None
    peak = max(itertools.accumulate(deltas, initial=0))
    return peak / 2**20
