"""C1, C2, C3: WGAN-LP against WGAN-GP on toy data, and the optimal critic ``-|x|``
(003 §6, Figs 3-5, Table 1; Prop. 2).
"""
# Over 500 lines: C1-C3 share the toy setup and metrics, and C1 keeps its three criterion
# versions (each registered before the runs it judges) side by side.

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from scipy.stats import norm

from gp_spec.harness import metrics
from gp_spec.harness.claims._common import (
    Criterion,
    Experiment,
    Measured,
    Revision,
    RunContext,
    RunRecord,
    aligned,
    fmt,
    history_values,
    median,
    samples,
    save_figure,
    seeded,
    stats,
    t_lower_bound,
    train_cached,
    train_planned,
)
from gp_spec.harness.config import TrainConfig, get_preset
from gp_spec.harness.data import get_dataset
from gp_spec.optimal import abs_critic_example

__all__ = ["C1", "C2", "C3", "lp_optimum_1d"]

_NAMES = {"wgan-lp": "LP", "wgan-gp": "GP"}
_WARMUP = 25  # generator steps with 100 critic updates (003 §6)
_FINAL_EVALS = 5  # the final W1 is the mean of the last 5 evaluations (every 5 steps)


def _toy_config(ctx: RunContext, dataset: str, penalty: str, weight: float, seed: int
                ) -> TrainConfig:
    """003 §6 (preset ``petzka2018-lp``); quick: 3x64 MLPs and 300 generator steps."""
    steps = 300 if ctx.quick else 1000
    hidden = (64, 64, 64) if ctx.quick else (512, 512, 512)
    return get_preset("petzka2018-lp").config.replace(
        dataset=dataset, penalty=penalty, weight=float(weight), seed=seed, steps=steps,
        critic_hidden=hidden, generator_hidden=hidden, log_every=5, checkpoint_every=steps,
        eval_samples=500, device=ctx.device)


def _w1_final(rec: RunRecord) -> float:
    """Mean assignment W1 over the last 5 evaluations (steps N-20 ... N); inf if diverged."""
    vals = [r.get("w1_assignment") for r in rec.history[-_FINAL_EVALS:]]
    if not vals or any(v is None or not math.isfinite(float(v)) for v in vals):
        return float("inf")
    return float(np.mean([float(v) for v in vals if v is not None]))


def _roughness(rec: RunRecord) -> float:
    """Median ``|L_{t+5} - L_t|`` of the critic loss (no penalty, 500 fresh samples) over the
    evaluations after the 25 warm-up generator steps; inf if it diverged."""
    _, vals = history_values(rec, "critic_loss", after=_WARMUP)
    if len(vals) < 2:
        return float("inf")
    return float(np.median(np.abs(np.diff(vals))))


def _oscillation(rec: RunRecord) -> float:
    """Median ``|L_{t+1} - 2 L_t + L_{t-1}|`` of the critic loss (no penalty, 500 fresh
    samples) over consecutive evaluations after the 25 warm-up generator steps: the second
    difference removes a linear drift, so a loss that falls steadily scores ~0 and one that
    swings scores its swing (C1 criterion v2). inf if it diverged."""
    _, vals = history_values(rec, "critic_loss", after=_WARMUP)
    if len(vals) < 3:
        return float("inf")
    return float(np.median(np.abs(np.diff(vals, n=2))))


def _datasets(quick: bool) -> tuple[str, ...]:
    return ("8gaussians",) if quick else ("8gaussians", "25gaussians", "swissroll")


def _grid_items(ctx: RunContext, datasets: tuple[str, ...], weights: tuple[float, ...]
                ) -> list[tuple[str, TrainConfig]]:
    return [(f"{ds}-{penalty}-w{w:g}-s{seed}", _toy_config(ctx, ds, penalty, w, seed))
            for ds in datasets for w in weights for penalty in ("wgan-lp", "wgan-gp")
            for seed in ctx.seeds]


