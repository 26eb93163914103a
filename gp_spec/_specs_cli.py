"""``gp-spec specs``: list every spec with its weight, citation and checks."""

from __future__ import annotations

import argparse

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checks", action="store_true", help="also list each spec's checks")


def run(args: argparse.Namespace) -> int:
    from gp_spec.conformance import checks_for
    from gp_spec.specs import SPECS

    for spec in SPECS.values():
        print(f"{spec.name:<16} weight {spec.default_weight:<4g} {spec.citation}")
        if args.checks:
            for c in checks_for(spec):
                print(f"    {c.id_for(spec)}")
    return 0
