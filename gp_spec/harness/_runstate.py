"""The mutable state of a training run and its files: the distributed context, the run's
networks, optimisers and random streams (:class:`Run`), the checkpoint payload and its
restoration, resume checks, and ``metrics.jsonl``.

Shared by :func:`gp_spec.harness.train.train` (one run per process) and
:func:`gp_spec.harness.many.train_many` (many runs stacked in one process), so a run trained
by either has the same files and can be resumed by either.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import torch
import torch.distributed as dist
from torch import Tensor, nn

from gp_spec.harness import steps
from gp_spec.harness.checkpoint import load_checkpoint, save_checkpoint
from gp_spec.harness.config import RESUMABLE_CHANGES, TrainConfig
from gp_spec.harness.errors import CheckpointError, ConfigError

__all__ = [
    "CHECKPOINT",
    "CONFIG",
    "FORMAT",
    "METRICS",
    "SUMMARY",
    "Dist",
    "MetricsWriter",
    "Run",
    "check_resumable",
    "finite_or_none",
    "init_distributed",
    "load_for_resume",
    "restore",
    "write_checkpoint",
]

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"
CONFIG = "config.json"
SUMMARY = "summary.json"
FORMAT = 1


@dataclass(frozen=True)
class Dist:
    """This process's place in a DDP group (rank 0 of 1 without one)."""

    rank: int
    world: int
    local_rank: int
    owns_group: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0


SINGLE = Dist(0, 1, 0)


