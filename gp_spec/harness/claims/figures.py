"""F2-F5: figures of the papers that no claim of SPEC §5 covers, each an experiment with a
criterion fixed before it ran (issue 16 item 6). F1 (003 Figs 10-11) lives with C1-C3 in
:mod:`.petzka`.

- F2: 003 App. D.4, Figs 12-13, GP and LP with local perturbation.
- F3: 003 App. D.5, Fig. 14, LP for the Wasserstein-2 distance on the Swiss roll.
- F4: 002 App. E, Fig. 18, gradient penalty against the max-gradient penalty (on C7's toy).
- F5: 004 Fig. 2 (c, d, f, g), TTUR with and without 0-GP on 8 Gaussians x10.
"""

from __future__ import annotations

import time
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
    history_values,
    median,
    save_figure,
    stats,
    train_cached,
    train_planned,
)
from gp_spec.harness.claims.petzka import _WARMUP, _oscillation, _toy_config, _w1_final
from gp_spec.harness.claims.thanh_tung import _c5_config, _c5_spread
from gp_spec.harness.claims.zhou import (
    _EARLY,
    _c7_steps,
    _points,
    _train_critic,
    alignment,
    discrete_optimum,
    t_lower_bound,
)
from gp_spec.harness.config import TrainConfig

__all__ = ["F2", "F3", "F4", "F5"]


def _w1_fluctuation(rec: RunRecord) -> float:
    """Median ``|W_{t+1} - 2 W_t + W_{t-1}|`` of the assignment W1 over consecutive
    evaluations after the warm-up (the second difference removes a steady decrease)."""
    _, vals = history_values(rec, "w1_assignment", after=_WARMUP)
    return float(np.median(np.abs(np.diff(vals, n=2)))) if len(vals) >= 3 else float("inf")


def _w1_first(rec: RunRecord) -> float:
    v = rec.history[0].get("w1_assignment") if rec.history else None
    return float("inf") if v is None else float(v)


def _curves(ctx: RunContext, runs: Mapping[str, list[RunRecord]], title: str, file: str) -> Path:
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


def _toy_runs(ctx: RunContext, claim: str, variants: tuple[tuple[str, str, str, float], ...]
              ) -> dict[str, list[RunRecord]]:
    """``label -> runs`` for ``(label, dataset, penalty, weight)`` on C1's toy setup."""
    items = [(label, f"{ds}-{pen}-w{w:g}-s{seed}", _toy_config(ctx, ds, pen, w, seed))
             for label, ds, pen, w in variants for seed in ctx.seeds]
    train_planned(ctx, claim, [(tag, cfg) for _l, tag, cfg in items])
    runs: dict[str, list[RunRecord]] = {}
    for label, tag, cfg in items:
        runs.setdefault(label, []).append(train_cached(ctx, claim, tag, cfg))
    return runs


def _record(m: Measured, runs: Mapping[str, list[RunRecord]], metrics: Mapping[str, Any]) -> None:
    for label, recs in runs.items():
        for name, fn in metrics.items():
            s = stats([fn(r) for r in recs])
            m.values[f"{label}/{name}"] = s
            m.per_seed[f"{label}/{name}"] = s["values"]


