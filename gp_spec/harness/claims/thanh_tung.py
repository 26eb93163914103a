"""C4, C5: the zero-centred gradient penalty (0-GP) against no GP, 1-GP and 0-GP-sample
(004 §6.1-6.2, Figs 1-2, App. E.1).

004's 0-GP-sample penalises samples of the whole training set ``D_r u D_g`` (Table 1); the
harness's specs offer R1 (real samples) and R2 (fake samples) separately, and R1 (Mescheder
et al. 2018, which 004 cites for 0-GP-sample) stands for it here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from gp_spec._seeding import derive_seed
from gp_spec.harness.claims._common import (
    Criterion,
    Experiment,
    Measured,
    Revision,
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
    train_planned,
)
from gp_spec.harness.config import TrainConfig, get_preset
from gp_spec.harness.steps import make_regulariser, penalty_term
from gp_spec.harness.train import build_dataset
from gp_spec.objectives import get_objective

__all__ = [
    "C4", "C5", "c4_optimal_discriminator", "c4_sample"]

# ------------------------------------------------------------------------------------ C4
#
# 004 does not state the data, set size, batch or optimiser of Fig. 1. Its authors' released
# code for that figure (repository htt210/GeneralizationAndStabilityInGANs, file
# OptimalDiscriminator.py; read, not copied) fixes them, and C4 follows it: two overlapping
# 2-D Gaussians, 100 samples per side, a 2x64 tanh MLP with a sigmoid output, BCE, Adam 1e-3,
# minibatches of 20 per side in shuffled epochs, 10,000 epochs (the figure's "10,000
# iterations"), and every penalty on D = sigmoid(f) (the probability) with lambda = 1.

_C4_REAL_MEAN = (0.4, 0.9)
_C4_REAL_COV = ((1.0, 0.5), (0.5, 1.0))
_C4_FAKE_MEAN = (1.3, 1.2)
_C4_FAKE_COV = ((1.0, 0.7), (0.7, 1.0))
_C4_POOL = 100
_C4_LARGE_POOL = 1000
_C4_BATCH = 20
_C4_STEPS = 50_000  # 10,000 epochs of 100 / 20 minibatches
_C4_QUICK_STEPS = 10_000
_C4_WEIGHT = 1.0
_C4_GRID = (-2.5, 4.5)  # the authors' plotting window
_C4_VARIANTS: tuple[tuple[str, str, str | None, int], ...] = (
    # key, label, spec of the penalty on D = sigmoid(f) (None: no GP), samples per side
    ("none", "no GP", None, _C4_POOL),
    ("none-large", f"no GP, {_C4_LARGE_POOL} samples", None, _C4_LARGE_POOL),
    ("1gp", "1-GP", "wgan-gp", _C4_POOL),
    ("r1", "0-GP-sample (real)", "r1", _C4_POOL),
    ("r1r2", "0-GP-sample (real + fake)", "gan-0gp-sample", _C4_POOL),
    ("0gp", "0-GP", "gan-0gp", _C4_POOL),
)
_C4_V1_OTHERS = ("none", "none-large", "1gp", "r1")  # v1 and v2 compare 0-GP with these


def _c4_log_densities(x: Tensor) -> tuple[Tensor, Tensor]:
    """``log p_r(x)`` and ``log p_g(x)`` of the two Gaussians, in float64, ``x`` ``(N, 2)``:
    ``-(x - m)^T C^-1 (x - m) / 2 - log det(2 pi C) / 2``."""
    out = []
    for mean, cov in ((_C4_REAL_MEAN, _C4_REAL_COV), (_C4_FAKE_MEAN, _C4_FAKE_COV)):
        c = torch.tensor(cov, dtype=torch.float64)
        d = x.double() - torch.tensor(mean, dtype=torch.float64)
        quad = (d * torch.linalg.solve(c, d.T).T).sum(1)
        out.append(-0.5 * quad - 0.5 * torch.logdet(2 * math.pi * c))
    return out[0], out[1]


def c4_optimal_discriminator(x: Tensor) -> Tensor:
    """``D*(x) = p_r(x) / (p_r(x) + p_g(x))`` (004 Eq. 2) for C4's Gaussians, ``(N, 2) -> (N,)``."""
    log_r, log_g = _c4_log_densities(x)
    d: Tensor = torch.sigmoid(log_r - log_g)
    return d


