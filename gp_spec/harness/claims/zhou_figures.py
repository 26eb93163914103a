"""F4: 002 App. E, Fig. 18 (gradient penalty against the max-gradient penalty) on C7's toy,
an experiment with a criterion fixed before it ran (issue 16 item 6)."""

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
    save_figure,
    stats,
)
from gp_spec.harness.claims.zhou import (
    _EARLY,
    _c7_steps,
    _points,
    _train_critic,
    alignment,
    discrete_optimum,
    t_lower_bound,
)

__all__ = ["F4"]


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


