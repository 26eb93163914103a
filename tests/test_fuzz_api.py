"""API fuzzing: every public penalty, measure and objective on arbitrary shapes, dtypes and
values returns either a well-formed result or the documented exception (docs/errors.md).

"Well formed": a 0-dim tensor of the inputs' dtype, finite whenever the true value is
representable in that dtype, and (float32/float64) equal to an independent float64 closed form
on a linear critic ``f(x) = <a, x> + b``. Inputs are drawn on the grid ``k/4 * 2**s`` so the
closed form sees exactly the values the library sees; ``s`` up to 50 (float32) or 500
(float64) gives huge but representable values. "Documented": ``InvalidInputError`` for
inputs that are not non-empty dense floating ``(N, *event)`` tensors with finite values (and
for mismatched real/fake where they are paired), ``InvalidWeightError`` for weights that are
negative, NaN, infinite or not numbers, ``InvalidCriticError`` for critic outputs other than
``(N,)`` / ``(N, 1)``. Never an AssertionError, IndexError or a RuntimeError from torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import event, given, settings
from hypothesis import strategies as st
from torch import Tensor

from gp_spec import measures, objectives, penalties
from gp_spec._types import Measure
from gp_spec.errors import InvalidCriticError, InvalidInputError, InvalidWeightError

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64]
EVENTS = [(1,), (3,), (2, 3), (3, 4, 4)]  # 1-D event, vectors, matrices, images
SCALE_EXP = {torch.float32: 50, torch.float64: 500, torch.float16: 0, torch.bfloat16: 50}
RTOL = {torch.float64: 1e-9, torch.float32: 2e-5}  # closed-form comparison (grid inputs)
SPECIAL = [math.nan, math.inf, -math.inf]
MORE = settings(max_examples=3 * settings().max_examples)  # 3x the active profile's


# -- inputs ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One drawn input: real, fake (tensors or junk), the weight and a linear critic."""

    real: Any
    fake: Any
    weight: Any
    a: np.ndarray  # critic direction on the grid j/8
    bad_critic: str | None

    def direction(self, event: tuple[int, ...]) -> np.ndarray:
        """The critic's ``a`` for inputs of shape ``(N, *event)``, with ``||a|| <= 2``."""
        a = np.resize(self.a.reshape(-1), math.prod(event))
        return (a * min(1.0, 2.0 / max(float(np.linalg.norm(a)), 1e-12))).reshape(event)

    def critic(self, x: Tensor) -> Any:
        a = torch.as_tensor(self.direction(tuple(x.shape[1:])), dtype=x.dtype, device=x.device)
        s = (x * a).flatten(1).sum(1) + 0.25
        return {None: s, "column": s[:, None], "two-columns": torch.stack([s, s], 1),
                "scalar": s.sum(), "python-float": 1.5}[self.bad_critic]


def _tensor(draw: st.DrawFn, n: int, event: tuple[int, ...], dtype: torch.dtype) -> Tensor:
    scale = 2.0 ** draw(st.sampled_from([0, SCALE_EXP.get(dtype, 0)]))
    k = draw(st.lists(st.integers(-8, 8), min_size=n * math.prod(event),
                      max_size=n * math.prod(event)))
    t = torch.tensor(k, dtype=torch.float64).reshape(n, *event) * (scale / 4)
    return t.to(dtype)


SPOILS = ["special", "1-d", "0-d", "empty", "no-event", "list", "none-value"]


def _spoil(draw: st.DrawFn, t: Tensor, how: str) -> Any:
    """A NaN/inf entry, a wrong rank, an empty batch or event, or not a tensor at all."""
    if how == "special" and t.is_floating_point():
        t = t.clone()
        t.view(-1)[draw(st.integers(0, t.numel() - 1))] = draw(st.sampled_from(SPECIAL))
        return t
    return {"1-d": t.reshape(-1), "0-d": t.reshape(-1)[:1].reshape(()), "empty": t[:0],
            "no-event": t[..., :0], "list": t.tolist(), "none-value": None}.get(how, t)


