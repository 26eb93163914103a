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
    "bench": ("gp_spec.benchmark.cli", "time your penalty (or the WGAN-GP variants) against a "
              "plain critic step and the spec's reference"),
    "reproduce": ("gp_spec.harness.reproduce", "reproduce a claim of the papers (C1-C8)"),
    "specs": ("gp_spec._specs_cli", "list the specs and their checks"),
}


# Import name -> distribution name where they differ, for the install hint.
_DISTRIBUTIONS = {"sklearn": "scikit-learn", "PIL": "pillow", "ot": "POT"}
# The extra of pyproject.toml that holds a subcommand's optional dependencies.
_EXTRAS = {"train": "harness", "reproduce": "harness", "bench": "harness"}


def _missing_dependency_message(name: str, missing: str) -> str:
    """``gp-spec NAME: needs ...; install it: python -m pip install DIST`` (a command that works).

    gp-spec is not on a package registry, so the hint names the dependency itself and, for a
    checkout, the extra that holds all of the subcommand's optional dependencies.
    """
    top = missing.split(".")[0]
    dist = _DISTRIBUTIONS.get(top, top)
    module = "" if dist == top else f" (module {top!r})"
    hint = f"gp-spec {name}: needs the Python package {dist!r}{module}, which is not installed; " \
        f"install it: python -m pip install {dist}"
    extra = _EXTRAS.get(name)
    if extra is not None:
        hint += f" (or the whole {extra!r} extra, from a checkout of gp-spec: " \
            f"python -m pip install -e '.[{extra}]')"
    return hint


def _load(name: str, module: str) -> object | None:
    """Import a subcommand's module; a missing optional dependency is a usage error."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or "a dependency"
        if missing.startswith("gp_spec"):
            print(f"gp-spec {name}: not available in this version", file=sys.stderr)
        else:
            print(_missing_dependency_message(name, missing), file=sys.stderr)
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
