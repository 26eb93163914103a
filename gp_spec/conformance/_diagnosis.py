"""One cause, one message (SPEC §6): the root causes behind many failing checks.

When several checks fail or error for one reason, the report leads with that reason and its
fix instead of repeating it per check: an unweighted return (every value exactly 1/weight of
the expected), a crash at one line of the implementation, critic inputs of the wrong shape,
no input domain that runs, a return that is not a 0-dim tensor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from gp_spec.conformance._report import Cause, CheckResult

__all__ = ["CROSS_CUTTING", "diagnose", "groupable"]

CROSS_CUTTING = frozenset({
    "domain", "critic.input-shape", "critic.mode", "critic.changed", "raised", "return-type",
    "return-tuple", "return-shape", "return-dtype", "return-meta", "non-finite", "no-graph",
    "backward", "hang", "engine",
})
"""Causes that make many checks fail at once (the others are a clause's own failure, whose
message says it all)."""


def groupable(cause: str | None) -> bool:
    """Whether results with this cause key are reported once, as one root cause."""
    return cause is not None and cause.split(":", 1)[0] in CROSS_CUTTING

_RATIOS = (
    ("the weight is not applied", "the implementation returns the unweighted penalty: check it "
     "with weight=1 (--weight 1), or apply the weight inside it"),
    ("the weight is applied twice", "apply the weight once"),
)


def _ratio_cause(results: Sequence[CheckResult], weight: float) -> Cause | None:
    """Every compared value off by the same factor: 1/weight, weight, 2 or 1/2."""
    rated = [r for r in results if r.status == "fail" and r.ratio is not None
             and math.isfinite(r.ratio) and r.ratio > 0]
    if len(rated) < 2:
        return None
    ratios = [r.ratio for r in rated if r.ratio is not None]
    ref = ratios[0]
    if not all(math.isclose(x, ref, rel_tol=1e-3) for x in ratios):
        return None
    ids = tuple(r.id for r in rated)
    if weight not in (0.0, 1.0) and math.isclose(ref, 1 / weight, rel_tol=1e-3):
        return Cause(f"every value is exactly 1/{weight:g} of the expected: the weight is not "
                     "applied in this function", "did you mean --weight 1 (weight=1)? "
                     "Or apply the weight inside the penalty", ids)
    if weight not in (0.0, 1.0) and math.isclose(ref, weight, rel_tol=1e-3):
        return Cause(f"every value is exactly {weight:g} x the expected: the weight is applied "
                     "twice", "apply the weight once", ids)
    if math.isclose(ref, 2.0, rel_tol=1e-3):
        return Cause("every value is exactly 2 x the expected", "gamma used where the spec's "
                     "weight is gamma/2 (R1/R2) or rho for rho/2 (SGP)? check with the "
                     "weight your code applies", ids)
    if math.isclose(ref, 0.5, rel_tol=1e-3):
        return Cause("every value is exactly 1/2 of the expected", "the weight halved once "
                     "too often, or check with the weight your code applies", ids)
    norm = [r for r in results if r.status == "fail" and ".norm." in r.id]
    if norm:
        return Cause(f"every value is {ref:.6g} x the expected and {norm[0].id} fails: the "
                     "gradient norm is not taken over all event dimensions",
                     "take the norm of grad.flatten(1) (or grad.reshape(N, -1)), one norm per "
                     "sample", tuple(dict.fromkeys(ids + tuple(r.id for r in norm))))
    if any(r.status == "fail" and r.ratio is None for r in results):
        return None  # another check names a cause: an odd common factor is its symptom
    return Cause(f"every value is {ref:.6g} x the expected", "check the weight you pass "
                 "(--weight) against the one your code applies", ids)


_FIXES = {
    "domain": "give the input domain: event_shape=(C, H, W) / --event-shape, batch_size= / "
              "--batch-size, critic_output='n1', or an adapter",
    "critic.input-shape": "draw alpha with shape (N, 1, ..., 1) matching the input rank "
                          "(e.g. [real.shape[0]] + [1] * (real.ndim - 1))",
    "critic.mode": "do not switch the critic to eval mode inside the penalty",
    "critic.changed": "do not modify the critic's parameters, requires_grad or mode",
    "return-type": "return the penalty tensor itself (no .item(), no backward() inside)",
    "return-tuple": "return the penalty alone, or a tuple whose first element is the 0-dim "
                    "penalty",
    "return-shape": "reduce the per-sample values with .mean() (or use an adapter ending in "
                    "+mean)",
    "non-finite": "guard the norm against 0 (torch.linalg.vector_norm) and check the inputs",
    "no-graph": "build the input gradient with create_graph=True",
    "engine": "this is gp-spec's error, not the implementation's: please report it",
}


def diagnose(results: Sequence[CheckResult], weight: float) -> tuple[Cause, ...]:
    """The root causes behind the failing results, most frequent first."""
    bad = [r for r in results if r.status in ("fail", "error") and r.expected_failure is None]
    causes: list[Cause] = []
    ratio = _ratio_cause(bad, weight)
    covered: set[str] = set()
    if ratio is not None:
        causes.append(ratio)
        covered |= set(ratio.checks)
    groups: dict[str, list[CheckResult]] = {}
    for r in bad:
        if r.id in covered or not groupable(r.cause):
            continue
        assert r.cause is not None
        groups.setdefault(r.cause, []).append(r)
    for key, rs in groups.items():
        kind = key.split(":", 1)[0]
        msg = rs[0].message
        title = msg.split(": ", 1)[1] if ": " in msg and kind != "domain" else msg
        causes.append(Cause(title.split(" [")[0] if kind.startswith("raised") else title,
                            _FIXES.get(kind, ""), tuple(r.id for r in rs)))
    causes.sort(key=lambda c: -len(c.checks))
    return tuple(causes)