def c4_sample(n: int, gen: torch.Generator, *, real: bool) -> Tensor:
    """``n`` draws of C4's real (or fake) Gaussian, ``mean + z L^T`` with ``L L^T = cov``."""
    mean, cov = (_C4_REAL_MEAN, _C4_REAL_COV) if real else (_C4_FAKE_MEAN, _C4_FAKE_COV)
    chol = torch.linalg.cholesky(torch.tensor(cov, dtype=torch.float64))
    z = torch.randn(n, 2, generator=gen, dtype=torch.float64)
    out: Tensor = torch.tensor(mean, dtype=torch.float64) + z @ chol.T
    return out.float()


def _c4_grid(num: int = 100) -> tuple[Tensor, Tensor]:
    xs = torch.linspace(_C4_GRID[0], _C4_GRID[1], num)
    gy, gx = torch.meshgrid(xs, xs, indexing="ij")
    return xs, torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)


def _c4_discriminator() -> nn.Module:
    """2x64 tanh MLP returning the logit ``f``; ``D = sigmoid(f)``."""
    return nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                         nn.Linear(64, 1), nn.Flatten(0))


@dataclass(frozen=True)
class _C4Run:
    net: nn.Module
    real: Tensor
    fake: Tensor
    seconds: float


def _c4_train(ctx: RunContext, spec: str | None, pool: int, seed: int) -> _C4Run:
    """Train one discriminator alone on a fixed finite set (the authors' loop, see above)."""
    data_gen = seeded(derive_seed(seed, "c4-data", 0))
    real, fake = c4_sample(pool, data_gen, real=True), c4_sample(pool, data_gen, real=False)
    torch.manual_seed(derive_seed(seed, "c4-init", 0))
    net = _c4_discriminator()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    objective = get_objective("minimax")
    regulariser = make_regulariser("none" if spec is None else spec, _C4_WEIGHT,
                                   penalty_on="probability")
    pen_gen = seeded(derive_seed(seed, "c4-penalty", 0))
    perm_gen = seeded(derive_seed(seed, "c4-perm", 0))

    per_epoch = pool // _C4_BATCH
    steps = ctx.steps(_C4_QUICK_STEPS if ctx.quick else _C4_STEPS)
    t0 = time.perf_counter()
    done = 0
    while done < steps:
        pr, pf = torch.randperm(pool, generator=perm_gen), torch.randperm(pool, generator=perm_gen)
        for b in range(min(per_epoch, steps - done)):
            r = real[pr[b * _C4_BATCH:(b + 1) * _C4_BATCH]]
            f = fake[pf[b * _C4_BATCH:(b + 1) * _C4_BATCH]]
            opt.zero_grad(set_to_none=True)
            loss = objective.critic_loss(net(r), net(f))
            pen = penalty_term(net, r, f, regulariser, pen_gen)
            total = loss if pen is None else loss + pen
            torch.autograd.backward(total)
            opt.step()
        done += min(per_epoch, steps - done)
    return _C4Run(net.eval(), real, fake, time.perf_counter() - t0)


def _c4_metrics(run: _C4Run, seed: int) -> dict[str, float]:
    """Grid MSE to D*, MSE on fresh samples of the mixture, and the generalisation gap."""
    _xs, grid = _c4_grid()
    gen = seeded(derive_seed(seed, "c4-fresh", 0))
    fresh_r, fresh_f = c4_sample(10_000, gen, real=True), c4_sample(10_000, gen, real=False)
    fresh = torch.cat([fresh_r, fresh_f])
    obj = get_objective("minimax")
    with torch.no_grad():
        mse_grid = (torch.sigmoid(run.net(grid)).double() - c4_optimal_discriminator(grid))
        mse_fresh = (torch.sigmoid(run.net(fresh)).double() - c4_optimal_discriminator(fresh))
        train_loss = obj.critic_loss(run.net(run.real), run.net(run.fake))
        test_loss = obj.critic_loss(run.net(fresh_r), run.net(fresh_f))
    return {"mse_dstar": float(mse_grid.square().mean()),
            "mse_dstar_fresh": float(mse_fresh.square().mean()),
            "generalisation_gap": float(test_loss - train_loss)}


