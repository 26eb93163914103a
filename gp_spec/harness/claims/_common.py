"""What every claim experiment shares: the run context, checks and verdicts, statistics over
seeds, cached training runs, and figure saving.

An experiment (:class:`Experiment`) states, before anything runs, the paper's setup, what
``--quick`` changes, the metric, and its pass criterion twice: as text and as
:class:`Criterion` functions of the measured numbers. Its ``run`` returns a :class:`Measured`; the
verdict is a function of the checks only (:func:`verdict`): all pass -> ``reproduced``, none
-> ``not reproduced``, otherwise ``partly``.
"""
# Over 500 lines (by a few): the experiment record, its statistics and the run cache are one
# contract every claim module imports; splitting it would spread one concept over files.

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

import numpy as np
import torch
from torch import nn

from gp_spec.harness.checkpoint import atomic_write_text, load_checkpoint
from gp_spec.harness.config import TrainConfig
from gp_spec.harness.train import build_dataset, build_models, train

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "Criterion",
    "CriterionResult",
    "CriterionVersion",
    "Experiment",
    "Measured",
    "RunContext",
    "Revision",
    "RunRecord",
    "Verdict",
    "aligned",
    "fmt",
    "history_values",
    "median",
    "samples",
    "save_figure",
    "seeded",
    "stats",
    "run_path",
    "train_cached",
    "train_planned",
    "verdict",
]

Verdict = Literal["reproduced", "partly", "not reproduced"]


@dataclass(frozen=True)
class RunContext:
    """Where and how an experiment runs.

    Attributes:
      out: the claim's folder ``DIR/<claim>`` (result.json and figures).
      runs: the shared cache of training runs ``DIR/runs`` (claims may share runs).
      quick: the ``--quick`` variant. seeds: the seeds to run.
      device: torch device name for training (``auto``, ``cpu``, ``cuda``, ...).
      progress: where one line per finished run goes (None: silent).
      smoke: shrink every training run to a few steps of tiny networks (tests of the
        plumbing only; the numbers mean nothing).
      many: train the runs of :func:`train_planned` together
        (:func:`gp_spec.harness.many.train_all`) before the experiment reads them.
      max_members: at most this many runs per stacked group (None: no limit).
      eval_workers: threads evaluating the stacked runs at each log step.
      seed_seconds: training wall time per seed, filled while the experiment runs (runs
        trained together are charged their share of the group's time).
      joint: with ``--many-runs`` over several claims, the wall time and the claims of the
        joint training that ran before the experiments (``{"seconds", "claims"}``).
    """

    def charge(self, seed: int, seconds: float) -> None:
        """Add ``seconds`` of training time to ``seed`` (for the per-seed records)."""
        self.seed_seconds[seed] = self.seed_seconds.get(seed, 0.0) + float(seconds)

    out: Path
    runs: Path
    quick: bool
    seeds: tuple[int, ...]
    device: str = "cpu"
    progress: TextIO | None = sys.stderr
    smoke: bool = False
    many: bool = False
    max_members: int | None = None
    eval_workers: int = 1
    seed_seconds: dict[int, float] = field(default_factory=dict, compare=False)
    joint: dict[str, Any] = field(default_factory=dict, compare=False)

    def steps(self, n: int) -> int:
        """``n``, or 3 in smoke mode."""
        return min(n, 3) if self.smoke else n

    def shrink(self, config: TrainConfig) -> TrainConfig:
        """``config``, or in smoke mode a 3-step version with 8-unit networks."""
        if not self.smoke:
            return config
        return config.replace(
            steps=3, log_every=1, checkpoint_every=3, warmup_generator_steps=0, critic_steps=1,
            critic_hidden=(8,) * len(config.critic_hidden),
            generator_hidden=(8,) * len(config.generator_hidden),
            batch_size=min(config.batch_size, 32), eval_samples=min(config.eval_samples, 32))

    def say(self, claim: str, message: str) -> None:
        """One progress line ``[reproduce C1] message``."""
        if self.progress is not None:
            print(f"[reproduce {claim}] {message}", file=self.progress, flush=True)


@dataclass(frozen=True)
class CriterionResult:
    """One evaluated criterion: its name, text, what was observed, and whether it passed."""

    name: str
    criterion: str
    observed: str
    passed: bool


@dataclass(frozen=True)
class Criterion:
    """A pass criterion fixed before the run: text plus a function of the measured numbers.

    Attributes:
      name: identifier (``w1_lp_below_gp_w5``).
      text: the criterion in words, with its thresholds.
      evaluate: ``(values, quick) -> (passed, observed)`` reading :attr:`Measured.values`.
    """

    name: str
    text: str
    evaluate: Callable[[Mapping[str, Any], bool], tuple[bool, str]]

    def __call__(self, values: Mapping[str, Any], quick: bool) -> CriterionResult:
        try:
            passed, observed = self.evaluate(values, quick)
        except (KeyError, TypeError, ValueError) as exc:  # a missing number fails the check
            passed, observed = False, f"not measured ({type(exc).__name__}: {exc})"
        return CriterionResult(self.name, self.text, observed, bool(passed))


