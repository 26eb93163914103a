"""Benchmark results as JSON (every number) and as markdown tables (the comparison)."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gp_spec.benchmark.agreement import Agreement, Tolerance
from gp_spec.benchmark.runner import Case, CaseResult, VariantResult
from gp_spec.benchmark.timing import Summary

__all__ = [
    "case_from", "finite", "from_json", "markdown", "read_json", "summary_from", "to_json",
    "variant_from", "write_json", "write_markdown",
]


def finite(obj: object) -> object:
    """JSON-safe copy: NaN and inf become None, tuples lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite(v) for v in obj]
    return obj


def to_json(results: Sequence[CaseResult], meta: Mapping[str, object]) -> dict[str, object]:
    """``{"meta": ..., "cases": [...]}``: every variant's check, times (raw samples included),
    ratios and memory."""
    cases = [dataclasses.asdict(r) for r in results]
    return {"meta": finite(meta), "cases": finite(cases)}


def write_json(path: str | Path, results: Sequence[CaseResult], meta: Mapping[str, object]) -> None:
    """Write :func:`to_json` to ``path`` (parents created)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(to_json(results, meta), indent=2) + "\n")


def summary_from(d: Mapping[str, Any] | None) -> Summary | None:
    if d is None:
        return None
    nan = float("nan")
    extremes = {k: nan if d.get(k) is None else float(d[k]) for k in ("min", "max")}
    return Summary(d["median"], d["q1"], d["q3"], d["n"], extremes["min"], extremes["max"],
                   tuple(d.get("samples", ())))


def case_from(d: Mapping[str, Any]) -> Case:
    """A :class:`Case`; files written before ``amp`` existed timed bfloat16 under autocast."""
    amp = d.get("amp", d.get("dtype", "float32") != "float32")
    shape = d.get("event_shape")
    return Case(d["critic"], d["batch"], d.get("dtype", "float32"), bool(amp),
                None if shape is None else tuple(shape))


def _agreement(d: Mapping[str, Any] | None) -> Agreement | None:
    if d is None:
        return None
    def error(key: str) -> float:
        return float("nan") if d[key] is None else float(d[key])

    return Agreement(d["ok"], error("penalty_error"), error("grad_error"),
                     Tolerance(**d["tolerance"]), d["error"])


def variant_from(d: Mapping[str, Any]) -> VariantResult:
    return VariantResult(
        d["name"], d["kind"], d["description"], d["status"], _agreement(d["agreement"]),
        summary_from(d["ms"]), summary_from(d["vs_plain"]), d["peak_mib"],
    )


def from_json(data: Mapping[str, Any]) -> tuple[list[CaseResult], dict[str, object]]:
    """The results and meta of :func:`to_json`'s output (NaN errors come back as NaN)."""
    cases = [
        CaseResult(
            case_from(c["case"]), tuple(c["event_shape"]),
            tuple(variant_from(v) for v in c["variants"]),
            {k: summary_from(s) for k, s in c.get("ratios", c.get("speedups", {})).items()},
            int(c.get("steps", 1)),
        )
        for c in data["cases"]
    ]
    return cases, dict(data["meta"])


def read_json(path: str | Path) -> tuple[list[CaseResult], dict[str, object]]:
    """:func:`from_json` of the file at ``path``."""
    data: dict[str, Any] = json.loads(Path(path).read_text())
    return from_json(data)


def _ms(x: float) -> str:
    """Milliseconds with 3-4 significant digits and no exponent."""
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def _time_cell(v: VariantResult) -> str:
    if v.ms is None:
        return "not timed"
    ratio = "" if v.vs_plain is None or v.name == "plain" else f" ({v.vs_plain.median:.2f}x)"
    return f"{_ms(v.ms.median)}{ratio}"


def _speedup_cell(s: Summary | None) -> str:
    return "n/a" if s is None else f"{s.median:.2f}"


def _memory_cell(v: VariantResult) -> str:
    return "n/a" if v.peak_mib is None else f"{v.peak_mib:.1f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _names(results: Sequence[CaseResult]) -> list[str]:
    names: list[str] = []
    for r in results:
        names += [v.name for v in r.variants if v.name not in names]
    return names


def _label(name: str, results: Sequence[CaseResult]) -> str:
    """Column label; a variant that is a different estimator is marked with ``*``."""
    kinds = {v.kind for r in results for v in r.variants if v.name == name}
    return f"{name}*" if "estimator" in kinds else name


def _dtype_section(dtype: str, results: Sequence[CaseResult]) -> list[str]:
    names = _names(results)
    speedups = list(results[0].ratios)
    labels = [_label(n, results) for n in names]
    time_rows, memory_rows, notes = [], [], []
    for r in results:
        by_name = {v.name: v for v in r.variants}
        key = [r.case.critic, str(r.case.batch)]
        missing = VariantResult("", "", "", "absent")
        cells = [by_name.get(n, missing) for n in names]
        rounds = min((v.ms.n for v in r.variants if v.ms is not None), default=0)
        time_rows.append(key + [_time_cell(v) for v in cells]
                         + [_speedup_cell(r.ratios.get(s)) for s in speedups]
                         + [f"{rounds} x {r.steps}"])
        memory_rows.append(key + [_memory_cell(v) for v in cells])
        notes += [f"- {r.case.critic} / {r.case.batch} / {v.name}: {v.status}"
                  for v in r.variants if v.status != "timed"]
    lines = [f"### {dtype}: ms per critic step (x plain)", ""]
    lines += _table(["critic", "batch", *labels, *speedups, "rounds x steps"], time_rows)
    lines += ["", f"### {dtype}: peak memory of one step above resident (MiB)", ""]
    lines += _table(["critic", "batch", *labels], memory_rows)
    if notes:
        lines += ["", "Not timed:", "", *notes]
    return lines


def markdown(results: Sequence[CaseResult], meta: Mapping[str, object]) -> str:
    """Markdown: a header from ``meta``, then per dtype a time table and a memory table.

    Time cells are the median ms per training step over the interleaved rounds, with the
    median per-round ratio to ``plain`` in parentheses; ``a/b`` columns are median per-round
    time ratios (above 1: ``b`` is faster). ``*`` marks a different estimator (amortised).
    """
    head = ", ".join(f"{k}: {v}" for k, v in meta.items())
    lines = [f"Benchmark of one WGAN-GP critic training step ({head}).", ""]
    for precision in dict.fromkeys(r.case.precision for r in results):
        lines += [*_dtype_section(precision,
                                  [r for r in results if r.case.precision == precision]), ""]
    lines += [
        "Cells: median ms per step over interleaved rounds (median per-round ratio to plain); "
        "each round times `steps` consecutive steps of every variant after a barrier. "
        "`a/b`: median per-round time ratio, above 1 means b is faster. `*`: lazy "
        "regularisation, a different estimator, amortised over its cycle and not checked "
        "equal. Every other variant was checked equal to `reference` (penalty value and "
        "parameter gradients) before it was timed.",
    ]
    return "\n".join(lines) + "\n"


def write_markdown(
    path: str | Path, results: Sequence[CaseResult], meta: Mapping[str, object]
) -> None:
    """Write :func:`markdown` to ``path`` (parents created)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown(results, meta))
