"""The spec registry (SPEC §3 as the conformance engine sees it): ``SPECS`` and ``get_spec``.

Checks that every penalty SPEC §3 names is registered with its term, measure, default weight,
citation and paper constant; that each ``reference`` returns a 0-dim tensor equal to the hand
closed form on a linear critic ``f(x) = <a, x> + b`` at the default weight, with the hand-derived
gradient w.r.t. ``a``; binding, immutability and the error for unknown names.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from gp_spec import SPECS, Spec, get_spec
from gp_spec.errors import GPSpecError, InvalidWeightError, UnknownSpecError

F64 = torch.float64
A = np.array([0.9, 1.2])  # ||a|| = 1.5
NORM_A = 1.5

# name -> (family, term_name, measure name, default weight, citation fragment); SPEC §3 table.
EXPECTED: dict[str, tuple[str, str | None, str | None, float, str]] = {
    "wgan-gp": ("gradient", "two_sided", "interpolate", 10.0, "003 Eq. 6"),
    "wgan-lp": ("gradient", "one_sided", "interpolate", 10.0, "003 Eq. 8"),
    "gan-0gp": ("gradient", "zero_centred", "interpolate", 10.0, "004 Eq. 6"),
    "r1": ("gradient", "zero_centred", "real", 5.0, "004 Table 1"),  # gamma/2, gamma = 10
    "r2": ("gradient", "zero_centred", "fake", 5.0, "004 Table 1"),
    "sgp-real": ("gradient", "zero_centred", "real", 10.0, "000 Def. 4"),
    "sgp-fake": ("gradient", "zero_centred", "fake", 10.0, "000 Def. 4"),
    "sgp-interpolate": ("gradient", "zero_centred", "interpolate", 10.0, "000 Def. 4"),
    "sgp-mid": ("gradient", "zero_centred", "midpoint", 10.0, "000 Def. 4"),
    "sgp-anchor": ("gradient", "zero_centred", "anchor", 10.0, "000 Def. 4"),
    "dragan": ("gradient", "two_sided", "dragan", 10.0, "Kodali"),
    "lp-quotient": ("difference_quotient", None, None, 10.0, "003 Eq. 7"),
    "w2-quotient": ("difference_quotient", None, None, 10.0, "003 Eq. 11"),
    "transport": ("transport", None, None, 10.0, "003 Eq. 9"),
    "max-gradient": ("max_gradient", None, "interpolate", 10.0, "002 Eq. 18"),
}


def _linear() -> nn.Linear:
    lin = nn.Linear(2, 1).to(F64)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([A.tolist()], dtype=F64))
        lin.bias.fill_(-0.4)
    return lin


def _close_pairs() -> tuple[Tensor, Tensor]:
    """Pairs 0.1-0.5 apart, some along a, so the pair penalties are active."""
    g = torch.Generator().manual_seed(0)
    real = torch.randn(8, 2, generator=g, dtype=F64)
    return real, real - 0.3 * torch.randn(8, 2, generator=g, dtype=F64)


def _pair_truth(name: str, real: Tensor, fake: Tensor) -> tuple[float, np.ndarray]:
    """Hand-derived value / default weight and d value / d a for the pair families (003 Eq. 7,
    9, 11): with q_i = |<a, d_i>| / c_i the quotient term is relu(q - 1)^2, derivative
    2 relu(q - 1) sign(<a, d>) d / c; the transport term relu(<a, d> - ||d||)^2 has derivative
    2 relu(<a, d> - ||d||) d."""
    d = real.numpy() - fake.numpy()
    ad, dist = d @ A, np.sqrt((d**2).sum(1))
    if name == "transport":
        excess = np.maximum(0.0, ad - dist)
        return float(np.mean(excess**2)), np.mean(2 * excess[:, None] * d, 0)
    c = dist if name == "lp-quotient" else dist**2
    excess = np.maximum(0.0, np.abs(ad) / c - 1)
    grad = np.mean(2 * excess[:, None] * np.sign(ad)[:, None] * d / c[:, None], 0)
    return float(np.mean(excess**2)), grad


def _truth(name: str, real: Tensor, fake: Tensor) -> tuple[float, np.ndarray]:
    """(value, d value / d a) at weight 1. Gradient families: ||grad f|| = ||a|| = t everywhere,
    so the value is h(t) and its derivative h'(t) a / t (hand-derived)."""
    family, term, _, _, _ = EXPECTED[name]
    t = NORM_A
    if family == "max_gradient" or term == "zero_centred":
        return t**2, 2 * A  # d/da ||a||^2 = 2a
    if term in ("two_sided", "one_sided"):  # t > 1: both are (t - 1)^2
        return (t - 1) ** 2, 2 * (t - 1) * A / t
    return _pair_truth(name, real, fake)


def test_registry_has_exactly_the_spec_names() -> None:
    assert set(SPECS) == set(EXPECTED), f"SPECS={sorted(SPECS)}, but should be {sorted(EXPECTED)}"


@pytest.mark.parametrize("name", EXPECTED, ids=EXPECTED.keys())
def test_spec_metadata(name: str) -> None:
    family, term, measure, weight, cite = EXPECTED[name]
    spec = get_spec(name)
    assert spec.name == name and spec.family == family and spec.term_name == term
    assert (spec.measure.name if spec.measure is not None else None) == measure
    assert spec.default_weight == weight, f"{name}: default_weight={spec.default_weight}"
    assert cite in spec.citation, f"{name}: citation={spec.citation!r}, should cite {cite}"
    assert "weight" in spec.paper_constant, f"{name}: paper_constant={spec.paper_constant!r}"
    assert callable(spec.reference)


