"""The measure-law table: what each penalty measure of SPEC §2 looks like to a check.

For every measure class the checker knows, a :class:`Law` says

- where its points lie (``support``: a distance from each recorded point to the support),
- what ``<u, x_hat>`` is on a *projection batch* (real ``x_i`` with ``<u, x_i> = 1``, fake
  ``y_i`` with ``<u, y_i> = 0``, anchor ``A`` with ``<u, A> = a``): a constant for a
  deterministic measure, ``alpha * scale`` with ``alpha ~ U(0, 1)`` per sample for a random one,
- whether identical real and fake samples make it deterministic (``x_hat = x``).

A measure with no entry (``perturbed``, ``mixture``, ``latent_path``, a user's own) has no
law: the checks that need one skip with that reason, never judging it against another
measure's law; the differential check still compares it with the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from gp_spec import measures
from gp_spec._types import Measure

__all__ = ["LAWS", "Law", "anchor_point", "law_for", "nearest_rows", "segment_distance",
           "used_samples"]


def nearest_rows(z: Tensor, rows: Tensor) -> Tensor:
    """Distance from each row of ``z`` (M, D) to the nearest row of ``rows`` (K, D), exact
    (no matmul shortcut: a recorded endpoint must read a distance of exactly 0)."""
    return torch.cdist(z, rows, compute_mode="donot_use_mm_for_euclid_dist").min(1).values


def _segment_r2(z: Tensor, starts: Tensor, ends: Tensor) -> Tensor:
    """``(M, I, J)`` squared distances from each row of ``z`` to each segment
    ``[starts_j, ends_i]``, in O(M I J + (M + I + J) D) memory (inner products, not
    differences: images have thousands of event dims)."""
    d2 = (ends.square().sum(1)[:, None] - 2 * ends @ starts.T
          + starts.square().sum(1)[None, :])  # (I, J): |e_i - s_j|^2
    zs = z @ starts.T  # (M, J)
    ze = z @ ends.T  # (M, I)
    es = (ends @ starts.T)  # (I, J)
    ss = starts.square().sum(1)  # (J,)
    zz = z.square().sum(1)  # (M,)
    # <z - s_j, e_i - s_j> = <z, e_i> - <z, s_j> - <s_j, e_i> + |s_j|^2
    dot = ze[:, :, None] - zs[:, None, :] - es[None] + ss[None, None, :]
    alpha = (dot / d2.clamp_min(1e-300)[None]).clamp(0.0, 1.0)
    # |z - s_j - alpha (e_i - s_j)|^2 = |z - s_j|^2 - 2 alpha dot + alpha^2 d2
    zs_dist2 = zz[:, None] - 2 * zs + ss[None, :]  # (M, J)
    return (zs_dist2[:, None, :] - 2 * alpha * dot + alpha.square() * d2[None]).clamp_min(0.0)


def segment_distance(z: Tensor, starts: Tensor, ends: Tensor) -> Tensor:
    """Distance from each row of ``z`` (M, D) to the nearest segment ``[starts_j, ends_i]``
    over every pair (i, j)."""
    return _segment_r2(z, starts, ends).flatten(1).min(1).values.sqrt()


SupportFn = Callable[[Measure, Tensor, Tensor, Tensor], tuple[Tensor, str]]
SamplesFn = Callable[[Measure, Tensor, Tensor, Tensor], dict[str, Tensor]]


@dataclass(frozen=True)
class Law:
    """How a measure looks to the checks.

    Attributes:
      support: ``(measure, z, x, y) -> (distance per row of z, description)`` for recorded
        points ``z`` (M, D) and the call's real ``x`` and fake ``y`` (N, D), flattened.
      projection: ``(measure, a) -> (constant, scale)``: on a projection batch
        ``<u, x_hat>`` is ``constant`` (deterministic, ``scale = 0``) or ``scale * alpha``.
      degenerate: identical real and fake samples make the measure deterministic
        (``x_hat = x``).
      interpolates: its points carry one ``alpha ~ U(0, 1)`` per sample that can be read off
        the first coordinate of a coordinate batch (times the anchor's first coordinate for
        the anchor measure).
      samples: ``(measure, z, x, y) -> {"real": idx, "fake": idx}``, which samples each
        recorded point was built from (see :func:`used_samples`); None when its points do
        not name their samples (DRAGAN).
      at_samples: its points are the samples themselves (R1's real, R2's fake points).
    """

    support: SupportFn
    projection: Callable[[Measure, float], tuple[float, float]]
    degenerate: bool
    interpolates: bool = False
    samples: SamplesFn | None = None
    at_samples: bool = False


def anchor_point(measure: Measure, event: tuple[int, ...], like: Tensor) -> Tensor:
    """The anchor ``A`` of an anchor measure, in the event's shape."""
    assert isinstance(measure, measures.Anchor)
    if measure.point is None:
        return measures.default_anchor(event, like)
    return measure.point.to(device=like.device, dtype=like.dtype).reshape(event)


