"""Timing: samples of several steps after a barrier, variants interleaved, robust summaries.

The method (the same on every device; only the clock differs):

1. **A sample is ``steps`` consecutive training steps of one variant**, the same ``steps`` for
   every variant and a multiple of every variant's schedule length (a lazy cycle of 4 is
   never cut), chosen by :func:`calibrate` so that a sample lasts at least ``min_ms`` and
   covers at least ``min_steps`` steps: per-sample overheads are amortised alike for every
   variant, and on a GPU the host's launches of step ``i + 1`` overlap the device's work on
   step ``i`` as in training.
2. **A barrier before every sample** (``torch.cuda.synchronize``): the sample starts with an
   empty queue, so its start event executes when the host records it and the end event when
   the device finishes the sample's last kernel. The interval is the step's real cost, bounded
   below by the host's launch time where the GPU waits on the host, and by the device's time
   where it does not. Without the barrier a sample queued behind another variant's unfinished
   kernels starts late and excludes host time the host spent while the device was busy: its
   time then depends on its neighbour's work (see ``bench/README.md``).
3. **Interleaved rounds**: every round takes one sample of each variant, in an order rotated
   by one each round, so slow drift (clocks, thermals, other load) falls on all variants alike
   and per-round ratios cancel it. Warm-up rounds, of the same structure, come first.

CUDA: ``torch.cuda.Event`` pairs, read after one synchronisation at the end of the round.
CPU: ``time.perf_counter`` (CPU work is synchronous; the barrier is a no-op).
"""

from __future__ import annotations

import functools
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import torch

from gp_spec.benchmark.memory import peak_memory_mib  # its former home; kept importable
from gp_spec.errors import first_line

__all__ = [
    "MIN_ROUNDS",
    "CpuTimer",
    "CudaTimer",
    "Summary",
    "Timer",
    "calibrate",
    "interleaved",
    "make_timer",
    "peak_memory_mib",
    "ratios",
]

Sampler = Callable[[int], object]
"""``sampler(steps)`` runs ``steps`` consecutive training steps of one variant."""


@dataclass(frozen=True)
class Summary:
    """Median, quartiles, extremes and the raw values of ``n`` samples (ms or ratios)."""

    median: float
    q1: float
    q3: float
    n: int
    min: float = math.nan
    max: float = math.nan
    samples: tuple[float, ...] = field(default=(), repr=False)

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        """Summary of at least one sample (quartiles by the inclusive method)."""
        if not samples:
            raise ValueError("Summary.of: no samples")
        xs = sorted(samples)
        q1, q3 = (xs[0], xs[0]) if len(xs) == 1 else \
            statistics.quantiles(xs, n=4, method="inclusive")[::2]
        return cls(statistics.median(xs), q1, q3, len(xs), xs[0], xs[-1], tuple(samples))


class Timer(Protocol):
    """Times thunks; a reader gives milliseconds once :meth:`synchronize` ran."""

    def barrier(self) -> None: ...

    def time(self, fn: Callable[[], object]) -> Callable[[], float]: ...

    def synchronize(self) -> None: ...


class CpuTimer:
    """Wall-clock timing with ``time.perf_counter`` (no synchronisation needed on the CPU)."""

    def barrier(self) -> None:
        """Nothing is queued on the CPU."""

    def time(self, fn: Callable[[], object]) -> Callable[[], float]:
        """Run ``fn`` and return a reader of its duration in ms."""
        start = time.perf_counter()
        fn()
        elapsed = (time.perf_counter() - start) * 1e3
        return lambda: elapsed

    def synchronize(self) -> None:
        """Nothing to wait for."""


class CudaTimer:
    """CUDA events around the thunk on the current stream of ``device``."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def barrier(self) -> None:
        """Wait until the device has finished everything queued (an empty queue)."""
        torch.cuda.synchronize(self.device)

    def time(self, fn: Callable[[], object]) -> Callable[[], float]:
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


def calibrate(
    samplers: Mapping[str, Sampler], timer: Timer, *, multiple: int = 1, min_steps: int = 1,
    min_ms: float = 0.0, max_steps: int = 64,
) -> int:
    """Steps per sample: a multiple of ``multiple``, at least ``min_steps``, and enough for the
    fastest sampler's sample to last ``min_ms``; at most ``max_steps`` (rounded up to a
    multiple). Runs every sampler once for ``multiple`` steps after a barrier.
    """
    if multiple < 1 or min_steps < 1:
        raise ValueError(f"multiple={multiple}, min_steps={min_steps}, but should be >= 1")
    fastest = math.inf
    for fn in samplers.values():
        timer.barrier()
        read = timer.time(functools.partial(fn, multiple))
        timer.synchronize()
        fastest = min(fastest, read())
    cycles = max(math.ceil(min_steps / multiple), 1)
    if min_ms > 0 and fastest > 0:
        cycles = max(cycles, math.ceil(min_ms / fastest))
    cycles = min(cycles, max(math.ceil(max_steps / multiple), 1))
    return cycles * multiple


MIN_ROUNDS = 3
"""Rounds :func:`interleaved` always times, whatever its time budget."""


def interleaved(
    samplers: Mapping[str, Sampler], *, steps: int, rounds: int, warmup: int, timer: Timer,
    max_seconds: float | None = None, verify: Callable[[str], None] | None = None,
) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Milliseconds per step of up to ``rounds`` samples of each sampler, interleaved.

    ``warmup`` untimed rounds run first. Round ``r`` runs the samplers in their order rotated
    by ``r``, each after a barrier; the timer synchronises once at the end of the round and
    ``verify(name)`` then checks each sampler's results (a non-finite loss, say) by raising.
    A sampler that raises, or fails ``verify``, is dropped from later rounds and its samples
    discarded. With ``max_seconds``, no round starts once that much wall time has passed since
    the first timed round, after at least :data:`MIN_ROUNDS` rounds.

    Returns:
      ``({name: [ms per step of each timed round]}, {dropped name: "TypeName: message"})``.
    """
    live = list(samplers)
    dropped: dict[str, str] = {}
    times: dict[str, list[float]] = {name: [] for name in live}

    def one_round(r: int) -> dict[str, float]:
        k = r % len(live) if live else 0
        pending: list[tuple[str, Callable[[], float]]] = []
        for name in live[k:] + live[:k]:
            timer.barrier()
            try:
                pending.append((name, timer.time(functools.partial(samplers[name], steps))))
            except Exception as exc:  # reported, never raised: the others are still timed
                dropped[name] = f"{type(exc).__name__}: {first_line(exc, 200)}"
        timer.synchronize()
        out = {}
        for name, read in pending:
            try:
                if verify is not None:
                    verify(name)
                out[name] = read() / steps
            except Exception as exc:
                dropped[name] = f"{type(exc).__name__}: {first_line(exc, 200)}"
        live[:] = [n for n in live if n not in dropped]
        return out

    for r in range(warmup):
        one_round(r)
    start = time.perf_counter()
    for r in range(rounds):
        if max_seconds is not None and r >= MIN_ROUNDS and (
            time.perf_counter() - start > max_seconds
        ):
            break
        for name, ms in one_round(r).items():
            times[name].append(ms)
    return {n: ts for n, ts in times.items() if n not in dropped}, dropped


def ratios(numerator: Sequence[float], denominator: Sequence[float]) -> Summary:
    """Summary of per-round ratios ``numerator[r] / denominator[r]`` (paired by round)."""
    return Summary.of([a / b for a, b in zip(numerator, denominator, strict=True)])