def _run_grid(ctx: RunContext, claim: str, datasets: tuple[str, ...], weights: tuple[float, ...]
              ) -> dict[tuple[str, str, float], list[RunRecord]]:
    items = _grid_items(ctx, datasets, weights)
    train_planned(ctx, claim, items)
    out: dict[tuple[str, str, float], list[RunRecord]] = {}
    for tag, cfg in items:
        rec = train_cached(ctx, claim, tag, cfg)
        out.setdefault((cfg.dataset, cfg.penalty, float(cfg.weight or 0.0)), []).append(rec)
    return out


def _c1_plan(ctx: RunContext) -> list[tuple[str, TrainConfig]]:
    return _grid_items(ctx, _datasets(ctx.quick), (5.0, 10.0))


def _c2_plan(ctx: RunContext) -> list[tuple[str, TrainConfig]]:
    return _grid_items(ctx, ("8gaussians",), _C2_WEIGHTS)


def _c3_plan(ctx: RunContext) -> list[tuple[str, TrainConfig]]:
    return [(f"1d-pair-lp-w{w:g}-s{seed}", _c3_config(ctx, w, seed))
            for w in _C3_WEIGHTS for seed in ctx.seeds]


def _key(ds: str, penalty: str, w: float, metric: str) -> str:
    return f"{ds}/{_NAMES[penalty]}/w{w:g}/{metric}"


# ------------------------------------------------------------------------------------ C1


def _c1_run(ctx: RunContext) -> Measured:
    m = Measured()
    grid = _run_grid(ctx, "C1", _datasets(ctx.quick), (5.0, 10.0))
    for (ds, pen, w), runs in grid.items():
        for metric, fn in (("w1_final", _w1_final), ("roughness", _roughness),
                           ("oscillation", _oscillation)):
            s = stats([fn(r) for r in runs])
            m.values[_key(ds, pen, w, metric)] = s
            m.per_seed[_key(ds, pen, w, metric)] = s["values"]
    m.setup["config_lp_w5"] = _toy_config(ctx, "8gaussians", "wgan-lp", 5.0, 0).to_dict()
    for ds in _datasets(ctx.quick):
        m.figures.append(_c1_curves(ctx, grid, ds))
        m.figures.append(_level_sets(ctx, grid, ds, 10.0))
    return m


def _c1_checks(quick: bool) -> tuple[Criterion, ...]:
    return _c1_compare(quick, (("w1_final", "final assignment W1"),
                               ("roughness", "critic-loss roughness")))


def _c1_v2_checks(quick: bool) -> tuple[Criterion, ...]:
    return _c1_compare(quick, (("w1_final", "final assignment W1"),
                               ("oscillation", "critic-loss oscillation (second differences)")))


def _c1_compare(quick: bool, metrics: tuple[tuple[str, str], ...]) -> tuple[Criterion, ...]:
    checks = []
    for ds in _datasets(quick):
        for w in (5.0, 10.0):
            for metric, what in metrics:
                def ev(v: Mapping[str, Any], q: bool, ds: str = ds, w: float = w,
                       metric: str = metric) -> tuple[bool, str]:
                    lp, gp = v[_key(ds, "wgan-lp", w, metric)], v[_key(ds, "wgan-gp", w, metric)]
                    return median(lp) < median(gp), f"LP {fmt(lp)} vs GP {fmt(gp)}"
                checks.append(Criterion(f"{ds}_w{w:g}_{metric}_lp_below_gp",
                                    f"{ds}, weight {w:g}: median {what} LP < GP", ev))
    return tuple(checks)


def _c1_curves(ctx: RunContext, grid: Mapping[tuple[str, str, float], list[RunRecord]],
               ds: str) -> Path:
    fig = Figure(figsize=(10, 3.4))
    for i, (key, title) in enumerate((("w1_assignment", "assignment W1 (500 samples)"),
                                      ("critic_loss", "- critic loss (no penalty)"))):
        ax = fig.add_subplot(1, 2, i + 1)
        for (d, pen, w), runs in grid.items():
            if d != ds:
                continue
            steps, vals = aligned(runs, key)
            if steps.size == 0:
                continue
            vals = -vals if key == "critic_loss" else vals
            med = np.median(vals, 0)
            ax.plot(steps, med, label=f"{_NAMES[pen]} w={w:g}",
                    ls="-" if pen == "wgan-lp" else "--")
            ax.fill_between(steps, vals.min(0), vals.max(0), alpha=0.15)
        ax.set(xlabel="generator step", title=title)
        if key == "w1_assignment":
            ax.set_yscale("log")
        ax.legend(fontsize=7)
    n_steps = 300 if ctx.quick else 1000
    fig.suptitle(f"C1 {ds}: WGAN-LP (solid) vs WGAN-GP (dashed), weights 5 and 10, "
                 f"{ctx.steps(n_steps)} generator steps; median over {len(ctx.seeds)} seeds, "
                 "band = min..max", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, ctx.out / f"c1_curves_{ds}.png")


