"""Plausibility of measured matrices, and the status of the benchmark's targets.

A timing method that measures what it should obeys two properties no matter the device:

1. ``lazy(k)`` does everything ``plain`` does (and a penalty every ``k`` steps), so it is
   never faster: its median per-round ratio to plain is at least ``1 - tolerance``;
2. a larger batch is never cheaper: plain's median ms per step does not fall by more than
   ``tolerance`` from one batch size to the next larger one (same critic and precision).

The committed H100 matrices of torch 2.11 broke both (``lazy(4)`` 0.86x plain; bf16 plain
DCGAN 5.04 -> 4.49 -> 2.72 ms at batch 64/256/1024); ``bash bench/run_gpu.sh`` runs this check
on its fresh results. Usage: ``python -m gp_spec.benchmark.sanity RESULTS.json ...`` (exit 1
when a property is violated).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Sequence

from gp_spec.benchmark.runner import CaseResult

__all__ = ["TOLERANCE", "targets", "violations"]

TOLERANCE = 0.05
"""Relative slack of both properties (per-round noise of a median over >= 10 rounds)."""


def violations(results: Sequence[CaseResult], *, tolerance: float = TOLERANCE) -> list[str]:
    """One line per case that breaks property 1 or 2 (empty: plausible)."""
    out = []
    for r in results:
        for v in r.variants:
            if v.name.startswith("lazy(") and v.vs_plain is not None \
                    and v.vs_plain.median < 1 - tolerance:
                out.append(f"{_key(r)}: {v.name} is {v.vs_plain.median:.3f}x plain, but should "
                           f"be >= {1 - tolerance:.2f}x (it does all plain does)")
    groups: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for r in results:
        plain = next((v.ms for v in r.variants if v.name == "plain"), None)
        if plain is not None:
            groups.setdefault((r.case.critic, r.case.precision), []).append(
                (r.case.batch, plain.median))
    for (critic, precision), points in groups.items():
        points.sort()
        for (b0, t0), (b1, t1) in itertools.pairwise(points):
            if b1 > b0 and t1 < (1 - tolerance) * t0:
                out.append(f"{critic} {precision}: plain {t1:.3g} ms at batch {b1}, but should "
                           f"be >= {(1 - tolerance):.2f} x {t0:.3g} ms (batch {b0})")
    return out


def _key(r: CaseResult) -> str:
    return f"{r.case.critic} batch {r.case.batch} {r.case.precision}"


def targets(results: Sequence[CaseResult]) -> list[str]:
    """The benchmark's targets, one line each: reference at least as fast as peer (per-round
    ``peer/reference`` >= 1, or 1 inside its interquartile range: within noise), and the best
    exact variant against 2.0x plain for the ResNet critic at batch 256 in float32."""
    lines = []
    for r in results:
        s = r.ratios.get("peer/reference")
        if s is None:
            continue
        verdict = "met" if s.median >= 1 else "met within noise" if s.q3 >= 1 else "NOT met"
        lines.append(f"reference vs peer, {_key(r)}: peer/reference {s.median:.3f} "
                     f"[{s.q1:.3f}, {s.q3:.3f}]: {verdict}")
    for r in results:
        if (r.case.critic, r.case.batch, r.case.precision) != ("resnet", 256, "float32"):
            continue
        exact = [(v.vs_plain.median, v.name) for v in r.variants
                 if v.kind == "exact" and v.vs_plain is not None]
        if exact:
            best, name = min(exact)
            lines.append(f"best exact variant, resnet batch 256 float32: {name} {best:.2f}x "
                         f"plain: {'met' if best <= 2.0 else 'NOT met'} (target <= 2.0x)")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Print the targets and any implausible case of saved ``gp-spec bench variants`` JSON."""
    from gp_spec.benchmark import report

    parser = argparse.ArgumentParser(prog="python -m gp_spec.benchmark.sanity",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", metavar="RESULTS.json")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE)
    args = parser.parse_args(argv)
    results: list[CaseResult] = []
    for path in args.paths:
        results += report.read_json(path)[0]
    for line in targets(results):
        print(line)
    bad = violations(results, tolerance=args.tolerance)
    for line in bad:
        print(f"IMPLAUSIBLE: {line}")
    print(f"plausibility: {len(bad)} violation(s) in {len(results)} case(s) "
          f"(tolerance {args.tolerance:.0%})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
