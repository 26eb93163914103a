"""``gp-spec reproduce CLAIM [--quick] [--seeds K] [--device DEV] [--out DIR]``.

Runs the experiment of a claim of SPEC §5 (``C1`` ... ``C8``, ``all``; ``list`` prints the
registry) and writes ``DIR/<claim>/result.json`` and PNG figures. Training runs are cached
in ``DIR/runs/`` by configuration, so claims sharing runs (C1 and C2) train them once and an
interrupted invocation resumes.

Every experiment states its pass criterion before it runs (text and functions of the measured
numbers, :mod:`gp_spec.harness.claims`); the verdict is ``reproduced`` (every check passes),
``partly`` or ``not reproduced`` (none passes).

Exit codes: 0 every claim run was reproduced, 1 some was not (fully), 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from gp_spec._devices import resolve_device
from gp_spec.errors import GPSpecError
from gp_spec.harness.checkpoint import atomic_write_text
from gp_spec.harness.claims import EXPERIMENTS, Experiment, RunContext
from gp_spec.harness.claims._common import verdict

__all__ = ["EXPERIMENTS", "configure", "main", "run", "run_experiment"]

_EXIT_USAGE = 2
RESULT = "result.json"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``reproduce`` options to ``parser``."""
    parser.add_argument("claim", metavar="CLAIM",
                        help=f"one of {', '.join(EXPERIMENTS)}, 'all', or 'list' (print the "
                             "experiments and their criteria)")
    parser.add_argument("--quick", action="store_true",
                        help="the small variant (minutes on 2 CPU cores); each experiment "
                             "states what it changes")
    parser.add_argument("--seeds", type=int, default=None, metavar="K",
                        help="run seeds 0..K-1 (default 3 with --quick, 10 without; "
                             "deterministic claims use 1)")
    parser.add_argument("--device", default="auto",
                        help="torch device for training: auto (default), cpu, cuda, cuda:1")
    parser.add_argument("--out", default="reproduce-out", type=Path, metavar="DIR",
                        help="output folder (default ./reproduce-out)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (torch.set_num_threads)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--smoke", action="store_true",
                        help="tests only: every training run shrunk to 3 steps of tiny networks "
                             "(checks the plumbing; the verdict means nothing)")


