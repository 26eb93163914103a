"""The training loop: ``train(config, out_dir) -> TrainResult``.

Each generator step runs ``config.critic_steps_at(step)`` critic updates
(:func:`gp_spec.harness.steps.critic_step`: ``L_D + penalty`` in one backward, then clipping)
and one generator update (:func:`gp_spec.harness.steps.generator_step`).

**Files in ``out_dir``** (written by rank 0): ``config.json``; ``metrics.jsonl``, one JSON
object per logged step, flushed at once (keys: ``step``, ``critic_updates``,
``train_critic_loss``, ``train_penalty``, ``train_generator_loss``, the metrics of
:mod:`gp_spec.harness.evaluation` such as ``w1_assignment``, and ``elapsed_s``);
``checkpoint.pt`` (atomic, SHA-256 verified); ``summary.json``; PNG plots at the end (and in
``plots/`` every ``plot_every`` steps).

**Random streams.** The run seed gives model initialisation (global torch RNG) and, through a
hash, independent ``torch.Generator`` streams: data (CPU), latent noise (CPU), penalty draws
(run device), each per DDP rank; evaluation uses fresh generators seeded by the step. A
checkpoint stores all of them, the models, the optimisers, the regulariser state, the step
counters and the length of ``metrics.jsonl``; resuming truncates ``metrics.jsonl`` to that
length and continues, so on a CPU a run stopped at any checkpoint and resumed produces the same
parameters and metric lines as an uninterrupted run.

**Multi-GPU.** Under ``torchrun`` (``WORLD_SIZE > 1``) the process group is initialised (NCCL on
cuda, gloo on CPU), both networks are wrapped by :func:`gp_spec.harness.steps.wrap_ddp`
(default settings; ``static_graph`` refused) and each rank takes ``batch_size / world_size``
samples per step.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import torch
import torch.distributed as dist
from torch import Tensor, nn

from gp_spec.errors import DeviceUnavailableError
from gp_spec.harness import data as data_mod
from gp_spec.harness import models, plots, steps
from gp_spec.harness.checkpoint import atomic_write_text, load_checkpoint, save_checkpoint
from gp_spec.harness.config import RESUMABLE_CHANGES, TrainConfig
from gp_spec.harness.errors import CheckpointError, ConfigError
from gp_spec.harness.evaluation import EvalInputs, evaluate, fake_samples
from gp_spec.specs import SPECS

__all__ = [
    "CHECKPOINT",
    "METRICS",
    "TrainResult",
    "build_dataset",
    "build_models",
    "build_optimizer",
    "derive_seed",
    "resolve_device",
    "train",
]

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"
CONFIG = "config.json"
SUMMARY = "summary.json"
_FORMAT = 1


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns.

    Attributes:
      config: the configuration run. out_dir: where files went (None: nothing written).
      step: generator steps completed in total. critic_updates: critic updates in total.
      history: the metric records logged by this call. final: metrics at the end.
      critic, generator: the trained networks (unwrapped; generator None if critic-only).
      resumed_from: the step a resumed run started from, else None.
      elapsed_s: wall time of this call.
      is_main: False on DDP ranks other than 0 (which log, evaluate and write nothing).
    """

    config: TrainConfig
    out_dir: Path | None
    step: int
    critic_updates: int
    history: tuple[dict[str, Any], ...]
    final: dict[str, float]
    critic: nn.Module
    generator: nn.Module | None
    resumed_from: int | None
    elapsed_s: float
    is_main: bool = True


