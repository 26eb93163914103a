"""``gp-spec conform MODULE:ATTR --spec NAME``: exit 0 conformant, 1 not, 2 usage error.

The command survives its target: report paths are resolved before the implementation is
imported, the report is written to a duplicate of the original stdout file descriptor (an
implementation that closes ``sys.stdout`` or replaces it cannot hide it), the working
directory is restored after every call, a child forked by the implementation ends silently,
and the exit code is the verdict's even when the implementation leaves threads running.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

from gp_spec.conformance._flags import FLAGS
from gp_spec.errors import GPSpecError

__all__ = ["configure", "main", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``conform`` arguments to ``parser`` (the option flags from one table)."""
    parser.add_argument("target", nargs="?", default=None, metavar="MODULE:ATTR",
                        help="the implementation (dotted module or path/to/file.py), "
                        "or $GP_SPEC_IMPL")
    parser.add_argument("--spec", default=os.environ.get("GP_SPEC_SPEC"),
                        help="spec name from gp_spec.SPECS (e.g. wgan-gp)")
    for f in FLAGS:
        if f.kind == "bool":
            parser.add_argument(f.flag, action="store_true", default=False, help=f.help)
        else:
            conv = {"float": float, "int": int, "str": str}[f.kind]
            parser.add_argument(f.flag, type=conv, default=None, metavar=f.metavar,
                                help=f.help, choices=f.choices, dest=f.name)
    parser.add_argument("--checks", nargs="+", default=None, metavar="ID",
                        help="ids, clauses or glob patterns to run")
    parser.add_argument("--expect-fail", action="append", default=[], metavar="ID=REASON",
                        help="a check expected to fail, with the reason (repeatable)")
    parser.add_argument("--json", type=Path, default=None, help="write the report as JSON")
    parser.add_argument("--markdown", type=Path, default=None, help="write a markdown report")
    parser.add_argument("--quiet", action="store_true",
                        help="print only the checks that did not pass, the causes and the verdict")


class _Out:
    """Writes to a duplicate of the stdout file descriptor taken before the implementation
    is imported: what the implementation does to ``sys.stdout`` cannot hide the report."""

    def __init__(self) -> None:
        try:
            sys.stdout.flush()
            self.fd: int | None = os.dup(sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):  # no real fd (e.g. captured in tests)
            self.fd = None
        self.stream = sys.stdout

    def line(self, text: str) -> None:
        if self.fd is None:
            print(text, file=self.stream, flush=True)
            return
        try:
            os.write(self.fd, (text + "\n").encode("utf-8", "replace"))
        except OSError:
            pass

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _usage(message: str) -> int:
    print(f"gp-spec conform: error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace, *, exit_hard: bool = False) -> int:
    """Run the catalogue, printing each check as it finishes; return the exit code.

    ``exit_hard`` (the console script): end the process with the verdict's exit code even if
    the implementation left non-daemon threads running.
    """
    target = args.target or os.environ.get("GP_SPEC_IMPL")
    if not target:
        return _usage("give MODULE:ATTR or set GP_SPEC_IMPL")
    if not args.spec:
        return _usage("--spec NAME is required")
    expected = {}
    for item in args.expect_fail:
        key, sep, reason = item.partition("=")
        if not sep or not key.strip() or not reason.strip():
            return _usage(f"--expect-fail {item!r}: use ID=REASON (a check id or clause, '=', "
                          "and a non-empty reason)")
        expected[key.strip()] = reason.strip()
    paths: dict[str, Path | None] = {}
    for flag, path in (("--json", args.json), ("--markdown", args.markdown)):
        if path is not None:
            path = path.resolve()  # before the implementation can chdir
            if not path.parent.is_dir():
                return _usage(f"{flag} {str(path)!r}: directory {str(path.parent)!r} does "
                              "not exist")
        paths[flag] = path
    threads = set(threading.enumerate())
    out = _Out()
    try:
        code = _conform(args, target, expected, paths, out)
    finally:
        out.close()
    if exit_hard and any(t.is_alive() and not t.daemon for t in
                         set(threading.enumerate()) - threads):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # the implementation's threads must not keep the process (or code)
    return code


def _conform(args: argparse.Namespace, target: str, expected: dict[str, str],
             paths: dict[str, Path | None], out: _Out) -> int:
    from gp_spec.conformance._diagnosis import groupable
    from gp_spec.conformance._engine import plan_options
    from gp_spec.conformance._loading import load_implementation
    from gp_spec.conformance._options import ExpectedFailureWarning, Options, option_kwargs

    values: dict[str, Any] = {f.name: getattr(args, f.name, None) for f in FLAGS}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ExpectedFailureWarning)
            options = Options.make(args.spec, checks=args.checks,
                                   expected_failed_checks=expected, label=target,
                                   **option_kwargs(values))
            impl = load_implementation(target)
            pl = plan_options(impl, options)
    except (GPSpecError, ValueError) as exc:
        return _usage(str(exc))
    for w in caught:
        if issubclass(w.category, ExpectedFailureWarning):
            print(f"gp-spec conform: warning: {w.message}", file=sys.stderr)
        else:  # the implementation's own warnings, as Python shows them
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    header = pl.report(()).header()
    for text in header:
        out.line(text)
    width = max(len(p.id) for p in pl.checks)
    quiet = bool(getattr(args, "quiet", False))
    shown = pl.report(())
    first: dict[str, str] = {}  # cause -> the first check that showed its message

    def show(r: Any) -> None:
        if quiet and r.status in ("pass", "skip"):
            return
        lines = shown.line(r, width)
        if groupable(r.cause) and r.status in ("fail", "error") and len(lines) > 1:
            if r.cause in first:  # one cause, one message
                lines[1] = f"          same cause as {first[r.cause]}"
            else:
                first[r.cause] = r.id
        for text in lines:
            out.line(text)

    report = pl.run(on_result=show)
    lead = report.lead()
    if lead:
        out.line("  root causes:")
        for text in lead:
            out.line(text)
    for text in report.summary():
        out.line(text)
    try:
        if paths.get("--json"):
            paths["--json"].write_text(report.to_json())  # type: ignore[union-attr]
        if paths.get("--markdown"):
            paths["--markdown"].write_text(report.to_markdown())  # type: ignore[union-attr]
    except OSError as exc:
        return _usage(f"cannot write the report: {exc}")
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