def _device_words(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (cuda)"
    cores = torch.get_num_threads()
    return f"CPU ({platform.processor() or platform.machine()}), {cores} thread(s)"


def _command(claim: str, args: argparse.Namespace) -> str:
    parts = ["gp-spec", "reproduce", claim]
    if args.quick:
        parts.append("--quick")
    if args.smoke:
        parts.append("--smoke")
    if args.seeds is not None:
        parts += ["--seeds", str(args.seeds)]
    parts += ["--device", str(args.device), "--out", str(args.out)]
    if args.threads is not None:
        parts += ["--threads", str(args.threads)]
    return " ".join(parts)


def run_experiment(
    experiment: Experiment,
    *,
    out: Path,
    quick: bool,
    seeds: int | None = None,
    device: str = "auto",
    command: str = "",
    progress: Any = sys.stderr,
    smoke: bool = False,
) -> dict[str, Any]:
    """Run one experiment, evaluate its checks, write ``out/<claim>/result.json``.

    Args:
      experiment: a registry entry. out: the output folder (``out/runs`` caches training).
      quick: the quick variant. seeds: number of seeds (None: the experiment's default).
      device: torch device name. command: the command line, recorded in the result.
      progress: stream for progress lines (None: silent).
      smoke: shrink every training run to 3 steps (tests of the plumbing only).

    Returns:
      The result as written to ``result.json``.
    """
    default = experiment.seeds[0] if quick else experiment.seeds[1]
    n_seeds = 1 if experiment.deterministic else (default if seeds is None else int(seeds))
    dev = resolve_device(device)
    folder = out / experiment.claim
    folder.mkdir(parents=True, exist_ok=True)
    ctx = RunContext(folder, out / "runs", quick, tuple(range(n_seeds)), str(dev), progress,
                     smoke)
    ctx.say(experiment.claim, f"{'quick' if quick else 'full'} mode, {n_seeds} seed(s), "
                              f"device {dev}")
    t0 = time.perf_counter()
    measured = experiment.run(ctx)
    elapsed = time.perf_counter() - t0
    checks = [check(measured.values, quick) for check in experiment.checks(quick)]
    result: dict[str, Any] = {
        "claim": experiment.claim,
        "title": experiment.title,
        "source": experiment.source,
        "mode": ("smoke, " if smoke else "") + ("quick" if quick else "full"),
        "verdict": verdict(checks),
        "criterion": experiment.criterion,
        "checks": [{"name": c.name, "criterion": c.criterion, "observed": c.observed,
                    "passed": c.passed} for c in checks],
        "metric": experiment.metric,
        "paper_setup": experiment.paper_setup,
        "quick_changes": experiment.quick_changes,
        "seeds": list(ctx.seeds),
        "measurements": _jsonable(measured.values),
        "per_seed": _jsonable(measured.per_seed),
        "setup": _jsonable(measured.setup),
        "notes": measured.notes,
        "figures": [str(p.relative_to(folder)) if p.is_relative_to(folder) else str(p)
                    for p in measured.figures],
        "device": _device_words(dev),
        "torch": torch.__version__,
        "command": command,
        "elapsed_s": round(elapsed, 2),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    atomic_write_text(folder / RESULT, json.dumps(result, indent=2, allow_nan=False) + "\n")
    ctx.say(experiment.claim, f"verdict: {result['verdict']} "
                              f"({sum(c.passed for c in checks)}/{len(checks)} checks, "
                              f"{elapsed:.0f} s) -> {folder / RESULT}")
    return result


def _jsonable(obj: Any) -> Any:
    """Floats that are not finite become None (strict JSON); tuples become lists."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float):
        return obj if obj == obj and abs(obj) != float("inf") else None
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    return str(obj)


def _print_list(stream: Any) -> None:
    for e in EXPERIMENTS.values():
        print(f"{e.claim}  {e.title}\n    source: {e.source}\n    criterion: {e.criterion}\n",
              file=stream)


def run(args: argparse.Namespace) -> int:
    """Run the parsed ``reproduce`` command; returns the exit code."""
    name = str(args.claim).strip()
    if name.lower() == "list":
        _print_list(sys.stdout)
        return 0
    claims = list(EXPERIMENTS) if name.lower() == "all" else [name.upper()]
    unknown = [c for c in claims if c not in EXPERIMENTS]
    if unknown:
        print(f"gp-spec reproduce: error: unknown claim {name!r}; known: "
              f"{', '.join(EXPERIMENTS)}, all, list", file=sys.stderr)
        return _EXIT_USAGE
    if args.seeds is not None and args.seeds < 1:
        print(f"gp-spec reproduce: error: --seeds {args.seeds}, but should be >= 1",
              file=sys.stderr)
        return _EXIT_USAGE
    if args.threads is not None:
        if args.threads < 1:
            print(f"gp-spec reproduce: error: --threads {args.threads}, but should be >= 1",
                  file=sys.stderr)
            return _EXIT_USAGE
        torch.set_num_threads(args.threads)
    progress = None if args.quiet else sys.stderr
    code = 0
    for claim in claims:
        try:
            result = run_experiment(EXPERIMENTS[claim], out=Path(args.out), quick=args.quick,
                                    seeds=args.seeds, device=args.device,
                                    command=_command(claim, args), progress=progress,
                                    smoke=args.smoke)
        except GPSpecError as exc:
            print(f"gp-spec reproduce: error: {claim}: {exc}", file=sys.stderr)
            return _EXIT_USAGE
        print(f"{claim}: {result['verdict']}")
        if result["verdict"] != "reproduced":
            code = 1
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gp_spec.harness.reproduce CLAIM ...``."""
    parser = argparse.ArgumentParser(prog="gp-spec reproduce",
                                     description="reproduce a claim of the papers (C1-C8)")
    configure(parser)
    return run(parser.parse_args(None if argv is None else list(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
