"""``python -m conformance.stability``: are the conformance verdicts stable across seeds?

Every verdict of ``gp_spec.conformance.check`` is deterministic given its ``seed``; this
module measures what happens *across* seeds. It runs the whole catalogue on

- every reference (each spec of ``gp_spec.SPECS``, bound at its default weight) and every
  correct rewrite (:data:`conformance.rewrites.REWRITES`): each failure is a **false
  failure**; per check clause it reports the observed count next to the rate the check
  claims (statistical checks: ``statistical_rate(spec)``; exact checks: 0) and a one-sided
  95% upper confidence bound on the true per-run rate (exact Clopper-Pearson; with 0 failures
  in ``n`` runs it is ``1 - 0.05^(1/n)``, about the rule of three ``3/n``);
- every mutant (:data:`conformance.mutants.MUTANTS`): the **detection rate**, the fraction
  of seeds whose report fails *with the mutant's named check among the failing ones*, and
  the fraction whose report fails at all,

under ``--seeds`` seeds (default 200, seeds ``--first-seed`` .. ``+N-1``), in ``--jobs``
worker processes (default ``os.cpu_count()``; one torch thread each). It prints progress on
stderr, the tables on stdout (and into ``--out``), and exits 1 when a target is missed (a
false failure, or a mutant not caught by its named check under some seed).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import fnmatch
import math
import multiprocessing as mp
import os
import platform
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from scipy import stats

from conformance.mutants import MUTANTS
from conformance.rewrites import REWRITES
from gp_spec import SPECS
from gp_spec._machine import cpu_cores, cpu_model
from gp_spec.conformance import (
    SUITE_FALSE_POSITIVE_RATE,
    checks_for,
    statistical_rate,
)
from gp_spec.conformance import (
    check as run_check,
)

__all__ = [
    "Item",
    "Record",
    "Summary",
    "items",
    "main",
    "render",
    "run",
    "run_one",
    "upper_bound",
]

Kind = Literal["reference", "rewrite", "mutant"]


@dataclass(frozen=True)
class Item:
    """One implementation under test: a reference, a correct rewrite or a mutant."""

    kind: Kind
    name: str
    spec: str
    weight: float
    fn: Callable[..., Any]
    catches: str | None = None  # mutants only: the clause that must name the bug
    options: Mapping[str, Any] = field(default_factory=dict)  # further check() keywords


def items() -> list[Item]:
    """References (default weight), rewrites and mutants, in that order."""
    out = [Item("reference", name, name, spec.default_weight, spec.bind(None))
           for name, spec in SPECS.items()]
    out += [Item("rewrite", r.name, r.spec, r.weight, r.fn, None, r.options)
            for r in REWRITES]
    out += [Item("mutant", m.name, m.spec, m.weight, m.fn, m.catches, m.options)
            for m in MUTANTS]
    return out


@dataclass(frozen=True)
class Record:
    """What one ``check()`` of one item under one seed gave (small, picklable).

    ``status`` maps every clause to its status; ``p_values`` the statistical clauses that
    returned one; ``messages`` the messages of the checks that failed or errored.
    """

    index: int
    seed: int
    passed: bool
    status: dict[str, str]
    p_values: dict[str, float]
    seconds: dict[str, float]
    wall: float
    messages: dict[str, str] = field(default_factory=dict)


_ITEMS: list[Item] | None = None


def _items() -> list[Item]:
    global _ITEMS
    if _ITEMS is None:
        _ITEMS = items()
    return _ITEMS


def run_one(index: int, seed: int, pool: Sequence[Item] | None = None) -> Record:
    """``check()`` item ``index`` of ``pool`` (default: :func:`items`) under ``seed``."""
    item = (pool if pool is not None else _items())[index]
    start = time.perf_counter()
    report = run_check(item.fn, item.spec, weight=item.weight, seed=seed, label=item.name,
                       **item.options)
    wall = time.perf_counter() - start
    status: dict[str, str] = {}
    p_values: dict[str, float] = {}
    seconds: dict[str, float] = {}
    messages: dict[str, str] = {}
    for r in report.results:
        clause = r.id.split(".", 1)[1]
        status[clause] = r.status
        seconds[clause] = r.seconds
        if r.p_value is not None:
            p_values[clause] = r.p_value
        if r.status in ("fail", "error"):
            messages[clause] = r.message[:400]
    return Record(index, seed, report.passed, status, p_values, seconds, wall, messages)


def _worker_init() -> None:
    torch.set_num_threads(1)  # tiny tensors: one intra-op thread per process is fastest
    _items()


def _work(task: tuple[int, int]) -> Record:
    return run_one(*task)


def run(
    seeds: Sequence[int],
    *,
    jobs: int = 1,
    select: Callable[[Item], bool] | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> tuple[list[Item], list[Record]]:
    """Run every selected item under every seed; ``jobs`` > 1 uses worker processes."""
    pool = _items()
    chosen = [i for i, it in enumerate(pool) if select is None or select(it)]
    # Seed-major order: a chunk mixes items, so every worker gets slow and fast ones.
    tasks = [(i, s) for s in seeds for i in chosen]
    records: list[Record] = []
    start = time.perf_counter()
    if jobs <= 1:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for task in tasks:
                records.append(run_one(*task, pool=pool))
                if progress:
                    progress(len(records), len(tasks), time.perf_counter() - start)
        finally:
            torch.set_num_threads(before)
    else:
        ctx = mp.get_context("spawn")  # a fresh interpreter: no state inherited from here
        with ctx.Pool(jobs, initializer=_worker_init) as workers:
            for rec in workers.imap_unordered(_work, tasks, chunksize=4):
                records.append(rec)
                if progress:
                    progress(len(records), len(tasks), time.perf_counter() - start)
    return [pool[i] for i in chosen], records


# -- statistics -------------------------------------------------------------------------------

def upper_bound(failures: int, runs: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound on a rate (``1 - 0.05^(1/n)`` ~ ``3/n`` at 0)."""
    if runs == 0:
        return 1.0
    if failures >= runs:
        return 1.0
    return float(stats.beta.ppf(confidence, failures + 1, runs - failures))