FAULTS = [f"{side}:{how}" for side in ("real", "fake") for how in SPOILS] + [
    "mismatch:n", "mismatch:event", "mismatch:dtype",
    "weight:-1.0", "weight:nan", "weight:inf", "weight:ten",
    "critic:two-columns", "critic:scalar", "critic:python-float",
]


@st.composite
def cases(draw: st.DrawFn, *, dtypes: list[torch.dtype] = DTYPES) -> Case:
    """Valid inputs about half the time (float32/float64 favoured); otherwise one fault."""
    fault = draw(st.sampled_from(["none"] * 20 + FAULTS))
    dtype = draw(st.sampled_from([*dtypes, torch.float32, torch.float64]))
    n, event = draw(st.integers(1, 5)), draw(st.sampled_from(EVENTS))
    real = _tensor(draw, n, event, dtype)
    fake_n, fake_event, fake_dtype = n, event, dtype
    if fault == "mismatch:n":
        fake_n = n + 1
    elif fault == "mismatch:event":
        fake_event = draw(st.sampled_from([e for e in EVENTS if e != event]))
    elif fault == "mismatch:dtype":
        fake_dtype = draw(st.sampled_from([d for d in DTYPES if d != dtype]))
    fake = _tensor(draw, fake_n, fake_event, fake_dtype)
    kind, _, what = fault.partition(":")
    if kind == "real":
        real = _spoil(draw, real, what)
    elif kind == "fake":
        fake = _spoil(draw, fake, what)
    weight: Any = draw(st.sampled_from([0.0, 0.5, 1.0, 2.5, 10.0]))
    if kind == "weight":
        weight = {"-1.0": -1.0, "nan": math.nan, "inf": math.inf, "ten": "ten"}[what]
    bad = draw(st.sampled_from([None, "column"])) if kind != "critic" else what
    a = np.array(draw(st.lists(st.integers(-8, 8), min_size=math.prod(event),
                               max_size=math.prod(event))), dtype=np.float64) / 8
    return Case(real, fake, weight, a.reshape(event), bad)


# -- the oracle: what each function must do with a case ----------------------------------------

def _valid_batch(x: Any) -> bool:
    """SPEC conventions, independently of gp_spec._validation."""
    return (isinstance(x, Tensor) and x.ndim >= 2 and x.shape[0] >= 1 and x.numel() > 0
            and x.is_floating_point() and bool(torch.isfinite(x).all()))


def _valid_pair(x: Any, y: Any) -> bool:
    return (_valid_batch(x) and _valid_batch(y) and x.shape == y.shape
            and x.dtype == y.dtype)


def _valid_weight(w: Any) -> bool:
    return isinstance(w, float) and math.isfinite(w) and w >= 0


def _np(t: Tensor) -> np.ndarray:
    return t.detach().double().numpy().reshape(t.shape[0], -1)


def _term(name: str, g: float) -> float:
    return {"two_sided": (g - 1) ** 2, "one_sided": max(0.0, g - 1) ** 2,
            "zero_centred": g**2}[name]


@dataclass(frozen=True)
class Subject:
    """A public penalty under test: how to call it, what it reads, its closed form."""

    call: Callable[[Case], Tensor]
    reads: str  # "pair", "real", "fake"
    closed: Callable[[Case, str], tuple[float, float]]  # (value, magnitude for tolerance)


def _x(c: Case, reads: str) -> Tensor:
    """The input whose event shape the critic sees."""
    x: Tensor = c.fake if reads == "fake" else c.real
    return x


def _gradient(term: str, mass: float = 1.0) -> Callable[[Case, str], tuple[float, float]]:
    def closed(c: Case, reads: str) -> tuple[float, float]:
        g = float(np.linalg.norm(c.direction(tuple(_x(c, reads).shape[1:]))))
        return c.weight * mass * _term(term, g), c.weight * mass * (g + 1) ** 2

    return closed


