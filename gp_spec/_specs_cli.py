"""``gp-spec specs``: list every spec with its weight, citation and checks.

``gp-spec specs --markdown`` prints the check catalogue table of ``docs/conformance.md``.
"""

from __future__ import annotations

import argparse

__all__ = ["catalogue_markdown", "configure", "run"]


def catalogue_markdown() -> str:
    """The catalogue as a markdown table: clause, what it enforces, specs, source, FPR."""
    from gp_spec.conformance.checks import CATALOGUE, statistical_rate
    from gp_spec.specs import SPECS

    lines = [
        "| check clause | what it enforces / catches | establishes | specs | source | "
        "false-positive rate |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c in CATALOGUE:
        specs = [s for s in SPECS.values() if c.applies(s)]
        names = "all" if len(specs) == len(SPECS) else ", ".join(s.name for s in specs)
        if c.statistical:
            rates = sorted({statistical_rate(s) for s in specs})
            fpr = " / ".join(f"{r:.1e}" for r in rates) + " (Bonferroni share of 1e-6)"
        else:
            fpr = "0 (exact, deterministic)"
        summary = c.summary.replace("|", "\\|")
        how = "observed" if c.observes == "direct" else "through values"
        est = (", ".join(c.establishes) + f" ({how})") if c.establishes else "-"
        lines.append(f"| `{c.clause}` | {summary} | {est} | {names} | {c.citation} | {fpr} |")
    return "\n".join(lines) + "\n"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checks", action="store_true", help="also list each spec's checks")
    parser.add_argument("--markdown", action="store_true", help="print the catalogue table")


def run(args: argparse.Namespace) -> int:
    from gp_spec.conformance.checks import checks_for
    from gp_spec.specs import SPECS

    if args.markdown:
        print(catalogue_markdown(), end="")
        return 0
    for spec in SPECS.values():
        print(f"{spec.name:<16} weight {spec.default_weight:<4g} {spec.citation}")
        print(f"{'':<16} {spec.paper_constant}")
        if args.checks:
            for c in checks_for(spec):
                print(f"    {c.id_for(spec)}")
    return 0
