"""C7: with ``lambda k(f)^2`` and an objective of the Eq. 12 family, the optimal critic's
gradient at every fake point points towards a real point (002 Theorem 1, §5.1, Fig. 3).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.optimize
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from gp_spec import objectives
from gp_spec._devices import resolve_device
from gp_spec._seeding import derive_seed
from gp_spec.harness.claims._common import (
    Criterion,
    Experiment,
    Measured,
    Revision,
    RunContext,
    fmt,
    median,
    save_figure,
    seeded,
    stats,
    t_lower_bound,
)
from gp_spec.harness.models import MLPCritic
from gp_spec.harness.steps import critic_step, make_regulariser
from gp_spec.objectives import get_objective
from gp_spec.optimal import kantorovich

__all__ = ["C7", "Alignment", "DiscreteOptimum", "alignment", "cone_cosine",
           "discrete_optimum", "t_lower_bound"]

_PHIS: tuple[str, ...] = tuple(objectives.EQ12_INSTANCES)
_N_POINTS = 10
_WEIGHT = 1.0
_BOX = 2.0
_EARLY = 10  # the early-critic baseline: after this many steps
_STRICT_DEG = 5.0  # the strict check: median angle to the partner cone below 5 degrees


def _points(seed: int) -> tuple[Tensor, Tensor]:
    """10 real and 10 fake points, uniform on ``[-2, 2]^2`` and interleaved (so directions
    from a fake point to the real points vary widely and a wrong gradient is visible)."""
    gen = seeded(30_000 + seed)
    real = (2 * torch.rand(_N_POINTS, 2, generator=gen) - 1) * _BOX
    fake = (2 * torch.rand(_N_POINTS, 2, generator=gen) - 1) * _BOX
    return real, fake


@dataclass(frozen=True)
class DiscreteOptimum:
    """The exact optimum of 002 Thm 1's problem restricted to the sample points.

    ``min_{f, k} mean_j phi(f(y_j)) + mean_i phi(-f(x_i)) + lambda k^2`` subject to
    ``|f(a) - f(b)| <= k ||a - b||`` for every pair of points: any such values extend to a
    k-Lipschitz function on the plane (McShane), so this is the optimum over all critics.

    Attributes:
      values: ``(n + m,)`` optimal ``f`` at ``[real; fake]``. k: the optimal Lipschitz constant.
      partners: for each fake point, the indices of the real points ``x`` with
        ``f(x) - f(y) >= (1 - 1e-3) k ||x - y||`` (its tight real partners, Thm 1(b)).
    """

    values: np.ndarray
    k: float
    partners: tuple[np.ndarray, ...]


def discrete_optimum(real: Tensor, fake: Tensor, phi: str, weight: float) -> DiscreteOptimum:
    """Solve :class:`DiscreteOptimum` with scipy's SLSQP (convex: phi convex, linear constraints).

    Source: 002 Thm 1 (objective family with lambda k(f)^2), Eq. 12.

    Raises:
      RuntimeError: SLSQP did not converge.
    """
    pts = torch.cat([real, fake]).double()
    n, total = real.shape[0], pts.shape[0]
    dist = torch.cdist(pts, pts).numpy()
    fn = objectives.EQ12_INSTANCES[phi]

    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
        val = fn(t[n:total]).mean() + fn(-t[:n]).mean() + weight * t[total] ** 2
        (g,) = torch.autograd.grad(val, t)
        return float(val.detach()), np.asarray(g.numpy())

    rows, cols = np.where(~np.eye(total, dtype=bool))
    a = np.zeros((rows.size, total + 1))
    a[np.arange(rows.size), rows] = -1.0  # k d(a, b) - f(a) + f(b) >= 0
    a[np.arange(rows.size), cols] = 1.0
    a[:, total] = dist[rows, cols]
    z0 = np.zeros(total + 1)
    z0[total] = 1.0
    res = scipy.optimize.minimize(
        objective, z0, jac=True, method="SLSQP", options={"maxiter": 5000, "ftol": 1e-13},
        constraints=[{"type": "ineq", "fun": lambda z: a @ z, "jac": lambda z: a}])
    if not res.success:
        raise RuntimeError(f"SLSQP: {res.message}, but should converge (phi={phi})")
    f, k = np.asarray(res.x[:total]), float(res.x[total])
    partners = tuple(
        np.where((f[:n] - f[j]) >= (1 - 1e-3) * k * dist[:n, j])[0] for j in range(n, total))
    return DiscreteOptimum(f, k, partners)


def cone_cosine(g: np.ndarray, directions: np.ndarray) -> float:
    """``cos`` of the angle between ``g`` and the convex cone spanned by ``directions``.

    ``||P_K g|| / ||g||`` with the projection by non-negative least squares; 1 when ``g`` lies
    in the cone; if ``g`` points away from it (``P_K g = 0``), the largest ``cos(g, d_i)``.
    A single direction gives the plain cosine.

    Args:
      g: ``(d,)``. directions: ``(k, d)`` with ``k >= 1``.
    """
    gn = float(np.linalg.norm(g))
    units = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    cosines = units @ g / max(gn, 1e-30)
    coef, resid = scipy.optimize.nnls(units.T, g)
    if gn == 0 or not np.any(coef > 0):
        return float(cosines.max())
    return float(np.sqrt(max(0.0, 1 - (resid / gn) ** 2)))


@dataclass(frozen=True)
class Alignment:
    """Where a critic's gradient at each fake point ``y_j`` points.

    Attributes:
      cos_partners: cosine between ``grad f(y_j)`` and the cone of directions to ``y_j``'s tight
        real partners in the exact optimum (:func:`discrete_optimum`); ``(m,)``.
      cos_coupled: cosine towards the real point coupled to ``y_j`` by the exact W1 plan.
      n_partners: ``(m,)`` number of tight real partners (2 or more: ``f*`` is not
        differentiable at ``y_j``, 003 Obs. 3; 002 App. F).
      closer_to_partner: ``(m,)`` bool: ``grad f(y_j)`` is closer in angle to the partner cone
        than to the direction of every other real point (it points at its partner rather
        than at another real point); True if every real point is a partner.
    """

    cos_partners: np.ndarray
    cos_coupled: np.ndarray
    n_partners: np.ndarray
    closer_to_partner: np.ndarray


def _grad_at(critic: nn.Module, pts: Tensor) -> np.ndarray:
    y = pts.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(critic(y).sum(), y)
    return np.asarray(g.detach().double().numpy())


def alignment(critic: nn.Module, real: Tensor, fake: Tensor, opt: DiscreteOptimum
              ) -> Alignment:
    """Measure :class:`Alignment` of a 2-D critic at the fake points against ``opt``.

    Source: 002 Thm 1(b) (every fake point has a tight partner), Thm 3 (on a tight pair's
    segment the gradient is ``k (x - y) / ||x - y||``); 003 Prop. 1.
    """
    g = _grad_at(critic, fake)
    r, f = real.double().numpy(), fake.double().numpy()
    plan = kantorovich(real.double(), fake.double()).coupling  # rows real, columns fake
    coupled = np.argmax(plan, axis=0)
    cos_p = [cone_cosine(g[j], r[opt.partners[j]] - f[j]) if opt.partners[j].size else np.nan
             for j in range(f.shape[0])]
    cos_c = [cone_cosine(g[j], (r[coupled[j]] - f[j])[None]) for j in range(f.shape[0])]
    closer = []
    for j in range(f.shape[0]):
        others = np.setdiff1d(np.arange(r.shape[0]), opt.partners[j])
        if opt.partners[j].size == 0:
            closer.append(False)
        elif others.size == 0:
            closer.append(True)
        else:
            d = r[others] - f[j]
            cos_other = (d / np.linalg.norm(d, axis=1, keepdims=True)) @ g[j] \
                / max(float(np.linalg.norm(g[j])), 1e-30)
            closer.append(bool(cos_p[j] > float(cos_other.max())))
    return Alignment(np.asarray(cos_p), np.asarray(cos_c),
                     np.asarray([p.size for p in opt.partners]), np.asarray(closer))


def _c7_steps(quick: bool) -> int:
    return 2000 if quick else 10_000


def _copy(critic: nn.Module) -> nn.Module:
    twin = MLPCritic((2,), (128, 128, 128))
    twin.load_state_dict({k: v.detach().cpu().clone() for k, v in critic.state_dict().items()})
    return twin.eval()


def _train_critic(ctx: RunContext, phi: str, seed: int, real: Tensor, fake: Tensor,
                  penalty: str = "max-gradient", weight: float = _WEIGHT
                  ) -> tuple[nn.Module, nn.Module, nn.Module]:
    """Critic-only training on the fixed sets, full batch, pairs re-shuffled every step.

    Returns the trained critic and copies of it at initialisation and after 10 steps (the
    baselines: an early critic already faces roughly towards nearby real points).
    """
    device = resolve_device(ctx.device)
    torch.manual_seed(derive_seed(seed, "c7-init", 0))
    critic = MLPCritic((2,), (128, 128, 128)).to(device)
    initial, early = _copy(critic), _copy(critic)
    opt = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    reg = make_regulariser(penalty, weight)
    obj = get_objective(f"lipschitz:{phi}")
    pen_gen = torch.Generator(device=device).manual_seed(derive_seed(seed, "c7-penalty", 0))
    perm_gen = seeded(derive_seed(seed, "c7-perm", 0))
    r, f = real.to(device), fake.to(device)
    for step in range(ctx.steps(_c7_steps(ctx.quick))):
        pr = torch.randperm(_N_POINTS, generator=perm_gen)
        pf = torch.randperm(_N_POINTS, generator=perm_gen)
        critic_step(critic, opt, r[pr.to(device)], f[pf.to(device)], objective=obj,
                    regulariser=reg, generator=pen_gen)
        if step + 1 == _EARLY:
            early = _copy(critic)
    return critic.cpu().eval(), initial, early


def _c7_run(ctx: RunContext) -> Measured:
    m = Measured()
    shown: dict[str, tuple[nn.Module, DiscreteOptimum, Alignment]] = {}
    for phi in _PHIS:
        cos_p, cos_c, share, multi, k_ratio, base, early_cos = [], [], [], [], [], [], []
        points_at: list[float] = []
        points_at0: list[float] = []
        points_at10: list[float] = []
        for seed in ctx.seeds:
            real, fake = _points(seed)
            opt = discrete_optimum(real, fake, phi, _WEIGHT)
            t0 = time.perf_counter()
            critic, initial, early = _train_critic(ctx, phi, seed, real, fake)
            ctx.charge(seed, time.perf_counter() - t0)
            a = alignment(critic, real, fake, opt)
            a0, a10 = alignment(initial, real, fake, opt), alignment(early, real, fake, opt)
            base.append(float(np.nanmedian(a0.cos_partners)))
            early_cos.append(float(np.nanmedian(a10.cos_partners)))
            points_at.append(float(np.mean(a.closer_to_partner)))
            points_at0.append(float(np.mean(a0.closer_to_partner)))
            points_at10.append(float(np.mean(a10.closer_to_partner)))
            cos_p.append(float(np.nanmedian(a.cos_partners)))
            cos_c.append(float(np.median(a.cos_coupled)))
            share.append(float(np.mean(a.cos_partners > 0.9)))
            multi.append(float(np.mean(a.n_partners >= 2)))
            k_ratio.append(_max_grad(critic) / opt.k)
            if seed == ctx.seeds[0]:
                shown[phi] = (critic, opt, a)
        ctx.say("C7", f"phi={phi}: median cos {np.median(cos_p):.3f}")
        for name, vals in (("cos_partners", cos_p), ("cos_coupled", cos_c),
                           ("share_above_0.9", share), ("share_two_partners", multi),
                           ("k_ratio", k_ratio), ("untrained_cos", base),
                           (f"step{_EARLY}_cos", early_cos), ("points_at_partner", points_at),
                           ("untrained_points_at_partner", points_at0),
                           (f"step{_EARLY}_points_at_partner", points_at10)):
            m.values[f"{phi}/{name}"] = stats(vals)
            m.per_seed[f"{phi}/{name}"] = vals
    m.setup.update(points="10 real + 10 fake, uniform on [-2, 2]^2 per seed", critic="3x128 "
                   "LeakyReLU MLP", optimizer="Adam(0.5, 0.9) lr 1e-3, full batch, pairs "
                   "reshuffled each step", penalty=f"max-gradient (lambda k(f)^2), weight "
                   f"{_WEIGHT:g}, S_max buffer 32", steps=ctx.steps(_c7_steps(ctx.quick)))
    m.notes.append("Target directions come from the exact optimum of the problem restricted to "
                   "the 20 points (SLSQP, discrete_optimum), independent of the network: the "
                   "tight real partners of each fake point. cos_coupled (towards the W1-coupled "
                   "real point), share_two_partners (fake points where f* is not "
                   "differentiable), k_ratio (network's largest gradient norm on the box / "
                   f"exact k) and two baselines, the critic at initialisation and after {_EARLY} "
                   "steps, are reported alongside.")
    m.figures.append(_c7_figure(ctx, shown))
    return m


def _max_grad(critic: nn.Module) -> float:
    lin = torch.linspace(-_BOX - 0.5, _BOX + 0.5, 201)
    gy, gx = torch.meshgrid(lin, lin, indexing="ij")
    g = _grad_at(critic, torch.stack([gx.reshape(-1), gy.reshape(-1)], 1))
    return float(np.linalg.norm(g, axis=1).max())


def _c7_figure(ctx: RunContext,
               shown: Mapping[str, tuple[nn.Module, DiscreteOptimum, Alignment]]) -> Path:
    real, fake = _points(ctx.seeds[0])
    fig = Figure(figsize=(16, 3.6))
    lin = torch.linspace(-_BOX - 0.5, _BOX + 0.5, 120)
    gy, gx = torch.meshgrid(lin, lin, indexing="ij")
    grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    for i, phi in enumerate(_PHIS):
        critic, opt, a = shown[phi]
        ax = fig.add_subplot(1, len(_PHIS), i + 1)
        first_panel = i == 0
        with torch.no_grad():
            vals = critic(grid).reshape(120, 120).numpy()
        ax.contourf(lin.numpy(), lin.numpy(), vals, levels=25, cmap="viridis")
        y = fake.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(critic(y).sum(), y)
        g = g / g.norm(dim=1, keepdim=True).clamp_min(1e-30)
        for j in range(fake.shape[0]):
            for n, i in enumerate(opt.partners[j]):
                x = real[int(i)]
                ax.plot([fake[j, 0], x[0]], [fake[j, 1], x[1]], "w:", lw=0.8,
                        label="tight partner (exact optimum)" if j == n == 0 else None)
        ax.quiver(fake[:, 0], fake[:, 1], g[:, 0], g[:, 1], color="white", scale=8, width=0.012,
                  label="grad f / |grad f|")
        ax.scatter(real[:, 0], real[:, 1], c="red", s=18, label="real")
        ax.scatter(fake[:, 0], fake[:, 1], c="blue", s=18, label="fake")
        ax.set(aspect="equal",
               title=f"phi = {phi}: median cos {np.nanmedian(a.cos_partners):.3f}, "
                     f"{int(np.sum(a.closer_to_partner))}/{a.closer_to_partner.size} at partner")
        ax.title.set_fontsize(8)
        if first_panel:
            ax.legend(fontsize=6, loc="lower left", facecolor="0.85")
    steps = ctx.steps(_c7_steps(ctx.quick))
    fig.suptitle(f"C7: max-gradient penalty, weight {_WEIGHT:g}, step {steps:,}, seed "
                 f"{ctx.seeds[0]}; background: critic f (yellow high)", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, ctx.out / "c7_gradients.png")


def _c7_checks(quick: bool) -> tuple[Criterion, ...]:
    strict = math.cos(math.radians(_STRICT_DEG))
    checks = []
    for phi in _PHIS:
        def ev(v: Mapping[str, Any], q: bool, phi: str = phi) -> tuple[bool, str]:
            s = v[f"{phi}/cos_partners"]
            return median(s) > 0.9, (f"{fmt(s)} (towards the W1-coupled point "
                                     f"{fmt(v[f'{phi}/cos_coupled'])}; untrained critic "
                                     f"{fmt(v[f'{phi}/untrained_cos'])}, after {_EARLY} steps "
                                     f"{fmt(v[f'{phi}/step{_EARLY}_cos'])})")

        def ev_strict(v: Mapping[str, Any], q: bool, phi: str = phi) -> tuple[bool, str]:
            s = v[f"{phi}/cos_partners"]
            deg = math.degrees(math.acos(min(1.0, median(s))))
            return median(s) > strict, f"median angle {deg:.2f} deg; cos {fmt(s, 4)}"

        checks.append(Criterion(f"{phi}_cos_above_0.9",
                            f"phi = {phi}: median over seeds of the median over fake points "
                            "of cos(grad f(y), cone of y's tight real partners) > 0.9", ev))
        checks.append(Criterion(f"{phi}_angle_below_{_STRICT_DEG:g}deg",
                            f"phi = {phi}: the same median cosine > cos {_STRICT_DEG:g} deg = "
                            f"{strict:.4f} (the theory says 1; a critic after {_EARLY} steps "
                            "already passes 0.9)", ev_strict))
    return tuple(checks)


_V2_SHARE = 0.8  # C7 v2: lower 95% bound of the mean share of fake points pointing at a partner


def _c7_v2_checks(quick: bool) -> tuple[Criterion, ...]:
    checks = []
    for phi in _PHIS:
        def share(v: Mapping[str, Any], q: bool, phi: str = phi) -> tuple[bool, str]:
            vals = v[f"{phi}/points_at_partner"]["values"]
            low = t_lower_bound(vals)
            return low >= _V2_SHARE, (f"mean share {np.mean(vals):.3f} over {len(vals)} seeds, "
                                      f"lower 95% bound {low:.3f} (margin {low - _V2_SHARE:+.3f};"
                                      f" untrained "
                                      f"{np.mean(v[f'{phi}/untrained_points_at_partner']['values']):.2f}"
                                      f", after {_EARLY} steps "
                                      f"{np.mean(v[f'{phi}/step{_EARLY}_points_at_partner']['values']):.2f})")

        def better(v: Mapping[str, Any], q: bool, phi: str = phi) -> tuple[bool, str]:
            trained = v[f"{phi}/points_at_partner"]["values"]
            early = v[f"{phi}/step{_EARLY}_points_at_partner"]["values"]
            diff = [a - b for a, b in zip(trained, early, strict=True)]
            low = t_lower_bound(diff)
            return low > 0, (f"mean paired gain {np.mean(diff):+.3f}, lower 95% bound "
                             f"{low:+.3f} (margin {low:+.3f})")

        checks.append(Criterion(
            f"{phi}_points_at_partner", f"phi = {phi}: per seed, the share of the 10 fake points "
            "whose grad f is closer in angle to its tight-partner cone than to any other real "
            f"point; lower one-sided 95% t-bound of its mean over seeds >= {_V2_SHARE:g}", share))
        checks.append(Criterion(
            f"{phi}_beats_step{_EARLY}", f"phi = {phi}: per seed, that share minus the same "
            f"share of the critic after {_EARLY} steps; lower one-sided 95% t-bound of the mean "
            "difference > 0", better))
    return tuple(checks)


_C7_V2 = Revision(
    version=2,
    registered="2026-11-30, before any run it judges (commit after 89b79d8)",
    reason="v1's strict check compares a median over 3 seeds with 5 degrees; the same commit "
           "gave 6.27 degrees (9/10) on an Intel CPU and 3.3 degrees (10/10) on an AMD CPU: "
           "floating-point differences change each seed's trajectory, so a machine is one more "
           "draw of seeds, and the margin was smaller than that spread. v2 uses a statistic "
           "with a confidence bound over 10 seeds and a threshold derived from the claim "
           "(pointing at the partner rather than at another real point), not a fixed angle.",
    criterion="For each of the 5 phi, over 10 seeds: (a) per seed the share of fake points "
              "whose grad f is closer in angle to its tight-partner cone than to the direction "
              "of every other real point; the lower one-sided 95% Student-t bound of its mean "
              f"is >= {_V2_SHARE:g} (the theory says 1; 0.8 allows two of ten points per seed on "
              "average); (b) the paired gain of that share over the critic after 10 steps has a "
              "lower 95% bound > 0. 10 checks.",
    checks=_c7_v2_checks,
    seeds=(10, 10),
)


C7 = Experiment(
    claim="C7",
    title="With lambda k(f)^2 and any phi of the Eq. 12 family, the optimal critic's gradient "
          "at every fake point points to a real point",
    source="002 Theorem 1, Theorem 3, §5.1, Fig. 3; App. E (max-gradient penalty)",
    paper_setup="002 §5.1 verifies four phi (x, -log sigmoid(-x), x + sqrt(x^2 + 1), exp(x)) "
                "on a 2-D toy (Fig. 3; point sets, network and lambda are not stated in the "
                "text) by plotting gradients at fake points. Here: 10 real and 10 fake points "
                "uniform on [-2, 2]^2 per seed, the five phi of objectives.EQ12_INSTANCES, "
                "critic 3x128 LeakyReLU trained alone (full batch) with max-gradient lambda = 1 "
                "(S_max buffer), Adam lr 1e-3. Full mode: 10,000 steps, 10 seeds.",
    quick_changes="2,000 critic steps instead of 10,000; 3 seeds under criterion v1's design, "
                  "10 under v2's.",
    metric="At each fake point y: the cosine between the trained critic's grad f(y) and the "
           "cone spanned by the directions to y's tight real partners x (f*(x) - f*(y) = "
           "k* ||x - y||) in the EXACT optimum of the problem restricted to the 20 points "
           "(convex program, SLSQP; 1 inside the cone; with one partner the plain cosine); "
           "median over fake points, then median over seeds. Also reported: cosine towards the "
           "W1-coupled real point (gp_spec.optimal.kantorovich), share of fake points with two "
           "partners, the network's k over the exact k, and the untrained-critic baseline. "
           "v2: points_at_partner, per seed the share of fake points whose grad f is closer in "
           "angle to the partner cone than to any other real point (also for the untrained "
           "critic and the critic after 10 steps).",
    criterion="For each of the 5 phi: median over seeds of the median cosine > 0.9 (lenient, "
              "the suggested criterion) and > cos 5 deg = 0.9962 (strict: a critic after 10 "
              "steps already reaches ~0.93); 10 checks.",
    checks=_c7_checks,
    run=_c7_run,
    revisions=(_C7_V2,),
)
