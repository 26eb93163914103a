"""PNG figures of a run, drawn with matplotlib's object API on the Agg canvas (no pyplot,
no global backend change, no display needed).

- :func:`plot_level_sets`: critic level sets with real (red) and fake (blue) samples (003 Fig. 3);
- :func:`plot_gradient_field`: input gradients on a grid (004 Fig. 2);
- :func:`plot_value_surface`: ``sigmoid(f)`` next to ``D*`` (004 Fig. 1);
- :func:`plot_critic_1d`: a 1-D critic against ``-|x| + c`` (003 Prop. 2);
- :func:`plot_metric_curves`: median and quantile band across seeds over steps (003 Figs 4-5);
- :func:`plot_sample_grid`: a grid of generated images;
- :func:`write_plots`: the PNGs that fit a run's data set, each titled with the run's penalty,
  weight and step.

This module imports matplotlib; the trainer imports it only when it draws.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from gp_spec.harness.errors import ConfigError
from gp_spec.harness.evaluation import EvalInputs, fake_samples
from gp_spec.harness.metrics import grid_points

__all__ = [
    "load_metrics",
    "plot_critic_1d",
    "plot_gradient_field",
    "plot_level_sets",
    "plot_metric_curves",
    "plot_sample_grid",
    "plot_value_surface",
    "write_plots",
]

Bounds = tuple[float, float, float, float]


def _device(module: nn.Module) -> torch.device:
    p = next(iter(module.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def _on_grid(critic: nn.Module, bounds: Bounds, num: int) -> np.ndarray:
    """Critic values on a ``num x num`` grid, shaped ``(num, num)`` (rows: y)."""
    v = grid_points(bounds, num).to(_device(critic))
    with torch.no_grad():
        values = critic(v).reshape(num, num).float().cpu().numpy()
    return np.asarray(values)


def _scatter(ax: Any, real: Tensor | None, fake: Tensor | None) -> None:
    if real is not None:
        r = real.detach().float().cpu().numpy()
        ax.scatter(r[:, 0], r[:, 1], s=4, c="red", label="real", alpha=0.6)
    if fake is not None:
        f = fake.detach().float().cpu().numpy()
        ax.scatter(f[:, 0], f[:, 1], s=4, c="blue", label="fake", alpha=0.6)


def _save(fig: Figure, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=100, format="png")
    return p


def plot_level_sets(critic: nn.Module, real: Tensor | None, fake: Tensor | None,
                    path: str | Path, *, bounds: Bounds, title: str = "",
                    num: int = 150) -> Path:
    """Filled contours of ``f`` on ``bounds`` (yellow high, purple low), samples on top.

    Source: 003 Fig. 3 (real in red, generated in blue).
    """
    values = _on_grid(critic, bounds, num)
    fig = Figure(figsize=(5, 4.5))
    ax = fig.add_subplot()
    cs = ax.contourf(np.linspace(bounds[0], bounds[1], num), np.linspace(bounds[2], bounds[3], num),
                     values, levels=30, cmap="viridis")
    fig.colorbar(cs, ax=ax)
    _scatter(ax, real, fake)
    ax.set(xlim=bounds[:2], ylim=bounds[2:], title=title or "critic level sets", aspect="equal")
    ax.legend(loc="upper right", fontsize=7)
    return _save(fig, path)


def plot_gradient_field(critic: nn.Module, real: Tensor | None, fake: Tensor | None,
                        path: str | Path, *, bounds: Bounds, log_d: bool = False,
                        num: int = 20, title: str = "") -> Path:
    """Arrows of ``grad_v f(v)`` (or of ``grad_v log sigmoid(f(v))`` with ``log_d``) on a grid.

    Source: 004 Fig. 2 (the vector at v points where ``log D(v)`` grows fastest).
    """
    v = grid_points(bounds, num).to(_device(critic)).requires_grad_(True)
    with torch.enable_grad():
        s = critic(v).reshape(-1)
        target = torch.nn.functional.logsigmoid(s) if log_d else s
        (g,) = torch.autograd.grad(target.sum(), v)
    g_np, v_np = g.detach().float().cpu().numpy(), v.detach().float().cpu().numpy()
    fig = Figure(figsize=(5, 5))
    ax = fig.add_subplot()
    _scatter(ax, real, fake)
    ax.quiver(v_np[:, 0], v_np[:, 1], g_np[:, 0], g_np[:, 1], color="black", alpha=0.7)
    ax.set(xlim=bounds[:2], ylim=bounds[2:], aspect="equal",
           title=title or ("grad log D" if log_d else "grad f"))
    return _save(fig, path)


def plot_value_surface(critic: nn.Module, log_ratio: Callable[[Tensor], Tensor],
                       path: str | Path, *, bounds: Bounds, real: Tensor | None = None,
                       fake: Tensor | None = None, num: int = 120, title: str = "") -> Path:
    """``D = sigmoid(f)`` next to ``D* = p_r / (p_r + p_g)`` on the same colour scale.

    Source: 004 Fig. 1 (a-e against f).
    """
    d = 1 / (1 + np.exp(-_on_grid(critic, bounds, num)))
    grid = grid_points(bounds, num).double()
    d_star = torch.sigmoid(log_ratio(grid)).reshape(num, num).numpy()
    xs, ys = np.linspace(bounds[0], bounds[1], num), np.linspace(bounds[2], bounds[3], num)
    fig = Figure(figsize=(9, 4))
    for i, (values, name) in enumerate(((d, "D = sigmoid(f)"), (d_star, "D* (004 Eq. 2)"))):
        ax = fig.add_subplot(1, 2, i + 1)
        cs = ax.contourf(xs, ys, values, levels=np.linspace(0, 1, 21), cmap="coolwarm")
        _scatter(ax, real, fake)
        ax.set(title=name, aspect="equal", xlim=bounds[:2], ylim=bounds[2:])
    fig.colorbar(cs, ax=fig.axes)
    if title:
        fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def plot_critic_1d(critic: nn.Module, path: str | Path, *, lo: float = -3.0, hi: float = 3.0,
                   num: int = 601, title: str = "") -> Path:
    """A 1-D critic ``f`` and the optimal ``-|x| + c`` with the best ``c`` in sup norm."""
    x = torch.linspace(lo, hi, num)
    with torch.no_grad():
        f = critic(x[:, None].to(_device(critic))).reshape(-1).float().cpu().numpy()
    h = f + np.abs(x.numpy())
    c = (h.max() + h.min()) / 2
    fig = Figure(figsize=(5, 3.5))
    ax = fig.add_subplot()
    ax.plot(x.numpy(), f, label="critic f")
    ax.plot(x.numpy(), -np.abs(x.numpy()) + c, "--", label=f"-|x| + {c:.3f}")
    ax.set(xlabel="x", title=(f"{title}: " if title else "")
           + f"sup distance {(h.max() - h.min()) / 2:.4f} (003 Prop. 2)")
    ax.legend()
    return _save(fig, path)


def load_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl`` (a truncated last line is skipped)."""
    records = []
    for line in Path(path).read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def _aligned(histories: Sequence[Sequence[Mapping[str, Any]]], key: str
             ) -> tuple[np.ndarray, np.ndarray]:
    """Steps common to all histories that log ``key``, and the ``(runs, steps)`` values."""
    per_run = [{int(r["step"]): r[key] for r in h if r.get(key) is not None} for h in histories]
    steps = sorted(set.intersection(*(set(d) for d in per_run))) if per_run else []
    values = np.array([[float(d[s]) for s in steps] for d in per_run], dtype=float)
    return np.asarray(steps), values.reshape(len(per_run), len(steps))


