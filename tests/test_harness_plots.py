"""gp_spec.harness.plots: every figure is written as a PNG (Agg canvas, no display)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from gp_spec.harness import data, plots
from gp_spec.harness.errors import ConfigError

PNG = b"\x89PNG\r\n\x1a\n"


def _critic(d: int) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(d, 8), nn.Tanh(), nn.Linear(8, 1), nn.Flatten(0))


def _is_png(p: Path) -> bool:
    return p.read_bytes()[:8] == PNG


def test_2d_figures(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    ds = data.two_gaussians()
    assert ds.log_ratio is not None and ds.bounds is not None
    real, fake = ds.sample(50, g), ds.sample_reference(50, g)
    critic = _critic(2)
    written = [
        plots.plot_level_sets(critic, real, fake, tmp_path / "a.png", bounds=ds.bounds, num=30),
        plots.plot_gradient_field(critic, real, fake, tmp_path / "b.png", bounds=ds.bounds,
                                  log_d=True, num=8),
        plots.plot_value_surface(critic, ds.log_ratio, tmp_path / "c.png", bounds=ds.bounds,
                                 num=30),
    ]
    assert all(_is_png(p) for p in written)


def test_1d_critic_and_samples(tmp_path: Path) -> None:
    assert _is_png(plots.plot_critic_1d(_critic(1), tmp_path / "f.png", num=50))
    imgs = torch.rand(10, 1, 8, 8) * 2 - 1
    assert _is_png(plots.plot_sample_grid(imgs, tmp_path / "s.png", nrow=5))
    with pytest.raises(ConfigError, match="N, C, H, W"):
        plots.plot_sample_grid(torch.zeros(3, 8), tmp_path / "x.png")


def test_metric_curves_band_across_seeds(tmp_path: Path) -> None:
    runs = [[{"step": s, "w1_assignment": 1.0 / (s + seed)} for s in range(1, 6)]
            for seed in (1, 2, 3)]
    steps, values = plots._aligned(runs, "w1_assignment")
    assert steps.tolist() == [1, 2, 3, 4, 5] and values.shape == (3, 5)
    p = plots.plot_metric_curves({"lp": runs, "gp": runs[:1]}, ["w1_assignment"],
                                 tmp_path / "m.png")
    assert _is_png(p)