def test_quotient_costs() -> None:
    # 003 Eq. 7 (Euclidean) and Eq. 11 (squared Euclidean, W2).
    assert get_spec("lp-quotient").cost == "euclidean"
    assert get_spec("w2-quotient").cost == "squared_euclidean"


@pytest.mark.parametrize("name", EXPECTED, ids=EXPECTED.keys())
def test_reference_value_and_gradient_on_linear_critic(name: str) -> None:
    spec, critic = get_spec(name), _linear()
    real, fake = _close_pairs()
    value = spec.reference(critic, real, fake)
    unit, grad_a = _truth(name, real, fake)
    assert value.shape == () and value.requires_grad, f"{name}: {value!r} is not a 0-dim graph"
    assert unit > 0, f"{name}: the closed form is 0 here, the test would be vacuous"
    assert math.isclose(float(value), spec.default_weight * unit, rel_tol=1e-12), (
        f"{name}: {float(value)}, but should be {spec.default_weight * unit} [hand-derived]")
    (g,) = torch.autograd.grad(value, [critic.weight])
    torch.testing.assert_close(g[0], torch.from_numpy(spec.default_weight * grad_a))


@pytest.mark.parametrize("name", EXPECTED, ids=EXPECTED.keys())
def test_bind_scales_with_weight(name: str) -> None:
    # SPEC §3: every penalty is weight * E[...]; bind(w) bakes w in.
    spec, critic = get_spec(name), _linear()
    real, fake = _close_pairs()
    value = float(spec.bind(2.5)(critic, real, fake))
    unit, _ = _truth(name, real, fake)
    assert math.isclose(value, 2.5 * unit, rel_tol=1e-12)


@pytest.mark.parametrize("weight", [-1.0, float("nan")], ids=["negative", "nan"])
def test_bind_rejects_bad_weight(weight: float) -> None:
    with pytest.raises(InvalidWeightError):
        get_spec("wgan-gp").bind(weight)


def test_max_gradient_binds_have_separate_buffers() -> None:
    # 002 App. E: S_max belongs to one training run; each bind() starts a fresh one. With
    # real = fake the interpolates are the batch itself; c/2 ||x||^2 has ||grad||^2 = c^2 ||x||^2.
    spec = get_spec("max-gradient")
    first, second = spec.bind(1.0), spec.bind(1.0)
    big, small = torch.tensor([[3.0, 4.0]], dtype=F64), torch.tensor([[0.6, 0.8]], dtype=F64)
    critic = lambda x: 0.5 * x.square().sum(1)  # (gradient x, norm ||x||)
    assert float(first(critic, big, big)) == 25.0  # hand: ||(3, 4)||^2
    assert math.isclose(float(second(critic, small, small)), 1.0, rel_tol=1e-12)
    assert float(first(critic, small, small)) == 25.0  # first's S_max still holds (3, 4)


@pytest.mark.parametrize("name", ["wgan-gp", "sgp-anchor", "dragan", "max-gradient"])
def test_reference_reproducible_with_generator(name: str) -> None:
    # SPEC §2: random draws take a torch.Generator; the same seed gives the same value.
    real, fake = _close_pairs()
    critic = lambda x: (x.sin() * x).sum(1)  # (non-constant gradient norm)
    spec = get_spec(name)
    values = [float(spec.bind(None)(critic, real, fake, torch.Generator().manual_seed(s)))
              for s in (1, 1, 2)]
    assert values[0] == values[1] and values[0] != values[2], values


def test_get_spec_suggests_closest_name() -> None:
    with pytest.raises(UnknownSpecError, match="'wgan-gp'") as info:
        get_spec("wgan_gp")
    assert isinstance(info.value, KeyError) and isinstance(info.value, GPSpecError)
    assert "did you mean" in str(info.value)


def test_get_spec_unknown_without_close_match_lists_known() -> None:
    with pytest.raises(UnknownSpecError, match="Known specs") as info:
        get_spec("zzzzzzzz")
    assert "did you mean" not in str(info.value)


def test_get_spec_passes_spec_through() -> None:
    spec = SPECS["r1"]
    assert get_spec(spec) is spec and isinstance(spec, Spec)


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        SPECS["mine"] = SPECS["r1"]  # type: ignore[index]


def test_halved_constant_is_the_one_the_paper_constant_halves() -> None:
    # 004 Table 1 / Mescheder et al. write R1/R2 as (gamma/2) E||grad||^2 and 000 Def. 4 SGP as
    # (rho/2) E||grad||^2: the spec's weight is half the paper's constant exactly there
    halved = {n: s.halved_constant for n, s in SPECS.items() if s.halved_constant}
    assert halved == {"r1": "gamma", "r2": "gamma", "sgp-real": "rho", "sgp-fake": "rho",
                      "sgp-interpolate": "rho", "sgp-mid": "rho", "sgp-anchor": "rho"}
    for name, constant in halved.items():
        assert f"weight = {constant}/2" in SPECS[name].paper_constant
