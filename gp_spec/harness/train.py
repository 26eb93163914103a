"""The training loop: ``train(config, out_dir) -> TrainResult``.

Each generator step runs ``config.critic_steps_at(step)`` critic updates
(:func:`gp_spec.harness.steps.critic_step`: ``L_D + penalty`` in one backward, then clipping)
and one generator update (:func:`gp_spec.harness.steps.generator_step`).

**Files in ``out_dir``** (written by rank 0): ``config.json``; ``metrics.jsonl``, one JSON
object per logged step, flushed at once (keys: ``step``, ``critic_updates``,
``train_critic_loss``, ``train_penalty``, ``train_generator_loss``, the metrics of
:mod:`gp_spec.harness.evaluation` such as ``w1_assignment``, and ``elapsed_s``);
``checkpoint.pt`` (atomic, SHA-256 verified); ``summary.json``; PNG plots at the end (and in
``plots/`` every ``plot_every`` steps). The run state and these files are
:mod:`gp_spec.harness._runstate` (shared with :mod:`gp_spec.harness.many`, which trains many
runs of one shape together and writes the same files per run).

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
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import torch
import torch.distributed as dist
from torch import Tensor, nn

from gp_spec._devices import resolve_device
from gp_spec._progress import Progress
from gp_spec._seeding import derive_seed
from gp_spec.harness import data as data_mod
from gp_spec.harness import models, steps
from gp_spec.harness._runstate import CHECKPOINT as CHECKPOINT
from gp_spec.harness._runstate import (
    CONFIG,
    SUMMARY,
    Dist,
    MetricsWriter,
    Run,
    finite_or_none,
    init_distributed,
    load_for_resume,
    restore,
    write_checkpoint,
)
from gp_spec.harness._runstate import METRICS as METRICS
from gp_spec.harness.checkpoint import atomic_write_text
from gp_spec.harness.config import TrainConfig
from gp_spec.harness.errors import ConfigError
from gp_spec.harness.evaluation import EvalInputs, evaluate
from gp_spec.objectives import get_objective

__all__ = [
    "CHECKPOINT",
    "METRICS",
    "TrainResult",
    "build_dataset",
    "build_models",
    "build_optimizer",
    "build_run",
    "eval_inputs",
    "finish",
    "log_record",
    "progress_info",
    "run_label",
    "train",
]


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


def build_dataset(config: TrainConfig) -> data_mod.Dataset:
    """The data set of ``config`` (pooled to ``pool_size`` samples if set)."""
    ds = data_mod.get_dataset(config.dataset, scale=config.scale, image_size=config.image_size,
                              mode_std=config.mode_std)
    if config.pool_size is not None:
        gen = torch.Generator().manual_seed(derive_seed(config.seed, "pool", 0))
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


def build_run(config: TrainConfig, ds: data_mod.Dataset, d: Dist, device: torch.device
              ) -> Run:
    """Fresh networks (seeded), DDP wrappers, optimisers, regulariser and random streams.

    Seeds: ``derive_seed(seed, stream, index)`` hashes ``f"{seed}/{stream}/{index}"``, with
    streams ``init`` (index 0), ``data``, ``noise`` and ``penalty`` (index = DDP rank).
    """
    regulariser = steps.make_regulariser(config.penalty, config.weight, clip=config.clip,
                                         penalty_on=config.penalty_on)
    torch.manual_seed(derive_seed(config.seed, "init", 0))
    critic, generator = build_models(config, ds)
    critic, generator = critic.to(device), None if generator is None else generator.to(device)
    return Run(
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


def _wrap(module: nn.Module, d: Dist, device: torch.device) -> nn.Module:
    if d.world == 1:
        return module
    ids = [device.index] if device.type == "cuda" else None
    return steps.wrap_ddp(module, device_ids=ids)


def run_label(config: TrainConfig, step: int) -> str:
    """``"wgan-lp, weight 5, step 300"``: what plot titles and progress lines name."""
    if config.penalty in ("none", "clip"):
        what = "no penalty" if config.penalty == "none" else f"clip {config.clip:g}"
    else:
        what = config.penalty + ("" if config.weight is None else f", weight {config.weight:g}")
    return f"{what}, step {step}"


# ------------------------------------------------------------------------------ steps


def _autocast(config: TrainConfig, device: torch.device
              ) -> contextlib.AbstractContextManager[Any] | None:
    if not config.amp:
        return None
    if device.type != "cuda":
        raise ConfigError(f"amp=True needs a cuda device, but the run is on {device}")
    return torch.autocast("cuda", dtype=torch.bfloat16)


def _fake_batch(run: Run, ds: data_mod.Dataset, config: TrainConfig, n: int,
                device: torch.device) -> Tensor:
    if run.generator is None:
        return ds.sample_reference(n, run.data_gen).to(device)
    z = torch.randn(n, config.latent_dim, generator=run.noise_gen).to(device)
    with torch.no_grad():
        fake: Tensor = run.generator(z)
    return fake.float()


def _one_generator_step(run: Run, ds: data_mod.Dataset, config: TrainConfig, n: int,
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


def _train_scalars(run: Run, d: Dist) -> dict[str, float]:
    keys = sorted(run.last)
    if not keys:
        return {}
    vec = torch.stack([run.last[k].float() for k in keys])
    if d.world > 1:
        dist.all_reduce(vec)
        vec = vec / d.world
    return {k: float(v) for k, v in zip(keys, vec.cpu(), strict=True)}


_SHOWN = ("train_critic_loss", "train_penalty", "w1_assignment", "modes_covered",
          "sup_dist_abs", "mse_dstar", "digit_fd")


def progress_info(record: dict[str, Any]) -> str:
    """The headline metrics of a logged record, for a progress line."""
    return " | ".join(f"{k} {record[k]:.4g}" for k in _SHOWN if record.get(k) is not None)


def log_record(run: Run, d: Dist, inputs: EvalInputs, config: TrainConfig, t0: float
               ) -> dict[str, Any]:
    """One ``metrics.jsonl`` record: counters, the last training scalars, an evaluation
    (rank 0; draws seeded by ``derive_seed(seed, "eval", step)``) and the elapsed time."""
    record: dict[str, Any] = {"step": run.step, "critic_updates": run.critic_updates}
    record.update(_train_scalars(run, d))
    if d.main:
        record.update(evaluate(run.critic, run.generator, inputs,
                               seed=derive_seed(config.seed, "eval", run.step)))
    record["elapsed_s"] = round(time.perf_counter() - t0, 3)
    return record


def eval_inputs(config: TrainConfig, ds: data_mod.Dataset, regulariser: steps.Regulariser,
                objective: Any, device: torch.device) -> EvalInputs:
    """What :func:`evaluate` needs; gradient norms on the penalty's own measure, if any."""
    spec = None if regulariser.penalty is None else regulariser.penalty.spec
    measure = spec.measure if spec is not None and spec.family == "gradient" else None
    return EvalInputs(ds, objective, measure, config.eval_samples, config.latent_dim,
                      config.critic_only, device)


