"""F1-F3: figures of 003 that no claim covers, each an experiment with a criterion fixed
before it ran (issue 16 item 6): F1 App. D.2-D.3 (Figs 10-11, GP at weight 1), F2 App. D.4
(Figs 12-13, local perturbation), F3 App. D.5 (Fig. 14, LP for the Wasserstein-2 distance).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from gp_spec.harness.claims._common import (
    Criterion,
    Experiment,
    Measured,
    RunContext,
    RunRecord,
    aligned,
    fmt,
    median,
    save_figure,
    stats,
    train_cached,
    train_planned,
)
from gp_spec.harness.claims._figures_common import (
    below,
    curves,
    record,
    toy_plan,
    toy_runs,
    w1_first,
    w1_fluctuation,
)
from gp_spec.harness.claims.petzka import _oscillation, _toy_config, _w1_final
from gp_spec.harness.config import TrainConfig

__all__ = ["F1", "F2", "F3"]


# ------------------------------------------------------------------------------------ F1

_F1_WEIGHTS = (1.0, 5.0, 10.0)


def _f1_plan(ctx: RunContext) -> list[tuple[str, TrainConfig]]:
    """GP at weights 1, 5 and 10 on 8 Gaussians: C2's runs (shared through the cache)."""
    return [(f"8gaussians-wgan-gp-w{w:g}-s{seed}", _toy_config(ctx, "8gaussians", "wgan-gp", w,
                                                               seed))
            for w in _F1_WEIGHTS for seed in ctx.seeds]


def _f1_run(ctx: RunContext) -> Measured:
    m = Measured()
    items = _f1_plan(ctx)
    train_planned(ctx, "F1", items)
    runs: dict[float, list[RunRecord]] = {}
    for tag, cfg in items:
        runs.setdefault(float(cfg.weight or 0.0), []).append(train_cached(ctx, "F1", tag, cfg))
    for w, recs in runs.items():
        for metric, fn in (("w1_final", _w1_final), ("oscillation", _oscillation)):
            s = stats([fn(r) for r in recs])
            m.values[f"GP/w{w:g}/{metric}"] = s
            m.per_seed[f"GP/w{w:g}/{metric}"] = s["values"]
    m.setup["config_gp_w1"] = _toy_config(ctx, "8gaussians", "wgan-gp", 1.0, 0).to_dict()
    m.figures.append(_f1_figure(ctx, runs))
    return m


def _f1_figure(ctx: RunContext, runs: Mapping[float, list[RunRecord]]) -> Path:
    fig = Figure(figsize=(10, 3.4))
    for i, (key, title) in enumerate((("critic_loss", "- critic loss (no penalty)"),
                                      ("w1_assignment", "assignment W1 (500 samples)"))):
        ax = fig.add_subplot(1, 2, i + 1)
        for w, recs in sorted(runs.items()):
            steps, vals = aligned(recs, key)
            if steps.size == 0:
                continue
            vals = -vals if key == "critic_loss" else vals
            ax.plot(steps, np.median(vals, 0), label=f"GP weight {w:g}")
            ax.fill_between(steps, vals.min(0), vals.max(0), alpha=0.15)
        ax.set(xlabel="generator step", title=title)
        ax.legend(fontsize=7)
    steps_total = ctx.steps(300 if ctx.quick else 1000)
    fig.suptitle(f"F1 (003 Figs 10-11) 8 Gaussians: WGAN-GP at weights 1, 5, 10, "
                 f"{steps_total} steps; median over {len(ctx.seeds)} seeds, band = min..max",
                 fontsize=9)
    fig.tight_layout()
    return save_figure(fig, ctx.out / "f1_gp_weight1.png")


