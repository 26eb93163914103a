"""C4's ground truth (004 Fig. 1 as in its authors' released code): the optimal discriminator
of the two Gaussians and the sampler, against scipy and against the Gaussians' moments."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import scipy.stats
import torch

from gp_spec import cli
from gp_spec.harness.claims import thanh_tung as c4

# Two-sided z-test threshold for a false-positive rate of 1e-7 per statistic (seeded draws:
# the verdict never flickers; the rate is what a fresh seed would risk).
Z_1E7 = scipy.stats.norm.isf(0.5e-7)


def test_optimal_discriminator_is_the_density_ratio_of_004_eq_2() -> None:
    # 004 Eq. 2: D*(x) = p_r(x) / (p_r(x) + p_g(x)); densities from scipy, not our formula.
    x = torch.cartesian_prod(torch.linspace(-2.5, 4.5, 15), torch.linspace(-2.5, 4.5, 15))
    p_r = scipy.stats.multivariate_normal(c4._C4_REAL_MEAN, c4._C4_REAL_COV).pdf(x.numpy())
    p_g = scipy.stats.multivariate_normal(c4._C4_FAKE_MEAN, c4._C4_FAKE_COV).pdf(x.numpy())
    got = c4.c4_optimal_discriminator(x).numpy()
    np.testing.assert_allclose(got, p_r / (p_r + p_g), rtol=1e-12, atol=1e-15)
    # far from both means the ratio is still finite (log-space): no 0/0
    far = c4.c4_optimal_discriminator(torch.tensor([[60.0, -60.0], [-60.0, 60.0]]))
    assert torch.isfinite(far).all()


def _z_mean(values: np.ndarray, expected: float) -> float:
    return float((values.mean() - expected) / (values.std(ddof=1) / math.sqrt(values.size)))


def test_sampler_has_the_stated_means_and_covariances() -> None:
    # z-tests on the means and on E[(x_i - m_i)(x_j - m_j)] = C_ij, each at 1e-7.
    gen = torch.Generator().manual_seed(123)
    for real, mean, cov in ((True, c4._C4_REAL_MEAN, c4._C4_REAL_COV),
                            (False, c4._C4_FAKE_MEAN, c4._C4_FAKE_COV)):
        x = c4.c4_sample(200_000, gen, real=real).double().numpy()
        for i in range(2):
            assert abs(_z_mean(x[:, i], mean[i])) < Z_1E7, (real, i)
            for j in range(2):
                prod = (x[:, i] - mean[i]) * (x[:, j] - mean[j])
                assert abs(_z_mean(prod, cov[i][j])) < Z_1E7, (real, i, j)


def test_c4_runs_end_to_end_in_smoke_mode(tmp_path: Path) -> None:
    code = cli.main(["reproduce", "C4", "--quick", "--smoke", "--seeds", "1", "--out",
                     str(tmp_path), "--device", "cpu", "--quiet"])
    result = json.loads((tmp_path / "C4" / "result.json").read_text())
    assert code in (0, 1)
    # the current criterion (v3) has 5 checks; v1 and v2 keep their 4
    assert [len(v["checks"]) for v in result["criteria"]] == [4, 4, 5]
    keys = {"none", "none-large", "1gp", "r1", "r1r2", "0gp"}
    assert {k.split("/")[0] for k in result["per_seed"]} == keys
    assert all(len(v) == 1 and math.isfinite(v[0]) for v in result["per_seed"].values())
