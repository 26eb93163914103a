"""Reports of :func:`gp_spec.benchmark.bench_penalty`: JSON (every number, raw samples),
Markdown (verdict and ratios side by side) and a PNG bar chart (matplotlib, imported here only).
"""

from __future__ import annotations

import dataclasses
import json
import re
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gp_spec.benchmark.report import case_from, finite, summary_from, variant_from
from gp_spec.benchmark.runner import CaseResult, VariantResult
from gp_spec.benchmark.timing import Summary

if TYPE_CHECKING:
    from gp_spec.benchmark.penalty import BenchResult

__all__ = ["default_stem", "figure", "from_dict", "markdown", "png", "to_dict", "write"]

STEPS = ("plain", "reference", "user")


def to_dict(result: BenchResult) -> dict[str, Any]:
    """``{"implementation", "spec", "weight", "verdict", "meta", "cases": [...]}``."""
    verdict = None if result.verdict is None else {
        **dataclasses.asdict(result.verdict), "label": result.verdict.label}
    cases = [dataclasses.asdict(c) for c in result.cases]
    out = {"implementation": result.implementation, "spec": result.spec,
           "weight": result.weight, "verdict": verdict, "meta": result.meta, "cases": cases}
    cleaned: dict[str, Any] = finite(out)  # type: ignore[assignment]
    return cleaned


def from_dict(data: dict[str, Any]) -> BenchResult:
    """The :class:`~gp_spec.benchmark.penalty.BenchResult` of :func:`to_dict`'s output (for
    re-rendering saved results)."""
    from gp_spec.benchmark.penalty import BenchResult, Verdict

    v = data.get("verdict")
    verdict = None if v is None else Verdict(bool(v["passed"]), tuple(v["failed"]),
                                             dict(v["counts"]), v.get("error"))
    cases = tuple(
        CaseResult(case_from(c["case"]), tuple(c["event_shape"]),
                   tuple(variant_from(x) for x in c["variants"]),
                   {k: summary_from(s) for k, s in c["ratios"].items()}, int(c["steps"]))
        for c in data["cases"]
    )
    return BenchResult(data["implementation"], data["spec"], float(data["weight"]), verdict,
                       cases, dict(data["meta"]))


def _ms(s: Summary | None) -> str:
    if s is None:
        return "not timed"
    return f"{s.median:.3g} [{s.min:.3g}, {s.max:.3g}]"


def _ratio(s: Summary | None) -> str:
    return "n/a" if s is None else f"{s.median:.2f}x [{s.min:.2f}, {s.max:.2f}]"


def _mib(v: VariantResult) -> str:
    return "n/a" if v.peak_mib is None else f"{v.peak_mib:.1f}"


def _verdict_cell(result: BenchResult) -> str:
    v = result.verdict
    if v is None:
        return "not checked"
    return "**PASS**" if v.passed and v.error is None else f"**{v.label}**"


def _row(result: BenchResult, c: CaseResult) -> list[str]:
    steps = [c.variant(n) for n in STEPS]
    rounds = min((v.ms.n for v in steps if v.ms is not None), default=0)
    return [c.case.critic, str(c.case.batch), c.case.precision,
            *(_ms(v.ms) for v in steps),
            *(_ratio(c.ratios.get(f"{a}/{b}")) for a, b in
              (("user", "plain"), ("reference", "plain"), ("user", "reference"))),
            _verdict_cell(result), " / ".join(_mib(v) for v in steps),
            f"{rounds} x {c.steps}"]


def markdown(result: BenchResult) -> str:
    """The verdict, one row per case, the notes of what was not timed, and the meta."""
    head = ["critic", "batch", "precision", "plain ms", "reference ms", "user ms",
            "user/plain", "reference/plain", "user/reference", "conformance",
            "peak MiB plain / ref / user", "rounds x steps"]
    lines = [
        f"# `{result.implementation}` against `{result.spec}` (weight {result.weight:g})", "",
        f"Conformance verdict of the implementation: {_verdict_cell(result)}"
        + ("" if result.verdict is None or result.verdict.error else
           f" ({_counts(result)})"), "",
        "| " + " | ".join(head) + " |", "|" + "---|" * len(head),
        *("| " + " | ".join(_row(result, c)) + " |" for c in result.cases), "",
    ]
    notes = [f"- {c.case.critic} / {c.case.batch} / {c.case.precision} / {v.name}: {v.status}"
             for c in result.cases for v in c.variants if v.status != "timed"]
    if notes:
        lines += ["Not timed:", "", *notes, ""]
    lines += [
        "Times: ms per critic training step (zero_grad, loss, backward, Adam), median "
        "[min, max] over interleaved rounds; ratios: median [min, max] of per-round ratios, "
        "measured side by side in one process. `plain`: the Wasserstein critic loss only; "
        "`reference`: plus `gp_spec.SPECS[spec].bind(weight)`; `user`: plus the "
        "implementation. A ratio of an implementation that fails conformance is not a win.",
        "", "Run: " + ", ".join(f"{k}: {v}" for k, v in result.meta.items()), "",
    ]
    return "\n".join(lines)


