"""``penalty_on="probability"``: the penalty of 004 Eq. 6-7 on D = sigmoid(f), against the
closed form for a linear critic (grad_x sigmoid(w.x + b) = sigmoid'(w.x + b) w)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch

from gp_spec.harness import cli
from gp_spec.harness.config import TrainConfig
from gp_spec.harness.errors import ConfigError
from gp_spec.harness.steps import make_regulariser, penalty_term


def _linear() -> torch.nn.Linear:
    lin = torch.nn.Linear(2, 1).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.5, -0.5]]))
        lin.bias.fill_(0.25)
    return lin


def test_r1_on_the_probability_matches_the_closed_form() -> None:
    # 004 Table 1 (0-GP-sample on real) with D = sigmoid(f):
    # w * mean_i ||sigmoid'(f(x_i)) a||^2, sigmoid' = s (1 - s), f(x) = a.x + b.
    lin = _linear()
    real = torch.tensor([[0.0, 0.0], [1.0, 2.0], [-1.0, 0.5]], dtype=torch.float64)
    fake = real.flip(0)
    reg = make_regulariser("r1", 3.0, penalty_on="probability")
    got = penalty_term(lin, real, fake, reg)
    a = lin.weight.detach()[0]
    s = torch.sigmoid(real @ a + 0.25)
    expected = 3.0 * ((s * (1 - s)) ** 2 * a.square().sum()).mean()
    assert got is not None
    torch.testing.assert_close(got.detach(), expected, rtol=1e-12, atol=0)
    # on the score the same spec gives w ||a||^2 (sigmoid' <= 1/4: a different value)
    on_score = penalty_term(lin, real, fake, make_regulariser("r1", 3.0))
    assert on_score is not None
    torch.testing.assert_close(on_score.detach(), 3.0 * a.square().sum(), rtol=1e-12, atol=0)


def test_no_penalty_stays_none_and_clip_is_untouched() -> None:
    assert make_regulariser("none", penalty_on="probability").penalty is None
    assert make_regulariser("clip", penalty_on="probability").clip == 0.01


def test_probability_needs_a_sigmoid_objective() -> None:
    TrainConfig(objective="minimax", penalty="gan-0gp", penalty_on="probability")
    TrainConfig(objective="non_saturating", penalty="gan-0gp", penalty_on="probability")
    with pytest.raises(ConfigError, match="penalty_on='probability' with objective='wasserstein'"):
        TrainConfig(objective="wasserstein", penalty_on="probability")
    with pytest.raises(ConfigError, match="penalty_on='logit', but should be"):
        TrainConfig(penalty_on="logit")  # type: ignore[arg-type]


def test_cli_flag_sets_the_field(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    cli.configure(parser)
    args = parser.parse_args(["--out", str(tmp_path), "--preset", "thanh-tung2019-8g",
                              "--penalty-on", "score"])
    assert cli.config_from_args(args).penalty_on == "score"
    args = parser.parse_args(["--out", str(tmp_path), "--preset", "thanh-tung2019-8g"])
    assert cli.config_from_args(args).penalty_on == "probability"


def test_0gp_sample_on_real_and_fake_is_the_union_mean_of_004_table_1() -> None:
    # 004 Table 1: lambda E_{v in D_r u D_g}[||grad D(v)||^2]; with D = sigmoid(a.x + b) the
    # per-point value is (s (1 - s))^2 ||a||^2, averaged over the 2N points of the union.
    lin = _linear()
    real = torch.tensor([[0.0, 0.0], [1.0, 2.0], [-1.0, 0.5]], dtype=torch.float64)
    fake = torch.tensor([[2.0, -1.0], [0.5, 0.5], [-2.0, -2.0]], dtype=torch.float64)
    got = penalty_term(lin, real, fake, make_regulariser("gan-0gp-sample", 4.0,
                                                         penalty_on="probability"))
    a = lin.weight.detach()[0]
    s = torch.sigmoid(torch.cat([real, fake]) @ a + 0.25)
    expected = 4.0 * ((s * (1 - s)) ** 2 * a.square().sum()).mean()
    assert got is not None
    torch.testing.assert_close(got.detach(), expected, rtol=1e-12, atol=0)
    # R1 (real only) differs: the union is not the real-only mean here
    r1 = penalty_term(lin, real, fake, make_regulariser("r1", 4.0, penalty_on="probability"))
    assert r1 is not None and not torch.isclose(r1, expected)