def plot_metric_curves(
    groups: Mapping[str, Sequence[Sequence[Mapping[str, Any]]]],
    keys: Sequence[str],
    path: str | Path,
    *,
    quantiles: tuple[float, float] = (0.25, 0.75),
    negate: Sequence[str] = (),
    title: str = "",
) -> Path:
    """Median over seeds and a quantile band, per metric key, per group of runs.

    Args:
      groups: label -> list of histories (one per seed), each a list of metric records.
      keys: metric names, one panel each. negate: keys plotted with the sign flipped (003 Fig. 4
        shows the negative critic loss).
      quantiles: the band (003 Figs 4-5 use quantiles over 20 and 10 seeds).
      title: a title over all panels (e.g. the runs' penalty and weight).
    """
    if not keys:
        raise ConfigError("plot_metric_curves: keys is empty, but should name metrics")
    fig = Figure(figsize=(4.5 * len(keys), 3.5))
    for i, key in enumerate(keys):
        ax = fig.add_subplot(1, len(keys), i + 1)
        for label, histories in groups.items():
            steps, values = _aligned(histories, key)
            if steps.size == 0:
                continue
            values = -values if key in negate else values
            med = np.median(values, 0)
            lo, hi = np.quantile(values, quantiles[0], 0), np.quantile(values, quantiles[1], 0)
            ax.plot(steps, med, label=f"{label} (n={values.shape[0]})")
            ax.fill_between(steps, lo, hi, alpha=0.25)
        ax.set(xlabel="generator step", title=("-" if key in negate else "") + key)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_sample_grid(images: Tensor, path: str | Path, *, nrow: int = 8, title: str = "") -> Path:
    """A ``nrow``-column grid of ``(N, C, H, W)`` images in ``[-1, 1]``."""
    x = images.detach().float().cpu().clamp(-1, 1)
    if x.ndim != 4:
        raise ConfigError(f"images.shape={tuple(x.shape)}, but should be (N, C, H, W)")
    n, c, h, w = x.shape
    rows = math.ceil(n / nrow)
    canvas = torch.ones(c, rows * (h + 1) + 1, nrow * (w + 1) + 1)
    for k in range(n):
        r, col = divmod(k, nrow)
        canvas[:, 1 + r * (h + 1):1 + r * (h + 1) + h, 1 + col * (w + 1):1 + col * (w + 1) + w] \
            = x[k]
    img = ((canvas + 1) / 2).permute(1, 2, 0).numpy()
    fig = Figure(figsize=(nrow * 0.6 + 0.4, rows * 0.6 + 0.6))
    ax = fig.add_subplot()
    ax.imshow(img[:, :, 0] if c == 1 else img, cmap="gray" if c == 1 else None, vmin=0, vmax=1)
    ax.set_axis_off()
    ax.set_title(title or "samples")
    return _save(fig, path)


