"""``python -m conformance.table``: every mutant and rewrite against its spec, one row each.

Columns: name, spec, expected (``fail <clause>`` for a mutant, ``pass`` for a rewrite),
verdict, the clauses of the checks that fired (failed or errored), and OK/WRONG. A mutant row
is OK when its report fails and its ``catches`` clause fired; a rewrite row when it passes.
Exit code 1 if any row is WRONG.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from conformance.mutants import MUTANTS, Mutant
from conformance.rewrites import REWRITES, Rewrite
from gp_spec.conformance import Report, check

__all__ = ["Row", "evaluate", "fired", "main", "render"]


@dataclass(frozen=True)
class Row:
    name: str
    spec: str
    weight: float
    expected: str
    verdict: str
    fired: tuple[str, ...]
    ok: bool


def fired(report: Report) -> tuple[str, ...]:
    """Clauses of the checks that failed or errored, in catalogue order."""
    return tuple(r.id.split(".", 1)[1] for r in report.failures)


def evaluate(item: Mutant | Rewrite, *, seed: int = 0) -> Row:
    """Run ``check`` on one mutant or rewrite and judge the outcome."""
    report = check(item.fn, item.spec, weight=item.weight, seed=seed, label=item.name,
                   **item.options)
    clauses = fired(report)
    verdict = "PASS" if report.passed else "FAIL"
    if isinstance(item, Mutant):
        expected = f"fail {item.catches}"
        ok = not report.passed and item.catches in clauses
    else:
        expected, ok = "pass", report.passed
    return Row(item.name, item.spec, item.weight, expected, verdict, clauses, ok)


def render(rows: Iterable[Row]) -> str:
    """A plain-text table; the fired column lists the expected clause first when it fired."""
    rows = list(rows)
    head = ("name", "spec", "w", "expected", "verdict", "result", "checks that fired")
    body = []
    for r in rows:
        catches = r.expected.removeprefix("fail ")
        order = sorted(r.fired, key=lambda c: c != catches)
        body.append((r.name, r.spec, f"{r.weight:g}", r.expected, r.verdict,
                     "OK" if r.ok else "WRONG", ", ".join(order) or "-"))
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head) - 1)]
    lines = []
    for line in [head, *body]:
        cells = [c.ljust(w) for c, w in zip(line[:-1], widths, strict=True)]
        lines.append("  ".join([*cells, line[-1]]).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * len(head[-1]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.table", description=__doc__)
    parser.add_argument("--seed", type=int, default=0, help="seed passed to check()")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # tiny tensors: OpenMP start-up costs more than the work
    start = time.perf_counter()
    items: list[Mutant | Rewrite] = [*MUTANTS, *REWRITES]
    rows = [evaluate(item, seed=args.seed) for item in items]
    print(render(rows))
    wrong = [r.name for r in rows if not r.ok]
    n_mut = sum(1 for r in rows if r.expected != "pass")
    print(
        f"\n{n_mut} mutants, {len(rows) - n_mut} rewrites: {len(rows) - len(wrong)} OK, "
        f"{len(wrong)} WRONG ({time.perf_counter() - start:.1f} s)"
    )
    if wrong:
        print("WRONG: " + ", ".join(wrong))
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