def lower_bound(successes: int, runs: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson lower bound on a rate (``0.05^(1/n)`` ~ ``1 - 3/n`` at n)."""
    if runs == 0 or successes == 0:
        return 0.0
    return float(stats.beta.ppf(1 - confidence, successes, runs - successes + 1))


@dataclass
class ClauseStats:
    """False failures of one clause over the correct implementations it applies to."""

    clause: str
    specs: set[str] = field(default_factory=set)
    claimed: set[float] = field(default_factory=set)
    statistical: bool = False
    runs: int = 0
    skips: int = 0
    fails: int = 0
    errors: int = 0
    min_p: float = 1.0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)


@dataclass
class ItemStats:
    item: Item
    runs: int = 0
    failed: int = 0
    caught: int = 0
    wall: float = 0.0
    fired: dict[str, int] = field(default_factory=dict)
    named_p: list[float] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)


@dataclass
class Summary:
    """Everything the tables show."""

    seeds: list[int]
    clauses: list[ClauseStats]
    correct: list[ItemStats]
    mutants: list[ItemStats]
    clause_seconds: dict[str, float]
    wall: float = 0.0
    jobs: int = 1

    @property
    def false_failures(self) -> int:
        return sum(c.fails + c.errors for c in self.clauses)

    @property
    def escapes(self) -> int:
        return sum(m.runs - m.caught for m in self.mutants)

    @property
    def ok(self) -> bool:
        return self.false_failures == 0 and self.escapes == 0


def summarise(chosen: Sequence[Item], records: Iterable[Record], seeds: Sequence[int],
              *, wall: float = 0.0, jobs: int = 1) -> Summary:
    pool = _items()
    order = [c.clause for spec in SPECS.values() for c in checks_for(spec)]
    clause_order = list(dict.fromkeys(order))
    clauses: dict[str, ClauseStats] = {c: ClauseStats(c) for c in clause_order}
    for spec in SPECS.values():
        for chk in checks_for(spec):
            st = clauses[chk.clause]
            st.statistical = st.statistical or chk.statistical
    per_item: dict[int, ItemStats] = {}
    by_name = {(it.kind, it.name): i for i, it in enumerate(pool)}
    for it in chosen:
        per_item[by_name[(it.kind, it.name)]] = ItemStats(it)
    clause_seconds: dict[str, float] = defaultdict(float)
    for rec in records:
        it = pool[rec.index]
        ist = per_item[rec.index]
        ist.runs += 1
        ist.wall += rec.wall
        ist.failed += not rec.passed
        for clause, sec in rec.seconds.items():
            clause_seconds[clause] += sec
        fired = [c for c, s in rec.status.items() if s in ("fail", "error")]
        for c in fired:
            ist.fired[c] = ist.fired.get(c, 0) + 1
        if it.kind == "mutant":
            assert it.catches is not None
            if not rec.passed and it.catches in fired:
                ist.caught += 1
            elif len(ist.examples) < 3:
                ist.examples.append(f"seed {rec.seed}: {rec.status.get(it.catches)}; "
                                    f"fired {', '.join(fired) or '-'}")
            if it.catches in rec.p_values:
                ist.named_p.append(rec.p_values[it.catches])
            continue
        if not rec.passed and len(ist.examples) < 3:
            ist.examples.append(f"seed {rec.seed}: " + "; ".join(
                f"{c}: {rec.messages.get(c, '')}" for c in fired))
        spec = SPECS[it.spec]
        stat = {chk.clause for chk in checks_for(spec) if chk.statistical}
        for clause, status in rec.status.items():
            cst = clauses[clause]
            cst.specs.add(it.spec)
            cst.claimed.add(statistical_rate(spec) if clause in stat else 0.0)
            cst.seconds += rec.seconds.get(clause, 0.0)
            if status == "skip":
                cst.skips += 1
                continue
            cst.runs += 1
            cst.fails += status == "fail"
            cst.errors += status == "error"
            if clause in rec.p_values:
                cst.min_p = min(cst.min_p, rec.p_values[clause])
            if status in ("fail", "error") and len(cst.examples) < 3:
                cst.examples.append(f"{it.name} seed {rec.seed}: {rec.messages.get(clause)}")
    items_sorted = sorted(per_item.items())
    return Summary(
        list(seeds),
        [c for c in clauses.values() if c.runs or c.skips],
        [s for _, s in items_sorted if s.item.kind != "mutant"],
        [s for _, s in items_sorted if s.item.kind == "mutant"],
        dict(clause_seconds), wall, jobs,
    )


# -- rendering --------------------------------------------------------------------------------

def _rate(x: float) -> str:
    return "0" if x == 0 else f"{x:.1e}"


def _p(p: float) -> str:
    return "< 1e-300" if p == 0 else f"{p:.2g}"  # 0: the p-value underflowed


def _pct(k: int, n: int) -> str:
    return "-" if n == 0 else f"{100 * k / n:.1f}% ({k}/{n})"


def _table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def render(s: Summary) -> str:
    """The markdown tables: false failures per clause, per implementation, mutant detection,
    the whole-suite bound, and where the time went."""
    n_seeds = len(s.seeds)
    seeds = f"{s.seeds[0]}..{s.seeds[-1]}" if s.seeds else "-"
    lines = [f"Seeds {seeds} ({n_seeds}); {len(s.correct)} correct implementations "
             f"({sum(1 for i in s.correct if i.item.kind == 'reference')} references, "
             f"{sum(1 for i in s.correct if i.item.kind == 'rewrite')} rewrites), "
             f"{len(s.mutants)} mutants.", ""]

    lines += ["### False failures per check clause (references and rewrites)", ""]
    rows: list[Sequence[str]] = []
    for c in s.clauses:
        claimed = " / ".join(_rate(x) for x in sorted(c.claimed)) or "-"
        kind = "statistical" if c.statistical else "exact"
        bad = c.fails + c.errors
        rows.append((
            f"`{c.clause}`", kind, str(len(c.specs)), str(c.runs),
            str(bad) + (f" ({c.errors} errors)" if c.errors else ""),
            claimed, _rate(upper_bound(bad, c.runs)) if c.runs else "-",
            _p(c.min_p) if c.statistical and c.runs else "-",
        ))
    lines += _table(("check clause", "kind", "specs", "runs", "false failures",
                     "claimed rate", "95% upper bound", "min p"), rows)
    lines += [
        "",
        "runs = (implementation, seed) pairs where the check ran (skips excluded: "
        "`device.cuda` without a GPU, `measure.support` / `alpha-*` under torch.func). "
        "95% upper bound: one-sided Clopper-Pearson on the per-run false-failure rate "
        "(with 0 of n: 1 - 0.05^(1/n), about 3/n). min p: smallest p-value seen "
        "(statistical checks; the check rejects below its claimed rate).", "",
    ]

    runs = sum(i.runs for i in s.correct)
    failed = sum(i.failed for i in s.correct)
    lines += ["### Whole suite (one spec's report under one seed)", ""]
    lines += _table(("", "value"), [
        ("claimed false-positive rate per report", f"<= {SUITE_FALSE_POSITIVE_RATE:.0e} "
         "(statistical checks, Bonferroni); 0 for exact checks"),
        ("reports of correct implementations", str(runs)),
        ("failing reports (false failures)", str(failed)),
        ("95% upper bound per report", _rate(upper_bound(failed, runs))),
        ("95% upper bound per reference report",
         _rate(upper_bound(*_sum_kind(s.correct, "reference")))),
    ])
    lines += [""]

    lines += ["### Per correct implementation", ""]
    rows = [(i.item.name if i.item.kind == "rewrite" else f"reference `{i.item.name}`",
             i.item.spec, f"{i.item.weight:g}", str(i.runs), str(i.failed),
             _rate(upper_bound(i.failed, i.runs)), f"{i.wall / max(i.runs, 1):.2f}")
            for i in s.correct]
    lines += _table(("implementation", "spec", "weight", "seeds", "failing reports",
                     "95% upper bound", "s / check()"), rows)
    lines += [""]

    lines += ["### Mutant detection", ""]
    rows = []
    for m in s.mutants:
        others = sorted((k for k in m.fired if k != m.item.catches), key=lambda k: -m.fired[k])
        p = "-" if not m.named_p else _p(max(m.named_p))
        rows.append((m.item.name, m.item.spec, f"`{m.item.catches}`",
                     _pct(m.caught, m.runs), _pct(m.failed, m.runs),
                     f"{lower_bound(m.caught, m.runs):.3f}", p,
                     ", ".join(f"{k} ({m.fired[k]})" for k in others[:3]) or "-"))
    lines += _table(("mutant", "spec", "named check", "caught by named check", "report fails",
                     "95% lower bound", "max p (named)", "other checks fired (seeds)"), rows)
    caught = sum(m.caught for m in s.mutants)
    total = sum(m.runs for m in s.mutants)
    lines += ["", f"All mutants: caught by their named check in {_pct(caught, total)} of "
              f"(mutant, seed) runs. 95% lower bound: one-sided Clopper-Pearson on one "
              "mutant's per-seed detection rate; max p (named): the largest p-value of a "
              "statistical named check over the seeds.", ""]

    lines += ["### Where the time goes", ""]
    total_s = sum(s.clause_seconds.values())
    top = sorted(s.clause_seconds.items(), key=lambda kv: -kv[1])
    rows = [(f"`{c}`", f"{sec:.0f}", f"{100 * sec / total_s:.1f}%") for c, sec in top[:8]]
    lines += _table(("check clause", "CPU s (all runs)", "share"), rows)
    n_checks = sum(i.runs for i in [*s.correct, *s.mutants])
    lines += ["", f"{n_checks} check() calls, {total_s:.0f} CPU s in checks "
              f"({total_s / max(n_checks, 1):.2f} s per call); wall time {s.wall:.0f} s "
              f"with {s.jobs} worker process(es)."]

    missed = [c for c in s.clauses if c.examples]
    esc = [m for m in s.mutants if m.examples]
    if missed or esc:
        lines += ["", "### Misses", ""]
        for c in missed:
            lines += [f"- false failure `{c.clause}`: {e}" for e in c.examples]
        for m in esc:
            lines += [f"- escape `{m.item.name}` ({m.item.catches}): {e}" for e in m.examples]
    return "\n".join(lines) + "\n"


def _sum_kind(stats_: Sequence[ItemStats], kind: str) -> tuple[int, int]:
    chosen = [i for i in stats_ if i.item.kind == kind]
    return sum(i.failed for i in chosen), sum(i.runs for i in chosen)


def _machine() -> str:
    return f"{cpu_model()}, {cpu_cores()} CPU cores, {platform.system()}"


def _progress(every: float = 15.0) -> Callable[[int, int, float], None]:
    last = [-math.inf]

    def report(done: int, total: int, elapsed: float) -> None:
        if done == total or elapsed - last[0] >= every:
            last[0] = elapsed
            left = (f", ~{elapsed / done * (total - done):.0f} s left"
                    if done >= min(total, 50) else "")
            print(f"[stability] {done}/{total} check() calls, {elapsed:.0f} s elapsed{left}",
                  file=sys.stderr, flush=True)

    return report


def _selector(patterns: Sequence[str] | None) -> Callable[[Item], bool] | None:
    if not patterns:
        return None

    def select(it: Item) -> bool:
        return any(fnmatch.fnmatchcase(it.name, p) or fnmatch.fnmatchcase(f"{it.kind}:{it.name}", p)
                   for p in patterns)

    return select


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.stability",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=200, help="number of seeds (default 200)")
    parser.add_argument("--first-seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="worker processes (default: os.cpu_count())")
    parser.add_argument("--out", help="also write the markdown tables to this file")
    parser.add_argument("--only", action="append", metavar="GLOB",
                        help="only items whose name (or kind:name) matches; repeatable")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.jobs < 1:
        parser.error("--seeds and --jobs must be >= 1")
    select = _selector(args.only)
    if select is not None and not any(select(it) for it in _items()):
        parser.error(f"--only {' '.join(args.only)}: no reference, rewrite or mutant matches")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    started = _dt.datetime.now().astimezone()
    t0 = time.perf_counter()
    chosen, records = run(seeds, jobs=args.jobs, select=select,
                          progress=_progress())
    wall = time.perf_counter() - t0
    summary = summarise(chosen, records, seeds, wall=wall, jobs=args.jobs)
    cmd = "python -m conformance.stability " + " ".join(argv if argv is not None
                                                        else sys.argv[1:])
    head = [
        f"Command: `{cmd.strip()}`; started {started:%Y-%m-%d %H:%M %Z}; "
        f"machine: {_machine()}; torch {torch.__version__}, Python "
        f"{platform.python_version()}; {args.jobs} worker process(es), 1 torch thread each; "
        f"wall time {wall:.0f} s ({wall / 60:.1f} min).", "",
    ]
    text = "\n".join(head) + "\n" + render(summary)
    verdict = ("all targets met" if summary.ok else
               f"TARGETS MISSED: {summary.false_failures} false failures, "
               f"{summary.escapes} (mutant, seed) escapes")
    text += f"\nVerdict: {verdict}.\n"
    print(text, end="")
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    return 0 if summary.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
