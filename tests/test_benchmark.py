"""gp_spec.benchmark: every exact variant computes the reference's penalty, wrong ones are caught,
and ``gp-spec bench`` runs end to end on the CPU. Tiny critics and sizes; no timing asserted.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from gp_spec._types import Critic
from gp_spec.benchmark import cli, memory, timing
from gp_spec.benchmark.agreement import Tolerance, check_agreement, outcome_of, tolerance, widened
from gp_spec.benchmark.critics import CRITICS, CriticSpec, build_critic
from gp_spec.benchmark.runner import AutocastCritic, Case, Settings, run_case
from gp_spec.benchmark.variants import (
    Losses,
    LossFn,
    Variant,
    compiled_loss,
    interpolates,
    lazy,
    penalty_from_grads,
    reference_loss,
    standard_variants,
    wasserstein_loss,
)
from gp_spec.harness.models import DCGANCritic, MLPCritic, ResNetCritic

W = 10.0
SEED = 3
CPU = torch.device("cpu")
TIGHT = Tolerance(1e-5, 1e-5)
F32 = tolerance(torch.float32, CPU)


def _tiny_mlp() -> nn.Module:
    return MLPCritic((2,), (16, 16))


def _tiny_conv() -> nn.Module:
    return DCGANCritic((2, 8, 8), 4, stem=False)


TINY: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "mlp": (_tiny_mlp, (2,)),
    "conv": (_tiny_conv, (2, 8, 8)),
    "mlp512": (lambda: MLPCritic((2,)), (2,)),  # the 003 critic: bf16 needs more than 16 units
}


def _factory(name: str, dtype: torch.dtype = torch.float32) -> Callable[[], nn.Module]:
    make, _ = TINY[name]
    torch.manual_seed(0)
    template = make()

    def fresh() -> nn.Module:
        critic = copy.deepcopy(template)
        return critic if dtype == torch.float32 else AutocastCritic(critic, "cpu", dtype)

    return fresh


def _data(name: str, n: int = 6) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(1)
    shape = (n, *TINY[name][1])
    return torch.randn(shape, generator=g), torch.randn(shape, generator=g) + 1.0


def _exact(weight: float = W) -> list[Variant]:
    return [v for v in standard_variants(weight=weight) if v.kind == "exact"
            and v.name not in ("reference", "compiled")]


# ------------------------------------------------------------------ exact variants agree


@pytest.mark.parametrize("critic", ["mlp", "conv"])
@pytest.mark.parametrize("variant", _exact(), ids=lambda v: v.name)
def test_exact_variant_agrees_with_reference(critic: str, variant: Variant) -> None:
    make = _factory(critic)
    real, fake = _data(critic)
    expected = outcome_of(reference_loss(W), make, real, fake, seed=SEED)
    got = check_agreement(variant.loss, expected, make, real, fake, seed=SEED, tol=TIGHT)
    assert got.ok, f"{variant.name}: {got.message}"


def test_compiled_variant_agrees_with_reference_through_aot_autograd() -> None:
    # aot_eager runs dynamo and AOTAutograd (where double backward used to be refused)
    # without generating kernels; the inductor backend is exercised by `gp-spec bench`.
    make = _factory("mlp")
    real, fake = _data("mlp")
    expected = outcome_of(reference_loss(W), make, real, fake, seed=SEED)
    got = check_agreement(compiled_loss(W, backend="aot_eager"), expected, make, real, fake,
                          seed=SEED, tol=TIGHT)
    assert got.ok, f"compiled(aot_eager): {got.message}"


@pytest.mark.parametrize("variant", _exact(), ids=lambda v: v.name)
def test_exact_variant_agrees_under_bfloat16_autocast(variant: Variant) -> None:
    # Two bf16 computations round differently (a LeakyReLU input rounded across 0 flips its
    # slope; with 16 units one flip moves a gradient by 15%), so a variant should be about as
    # accurate as the reference, whose own error is measured against its float32 result.
    make = _factory("mlp512", torch.bfloat16)
    real, fake = _data("mlp512", 16)
    expected = outcome_of(reference_loss(W), make, real, fake, seed=SEED)
    truth = outcome_of(reference_loss(W), _factory("mlp512"), real, fake, seed=SEED)
    tol = widened(tolerance(torch.bfloat16, CPU), expected, truth)
    got = check_agreement(variant.loss, expected, make, real, fake, seed=SEED, tol=tol)
    assert got.ok, f"{variant.name} (bfloat16): {got.message}"


def test_reference_penalty_matches_closed_form() -> None:
    # critic f(x) = a . x has ||grad f|| = ||a|| = 5 everywhere: penalty = w (5 - 1)^2 = 160.
    linear = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([[3.0, 4.0]]))
    real, fake = _data("mlp")
    losses = reference_loss(W)(linear, real, fake, torch.Generator().manual_seed(0))
    assert float(losses.penalty) == pytest.approx(160.0, rel=1e-6)


def test_autocast_penalty_norms_are_float32() -> None:
    critic = AutocastCritic(_tiny_mlp(), "cpu", torch.bfloat16)
    real, fake = _data("mlp")
    points = interpolates(real, fake, torch.Generator().manual_seed(0))
    scores = critic(points)
    (grad,) = torch.autograd.grad(scores.sum(), points, create_graph=True)
    assert scores.dtype == torch.float32, f"scores.dtype={scores.dtype}, but should be float32"
    assert grad.dtype == torch.float32, f"grad.dtype={grad.dtype}, but should be float32"
    assert penalty_from_grads(grad, W).dtype == torch.float32


# ------------------------------------------------------- the detector flags wrong variants


def _zero_centred(critic: Critic, real: Tensor, fake: Tensor, g: torch.Generator) -> Losses:
    """Deliberately wrong: ||g||^2 instead of (||g|| - 1)^2."""
    points = interpolates(real, fake, g)
    (grad,) = torch.autograd.grad(critic(points).sum(), points, create_graph=True)
    penalty = W * grad.flatten(1).norm(dim=1).square().mean()
    return Losses(wasserstein_loss(critic(real), critic(fake)), penalty)


def _swapped_alpha(critic: Critic, real: Tensor, fake: Tensor, g: torch.Generator) -> Losses:
    """Deliberately wrong: alpha weights the fake sample (another point on each segment)."""
    return reference_loss(W)(critic, fake, real, g)


def _detached_penalty(critic: Critic, real: Tensor, fake: Tensor, g: torch.Generator) -> Losses:
    """Deliberately wrong: the input gradient without create_graph (no parameter gradient)."""
    points = interpolates(real, fake, g)
    (grad,) = torch.autograd.grad(critic(points).sum(), points)
    return Losses(wasserstein_loss(critic(real), critic(fake)), penalty_from_grads(grad, W))


def _raises(critic: Critic, real: Tensor, fake: Tensor, g: torch.Generator) -> Losses:
    raise RuntimeError("does not compile")


@pytest.mark.parametrize(
    "wrong", [_zero_centred, _swapped_alpha, _detached_penalty, reference_loss(W + 1)],
    ids=["zero_centred", "swapped_alpha", "detached_penalty", "weight_11"],
)
def test_detector_flags_wrong_variant(wrong: LossFn) -> None:
    make = _factory("mlp")
    real, fake = _data("mlp")
    expected = outcome_of(reference_loss(W), make, real, fake, seed=SEED)
    got = check_agreement(wrong, expected, make, real, fake, seed=SEED, tol=F32)
    assert not got.ok, f"{getattr(wrong, '__name__', wrong)}: agrees, but should be flagged"
    assert "but should be <=" in got.message


def test_detector_reports_a_variant_that_raises() -> None:
    make = _factory("mlp")
    real, fake = _data("mlp")
    expected = outcome_of(reference_loss(W), make, real, fake, seed=SEED)
    got = check_agreement(_raises, expected, make, real, fake, seed=SEED, tol=F32)
    assert not got.ok and got.message == "raised RuntimeError: does not compile", got.message


# ----------------------------------------------------------------------------- run_case

TINY_CRITICS = {
    "tiny": CriticSpec("tiny", (2,), lambda _shape: _tiny_mlp(), "2 x 16 MLP"),
}


def test_run_case_times_agreeing_variants_and_skips_a_wrong_one() -> None:
    variants = [
        *(v for v in standard_variants(weight=W, lazy_every=(2,)) if v.name != "compiled"),
        Variant("wrong", (_zero_centred,), kind="exact", description="deliberately wrong"),
        Variant("broken", (_raises,), kind="exact", description="raises"),
    ]
    result = run_case(Case("tiny", 8), variants, Settings(iters=3, warmup=1),
                      critics=TINY_CRITICS)
    status = {v.name: v for v in result.variants}
    for name in ("plain", "reference", "peer", "fused", "lazy(2)", "func"):
        assert status[name].status == "timed", f"{name}: {status[name].status}"
        ms = status[name].ms
        assert ms is not None and ms.n == 3 and ms.median > 0
    assert status["wrong"].status.startswith("not timed: penalty error")
    assert status["wrong"].ms is None
    assert status["broken"].status == "not timed: raised RuntimeError: does not compile"
    assert status["lazy(2)"].agreement is None, "lazy is a different estimator: never checked"
    assert set(result.ratios) == {"peer/reference", "peer/fused"}
    assert result.steps % 2 == 0, f"steps={result.steps}: a sample must hold whole lazy cycles"


def test_run_case_reports_a_variant_that_fails_after_its_check() -> None:
    calls = []

    def flaky(critic: Critic, real: Tensor, fake: Tensor, g: torch.Generator) -> Losses:
        calls.append(1)
        if len(calls) > 1:  # agrees when checked, then fails (out of memory, say)
            raise RuntimeError("CUDA out of memory")
        return reference_loss(W)(critic, real, fake, g)

    variants = [*standard_variants(weight=W, lazy_every=())[:2],
                Variant("flaky", (flaky,), kind="exact", description="fails in training")]
    result = run_case(Case("tiny", 8), variants, Settings(iters=3, warmup=0),
                      critics=TINY_CRITICS)
    flaky_result = result.variants[-1]
    assert flaky_result.status == (
        "not timed: raised RuntimeError: CUDA out of memory in its first step"
    ), flaky_result.status
    assert [v.status for v in result.variants[:2]] == ["timed", "timed"]


def test_lazy_schedule_penalises_first_step_with_k_times_the_weight() -> None:
    variant = lazy(4, W)
    make = _factory("mlp")
    real, fake = _data("mlp")
    ref = outcome_of(reference_loss(W), make, real, fake, seed=SEED)
    first = outcome_of(variant.schedule[0], make, real, fake, seed=SEED)
    rest = [outcome_of(loss, make, real, fake, seed=SEED) for loss in variant.schedule[1:]]
    assert len(variant.schedule) == 4 and variant.kind == "estimator"
    assert first.penalty == pytest.approx(4 * ref.penalty, rel=1e-6)
    assert all(o.penalty == 0.0 for o in rest)


# ------------------------------------------------------------------------------ timing


class _FakeTimer:
    """Records barriers and the order of samples; each sample 'takes' 1 ms per step."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def barrier(self) -> None:
        self.calls.append("|")

    def time(self, fn: Callable[[], object]) -> Callable[[], float]:
        before = len(self.calls)
        fn()
        elapsed = float(len(self.calls) - before)
        return lambda: elapsed

    def synchronize(self) -> None:
        pass


