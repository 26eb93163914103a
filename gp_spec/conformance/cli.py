"""``gp-spec conform MODULE:ATTR --spec NAME``: exit 0 conformant, 1 not, 2 usage error."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

from gp_spec.errors import GPSpecError

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``conform`` arguments to ``parser``."""
    parser.add_argument("target", nargs="?", default=None, metavar="MODULE:ATTR",
                        help="the implementation (dotted module or path/to/file.py), "
                        "or $GP_SPEC_IMPL")
    parser.add_argument("--spec", default=os.environ.get("GP_SPEC_SPEC"),
                        help="spec name from gp_spec.SPECS (e.g. wgan-gp)")
    parser.add_argument("--weight", type=float, default=None,
                        help="the implementation's weight (default: the spec's)")
    parser.add_argument("--adapter", default=None,
                        help="canonical | real-fake-critic | with-device | keywords | method:NAME")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per check")
    parser.add_argument("--checks", nargs="+", default=None, metavar="ID",
                        help="ids, clauses or glob patterns to run")
    parser.add_argument("--expect-fail", action="append", default=[], metavar="ID=REASON",
                        help="a check expected to fail, with the reason (repeatable)")
    parser.add_argument("--json", type=Path, default=None, help="write the report as JSON")
    parser.add_argument("--markdown", type=Path, default=None, help="write a markdown report")


def run(args: argparse.Namespace) -> int:
    """Run the catalogue and print the table; return the exit code."""
    from gp_spec.conformance._engine import check
    from gp_spec.conformance._loading import load_implementation

    target = args.target or os.environ.get("GP_SPEC_IMPL")
    if not target:
        print("gp-spec conform: error: give MODULE:ATTR or set GP_SPEC_IMPL", file=sys.stderr)
        return 2
    if not args.spec:
        print("gp-spec conform: error: --spec NAME is required", file=sys.stderr)
        return 2
    expected = {}
    for item in args.expect_fail:
        key, sep, reason = item.partition("=")
        if not sep or not key.strip() or not reason.strip():
            print(f"gp-spec conform: error: --expect-fail {item!r}: use ID=REASON (a check id "
                  "or clause, '=', and a non-empty reason)", file=sys.stderr)
            return 2
        expected[key.strip()] = reason.strip()
    for flag, path in (("--json", args.json), ("--markdown", args.markdown)):
        if path is not None and not path.parent.is_dir():
            print(f"gp-spec conform: error: {flag} {str(path)!r}: directory "
                  f"{str(path.parent)!r} does not exist", file=sys.stderr)
            return 2
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.filterwarnings("always", message="expected_failed_checks",
                                    category=UserWarning)
            impl = load_implementation(target)
            report = check(impl, args.spec, weight=args.weight, device=args.device,
                           seed=args.seed, checks=args.checks, expected_failed_checks=expected,
                           timeout=args.timeout, adapter=args.adapter, label=target)
    except (GPSpecError, ValueError) as exc:
        print(f"gp-spec conform: error: {exc}", file=sys.stderr)
        return 2
    for w in caught:
        if issubclass(w.category, UserWarning) and "expected_failed_checks" in str(w.message):
            print(f"gp-spec conform: warning: {w.message}", file=sys.stderr)
        else:  # anything else (e.g. the implementation's own warnings): as Python shows it
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    print(report.to_text())
    try:
        if args.json:
            args.json.write_text(report.to_json())
        if args.markdown:
            args.markdown.write_text(report.to_markdown())
    except OSError as exc:
        print(f"gp-spec conform: error: cannot write the report: {exc}", file=sys.stderr)
        return 2
    return 0 if report.passed else 1


def main(argv: list[str] | None = None) -> int:
    """``gp-spec conform`` alone; returns the exit code (2 for argparse usage errors too)."""
    parser = argparse.ArgumentParser(prog="gp-spec conform")
    configure(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage and the error
        return exc.code if isinstance(exc.code, int) else 2
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