def _below(a: str, b: str, metric: str) -> Any:
    def ev(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
        x, y = v[f"{a}/{metric}"], v[f"{b}/{metric}"]
        return median(x) < median(y), f"{a} {fmt(x)} vs {b} {fmt(y)}"
    return ev


# ------------------------------------------------------------------------------------ F2

_F2 = (("GP local (real)", "8gaussians", "wgan-gp-local", 5.0),
       ("GP local (real + fake)", "8gaussians", "wgan-gp-local-both", 5.0),
       ("LP local (real + fake)", "8gaussians", "wgan-lp-local-both", 5.0))


def _f2_plan(ctx: RunContext) -> list[tuple[str, TrainConfig]]:
    return [(f"{ds}-{pen}-w{w:g}-s{seed}", _toy_config(ctx, ds, pen, w, seed))
            for _l, ds, pen, w in _F2 for seed in ctx.seeds]


def _f2_run(ctx: RunContext) -> Measured:
    m = Measured()
    runs = _toy_runs(ctx, "F2", _F2)
    _record(m, runs, {"oscillation": _oscillation, "w1_fluctuation": _w1_fluctuation,
                      "w1_final": _w1_final})
    m.setup["config_lp_local"] = _f2_plan(ctx)[-1][1].to_dict()
    m.figures.append(_curves(ctx, runs, "F2 (003 Figs 12-13) 8 Gaussians, weight 5, penalty "
                                        "points = samples + N(0, 0.1^2)", "f2_local.png"))
    return m


def _f2_checks(quick: bool) -> tuple[Criterion, ...]:
    lp, gp_r, gp_b = (v[0] for v in (_F2[2], _F2[0], _F2[1]))
    return (
        Criterion("oscillation_lp_below_gp_real", f"median critic-loss oscillation (C1 v2): "
                  f"{lp} < {gp_r}", _below(lp, gp_r, "oscillation")),
        Criterion("oscillation_lp_below_gp_both", f"median oscillation: {lp} < {gp_b}",
                  _below(lp, gp_b, "oscillation")),
        Criterion("w1_fluctuation_lp_below_gp_real", f"median W1 fluctuation (|second "
                  f"difference| of W1 over evaluations): {lp} < {gp_r}",
                  _below(lp, gp_r, "w1_fluctuation")),
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
    return [(f"{ds}-{pen}-w{w:g}-s{seed}", _toy_config(ctx, ds, pen, w, seed))
            for _l, ds, pen, w in _F3 for seed in ctx.seeds]


def _f3_run(ctx: RunContext) -> Measured:
    m = Measured()
    runs = _toy_runs(ctx, "F3", _F3)
    _record(m, runs, {"oscillation": _oscillation, "w1_final": _w1_final,
                      "w1_first": _w1_first})
    m.setup["config_w2"] = _f3_plan(ctx)[0][1].to_dict()
    m.figures.append(_curves(ctx, runs, "F3 (003 Fig. 14) Swiss roll: LP for W2 (lambda 10) "
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
                  "GP at weight 5 on the same data", _below("LP for W2", "GP", "oscillation")),
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


# ------------------------------------------------------------------------------------ F4

_F4 = (("max-gradient", "max-gradient", 1.0), ("GP", "wgan-gp", 10.0))


def _f4_run(ctx: RunContext) -> Measured:
    m = Measured()
    shares: dict[str, list[float]] = {label: [] for label, _p, _w in _F4}
    early: dict[str, list[float]] = {label: [] for label, _p, _w in _F4}
    for seed in ctx.seeds:
        real, fake = _points(seed)
        opt = discrete_optimum(real, fake, "linear", 1.0)
        for label, penalty, weight in _F4:
            t0 = time.perf_counter()
            critic, _initial, at10 = _train_critic(ctx, "linear", seed, real, fake, penalty,
                                                   weight)
            ctx.charge(seed, time.perf_counter() - t0)
            shares[label].append(float(np.mean(alignment(critic, real, fake,
                                                         opt).closer_to_partner)))
            early[label].append(float(np.mean(alignment(at10, real, fake,
                                                        opt).closer_to_partner)))
    for label in shares:
        for name, vals in (("points_at_partner", shares[label]),
                           (f"step{_EARLY}_points_at_partner", early[label])):
            m.values[f"{label}/{name}"] = stats(vals)
            m.per_seed[f"{label}/{name}"] = vals
    m.setup.update(objective="lipschitz:linear (WGAN)", steps=ctx.steps(_c7_steps(ctx.quick)),
                   penalties="max-gradient lambda 1 (as C7); wgan-gp lambda 10 (Gulrajani)")
    m.figures.append(_f4_figure(ctx, shares))
    return m


def _f4_figure(ctx: RunContext, shares: Mapping[str, list[float]]) -> Path:
    fig = Figure(figsize=(5, 3.6))
    ax = fig.add_subplot()
    seeds = np.asarray(ctx.seeds)
    for (label, vals), marker in zip(shares.items(), ("o", "s"), strict=True):
        ax.plot(seeds, vals, marker, label=label)
    ax.set(xlabel="seed", ylabel="share of fake points pointing at a partner", ylim=(-0.05, 1.05),
           title="F4 (002 Fig. 18) C7's toy, WGAN objective")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, ctx.out / "f4_gp_vs_max_gradient.png")


def _f4_checks(quick: bool) -> tuple[Criterion, ...]:
    def better(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
        a = v["max-gradient/points_at_partner"]["values"]
        b = v["GP/points_at_partner"]["values"]
        diff = [x - y for x, y in zip(a, b, strict=True)]
        low = t_lower_bound(diff)
        return low > 0, (f"max-gradient {np.mean(a):.3f} vs GP {np.mean(b):.3f}; paired gain "
                         f"{np.mean(diff):+.3f}, lower 95% bound {low:+.3f}")

    def gp_fails(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
        b = v["GP/points_at_partner"]["values"]
        low = t_lower_bound(b)
        return low < 0.8, f"GP mean {np.mean(b):.3f}, lower 95% bound {low:.3f} (bar 0.8)"

    return (
        Criterion("max_gradient_beats_gp", "per seed, share of fake points pointing at their "
                  "partner (C7 v2 metric), max-gradient minus GP: lower one-sided 95% t-bound "
                  "of the mean > 0", better),
        Criterion("gp_misses_c7_bar", "GP: the lower 95% bound of its mean share is < 0.8 "
                  "(it fails the bar C7 v2 sets for the max-gradient penalty)", gp_fails),
    )


F4 = Experiment(
    claim="F4",
    title="002 App. E (Fig. 18): with the gradient penalty the critic does not converge to the "
          "optimal f* (its gradients miss the real partners), with the max-gradient penalty "
          "it does",
    source="002 App. E, Eq. 18, Fig. 18",
    paper_setup="002 Fig. 18 uses ten real and ten noise images; here C7's toy (10 real and 10 "
                "fake points uniform on [-2, 2]^2 per seed, 3x128 critic trained alone, Adam "
                "1e-3, full batch), the WGAN objective (phi linear), max-gradient penalty "
                "lambda k(f)^2 with lambda 1 (as C7) against WGAN-GP with lambda 10, same seeds "
                "and initialisation. Full mode: 10,000 steps, 10 seeds.",
    quick_changes="2,000 steps, 10 seeds (as C7 quick).",
    metric="points_at_partner (C7 v2): per seed, the share of fake points whose grad f is "
           "closer in angle to its tight-partner cone (exact optimum) than to any other real "
           "point; also after 10 steps.",
    criterion="paired (per seed) gain max-gradient minus GP has a lower 95% t-bound > 0; GP's "
              "lower 95% bound of the mean share is < 0.8. 2 checks. Registered 2026-11-30 "
              "before any F4 run.",
    checks=_f4_checks,
    run=_f4_run,
    seeds=(10, 10),
)


# ------------------------------------------------------------------------------------ F5

_F5 = (("no GP", "none", 1), ("no GP, TTUR", "none", 3), ("0-GP", "gan-0gp", 1),
       ("0-GP, TTUR", "gan-0gp", 3))
"""(label, penalty, lr_D / lr_G): TTUR is 004's 0.009 for D and 0.003 for G."""


def _f5_config(ctx: RunContext, penalty: str, ratio: int, seed: int) -> TrainConfig:
    cfg = _c5_config(ctx, penalty, seed)
    steps = cfg.steps * (2 if penalty != "none" and ratio > 1 else 1)  # Fig. 2 g: 20,000
    return cfg.replace(lr_critic=cfg.lr_generator * ratio, steps=steps, checkpoint_every=steps)


def _f5_plan(ctx: RunContext) -> list[tuple[str, TrainConfig]]:
    return [(f"8gaussians-x10-{pen}-ttur{ratio}-s{seed}", _f5_config(ctx, pen, ratio, seed))
            for _l, pen, ratio in _F5 for seed in ctx.seeds]


def _late_grad(rec: RunRecord) -> float:
    """Median of grad_norm_max (largest ||grad f|| at 500 interpolates) over the evaluations
    of the second half of training."""
    _steps, vals = history_values(rec, "grad_norm_max", after=rec.config.steps // 2)
    return float(np.median(vals)) if vals else float("inf")


def _f5_run(ctx: RunContext) -> Measured:
    m = Measured()
    items = _f5_plan(ctx)
    train_planned(ctx, "F5", items)
    runs: dict[str, list[RunRecord]] = {}
    for (tag, cfg), (label, _p, _r) in zip(items, [v for v in _F5 for _ in ctx.seeds],
                                           strict=True):
        runs.setdefault(label, []).append(train_cached(ctx, "F5", tag, cfg))
    _record(m, runs, {"late_grad_norm_max": _late_grad,
                      "modes_reached": lambda r: _c5_spread(r)[1]})
    m.setup["config_0gp_ttur"] = items[-1][1].to_dict()
    fig = Figure(figsize=(6, 3.6))
    ax = fig.add_subplot()
    for label, recs in runs.items():
        steps, vals = aligned(recs, "grad_norm_max")
        if steps.size:
            ax.plot(steps, np.median(vals, 0), label=label)
    ax.set(yscale="log", xlabel="step", ylabel="max ||grad f|| at 500 interpolates",
           title="F5 (004 Fig. 2) 8 Gaussians x10: gradient norms with and without TTUR")
    ax.title.set_fontsize(8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    m.figures.append(save_figure(fig, ctx.out / "f5_ttur.png"))
    return m


def _f5_checks(quick: bool) -> tuple[Criterion, ...]:
    def higher(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
        a, b = v["no GP, TTUR/late_grad_norm_max"], v["no GP/late_grad_norm_max"]
        return median(a) > median(b), f"TTUR {fmt(a)} vs no TTUR {fmt(b)}"

    def covers(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
        s = v["0-GP, TTUR/modes_reached"]
        return median(s) >= 8, fmt(s)

    return (
        Criterion("ttur_gradients_explode", "no GP: median late max gradient norm with TTUR > "
                  "without (the exploding gradient persists, 004 §5)", higher),
        Criterion("0gp_ttur_tames_them", "median late max gradient norm: 0-GP with TTUR < no GP "
                  "with TTUR", _below("0-GP, TTUR", "no GP, TTUR", "late_grad_norm_max")),
        Criterion("0gp_ttur_reaches_8", "0-GP with TTUR: median modes_reached (C5A) at the "
                  "end = 8", covers),
    )


F5 = Experiment(
    claim="F5",
    title="004 Fig. 2 (c, d, f, g): with TTUR the unpenalised discriminator's gradients explode "
          "and stay large; 0-GP with TTUR keeps them small and covers the modes",
    source="004 §5 ('Gradient exploding happens in the discriminator trained with TTUR'), "
           "Fig. 2, App. E.1 (TTUR: 0.009 for D, 0.003 for G)",
    paper_setup="C5's setup (preset thanh-tung2019-8g: 2x512, SGD, batch 128, lambda 10 on D = "
                "sigmoid(f)); TTUR multiplies the discriminator's learning rate by 3 (0.009). "
                "No GP with and without TTUR for 10,000 iterations, 0-GP for 10,000, 0-GP with "
                "TTUR for 20,000 (Fig. 2 g). 004 shows one run; full mode: 10 seeds.",
    quick_changes="2x128 MLPs, 4,000 iterations (8,000 for 0-GP with TTUR), 3 seeds.",
    metric="late_grad_norm_max: median over the evaluations in the second half of training of "
           "the largest ||grad f|| at 500 interpolates (harness grad_norm_max); modes_reached "
           "(C5A) at the end.",
    criterion="no GP: median late max gradient norm with TTUR > without; 0-GP with TTUR < no GP "
              "with TTUR; 0-GP with TTUR: median modes_reached = 8. 3 checks. Registered "
              "2026-11-30 before any F5 run.",
    checks=_f5_checks,
    run=_f5_run,
    plan=_f5_plan,
)

