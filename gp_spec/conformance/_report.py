"""Structured results of a conformance run: ``CheckResult`` per check, one ``Report``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

__all__ = ["CheckResult", "Report", "Status"]

Status = Literal["pass", "fail", "error", "skip"]


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check.

    Attributes:
      id: stable check id ``<spec>.<clause>``, e.g. ``wgan-gp.norm.all-event-dims``.
      status: ``"pass"``, ``"fail"`` (the implementation breaks the clause), ``"error"`` (it
        raised, hung or returned something unusable) or ``"skip"`` (not applicable here).
      message: measured vs expected values, in the form
        ``<impl>: <observed>, but should be <expected> [source]``.
      citation: the equation the clause comes from.
      p_value: for statistical checks, the (Bonferroni-adjusted) p-value; else None.
      threshold: for statistical checks, the false-positive rate the check rejects at.
      repro: a Python snippet that re-runs exactly this check.
      expected_failure: the user's reason if the id was listed in ``expected_failed_checks``.
      seconds: wall time of the check.
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

    @property
    def ok(self) -> bool:
        """True unless the check failed or errored without being expected to."""
        return self.status in ("pass", "skip") or self.expected_failure is not None


@dataclass(frozen=True)
class Report:
    """All results of one ``check(impl, spec, ...)`` call.

    ``passed`` is True when every result is ``pass`` or ``skip`` (or an expected failure).
    """

    implementation: str
    spec: str
    weight: float
    device: str
    seed: int
    results: tuple[CheckResult, ...] = field(default_factory=tuple)
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        """Results that make the report fail (fail or error, not expected)."""
        return tuple(r for r in self.results if not r.ok)

    def counts(self) -> dict[str, int]:
        """Number of results per status."""
        out = {"pass": 0, "fail": 0, "error": 0, "skip": 0}
        for r in self.results:
            out[r.status] += 1
        return out

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON (``passed`` and ``counts`` included)."""
        payload = asdict(self)
        payload["passed"] = self.passed
        payload["counts"] = self.counts()
        return json.dumps(payload, indent=indent)

    def to_markdown(self) -> str:
        """A markdown table: one row per check, then the failures in full."""
        verdict = "PASS" if self.passed else "FAIL"
        c = self.counts()
        lines = [
            f"## gp-spec conformance: {verdict}",
            "",
            f"- implementation: `{self.implementation}`",
            f"- spec: `{self.spec}`, weight {self.weight:g}, device {self.device}, "
            f"seed {self.seed}",
            f"- {c['pass']} passed, {c['fail']} failed, {c['error']} errors, {c['skip']} skipped",
            "",
            "| check | status | p-value | citation |",
            "| --- | --- | --- | --- |",
        ]
        for r in self.results:
            p = "" if r.p_value is None else f"{r.p_value:.2e}"
            status = r.status + (" (expected)" if r.expected_failure and not r.ok else "")
            lines.append(f"| `{r.id}` | {status} | {p} | {r.citation} |")
        bad = [r for r in self.results if r.status in ("fail", "error")]
        if bad:
            lines += ["", "### Failures", ""]
            for r in bad:
                lines += [f"- **{r.id}** ({r.status}): {r.message}", f"  `{r.repro}`"]
        return "\n".join(lines) + "\n"

    def to_text(self) -> str:
        """A terminal table: status, id, time; the message under each check that did not pass."""
        mark = {"pass": "PASS", "fail": "FAIL", "error": "ERR ", "skip": "skip"}
        lines = [
            f"gp-spec conform {self.implementation} --spec {self.spec} "
            f"(weight {self.weight:g}, device {self.device}, seed {self.seed})",
        ]
        idw = max((len(r.id) for r in self.results), default=10)
        for r in self.results:
            tag = mark[r.status] + ("*" if r.expected_failure else " ")
            lines.append(f"  {tag} {r.id:<{idw}}  {r.seconds * 1000:7.0f} ms")
            if r.status != "pass" and r.message:
                lines.append(f"          {r.message}")
            if r.expected_failure:
                lines.append(f"          (expected to fail: {r.expected_failure})")
        c = self.counts()
        verdict = "CONFORMANT" if self.passed else "NOT CONFORMANT"
        lines.append(
            f"{verdict}: {c['pass']} passed, {c['fail']} failed, {c['error']} errors, "
            f"{c['skip']} skipped"
        )
        for r in self.failures:
            lines.append(f"  repro {r.id}: {r.repro}")
        return "\n".join(lines)