def _paired(kind: str) -> Callable[[Case, str], tuple[float, float]]:
    """003 Eq. 7, 9, 11 in numpy on f(x) = <a, x> + b (index pairs, distance floor 1e-6)."""

    def closed(c: Case, reads: str) -> tuple[float, float]:
        d = _np(c.real) - _np(c.fake)
        diff, dist = d @ c.direction(tuple(c.real.shape[1:])).reshape(-1), np.sqrt((d**2).sum(1))
        if kind == "transport":
            excess, mag = np.maximum(0.0, diff - dist), np.abs(diff) + dist
        else:
            cost = np.maximum(dist if kind == "euclidean" else dist**2, 1e-6)
            excess, mag = np.maximum(0.0, np.abs(diff) / cost - 1), np.abs(diff) / cost + 1
        return c.weight * float(np.mean(excess**2)), c.weight * float(np.mean(mag**2))

    return closed


def _gp(measure: Measure, term: str = "two_sided") -> Callable[[Case], Tensor]:
    fn = {"two_sided": penalties.two_sided_term, "one_sided": penalties.one_sided_term,
          "zero_centred": penalties.zero_centred_term}[term]
    return lambda c: penalties.gradient_penalty(fn, c.critic, c.real, c.fake, weight=c.weight,
                                                measure=measure)


SUBJECTS: dict[str, Subject] = {
    "two_sided": Subject(lambda c: penalties.two_sided(c.critic, c.real, c.fake,
                                                       weight=c.weight), "pair",
                         _gradient("two_sided")),
    "one_sided": Subject(lambda c: penalties.one_sided(c.critic, c.real, c.fake,
                                                       weight=c.weight), "pair",
                         _gradient("one_sided")),
    "zero_centred": Subject(lambda c: penalties.zero_centred(c.critic, c.real, c.fake,
                                                             weight=c.weight), "pair",
                            _gradient("zero_centred")),
    "r1": Subject(lambda c: penalties.r1(c.critic, c.real, c.fake, weight=c.weight), "real",
                  _gradient("zero_centred")),
    "r2": Subject(lambda c: penalties.r2(c.critic, c.real, c.fake, weight=c.weight), "fake",
                  _gradient("zero_centred")),
    "dragan": Subject(lambda c: penalties.dragan(c.critic, c.real, c.fake, weight=c.weight),
                      "real", _gradient("two_sided")),
    "quotient-euclidean": Subject(
        lambda c: penalties.difference_quotient(c.critic, c.real, c.fake, weight=c.weight),
        "pair", _paired("euclidean")),
    "quotient-squared": Subject(
        lambda c: penalties.difference_quotient(c.critic, c.real, c.fake, weight=c.weight,
                                                cost="squared_euclidean"),
        "pair", _paired("squared_euclidean")),
    "transport": Subject(lambda c: penalties.transport(c.critic, c.real, c.fake,
                                                       weight=c.weight), "pair",
                         _paired("transport")),
    "max_gradient": Subject(lambda c: penalties.MaxGradient(3)(c.critic, c.real, c.fake,
                                                               weight=c.weight), "pair",
                            _gradient("zero_centred")),
    "gp-midpoint": Subject(_gp(measures.midpoint()), "pair", _gradient("two_sided")),
    "gp-anchor": Subject(_gp(measures.anchor(), "one_sided"), "fake", _gradient("one_sided")),
    "gp-perturbed": Subject(_gp(measures.perturbed(0.1)), "real", _gradient("two_sided")),
    "gp-perturbed-both": Subject(_gp(measures.perturbed(0.1, fake_too=True)), "pair",
                                 _gradient("two_sided")),
    "gp-mixture": Subject(
        _gp(measures.mixture([(0.5, measures.real()), (2.0, measures.interpolate())]),
            "zero_centred"), "pair", _gradient("zero_centred", mass=2.5)),
}


def _reads_valid(c: Case, reads: str) -> bool:
    if reads == "pair":
        return _valid_pair(c.real, c.fake)
    return _valid_batch(c.real if reads == "real" else c.fake)


def _finite_expected(magnitude: float, *dtypes: torch.dtype) -> bool:
    """The true value (and every intermediate) is comfortably representable in ``dtypes``."""
    return magnitude * 16 < min(float(torch.finfo(d).max) for d in dtypes)


