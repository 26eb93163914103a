"""Structured results of a conformance run: ``CheckResult`` per check, one ``Report``.

Statuses (SPEC §6; docs/conformance.md, "Verdicts"):

- ``pass``: the check established its clauses;
- ``warn``: a deviation that cannot change what training computes (e.g. gradient reaching the
  real data batch): shown and counted, failing the report only with ``strict``;
- ``fail``: the implementation breaks the clause;
- ``error``: it raised, hung or returned something unusable (or, labelled as such, gp-spec
  itself failed: never blamed on the implementation);
- ``skip``: not applicable here (no CUDA, not in this domain, not observable), with the reason.

**Skip is not pass**: CONFORMANT needs no unexpected fail or error, no warning under
``strict``, and every applicable clause of the spec established by some passing check,
directly or through values.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

__all__ = ["Cause", "CheckResult", "Report", "Status"]

Status = Literal["pass", "warn", "fail", "error", "skip"]


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check.

    Attributes:
      id: stable check id ``<spec>.<clause>``, e.g. ``wgan-gp.norm.all-event-dims``.
      status: ``pass``, ``warn``, ``fail``, ``error`` or ``skip`` (module docstring).
      message: measured vs expected values, in the form
        ``<impl>: <observed>, but should be <expected> [source]``.
      citation: the equation the clause comes from.
      p_value: for statistical checks, the (Bonferroni-adjusted) p-value; else None.
      threshold: for statistical checks, the false-positive rate the check rejects at.
      repro: a runnable Python line that re-runs exactly this check.
      expected_failure: the user's reason if the id was listed in ``expected_failed_checks``.
      seconds: wall time of the check.
      cause: a key shared by results with the same root cause (see ``Report.causes``).
      establishes: the spec clauses the check establishes when it passes.
      observes: ``direct`` or ``values``.
      engine_error: the error is gp-spec's own, not the implementation's.
      ratio: measured / expected, when the check compared a value with its closed form.
    """

    id: str
    status: Status
    message: str
    citation: str
    p_value: float | None = None
    threshold: float | None = None
    repro: str = ""
    expected_failure: str | None = None
    seconds: float = 0.0
    cause: str | None = None
    establishes: tuple[str, ...] = ()
    observes: str = "values"
    engine_error: bool = False
    ratio: float | None = None

    @property
    def ok(self) -> bool:
        """True unless the check failed or errored without being expected to (a warning is
        ok here; ``Report.passed`` decides what ``strict`` makes of it)."""
        return self.status in ("pass", "warn", "skip") or self.expected_failure is not None