def derive_seed(seed: int, stream: str, index: int = 0) -> int:
    """An independent 63-bit seed for a named stream: ``sha256(f"{seed}/{stream}/{index}")``."""
    digest = hashlib.sha256(f"{seed}/{stream}/{index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` -> ``cuda:local_rank`` if CUDA is available, else ``cpu``; else ``name``.

    Raises:
      DeviceUnavailableError: a cuda device that this machine does not have.
      ConfigError: a device string torch does not understand.
    """
    if name == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() \
            else torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"device={name!r} is not a torch device ({exc})") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceUnavailableError(f"device={name!r}, but CUDA is not available here; "
                                         "use --device cpu or auto")
        index = local_rank if dev.index is None else dev.index
        if index >= torch.cuda.device_count():
            raise DeviceUnavailableError(f"device cuda:{index}, but only "
                                         f"{torch.cuda.device_count()} CUDA device(s) exist")
        return torch.device("cuda", index)
    if dev.type not in ("cpu", "mps"):
        raise ConfigError(f"device={name!r}, but should be auto, cpu, cuda or cuda:N")
    return dev


def build_dataset(config: TrainConfig) -> data_mod.Dataset:
    """The data set of ``config`` (pooled to ``pool_size`` samples if set)."""
    ds = data_mod.get_dataset(config.dataset, scale=config.scale, image_size=config.image_size)
    if config.pool_size is not None:
        gen = torch.Generator().manual_seed(derive_seed(config.seed, "pool"))
        ds = data_mod.pooled(ds, config.pool_size, gen)
    if config.critic_only and ds.reference is None:
        raise ConfigError(f"critic_only needs a data set with a fixed reference distribution, "
                          f"but {config.dataset!r} has none (use 1d-pair or two-gaussians)")
    return ds


def build_models(config: TrainConfig, dataset: data_mod.Dataset
                 ) -> tuple[nn.Module, nn.Module | None]:
    """Critic and generator (None if critic-only), initialised from the global torch RNG."""
    shape = dataset.event_shape
    if config.architecture == "mlp":
        critic: nn.Module = models.MLPCritic(shape, config.critic_hidden,
                                             negative_slope=config.negative_slope)
        gen: nn.Module = models.MLPGenerator(
            config.latent_dim, shape, config.generator_hidden,
            negative_slope=config.negative_slope, tanh=dataset.kind == "images")
    elif config.architecture == "dcgan":
        critic = models.DCGANCritic(shape, config.width)
        gen = models.DCGANGenerator(config.latent_dim, shape, config.width)
    else:
        critic = models.ResNetCritic(shape, config.width)
        gen = models.ResNetGenerator(config.latent_dim, shape, config.width)
    return critic, (None if config.critic_only else gen)


def build_optimizer(params: Any, config: TrainConfig, lr: float) -> torch.optim.Optimizer:
    """Adam(betas), RMSprop(momentum) or SGD(momentum) at learning rate ``lr``."""
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=config.betas)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=config.momentum)
    return torch.optim.SGD(params, lr=lr, momentum=config.momentum)


# ------------------------------------------------------------------------------ run state


@dataclass(frozen=True)
class _Dist:
    rank: int
    world: int
    local_rank: int
    owns_group: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0


def _init_distributed(config: TrainConfig) -> _Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 and not (dist.is_available() and dist.is_initialized()):
        return _Dist(0, 1, 0)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    owns = not dist.is_initialized()
    if owns:
        use_nccl = torch.cuda.is_available() and config.device != "cpu"
        if use_nccl:
            torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl" if use_nccl else "gloo")
    return _Dist(dist.get_rank(), dist.get_world_size(), local_rank, owns)


@dataclass
class _Run:
    """Everything mutable in a run (checkpointed by :func:`_payload`)."""

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


def _rng_state(run: _Run) -> dict[str, Any]:
    return {"data": run.data_gen.get_state(), "noise": run.noise_gen.get_state(),
            "penalty": run.penalty_gen.get_state(),
            "regulariser": run.regulariser.state_dict()}


def _gather(obj: dict[str, Any], d: _Dist) -> list[dict[str, Any]]:
    if d.world == 1:
        return [obj]
    out: list[Any] = [None] * d.world
    dist.all_gather_object(out, obj)
    return [dict(o) for o in out]


def _payload(run: _Run, config: TrainConfig, per_rank: list[dict[str, Any]],
             metrics_offset: int) -> dict[str, Any]:
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return {
        "format": _FORMAT, "config": config.to_dict(), "step": run.step,
        "critic_updates": run.critic_updates, "world_size": len(per_rank),
        "critic": run.critic.state_dict(), "opt_critic": run.opt_critic.state_dict(),
        "generator": None if run.generator is None else run.generator.state_dict(),
        "opt_generator": None if run.opt_generator is None else run.opt_generator.state_dict(),
        "torch_rng": torch.get_rng_state(), "cuda_rng": cuda, "per_rank": per_rank,
        "metrics_offset": metrics_offset,
    }


def _restore(run: _Run, payload: dict[str, Any], d: _Dist, device: torch.device) -> None:
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


def _check_resumable(saved: TrainConfig, config: TrainConfig) -> None:
    new, old = config.to_dict(), saved.to_dict()
    diff = sorted(k for k in new if new[k] != old[k] and k not in RESUMABLE_CHANGES)
    if diff:
        listed = ", ".join(f"{k}={new[k]!r} (run has {old[k]!r})" for k in diff)
        raise ConfigError(f"cannot resume with a different configuration: {listed}; only "
                          f"{', '.join(sorted(RESUMABLE_CHANGES))} may change")


# ------------------------------------------------------------------------------ metrics io


def _finite_or_none(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


class _MetricsWriter:
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
        clean = {k: _finite_or_none(v) for k, v in record.items()}
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


# ------------------------------------------------------------------------------ steps


def _autocast(config: TrainConfig, device: torch.device
              ) -> contextlib.AbstractContextManager[Any] | None:
    if not config.amp:
        return None
    if device.type != "cuda":
        raise ConfigError(f"amp=True needs a cuda device, but the run is on {device}")
    return torch.autocast("cuda", dtype=torch.bfloat16)


def _fake_batch(run: _Run, ds: data_mod.Dataset, config: TrainConfig, n: int,
                device: torch.device) -> Tensor:
    if run.generator is None:
        return ds.sample_reference(n, run.data_gen).to(device)
    z = torch.randn(n, config.latent_dim, generator=run.noise_gen).to(device)
    with torch.no_grad():
        fake: Tensor = run.generator(z)
    return fake.float()


def _one_generator_step(run: _Run, ds: data_mod.Dataset, config: TrainConfig, n: int,
                        device: torch.device, objective: Any,
                        autocast: contextlib.AbstractContextManager[Any] | None) -> None:
    for _ in range(config.critic_steps_at(run.step)):
        real = ds.sample(n, run.data_gen).to(device)
        fake = _fake_batch(run, ds, config, n, device)
        stats = steps.critic_step(run.critic_ddp, run.opt_critic, real, fake,
                                  objective=objective, regulariser=run.regulariser,
                                  generator=run.penalty_gen, autocast=autocast)
        run.critic_updates += 1
        run.last["train_critic_loss"], run.last["train_penalty"] = stats.loss, stats.penalty
    if run.generator_ddp is not None and run.opt_generator is not None:
        z = torch.randn(n, config.latent_dim, generator=run.noise_gen).to(device)
        run.last["train_generator_loss"] = steps.generator_step(
            run.generator_ddp, run.critic_ddp, run.opt_generator, z,
            objective=objective, autocast=autocast)
    run.step += 1


def _train_scalars(run: _Run, d: _Dist) -> dict[str, float]:
    keys = sorted(run.last)
    if not keys:
        return {}
    vec = torch.stack([run.last[k].float() for k in keys])
    if d.world > 1:
        dist.all_reduce(vec)
        vec = vec / d.world
    return {k: float(v) for k, v in zip(keys, vec.cpu(), strict=True)}


def _progress(stream: TextIO, record: dict[str, Any], total: int, rate: float) -> None:
    shown = [f"step {record['step']}/{total}"]
    for key in ("train_critic_loss", "train_penalty", "w1_assignment", "modes_covered",
                "sup_dist_abs", "mse_dstar", "digit_fd"):
        if record.get(key) is not None:
            shown.append(f"{key} {record[key]:.4g}")
    eta = (total - int(record["step"])) / rate if rate > 0 else float("inf")
    shown.append(f"{rate:.2f} steps/s, eta {eta:.0f} s")
    print("[gp-spec train] " + " | ".join(shown), file=stream, flush=True)


# ------------------------------------------------------------------------------ plots


def write_plots(out: Path, prefix: str, critic: nn.Module, generator: nn.Module | None,
                inputs: EvalInputs, seed: int) -> list[Path]:
    """The PNGs that fit the data set: level sets and gradient field (2-D), value surface
    (known D*), 1-D critic, sample grid (images), metric curves (if metrics exist)."""
    ds, gen = inputs.dataset, torch.Generator().manual_seed(seed)
    small = EvalInputs(ds, inputs.objective, inputs.measure, min(inputs.n, 512),
                       inputs.latent_dim, inputs.critic_only, inputs.device)
    real = ds.sample(small.n, gen)
    fake = fake_samples(generator, small, gen)
    written: list[Path] = []
    if ds.event_shape == (2,) and ds.bounds is not None:
        lim = _plot_bounds(ds.bounds, real, fake)
        written.append(plots.plot_level_sets(critic, real, fake, out / f"{prefix}level_sets.png",
                                             bounds=lim, title=f"{ds.name}: critic level sets"))
        logistic = inputs.objective.name in ("minimax", "non_saturating")
        written.append(plots.plot_gradient_field(critic, real, fake,
                                                 out / f"{prefix}gradient_field.png",
                                                 bounds=lim, log_d=logistic))
        if ds.log_ratio is not None:
            written.append(plots.plot_value_surface(critic, ds.log_ratio,
                                                    out / f"{prefix}value_surface.png",
                                                    bounds=ds.bounds, real=real, fake=fake))
    if ds.event_shape == (1,):
        written.append(plots.plot_critic_1d(critic, out / f"{prefix}critic_1d.png"))
    if ds.kind == "images":
        written.append(plots.plot_sample_grid(fake[:64], out / f"{prefix}samples.png"))
    metrics_path = out / METRICS
    if metrics_path.exists():
        history = plots.load_metrics(metrics_path)
        keys = [k for k in ("w1_assignment", "critic_loss", "grad_norm_mean", "modes_covered",
                            "sup_dist_abs", "mse_dstar", "digit_fd")
                if any(r.get(k) is not None for r in history)]
        if history and keys:
            written.append(plots.plot_metric_curves({ds.name: [history]}, keys,
                                                    out / f"{prefix}metrics.png"))
    return written


def _plot_bounds(bounds: tuple[float, float, float, float], real: Tensor, fake: Tensor
                 ) -> tuple[float, float, float, float]:
    """The data set's bounds, widened to include the (possibly diverged) samples."""
    pts = torch.cat([real, fake.cpu()]).float()
    lo, hi = pts.min(0).values, pts.max(0).values
    pad = 0.1 * float((hi - lo).max().clamp_min(1e-3))
    return (min(bounds[0], float(lo[0]) - pad), max(bounds[1], float(hi[0]) + pad),
            min(bounds[2], float(lo[1]) - pad), max(bounds[3], float(hi[1]) + pad))


# ------------------------------------------------------------------------------ train


def _measure_of(regulariser: steps.Regulariser) -> Any:
    spec = SPECS.get(regulariser.name)
    return None if spec is None or spec.family != "gradient" else spec.measure


def train(
    config: TrainConfig,
    out_dir: str | Path | None = None,
    *,
    resume: bool = False,
    on_step: Callable[[int], None] | None = None,
    progress: TextIO | None = sys.stderr,
    plots_at_end: bool = True,
) -> TrainResult:
    """Train a GAN (or a critic alone) as ``config`` says; write files to ``out_dir``.

    Args:
      config: the run. out_dir: folder for metrics, checkpoint and plots (None: no files,
        no checkpoints). resume: continue the run in ``out_dir`` from its checkpoint up to
        ``config.steps`` (a missing checkpoint starts a new run). on_step: called with the
        step count after every generator step (after logging and checkpointing). progress:
        stream for the progress line (None: silent). plots_at_end: write the PNGs at the end.

    Returns:
      :class:`TrainResult`.

    Raises:
      ConfigError: bad names or values, an out_dir that already holds a run without
        ``resume``, a resume with a changed configuration, ``amp`` off cuda.
      CheckpointError: a corrupted checkpoint. DeviceUnavailableError: a missing device.
    """
    t0 = time.perf_counter()
    d = _init_distributed(config)
    device = resolve_device(config.device, d.local_rank)
    autocast = _autocast(config, device)
    if config.batch_size % d.world:
        raise ConfigError(f"batch_size={config.batch_size} is not divisible by the "
                          f"{d.world} DDP ranks")
    n_local = config.batch_size // d.world
    out = None if out_dir is None else Path(out_dir)
    payload = _load_for_resume(out, config, resume, d)

    ds = build_dataset(config)
    objective = steps.get_objective(config.objective)
    run = _build_run(config, ds, d, device)
    critic, generator = run.critic, run.generator
    resumed_from = None
    if payload is not None:
        _restore(run, payload, d, device)
        resumed_from = run.step
    inputs = EvalInputs(ds, objective, _measure_of(run.regulariser), config.eval_samples,
                        config.latent_dim, config.critic_only, device)
    writer = _MetricsWriter(out / METRICS if (out is not None and d.main) else None,
                            0 if payload is None else int(payload["metrics_offset"]))
    if out is not None and d.main:
        atomic_write_text(out / CONFIG, json.dumps(config.to_dict(), indent=2) + "\n")
        if payload is None and resume and progress is not None:
            print(f"[gp-spec train] no checkpoint in {out}: starting a new run", file=progress)
    history: list[dict[str, Any]] = []
    start_step, t_loop = run.step, time.perf_counter()
    try:
        while run.step < config.steps:
            _one_generator_step(run, ds, config, n_local, device, objective, autocast)
            if run.step % config.log_every == 0:
                record = _log(run, d, inputs, config, t0)
                if d.main:
                    writer.write(record)
                    history.append(record)
                    if progress is not None:
                        rate = (run.step - start_step) / max(time.perf_counter() - t_loop, 1e-9)
                        _progress(progress, record, config.steps, rate)
            if out is not None and (run.step % config.checkpoint_every == 0
                                    or run.step == config.steps):
                _checkpoint(out, run, config, d, writer)
            if out is not None and d.main and config.plot_every and \
                    run.step % config.plot_every == 0:
                write_plots(out / "plots", f"step_{run.step:07d}_", critic, generator, inputs,
                            derive_seed(config.seed, "plot", run.step))
            if on_step is not None:
                on_step(run.step)
        final = evaluate(critic, generator, inputs,
                         seed=derive_seed(config.seed, "eval", run.step)) if d.main else {}
        if out is not None and d.main and plots_at_end:
            write_plots(out, "", critic, generator, inputs, derive_seed(config.seed, "plot"))
        if out is not None and d.main:
            summary = {"step": run.step, "critic_updates": run.critic_updates,
                       "final": {k: _finite_or_none(v) for k, v in final.items()},
                       "elapsed_s": time.perf_counter() - t0, "resumed_from": resumed_from,
                       "config": config.to_dict()}
            atomic_write_text(out / SUMMARY, json.dumps(summary, indent=2) + "\n")
    finally:
        writer.close()
        if d.owns_group:
            dist.destroy_process_group()
    return TrainResult(config, out, run.step, run.critic_updates, tuple(history), final,
                       critic, generator, resumed_from, time.perf_counter() - t0, d.main)


def _build_run(config: TrainConfig, ds: data_mod.Dataset, d: _Dist, device: torch.device
               ) -> _Run:
    """Fresh networks (seeded), DDP wrappers, optimisers, regulariser and random streams."""
    regulariser = steps.make_regulariser(config.penalty, config.weight, clip=config.clip,
                                         penalty_on=config.penalty_on)
    torch.manual_seed(derive_seed(config.seed, "init"))
    critic, generator = build_models(config, ds)
    critic, generator = critic.to(device), None if generator is None else generator.to(device)
    return _Run(
        critic, generator,
        _wrap(critic, d, device), None if generator is None else _wrap(generator, d, device),
        build_optimizer(critic.parameters(), config, config.lr_critic),
        None if generator is None else build_optimizer(generator.parameters(), config,
                                                       config.lr_generator),
        regulariser,
        torch.Generator().manual_seed(derive_seed(config.seed, "data", d.rank)),
        torch.Generator().manual_seed(derive_seed(config.seed, "noise", d.rank)),
        torch.Generator(device=device).manual_seed(derive_seed(config.seed, "penalty", d.rank)),
    )


def _wrap(module: nn.Module, d: _Dist, device: torch.device) -> nn.Module:
    if d.world == 1:
        return module
    ids = [device.index] if device.type == "cuda" else None
    return steps.wrap_ddp(module, device_ids=ids)


def _load_for_resume(out: Path | None, config: TrainConfig, resume: bool, d: _Dist
                     ) -> dict[str, Any] | None:
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
    if payload.get("format") != _FORMAT:
        raise CheckpointError(f"{ckpt}: format {payload.get('format')!r}, but this version "
                              f"reads format {_FORMAT}")
    _check_resumable(TrainConfig.from_dict(payload["config"]), config)
    if int(payload["world_size"]) != d.world:
        raise ConfigError(f"{ckpt} was written by {payload['world_size']} process(es), but "
                          f"this run has {d.world}; resume with the same number")
    return payload


def _log(run: _Run, d: _Dist, inputs: EvalInputs, config: TrainConfig, t0: float
         ) -> dict[str, Any]:
    record: dict[str, Any] = {"step": run.step, "critic_updates": run.critic_updates}
    record.update(_train_scalars(run, d))
    if d.main:
        record.update(evaluate(run.critic, run.generator, inputs,
                               seed=derive_seed(config.seed, "eval", run.step)))
    record["elapsed_s"] = round(time.perf_counter() - t0, 3)
    return record


def _checkpoint(out: Path, run: _Run, config: TrainConfig, d: _Dist,
                writer: _MetricsWriter) -> None:
    per_rank = _gather(_rng_state(run), d)
    if d.main:
        save_checkpoint(out / CHECKPOINT, _payload(run, config, per_rank, writer.offset()))
    if d.world > 1:
        dist.barrier()