@pytest.mark.parametrize("name", SUBJECTS)
@MORE
@given(case=cases())
def test_penalty_result_or_documented_error(name: str, case: Case) -> None:
    subject = SUBJECTS[name]
    if not _valid_weight(case.weight):
        event("InvalidWeightError")
        with pytest.raises(InvalidWeightError, match=r"weight=.*but should be"):
            subject.call(case)
    elif not _reads_valid(case, subject.reads):
        event("InvalidInputError")
        with pytest.raises(InvalidInputError, match=r"should|contains"):
            subject.call(case)
    elif case.bad_critic not in (None, "column"):
        event("InvalidCriticError")
        with pytest.raises(InvalidCriticError, match="critic"):
            subject.call(case)
    else:
        event(f"result {_x(case, subject.reads).dtype}")
        _assert_result(subject, case)


def _assert_result(subject: Subject, case: Case) -> None:
    x = _x(case, subject.reads)
    out = subject.call(case)
    assert isinstance(out, Tensor) and out.shape == () and out.dtype == x.dtype
    want, magnitude = subject.closed(case, subject.reads)
    if _finite_expected(magnitude, x.dtype):
        assert bool(torch.isfinite(out)), (float(out), want)
    if x.dtype in RTOL:  # exact grid inputs: the closed form is ground truth
        got = float(out)
        assert abs(got - want) <= RTOL[x.dtype] * magnitude + 1e-300, (got, want, magnitude)


# -- gradient_norms ---------------------------------------------------------------------------

@given(case=cases())
def test_gradient_norms_result_or_documented_error(case: Case) -> None:
    if not _valid_batch(case.real):
        with pytest.raises(InvalidInputError):
            penalties.gradient_norms(case.critic, case.real)
        return
    if case.bad_critic not in (None, "column"):
        with pytest.raises(InvalidCriticError):
            penalties.gradient_norms(case.critic, case.real)
        return
    norms = penalties.gradient_norms(case.critic, case.real)
    assert norms.shape == (case.real.shape[0],) and norms.dtype == case.real.dtype
    want = float(np.linalg.norm(case.direction(tuple(case.real.shape[1:]))))  # grad = a
    tol = 1e-12 if norms.dtype == torch.float64 else 1e-2
    assert bool(((norms.double() - want).abs() <= tol * (1 + want)).all()), (norms, want)


# -- measures ---------------------------------------------------------------------------------

MEASURES: dict[str, tuple[Measure, str]] = {
    "real": (measures.real(), "real"),
    "fake": (measures.fake(), "fake"),
    "interpolate": (measures.interpolate(), "pair"),
    "midpoint": (measures.midpoint(), "pair"),
    "anchor": (measures.anchor(), "fake"),
    "perturbed": (measures.perturbed(0.5), "real"),
    "perturbed-both": (measures.perturbed(0.5, fake_too=True), "pair"),
    "dragan": (measures.dragan(0.5), "real"),
    "mixture": (measures.mixture([(0.25, measures.fake()), (3.0, measures.midpoint())]),
                "pair"),
}