def _level_sets(ctx: RunContext, grid: Mapping[tuple[str, str, float], list[RunRecord]],
                ds: str, w: float) -> Path:
    """Final critic level sets with samples, LP and GP at weight ``w``, first seed (003 Fig. 3)."""
    data = get_dataset(ds)
    gen = seeded(12345)
    real = data.sample(300, gen)
    fig = Figure(figsize=(8, 3.8))
    for i, pen in enumerate(("wgan-lp", "wgan-gp")):
        rec = grid[(ds, pen, w)][0]
        fake = real if rec.generator is None else samples(rec, 300, gen)
        lo = float(min(real.min(), fake.min())) - 0.3
        hi = float(max(real.max(), fake.max())) + 0.3
        lo, hi = max(lo, -6.0), min(hi, 6.0)
        xs = torch.linspace(lo, hi, 120)
        gy, gx = torch.meshgrid(xs, xs, indexing="ij")
        with torch.no_grad():
            vals = rec.critic(torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)).reshape(120, 120)
        ax = fig.add_subplot(1, 2, i + 1)
        ax.contourf(xs.numpy(), xs.numpy(), vals.numpy(), levels=25, cmap="viridis")
        ax.scatter(real[:, 0], real[:, 1], s=3, c="red", label="real")
        ax.scatter(fake[:, 0], fake[:, 1], s=3, c="blue", label="fake")
        ax.set(xlim=(lo, hi), ylim=(lo, hi), aspect="equal",
               title=f"{_NAMES[pen]} w={w:g}, step {rec.config.steps}, seed {rec.config.seed}")
        ax.legend(fontsize=6, loc="upper right")
    fig.tight_layout()
    return save_figure(fig, ctx.out / f"c1_level_sets_{ds}.png")


_C1_V2 = Revision(
    version=2,
    registered="2026-11-30, before any run it judges (commit after 89b79d8)",
    reason="v1's roughness (first differences of the critic loss) mixes drift with "
           "oscillation: in quick mode both losses fall smoothly, LP's faster, so LP scored "
           "rougher although neither oscillates. 003 Fig. 4's claim is about oscillation. "
           "Disclosure: second differences were computed post hoc on the earlier quick runs "
           "(LP 0.018-0.019 vs GP 0.021-0.023) and reported as not part of the verdict; v2 "
           "registers that metric before any run it judges.",
    criterion="For each data set and weight 5 and 10: median w1_final LP < GP (as v1), and "
              "median oscillation LP < GP, oscillation = median |L_{t+1} - 2 L_t + L_{t-1}| "
              "of the critic loss without penalty over consecutive evaluations (5 generator "
              "steps apart) after the 25 warm-up steps (quick: 4 checks; full: 12 checks).",
    checks=_c1_v2_checks,
    seeds=(3, 10),
)