def test_interleaved_rotates_order_and_puts_a_barrier_before_every_sample() -> None:
    timer = _FakeTimer()
    samplers = {name: (lambda k, name=name: timer.calls.extend([name] * k)) for name in "abc"}
    times, dropped = timing.interleaved(samplers, steps=2, rounds=3, warmup=1, timer=timer)
    rounds = ["abc", "abc", "bca", "cab"]  # warm-up, then rotated by one each round
    assert timer.calls == [c for r in rounds for name in r for c in ("|", name, name)]
    assert times == {"a": [1.0] * 3, "b": [1.0] * 3, "c": [1.0] * 3}, "ms per step"
    assert dropped == {}


def test_interleaved_drops_a_sampler_that_fails_verification() -> None:
    timer = _FakeTimer()
    samplers = {name: (lambda k, name=name: timer.calls.extend([name] * k)) for name in "ab"}

    def verify(name: str) -> None:
        if name == "b" and timer.calls.count("b") > 2:
            raise ValueError("not finite")

    times, dropped = timing.interleaved(samplers, steps=1, rounds=4, warmup=0, timer=timer,
                                        verify=verify)
    assert set(times) == {"a"} and len(times["a"]) == 4
    assert dropped == {"b": "ValueError: not finite"}


def test_calibrate_gives_whole_cycles_and_enough_time() -> None:
    timer = _FakeTimer()  # 1 ms per step
    samplers = {"a": lambda k: timer.calls.extend("a" * k)}
    assert timing.calibrate(samplers, timer, multiple=4, min_steps=1, min_ms=10) == 12
    assert timing.calibrate(samplers, timer, multiple=1, min_steps=4, min_ms=0) == 4
    assert timing.calibrate(samplers, timer, multiple=3, min_steps=1, min_ms=1e6,
                            max_steps=10) == 12, "capped, then rounded up to whole cycles"


