"""Penalty measures (SPEC §2): where a gradient penalty is evaluated.

Every measure is a small frozen dataclass with ``sample(real, fake, *, generator=None) ->
Points``. Samples are detached from the graphs that produced ``real`` and ``fake`` (a penalty
never sends gradients to the generator or the data pipeline). Random draws use the optional
``torch.Generator`` so a caller can reproduce them exactly.

A finite measure ``sum_k w_k mu_k`` (000 §2.1) is ``mixture([(w_k, mu_k), ...])``; its
``Points.weights`` carry the masses so that ``mean(weights * h(points))`` estimates
``E_mu[h] = sum_k w_k E_{mu_k}[h]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from gp_spec import _validation as v
from gp_spec._types import Measure, Points
from gp_spec.errors import InvalidInputError

__all__ = [
    "Anchor",
    "Dragan",
    "Fake",
    "Interpolate",
    "LatentPath",
    "Midpoint",
    "Mixture",
    "Perturbed",
    "Real",
    "anchor",
    "default_anchor",
    "dragan",
    "fake",
    "interpolate",
    "latent_path",
    "midpoint",
    "mixture",
    "per_sample_uniform",
    "perturbed",
    "real",
]


def per_sample_uniform(
    like: Tensor, *, generator: torch.Generator | None = None
) -> Tensor:
    """One ``alpha ~ U(0, 1)`` per sample, shaped ``(N, 1, ..., 1)`` to broadcast over ``like``.

    Source: 003 Eq. 6 ("t ~ U[0, 1]" per pair); 004 Eq. 6.
    """
    shape = (like.shape[0],) + (1,) * (like.ndim - 1)
    return torch.rand(shape, generator=generator, device=like.device, dtype=like.dtype)


def _lerp(start: Tensor, end: Tensor, alpha: Tensor | float) -> Tensor:
    """``alpha * end + (1 - alpha) * start`` (the papers' ``x_hat = alpha x + (1 - alpha) y``),
    as one fused ``torch.lerp`` kernel instead of four elementwise ones."""
    if isinstance(alpha, Tensor):
        alpha = alpha.to(start.dtype)
    return torch.lerp(start, end, alpha)


@dataclass(frozen=True)
class Real:
    """``x_hat = x``: the data distribution p_d (000 Table 1; R1, 004 Table 1)."""

    name: str = "real"
    mass: float = 1.0

    def sample(
        self, real: Tensor | None, fake: Tensor | None, *, generator: torch.Generator | None = None
    ) -> Points:
        x = v.batch(real, "real").detach()
        return Points(x)


@dataclass(frozen=True)
class Fake:
    """``x_hat = y``: the generator's distribution p_g (000 Table 1; R2)."""

    name: str = "fake"
    mass: float = 1.0

    def sample(
        self, real: Tensor | None, fake: Tensor | None, *, generator: torch.Generator | None = None
    ) -> Points:
        y = v.batch(fake, "fake").detach()
        return Points(y)


@dataclass(frozen=True)
class Interpolate:
    """mu_GP: ``x_hat = alpha x + (1 - alpha) y``, one ``alpha ~ U(0, 1)`` per sample pair.

    Source: 003 Eq. 6; 004 Eq. 6; 000 Table 1.
    """

    name: str = "interpolate"
    mass: float = 1.0

    def sample(
        self, real: Tensor | None, fake: Tensor | None, *, generator: torch.Generator | None = None
    ) -> Points:
        x, y = v.pair(real, fake)
        x, y = x.detach(), y.detach()
        alpha = per_sample_uniform(x, generator=generator)
        return Points(_lerp(y, x, alpha))


@dataclass(frozen=True)
class Midpoint:
    """mu_mid: ``x_hat = x / 2 + y / 2`` (000 Table 1)."""

    name: str = "midpoint"
    mass: float = 1.0

    def sample(
        self, real: Tensor | None, fake: Tensor | None, *, generator: torch.Generator | None = None
    ) -> Points:
        x, y = v.pair(real, fake)
        return Points(_lerp(y.detach(), x.detach(), 0.5))


def default_anchor(event_shape: Sequence[int], like: Tensor) -> Tensor:
    """The reference anchor ``A``: ``(2, -1)`` in 2-D (000 §5.1), tiled over a larger event.

    The flattened event is ``2, -1, 2, -1, ...``; for a 1-D event it is ``(2,)``.
    """
    numel = 1
    for s in event_shape:
        numel *= int(s)
    pattern = torch.tensor([2.0, -1.0], device=like.device, dtype=like.dtype)
    return pattern.repeat((numel + 1) // 2)[:numel].reshape(tuple(event_shape))


@dataclass(frozen=True)
class Anchor:
    """mu_g,anc: ``x_hat = alpha A + (1 - alpha) y``, A fixed, one alpha per sample.

    ``point=None`` uses :func:`default_anchor` (``A = (2, -1)`` in 2-D, 000 §5.1).
    Source: 000 Table 1.
    """

    point: Tensor | None = None
    name: str = "anchor"
    mass: float = 1.0

    def sample(
        self, real: Tensor | None, fake: Tensor | None, *, generator: torch.Generator | None = None
    ) -> Points:
        y = v.batch(fake, "fake").detach()
        if self.point is None:
            a = default_anchor(y.shape[1:], y)
        else:
            a = self.point.to(device=y.device, dtype=y.dtype)
            if a.shape != y.shape[1:]:
                raise InvalidInputError(
                    f"anchor.shape={tuple(a.shape)}, but should equal the event shape "
                    f"{tuple(y.shape[1:])}"
                )
        alpha = per_sample_uniform(y, generator=generator)
        return Points(_lerp(y, a.expand_as(y), alpha))


@dataclass(frozen=True)
class Perturbed:
    """Local perturbation: ``x_hat = x + xi``, ``xi ~ N(0, std^2 I)`` (003 App. D.4).

    With ``fake_too=True`` the measure is the even mixture of perturbed real and perturbed
    fake samples (``2N`` points, unit weights).
    """

    std: float
    fake_too: bool = False
    name: str = "perturbed"
    mass: float = 1.0

    def sample(
        self, real: Tensor | None, fake: Tensor | None, *, generator: torch.Generator | None = None
    ) -> Points:
        base = v.batch(real, "real").detach()
        if self.fake_too:
            x, y = v.pair(real, fake)
            base = torch.cat([x.detach(), y.detach()])
        noise = torch.randn(base.shape, generator=generator, device=base.device, dtype=base.dtype)
        return Points(base + self.std * noise)


@dataclass(frozen=True)
class Dragan:
    """DRAGAN's measure: ``x_p = x + c std(x) u``, ``u ~ U(0,1)`` elementwise, then
    ``x_hat = x + alpha (x_p - x)`` with one alpha per sample.

    ``std`` is the population standard deviation of the whole real batch tensor, as NumPy's
    ``X.std()`` in the DRAGAN reference code. Source: Kodali et al. 2017; 003 footnote 7.
    """

    c: float = 0.5
    name: str = "dragan"
    mass: float = 1.0

    def sample(
        self, real: Tensor | None, fake: Tensor | None, *, generator: torch.Generator | None = None
    ) -> Points:
        x = v.batch(real, "real").detach()
        u = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x_p = x + self.c * x.std(unbiased=False) * u
        alpha = per_sample_uniform(x, generator=generator)
        return Points(_lerp(x, x_p, alpha))


LatentSampler = Callable[[int, "torch.Generator | None"], Tensor]


@dataclass(frozen=True)
class LatentPath:
    """Latent-path interpolation: ``x_hat = G(alpha E(x) + (1 - alpha) z)``, ``z ~ p_z``.

    ``sample_latent(n, generator)`` draws ``(n, latent)`` codes. Evaluated without building a
    graph through ``E`` or ``G``. Source: 004 App. F, Alg. 1.
    """

    encoder: Callable[[Tensor], Tensor]
    generator_fn: Callable[[Tensor], Tensor]
    sample_latent: LatentSampler
    name: str = "latent_path"
    mass: float = 1.0

    def sample(
        self, real: Tensor | None, fake: Tensor | None, *, generator: torch.Generator | None = None
    ) -> Points:
        x = v.batch(real, "real").detach()
        with torch.no_grad():
            z_x = self.encoder(x)
            z = self.sample_latent(x.shape[0], generator).to(device=z_x.device, dtype=z_x.dtype)
            if z.shape != z_x.shape:
                raise InvalidInputError(
                    f"sample_latent gave shape {tuple(z.shape)}, but the encoder gives "
                    f"{tuple(z_x.shape)}"
                )
            alpha = per_sample_uniform(z_x, generator=generator)
            points = self.generator_fn(_lerp(z, z_x, alpha))
        return Points(points.detach())


@dataclass(frozen=True)
class Mixture:
    """A finite measure ``sum_k w_k mu_k`` with mass ``M = sum_k w_k mass_k`` (000 §2.1).

    Samples of every component are concatenated; a point from component k (``N_k`` points of
    ``N`` in all) gets weight ``w_k * weight_in_k * N / N_k`` so that
    ``mean(weights * h) = sum_k w_k E_{mu_k}[h]``.
    """

    components: tuple[tuple[float, Measure], ...] = field(default_factory=tuple)
    name: str = "mixture"

    @property
    def mass(self) -> float:
        return float(sum(w * m.mass for w, m in self.components))

    def sample(
        self, real: Tensor | None, fake: Tensor | None, *, generator: torch.Generator | None = None
    ) -> Points:
        parts = [(w, m.sample(real, fake, generator=generator)) for w, m in self.components]
        total = sum(p.points.shape[0] for _, p in parts)
        points = torch.cat([p.points for _, p in parts])
        weights = torch.cat([w * p.weights * (total / p.points.shape[0]) for w, p in parts])
        return Points(points, weights)


def real() -> Real:
    """The data distribution, ``x_hat = x``."""
    return Real()


def fake() -> Fake:
    """The generator distribution, ``x_hat = y``."""
    return Fake()


def interpolate() -> Interpolate:
    """mu_GP, ``x_hat = alpha x + (1 - alpha) y`` with one ``alpha ~ U(0,1)`` per sample."""
    return Interpolate()


def midpoint() -> Midpoint:
    """mu_mid, ``x_hat = (x + y) / 2``."""
    return Midpoint()


def anchor(point: Tensor | Sequence[float] | None = None) -> Anchor:
    """mu_g,anc, ``x_hat = alpha A + (1 - alpha) y`` with ``A = point`` (event-shaped)."""
    if point is None:
        return Anchor(None)
    try:
        a = point if isinstance(point, Tensor) else torch.tensor(list(point), dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise InvalidInputError(f"anchor point={point!r}, but should be a sequence of numbers "
                                "or a tensor") from None
    if a.is_floating_point() and a.device.type == "cpu" and not bool(torch.isfinite(a).all()):
        raise InvalidInputError(f"anchor point={point!r}, but should be finite")
    return Anchor(point if isinstance(point, Tensor) else a)


def _finite(value: object, name: str, *, minimum: float | None = None) -> float:
    """``float(value)`` if it is a finite number (``>= minimum``), else InvalidInputError."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        x = math.nan
    if not math.isfinite(x) or (minimum is not None and x < minimum):
        bound = "" if minimum is None else f" and >= {minimum:g}"
        raise InvalidInputError(f"{name}={value!r}, but should be a finite number{bound}")
    return x


def perturbed(std: float, fake_too: bool = False) -> Perturbed:
    """Local perturbation ``x_hat = x + N(0, std^2 I)`` (and of ``y`` too if ``fake_too``)."""
    return Perturbed(_finite(std, "std", minimum=0.0), fake_too)


def dragan(c: float = 0.5) -> Dragan:
    """DRAGAN's perturbation measure with constant ``c`` (0.5 in the reference code)."""
    return Dragan(_finite(c, "c"))


def latent_path(
    encoder: Callable[[Tensor], Tensor],
    generator: Callable[[Tensor], Tensor],
    sample_latent: LatentSampler,
) -> LatentPath:
    """Latent-path measure of 004 App. F from an encoder, a generator and a latent sampler."""
    return LatentPath(encoder, generator, sample_latent)


def mixture(components: Sequence[tuple[float, Measure]]) -> Mixture:
    """The finite measure ``sum_k w_k mu_k``; each ``w_k`` must be >= 0."""
    try:
        pairs = [(w, m) for w, m in components]
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"mixture: components={components!r}, but should be a sequence of (weight, measure)"
        ) from None
    if not pairs:
        raise InvalidInputError("mixture: components is empty, but should hold (weight, measure)")
    for _, m in pairs:
        if not isinstance(m, Measure):
            raise InvalidInputError(f"mixture: {m!r} is not a measure (it has no sample/mass/name)")
    try:
        comps = tuple((_finite(w, "weight", minimum=0.0), m) for w, m in pairs)
    except InvalidInputError:
        raise InvalidInputError(
            f"mixture weights={[w for w, _ in pairs]!r}, but should all be finite numbers >= 0"
        ) from None
    return Mixture(comps)
