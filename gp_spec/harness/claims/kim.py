"""C6, C8: the simple gradient penalty (SGP) mu-WGAN of 000: five penalty measures on toy
data (000 §5.1, App. D Fig. 4), and the toy dynamics of Lemmas 1-3 (000 §3, App. A-B).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from gp_spec import dynamics
from gp_spec.harness.claims._common import (
    Criterion,
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
    train_planned,
)
from gp_spec.harness.config import TrainConfig, get_preset
from gp_spec.harness.data import get_dataset

__all__ = ["C6", "C8"]

# ------------------------------------------------------------------------------------ C6

_C6_MEASURES: tuple[tuple[str, str], ...] = (
    ("p_g", "sgp-fake"),
    ("p_d", "sgp-real"),
    ("mu_GP", "sgp-interpolate"),
    ("mu_mid", "sgp-mid"),
    ("mu_g,anc", "sgp-anchor"),
)
_C6_FULL_STEPS = {"8gaussians": 30_000, "swissroll": 100_000, "25gaussians": 200_000}


def _c6_datasets(quick: bool) -> tuple[str, ...]:
    return ("8gaussians",) if quick else ("8gaussians", "25gaussians", "swissroll")


def _c6_config(ctx: RunContext, ds: str, penalty: str, seed: int) -> TrainConfig:
    """Preset kim2018-sgp (gan_toy.py settings, weight rho/2 = 0.05); quick: 3x128, 1000 steps."""
    steps = 1000 if ctx.quick else _C6_FULL_STEPS[ds]
    hidden = (128, 128, 128) if ctx.quick else (512, 512, 512)
    return get_preset("kim2018-sgp").config.replace(
        dataset=ds, penalty=penalty, seed=seed, steps=steps, critic_hidden=hidden,
        generator_hidden=hidden, log_every=25 if ctx.quick else 500,
        checkpoint_every=steps if ctx.quick else 5000, eval_samples=500, device=ctx.device)


def _w1_last(rec: RunRecord, k: int = 5) -> float:
    vals = [r.get("w1_assignment") for r in rec.history[-k:]]
    if not vals or any(v is None or not math.isfinite(float(v)) for v in vals):
        return float("inf")
    return float(np.mean([float(v) for v in vals if v is not None]))


def _w1_first(rec: RunRecord) -> float:
    v = rec.history[0].get("w1_assignment") if rec.history else None
    return float("inf") if v is None else float(v)


def _c6_plan(ctx: RunContext) -> list[tuple[str, TrainConfig]]:
    return [(f"{ds}-{penalty}-s{seed}", _c6_config(ctx, ds, penalty, seed))
            for ds in _c6_datasets(ctx.quick) for _name, penalty in _C6_MEASURES
            for seed in ctx.seeds]


def _c6_run(ctx: RunContext) -> Measured:
    m = Measured()
    train_planned(ctx, "C6", _c6_plan(ctx))
    for ds in _c6_datasets(ctx.quick):
        runs: dict[str, list[RunRecord]] = {}
        for name, penalty in _C6_MEASURES:
            runs[name] = [train_cached(ctx, "C6", f"{ds}-{penalty}-s{seed}",
                                       _c6_config(ctx, ds, penalty, seed))
                          for seed in ctx.seeds]
            final = [_w1_last(r) for r in runs[name]]
            ratio = [_w1_last(r) / _w1_first(r) for r in runs[name]]
            m.values[f"{ds}/{name}/w1_final"] = stats(final)
            m.values[f"{ds}/{name}/w1_ratio"] = stats(ratio)
            m.per_seed[f"{ds}/{name}/w1_final"] = final
            m.per_seed[f"{ds}/{name}/w1_ratio"] = ratio
        m.figures.append(_c6_figure(ctx, ds, runs))
    m.setup["config_mu_GP"] = _c6_config(ctx, "8gaussians", "sgp-interpolate", 0).to_dict()
    m.notes.append("W1 between two independent 500-sample sets of the real data (noise floor, "
                   "10 draws): median 0.107 (8 Gaussians), 0.126 (25 Gaussians), 0.123 (Swiss "
                   "roll).")
    return m


def _c6_figure(ctx: RunContext, ds: str, runs: Mapping[str, list[RunRecord]]) -> Path:
    data = get_dataset(ds)
    real = data.sample(500, seeded(3))
    fig = Figure(figsize=(15, 3.2))
    for i, (name, _p) in enumerate(_C6_MEASURES):
        rec = runs[name][0]
        pts = samples(rec, 500, seeded(5))
        ax = fig.add_subplot(1, 6, i + 1)
        ax.scatter(real[:, 0], real[:, 1], s=2, c="red", alpha=0.4, label="real")
        ax.scatter(pts[:, 0], pts[:, 1], s=2, c="blue", alpha=0.5, label="generated")
        if i == 0:
            ax.legend(fontsize=6, loc="upper right", markerscale=3)
        ax.set(title=f"{name}: W1 {_w1_last(rec):.3f}", aspect="equal", xlim=(-3, 3),
               ylim=(-3, 3))
    ax = fig.add_subplot(1, 6, 6)
    for name, _p in _C6_MEASURES:
        steps, vals = aligned(runs[name], "w1_assignment")
        if steps.size:
            ax.plot(steps, np.median(vals, 0), label=name)
    ax.set(yscale="log", xlabel="generator step", title="W1 (median over seeds)")
    ax.legend(fontsize=6)
    n_steps = runs[_C6_MEASURES[0][0]][0].config.steps
    fig.suptitle(f"C6 {ds}: simple GP (weight rho/2 = 0.05) on five measures, step {n_steps:,}, "
                 f"seed {ctx.seeds[0]}", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, ctx.out / f"c6_measures_{ds}.png")


def _c6_checks(quick: bool) -> tuple[Criterion, ...]:
    thr = 0.3 if quick else 0.2
    checks = []
    for ds in _c6_datasets(quick):
        for name, _p in _C6_MEASURES:
            def final(v: Mapping[str, Any], q: bool, key: str = f"{ds}/{name}") -> tuple[bool, str]:
                s = v[f"{key}/w1_final"]
                return median(s) <= thr, fmt(s)

            def ratio(v: Mapping[str, Any], q: bool, key: str = f"{ds}/{name}") -> tuple[bool, str]:
                s = v[f"{key}/w1_ratio"]
                return median(s) <= 0.5, fmt(s)

            checks.append(Criterion(f"{ds}_{name}_w1_below_{thr:g}",
                                f"{ds}, {name}: median final W1 <= {thr:g}", final))
            checks.append(Criterion(f"{ds}_{name}_w1_halved",
                                f"{ds}, {name}: median final W1 / W1 at the first evaluation "
                                "<= 0.5", ratio))
    return tuple(checks)


C6 = Experiment(
    claim="C6",
    title="The simple GP with each of p_g, p_d, mu_GP, mu_mid, mu_g,anc (A = (2, -1)) converges "
          "on 8 Gaussians, 25 Gaussians and the Swiss roll",
    source="000 §5, Table 1, §5.1, App. D Fig. 4",
    paper_setup="Gulrajani et al.'s gan_toy.py with only the penalty changed to rho/2 "
                "E_mu ||grad D||^2: 3x512 MLPs, Adam(0.5, 0.9) lr 1e-4, 5 critic steps, batch "
                "256 (preset kim2018-sgp, weight rho/2 = 0.05); 30K iterations on 8 Gaussians, "
                "100K on the Swiss roll, 200K on 25 Gaussians. The paper shows samples only "
                "(Fig. 4). Full mode: those data sets and lengths, 10 seeds.",
    quick_changes="8 Gaussians only, 3x128 MLPs instead of 3x512, 1,000 generator steps "
                  "instead of 30,000, 3 seeds: 30K steps of 3x512 take ~1.5-3 h per run on 2 "
                  "cores. The threshold is 0.3 instead of 0.2 for the shorter training.",
    metric="final W1 = mean assignment W1 (500 samples) over the last 5 evaluations (every 25 "
           "steps); ratio = final W1 / W1 at the first evaluation. Medians over seeds.",
    criterion="For each measure (and data set): median final W1 <= 0.3 (quick) / 0.2 (full; "
              "about twice the 500-sample noise floor 0.11-0.13), and median ratio <= 0.5.",
    checks=_c6_checks,
    run=_c6_run,
    plan=_c6_plan,
)


# ------------------------------------------------------------------------------------ C8

_RHO_LEMMA3 = 3 / 8  # 000 App. B, Fig. 3


def _field(fn: Callable[..., Tensor], **kw: Any) -> Callable[[Tensor], Tensor]:
    return lambda s: fn(s, **kw)


def _c8_run(ctx: RunContext) -> Measured:
    m = Measured()
    f64 = torch.float64
    # Lemma 1, rho = 0: a centre; rho = 1: a stable focus (probability measure, M = 1).
    for rho in (0.0, 1.0):
        field = _field(dynamics.dirac_gan, rho=rho)
        eig = dynamics.eigenvalues(dynamics.jacobian(field, torch.zeros(2, dtype=f64)))
        expected = np.roots([1.0, rho, 1.0])  # lambda^2 + rho M lambda + 1 = 0
        err = float(np.max(np.abs(np.sort_complex(eig.numpy()) - np.sort_complex(expected))))
        traj = dynamics.integrate(field, torch.tensor([1.0, 1.0], dtype=f64), 20 * math.pi,
                                  num=2001)
        r = np.linalg.norm(traj.states, axis=1)
        m.values[f"lemma1_rho{rho:g}/eig_err"] = err
        m.values[f"lemma1_rho{rho:g}/max_real"] = float(eig.real.max())
        m.values[f"lemma1_rho{rho:g}/radius_end"] = float(r[-1])
        m.values[f"lemma1_rho{rho:g}/radius_drift"] = float(np.max(np.abs(r - r[0])) / r[0])
    # Lemma 1 with a finite measure of mass M = psi^2 + theta^2 (M(0,0) = 0, psi dM/dpsi >= 0):
    # Lyapunov function psi^2 + theta^2 must not increase.
    mass_fn: dynamics.MassFn = lambda p, t: p.square() + t.square()
    field_m = _field(dynamics.dirac_gan, rho=1.0, mass=mass_fn)
    traj = dynamics.integrate(field_m, torch.tensor([0.8, -0.6], dtype=f64), 50.0, num=2001)
    lyap = np.sum(traj.states**2, axis=1)
    m.values["lemma1_finite/max_increase"] = float(np.max(np.diff(lyap)))
    m.values["lemma1_finite/lyapunov_end"] = float(lyap[-1])
    # Lemma 2: D = psi x^2, U(-1,1) vs U(-|theta|,|theta|), four measures, rho = 1.
    errs, max_re, conv = [], [], []
    measures: tuple[dynamics.MeasureName, ...] = ("interpolate", "real", "fake", "midpoint")
    for measure in measures:
        mom = dynamics.uniform_second_moment(measure)
        field = _field(dynamics.quadratic_uniform_gan, rho=1.0, second_moment=mom)
        for theta in (1.0, -1.0):
            eq = torch.tensor([0.0, theta], dtype=f64)
            eig = dynamics.eigenvalues(dynamics.jacobian(field, eq))
            a2 = float(mom(torch.tensor(theta, dtype=f64)))
            disc = complex(4 * a2**2 - 4 / 9) ** 0.5
            expected = np.array([-2 * a2 + disc, -2 * a2 - disc])
            errs.append(float(np.max(np.abs(np.sort_complex(eig.numpy())
                                            - np.sort_complex(expected)))))
            max_re.append(float(eig.real.max()))
        traj = dynamics.integrate(field, torch.tensor([0.2, 0.8], dtype=f64), 200.0, num=401)
        conv.append(float(np.linalg.norm(traj.states[-1] - np.array([0.0, 1.0]))))
    m.values["lemma2/eig_err"] = max(errs)
    m.values["lemma2/max_real"] = max(max_re)
    m.values["lemma2/dist_to_equilibrium_end"] = max(conv)
    # Lemma 3: D = psi x^2, delta_0 vs delta_theta, mu_GP, rho = 3/8; no trajectory to (0, 0).
    field3 = _field(dynamics.quadratic_dirac_gan, rho=_RHO_LEMMA3)
    ends, min_dist = [], []
    for psi0 in np.linspace(-3, 3, 7):
        for theta0 in (-2.0, -1.0, -0.5, 0.5, 1.0, 2.0):
            traj = dynamics.integrate(field3, torch.tensor([psi0, theta0], dtype=f64), 60.0,
                                      num=601)
            ends.append(traj.states[-1])
            min_dist.append(float(np.min(np.linalg.norm(traj.states, axis=1))))
    ends_a = np.asarray(ends)
    jac_errs = []
    for a in (-2.0, -0.5, 0.5, 1.0):
        j = dynamics.jacobian(field3, torch.tensor([a, 0.0], dtype=f64)).numpy()
        jac_errs.append(float(np.max(np.abs(j - np.array([[0.0, 0.0], [0.0, 2 * a]])))))
    m.values["lemma3/min_dist_to_origin"] = float(min(min_dist))
    m.values["lemma3/max_abs_theta_end"] = float(np.max(np.abs(ends_a[:, 1])))
    m.values["lemma3/max_psi_end"] = float(np.max(ends_a[:, 0]))
    m.values["lemma3/jacobian_err"] = max(jac_errs)
    m.per_seed["deterministic"] = True
    m.figures.append(_c8_figure(ctx))
    m.setup["lemma3_rho"] = _RHO_LEMMA3
    m.notes.append("Trajectories by scipy solve_ivp (DOP853, rtol 1e-10, atol 1e-12); "
                   "Jacobians by autograd, eigenvalues by LAPACK geev (gp_spec.dynamics).")
    return m


def _portrait(ax: Any, field: Callable[[Tensor], Tensor], lim: tuple[float, float, float, float],
              starts: list[tuple[float, float]], t_end: float, title: str) -> None:
    xs, ys = np.linspace(lim[0], lim[1], 25), np.linspace(lim[2], lim[3], 25)
    u, v = np.zeros((25, 25)), np.zeros((25, 25))
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            d = field(torch.tensor([x, y], dtype=torch.float64))
            u[i, j], v[i, j] = float(d[0]), float(d[1])
    ax.streamplot(xs, ys, u, v, density=0.8, color="0.7", linewidth=0.6, arrowsize=0.7)
    for s in starts:
        traj = dynamics.integrate(field, torch.tensor(s, dtype=torch.float64), t_end, num=1500)
        ax.plot(traj.states[:, 0], traj.states[:, 1], lw=1.2)
        ax.plot(*s, "ko", ms=3)
    ax.set(xlim=lim[:2], ylim=lim[2:], xlabel="psi", ylabel="theta")
    ax.set_title(title, fontsize=8)


def _c8_figure(ctx: RunContext) -> Path:
    fig = Figure(figsize=(13, 3.5))
    panels: list[tuple[Callable[[Tensor], Tensor], tuple[float, float, float, float],
                       list[tuple[float, float]], float, str]] = [
        (_field(dynamics.dirac_gan, rho=0.0), (-2, 2, -2, 2), [(1.0, 1.0)], 20.0,
         "Lemma 1, rho = 0: eig +-i, circles"),
        (_field(dynamics.dirac_gan, rho=1.0), (-2, 2, -2, 2), [(1.0, 1.0), (-1.5, 0.5)], 30.0,
         "Lemma 1, rho = 1: converges to 0"),
        (_field(dynamics.quadratic_uniform_gan, rho=1.0), (-1, 1, -1.6, 1.6),
         [(0.2, 0.8), (-0.5, -0.4)], 100.0, "Lemma 2 (mu_GP), rho = 1: to (0, +-1)"),
        (_field(dynamics.quadratic_dirac_gan, rho=_RHO_LEMMA3), (-3, 3, -2, 2),
         [(1.0, 1.0), (-1.0, 1.5), (2.0, -0.5), (-2.5, 1.0)], 40.0,
         "Lemma 3, rho = 3/8: never reaches (0, 0)"),
    ]
    for i, (field, lim, starts, t_end, title) in enumerate(panels):
        _portrait(fig.add_subplot(1, 4, i + 1), field, lim, starts, t_end, title)
    fig.tight_layout()
    return save_figure(fig, ctx.out / "c8_phase_portraits.png")


def _c8_checks(quick: bool) -> tuple[Criterion, ...]:
    def lemma1_centre(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
        err, re = v["lemma1_rho0/eig_err"], v["lemma1_rho0/max_real"]
        drift = v["lemma1_rho0/radius_drift"]
        return (err < 1e-9 and abs(re) < 1e-9 and drift < 1e-6,
                f"|eig - (+-i)| = {err:.1e}, max Re = {re:.1e}, radius drift {drift:.1e}")

    def lemma1_stable(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
        err, re, r = (v["lemma1_rho1/eig_err"], v["lemma1_rho1/max_real"],
                      v["lemma1_rho1/radius_end"])
        return (err < 1e-9 and re < 0 and r < 1e-6,
                f"|eig - roots(l^2 + l + 1)| = {err:.1e}, max Re = {re:.3g}, |state(20 pi)| = "
                f"{r:.1e}")

    def lemma1_finite(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
        inc, end = v["lemma1_finite/max_increase"], v["lemma1_finite/lyapunov_end"]
        return inc <= 1e-9, f"max step increase of psi^2 + theta^2 = {inc:.1e}, end {end:.3g}"

    def lemma2(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
        err, re, d = (v["lemma2/eig_err"], v["lemma2/max_real"],
                      v["lemma2/dist_to_equilibrium_end"])
        return (err < 1e-6 and re < 0 and d < 1e-3,
                f"|eig - formula| = {err:.1e}, max Re = {re:.3g}, distance to (0, 1) at t = 200: "
                f"{d:.1e}")

    def lemma3(v: Mapping[str, Any], q: bool) -> tuple[bool, str]:
        dist, jerr = v["lemma3/min_dist_to_origin"], v["lemma3/jacobian_err"]
        return (dist > 0.05 and jerr < 1e-9,
                f"closest approach to (0, 0) over 42 trajectories {dist:.3g}, Jacobian at (a, 0) "
                f"error {jerr:.1e}, final psi <= {v['lemma3/max_psi_end']:.3g}")

    return (
        Criterion("lemma1_rho0_centre", "Lemma 1, rho = 0: Jacobian eigenvalues +-i (error "
              "< 1e-9), the trajectory from (1, 1) keeps its radius (relative drift < 1e-6): no "
              "convergence", lemma1_centre),
        Criterion("lemma1_rho1_converges", "Lemma 1, rho = 1, probability measure: eigenvalues = "
              "roots of l^2 + l + 1 (error < 1e-9), real parts < 0, |state| < 1e-6 at t = "
              "20 pi", lemma1_stable),
        Criterion("lemma1_finite_measure_lyapunov", "Lemma 1, finite measure M = psi^2 + theta^2 "
              "(M(0,0) = 0): psi^2 + theta^2 never increases (tolerance 1e-9)", lemma1_finite),
        Criterion("lemma2_spectrum", "Lemma 2, four measures, rho = 1: eigenvalues at (0, +-1) = "
              "-2 rho A^2 +- sqrt(4 rho^2 A^4 - 4/9) (error < 1e-6: for p_d and p_g the "
              "root is double and LAPACK's error is ~sqrt(eps)), real parts < 0, the "
              "trajectory from (0.2, 0.8) within 1e-3 of (0, 1) at t = 200", lemma2),
        Criterion("lemma3_no_convergence", "Lemma 3, rho = 3/8: no trajectory from 42 starts off "
              "the psi-axis comes within 0.05 of (0, 0); Jacobian at (a, 0) = [[0, 0], [0, 2a]]",
              lemma3),
    )


C8 = Experiment(
    claim="C8",
    title="The Dirac-GAN and psi x^2 systems behave as Lemmas 1-3 state",
    source="000 §3, Lemmas 1-2, App. A-B (Lemma 3, Fig. 3)",
    paper_setup="ODEs of simultaneous gradient flow: Dirac GAN D = psi x with SGP (Lemma 1), "
                "D = psi x^2 with uniform data (Lemma 2), D = psi x^2 with Dirac data and mu_GP "
                "(Lemma 3, rho = 3/8 as in Fig. 3).",
    quick_changes="Nothing: the computation is deterministic and takes seconds; quick and full "
                  "are the same.",
    metric="Jacobian eigenvalues (autograd + LAPACK) against the lemmas' formulas; trajectories "
           "(solve_ivp DOP853, rtol 1e-10): radius, distance to the equilibrium, Lyapunov "
           "function, closest approach to the origin.",
    criterion="Five checks, all with numerical tolerances: Lemma 1 rho = 0 (eigenvalues +-i, no "
              "convergence), rho = 1 (converges), finite measure (Lyapunov non-increasing), "
              "Lemma 2 (spectrum formula, convergence), Lemma 3 (never reaches (0, 0)).",
    checks=_c8_checks,
    run=_c8_run,
    seeds=(1, 1),
    deterministic=True,
)