def init_distributed(config: TrainConfig) -> Dist:
    """Join (or start) the process group under ``torchrun``; :data:`SINGLE` otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 and not (dist.is_available() and dist.is_initialized()):
        return SINGLE
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    owns = not dist.is_initialized()
    if owns:
        use_nccl = torch.cuda.is_available() and config.device != "cpu"
        if use_nccl:
            torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl" if use_nccl else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size(), local_rank, owns)


@dataclass
class Run:
    """Everything mutable in a run (checkpointed by :func:`write_checkpoint`).

    ``init_rng`` is the global torch RNG state right after the networks were initialised;
    None means "the current state" (one run per process, where nothing draws from the global
    RNG after initialisation).
    """

    critic: nn.Module
    generator: nn.Module | None
    critic_ddp: nn.Module
    generator_ddp: nn.Module | None
    opt_critic: torch.optim.Optimizer
    opt_generator: torch.optim.Optimizer | None
    regulariser: steps.Regulariser
    data_gen: torch.Generator
    noise_gen: torch.Generator
    penalty_gen: torch.Generator
    step: int = 0
    critic_updates: int = 0
    last: dict[str, Tensor] = field(default_factory=dict)
    init_rng: Tensor | None = None


def _rng_state(run: Run) -> dict[str, Any]:
    return {"data": run.data_gen.get_state(), "noise": run.noise_gen.get_state(),
            "penalty": run.penalty_gen.get_state(),
            "regulariser": run.regulariser.state_dict()}


def _gather(obj: dict[str, Any], d: Dist) -> list[dict[str, Any]]:
    if d.world == 1:
        return [obj]
    out: list[Any] = [None] * d.world
    dist.all_gather_object(out, obj)
    return [dict(o) for o in out]


def _payload(run: Run, config: TrainConfig, per_rank: list[dict[str, Any]],
             metrics_offset: int) -> dict[str, Any]:
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return {
        "format": FORMAT, "config": config.to_dict(), "step": run.step,
        "critic_updates": run.critic_updates, "world_size": len(per_rank),
        "critic": run.critic.state_dict(), "opt_critic": run.opt_critic.state_dict(),
        "generator": None if run.generator is None else run.generator.state_dict(),
        "opt_generator": None if run.opt_generator is None else run.opt_generator.state_dict(),
        "torch_rng": torch.get_rng_state() if run.init_rng is None else run.init_rng,
        "cuda_rng": cuda, "per_rank": per_rank, "metrics_offset": metrics_offset,
    }


def write_checkpoint(out: Path, run: Run, config: TrainConfig, d: Dist,
                     writer: MetricsWriter) -> None:
    """Save ``out/checkpoint.pt`` (rank 0; every rank's random streams gathered first)."""
    per_rank = _gather(_rng_state(run), d)
    if d.main:
        save_checkpoint(out / CHECKPOINT, _payload(run, config, per_rank, writer.offset()))
    if d.world > 1:
        dist.barrier()


def restore(run: Run, payload: dict[str, Any], d: Dist, device: torch.device) -> None:
    """Load a checkpoint payload into ``run`` (networks, optimisers, streams, counters).

    Raises:
      CheckpointError: the payload does not fit the run.
    """
    try:
        run.critic.load_state_dict(payload["critic"])
        run.opt_critic.load_state_dict(payload["opt_critic"])
        if run.generator is not None and run.opt_generator is not None:
            run.generator.load_state_dict(payload["generator"])
            run.opt_generator.load_state_dict(payload["opt_generator"])
        torch.set_rng_state(payload["torch_rng"])
        if payload["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(payload["cuda_rng"])
        mine = payload["per_rank"][d.rank]
        run.data_gen.set_state(mine["data"])
        run.noise_gen.set_state(mine["noise"])
        run.penalty_gen.set_state(mine["penalty"])
        run.regulariser.load_state_dict(mine["regulariser"], device)
        run.step, run.critic_updates = int(payload["step"]), int(payload["critic_updates"])
    except (KeyError, RuntimeError, ValueError, IndexError, TypeError) as exc:
        raise CheckpointError(f"checkpoint does not fit this run: {exc}") from exc


def check_resumable(saved: TrainConfig, config: TrainConfig) -> None:
    """Refuse a resume whose configuration differs outside :data:`RESUMABLE_CHANGES`."""
    new, old = config.to_dict(), saved.to_dict()
    diff = sorted(k for k in new if new[k] != old[k] and k not in RESUMABLE_CHANGES)
    if diff:
        listed = ", ".join(f"{k}={new[k]!r} (run has {old[k]!r})" for k in diff)
        raise ConfigError(f"cannot resume with a different configuration: {listed}; only "
                          f"{', '.join(sorted(RESUMABLE_CHANGES))} may change")


def load_for_resume(out: Path | None, config: TrainConfig, resume: bool, d: Dist
                    ) -> dict[str, Any] | None:
    """The checkpoint payload to resume from, or None to start a new run.

    Raises:
      ConfigError: ``out`` holds a run but ``resume`` is False; a changed configuration; a
        different number of DDP processes. CheckpointError: an unreadable checkpoint.
    """
    if out is None:
        if resume:
            raise ConfigError("resume=True needs an out_dir holding the run")
        return None
    ckpt = out / CHECKPOINT
    if not resume:
        if ckpt.exists():
            raise ConfigError(f"{out} already holds a run ({CHECKPOINT}); pass --resume to "
                              "continue it, or choose another --out")
        return None
    if not ckpt.exists():
        return None
    payload = load_checkpoint(ckpt)
    if payload.get("format") != FORMAT:
        raise CheckpointError(f"{ckpt}: format {payload.get('format')!r}, but this version "
                              f"reads format {FORMAT}")
    check_resumable(TrainConfig.from_dict(payload["config"]), config)
    if int(payload["world_size"]) != d.world:
        raise ConfigError(f"{ckpt} was written by {payload['world_size']} process(es), but "
                          f"this run has {d.world}; resume with the same number")
    return payload


def finite_or_none(v: Any) -> Any:
    """``v``, or None for a float that is not finite (strict JSON)."""
    return None if isinstance(v, float) and not math.isfinite(v) else v


class MetricsWriter:
    """Appends JSON lines to ``metrics.jsonl``, flushing each; knows the byte offset."""

    def __init__(self, path: Path | None, truncate_to: int) -> None:
        """Open ``path`` for appending after cutting it to ``truncate_to`` bytes (the length
        recorded in the checkpoint; 0 for a new run), which drops lines logged after the last
        checkpoint and any half-written line of a killed run."""
        self.path = path
        self._fh: TextIO | None = None
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > truncate_to:
            with path.open("r+b") as fh:
                fh.truncate(truncate_to)
        self._fh = path.open("a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            return
        clean = {k: finite_or_none(v) for k, v in record.items()}
        self._fh.write(json.dumps(clean, allow_nan=False) + "\n")
        self._fh.flush()

    def offset(self) -> int:
        if self._fh is None:
            return 0
        self._fh.flush()
        os.fsync(self._fh.fileno())
        return self._fh.tell()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
