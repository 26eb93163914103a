"""Helpers shared by the figure experiments (F1-F5): W1 fluctuation, curves, toy runs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from gp_spec.harness.claims._common import (
    Measured,
    RunContext,
    RunRecord,
    aligned,
    fmt,
    history_values,
    median,
    save_figure,
    stats,
    train_cached,
    train_planned,
)
from gp_spec.harness.claims.petzka import _WARMUP, _toy_config
from gp_spec.harness.config import TrainConfig

__all__ = ["Variants", "below", "curves", "record", "toy_plan", "toy_runs", "w1_first",
           "w1_fluctuation"]


def w1_fluctuation(rec: RunRecord) -> float:
    """Median ``|W_{t+1} - 2 W_t + W_{t-1}|`` of the assignment W1 over consecutive
    evaluations after the warm-up (the second difference removes a steady decrease)."""
    _, vals = history_values(rec, "w1_assignment", after=_WARMUP)
    return float(np.median(np.abs(np.diff(vals, n=2)))) if len(vals) >= 3 else float("inf")


def w1_first(rec: RunRecord) -> float:
    v = rec.history[0].get("w1_assignment") if rec.history else None
    return float("inf") if v is None else float(v)


def curves(ctx: RunContext, runs: Mapping[str, list[RunRecord]], title: str, file: str) -> Path:
    fig = Figure(figsize=(10, 3.4))
    for i, (key, what) in enumerate((("critic_loss", "- critic loss (no penalty)"),
                                     ("w1_assignment", "assignment W1 (500 samples)"))):
        ax = fig.add_subplot(1, 2, i + 1)
        for label, recs in runs.items():
            steps, vals = aligned(recs, key)
            if steps.size == 0:
                continue
            vals = -vals if key == "critic_loss" else vals
            ax.plot(steps, np.median(vals, 0), label=label)
            ax.fill_between(steps, vals.min(0), vals.max(0), alpha=0.15)
        ax.set(xlabel="generator step", title=what)
        ax.legend(fontsize=7)
    fig.suptitle(f"{title}; median over {len(ctx.seeds)} seeds, band = min..max", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, ctx.out / file)


Variants = tuple[tuple[str, str, str, float], ...]
"""``(label, dataset, penalty, weight)`` rows of an experiment on C1's toy setup."""


def _labelled_plan(ctx: RunContext, variants: Variants
                   ) -> list[tuple[str, str, TrainConfig]]:
    return [(label, f"{ds}-{pen}-w{w:g}-s{seed}", _toy_config(ctx, ds, pen, w, seed))
            for label, ds, pen, w in variants for seed in ctx.seeds]


def toy_plan(ctx: RunContext, variants: Variants) -> list[tuple[str, TrainConfig]]:
    """``(run tag, config)`` of every variant and seed, in the order :func:`toy_runs` trains."""
    return [(tag, cfg) for _l, tag, cfg in _labelled_plan(ctx, variants)]


def toy_runs(ctx: RunContext, claim: str, variants: Variants) -> dict[str, list[RunRecord]]:
    """``label -> runs`` for ``(label, dataset, penalty, weight)`` on C1's toy setup."""
    items = _labelled_plan(ctx, variants)
    train_planned(ctx, claim, [(tag, cfg) for _l, tag, cfg in items])
    runs: dict[str, list[RunRecord]] = {}
    for label, tag, cfg in items:
        runs.setdefault(label, []).append(train_cached(ctx, claim, tag, cfg))
    return runs


def record(m: Measured, runs: Mapping[str, list[RunRecord]], metrics: Mapping[str, Any]) -> None:
    for label, recs in runs.items():
        for name, fn in metrics.items():
            s = stats([fn(r) for r in recs])
            m.values[f"{label}/{name}"] = s
            m.per_seed[f"{label}/{name}"] = s["values"]


def below(a: str, b: str, metric: str) -> Any:
    def ev(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
        x, y = v[f"{a}/{metric}"], v[f"{b}/{metric}"]
        return median(x) < median(y), f"{a} {fmt(x)} vs {b} {fmt(y)}"
    return ev


