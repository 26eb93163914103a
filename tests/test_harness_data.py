"""gp_spec.harness.data: shapes, mode centres, scale, determinism, user data (SPEC §5)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from gp_spec.harness import data
from gp_spec.harness.errors import ConfigError
from gp_spec.optimal import w1_1d


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", ["8gaussians", "25gaussians", "swissroll", "two-gaussians",
                                  "1d-pair", "digits"])
def test_samples_have_the_event_shape_and_replay_from_the_generator(name: str) -> None:
    ds = data.get_dataset(name)
    x, y = ds.sample(17, _gen(3)), ds.sample(17, _gen(3))
    assert x.shape == (17, *ds.event_shape) and x.dtype == torch.float32
    assert torch.equal(x, y), "same generator seed should give the same samples"
    assert not torch.equal(x, ds.sample(17, _gen(4)))


def test_eight_gaussians_centres_are_on_the_circle_of_gan_toy() -> None:
    # gan_toy.py: centres at scale 2 on the unit circle, then / 1.414 (Gulrajani et al. 2017).
    ds = data.eight_gaussians()
    assert ds.centres is not None and ds.mode_std is not None
    torch.testing.assert_close(ds.centres.norm(dim=1), torch.full((8,), 2 / 1.414))
    angles = torch.atan2(ds.centres[:, 1], ds.centres[:, 0]).remainder(2 * math.pi)
    torch.testing.assert_close(angles.sort().values, torch.arange(8) * (math.pi / 4))
    assert ds.mode_std == pytest.approx(0.02 / 1.414)


def test_scale_multiplies_centres_std_and_samples() -> None:
    # 004 §6.2: "the dataset is scaled up by a factor of 10".
    one, ten = data.eight_gaussians(1.0), data.eight_gaussians(10.0)
    assert one.centres is not None and ten.centres is not None
    torch.testing.assert_close(ten.centres, 10 * one.centres)
    assert ten.mode_std == pytest.approx(10 * (one.mode_std or 0))
    torch.testing.assert_close(ten.sample(50, _gen()), 10 * one.sample(50, _gen()))


def test_mixture_samples_lie_near_a_centre() -> None:
    for ds in (data.eight_gaussians(), data.twenty_five_gaussians(2.0)):
        assert ds.centres is not None and ds.mode_std is not None
        x = ds.sample(2000, _gen())
        nearest = torch.cdist(x, ds.centres).min(1).values
        # P(||N(0, s^2 I_2)|| > 6 s) = exp(-18): none expected in 2000 draws.
        assert float(nearest.max()) < 6 * ds.mode_std


def test_twenty_five_gaussians_grid() -> None:
    ds = data.twenty_five_gaussians()
    assert ds.centres is not None
    expected = {(2 * i / 2.828, 2 * j / 2.828) for i in range(-2, 3) for j in range(-2, 3)}
    got = {(round(float(a), 5), round(float(b), 5)) for a, b in ds.centres}
    assert got == {(round(a, 5), round(b, 5)) for a, b in expected}


def test_swiss_roll_without_noise_is_the_spiral_t_cos_t_t_sin_t() -> None:
    # closed form of make_swiss_roll's (x, z) slice: radius t and angle t, t in [1.5 pi, 4.5 pi].
    x = data.swiss_roll(noise=0.0).sample(500, _gen()).double() * 7.5
    t = x.norm(dim=1)
    assert float(t.min()) >= 1.5 * math.pi - 1e-4 and float(t.max()) <= 4.5 * math.pi + 1e-4
    angle = torch.atan2(x[:, 1], x[:, 0])
    diff = (angle - t).remainder(2 * math.pi)
    assert float(torch.minimum(diff, 2 * math.pi - diff).max()) < 1e-4


def test_gaussian_pair_1d_has_the_w1_of_prop2() -> None:
    # SPEC §4.5: W1(N(0,1), 1/2 N(-1,1) + 1/2 N(1,1)) = 0.368746380372...
    ds = data.gaussian_pair_1d()
    real = ds.sample(40_000, _gen(1)).numpy()[:, 0]
    fake = ds.sample_reference(40_000, _gen(2)).numpy()[:, 0]
    assert w1_1d(real, fake) == pytest.approx(0.368746380372, abs=0.02)
    assert np.var(fake) == pytest.approx(2.0, rel=0.05)  # mixture variance 1 + 1


def test_two_gaussians_log_ratio_matches_scipy_densities() -> None:
    ds = data.two_gaussians(real_mean=(1.0, 0.5), fake_mean=(-1.0, 0.0), std=0.7)
    assert ds.log_ratio is not None
    v = torch.randn(20, 2, generator=_gen(), dtype=torch.float64)
    cov = 0.49 * np.eye(2)
    expected = (stats.multivariate_normal([1.0, 0.5], cov).logpdf(v.numpy())
                - stats.multivariate_normal([-1.0, 0.0], cov).logpdf(v.numpy()))
    torch.testing.assert_close(ds.log_ratio(v), torch.as_tensor(expected))


def test_digits_are_8x8_in_minus_one_one() -> None:
    ds = data.digits()
    x = ds.sample(3000, _gen())
    assert ds.kind == "images" and x.shape == (3000, 1, 8, 8)
    assert float(x.min()) == -1.0 and float(x.max()) == 1.0
    assert len(torch.unique(x.flatten(1), dim=0)) <= 1797


def test_critic_only_needs_a_reference() -> None:
    with pytest.raises(ConfigError, match="reference"):
        data.eight_gaussians().sample_reference(3, _gen())


def test_user_tensor_npy_and_image_folder(tmp_path: Path) -> None:
    from PIL import Image

    arr = np.arange(24, dtype=np.float32).reshape(6, 4)
    assert data.from_tensor(torch.as_tensor(arr)).event_shape == (4,)
    np.save(tmp_path / "pts.npy", arr)
    ds = data.get_dataset(str(tmp_path / "pts.npy"))
    rows = {tuple(r) for r in arr.tolist()}
    assert all(tuple(r) in rows for r in ds.sample(10, _gen()).tolist())
    folder = tmp_path / "imgs"
    folder.mkdir()
    for k in range(3):
        Image.fromarray(np.full((8, 8), 60 * k, dtype=np.uint8)).save(folder / f"{k}.png")
    imgs = data.get_dataset(str(folder))
    assert imgs.kind == "images" and imgs.event_shape == (1, 8, 8)
    values = set(imgs.sample(30, _gen()).flatten().tolist())
    assert values <= set(torch.tensor([60.0 * k for k in range(3)]).div(127.5).sub(1).tolist())
    assert data.from_image_folder(folder, size=4).event_shape == (1, 4, 4)


def test_pooled_dataset_only_repeats_its_pool() -> None:
    ds = data.pooled(data.two_gaussians(), 5, _gen())
    assert len(torch.unique(ds.sample(200, _gen(1)), dim=0)) <= 5
    assert len(torch.unique(ds.sample_reference(200, _gen(1)), dim=0)) <= 5


def test_unknown_dataset_message_lists_names() -> None:
    with pytest.raises(ConfigError, match="8gaussians"):
        data.get_dataset("9gaussians")


def test_mode_std_replaces_the_scaled_std_of_the_mixtures() -> None:
    # 004's released code: centres at radius 10 / 1.414, std 0.02 / 1.414 (not scaled).
    ds = data.get_dataset("8gaussians", scale=5.0, mode_std=0.02 / 1.414)
    assert ds.mode_std == pytest.approx(0.02 / 1.414)
    assert float(ds.centres.norm(dim=1).mean()) == pytest.approx(10 / 1.414, rel=1e-4)
    x = ds.sample(4000, torch.Generator().manual_seed(0))
    nearest = torch.cdist(x, ds.centres).min(1).values
    # |N(0, s^2 I_2)| exceeds 6 s with probability exp(-18) ~ 1.5e-8 per sample
    assert float(nearest.max()) < 6 * 0.02 / 1.414
    with pytest.raises(ConfigError, match="mode_std"):
        data.get_dataset("swissroll", mode_std=0.1)