def _c1_v3_checks(quick: bool) -> tuple[Criterion, ...]:
    checks = []
    for ds in _datasets(quick):
        for w in (5.0, 10.0):
            for metric, what in (("w1_final", "final W1"), ("oscillation", "oscillation")):
                def ev(v: Mapping[str, Any], q: bool, ds: str = ds, w: float = w,
                       metric: str = metric) -> tuple[bool, str]:
                    lp = v[_key(ds, "wgan-lp", w, metric)]["values"]
                    gp = v[_key(ds, "wgan-gp", w, metric)]["values"]
                    if any(x is None for x in lp + gp):
                        return False, "a run diverged (non-finite metric)"
                    diff = [g - a for a, g in zip(lp, gp, strict=True)]
                    low = t_lower_bound(diff)
                    return low > 0, (f"GP - LP per seed: mean {np.mean(diff):+.4g}, lower 95% "
                                     f"bound {low:+.4g} over {len(diff)} seeds (LP "
                                     f"{np.median(lp):.4g}, GP {np.median(gp):.4g})")
                checks.append(Criterion(f"{ds}_w{w:g}_{metric}_gp_minus_lp",
                                        f"{ds}, weight {w:g}: paired (same seed) {what} GP minus "
                                        "LP, lower one-sided 95% t-bound of the mean > 0", ev))
    return tuple(checks)


_C1_V3 = Revision(
    version=3,
    registered="2026-11-30, after the quick rerun of v2 on this machine and before any run it "
               "judges (a 10-seed quick run and the full-size runs)",
    reason="v2 passed in quick mode with a thin margin: at weight 5 the median oscillation was "
           "LP 0.0191 vs GP 0.0207 with overlapping ranges over 3 seeds, a difference another "
           "machine's rounding could reverse. v3 compares LP and GP seed by seed (same seed = "
           "same initialisation and data streams) with a confidence bound, over 10 seeds.",
    criterion="For each data set and weight 5 and 10, and for each of final W1 and oscillation "
              "(as v2): the per-seed difference GP minus LP has a lower one-sided 95% "
              "Student-t bound > 0 over 10 seeds; a diverged run fails its check (quick: 4 "
              "checks; full: 12).",
    checks=_c1_v3_checks,
    seeds=(10, 10),
)


C1 = Experiment(
    claim="C1",
    title="WGAN-LP gives a smoother critic loss and a lower assignment W1 than WGAN-GP "
          "(weights 5 and 10)",
    source="003 §6, Figs 3-5, App. D.1-D.3",
    paper_setup="8 Gaussians, 25 Gaussians, Swiss roll; generator and critic 3x512 LeakyReLU "
                "MLPs, latent dim 2; RMSprop lr 5e-5 for both; batch 256; 10 critic updates per "
                "generator update, 100 for the first 25; penalty on interpolates; 1000 generator "
                "steps (Fig. 3), W1 by minimum assignment of 500 samples every 10th step over "
                "500 steps (Fig. 5, 10 seeds); critic loss without penalty (Fig. 4, 20 seeds). "
                "Full mode: the three data sets, 3x512, 1000 steps, 10 seeds.",
    quick_changes="8 Gaussians only, 3x64 MLPs instead of 3x512 and 300 generator steps "
                  "instead of 1000 (the warm-up of 25 x 100 critic updates is kept), 3 seeds: "
                  "on 2 CPU cores a 3x512 critic update takes 27-57 ms, so a 1000-step run takes "
                  "10-15 min and C1 + C2 (36 runs) ~8 h. Optimiser, learning rate, batch, critic "
                  "schedule and penalties unchanged.",
    metric="w1_final: mean assignment W1 (POT exact, 500 vs 500 samples) over the last 5 "
           "evaluations (every 5 generator steps); roughness: median absolute change of the "
           "critic loss without penalty (500 fresh samples) between consecutive evaluations "
           "(5 generator steps apart), after the 25 warm-up steps; oscillation (v2): median "
           "absolute second difference of that loss over consecutive evaluations after the "
           "warm-up. Medians over seeds.",
    criterion="For each data set and weight 5 and 10: median w1_final LP < GP, and median "
              "roughness LP < GP (quick: 8 Gaussians, 4 checks; full: 3 data sets, 12 checks).",
    checks=_c1_checks,
    run=_c1_run,
    plan=_c1_plan,
    revisions=(_C1_V2, _C1_V3),
)


# ------------------------------------------------------------------------------------ C2

_C2_WEIGHTS = (0.1, 1.0, 5.0, 10.0, 100.0, 200.0)