def _c4_run(ctx: RunContext) -> Measured:
    m = Measured()
    first: dict[str, tuple[_C4Run, float]] = {}  # the first seed's run and its grid MSE
    for key, _label, spec, pool in _C4_VARIANTS:
        per: dict[str, list[float]] = {}
        for seed in ctx.seeds:
            run = _c4_train(ctx, spec, pool, seed)
            ctx.charge(seed, run.seconds)
            got = _c4_metrics(run, seed)
            for name, value in got.items():
                per.setdefault(name, []).append(value)
            first.setdefault(key, (run, got["mse_dstar"]))
            ctx.say("C4", f"{key} seed {seed}: {run.seconds:.1f} s, "
                    f"mse_dstar {got['mse_dstar']:.4f}")
        for name, vals in per.items():
            m.values[f"{key}/{name}"] = stats(vals)
            m.per_seed[f"{key}/{name}"] = vals
    m.setup.update(
        data=f"real N({_C4_REAL_MEAN}, {_C4_REAL_COV}), fake N({_C4_FAKE_MEAN}, "
             f"{_C4_FAKE_COV}); {_C4_POOL} samples per side ({_C4_LARGE_POOL} for none-large), "
             "drawn per seed",
        discriminator="2x64 tanh MLP, D = sigmoid(f)", loss="BCE (minimax critic loss)",
        optimizer="Adam lr 1e-3, default betas", batch=f"{_C4_BATCH} per side, shuffled epochs",
        steps=ctx.steps(_C4_QUICK_STEPS if ctx.quick else _C4_STEPS),
        penalty=f"on D = sigmoid(f), lambda = {_C4_WEIGHT:g}: 0-GP gan-0gp (interpolates), "
                "1-GP wgan-gp, 0-GP-sample r1 (real samples: the authors' alpha = 1)",
        grid=f"100 x 100 over [{_C4_GRID[0]}, {_C4_GRID[1]}]^2",
        source="004 Fig. 1 caption and the authors' released OptimalDiscriminator.py")
    m.figures.append(_c4_figure(ctx, first))
    return m


def _c4_figure(ctx: RunContext, runs: Mapping[str, tuple[_C4Run, float]]) -> Path:
    num = 100
    xs, grid = _c4_grid(num)
    d_star = c4_optimal_discriminator(grid)
    fig = Figure(figsize=(15, 7))
    levels = np.linspace(0, 1, 21)
    for i, (key, label, _spec, _pool) in enumerate(_C4_VARIANTS):
        run, mse = runs[key]
        ax = fig.add_subplot(2, 4, i + 1)
        with torch.no_grad():
            d_grid = torch.sigmoid(run.net(grid))
        ax.contourf(xs.numpy(), xs.numpy(), d_grid.reshape(num, num).numpy(), levels=levels,
                    cmap="coolwarm")
        if run.real.shape[0] <= _C4_POOL:
            ax.scatter(run.real[:, 0], run.real[:, 1], s=5, c="darkred", marker="+")
            ax.scatter(run.fake[:, 0], run.fake[:, 1], s=5, c="navy")
        ax.set(title=f"{label}: MSE {mse:.4f}", aspect="equal")
    ax = fig.add_subplot(2, 4, len(_C4_VARIANTS) + 1)
    cs = ax.contourf(xs.numpy(), xs.numpy(),
                     d_star.reshape(num, num).numpy(),
                     levels=levels, cmap="coolwarm")
    ax.set(title="D* = p_r / (p_r + p_g) (004 Eq. 2)", aspect="equal")
    fig.colorbar(cs, ax=fig.axes, shrink=0.8)
    steps = ctx.steps(_C4_QUICK_STEPS if ctx.quick else _C4_STEPS)
    fig.suptitle(f"C4: D = sigmoid(f) after {steps:,} Adam steps (batch {_C4_BATCH}), seed "
                 f"{ctx.seeds[0]}; real +, fake o (the training set)", fontsize=10)
    return save_figure(fig, ctx.out / "c4_value_surfaces.png")