def test_summary_of_samples() -> None:
    s = timing.Summary.of([4.0, 1.0, 3.0, 2.0, 5.0])
    assert (s.median, s.q1, s.q3, s.n, s.min, s.max) == (3.0, 2.0, 4.0, 5, 1.0, 5.0)
    assert s.samples == (4.0, 1.0, 3.0, 2.0, 5.0), "raw samples kept in round order"
    assert timing.ratios([2.0, 6.0], [1.0, 2.0]).median == pytest.approx(2.5)


def test_cpu_peak_memory_sees_an_allocation() -> None:
    peak = memory.peak_memory_mib(lambda: torch.ones(1024, 1024).sum(), CPU)
    assert peak is not None and peak >= 3.99, f"peak={peak} MiB, but should be >= 4 MiB"


def test_cpu_peak_memory_sees_frees() -> None:
    # ten 4 MiB tensors (1024 x 1024 float32), at most two alive at once: peak 8 MiB, not 40.
    def churn() -> None:
        for _ in range(10):
            x = torch.ones(1024, 1024)
            y = x * 2
            del x, y

    peak = memory.peak_memory_mib(churn, CPU)
    assert peak == pytest.approx(8.0, abs=0.01), f"peak={peak} MiB, but should be 8 MiB"


def test_cpu_peak_memory_counts_backward_allocations() -> None:
    # The input gradient of sum(x * w) is w, a fresh (1024, 1024) float32: 4 MiB allocated
    # by the backward alone (the forward product is another 4 MiB, freed before it).
    w = torch.ones(1024, 1024)
    x = torch.zeros(1024, 1024, requires_grad=True)

    def grad_only() -> None:
        out = (x * w).sum()
        torch.autograd.grad(out, x)

    peak = memory.peak_memory_mib(grad_only, CPU)
    assert peak is not None and peak >= 3.99, f"peak={peak} MiB, but should be >= 4 MiB"


