"""Many training runs in one process: ``train_many(configs, out_dirs)``.

Runs that differ only in ``seed``, ``weight``, ``dataset``/``scale``/``pool_size`` (data sets
with one event shape) and the gradient penalty (any spec of the ``gradient`` family, so term
and measure may differ) are trained **together**: their MLPs are stacked
(:class:`gp_spec.harness.stacked.StackedMLP`, one batched matmul per layer for all runs), one
optimiser steps the stacked parameters (Adam, RMSprop and SGD act elementwise, so this is each
run's own optimiser), and the losses of all runs are summed before one backward (the runs share
no parameter, so each gets exactly its own gradient).

**Each run is the single-run trainer's run.** Every member is built by
:func:`gp_spec.harness.train.build_run` (same initialisation and random streams), draws its data,
noise and penalty points from its own generators in the same order as
:func:`gp_spec.harness.train.train`, is evaluated by the same code with the same seeds, and
writes the same files (``config.json``, ``metrics.jsonl``, ``checkpoint.pt``, ``summary.json``)
into its own folder: a run trained here can be resumed by ``train`` and vice versa. The only
difference is floating-point: a batched matmul may sum in another order than the single
run's ``addmm`` (on the CPU the results agree bit for bit except in the critic's 1-unit output
layer), so metrics agree to float32 rounding over short horizons and drift apart as GAN training
amplifies rounding (as they do between two machines). ``tests/test_harness_many.py`` states
the tolerance.

Not supported (ConfigError): image architectures, penalties other than the gradient family
(difference quotients, transport, max-gradient), mixing penalised with unpenalised runs, DDP,
``amp``. Use :func:`gp_spec.harness.train.train` for those.
"""
# Over 500 lines: the joint loop, its resume and its per-run metrics must match train.py step by
# step, so they are kept together where the equality test can be read against them.

from __future__ import annotations

import contextlib
import copy
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

import torch
from torch import Tensor, nn

from gp_spec._devices import resolve_device
from gp_spec._progress import Progress
from gp_spec._seeding import derive_seed
from gp_spec._types import Measure
from gp_spec.constraints import clip_weights
from gp_spec.harness import data as data_mod
from gp_spec.harness._runstate import (
    CONFIG,
    METRICS,
    SINGLE,
    MetricsWriter,
    Run,
    load_for_resume,
    restore,
    write_checkpoint,
)
from gp_spec.harness.checkpoint import atomic_write_text
from gp_spec.harness.config import TrainConfig
from gp_spec.harness.errors import ConfigError
from gp_spec.harness.stacked import StackedMLP
from gp_spec.harness.train import (
    TrainResult,
    build_dataset,
    build_optimizer,
    build_run,
    eval_inputs,
    finish,
    log_record,
    progress_info,
    run_label,
)
from gp_spec.objectives import Objective, get_objective

__all__ = ["FREE_FIELDS", "group_key", "plan_groups", "train_all", "train_many"]

FREE_FIELDS: frozenset[str] = frozenset({"seed", "weight", "dataset", "scale", "mode_std",
                                         "pool_size", "penalty"})
"""Config fields in which the runs of one group may differ (``penalty`` within the gradient
family); every other field is shared."""


def _penalty_kind(config: TrainConfig, event_shape: tuple[int, ...]) -> str:
    """``"gradient, p points"``, ``"none"`` or ``"clip <c>"``: runs of one group share it (p:
    points the penalty measure draws per sample pair, 2 for a real + fake union)."""
    if config.penalty == "none":
        return "none"
    if config.penalty == "clip":
        return f"clip {config.clip!r}"
    from gp_spec.harness.steps import lookup_spec

    spec = lookup_spec(config.penalty)
    if spec.family != "gradient" or spec.measure is None:
        raise ConfigError(f"penalty {config.penalty!r} ({spec.family} family): many-runs "
                          "training supports gradient penalties, clip and none; use train()")
    probe = torch.zeros(2, *event_shape)
    points = spec.measure.sample(probe, probe, generator=torch.Generator()).points.shape[0]
    return f"gradient, {points // 2} points"


def group_key(config: TrainConfig) -> tuple[Any, ...]:
    """Runs with equal keys can be trained together (:data:`FREE_FIELDS` may differ)."""
    shared = {k: v for k, v in config.to_dict().items() if k not in FREE_FIELDS}
    shape = data_mod.get_dataset(config.dataset, scale=config.scale,
                                 mode_std=config.mode_std).event_shape
    return (tuple(sorted((k, repr(v)) for k, v in shared.items())), shape,
            _penalty_kind(config, shape))