def _segment_alpha(p: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Per row, the alpha with p = start + alpha (end - start) (least squares), and check it."""
    d = end - start
    dd = (d**2).sum(1)
    alpha = np.where(dd > 0, ((p - start) * d).sum(1) / np.where(dd > 0, dd, 1), 0.0)
    resid = np.abs(p - start - alpha[:, None] * d).max(initial=0.0)
    scale = max(float(np.abs(start).max(initial=0)), float(np.abs(end).max(initial=0)), 1.0)
    assert resid <= 1e-5 * scale, "points off the segments: alpha is not one per sample"
    return alpha


def _assert_support(name: str, pts: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    """Where each measure puts its points (SPEC §2), on the flattened float64 values."""
    if name in ("real", "fake"):
        np.testing.assert_array_equal(pts, x if name == "real" else y)
    elif name == "midpoint":
        np.testing.assert_allclose(pts, (x + y) / 2, rtol=1e-6, atol=0)
    elif name in ("interpolate", "anchor"):
        end = x if name == "interpolate" else np.tile(
            np.resize([2.0, -1.0], y.shape[1]), (len(y), 1))  # default anchor (2, -1, 2, ...)
        alpha = _segment_alpha(pts, y, end)
        assert bool(((alpha >= -1e-6) & (alpha <= 1 + 1e-6)).all()), alpha
    elif name == "dragan":  # x + alpha c std(x) u, u in [0, 1]^d: a box above x
        box, slack = 0.5 * float(x.std()), 1e-6 * float(np.abs(x).max(initial=1.0))
        off = pts - x
        assert bool(((off >= -slack) & (off <= box * (1 + 1e-5) + slack)).all()), (off, box)


@pytest.mark.parametrize("name", MEASURES)
@MORE
@given(case=cases(dtypes=[torch.float32, torch.float64, torch.int64]))
def test_measure_points_or_documented_error(name: str, case: Case) -> None:
    measure, reads = MEASURES[name]
    if not _reads_valid(case, reads):
        with pytest.raises(InvalidInputError):
            measure.sample(case.real, case.fake)
        return
    x = case.fake if reads == "fake" else case.real
    pts = measure.sample(case.real, case.fake)
    p = pts.points
    assert p.dtype == x.dtype and p.shape[1:] == x.shape[1:] and not p.requires_grad
    assert pts.weights.shape == (p.shape[0],) and bool(torch.isfinite(p).all())
    assert math.isclose(float(pts.weights.double().mean()), measure.mass, rel_tol=1e-6)
    if p.shape[0] == x.shape[0]:
        y = case.fake if reads != "real" else x
        _assert_support(name, _np(p), _np(x), _np(y))


# -- objectives -------------------------------------------------------------------------------

def _softplus(s: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.logaddexp(0.0, s)
    return out


def _sqrt_phi(s: np.ndarray) -> np.ndarray:
    r = np.hypot(s, 1.0)
    out: np.ndarray = np.where(s >= 0, s + r, 1.0 / (r - np.minimum(s, 0)))
    return out


NumFn = Callable[[np.ndarray], np.ndarray]


def _lipschitz(phi: NumFn) -> tuple[NumFn, NumFn, NumFn]:
    return phi, lambda s: phi(-s), lambda s: -s


LS = (0.5, -1.0, 2.0)
# (objective, phi on fake scores, varphi on real scores, generator term) in numpy: SPEC §1
OBJECTIVES: dict[str, tuple[objectives.Objective, NumFn, NumFn, NumFn]] = {
    "wasserstein": (objectives.wasserstein, lambda s: s, lambda s: -s, lambda s: -s),
    "minimax": (objectives.minimax, _softplus, lambda s: _softplus(-s),
                lambda s: -_softplus(s)),
    "non_saturating": (objectives.non_saturating, _softplus, lambda s: _softplus(-s),
                       lambda s: _softplus(-s)),
    "least_squares": (objectives.least_squares(*LS), lambda s: (s - LS[0]) ** 2,
                      lambda s: (s - LS[1]) ** 2, lambda s: (s - LS[2]) ** 2),
    "hinge": (objectives.hinge, lambda s: np.maximum(0, 1 + s), lambda s: np.maximum(0, 1 - s),
              lambda s: -s),
    "lipschitz-softplus": (objectives.lipschitz_family(objectives.EQ12_INSTANCES["softplus"]),
                           *_lipschitz(_softplus)),
    "lipschitz-sqrt": (objectives.lipschitz_family(objectives.EQ12_INSTANCES["sqrt"]),
                       *_lipschitz(_sqrt_phi)),
    "lipschitz-exp": (objectives.lipschitz_family(torch.exp), *_lipschitz(np.exp)),
}
SCORE_RTOL = {torch.float64: 1e-9, torch.float32: 1e-5, torch.float16: 4e-3,
              torch.bfloat16: 3e-2}
SCORE_MAX = {torch.float64: 1e4, torch.float32: 1e4, torch.float16: 50.0, torch.bfloat16: 1e4}


@st.composite
def scores(draw: st.DrawFn) -> Any:
    dtype = draw(st.sampled_from([*SCORE_RTOL, torch.int64, torch.bool]))
    shape = draw(st.sampled_from([(3,), (1,), (5,), (4, 1), (0,), (), (3, 2), (2, 1, 1)]))
    hi = SCORE_MAX.get(dtype, 100.0)
    values = st.floats(-hi, hi, allow_nan=False, width=32) | st.sampled_from([-hi, 0.0, hi])
    data = draw(st.lists(values, min_size=math.prod(shape), max_size=math.prod(shape)))
    t = torch.tensor(data, dtype=torch.float64).reshape(shape).to(dtype)
    if draw(st.integers(0, 9)) == 0 and t.numel() and t.is_floating_point():
        t.view(-1)[0] = draw(st.sampled_from(SPECIAL))
    return t if draw(st.integers(0, 19)) else t.tolist()


def _valid_scores(s: Any) -> bool:
    return (isinstance(s, Tensor) and s.is_floating_point() and s.numel() >= 1
            and (s.ndim == 1 or (s.ndim == 2 and s.shape[1] == 1)))


@pytest.mark.parametrize("name", OBJECTIVES)
@MORE
@given(real=scores(), fake=scores())
def test_objective_result_or_documented_error(name: str, real: Any, fake: Any) -> None:
    obj, phi, varphi, gen = OBJECTIVES[name]
    if not (_valid_scores(real) and _valid_scores(fake)):
        with pytest.raises(InvalidInputError, match="should be"):
            obj.critic_loss(real, fake)
    else:
        loss_d = obj.critic_loss(real, fake)
        r, f = real.double().numpy().reshape(-1), fake.double().numpy().reshape(-1)
        with np.errstate(over="ignore", invalid="ignore"):
            want = float(phi(f).mean() + varphi(r).mean())
            mag = float(np.abs(phi(f)).mean() + np.abs(varphi(r)).mean())
        _assert_loss(loss_d, want, mag, real.dtype, fake.dtype)
    if not _valid_scores(fake):
        with pytest.raises(InvalidInputError, match="should be"):
            obj.generator_loss(fake)
    else:
        f = fake.double().numpy().reshape(-1)
        with np.errstate(over="ignore", invalid="ignore"):
            want, mag = float(gen(f).mean()), float(np.abs(gen(f)).mean())
        _assert_loss(obj.generator_loss(fake), want, mag, fake.dtype)


def _assert_loss(loss: Tensor, want: float, mag: float, *dtypes: torch.dtype) -> None:
    """0-dim, the scores' (promoted) dtype; where the inputs and the value are finite, the
    closed form. Non-finite scores are not validated (docs/errors.md): they propagate."""
    assert isinstance(loss, Tensor) and loss.shape == ()
    assert loss.dtype == torch.promote_types(dtypes[0], dtypes[-1])
    if math.isfinite(mag) and _finite_expected(mag, *dtypes):
        got, rtol = float(loss), max(SCORE_RTOL[d] for d in dtypes)
        assert math.isfinite(got), (got, want)
        assert abs(got - want) <= rtol * (mag + 1), (got, want, mag)


# -- hyperparameters and layouts ----------------------------------------------------------------

@given(value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3),
                       st.text(alphabet="abc", max_size=3), st.none()))
def test_hyperparameters_are_validated(value: Any) -> None:
    """Measure and penalty constructors take numbers; anything else is InvalidInputError."""
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    finite = is_number and math.isfinite(value)
    cases: list[tuple[Callable[[], object], bool]] = [
        (lambda: measures.perturbed(value), finite and value >= 0),
        (lambda: measures.dragan(value), finite),
        (lambda: measures.mixture([(value, measures.real())]), finite and value >= 0),
        (lambda: penalties.MaxGradient(value), finite and value >= 1 and value == int(value)),
    ]
    for make, ok in cases:
        if ok:
            make()
        else:
            with pytest.raises(InvalidInputError, match="but should"):
                make()


@pytest.mark.parametrize(("x", "message"), [
    (torch.ones(4, 3).to_sparse(), "layout=torch.sparse_coo"),
    (torch.ones(4, 0), "an event dimension of size 0"),
    (torch.ones(2, 3, 0), "an event dimension of size 0"),
], ids=["sparse", "zero-event", "zero-event-image"])
def test_sparse_and_zero_size_events_are_rejected(x: Tensor, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        penalties.r1(lambda t: t.flatten(1).sum(1), x)


def test_mixture_rejects_a_non_measure() -> None:
    with pytest.raises(InvalidInputError, match="is not a measure"):
        measures.mixture([(1.0, "real")])  # type: ignore[list-item]