def test_cpu_peak_memory_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    # the profiler this replaced printed "USDT ... profiler_start/stop" on stderr every call
    memory.peak_memory_mib(lambda: torch.ones(8).sum(), CPU)
    out, err = capfd.readouterr()
    assert out == "" and err == "", f"stdout={out!r}, stderr={err!r}, but should be empty"


# ----------------------------------------------------------------------------- critics


@pytest.mark.parametrize("name", sorted(CRITICS))
def test_benchmark_critic_maps_batch_to_scores(name: str) -> None:
    critic, shape = build_critic(name, seed=0)
    out = critic(torch.randn(2, *shape))
    assert out.shape == (2,), f"out.shape={tuple(out.shape)}, but should be (2,)"


def test_benchmark_critics_are_the_harness_networks() -> None:
    # one module of networks (issue 12): the benchmark configures gp_spec.harness.models
    kinds = {name: type(build_critic(name)[0]) for name in CRITICS}
    assert kinds == {"mlp": MLPCritic, "dcgan": DCGANCritic, "resnet": ResNetCritic}


def test_resnet_has_gulrajani_block_layout() -> None:
    # gan_cifar_resnet.py: 32 -> 16 (optimised block) -> 8 (down block) -> 8 -> 8, DIM_D = 128.
    net, shape = build_critic("resnet")
    x = torch.randn(1, *shape)
    sizes = []
    for block in net.blocks:
        x = block(x)
        sizes.append(tuple(x.shape[1:]))
    assert sizes == [(128, 16, 16), (128, 8, 8), (128, 8, 8), (128, 8, 8)]