def plan_groups(configs: Sequence[TrainConfig], max_members: int | None = None
                ) -> list[list[int]]:
    """Indices of ``configs`` partitioned into trainable groups (in first-seen order), each
    of at most ``max_members`` runs."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, cfg in enumerate(configs):
        groups.setdefault(group_key(cfg), []).append(i)
    out: list[list[int]] = []
    size = max_members or len(configs) or 1
    for idx in groups.values():
        out += [idx[j:j + size] for j in range(0, len(idx), size)]
    return out


def train_all(configs: Sequence[TrainConfig], out_dirs: Sequence[str | Path | None] | None = None,
              *, max_members: int | None = None, **kwargs: Any) -> list[TrainResult]:
    """:func:`train_many` on each group of :func:`plan_groups`; results in ``configs`` order."""
    dirs = list(out_dirs) if out_dirs is not None else [None] * len(configs)
    results: dict[int, TrainResult] = {}
    for idx in plan_groups(configs, max_members):
        got = train_many([configs[i] for i in idx], [dirs[i] for i in idx], **kwargs)
        results.update(zip(idx, got, strict=True))
    return [results[i] for i in range(len(configs))]


def _check_group(configs: Sequence[TrainConfig]) -> None:
    if not configs:
        raise ConfigError("train_many needs at least one configuration")
    keys = [group_key(c) for c in configs]
    if len(set(keys)) > 1:
        a, b = configs[0].to_dict(), next(c for c, k in zip(configs, keys, strict=True)
                                          if k != keys[0]).to_dict()
        diff = sorted(k for k in a if a[k] != b[k] and k not in FREE_FIELDS)
        raise ConfigError(f"runs differ in {diff or ['penalty family / event shape']}, but one "
                          f"group may differ only in {sorted(FREE_FIELDS)}; use train_all")
    c = configs[0]
    if c.architecture != "mlp":
        raise ConfigError(f"architecture={c.architecture!r}: many-runs training stacks MLPs "
                          "only; use train()")
    if c.amp:
        raise ConfigError("amp=True: many-runs training runs in float32; use train()")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError("many-runs training does not run under DDP; use train()")


def train_many(
    configs: Sequence[TrainConfig],
    out_dirs: Sequence[str | Path | None] | None = None,
    *,
    resume: bool = False,
    progress: TextIO | None = sys.stderr,
    plots_at_end: bool = True,
    eval_workers: int = 1,
    on_step: Callable[[int], None] | None = None,
) -> list[TrainResult]:
    """Train the runs of ``configs`` together (see the module docstring).

    Args:
      configs: one group (equal :func:`group_key`). out_dirs: one folder per run, or None.
      resume: continue each run from its checkpoint (runs at different steps are trained as
        separate groups, each from its own step). progress: stream for the progress display.
      plots_at_end: each run's PNGs at the end. eval_workers: with more than 1, threads
        evaluate the runs of a log step while training continues (POT's exact W1 releases
        the GIL); the records are the same as with 1.
      on_step: called with the step count after every generator step.

    Returns:
      One :class:`~gp_spec.harness.train.TrainResult` per config, in order.

    Raises:
      ConfigError: runs that cannot be stacked, refused settings (module docstring), and
        the errors of :func:`~gp_spec.harness.train.train` for each run.
    """
    _check_group(configs)
    outs = [None if o is None else Path(o) for o in (out_dirs or [None] * len(configs))]
    if len(outs) != len(configs):
        raise ConfigError(f"{len(outs)} out_dirs for {len(configs)} configs, but they should "
                          "pair up")
    payloads = [load_for_resume(o, c, resume, SINGLE) for c, o in zip(configs, outs, strict=True)]
    starts: dict[int, list[int]] = {}
    for i, p in enumerate(payloads):
        starts.setdefault(0 if p is None else int(p["step"]), []).append(i)
    results: dict[int, TrainResult] = {}
    for idx in starts.values():
        group = _Group([configs[i] for i in idx], [outs[i] for i in idx],
                       [payloads[i] for i in idx], resume=resume)
        got = group.train(progress=progress, plots_at_end=plots_at_end,
                          eval_workers=eval_workers, on_step=on_step)
        results.update(zip(idx, got, strict=True))
    return [results[i] for i in range(len(configs))]


# ------------------------------------------------------------------------------ the group


@contextlib.contextmanager
def _frozen(module: nn.Module) -> Iterator[None]:
    module.requires_grad_(False)
    try:
        yield
    finally:
        module.requires_grad_(True)


class _Group:
    """K members (single-run :class:`Run` objects) and their stacked networks."""

    def __init__(self, configs: list[TrainConfig], outs: list[Path | None],
                 payloads: list[dict[str, Any] | None], *, resume: bool) -> None:
        self.t0 = time.perf_counter()
        self.configs, self.outs = configs, outs
        c = configs[0]
        self.device = resolve_device(c.device)
        self.objective: Objective = get_objective(c.objective)
        self.datasets = [build_dataset(cfg) for cfg in configs]
        self.members: list[Run] = []
        self.resumed_from: int | None = None
        for cfg, ds, payload in zip(configs, self.datasets, payloads, strict=True):
            run = build_run(cfg, ds, SINGLE, self.device)
            run.init_rng = torch.get_rng_state()
            if payload is not None:
                restore(run, payload, SINGLE, self.device)
                run.init_rng = payload["torch_rng"]
                self.resumed_from = run.step
            self.members.append(run)
        first = self.members[0]
        self.step, self.critic_updates = first.step, first.critic_updates
        self.critic = StackedMLP.from_members([m.critic for m in self.members]).to(self.device)
        self.opt_critic = build_optimizer(self.critic.parameter_order(), c, c.lr_critic)
        _stack_opt_state([m.opt_critic for m in self.members], self.opt_critic,
                         self.critic.parameter_order())
        self.generator: StackedMLP | None = None
        self.opt_generator: torch.optim.Optimizer | None = None
        if first.generator is not None:
            self.generator = StackedMLP.from_members(
                [m.generator for m in self.members if m.generator is not None]).to(self.device)
            self.opt_generator = build_optimizer(self.generator.parameter_order(), c,
                                                 c.lr_generator)
            _stack_opt_state([m.opt_generator for m in self.members if m.opt_generator],
                             self.opt_generator, self.generator.parameter_order())
        self._penalty_setup()
        self.inputs = [eval_inputs(cfg, ds, m.regulariser, self.objective, self.device)
                       for cfg, ds, m in zip(configs, self.datasets, self.members, strict=True)]
        self.writers = [MetricsWriter(None if o is None else o / METRICS,
                                      0 if p is None else int(p["metrics_offset"]))
                        for o, p in zip(outs, payloads, strict=True)]
        for cfg, o in zip(configs, outs, strict=True):
            if o is not None:
                atomic_write_text(o / CONFIG, json.dumps(cfg.to_dict(), indent=2) + "\n")
        self.last: dict[str, Tensor] = {}
        self.pool: ThreadPoolExecutor | None = None
        self.pending: list[Future[dict[str, Any]]] = []
        self.histories: list[list[dict[str, Any]]] = [[] for _ in configs]

    # -------------------------------------------------------------------- penalty

    def _penalty_setup(self) -> None:
        regs = [m.regulariser for m in self.members]
        self.clip = regs[0].clip
        self.penalised = regs[0].penalty is not None
        self.on_probability = regs[0].on_probability
        if not self.penalised:
            return
        self.weights = torch.tensor([r.weight for r in regs], device=self.device)
        self.measures: list[Measure] = []
        terms: dict[Any, list[int]] = {}
        for k, r in enumerate(regs):
            spec = None if r.penalty is None else r.penalty.spec
            if spec is None or spec.measure is None or spec.term is None:
                raise ConfigError(f"run {k}: penalty {r.name!r} has no term and measure, but "
                                  "runs in one group are all penalised by gradient penalties")
            self.measures.append(spec.measure)
            terms.setdefault(spec.term, []).append(k)
        self.terms = [(t, torch.tensor(idx, device=self.device)) for t, idx in terms.items()]

    def _penalty(self, real: Tensor, fake: Tensor) -> Tensor:
        """``(K,)``: member k's ``weight_k * E_{mu_k}[term_k(||grad f_k||)]`` (SPEC §3), the
        measure's points drawn from member k's penalty generator."""
        pts = [mu.sample(real[k], fake[k], generator=m.penalty_gen)
               for k, (mu, m) in enumerate(zip(self.measures, self.members, strict=True))]
        x = torch.stack([p.points for p in pts]).detach().requires_grad_(True)
        with torch.enable_grad():
            out = self.critic(x)
            if self.on_probability:
                out = torch.sigmoid(out)
            (grad,) = torch.autograd.grad(out, x, grad_outputs=torch.ones_like(out),
                                          create_graph=True)
        norms = torch.linalg.vector_norm(grad.flatten(2), dim=2)  # (K, N), as penalties do
        if len(self.terms) == 1:
            values = self.terms[0][0](norms)
        else:
            values = torch.zeros_like(norms)
            for term, idx in self.terms:
                values = values.index_put((idx,), term(norms[idx]))
        if not all(p.unit_weights for p in pts):
            values = torch.stack([p.weights for p in pts]) * values
        out_pen: Tensor = self.weights * values.mean(1)
        return out_pen

    # -------------------------------------------------------------------- steps

    def _real(self, n: int) -> Tensor:
        return torch.stack([ds.sample(n, m.data_gen) for ds, m in
                            zip(self.datasets, self.members, strict=True)]).to(self.device)

    def _fake(self, n: int) -> Tensor:
        if self.generator is None:
            return torch.stack([ds.sample_reference(n, m.data_gen) for ds, m in
                                zip(self.datasets, self.members, strict=True)]).to(self.device)
        z = self._noise(n)
        with torch.no_grad():
            fake: Tensor = self.generator(z)
        return fake.float()

    def _noise(self, n: int) -> Tensor:
        latent = self.configs[0].latent_dim
        return torch.stack([torch.randn(n, latent, generator=m.noise_gen)
                            for m in self.members]).to(self.device)

    def _critic_step(self, n: int) -> None:
        real = self._real(n)
        fake = self._fake(n)
        self.opt_critic.zero_grad(set_to_none=True)
        scores = self.critic(torch.cat([real, fake], dim=1))
        obj = self.objective
        loss = obj.phi(scores[:, n:]).mean(1) + obj.varphi(scores[:, :n]).mean(1)
        penalty = self._penalty(real, fake) if self.penalised else None
        total = loss if penalty is None else loss + penalty
        torch.autograd.backward(total.sum())
        self.opt_critic.step()
        if self.clip is not None:
            clip_weights(self.critic, self.clip)
        self.last["train_critic_loss"] = loss.detach()
        self.last["train_penalty"] = torch.zeros_like(loss) if penalty is None \
            else penalty.detach()

    def _generator_step(self, n: int) -> None:
        assert self.generator is not None and self.opt_generator is not None
        z = self._noise(n)
        self.opt_generator.zero_grad(set_to_none=True)
        with _frozen(self.critic):
            loss = self.objective.gen(self.critic(self.generator(z))).mean(1)
            torch.autograd.backward(loss.sum())
        self.opt_generator.step()
        self.last["train_generator_loss"] = loss.detach()

    # -------------------------------------------------------------------- members

    def _sync(self, *, optimisers: bool = False) -> None:
        """Copy the stacked state into every member's own modules (and optimisers)."""
        for k, m in enumerate(self.members):
            self.critic.copy_to(k, m.critic)
            if self.generator is not None and m.generator is not None:
                self.generator.copy_to(k, m.generator)
            m.step, m.critic_updates = self.step, self.critic_updates
            m.last = {key: v[k] for key, v in self.last.items()}
            if optimisers:
                m.opt_critic.load_state_dict(_member_opt_state(self.opt_critic, k))
                if self.opt_generator is not None and m.opt_generator is not None:
                    m.opt_generator.load_state_dict(_member_opt_state(self.opt_generator, k))

    def _log(self) -> None:
        """Evaluate every member at this step. With a pool the evaluations run in threads
        while training continues (the members' own modules hold this step's parameters until
        :meth:`_drain`); records are written in step order either way."""
        self._drain()
        self._sync()

        def one(k: int) -> dict[str, Any]:
            return log_record(self.members[k], SINGLE, self.inputs[k], self.configs[k], self.t0)

        if self.pool is not None:
            self.pending = [self.pool.submit(one, k) for k in range(len(self.members))]
            return
        self._write([one(k) for k in range(len(self.members))])

    def _drain(self) -> None:
        """Wait for the evaluations in flight and write their records."""
        if self.pending:
            records = [f.result() for f in self.pending]
            self.pending = []
            self._write(records)

    def _write(self, records: list[dict[str, Any]]) -> None:
        for k, rec in enumerate(records):
            self.writers[k].write(rec)
            self.histories[k].append(rec)

    def train(self, *, progress: TextIO | None, plots_at_end: bool, eval_workers: int,
              on_step: Callable[[int], None] | None) -> list[TrainResult]:
        c = self.configs[0]
        n = c.batch_size
        bar = Progress(c.steps, f"gp-spec train x{len(self.members)}", stream=progress,
                       enabled=progress is not None)
        bar.update(self.step)
        self.pool = ThreadPoolExecutor(eval_workers) if eval_workers > 1 else None
        try:
            while self.step < c.steps:
                for _ in range(c.critic_steps_at(self.step)):
                    self._critic_step(n)
                    self.critic_updates += 1
                if self.generator is not None:
                    self._generator_step(n)
                self.step += 1
                if self.step % c.log_every == 0:
                    self._log()
                if self.step % c.checkpoint_every == 0 or self.step == c.steps:
                    self._checkpoint()
                if c.plot_every and self.step % c.plot_every == 0:
                    self._plots()
                bar.update(1, progress_info(self.histories[0][-1]) if self.histories[0]
                           else None)
                if on_step is not None:
                    on_step(self.step)
            self._drain()
            self._sync(optimisers=True)
            finals = [finish(o, m, cfg, inp, self.t0, self.resumed_from,
                             plots_at_end=plots_at_end)
                      for o, m, cfg, inp in zip(self.outs, self.members, self.configs,
                                                self.inputs, strict=True)]
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)
            bar.close()
            for w in self.writers:
                w.close()
        elapsed = time.perf_counter() - self.t0
        return [TrainResult(cfg, o, m.step, m.critic_updates, tuple(h), f, m.critic, m.generator,
                            self.resumed_from, elapsed)
                for cfg, o, m, h, f in zip(self.configs, self.outs, self.members,
                                           self.histories, finals, strict=True)]

    def _checkpoint(self) -> None:
        if not any(o is not None for o in self.outs):
            return
        self._drain()  # the checkpoint records the metrics file's length
        self._sync(optimisers=True)
        for o, m, cfg, w in zip(self.outs, self.members, self.configs, self.writers, strict=True):
            if o is not None:
                write_checkpoint(o, m, cfg, SINGLE, w)

    def _plots(self) -> None:
        from gp_spec.harness import plots  # matplotlib: only when drawing

        self._drain()
        self._sync()
        for o, m, cfg, inp in zip(self.outs, self.members, self.configs, self.inputs,
                                  strict=True):
            if o is not None:
                plots.write_plots(o / "plots", f"step_{self.step:07d}_", m.critic, m.generator,
                                  inp, derive_seed(cfg.seed, "plot", self.step),
                                  label=run_label(cfg, self.step))