def _counts(result: BenchResult) -> str:
    counts = {} if result.verdict is None else result.verdict.counts
    return ", ".join(f"{n} {k}" for k, n in counts.items() if n)


def png(result: BenchResult, path: str | Path) -> None:
    """Grouped bars (plain, reference, user) of median ms per step per case, whiskers from
    min to max, the ratios over each group, the verdict in the title."""
    fig = figure(result)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)


def figure(result: BenchResult) -> Any:
    """The matplotlib ``Figure`` :func:`png` saves (no pyplot: no global backend state)."""
    from matplotlib.figure import Figure

    failed = result.verdict is not None and not (result.verdict.passed
                                                 and result.verdict.error is None)
    colours = {"plain": "#9e9e9e", "reference": "#1f77b4",
               "user": "#d62728" if failed else "#2ca02c"}
    labels = {"plain": "plain", "reference": "reference",
              "user": "user (FAILS conformance)" if failed else "user"}
    n = len(result.cases)
    fig = Figure(figsize=(max(6.0, 2.6 * n + 1.0), 5.0))
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, c in zip(axes, result.cases, strict=True):  # one panel per case: its own scale
        for j, name in enumerate(STEPS):
            s = c.variant(name).ms
            if s is None:
                ax.text(j, 0, "not timed", rotation=90, ha="center", va="bottom", fontsize=7)
                continue
            ax.bar([j], [s.median], 0.8, yerr=[[s.median - s.min], [s.max - s.median]],
                   capsize=3, color=colours[name], label=labels[name],
                   hatch="//" if name == "user" and failed else None)
        ax.set_xticks([])
        ax.set_xlabel(f"{c.case.critic}, batch {c.case.batch}\n{c.case.precision}", fontsize=8)
        ax.set_ylim(top=ax.get_ylim()[1] * 1.3)
        ax.set_title("\n".join(f"{k} {_short(c.ratios.get(k))}" for k in
                               ("user/plain", "reference/plain", "user/reference")),
                     fontsize=7)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("ms per critic step (median, min-max)", fontsize=8)
    verdict = "not checked" if result.verdict is None else result.verdict.label
    title = [*textwrap.wrap(f"{result.implementation} vs {result.spec} "
                            f"(weight {result.weight:g})", 64),
             *textwrap.wrap(f"conformance: {_clip(verdict, 180)}", 64),
             f"{result.meta.get('device', '')}, torch {result.meta.get('torch', '')}"]
    fig.suptitle("\n".join(title), fontsize=9, color="#b00000" if failed else "black")
    handles = {h.get_label(): h for ax in axes for h in ax.get_legend_handles_labels()[0]}
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=3,
               fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig




def _short(s: Summary | None) -> str:
    return "n/a" if s is None else f"{s.median:.2f}x"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def default_stem(result: BenchResult) -> str:
    """``<attr>-<spec>-<device type>``, filesystem-safe."""
    attr = result.implementation.rsplit(":", 1)[-1]
    device = str(result.meta.get("device type", "")) or "run"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{attr}-{result.spec}-{device}")


def write(result: BenchResult, directory: str | Path | None = None, *,
          json: str | Path | None = None, markdown: str | Path | None = None,
          png: str | Path | None = None) -> list[Path]:
    """Write the reports asked for (see :meth:`BenchResult.write`); returns their paths."""
    paths: dict[str, Path] = {}
    if directory is not None:
        stem = Path(directory) / default_stem(result)
        paths = {k: stem.with_suffix(f".{k}") for k in ("json", "md", "png")}
    for key, given in (("json", json), ("md", markdown), ("png", png)):
        if given is not None:
            paths[key] = Path(given)
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    if "json" in paths:
        paths["json"].write_text(_json_text(result))
    if "md" in paths:
        paths["md"].write_text(_render_markdown(result))
    if "png" in paths:
        _draw_png(result, paths["png"])
    return list(paths.values())


def _json_text(result: BenchResult) -> str:
    return json.dumps(to_dict(result), indent=2) + "\n"


_render_markdown = markdown  # ``write``'s keyword arguments shadow the public names
_draw_png = png