def finish(out: Path | None, run: Run, config: TrainConfig, inputs: EvalInputs, t0: float,
           resumed_from: int | None, *, plots_at_end: bool) -> dict[str, float]:
    """The final evaluation, the end-of-run plots and ``summary.json`` (rank 0)."""
    final = evaluate(run.critic, run.generator, inputs,
                     seed=derive_seed(config.seed, "eval", run.step))
    if out is not None and plots_at_end:
        from gp_spec.harness import plots  # matplotlib: only when drawing

        plots.write_plots(out, "", run.critic, run.generator, inputs,
                          derive_seed(config.seed, "plot", 0),
                          label=run_label(config, run.step), metrics_path=out / METRICS)
    if out is not None:
        summary = {"step": run.step, "critic_updates": run.critic_updates,
                   "final": {k: finite_or_none(v) for k, v in final.items()},
                   "elapsed_s": time.perf_counter() - t0, "resumed_from": resumed_from,
                   "config": config.to_dict()}
        atomic_write_text(out / SUMMARY, json.dumps(summary, indent=2) + "\n")
    return final


# ------------------------------------------------------------------------------ train


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
        stream for the progress display (a bar on a terminal, plain lines otherwise; None:
        silent). plots_at_end: write the PNGs at the end.

    Returns:
      :class:`TrainResult`.

    Raises:
      ConfigError: bad names or values, an out_dir that already holds a run without
        ``resume``, a resume with a changed configuration, ``amp`` off cuda.
      CheckpointError: a corrupted checkpoint. DeviceUnavailableError: a missing device.
    """
    t0 = time.perf_counter()
    d = init_distributed(config)
    device = resolve_device(config.device, local_rank=d.local_rank)
    autocast = _autocast(config, device)
    if config.batch_size % d.world:
        raise ConfigError(f"batch_size={config.batch_size} is not divisible by the "
                          f"{d.world} DDP ranks")
    n_local = config.batch_size // d.world
    out = None if out_dir is None else Path(out_dir)
    payload = load_for_resume(out, config, resume, d)

    ds = build_dataset(config)
    objective = get_objective(config.objective)
    run = build_run(config, ds, d, device)
    resumed_from = None
    if payload is not None:
        restore(run, payload, d, device)
        resumed_from = run.step
    inputs = eval_inputs(config, ds, run.regulariser, objective, device)
    writer = MetricsWriter(out / METRICS if (out is not None and d.main) else None,
                           0 if payload is None else int(payload["metrics_offset"]))
    if out is not None and d.main:
        atomic_write_text(out / CONFIG, json.dumps(config.to_dict(), indent=2) + "\n")
        if payload is None and resume and progress is not None:
            print(f"[gp-spec train] no checkpoint in {out}: starting a new run", file=progress)
    history: list[dict[str, Any]] = []
    bar = Progress(config.steps, "gp-spec train", stream=progress,
                   enabled=progress is not None and d.main)
    bar.update(run.step)
    try:
        while run.step < config.steps:
            _one_generator_step(run, ds, config, n_local, device, objective, autocast)
            if run.step % config.log_every == 0:
                record = log_record(run, d, inputs, config, t0)
                if d.main:
                    writer.write(record)
                    history.append(record)
            if out is not None and (run.step % config.checkpoint_every == 0
                                    or run.step == config.steps):
                write_checkpoint(out, run, config, d, writer)
            if out is not None and d.main and config.plot_every and \
                    run.step % config.plot_every == 0:
                from gp_spec.harness import plots  # matplotlib: only when drawing

                plots.write_plots(out / "plots", f"step_{run.step:07d}_", run.critic,
                                  run.generator, inputs,
                                  derive_seed(config.seed, "plot", run.step),
                                  label=run_label(config, run.step))
            bar.update(1, progress_info(history[-1]) if history else None)
            if on_step is not None:
                on_step(run.step)
        final = finish(out, run, config, inputs, t0, resumed_from,
                       plots_at_end=plots_at_end) if d.main else {}
    finally:
        bar.close()
        writer.close()
        if d.owns_group:
            dist.destroy_process_group()
    return TrainResult(config, out, run.step, run.critic_updates, tuple(history), final,
                       run.critic, run.generator, resumed_from, time.perf_counter() - t0,
                       d.main)
