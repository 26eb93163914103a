"""C4, C5: the zero-centred gradient penalty (0-GP) against no GP, 1-GP and 0-GP-sample
(004 §6.1-6.2, Figs 1-2, App. E.1).

004's 0-GP-sample penalises samples of the whole training set ``D_r u D_g`` (Table 1); the
harness's specs offer R1 (real samples) and R2 (fake samples) separately, and R1 (Mescheder
et al. 2018, which 004 cites for 0-GP-sample) stands for it here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from gp_spec.harness.claims._common import (
    Check,
    Experiment,
    Measured,
    RunContext,
    RunRecord,
    aligned,
    fmt,
    median,
    samples,
    save_figure,
    seeded,
    stats,
    train_cached,
)
from gp_spec.harness.config import TrainConfig, get_preset
from gp_spec.harness.data import two_gaussians
from gp_spec.harness.steps import get_objective
from gp_spec.harness.train import build_dataset

__all__ = ["C4", "C5"]

# ------------------------------------------------------------------------------------ C4

_C4_POOL = 50
_C4_LARGE_POOL = 5000
_C4_VARIANTS: tuple[tuple[str, str, str, int], ...] = (
    # key, label, penalty, pool size
    ("none", "no GP", "none", _C4_POOL),
    ("none-large", "no GP, 5000 samples", "none", _C4_LARGE_POOL),
    ("1gp", "1-GP", "wgan-gp", _C4_POOL),
    ("r1", "0-GP-sample (R1)", "r1", _C4_POOL),
    ("0gp", "0-GP", "gan-0gp", _C4_POOL),
)


def _c4_config(ctx: RunContext, penalty: str, pool: int, seed: int) -> TrainConfig:
    """Preset thanh-tung2019-fig1 (critic-only, minimax, 2x64, SGD 3e-3, 10,000 steps)."""
    return get_preset("thanh-tung2019-fig1").config.replace(
        penalty=penalty, weight=None if penalty == "none" else 1.0, pool_size=pool, seed=seed,
        steps=10_000, log_every=1000, checkpoint_every=10_000, eval_samples=500,
        device=ctx.device)


def _generalisation_gap(rec: RunRecord, seed: int) -> float:
    """``L_D`` on fresh samples minus ``L_D`` on the training pool (10,000 draws each)."""
    gen = seeded(20_000 + seed)
    pool = build_dataset(rec.config)
    fresh = two_gaussians()
    obj = get_objective("minimax")
    with torch.no_grad():
        train_loss = obj.critic_loss(rec.critic(pool.sample(10_000, gen)),
                                     rec.critic(pool.sample_reference(10_000, gen)))
        test_loss = obj.critic_loss(rec.critic(fresh.sample(10_000, gen)),
                                    rec.critic(fresh.sample_reference(10_000, gen)))
    return float(test_loss - train_loss)


def _c4_run(ctx: RunContext) -> Measured:
    m = Measured()
    first: dict[str, RunRecord] = {}
    for key, _label, penalty, pool in _C4_VARIANTS:
        mse, gap = [], []
        for seed in ctx.seeds:
            rec = train_cached(ctx, "C4", f"two-gaussians-{key}-s{seed}",
                               _c4_config(ctx, penalty, pool, seed))
            mse.append(float(rec.final["mse_dstar"]))
            gap.append(_generalisation_gap(rec, seed))
            first.setdefault(key, rec)
        m.values[f"{key}/mse_dstar"] = stats(mse)
        m.values[f"{key}/generalisation_gap"] = stats(gap)
        m.per_seed[f"{key}/mse_dstar"] = mse
        m.per_seed[f"{key}/generalisation_gap"] = gap
    m.setup["config_0gp"] = _c4_config(ctx, "gan-0gp", _C4_POOL, 0).to_dict()
    m.figures.append(_c4_figure(ctx, first))
    return m


def _c4_figure(ctx: RunContext, runs: Mapping[str, RunRecord]) -> Path:
    ds = two_gaussians()
    num = 100
    xs = torch.linspace(-3, 3, num)
    gy, gx = torch.meshgrid(xs, xs, indexing="ij")
    grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    fig = Figure(figsize=(12, 7))
    levels = np.linspace(0, 1, 21)
    panels = [(label, runs[key]) for key, label, _p, _s in _C4_VARIANTS]
    for i, (label, rec) in enumerate(panels):
        ax = fig.add_subplot(2, 3, i + 1)
        with torch.no_grad():
            d = torch.sigmoid(rec.critic(grid)).reshape(num, num).numpy()
        ax.contourf(xs.numpy(), xs.numpy(), d, levels=levels, cmap="coolwarm")
        pool = build_dataset(rec.config)
        if rec.config.pool_size is not None and rec.config.pool_size <= 100:
            g = seeded(1)
            r, f = pool.sample(400, g), pool.sample_reference(400, g)
            ax.scatter(r[:, 0], r[:, 1], s=5, c="darkred")
            ax.scatter(f[:, 0], f[:, 1], s=5, c="navy")
        ax.set(title=f"{label}: MSE {rec.final['mse_dstar']:.4f}", aspect="equal")
    ax = fig.add_subplot(2, 3, 6)
    assert ds.log_ratio is not None
    cs = ax.contourf(xs.numpy(), xs.numpy(),
                     torch.sigmoid(ds.log_ratio(grid.double())).reshape(num, num).numpy(),
                     levels=levels, cmap="coolwarm")
    ax.set(title="D* = p_r / (p_r + p_g) (004 Eq. 2)", aspect="equal")
    fig.colorbar(cs, ax=fig.axes, shrink=0.8)
    fig.suptitle(f"C4: D = sigmoid(f) after 10,000 SGD steps, seed {ctx.seeds[0]} "
                 f"(training pool of {_C4_POOL} per side shown)", fontsize=10)
    return save_figure(fig, ctx.out / "c4_value_surfaces.png")


def _c4_checks(quick: bool) -> tuple[Check, ...]:
    checks = []
    for key, label, _p, _s in _C4_VARIANTS:
        if key == "0gp":
            continue

        def ev(v: Mapping[str, Any], q: bool, key: str = key) -> tuple[bool, str]:
            ours, other = v["0gp/mse_dstar"], v[f"{key}/mse_dstar"]
            return median(ours) < median(other), f"0-GP {fmt(ours)} vs {fmt(other)}"

        checks.append(Check(f"mse_0gp_below_{key}",
                            f"median grid MSE to D*: 0-GP < {label}", ev))
    return tuple(checks)


C4 = Experiment(
    claim="C4",
    title="On two Gaussians a 2x64 MLP discriminator with 0-GP is closest to D*; without GP "
          "or with 0-GP-sample it overfits",
    source="004 §4.1, §6.1, Fig. 1",
    paper_setup="Two Gaussians (real vs fixed fake), discriminator 2x64 MLP trained alone for "
                "10,000 iterations on a finite sample set with the original GAN loss; (a) no "
                "GP, (b) no GP with more samples, (c) 1-GP, (d) 0-GP-sample, (e) 0-GP, all "
                "lambda = 1; compared with D* (Eq. 2). Not stated in 004 and chosen here: "
                "means (+-1, 0), std 0.5 (harness two-gaussians), 50 samples per side (5000 "
                "for (b)), batch 256 drawn from that set, SGD lr 0.003 (004 App. E.1). Full "
                "mode: the same with 10 seeds.",
    quick_changes="Only the number of seeds (3 instead of 10): 15 runs of 10,000 steps of a "
                  "2x64 MLP fit in about 5 minutes on 2 cores.",
    metric="MSE between D = sigmoid(f) and D* on a 101x101 grid over [-3, 3]^2 (harness "
           "metric mse_dstar); also the generalisation gap L_D(fresh samples) - L_D(training "
           "set). Medians over seeds.",
    criterion="median MSE to D* of 0-GP smaller than that of each other variant (no GP, no GP "
              "with 5000 samples, 1-GP, 0-GP-sample): 4 checks.",
    checks=_c4_checks,
    run=_c4_run,
)


# ------------------------------------------------------------------------------------ C5

_C5_VARIANTS: tuple[tuple[str, str, str], ...] = (
    ("none", "no GP", "none"),
    ("1gp", "1-GP", "wgan-gp"),
    ("r1", "0-GP-sample (R1)", "r1"),
    ("0gp", "0-GP", "gan-0gp"),
)


def _c5_config(ctx: RunContext, penalty: str, seed: int) -> TrainConfig:
    """Preset thanh-tung2019-8g; quick: 2x128 MLPs and 4,000 steps."""
    steps = 4000 if ctx.quick else 10_000
    hidden = (128, 128) if ctx.quick else (512, 512)
    return get_preset("thanh-tung2019-8g").config.replace(
        penalty=penalty, weight=None if penalty == "none" else 10.0, seed=seed, steps=steps,
        critic_hidden=hidden, generator_hidden=hidden, log_every=100, checkpoint_every=steps,
        eval_samples=500, device=ctx.device)


def _c5_run(ctx: RunContext) -> Measured:
    m = Measured()
    runs: dict[str, list[RunRecord]] = {}
    for key, _label, penalty in _C5_VARIANTS:
        final, late, hq, w1 = [], [], [], []
        runs[key] = []
        for seed in ctx.seeds:
            cfg = _c5_config(ctx, penalty, seed)
            rec = train_cached(ctx, "C5", f"8gaussians-x10-{key}-s{seed}", cfg)
            runs[key].append(rec)
            modes = [(int(r["step"]), r.get("modes_covered")) for r in rec.history]
            late_vals = [float(v) if v is not None else 0.0 for s, v in modes
                         if s > 0.75 * cfg.steps]
            final.append(float(rec.final.get("modes_covered", 0.0)))
            late.append(min(late_vals) if late_vals else 0.0)
            hq.append(float(rec.final.get("high_quality", 0.0)))
            w1.append(float(rec.final.get("w1_assignment", float("inf"))))
        for name, vals in (("modes_final", final), ("modes_late_min", late),
                           ("high_quality", hq), ("w1_final", w1)):
            m.values[f"{key}/{name}"] = stats(vals)
            m.per_seed[f"{key}/{name}"] = vals
    m.setup["config_0gp"] = _c5_config(ctx, "gan-0gp", 0).to_dict()
    m.figures.append(_c5_figure(ctx, runs))
    return m


def _c5_figure(ctx: RunContext, runs: Mapping[str, list[RunRecord]]) -> Path:
    fig = Figure(figsize=(14, 3.6))
    first = runs["0gp"][0]
    centres = build_dataset(first.config).centres
    for i, (key, label, _p) in enumerate(_C5_VARIANTS):
        rec = runs[key][0]
        pts = samples(rec, 500, seeded(7))
        ax = fig.add_subplot(1, 5, i + 1)
        ax.scatter(pts[:, 0], pts[:, 1], s=3, c="blue", alpha=0.5)
        if centres is not None:
            ax.scatter(centres[:, 0], centres[:, 1], s=30, c="red", marker="x")
        ax.set(title=f"{label}: {int(rec.final.get('modes_covered', 0))}/8 modes", aspect="equal",
               xlim=(-20, 20), ylim=(-20, 20))
    ax = fig.add_subplot(1, 5, 5)
    for key, label, _p in _C5_VARIANTS:
        steps, vals = aligned(runs[key], "modes_covered")
        if steps.size:
            ax.plot(steps, np.median(vals, 0), label=label)
    ax.set(xlabel="step", title="modes covered (median)", ylim=(-0.3, 8.3))
    ax.legend(fontsize=6)
    fig.suptitle(f"C5: 8 Gaussians x10, samples of seed {ctx.seeds[0]} at the end", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, ctx.out / "c5_modes.png")


def _c5_checks(quick: bool) -> tuple[Check, ...]:
    def all_final(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
        s = v["0gp/modes_final"]
        return median(s) >= 8, fmt(s)

    def stable(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
        s = v["0gp/modes_late_min"]
        return median(s) >= 7, fmt(s)

    checks = [
        Check("0gp_covers_8", "0-GP: median modes covered at the end = 8", all_final),
        Check("0gp_stable", "0-GP: median over seeds of the minimum modes covered over the "
              "evaluations of the last 25% of training >= 7", stable),
    ]
    for key, label, _p in _C5_VARIANTS:
        if key == "0gp":
            continue

        def ev(v: Mapping[str, Any], q: bool, key: str = key) -> tuple[bool, str]:
            fin, late = v[f"{key}/modes_final"], v[f"{key}/modes_late_min"]
            return (median(fin) < 8 or median(late) < 8,
                    f"final {fmt(fin)}, late minimum {fmt(late)}")

        checks.append(Check(f"{key}_collapses_or_jumps",
                            f"{label}: median modes at the end < 8, or median late minimum "
                            "< 8 (collapse or mode jumping)", ev))
    return tuple(checks)


C5 = Experiment(
    claim="C5",
    title="8 Gaussians x10: GAN-0-GP covers all 8 modes; no GP, 1-GP and 0-GP-sample collapse "
          "or jump between modes",
    source="004 §6.2, Fig. 2, App. E.1",
    paper_setup="8 Gaussians scaled by 10; generator and discriminator 2x512 MLPs; SGD lr "
                "0.003 for both, one discriminator update per generator update; lambda = 10 "
                "for every GP; 10,000 iterations; non-saturating generator loss (preset "
                "thanh-tung2019-8g; 004 does not state the latent size: 2 here). Full mode: "
                "that, 10 seeds.",
    quick_changes="2x128 MLPs instead of 2x512 and 4,000 iterations instead of 10,000, 3 seeds: "
                  "12 runs of the paper size would take ~1 h on 2 cores.",
    metric="modes covered (harness mode_statistics: a mode is covered if at least 10% of its "
           "fair share of 500 samples lie within 3 std of its centre) at the end, and the "
           "minimum over the evaluations (every 100 steps) in the last 25% of training; also "
           "high-quality share and W1.",
    criterion="0-GP: median final modes = 8 and median late minimum >= 7; each of no GP, 1-GP, "
              "0-GP-sample: median final modes < 8 or median late minimum < 8.",
    checks=_c5_checks,
    run=_c5_run,
)