def _c4_checks(quick: bool) -> tuple[Criterion, ...]:
    return _c4_compare(_C4_V1_OTHERS)


def _c4_v3_checks(quick: bool) -> tuple[Criterion, ...]:
    return _c4_compare((*_C4_V1_OTHERS, "r1r2"))


def _c4_compare(others: tuple[str, ...]) -> tuple[Criterion, ...]:
    checks = []
    for key, label, _p, _s in _C4_VARIANTS:
        if key not in others:
            continue

        def ev(v: Mapping[str, Any], q: bool, key: str = key) -> tuple[bool, str]:
            ours, other = v["0gp/mse_dstar"], v[f"{key}/mse_dstar"]
            return median(ours) < median(other), f"0-GP {fmt(ours)} vs {fmt(other)}"

        checks.append(Criterion(f"mse_0gp_below_{key}",
                            f"median grid MSE to D*: 0-GP < {label}", ev))
    return tuple(checks)


_C4_V2 = Revision(
    version=2,
    registered="2026-11-30 (commit after 89b79d8); the checks are v1's, the (b) size is now "
               "part of the registered design",
    reason="004 Fig. 1 (b) says only 'more samples'. The size of (b), 1000 samples per side "
           "(10x the 100-sample training set, trained for the same 50,000 steps), was chosen in "
           "the first session when the experiment was written, before its first real run, but "
           "not stated as registered; the audit asked for it to be fixed with its reason. "
           "Reason: one order of magnitude more data than the penalised variants see is the "
           "smallest round factor that makes 'more samples' unambiguous, and the batch (20 "
           "per side) and step count stay the same, so (b) differs from (a) only in the data.",
    criterion="As v1: the median grid MSE to D* of 0-GP is smaller than that of each of no GP, "
              "no GP with 1000 samples per side (10x, same steps and batch), 1-GP and "
              "0-GP-sample (R1 on the real samples); 4 checks.",
    checks=_c4_checks,
    seeds=(3, 10),
)


_C4_V3 = Revision(
    version=3,
    registered="2026-11-30, before any run it judges (the C4 quick rerun on this machine)",
    reason="004 Table 1 defines 0-GP-sample on D = D_r u D_g (real AND fake samples); v1 and "
           "v2 use R1 on the real samples only, as the authors' code does. v3 adds the Table 1 "
           "variant (harness spec gan-0gp-sample) as a fifth comparison; the four v2 checks are "
           "unchanged.",
    criterion="As v2, plus: the median grid MSE to D* of 0-GP is smaller than that of "
              "0-GP-sample on real and fake samples (004 Table 1); 5 checks.",
    checks=_c4_v3_checks,
    seeds=(3, 10),
)