@dataclass(frozen=True)
class Cause:
    """One root cause behind several results, with its fix."""

    title: str
    fix: str
    checks: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    """All results of one ``check(impl, spec, ...)`` call.

    Attributes:
      implementation, spec, weight, device, seed: what was checked, and how.
      results: one per check.
      versions: library versions.
      domain: the input domain the checks ran in, and how it was chosen (SPEC §6).
      convention: how the implementation was called (adapter, or inferred from its
        signature).
      causes: root causes of the failures, most frequent first (one message per cause).
      clauses: every applicable spec clause -> ``"direct"`` (established by observation),
        ``"values"`` (only through penalty values), ``"waived"`` (only by expected
        failures) or ``"not established"``.
      strict: warnings fail the report.
    """

    implementation: str
    spec: str
    weight: float
    device: str
    seed: int
    results: tuple[CheckResult, ...] = field(default_factory=tuple)
    versions: dict[str, str] = field(default_factory=dict)
    domain: str = ""
    convention: str = ""
    causes: tuple[Cause, ...] = ()
    clauses: dict[str, str] = field(default_factory=dict)
    strict: bool = False

    @property
    def passed(self) -> bool:
        """The verdict: CONFORMANT (module docstring)."""
        if not all(r.ok for r in self.results):
            return False
        if self.strict and any(r.status == "warn" and r.expected_failure is None
                               for r in self.results):
            return False
        return all(v != "not established" for v in self.clauses.values())

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        """Results that make the report fail (fail or error, not expected; warnings when
        ``strict``)."""
        return tuple(r for r in self.results if not r.ok
                     or (self.strict and r.status == "warn" and r.expected_failure is None))

    @property
    def unestablished(self) -> tuple[str, ...]:
        """Applicable clauses no passing check established."""
        return tuple(k for k, v in self.clauses.items() if v == "not established")

    def counts(self) -> dict[str, int]:
        """Number of results per status, and of clauses by how they were established."""
        out = {"pass": 0, "warn": 0, "fail": 0, "error": 0, "skip": 0}
        for r in self.results:
            out[r.status] += 1
        out["run"] = out["pass"] + out["warn"] + out["fail"] + out["error"]
        out["clauses_direct"] = sum(v == "direct" for v in self.clauses.values())
        out["clauses_values_only"] = sum(v == "values" for v in self.clauses.values())
        out["clauses_not_established"] = len(self.unestablished)
        return out

    def verdict(self) -> str:
        return "CONFORMANT" if self.passed else "NOT CONFORMANT"

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON (``passed``, ``verdict`` and ``counts`` included)."""
        payload = asdict(self)
        payload["passed"] = self.passed
        payload["verdict"] = self.verdict()
        payload["counts"] = self.counts()
        return json.dumps(payload, indent=indent)

    def header(self) -> list[str]:
        lines = [
            f"gp-spec conform {self.implementation} --spec {self.spec} "
            f"(weight {self.weight:g}, device {self.device}, seed {self.seed})",
        ]
        if self.domain:
            lines.append(f"  domain: {self.domain}")
        if self.convention:
            lines.append(f"  called as: {self.convention}")
        return lines

    def lead(self) -> list[str]:
        """The root causes, one message each, before the table."""
        lines = []
        for k, c in enumerate(self.causes, 1):
            ids = ", ".join(i.split(".", 1)[1] for i in c.checks[:6]) + (
                f" and {len(c.checks) - 6} more" if len(c.checks) > 6 else "")
            lines.append(f"  cause {k} ({len(c.checks)} check{'s' * (len(c.checks) > 1)}: "
                         f"{ids}): {c.title}")
            if c.fix:
                lines.append(f"      fix: {c.fix}")
        return lines

    def line(self, r: CheckResult, width: int = 40) -> list[str]:
        """One check's line(s) in the terminal table."""
        mark = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "error": "ERR ", "skip": "skip"}
        tag = mark[r.status] + ("*" if r.expected_failure else " ")
        out = [f"  {tag} {r.id:<{width}}  {r.seconds * 1000:7.0f} ms"]
        cause = self._cause_index(r)
        if r.status != "pass" and r.message:
            out.append(f"          see cause {cause}" if cause else f"          {r.message}")
        if r.expected_failure:
            out.append(f"          (expected to fail: {r.expected_failure})")
        return out

    def _cause_index(self, r: CheckResult) -> int | None:
        for k, c in enumerate(self.causes, 1):
            if r.id in c.checks and len(c.checks) > 1:
                return k
        return None

    def summary(self) -> list[str]:
        c = self.counts()
        lines = [
            f"{self.verdict()}: {c['pass']} passed, {c['warn']} warnings, {c['fail']} failed, "
            f"{c['error']} errors, {c['skip']} skipped; clauses: {c['clauses_direct']} "
            f"observed, {c['clauses_values_only']} only through values, "
            f"{c['clauses_not_established']} not established"
        ]
        if self.unestablished:
            lines.append("  not established (no passing check): " + ", ".join(
                self.unestablished) + " (skip is not pass)")
        if self.strict and c["warn"]:
            lines.append("  --strict: warnings fail the report")
        shown = self.failures[:3]
        for r in shown:
            lines.append(f"  repro {r.id}: {r.repro}")
        if len(self.failures) > len(shown):
            lines.append(f"  ({len(self.failures) - len(shown)} more repro lines in the JSON "
                         "report: --json)")
        return lines

    def to_text(self) -> str:
        """The terminal report: header, root causes, one line per check, verdict."""
        width = max((len(r.id) for r in self.results), default=10)
        lines = self.header()
        lead = self.lead()
        if lead:
            lines += ["  root causes:", *lead]
        for r in self.results:
            lines += self.line(r, width)
        return "\n".join(lines + self.summary())

    def to_markdown(self) -> str:
        """A markdown table: one row per check, then the causes and failures in full."""
        c = self.counts()
        lines = [
            f"## gp-spec conformance: {self.verdict()}",
            "",
            f"- implementation: `{self.implementation}`",
            f"- spec: `{self.spec}`, weight {self.weight:g}, device {self.device}, "
            f"seed {self.seed}",
            f"- domain: {self.domain}",
            f"- called as: {self.convention}",
            f"- {c['pass']} passed, {c['warn']} warnings, {c['fail']} failed, {c['error']} "
            f"errors, {c['skip']} skipped",
            "",
        ]
        if self.causes:
            lines += ["### Root causes", ""]
            for k, cause in enumerate(self.causes, 1):
                lines.append(f"{k}. {cause.title} ({len(cause.checks)} checks)"
                             + (f" Fix: {cause.fix}" if cause.fix else ""))
            lines.append("")
        lines += ["| check | status | p-value | citation |", "| --- | --- | --- | --- |"]
        for r in self.results:
            p = "" if r.p_value is None else f"{r.p_value:.2e}"
            status = r.status + (" (expected)" if r.expected_failure and not r.ok else "")
            lines.append(f"| `{r.id}` | {status} | {p} | {r.citation} |")
        bad = [r for r in self.results if r.status in ("fail", "error", "warn")]
        if bad:
            lines += ["", "### Failures and warnings", ""]
            for r in bad:
                lines += [f"- **{r.id}** ({r.status}): {r.message}", f"  `{r.repro}`"]
        return "\n".join(lines) + "\n"
