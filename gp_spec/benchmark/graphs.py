"""CUDA graphs: the whole critic step captured once, then replayed (an exact variant, CUDA only).

Where a step is launch-bound (small critics, small batches on a fast GPU) its time is the
host's pace of kernel launches; a CUDA graph replays all the step's kernels with one launch.
Captured, following the PyTorch CUDA-graphs notes ("whole network capture"): the forwards on
real and fake, the separate forward and ``autograd.grad(create_graph=True)`` on the
interpolates, the penalty, ``backward`` and ``Adam.step`` (``capturable=True``), after three
warm-up steps on a side stream, with the gradients set to None before capture so that the
captured backward writes them into the graph's pool. Outside the graph, once per step: the
interpolation weights ``alpha ~ U(0, 1)`` are drawn from the trainer's generator into a static
buffer (two kernels), exactly as :func:`~gp_spec.benchmark.variants.interpolates` draws them,
so the graph computes the reference's penalty for the same generator state and is checked
equal to it like every exact variant (:func:`graphed_outcome`).

Constraints: static shapes (the benchmark's batches are fixed), autocast with its weight cache
off (:class:`~gp_spec.benchmark.runner.AutocastCritic`), no host synchronisation inside the
step. Only the last step of a sample keeps its loss (the graph's static output), so the finite
check sees one loss per sample; a NaN propagates through Adam into every later loss anyway.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from gp_spec import measures
from gp_spec.benchmark.agreement import Outcome
from gp_spec.benchmark.runner import Trainer
from gp_spec.benchmark.variants import Losses, Variant

__all__ = ["GraphedTrainer", "graphed_outcome"]

WARMUP_STEPS = 3
"""Eager steps on a side stream before capture (lazy initialisation, cuDNN autotuning)."""


class GraphedTrainer(Trainer):
    """A :class:`~gp_spec.benchmark.runner.Trainer` whose step is one CUDA-graph replay.

    Raises:
      RuntimeError: not on a CUDA device, or a variant without ``graph_loss``.
    """

    def __init__(self, variant: Variant, critic: nn.Module, real: Tensor, fake: Tensor, *,
                 seed: int, lr: float) -> None:
        if real.device.type != "cuda":
            raise RuntimeError("CUDA graphs need a CUDA device")
        if variant.graph_loss is None:
            raise RuntimeError(f"variant {variant.name!r} has no graph_loss to capture")
        super().__init__(variant, critic, real, fake, seed=seed, lr=lr, capturable=True)
        self.graph_loss = variant.graph_loss
        self.alpha = measures.per_sample_uniform(real, generator=self.generator)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.static: Losses | None = None
        self.peak_mib: float | None = None

    def _draw(self) -> None:
        """New interpolation weights into the static buffer (outside the graph)."""
        self.alpha.copy_(measures.per_sample_uniform(self.real, generator=self.generator))

    def _body(self) -> Losses:
        """One step at the current ``alpha``: what is captured."""
        points = (self.alpha * self.real + (1 - self.alpha) * self.fake).detach()
        losses = self.graph_loss(self.critic, self.real, self.fake, points.requires_grad_(True))
        torch.autograd.backward(losses.total)
        self.optimizer.step()
        return losses

    def capture(self) -> None:
        """Warm up on a side stream, then capture :meth:`_body` into a graph."""
        device = self.real.device
        side = torch.cuda.Stream(device)  # type: ignore[no-untyped-call]
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            for _ in range(WARMUP_STEPS):
                self.optimizer.zero_grad(set_to_none=True)
                self._draw()
                self._body()
        torch.cuda.current_stream(device).wait_stream(side)
        torch.cuda.synchronize(device)
        self.optimizer.zero_grad(set_to_none=True)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.static = self._body()
        torch.cuda.synchronize(device)
        self.peak_mib = (torch.cuda.max_memory_allocated(device) - before) / 2**20
        self.graph = graph

    def run(self, steps: int) -> None:
        """``steps`` replays (capturing first if needed), each after drawing new weights."""
        if self.graph is None:
            self.capture()
        assert self.graph is not None and self.static is not None
        for _ in range(steps):
            self._draw()
            self.graph.replay()
        self.losses.append(self.static.total.detach())

    def peak_memory_mib(self) -> float | None:
        """Peak allocated while the step was captured, above what was allocated before: the
        step's peak as the eager variants measure theirs (its buffers stay in the graph's
        private pool, reused by every replay)."""
        return self.peak_mib


def graphed_outcome(
    variant: Variant, make_critic: Callable[[], nn.Module], real: Tensor, fake: Tensor, *,
    seed: int, lr: float,
) -> Outcome:
    """The penalty and parameter gradients of one replay from the initial parameters, with
    the generator seeded by ``seed`` (as :func:`~gp_spec.benchmark.agreement.outcome_of`).

    Capture trains the critic for the warm-up steps; the initial parameters are copied back
    into the same tensors (the graph's addresses) before the replay that is compared.
    """
    critic = make_critic()
    params = list(critic.parameters())
    initial = [p.detach().clone() for p in params]
    trainer = GraphedTrainer(variant, critic, real, fake, seed=seed, lr=lr)
    trainer.capture()
    assert trainer.graph is not None and trainer.static is not None
    with torch.no_grad():
        for p, p0 in zip(params, initial, strict=True):
            p.copy_(p0)
    trainer.generator.manual_seed(seed)
    trainer._draw()
    trainer.graph.replay()
    torch.cuda.synchronize(real.device)
    grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in params]
    flat = torch.cat([g.detach().float().flatten() for g in grads])
    return Outcome(float(trainer.static.penalty.detach()), flat.clone())