C4 = Experiment(
    claim="C4",
    title="On two Gaussians a 2x64 MLP discriminator with 0-GP is closest to D*; without GP "
          "or with 0-GP-sample it overfits",
    source="004 §4.1, §6.1, Fig. 1",
    paper_setup="Two Gaussians (real vs fixed fake), discriminator 2x64 MLP trained alone for "
                "10,000 iterations on a finite sample set with the original GAN loss; (a) no "
                "GP, (b) no GP with more samples, (c) 1-GP, (d) 0-GP-sample, (e) 0-GP, all "
                "lambda = 1; compared with D* (Eq. 2). The rest is not in 004 and is taken "
                "from the authors' released code for Fig. 1: real N((0.4, 0.9), [[1, .5], "
                "[.5, 1]]), fake N((1.3, 1.2), [[1, .7], [.7, 1]]), 100 samples per side, tanh "
                "MLP with sigmoid output, BCE, Adam 1e-3, minibatches of 20 per side in "
                "shuffled epochs, 10,000 epochs = 50,000 steps, penalties on D = sigmoid(f), "
                "0-GP-sample on the real samples. (b) uses 1000 samples per side (not stated) "
                "and the same 50,000 steps. Full mode: that, 10 seeds.",
    quick_changes="10,000 steps instead of 50,000 and 3 seeds.",
    metric="MSE between D = sigmoid(f) and D* on a 100x100 grid over [-2.5, 4.5]^2 (the "
           "authors' plotting window); also the MSE on 20,000 fresh samples of p_r and p_g and "
           "the generalisation gap L_D(fresh) - L_D(training set). Medians over seeds.",
    criterion="median MSE to D* of 0-GP smaller than that of each other variant (no GP, no GP "
              "with more samples, 1-GP, 0-GP-sample): 4 checks.",
    checks=_c4_checks,
    run=_c4_run,
    revisions=(_C4_V2, _C4_V3),
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


def _c5_plan(ctx: RunContext) -> list[tuple[str, TrainConfig]]:
    return [(f"8gaussians-x10-{key}-s{seed}", _c5_config(ctx, penalty, seed))
            for key, _label, penalty in _C5_VARIANTS for seed in ctx.seeds]


def _c5_run(ctx: RunContext) -> Measured:
    m = Measured()
    train_planned(ctx, "C5", _c5_plan(ctx))
    runs: dict[str, list[RunRecord]] = {}
    for key, _label, penalty in _C5_VARIANTS:
        final, late, hq, w1 = [], [], [], []
        ring: list[float] = []
        reached: list[float] = []
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
            ring_share, modes_reached = _c5_spread(rec)
            ring.append(ring_share)
            reached.append(modes_reached)
        for name, vals in (("modes_final", final), ("modes_late_min", late),
                           ("high_quality", hq), ("w1_final", w1), ("ring_share", ring),
                           ("modes_reached", reached)):
            m.values[f"{key}/{name}"] = stats(vals)
            m.per_seed[f"{key}/{name}"] = vals
    m.setup["config_0gp"] = _c5_config(ctx, "gan-0gp", 0).to_dict()
    m.notes.append("ring_share and modes_reached (added after the first full-size run, reported "
                   "and not in the criterion): of 2000 samples, the share within 0.5 of the "
                   "circle through the centres, and the modes holding >= 1% of the samples "
                   "within 1.0 of their centre.")
    m.figures.append(_c5_figure(ctx, runs))
    return m


def _c5_spread(rec: RunRecord) -> tuple[float, float]:
    """Share of 2000 samples within 0.5 of the circle through the centres, and the number of
    modes holding >= 1% of the samples within 1.0 of their centre (reported, not a criterion)."""
    centres = build_dataset(rec.config).centres
    if centres is None:
        return float("nan"), float("nan")
    x = samples(rec, 2000, seeded(11))
    radius = float(centres.norm(dim=1).mean())
    ring = float(((x.norm(dim=1) - radius).abs() < 0.5).float().mean())
    near = (torch.cdist(centres.float(), x) < 1.0).float().mean(1)
    return ring, float((near >= 0.01).sum())


def _c5_figure(ctx: RunContext, runs: Mapping[str, list[RunRecord]],
               variants: tuple[tuple[str, str, str], ...] = _C5_VARIANTS,
               name: str = "C5", file: str = "c5_modes.png") -> Path:
    n = len(variants) + 1
    fig = Figure(figsize=(2.8 * n, 3.6))
    first = runs["0gp"][0]
    centres = build_dataset(first.config).centres
    for i, (key, label, _p) in enumerate(variants):
        rec = runs[key][0]
        pts = samples(rec, 500, seeded(7))
        ax = fig.add_subplot(1, n, i + 1)
        ax.scatter(pts[:, 0], pts[:, 1], s=3, c="blue", alpha=0.5, label="generated")
        if centres is not None:
            ax.scatter(centres[:, 0], centres[:, 1], s=30, c="red", marker="x",
                       label="mode centres")
        lim = 1.5 * float(centres.abs().max()) if centres is not None else 20.0
        ax.set(title=f"{label}: {int(rec.final.get('modes_covered', 0))}/8 modes", aspect="equal",
               xlim=(-lim, lim), ylim=(-lim, lim))
        ax.title.set_fontsize(8)
        if i == 0:
            ax.legend(fontsize=6, loc="upper right")
    ax = fig.add_subplot(1, n, n)
    for key, label, _p in variants:
        steps, vals = aligned(runs[key], "modes_covered")
        if steps.size:
            ax.plot(steps, np.median(vals, 0), label=label)
    ax.set(xlabel="step", title="modes covered (median)", ylim=(-0.3, 8.3))
    ax.legend(fontsize=6)
    cfg = first.config
    std = build_dataset(cfg).mode_std or 0.0
    fig.suptitle(f"{name}: 8 Gaussians x10 (std {std:.3f}), lambda {cfg.weight or 10:g} on "
                 f"D = sigmoid(f), samples of seed {ctx.seeds[0]} at step {cfg.steps:,}",
                 fontsize=9)
    fig.tight_layout()
    return save_figure(fig, ctx.out / file)


def _c5_checks(quick: bool) -> tuple[Criterion, ...]:
    def all_final(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
        s = v["0gp/modes_final"]
        return median(s) >= 8, fmt(s)

    def stable(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
        s = v["0gp/modes_late_min"]
        return median(s) >= 7, fmt(s)

    checks = [
        Criterion("0gp_covers_8", "0-GP: median modes covered at the end = 8", all_final),
        Criterion("0gp_stable", "0-GP: median over seeds of the minimum modes covered over the "
              "evaluations of the last 25% of training >= 7", stable),
    ]
    for key, label, _p in _C5_VARIANTS:
        if key == "0gp":
            continue

        def ev(v: Mapping[str, Any], q: bool, key: str = key) -> tuple[bool, str]:
            fin, late = v[f"{key}/modes_final"], v[f"{key}/modes_late_min"]
            return (median(fin) < 8 or median(late) < 8,
                    f"final {fmt(fin)}, late minimum {fmt(late)}")

        checks.append(Criterion(f"{key}_collapses_or_jumps",
                            f"{label}: median modes at the end < 8, or median late minimum "
                            "< 8 (collapse or mode jumping)", ev))
    return tuple(checks)


C5 = Experiment(
    claim="C5",
    title="8 Gaussians x10: GAN-0-GP covers all 8 modes; no GP, 1-GP and 0-GP-sample collapse "
          "or jump between modes",
    source="004 §6.2, Fig. 2, App. E.1",
    paper_setup="8 Gaussians scaled by 10 (in the authors' code: centres on a circle of radius "
                "10 / 1.414 = 7.07, harness scale 5); generator and discriminator 2x512 MLPs; "
                "SGD lr "
                "0.003 for both, one discriminator update per generator update; lambda = 10 "
                "for every GP; 10,000 iterations; non-saturating generator loss (preset "
                "thanh-tung2019-8g). Not in 004 and taken from the authors' released code "
                "(GradientPenaltiesGAN.py): every penalty on D = sigmoid(f), ReLU "
                "activations, batch 128, latent size 2, 0-GP-sample on the real samples. "
                "Full mode: that, 10 seeds.",
    quick_changes="2x128 MLPs instead of 2x512 and 4,000 iterations instead of 10,000, 3 seeds: "
                  "12 runs of the paper size would take ~1 h on 2 cores.",
    metric="modes covered (harness mode_statistics: a mode is covered if at least 10% of its "
           "fair share of 500 samples lie within 3 std of its centre) at the end, and the "
           "minimum over the evaluations (every 100 steps) in the last 25% of training; also "
           "high-quality share and W1, and (added after the first full-size run, not in the "
           "criterion) ring_share and modes_reached: of 2000 samples, the share within 0.5 of "
           "the circle, and the modes holding >= 1% of them within 1.0 of their centre.",
    criterion="0-GP: median final modes = 8 and median late minimum >= 7; each of no GP, 1-GP, "
              "0-GP-sample: median final modes < 8 or median late minimum < 8.",
    checks=_c5_checks,
    run=_c5_run,
    plan=_c5_plan,
)