# ------------------------------------------------------------------------------ optimiser state


def _member_opt_state(stacked: torch.optim.Optimizer, k: int) -> dict[str, Any]:
    """Member ``k``'s optimiser state dict: stacked buffers sliced at ``k``, scalars (Adam's
    ``step``) copied. Parameter index i is the same parameter in both (``parameter_order``)."""
    sd = stacked.state_dict()
    shapes = [tuple(p.shape) for g in stacked.param_groups for p in g["params"]]
    state = {i: {key: (v[k].clone() if isinstance(v, Tensor) and tuple(v.shape) == shapes[i]
                       else v.clone() if isinstance(v, Tensor) else copy.deepcopy(v))
                 for key, v in st.items()}
             for i, st in sd["state"].items()}
    return {"state": state, "param_groups": copy.deepcopy(sd["param_groups"])}


def _stack_opt_state(members: Sequence[torch.optim.Optimizer], stacked: torch.optim.Optimizer,
                     params: Sequence[Tensor]) -> None:
    """Load the members' optimiser states into ``stacked`` (inverse of :func:`_member_opt_state`).

    Raises:
      ConfigError: members whose scalar state (e.g. Adam's step count) differs.
    """
    sds = [o.state_dict() for o in members]
    if not sds or not sds[0]["state"]:
        return
    state: dict[int, dict[str, Any]] = {}
    for i, st0 in sds[0]["state"].items():
        state[i] = {}
        for key, v0 in st0.items():
            if isinstance(v0, Tensor) and (len(sds), *tuple(v0.shape)) == tuple(params[i].shape):
                state[i][key] = torch.stack([sd["state"][i][key] for sd in sds])
                continue
            if any(not _same(sd["state"][i][key], v0) for sd in sds):
                raise ConfigError(f"optimiser state {key!r} differs between the runs, but "
                                  "runs resumed together must be at the same step")
            state[i][key] = v0
    stacked.load_state_dict({"state": state, "param_groups": sds[0]["param_groups"]})


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return bool(torch.equal(a, b))
    return bool(a == b)
