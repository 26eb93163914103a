"""The timing method of gp_spec.benchmark: right where the GPU waits on the host.

Three kinds of evidence:

1. A simulated asynchronous device (a host that launches kernels, a device that runs them in
   order, events that are zero-length kernels) reproduces the implausible H100 cells with the
   old method (no barrier between samples, one schedule cycle per sample) and shows that
   :func:`gp_spec.benchmark.timing.interleaved` (a barrier before each sample, equal steps)
   obeys the two properties in every regime swept. Deterministic: no real clock.
2. :func:`gp_spec.benchmark.sanity.violations` flags exactly the cells the issue names in the
   committed H100 data (torch 2.11).
3. On this CPU, for real: ``lazy(2)`` is not faster than plain and a 16x larger batch is not
   cheaper, with 5% tolerance (the true ratios are about 1.5x and 3x or more).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from gp_spec.benchmark import report, sanity, timing
from gp_spec.benchmark.critics import CriticSpec
from gp_spec.benchmark.runner import Case, Settings, make_trainer, run_case
from gp_spec.benchmark.variants import plain_loss, standard_variants
from gp_spec.harness.models import MLPCritic

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"

# ------------------------------------------------------------ 1. a simulated device

Kernel = tuple[float, float]
"""(host ms to launch it, device ms to run it)."""


class SimDevice:
    """In-order device queue: a kernel starts when launched and when the previous one ends."""

    def __init__(self) -> None:
        self.host = 0.0
        self.free = 0.0

    def launch(self, kernels: list[Kernel]) -> None:
        for host_ms, device_ms in kernels:
            self.host += host_ms
            self.free = max(self.host, self.free) + device_ms

    def event(self) -> float:
        """A recorded event: its timestamp is when the device reaches it."""
        self.free = max(self.host, self.free)
        return self.free

    def synchronize(self) -> None:
        self.host = max(self.host, self.free)


class SimTimer:
    """The Timer protocol on a SimDevice (barrier = synchronize, as CudaTimer)."""

    def __init__(self, device: SimDevice, *, barrier: bool = True) -> None:
        self.device = device
        self.use_barrier = barrier

    def barrier(self) -> None:
        if self.use_barrier:
            self.device.synchronize()

    def time(self, fn: Callable[[], object]) -> Callable[[], float]:
        start = self.device.event()
        fn()
        end = self.device.event()
        return lambda: end - start

    def synchronize(self) -> None:
        self.device.synchronize()


HOST = 0.01  # ms per kernel launch: these steps are launch-bound unless their kernels are big


def _schedules(batch: int, heavy: float) -> dict[str, list[list[Kernel]]]:
    """plain: 60 small kernels; penalty step: 130 kernels twice as big; lazy(4): a penalty
    step then three plain steps; heavy: a device-bound variant (``fused`` at large batch)."""
    plain = [(HOST, 0.002 * batch / 64)] * 60
    penalty = [(HOST, 0.004 * batch / 64)] * 130
    return {"plain": [plain], "heavy": [[(HOST, heavy * batch / 64)] * 130],
            "lazy(4)": [penalty, plain, plain, plain]}


def _samplers(device: SimDevice, schedules: dict[str, list[list[Kernel]]]
              ) -> dict[str, Callable[[int], object]]:
    def make(schedule: list[list[Kernel]]) -> Callable[[int], object]:
        position = [0]

        def run(steps: int) -> None:
            for _ in range(steps):
                device.launch(schedule[position[0] % len(schedule)])
                position[0] += 1

        return run

    return {name: make(s) for name, s in schedules.items()}


def _new_method(batch: int, heavy: float) -> dict[str, float]:
    device = SimDevice()
    schedules = _schedules(batch, heavy)
    samplers = _samplers(device, schedules)
    timer = SimTimer(device)
    steps = timing.calibrate(samplers, timer, multiple=4, min_steps=4, min_ms=0.5)
    times, dropped = timing.interleaved(samplers, steps=steps, rounds=9, warmup=1, timer=timer)
    assert not dropped
    return {n: timing.Summary.of(ts).median for n, ts in times.items()}


def _old_method(batch: int, heavy: float) -> dict[str, float]:
    """The method of the committed H100 data: one schedule cycle per sample, samples queued
    back to back (no barrier), one synchronisation per round, order rotated."""
    device = SimDevice()
    schedules = _schedules(batch, heavy)
    names = list(schedules)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(9):
        k = r % len(names)
        pending = []
        for n in names[k:] + names[:k]:
            start = device.event()
            for step in schedules[n]:
                device.launch(step)
            pending.append((n, (device.event() - start) / len(schedules[n])))
        device.synchronize()
        for n, ms in pending:
            times[n].append(ms)
    return {n: timing.Summary.of(ts).median for n, ts in times.items()}


def test_simulated_old_method_reproduces_the_implausible_cells() -> None:
    # The model is not vacuous: the old method breaks both properties in it, as on the H100
    # (lazy(4) 0.86x plain; plain faster at a larger batch). A sample queued behind the
    # previous variant's device-bound backlog starts late and hides host launch time.
    old64, old256 = _old_method(64, heavy=0.03), _old_method(256, heavy=0.03)
    assert old64["lazy(4)"] < 0.5 * old64["plain"], old64
    assert old256["plain"] < 0.9 * old64["plain"], (old64, old256)


@pytest.mark.parametrize("heavy", [0.001, 0.01, 0.03, 0.1])
def test_simulated_new_method_obeys_both_properties(heavy: float) -> None:
    by_batch = {b: _new_method(b, heavy) for b in (16, 64, 256, 1024, 4096)}
    for b, ms in by_batch.items():
        assert ms["lazy(4)"] >= ms["plain"], f"batch {b}, heavy {heavy}: {ms}"
    plain = [by_batch[b]["plain"] for b in sorted(by_batch)]
    assert plain == sorted(plain), f"heavy {heavy}: plain by batch {plain}"


def test_simulated_new_method_measures_the_real_launch_bound_cost() -> None:
    # 60 launches of 0.01 ms with tiny kernels: the step costs its host time, 0.6 ms (+ the
    # last kernel), whatever runs beside it.
    ms = _new_method(64, heavy=0.03)
    assert ms["plain"] == pytest.approx(60 * HOST, rel=0.01), ms


# ----------------------------------------------------- 2. the committed H100 data

def test_sanity_flags_the_cells_the_issue_names() -> None:
    # issue 15: float32 dcgan 256 lazy(4) 0.86x plain; bf16 plain dcgan 5.04 -> 4.49 -> 2.72 ms
    f32, _ = report.read_json(RESULTS / "h100-20261123-float32.json")
    bf16, _ = report.read_json(RESULTS / "h100-20261123-bfloat16.json")
    found = sanity.violations(f32 + bf16)
    assert any("dcgan batch 256 float32: lazy(4) is 0.859x" in line for line in found), found
    assert any("dcgan bfloat16 autocast: plain 4.49 ms at batch 256" in line for line in found)
    assert any("dcgan bfloat16 autocast: plain 2.72 ms at batch 1024" in line for line in found)


def test_sanity_accepts_plausible_results() -> None:
    f32, _ = report.read_json(RESULTS / "h100-20261123-float32.json")
    resnet = [r for r in f32 if r.case.critic == "resnet"]  # compute-bound: plausible
    assert sanity.violations(resnet) == []
    lines = sanity.targets(f32)
    assert "best exact variant, resnet batch 256 float32: compiled 2.48x plain: NOT met " \
        "(target <= 2.0x)" in lines, lines


# ----------------------------------------------------------- 3. this CPU, for real

TOLERANCE = 0.05


def _mlp(_shape: tuple[int, ...]) -> torch.nn.Module:
    return MLPCritic((2,), (512, 512))


CRITIC = {"mlp512": CriticSpec("mlp512", (2,), _mlp, "2 x 512 MLP")}


pytestmark = pytest.mark.usefixtures("one_thread")


def test_cpu_lazy_is_never_faster_than_plain() -> None:
    # lazy(2) = one reference step + one plain step per 2 steps: about 1.5x plain; the
    # assertion allows 5% below 1.0x, a 30%+ margin against load noise on a shared machine.
    variants = [v for v in standard_variants(lazy_every=(2,))
                if v.name in ("plain", "reference", "lazy(2)")]
    result = run_case(Case("mlp512", 64), variants, Settings(iters=9, warmup=1),
                      critics=CRITIC)
    lazy = result.variant("lazy(2)").vs_plain
    assert lazy is not None and lazy.median >= 1 - TOLERANCE, lazy


def test_cpu_time_grows_with_batch() -> None:
    # plain steps at batch 16, 256 and 4096, interleaved in one timing run so load drift
    # cancels: each 16x larger batch should cost at least (1 - 5%) as much (measured here:
    # about 3.5, 10.5 and 155 ms on one thread).
    from gp_spec.benchmark.variants import Variant

    plain = Variant("plain", (plain_loss,), kind="floor", description="")
    trainers = {b: make_trainer(Case("mlp512", b), plain, Settings(), critics=CRITIC)
                for b in (16, 256, 4096)}
    times, dropped = timing.interleaved(
        {str(b): t.run for b, t in trainers.items()}, steps=2, rounds=9, warmup=1,
        timer=timing.CpuTimer())
    assert not dropped
    medians = [timing.Summary.of(times[str(b)]).median for b in (16, 256, 4096)]
    for small, large in itertools.pairwise(medians):
        assert large >= (1 - TOLERANCE) * small, medians
