"""Smoke test of ``python -m conformance.stability`` (the full run: ``nox -s stability``).

A few seeds on a few references and mutants, in-process (``--jobs 1``): the tool runs, its
tables say what they should, and its verdict is "all targets met". Plus the false failure the
full run's analysis found (float32 interpolation weights tying by chance under seed 99).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from conformance.stability import Item, lower_bound, main, run, summarise, upper_bound
from gp_spec import SPECS
from gp_spec.conformance import check, statistical_rate

SMOKE = ["reference:wgan-gp", "reference:r1", "reference:lp-quotient",
         "mutant:alpha_per_batch", "mutant:alpha_half_range", "mutant:quotient_no_clamp"]


def _smoke(it: Item) -> bool:
    return f"{it.kind}:{it.name}" in SMOKE


def test_bounds_are_clopper_pearson() -> None:
    assert math.isclose(upper_bound(0, 200), 1 - 0.05 ** (1 / 200), rel_tol=1e-9)
    assert 2.9 / 200 < upper_bound(0, 200) < 3 / 200  # the rule of three, slightly tighter
    assert math.isclose(lower_bound(200, 200), 0.05 ** (1 / 200), rel_tol=1e-9)
    assert upper_bound(1, 200) > upper_bound(0, 200) and upper_bound(0, 0) == 1.0


def test_smoke_run_meets_every_target() -> None:
    chosen, records = run([0, 1, 2], jobs=1, select=_smoke)
    assert sorted(f"{i.kind}:{i.name}" for i in chosen) == sorted(SMOKE)
    s = summarise(chosen, records, [0, 1, 2])
    assert s.ok and s.false_failures == 0 and s.escapes == 0
    assert [(i.runs, i.failed) for i in s.correct] == [(3, 0)] * 3
    assert [(m.runs, m.caught, m.failed) for m in s.mutants] == [(3, 3, 3)] * 3
    uniform = next(c for c in s.clauses if c.clause == "measure.alpha-uniform")
    rate = statistical_rate(SPECS["wgan-gp"])  # the suite's 1e-6, Bonferroni over its checks
    assert uniform.statistical and uniform.runs == 3 and uniform.claimed == {rate}
    assert rate <= uniform.min_p <= 1.0
    (half,) = [m for m in s.mutants if m.item.name == "alpha_half_range"]
    assert max(half.named_p) < 1e-20  # measured power: far below the rejection rate


def test_cli_prints_and_writes_the_tables(tmp_path: Path, capsys: object) -> None:
    out = tmp_path / "stability.md"
    only = [arg for name in ("reference:r1", "mutant:quotient_no_clamp")
            for arg in ("--only", name)]
    assert main(["--seeds", "2", "--first-seed", "7", "--jobs", "1", "--out", str(out),
                 *only]) == 0
    text = out.read_text()
    for heading in ("### False failures per check clause", "### Whole suite",
                    "### Per correct implementation", "### Mutant detection",
                    "### Where the time goes"):
        assert heading in text
    assert "Seeds 7..8 (2)" in text and "Verdict: all targets met." in text
    assert "| `measure.support` | exact | 1 | 2 | 0 | 0 |" in text
    assert "| quotient_no_clamp | lp-quotient | `quotient.distance-floor` | 100.0% (2/2) |" in text


def test_cli_rejects_a_selection_that_matches_nothing() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--seeds", "1", "--jobs", "1", "--only", "mutant:no_such_thing"])
    assert exc.value.code == 2


def _one_chance_tie(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """WGAN-GP whose float32 interpolation weights happen to tie once, as 32 draws of 2^24
    values do with probability 3e-5 (two samples share an alpha by chance)."""
    alpha = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), device=real.device)
    if real.shape[0] > 1:
        alpha[1] = alpha[0]
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    out: Tensor = 10.0 * ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
    return out


def test_chance_ties_of_float32_weights_are_not_one_alpha_per_batch() -> None:
    # The full run once found a seed whose 32 float32 weights tied by chance; the check
    # failed that correct implementation before it allowed chance ties (at most n/2 distinct).
    report = check(_one_chance_tie, "wgan-gp", weight=10.0,
                   checks=["measure.alpha-per-sample", "measure.alpha-uniform"])
    assert report.passed, report.to_text()
    (per_sample,) = [r for r in report.results if r.id.endswith("alpha-per-sample")]
    assert per_sample.message.startswith("distinct weights: 31 of 32 at (3,)")