def test_dcgan_benchmark_critic_has_wgan_gp_channels() -> None:
    # Gulrajani et al.'s DCGAN discriminator: 3 -> 64 -> 128 -> 256 at 16, 8, 4, then linear.
    net, _ = build_critic("dcgan")
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels, m.stride) for m in convs] == [
        (3, 64, (2, 2)), (64, 128, (2, 2)), (128, 256, (2, 2))]


def test_harness_defaults_unchanged_by_the_benchmark_options() -> None:
    # stem=True / min_side=4 are the harness's defaults: same parameter shapes as before
    dc = [tuple(p.shape) for p in DCGANCritic((3, 32, 32), 8).parameters()]
    assert dc[:4] == [(8, 3, 3, 3), (8,), (16, 8, 4, 4), (16,)] and dc[-2] == (1, 64 * 16)
    rn = ResNetCritic((3, 32, 32), 8)
    assert len(rn.blocks) == 5, "32 -> 16 -> 8 -> 4, then two plain blocks"


# --------------------------------------------------------------------------------- CLI


def test_cli_writes_json_and_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_json, out_md = tmp_path / "r.json", tmp_path / "r.md"
    code = cli.main([
        "--critic", "mlp", "--batch", "4", "--iters", "2", "--warmup", "0",
        "--variants", "peer", "fused", "lazy", "--lazy-every", "2",
        "--json", str(out_json), "--markdown", str(out_md),
    ])
    assert code == 0
    data = json.loads(out_json.read_text())
    (case,) = data["cases"]
    assert case["case"] == {"critic": "mlp", "batch": 4, "dtype": "float32", "amp": False,
                            "event_shape": None}
    assert len(case["variants"][0]["ms"]["samples"]) == 2, "raw samples in the JSON"
    names = [v["name"] for v in case["variants"]]
    assert names == ["plain", "reference", "peer", "fused", "lazy(2)"]
    assert all(v["status"] == "timed" for v in case["variants"]), case["variants"]
    table = out_md.read_text()
    assert "| critic | batch | plain | reference | peer | fused | lazy(2)* |" in table
    assert "rounds x steps" in table
    assert "| mlp | 4 |" in table
    assert "peer/reference" in capsys.readouterr().out
    rendered = tmp_path / "again.md"
    assert cli.main(["--from-json", str(out_json), "--markdown", str(rendered)]) == 0
    assert rendered.read_text() == table, "tables rendered from the JSON should be the same"


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cli_without_cuda_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--device", "cuda", "--iters", "1"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err


# ------------------------------------------------------------------------- CUDA graphs


def _graphed() -> Variant:
    return next(v for v in standard_variants(weight=W, graphed=True) if v.name == "graphed")


def test_graphed_step_body_computes_the_reference() -> None:
    # What the CUDA graph captures, run eagerly on the CPU: alpha drawn outside into the
    # static buffer from the same generator state, then the body. Same penalty and parameter
    # gradients as the reference (the graph replays exactly these kernels).
    from gp_spec.benchmark.graphs import GraphedTrainer
    from gp_spec.benchmark.runner import Trainer

    variant = _graphed()
    make = _factory("conv")
    real, fake = _data("conv")
    expected = outcome_of(reference_loss(W), make, real, fake, seed=SEED)
    trainer = GraphedTrainer.__new__(GraphedTrainer)  # bypass the CUDA-only constructor
    Trainer.__init__(trainer, variant, make(), real, fake, seed=SEED, lr=1e-4)
    assert variant.graph_loss is not None
    trainer.graph_loss = variant.graph_loss
    trainer.alpha = torch.empty(real.shape[0], 1, 1, 1)
    trainer._draw()
    losses = trainer._body()
    grads = torch.cat([p.grad.flatten() for p in trainer.critic.parameters()
                       if p.grad is not None])
    assert float(losses.penalty) == pytest.approx(expected.penalty, rel=1e-5)
    torch.testing.assert_close(grads, expected.grads, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_graphed_variant_is_reported_not_timed_on_the_cpu() -> None:
    variants = [*standard_variants(weight=W, lazy_every=())[:2], _graphed()]
    result = run_case(Case("tiny", 8), variants, Settings(iters=2, warmup=0),
                      critics=TINY_CRITICS)
    graphed = result.variant("graphed")
    assert graphed.status == "not timed: raised RuntimeError: CUDA graphs need a CUDA device"
    assert result.variant("reference").status == "timed"