def _c2_run(ctx: RunContext) -> Measured:
    m = Measured()
    ds = "8gaussians"
    grid = _run_grid(ctx, "C2", (ds,), _C2_WEIGHTS)
    for pen in ("wgan-lp", "wgan-gp"):
        meds = []
        for w in _C2_WEIGHTS:
            s = stats([_w1_final(r) for r in grid[(ds, pen, w)]])
            m.values[_key(ds, pen, w, "w1_final")] = s
            m.per_seed[_key(ds, pen, w, "w1_final")] = s["values"]
            meds.append(median(s))
        name = _NAMES[pen]
        m.values[f"{name}/range"] = max(meds) - min(meds)
        m.values[f"{name}/worst"] = max(meds)
        m.values[f"{name}/large_weights"] = float(np.mean(meds[-2:]))
    m.setup["config_lp_w0.1"] = _toy_config(ctx, ds, "wgan-lp", 0.1, 0).to_dict()
    m.figures.append(_c2_figure(ctx, m))
    return m


def _c2_checks(quick: bool) -> tuple[Criterion, ...]:
    def cmp(key: str) -> Any:
        def ev(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
            lp, gp = float(v[f"LP/{key}"]), float(v[f"GP/{key}"])
            return lp < gp, f"LP {lp:.3g} vs GP {gp:.3g}"
        return ev
    return (
        Criterion("range_lp_below_gp",
              "range (max - min) over the six weights of the median final W1: LP < GP",
              cmp("range")),
        Criterion("worst_lp_below_gp",
              "worst (largest) median final W1 over the six weights: LP < GP", cmp("worst")),
        Criterion("large_weights_lp_below_gp",
              "mean of the median final W1 at weights 100 and 200: LP < GP", cmp("large_weights")),
    )


def _c2_figure(ctx: RunContext, m: Measured) -> Path:
    fig = Figure(figsize=(5.5, 3.8))
    ax = fig.add_subplot()
    for pen, marker in (("wgan-lp", "o-"), ("wgan-gp", "s--")):
        s = [m.values[_key("8gaussians", pen, w, "w1_final")] for w in _C2_WEIGHTS]
        med = [median(x) for x in s]
        lo = [x["min"] if x["min"] is not None else np.nan for x in s]
        hi = [x["max"] if x["max"] is not None else np.nan for x in s]
        ax.plot(_C2_WEIGHTS, med, marker, label=_NAMES[pen])
        ax.fill_between(_C2_WEIGHTS, lo, hi, alpha=0.2)
    ax.set(xscale="log", yscale="log", xlabel="penalty weight", ylabel="final assignment W1",
           title=f"C2 8 Gaussians: median over {len(ctx.seeds)} seeds (band min..max)")
    ax.legend()
    fig.tight_layout()
    return save_figure(fig, ctx.out / "c2_weight_sensitivity.png")


C2 = Experiment(
    claim="C2",
    title="WGAN-LP is less sensitive to the penalty weight in {0.1, 1, 5, 10, 100, 200} than "
          "WGAN-GP",
    source="003 §5 (Prop. 3 discussion), §6, Table 1",
    paper_setup="Table 1 reports CIFAR-10 Inception scores (ResNet, 100k iterations) for the "
                "weights 0.1, 5, 10, 100, 200; on the toy data §6 reports qualitatively that LP "
                "with weight 100 behaves like weight 10 and GP degrades with the weight. Here "
                "the toy analogue: the C1 setup on 8 Gaussians for each weight in {0.1, 1, 5, "
                "10, 100, 200}. Full mode: 3x512, 1000 steps, 10 seeds.",
    quick_changes="As C1 quick (3x64 MLPs, 300 generator steps, 3 seeds; the runs at weights 5 "
                  "and 10 are shared with C1 through the run cache). CIFAR-10 Inception scores "
                  "are out of reach on CPU and are not attempted.",
    metric="w1_final (as C1) for each penalty and weight; per penalty: range and maximum over "
           "the weights of the median over seeds, and the mean of the medians at weights 100 "
           "and 200.",
    criterion="LP < GP for (a) the range over weights of the median final W1, (b) the worst "
              "median final W1, (c) the mean median final W1 at weights 100 and 200.",
    checks=_c2_checks,
    run=_c2_run,
    plan=_c2_plan,
)


# ------------------------------------------------------------------------------------ C3

_C3_WEIGHTS = (10.0, 100.0)


def lp_optimum_1d(weight: float, *, lo: float = -3.0, hi: float = 3.0, num: int = 6001,
                  n_alpha: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """The exact maximiser of ``E_mu f - E_nu f - w E_xhat[max(0, |f'| - 1)^2]`` in 1-D.

    With ``mu = N(0, 1)``, ``nu = 1/2 N(-1, 1) + 1/2 N(1, 1)`` and interpolates
    ``x_hat = alpha x + (1 - alpha) y``: integrating by parts, ``E_mu f - E_nu f =
    int f'(t) D(t) dt`` with ``D = F_nu - F_mu``, so the objective is pointwise in ``g = f'``
    and ``g(t) = sign(D) (1 + |D| / (2 w rho(t)))``, ``rho`` the interpolates' density
    ``int_0^1 1/2 [N(t; 1-a, s^2) + N(t; -(1-a), s^2)] da``, ``s^2 = a^2 + (1-a)^2``.

    Returns:
      ``(t, f)`` on ``linspace(lo, hi, num)`` with ``f(lo) = 0``.

    Source: 003 Eq. 8, Prop. 2 (the limit ``w -> inf`` is ``-|x| + c``).
    """
    t = np.linspace(lo, hi, num)
    a = (np.arange(n_alpha) + 0.5) / n_alpha
    s = np.sqrt(a**2 + (1 - a) ** 2)
    rho = np.mean(0.5 * (norm.pdf(t[:, None], (1 - a)[None], s[None])
                         + norm.pdf(t[:, None], -(1 - a)[None], s[None])), 1)
    d = 0.5 * (norm.cdf(t - 1) + norm.cdf(t + 1)) - norm.cdf(t)
    g = np.sign(d) * (1 + np.abs(d) / (2 * weight * rho))
    f = np.concatenate([[0.0], np.cumsum((g[1:] + g[:-1]) / 2 * np.diff(t))])
    return t, f


def _sup_abs(t: np.ndarray, f: np.ndarray) -> float:
    h = f + np.abs(t)
    return float((h.max() - h.min()) / 2)


def _c3_config(ctx: RunContext, weight: float, seed: int) -> TrainConfig:
    """Preset petzka2018-prop2 (critic-only, 2x128, Adam 1e-4); large batches."""
    return get_preset("petzka2018-prop2").config.replace(
        penalty="wgan-lp", weight=weight, seed=seed,
        steps=3000 if ctx.quick else 20_000, batch_size=1024 if ctx.quick else 8192,
        log_every=300 if ctx.quick else 1000, checkpoint_every=3000 if ctx.quick else 5000,
        eval_samples=500, device=ctx.device)


def _c3_run(ctx: RunContext) -> Measured:
    m = Measured()
    train_planned(ctx, "C3", _c3_plan(ctx))
    ex = abs_critic_example()
    fig = Figure(figsize=(9, 3.6))
    for i, w in enumerate(_C3_WEIGHTS):
        sup, gap_err = [], []
        ax = fig.add_subplot(1, 2, i + 1)
        x = torch.linspace(-3, 3, 601)
        for seed in ctx.seeds:
            rec = train_cached(ctx, "C3", f"1d-pair-lp-w{w:g}-s{seed}", _c3_config(ctx, w, seed))
            sd = metrics.sup_distance_to_abs(rec.critic)
            sup.append(sd.distance)
            gen = seeded(10_000 + seed)
            real = torch.randn(200_000, 1, generator=gen)
            sign = 2 * torch.randint(2, (200_000, 1), generator=gen).float() - 1
            fake = sign + torch.randn(200_000, 1, generator=gen)
            with torch.no_grad():
                gap = float(rec.critic(real).mean() - rec.critic(fake).mean())
                f = rec.critic(x[:, None]).numpy()
            gap_err.append(abs(gap - ex.w1) / ex.w1)
            ax.plot(x.numpy(), f - sd.c, lw=1, label=f"seed {seed}: sup {sd.distance:.3f}")
        t, fo = lp_optimum_1d(w)
        h = fo + np.abs(t)
        ideal = _sup_abs(t, fo)
        ax.plot(t, fo - (h.max() + h.min()) / 2, "k:", lw=1.5,
                label=f"exact w={w:g} optimum: sup {ideal:.3f}")
        ax.plot(x.numpy(), -x.abs().numpy(), "k--", lw=1, label="-|x|")
        ax.set(title=f"LP weight {w:g} (critic minus best c)", xlabel="x")
        ax.legend(fontsize=6)
        m.values[f"w{w:g}/sup_dist"] = stats(sup)
        m.values[f"w{w:g}/dual_rel_err"] = stats(gap_err)
        m.values[f"w{w:g}/exact_optimum_sup_dist"] = ideal
        m.per_seed[f"w{w:g}/sup_dist"] = sup
        m.per_seed[f"w{w:g}/dual_rel_err"] = gap_err
    fig.tight_layout()
    m.figures.append(save_figure(fig, ctx.out / "c3_critic_vs_abs.png"))
    m.setup["config_w100"] = _c3_config(ctx, 100.0, 0).to_dict()
    m.notes.append(f"W1 = {ex.w1:.6f} (closed form, SPEC §4.5); dual estimate from 200,000 "
                   "fresh samples per side.")
    return m


def _c3_checks(quick: bool) -> tuple[Criterion, ...]:
    thr100 = 0.15 if quick else 0.05
    thr10 = 0.15 if quick else 0.10
    thr_dual = 0.10 if quick else 0.05

    def sup(w: float, thr: float) -> Any:
        def ev(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
            s = v[f"w{w:g}/sup_dist"]
            return median(s) <= thr, f"{fmt(s)} (exact optimum at this weight: " \
                f"{v[f'w{w:g}/exact_optimum_sup_dist']:.3f})"
        return ev

    def dual(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
        s = v["w100/dual_rel_err"]
        return median(s) <= thr_dual, fmt(s)

    return (
        Criterion("sup_dist_w100", f"weight 100: median sup_x in [-3,3] |f(x) - (-|x| + c)| "
              f"(best c) <= {thr100:g}", sup(100.0, thr100)),
        Criterion("sup_dist_w10", f"weight 10: median sup distance <= {thr10:g} (the exact "
              "weight-10 optimum is itself 0.064 away)", sup(10.0, thr10)),
        Criterion("dual_w100", f"weight 100: median |E_mu f - E_nu f - W1| / W1 <= {thr_dual:g} "
              "(W1 = 0.36875)", dual),
    )


C3 = Experiment(
    claim="C3",
    title="A critic trained to optimality with LP on N(0,1) vs 1/2 N(-1,1) + 1/2 N(1,1) "
          "approaches -|x| + c",
    source="003 Prop. 2, App. C.3 (Fig. 2 right)",
    paper_setup="Prop. 2 is a theorem (no experiment): -|x| is an optimal critic. Here: the "
                "generator is fixed to the mixture (critic-only training), LP penalty on "
                "interpolates, preset petzka2018-prop2 (2x128 LeakyReLU critic, Adam 1e-4), "
                "weights 10 and 100. Full mode: 20,000 steps, batch 8192, 10 seeds.",
    quick_changes="3,000 steps with batch 1024 instead of 20,000 with 8192, 3 seeds; thresholds "
                  "0.15 instead of 0.05/0.10 (the fewer steps leave an optimisation error).",
    metric="sup distance: min_c max_{x in [-3,3]} |f(x) - (-|x| + c)| on a 601-point grid "
           "(harness metric sup_distance_to_abs); dual error: |E_mu f - E_nu f - W1| / W1 on "
           "200,000 fresh samples per side. The exact optimum of the penalised objective at "
           "each weight (pointwise solution, lp_optimum_1d) is reported as the floor.",
    criterion="quick: median sup distance <= 0.15 at weights 100 and 10, median dual error "
              "<= 0.10 at weight 100; full: <= 0.05 (w=100), <= 0.10 (w=10), <= 0.05.",
    checks=_c3_checks,
    run=_c3_run,
    plan=_c3_plan,
)