def _real(m: Measure, z: Tensor, x: Tensor, y: Tensor) -> tuple[Tensor, str]:
    return nearest_rows(z, x), "a real sample"


def _fake(m: Measure, z: Tensor, x: Tensor, y: Tensor) -> tuple[Tensor, str]:
    return nearest_rows(z, y), "a fake sample"


def _midpoint(m: Measure, z: Tensor, x: Tensor, y: Tensor) -> tuple[Tensor, str]:
    mids = ((x[:, None] + y[None]) / 2).reshape(-1, x.shape[1])
    return nearest_rows(z, mids), "a midpoint (x_i + y_j) / 2"


def _interpolate(m: Measure, z: Tensor, x: Tensor, y: Tensor) -> tuple[Tensor, str]:
    return segment_distance(z, y, x), "on a segment [y_j, x_i] between a fake and a real"


def _anchor(m: Measure, z: Tensor, x: Tensor, y: Tensor) -> tuple[Tensor, str]:
    a = anchor_point(m, (x.shape[1],), x).reshape(1, -1)
    return segment_distance(z, y, a), "on a segment [A, y_j] from a fake to the anchor"


def _dragan(m: Measure, z: Tensor, x: Tensor, y: Tensor) -> tuple[Tensor, str]:
    assert isinstance(m, measures.Dragan)
    box = m.c * float(x.std(unbiased=False))
    off = z[:, None, :] - x[None]  # (M, N, D): must lie in [0, box]^D for some i
    excess = (off.clamp(max=0).abs() + (off - box).clamp(min=0)).norm(dim=-1)
    return excess.min(1).values, f"x_i + alpha c std(x) u with u in [0, 1]^D (box {box:.3g})"


def _real_samples(m: Measure, z: Tensor, x: Tensor, y: Tensor) -> dict[str, Tensor]:
    return {"real": torch.cdist(z, x).argmin(1)}


def _fake_samples(m: Measure, z: Tensor, x: Tensor, y: Tensor) -> dict[str, Tensor]:
    return {"fake": torch.cdist(z, y).argmin(1)}


def _midpoint_samples(m: Measure, z: Tensor, x: Tensor, y: Tensor) -> dict[str, Tensor]:
    mids = ((x[:, None] + y[None]) / 2).reshape(-1, x.shape[1])
    k = torch.cdist(z, mids).argmin(1)
    return {"real": k // len(y), "fake": k % len(y)}


def _interpolate_samples(m: Measure, z: Tensor, x: Tensor, y: Tensor) -> dict[str, Tensor]:
    k = _segment_r2(z, y, x).flatten(1).argmin(1)  # (I = real, J = fake)
    return {"real": k // len(y), "fake": k % len(y)}


def _anchor_samples(m: Measure, z: Tensor, x: Tensor, y: Tensor) -> dict[str, Tensor]:
    a = anchor_point(m, (x.shape[1],), x).reshape(1, -1)
    return {"fake": _segment_r2(z, y, a).flatten(1).argmin(1) % len(y)}


LAWS: dict[type, Law] = {
    measures.Real: Law(_real, lambda m, a: (1.0, 0.0), degenerate=True,
                       samples=_real_samples, at_samples=True),
    measures.Fake: Law(_fake, lambda m, a: (0.0, 0.0), degenerate=True,
                       samples=_fake_samples, at_samples=True),
    measures.Midpoint: Law(_midpoint, lambda m, a: (0.5, 0.0), degenerate=True,
                           samples=_midpoint_samples),
    measures.Interpolate: Law(_interpolate, lambda m, a: (0.0, 1.0), degenerate=True,
                              interpolates=True, samples=_interpolate_samples),
    measures.Anchor: Law(_anchor, lambda m, a: (0.0, a), degenerate=False, interpolates=True,
                         samples=_anchor_samples),
    measures.Dragan: Law(_dragan, lambda m, a: (1.0, 0.0), degenerate=False),
}
"""Measure class -> law. DRAGAN's projection is not used (its law has its own checks)."""


def used_samples(measure: Measure, z: Tensor, x: Tensor, y: Tensor) -> dict[str, Tensor]:
    """Which real (``"real"``) and fake (``"fake"``) samples each recorded point was built
    from: the index of the nearest support element per row of ``z`` (flattened, float64).
    Under any pairing of a batch's samples (a permutation) every sample is used once; a
    batch paired with one sample (``fake[-1]`` broadcast) uses one. Empty for measures
    whose points do not name their samples (DRAGAN, measures without a law)."""
    law = law_for(measure)
    return {} if law is None or law.samples is None else law.samples(measure, z, x, y)


def law_for(measure: Measure | None) -> Law | None:
    """The law of ``measure``'s class, or None when the checker has none."""
    return None if measure is None else LAWS.get(type(measure))