_CURVE_KEYS = ("w1_assignment", "critic_loss", "grad_norm_mean", "modes_covered", "sup_dist_abs",
               "mse_dstar", "digit_fd")


def write_plots(out: Path, prefix: str, critic: nn.Module, generator: nn.Module | None,
                inputs: EvalInputs, seed: int, *, label: str = "",
                metrics_path: Path | None = None) -> list[Path]:
    """The PNGs that fit the data set: level sets and gradient field (2-D), value surface
    (known D*), 1-D critic, sample grid (images), metric curves (if ``metrics_path`` exists).

    ``label`` (e.g. ``"wgan-lp, weight 5, step 1000"``) starts every title.
    """
    ds, gen = inputs.dataset, torch.Generator().manual_seed(seed)
    small = EvalInputs(ds, inputs.objective, inputs.measure, min(inputs.n, 512),
                       inputs.latent_dim, inputs.critic_only, inputs.device)
    real = ds.sample(small.n, gen)
    fake = fake_samples(generator, small, gen)
    head = f"{ds.name}, {label}" if label else ds.name
    written: list[Path] = []
    if ds.event_shape == (2,) and ds.bounds is not None:
        lim = _plot_bounds(ds.bounds, real, fake)
        written.append(plot_level_sets(critic, real, fake, out / f"{prefix}level_sets.png",
                                       bounds=lim, title=f"{head}: critic level sets"))
        logistic = inputs.objective.name in ("minimax", "non_saturating")
        written.append(plot_gradient_field(
            critic, real, fake, out / f"{prefix}gradient_field.png", bounds=lim, log_d=logistic,
            title=f"{head}: " + ("grad log D" if logistic else "grad f")))
        if ds.log_ratio is not None:
            written.append(plot_value_surface(critic, ds.log_ratio,
                                              out / f"{prefix}value_surface.png",
                                              bounds=ds.bounds, real=real, fake=fake,
                                              title=head))
    if ds.event_shape == (1,):
        written.append(plot_critic_1d(critic, out / f"{prefix}critic_1d.png", title=head))
    if ds.kind == "images":
        written.append(plot_sample_grid(fake[:64], out / f"{prefix}samples.png",
                                        title=f"{head}: samples"))
    if metrics_path is not None and metrics_path.exists():
        history = load_metrics(metrics_path)
        keys = [k for k in _CURVE_KEYS if any(r.get(k) is not None for r in history)]
        if history and keys:
            written.append(plot_metric_curves({ds.name: [history]}, keys,
                                              out / f"{prefix}metrics.png", title=head))
    return written


def _plot_bounds(bounds: Bounds, real: Tensor, fake: Tensor) -> Bounds:
    """The data set's bounds, widened to include the (possibly diverged) samples."""
    pts = torch.cat([real, fake.cpu()]).float()
    lo, hi = pts.min(0).values, pts.max(0).values
    pad = 0.1 * float((hi - lo).max().clamp_min(1e-3))
    return (min(bounds[0], float(lo[0]) - pad), max(bounds[1], float(hi[0]) + pad),
            min(bounds[2], float(lo[1]) - pad), max(bounds[3], float(hi[1]) + pad))
