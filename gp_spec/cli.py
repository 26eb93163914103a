"""The ``gp-spec`` command: ``conform``, ``train``, ``bench``, ``reproduce``.

Each subcommand lives in its own module exposing ``configure(parser)`` and ``run(args)``,
imported only when that subcommand is used. Exit codes: 0 success, 1 a negative verdict,
2 a usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

__all__ = ["main"]

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "conform": ("gp_spec.conformance.cli", "check a penalty implementation against its spec"),
    "train": ("gp_spec.harness.cli", "train a GAN with any objective and penalty"),
    "bench": ("gp_spec.benchmark.cli", "time a critic step with each penalty variant"),
    "reproduce": ("gp_spec.harness.reproduce", "reproduce a claim of the papers (C1-C8)"),
    "specs": ("gp_spec._specs_cli", "list the specs and their checks"),
}


def _load(name: str, module: str) -> object | None:
    """Import a subcommand's module; a missing optional dependency is a usage error."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or "a dependency"
        if missing.startswith("gp_spec"):
            print(f"gp-spec {name}: not available in this version", file=sys.stderr)
        else:
            print(f"gp-spec {name}: needs {missing!r}; install the extras: "
                  "pip install 'gp-spec[harness,bench]'", file=sys.stderr)
        return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gp-spec`` console script."""
    console = argv is None
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="gp-spec", description="The executable specification of GAN gradient penalties."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules: dict[str, Any] = {}
    for name, (module, help_text) in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        if argv[:1] == [name]:  # import only the subcommand in use
            mod = _load(name, module)
            if mod is None:
                return 2
            mod.configure(sp)  # type: ignore[attr-defined]
            modules[name] = mod
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    mod = modules[args.command]
    if args.command == "conform":  # the console script: the verdict's exit code, always
        code: int = mod.run(args, exit_hard=console)
        return code
    result: int = mod.run(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