@dataclass
class Measured:
    """What an experiment's ``run`` returns.

    Attributes:
      values: the numbers the checks read (medians over seeds, per group).
      per_seed: the raw numbers per seed, per group (written to result.json).
      figures: PNG paths written. notes: observations worth recording.
      setup: the configurations actually run (JSON-able).
    """

    values: dict[str, Any] = field(default_factory=dict)
    per_seed: dict[str, Any] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    setup: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Revision:
    """A later version of an experiment's criterion. It is registered (committed) before any
    run it judges; the earlier versions stay, and every recorded result is judged by each.

    Attributes:
      version: 2, 3, ... (version 1 is :attr:`Experiment.criterion` and ``checks``).
      registered: when and at which state it was fixed (e.g. a date and the parent commit).
      reason: why a new version was needed.
      criterion: the criterion in words. checks: ``quick -> criteria`` as code.
      seeds: the registered design ``(quick, full)`` number of seeds.
    """

    version: int
    registered: str
    reason: str
    criterion: str
    checks: Callable[[bool], tuple[Criterion, ...]]
    seeds: tuple[int, int]


@dataclass(frozen=True)
class CriterionVersion:
    """One version of an experiment's criterion, as :meth:`Experiment.versions` lists them."""

    version: int
    criterion: str
    checks: Callable[[bool], tuple[Criterion, ...]]
    seeds: tuple[int, int]
    registered: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Experiment:
    """One claim of SPEC §5 as a runnable experiment.

    Attributes:
      claim: ``C1`` ... ``C8``. title: the claim in one line. source: the paper's place.
      paper_setup: the paper's experimental setup (what full mode follows).
      quick_changes: what ``--quick`` changes, and why.
      metric: what is measured. criterion: the pass criterion in words (quick and full),
        version 1.
      checks: ``quick -> checks``; the criterion as functions of the measured numbers.
      run: ``RunContext -> Measured``.
      seeds: default number of seeds ``(quick, full)`` of version 1; ``(1, 1)`` for
        deterministic claims.
      deterministic: no randomness (seeds are ignored).
      plan: ``RunContext -> [(tag, config)]``, the training runs ``run`` will ask
        :func:`train_cached` for (so ``--many-runs`` can train them together first).
      revisions: later criterion versions (:class:`Revision`); the last one is current.
    """

    claim: str
    title: str
    source: str
    paper_setup: str
    quick_changes: str
    metric: str
    criterion: str
    checks: Callable[[bool], tuple[Criterion, ...]]
    run: Callable[[RunContext], Measured]
    seeds: tuple[int, int] = (3, 10)
    deterministic: bool = False
    plan: Callable[[RunContext], list[tuple[str, TrainConfig]]] | None = None
    revisions: tuple[Revision, ...] = ()

    def versions(self) -> tuple[CriterionVersion, ...]:
        """Every criterion version, oldest first; the last is current."""
        first = CriterionVersion(1, self.criterion, self.checks, self.seeds)
        return (first, *(CriterionVersion(r.version, r.criterion, r.checks, r.seeds,
                                          r.registered, r.reason) for r in self.revisions))

    def design_seeds(self, quick: bool) -> int:
        """The current version's registered number of seeds (1 if deterministic)."""
        if self.deterministic:
            return 1
        seeds = self.versions()[-1].seeds
        return seeds[0] if quick else seeds[1]


def verdict(results: Sequence[CriterionResult]) -> Verdict:
    """``reproduced`` if every check passed, ``not reproduced`` if none did, else ``partly``."""
    passed = sum(r.passed for r in results)
    if results and passed == len(results):
        return "reproduced"
    if passed == 0:
        return "not reproduced"
    return "partly"


# ------------------------------------------------------------------------------ statistics


