"""DistributedDataParallel facts the critic step is built around (gp_spec.harness.steps).

Two CPU processes (gloo) each take half of a fixed global batch; a single process takes all
of it. Facts (module docstring of gp_spec.harness.steps):
1. default DDP + ONE backward of L_D + penalty gives the single-process gradients (~1e-6);
2. static_graph=True gives wrong gradients, so it is refused with ConfigError;
3. a backward of the penalty alone fails on the unused output bias.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import socket
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from gp_spec import SPECS, objectives
from gp_spec._types import Points
from gp_spec.harness.errors import ConfigError
from gp_spec.harness.models import MLPCritic
from gp_spec.harness.steps import Regulariser, critic_backward, penalty_term, wrap_ddp

WORLD, N, WEIGHT = 2, 8, 5.0


@dataclass(frozen=True)
class _FixedInterpolate:
    """mu_GP with given alphas, so every rank uses its slice of the global batch's alphas."""

    alpha: Tensor
    name: str = "fixed-interpolate"
    mass: float = 1.0

    def sample(self, real: Tensor | None, fake: Tensor | None, *,
               generator: torch.Generator | None = None) -> Points:
        assert real is not None and fake is not None
        x_hat = self.alpha * real.detach() + (1 - self.alpha) * fake.detach()
        return Points(x_hat, torch.ones(real.shape[0]))


def _batch() -> tuple[Tensor, Tensor, Tensor]:
    g = torch.Generator().manual_seed(11)
    return (torch.randn(N, 2, generator=g), torch.randn(N, 2, generator=g) + 2,
            torch.rand(N, 1, generator=g))


def _critic() -> nn.Module:
    torch.manual_seed(3)
    return MLPCritic((2,), (16, 16))  # every Linear has a bias


def _lp(alpha: Tensor) -> Regulariser:
    # wgan-lp's spec with the measure replaced: Spec.bind is the one family switch
    spec = dataclasses.replace(SPECS["wgan-lp"], measure=_FixedInterpolate(alpha))
    return Regulariser("wgan-lp", WEIGHT, spec.bind(WEIGHT))


def _grads(module: nn.Module) -> list[np.ndarray]:
    return [p.grad.detach().numpy().copy() for p in module.parameters()]  # type: ignore[union-attr]


def _worker(rank: int, port: int, out: Any) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    real, fake, alpha = _batch()
    part = slice(rank * N // WORLD, (rank + 1) * N // WORLD)
    x, y, reg = real[part], fake[part], _lp(alpha[part])
    result: dict[str, Any] = {"rank": rank}
    try:
        ddp = wrap_ddp(_critic())
        for _ in range(2):  # a second iteration would fail if a reduction were left pending
            ddp.zero_grad(set_to_none=True)
            critic_backward(ddp, x, y, objective=objectives.wasserstein, regulariser=reg)
        result["default"] = _grads(ddp)

        static = DistributedDataParallel(_critic(), static_graph=True)
        try:
            critic_backward(static, x, y, objective=objectives.wasserstein, regulariser=reg)
            result["refused"] = False
        except ConfigError:
            result["refused"] = True
        scores = static(torch.cat([x, y]))  # fact 2, bypassing the refusal
        loss = scores[N // WORLD:].mean() - scores[:N // WORLD].mean()
        penalty = penalty_term(static, x, y, reg)
        assert penalty is not None
        torch.autograd.backward(loss + penalty)
        result["static"] = _grads(static)

        alone = DistributedDataParallel(_critic())
        try:
            for _ in range(2):
                alone_penalty = penalty_term(alone, x, y, reg)
                assert alone_penalty is not None
                torch.autograd.backward(alone_penalty)
            result["alone_error"] = ""
        except RuntimeError as exc:
            result["alone_error"] = str(exc)
    finally:
        out.put(result)
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def two_ranks() -> list[dict[str, Any]]:
    ctx = mp.get_context("spawn")
    results: Any = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_worker, args=(r, port, results)) for r in range(WORLD)]
    for p in procs:
        p.start()
    try:
        got = [results.get(timeout=180) for _ in range(WORLD)]
    except queue.Empty:
        pytest.fail("DDP workers did not report within 180 s")
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
    return sorted(got, key=lambda r: int(r["rank"]))


def _reference() -> list[np.ndarray]:
    real, fake, alpha = _batch()
    critic = _critic()
    critic_backward(critic, real, fake, objective=objectives.wasserstein, regulariser=_lp(alpha))
    return _grads(critic)


def test_ddp_one_backward_equals_single_process_gradients(two_ranks: list[dict[str, Any]]) -> None:
    ref = _reference()
    for r in two_ranks:
        assert "default" in r, f"rank {r['rank']} failed before reporting"
        for got, want in zip(r["default"], ref, strict=True):
            torch.testing.assert_close(torch.as_tensor(got), torch.as_tensor(want),
                                       atol=1e-6, rtol=1e-5)


def test_ddp_static_graph_is_refused_and_would_be_wrong(two_ranks: list[dict[str, Any]]) -> None:
    ref = _reference()
    for r in two_ranks:
        assert r["refused"], "critic_backward should refuse a static_graph DDP critic"
        worst = max(float(np.abs(g - w).max()) for g, w in zip(r["static"], ref, strict=True))
        assert worst > 1e-3, "static_graph now matches: re-measure fact 2 before relaxing"


def test_ddp_penalty_alone_fails_on_unused_parameters(two_ranks: list[dict[str, Any]]) -> None:
    for r in two_ranks:
        assert "finished reduction" in r["alone_error"]


def test_wrap_ddp_refuses_static_graph_without_a_process_group() -> None:
    with pytest.raises(ConfigError, match="static_graph"):
        wrap_ddp(nn.Linear(2, 1), static_graph=True)