def _f1_checks(quick: bool) -> tuple[Criterion, ...]:
    def lower(metric: str, w_other: float) -> Any:
        def ev(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
            a, b = v[f"GP/w1/{metric}"], v[f"GP/w{w_other:g}/{metric}"]
            return median(a) < median(b), f"weight 1: {fmt(a)} vs weight {w_other:g}: {fmt(b)}"
        return ev

    return (
        Criterion("oscillation_w1_below_w5", "GP: median critic-loss oscillation (C1 v2 "
                  "metric) at weight 1 < at weight 5", lower("oscillation", 5.0)),
        Criterion("oscillation_w1_below_w10", "GP: median oscillation at weight 1 < at "
                  "weight 10", lower("oscillation", 10.0)),
        Criterion("w1_w1_below_w10", "GP: median final W1 at weight 1 < at weight 10",
                  lower("w1_final", 10.0)),
    )


F1 = Experiment(
    claim="F1",
    title="003 D.2-D.3 (Figs 10-11): WGAN-GP with weight 1 is stabilised (smaller critic-loss "
          "oscillation than at weights 5 and 10, lower W1 than at 10)",
    source="003 §6 ('With a smaller regularization parameter, lambda = 1, learning is "
           "stabilized'; 'stabilized training but still results in fluctuations in the "
           "beginning'), App. D.2-D.3, Figs 10-11",
    paper_setup="C1's setup (003 §6) with the GP penalty at weights 1, 5 and 10 on 8 Gaussians; "
                "Fig. 10: critic loss over 20 runs, Fig. 11: W1 over 10 runs. Full mode: 3x512, "
                "1000 steps, 10 seeds (the runs are C2's, shared through the run cache).",
    quick_changes="As C1 quick: 3x64 MLPs, 300 generator steps, 3 seeds (C2's quick runs).",
    metric="oscillation: C1 v2's median |L_{t+1} - 2 L_t + L_{t-1}| of the critic loss after the "
           "warm-up; w1_final: mean W1 over the last 5 evaluations. Medians over seeds.",
    criterion="GP: median oscillation at weight 1 < at weight 5 and < at weight 10; median "
              "final W1 at weight 1 < at weight 10 (3 checks). Registered before the runs it "
              "judges (the quick rerun of C1/C2 on this machine, 2026-11-30).",
    checks=_f1_checks,
    run=_f1_run,
    plan=_f1_plan,
)


# ------------------------------------------------------------------------------------ F2

_F2 = (("GP local (real)", "8gaussians", "wgan-gp-local", 5.0),
       ("GP local (real + fake)", "8gaussians", "wgan-gp-local-both", 5.0),
       ("LP local (real + fake)", "8gaussians", "wgan-lp-local-both", 5.0))


def _f2_plan(ctx: RunContext) -> list[tuple[str, TrainConfig]]:
    return toy_plan(ctx, _F2)


def _f2_run(ctx: RunContext) -> Measured:
    m = Measured()
    runs = toy_runs(ctx, "F2", _F2)
    record(m, runs, {"oscillation": _oscillation, "w1_fluctuation": w1_fluctuation,
                      "w1_final": _w1_final})
    m.setup["config_lp_local"] = _f2_plan(ctx)[-1][1].to_dict()
    m.figures.append(curves(ctx, runs, "F2 (003 Figs 12-13) 8 Gaussians, weight 5, penalty "
                                        "points = samples + N(0, 0.1^2)", "f2_local.png"))
    return m


def _f2_checks(quick: bool) -> tuple[Criterion, ...]:
    lp, gp_r, gp_b = (v[0] for v in (_F2[2], _F2[0], _F2[1]))
    return (
        Criterion("oscillation_lp_below_gp_real", f"median critic-loss oscillation (C1 v2): "
                  f"{lp} < {gp_r}", below(lp, gp_r, "oscillation")),
        Criterion("oscillation_lp_below_gp_both", f"median oscillation: {lp} < {gp_b}",
                  below(lp, gp_b, "oscillation")),
        Criterion("w1_fluctuation_lp_below_gp_real", f"median W1 fluctuation (|second "
                  f"difference| of W1 over evaluations): {lp} < {gp_r}",
                  below(lp, gp_r, "w1_fluctuation")),
    )


F2 = Experiment(
    claim="F2",
    title="003 App. D.4 (Figs 12-13): with local perturbation the GP critic loss still "
          "fluctuates more than LP's, and GP's W1 fluctuates more",
    source="003 App. D.4, Figs 12-13",
    paper_setup="C1's toy setup (003 §6) on 8 Gaussians with the penalty evaluated at samples "
                "plus Gaussian noise: GP on perturbed real samples, GP and LP on perturbed real "
                "and generated samples (harness specs wgan-gp-local, wgan-gp-local-both, "
                "wgan-lp-local-both), weight 5 (Fig. 13). 003 does not state the noise; here "
                "std 0.1 (this harness's choice, fixed before the run). Full mode: 3x512, 1000 "
                "steps, 10 seeds.",
    quick_changes="As C1 quick: 3x64 MLPs, 300 generator steps, 3 seeds.",
    metric="oscillation (C1 v2) of the critic loss; w1_fluctuation: median |second difference| "
           "of the assignment W1 over consecutive evaluations after the warm-up; w1_final.",
    criterion="median oscillation of LP (real + fake) < GP (real) and < GP (real + fake); "
              "median W1 fluctuation of LP (real + fake) < GP (real). 3 checks. Registered "
              "2026-11-30 before any F2 run.",
    checks=_f2_checks,
    run=_f2_run,
    plan=_f2_plan,
)


# ------------------------------------------------------------------------------------ F3

_F3 = (("LP for W2", "swissroll", "w2-quotient", 10.0),
       ("GP", "swissroll", "wgan-gp", 5.0))


def _f3_plan(ctx: RunContext) -> list[tuple[str, TrainConfig]]:
    return toy_plan(ctx, _F3)


def _f3_run(ctx: RunContext) -> Measured:
    m = Measured()
    runs = toy_runs(ctx, "F3", _F3)
    record(m, runs, {"oscillation": _oscillation, "w1_final": _w1_final,
                      "w1_first": w1_first})
    m.setup["config_w2"] = _f3_plan(ctx)[0][1].to_dict()
    m.figures.append(curves(ctx, runs, "F3 (003 Fig. 14) Swiss roll: LP for W2 (lambda 10) "
                                        "vs GP (lambda 5)", "f3_w2.png"))
    return m


def _f3_checks(quick: bool) -> tuple[Criterion, ...]:
    def halves(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
        fin, first = v["LP for W2/w1_final"], v["LP for W2/w1_first"]
        return median(fin) <= 0.5 * median(first), f"final {fmt(fin)} vs first {fmt(first)}"

    return (
        Criterion("w2_w1_halves", "LP for W2: median final W1 <= half the median W1 at the "
                  "first evaluation (the EM distance reduces)", halves),
        Criterion("w2_smoother_than_gp", "median critic-loss oscillation (C1 v2): LP for W2 < "
                  "GP at weight 5 on the same data", below("LP for W2", "GP", "oscillation")),
    )


F3 = Experiment(
    claim="F3",
    title="003 App. D.5 (Fig. 14): a WGAN-LP for the Wasserstein-2 distance reduces the critic "
          "loss and the EM distance smoothly on the Swiss roll",
    source="003 App. D.5, Eq. 11, Fig. 14",
    paper_setup="C1's toy setup on the Swiss roll with the penalty max(0, |f(x) - f(y)| / "
                "||x - y||^2 - 1)^2 (003 Eq. 11, spec w2-quotient), lambda = 10; compared with "
                "GP at lambda 5 on the same data (003 Fig. 4's unstable case). Full mode: 3x512, "
                "1000 steps, 5 seeds (Fig. 14: medians over 5 runs).",
    quick_changes="3x64 MLPs, 300 generator steps, 3 seeds.",
    metric="w1_final and w1_first (assignment W1 at the last 5 and at the first evaluation); "
           "oscillation (C1 v2) of the critic loss.",
    criterion="LP for W2: median final W1 <= half its median first-evaluation W1; median "
              "oscillation LP for W2 < GP (lambda 5). 2 checks. Registered 2026-11-30 before "
              "any F3 run.",
    checks=_f3_checks,
    run=_f3_run,
    plan=_f3_plan,
    seeds=(3, 5),
)