def _finite(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def stats(values: Sequence[float]) -> dict[str, Any]:
    """Median and spread over seeds: ``median``, ``min``, ``max``, ``q25``, ``q75``, ``n``,
    ``n_nonfinite`` (diverged runs count as +inf in the median), and the ``values``."""
    raw = [float("inf") if v is None else float(v) for v in values]
    arr = np.asarray(raw, dtype=float)
    arr = np.where(np.isnan(arr), np.inf, arr)
    if arr.size == 0:
        return {"median": None, "min": None, "max": None, "q25": None, "q75": None, "n": 0,
                "n_nonfinite": 0, "values": []}

    def num(x: float) -> float | None:
        return float(x) if math.isfinite(float(x)) else None

    return {
        "median": num(float(np.median(arr))), "min": num(float(arr.min())),
        "max": num(float(arr.max())), "q25": num(float(np.quantile(arr, 0.25))),
        "q75": num(float(np.quantile(arr, 0.75))), "n": int(arr.size),
        "n_nonfinite": int((~np.isfinite(arr)).sum()),
        "values": [num(float(v)) for v in arr],
    }


def t_lower_bound(values: list[float], level: float = 0.95) -> float:
    """One-sided lower ``level`` confidence bound of a mean: ``mean - t_{level, n-1} s / sqrt(n)``
    (Student's t over independent seeds; ``-inf`` for fewer than 2 values)."""
    from scipy.stats import t as student_t

    x = np.asarray(values, dtype=float)
    if x.size < 2:
        return float("-inf")
    sd = float(x.std(ddof=1))
    return float(x.mean() - student_t.ppf(level, x.size - 1) * sd / math.sqrt(x.size))


def median(s: Mapping[str, Any]) -> float:
    """The median of a :func:`stats` dict; a diverged median is ``+inf``."""
    m = s["median"]
    return float("inf") if m is None else float(m)


def fmt(s: Mapping[str, Any], digits: int = 3) -> str:
    """``median [min, max]`` of a :func:`stats` dict."""
    def f(x: Any) -> str:
        return "inf" if x is None else f"{float(x):.{digits}g}"
    return f"{f(s['median'])} [{f(s['min'])}, {f(s['max'])}]"


# ------------------------------------------------------------------------------ training runs


@dataclass(frozen=True)
class RunRecord:
    """A finished training run (trained here or loaded from the cache).

    Attributes:
      config: the configuration. path: its folder. history: the metric records.
      final: metrics at the end. critic, generator: the networks (on the CPU).
      elapsed_s: training wall time (of the run that produced it). cached: loaded, not trained.
    """

    config: TrainConfig
    path: Path
    history: tuple[dict[str, Any], ...]
    final: dict[str, Any]
    critic: nn.Module
    generator: nn.Module | None
    elapsed_s: float
    cached: bool


def config_digest(config: TrainConfig) -> str:
    """First 10 hex digits of the SHA-256 of the config's JSON (device excluded: a run on
    another device is the same experiment)."""
    d = config.to_dict()
    d.pop("device", None)
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]


def _summary(path: Path) -> dict[str, Any]:
    p = path / "summary.json"
    return dict(json.loads(p.read_text())) if p.exists() else {}


def _finished(path: Path, config: TrainConfig) -> bool:
    """``path`` holds a finished run of ``config`` (any device)."""
    summary = _summary(path)
    if not summary or not (path / "checkpoint.pt").exists():
        return False
    saved = dict(summary.get("config", {}))
    mine = config.to_dict()
    saved.pop("device", None)
    mine.pop("device", None)
    return json.loads(json.dumps(saved)) == json.loads(json.dumps(mine)) \
        and int(summary.get("step", -1)) == config.steps


def _load_run(path: Path, config: TrainConfig) -> RunRecord | None:
    if not _finished(path, config):
        return None
    summary = _summary(path)
    payload = load_checkpoint(path / "checkpoint.pt")
    critic, generator = build_models(config, build_dataset(config))
    critic.load_state_dict(payload["critic"])
    if generator is not None:
        generator.load_state_dict(payload["generator"])
    history = []
    metrics = path / "metrics.jsonl"
    if metrics.exists():
        history = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    final = {k: (float("nan") if v is None else v) for k, v in summary["final"].items()}
    return RunRecord(config, path, tuple(history), final, critic.eval(),
                     None if generator is None else generator.eval(),
                     float(summary.get("elapsed_s", 0.0)), True)


def train_cached(ctx: RunContext, claim: str, tag: str, config: TrainConfig) -> RunRecord:
    """Train ``config`` in ``ctx.runs/<tag>-<digest>``, or load it if it finished before.

    A run interrupted after a checkpoint is resumed (:func:`gp_spec.harness.train.train`
    with ``resume=True``); the networks are returned on the CPU.
    """
    config = ctx.shrink(config)
    path = run_path(ctx, tag, config)
    loaded = _load_run(path, config)
    if loaded is not None:
        ctx.say(claim, f"{tag}: cached ({path.name})")
        ctx.charge(config.seed, loaded.elapsed_s / max(1, int(_summary(path).get("group", 1))))
        return loaded
    t0 = time.perf_counter()
    result = train(config.replace(device=ctx.device), path, resume=True, progress=ctx.progress,
                   plots_at_end=False)
    elapsed = time.perf_counter() - t0
    ctx.charge(config.seed, elapsed)
    shown = {k: result.final[k] for k in ("w1_assignment", "modes_covered", "sup_dist_abs",
                                          "mse_dstar") if k in result.final}
    ctx.say(claim, f"{tag}: {elapsed:.1f} s, " +
            ", ".join(f"{k} {v:.4g}" for k, v in shown.items()))
    gen = result.generator
    return RunRecord(config, path, result.history, dict(result.final), result.critic.cpu().eval(),
                     None if gen is None else gen.cpu().eval(), elapsed, False)


def run_path(ctx: RunContext, tag: str, config: TrainConfig) -> Path:
    """The cache folder of a run: ``ctx.runs/<tag>-<config digest>``."""
    return ctx.runs / f"{tag}-{config_digest(config)}"


def train_planned(ctx: RunContext, claim: str, items: Sequence[tuple[str, TrainConfig]]) -> None:
    """With ``ctx.many``: train every run of ``items`` not yet in the cache **together**
    (:func:`gp_spec.harness.many.train_all`, grouped by shape), into the folders where
    :func:`train_cached` finds them. Without it, nothing (``train_cached`` trains one by one).
    """
    if not ctx.many:
        return
    from gp_spec.harness.errors import ConfigError
    from gp_spec.harness.many import group_key, plan_groups, train_many

    def stackable(cfg: TrainConfig) -> bool:
        try:
            group_key(cfg)
        except ConfigError:  # e.g. a difference-quotient penalty: train_cached trains it alone
            return False
        return True

    todo = [(tag, ctx.shrink(cfg)) for tag, cfg in items]
    todo = [(tag, cfg) for tag, cfg in todo
            if stackable(cfg) and not _finished(run_path(ctx, tag, cfg), cfg)]
    if not todo:
        return

    configs = [cfg.replace(device=ctx.device) for _, cfg in todo]
    paths = [run_path(ctx, tag, cfg) for tag, cfg in todo]
    for idx in plan_groups(configs, ctx.max_members):
        ctx.say(claim, f"training {len(idx)} runs together ({todo[idx[0]][0]}, ...)")
        t0 = time.perf_counter()
        train_many([configs[i] for i in idx], [paths[i] for i in idx], resume=True,
                   progress=ctx.progress, plots_at_end=False, eval_workers=ctx.eval_workers)
        for i in idx:  # train_cached charges each run its share when it loads it
            _mark_group(paths[i], len(idx))
        ctx.say(claim, f"{len(idx)} runs in {time.perf_counter() - t0:.1f} s")


def _mark_group(path: Path, size: int) -> None:
    """Record in ``summary.json`` that the run was trained in a group of ``size`` (its
    ``elapsed_s`` is the group's wall time)."""
    summary = _summary(path)
    if summary:
        summary["group"] = size
        atomic_write_text(path / "summary.json", json.dumps(summary, indent=2) + "\n")


def history_values(record: RunRecord, key: str, *, after: int = 0) -> tuple[list[int], list[float]]:
    """Steps and finite values of ``key`` in a run's history, for steps ``> after``."""
    steps, vals = [], []
    for r in record.history:
        v = r.get(key)
        if v is not None and int(r["step"]) > after and math.isfinite(float(v)):
            steps.append(int(r["step"]))
            vals.append(float(v))
    return steps, vals


# ------------------------------------------------------------------------------ figures


def save_figure(fig: Figure, path: Path) -> Path:
    """Save a matplotlib ``Figure`` (Agg, no pyplot) as a small PNG (dpi 80)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, format="png")
    return path


def seeded(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed``."""
    return torch.Generator().manual_seed(int(seed))


def aligned(runs: Sequence[RunRecord], key: str) -> tuple[np.ndarray, np.ndarray]:
    """Steps logged by every run, and the ``(runs, steps)`` values of ``key`` there (a
    missing or non-finite value becomes NaN)."""
    per_run: list[dict[int, float]] = [
        {int(r["step"]): (np.nan if r.get(key) is None else float(r[key])) for r in run.history}
        for run in runs]
    common = sorted(set.intersection(*(set(d) for d in per_run))) if per_run else []
    vals = np.array([[d[s] for s in common] for d in per_run], dtype=float)
    return np.asarray(common, dtype=int), vals.reshape(len(per_run), len(common))


def samples(record: RunRecord, n: int, gen: torch.Generator) -> torch.Tensor:
    """``n`` generated samples of a run's generator, ``z ~ N(0, I)`` drawn from ``gen``."""
    if record.generator is None:
        raise ValueError(f"run {record.path.name} has no generator (critic-only)")
    z = torch.randn(n, record.config.latent_dim, generator=gen)
    with torch.no_grad():
        out: torch.Tensor = record.generator(z)
    return out.float()
