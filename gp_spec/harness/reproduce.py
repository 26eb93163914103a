"""``gp-spec reproduce CLAIM[,CLAIM...] [--quick] [--seeds K] [--device DEV] [--out DIR]``.

Runs the experiment of a claim of SPEC §5 (``C1`` ... ``C8``, a comma-separated list, ``all``;
``list`` prints the registry) and writes ``DIR/<claim>/result.json`` and PNG figures. Training
runs are cached in ``DIR/runs/`` by configuration, so claims sharing runs (C1 and C2) train
them once and an interrupted invocation resumes. ``--many-runs`` first trains every run the
listed claims need **together** (:mod:`gp_spec.harness.many`: stacked networks, one process),
then runs the experiments on the cached runs. ``--record ROOT`` also writes the result, its
figures and one file per seed into ``ROOT/<claim>/<mode>-<K>seeds-<machine>/``
(:mod:`gp_spec.harness.claims._records`); ``gp-spec reproduce --report`` renders
REPRODUCTION.md from those records.

Every experiment states its pass criterion before it runs (text and functions of the measured
numbers, :mod:`gp_spec.harness.claims`), possibly in several registered versions; the verdict
of each version is ``reproduced`` (every check passes), ``partly`` or ``not reproduced``
(none passes), and the current (latest) version's verdict is the claim's.

Exit codes: 0 every claim run was reproduced, 1 some was not (fully), 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
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
from gp_spec.harness.claims._common import train_planned, verdict
from gp_spec.harness.claims._records import commit, machine, record

__all__ = ["DEFAULT_RECORDS", "EXPERIMENTS", "configure", "main", "run", "run_experiment"]

_EXIT_USAGE = 2
RESULT = "result.json"
DEFAULT_RECORDS = Path("bench/results/claims")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``reproduce`` options to ``parser``."""
    parser.add_argument("claim", metavar="CLAIM", nargs="?", default=None,
                        help=f"one of {', '.join(EXPERIMENTS)}, a comma-separated list, 'all', "
                             "or 'list' (print the experiments and their criteria)")
    parser.add_argument("--quick", action="store_true",
                        help="the small variant (minutes on 2 CPU cores); each experiment "
                             "states what it changes")
    parser.add_argument("--seeds", type=int, default=None, metavar="K",
                        help="run seeds 0..K-1 (default: the current criterion's registered "
                             "design; deterministic claims use 1)")
    parser.add_argument("--device", default="auto",
                        help="torch device for training: auto (default), cpu, cuda, cuda:1")
    parser.add_argument("--out", default="reproduce-out", type=Path, metavar="DIR",
                        help="output folder (default ./reproduce-out)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (torch.set_num_threads)")
    parser.add_argument("--many-runs", action="store_true",
                        help="train the claims' runs together first (stacked networks in one "
                             "process; equal to single runs within float rounding)")
    parser.add_argument("--max-members", type=int, default=None, metavar="K",
                        help="with --many-runs: at most K runs per stacked group")
    parser.add_argument("--eval-workers", type=int, default=1, metavar="N",
                        help="with --many-runs: threads for the per-run evaluations")
    parser.add_argument("--record", type=Path, default=None, metavar="ROOT",
                        help="also write result, figures and per-seed files into "
                             f"ROOT/<claim>/<mode>-<K>seeds-<machine>/ (the committed results: "
                             f"{DEFAULT_RECORDS})")
    parser.add_argument("--report", action="store_true",
                        help="render REPRODUCTION.md from the records in --results (no claim "
                             "is run)")
    parser.add_argument("--results", type=Path, default=DEFAULT_RECORDS, metavar="ROOT",
                        help=f"with --report: the records to read (default {DEFAULT_RECORDS})")
    parser.add_argument("--output", type=Path, default=Path("REPRODUCTION.md"), metavar="FILE",
                        help="with --report: where to write (default REPRODUCTION.md; - for "
                             "stdout)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--smoke", action="store_true",
                        help="tests only: every training run shrunk to 3 steps of tiny networks "
                             "(checks the plumbing; the verdict means nothing)")


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
    if args.many_runs:
        parts.append("--many-runs")
    return " ".join(parts)


def _context(experiment: Experiment, out: Path, quick: bool, seeds: int | None, device: str,
             progress: Any, smoke: bool, **many: Any) -> RunContext:
    n_seeds = experiment.design_seeds(quick) if seeds is None or experiment.deterministic \
        else int(seeds)
    dev = resolve_device(device)
    return RunContext(out / experiment.claim, out / "runs", quick, tuple(range(n_seeds)),
                      str(dev), progress, smoke, **many)


def seeds_warning(experiment: Experiment, quick: bool, n_seeds: int) -> str | None:
    """A warning when ``n_seeds`` is below the current criterion's registered design."""
    design = experiment.design_seeds(quick)
    if experiment.deterministic or n_seeds >= design:
        return None
    return (f"{experiment.claim}: {n_seeds} seed(s) is below the registered design of "
            f"{design} ({'quick' if quick else 'full'} mode); the verdict is computed but "
            "does not test the claim as registered")


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
    context: RunContext | None = None,
) -> dict[str, Any]:
    """Run one experiment, evaluate every criterion version, write ``out/<claim>/result.json``.

    Args:
      experiment: a registry entry. out: the output folder (``out/runs`` caches training).
      quick: the quick variant. seeds: number of seeds (None: the current criterion's design).
      device: torch device name. command: the command line, recorded in the result.
      progress: stream for progress lines (None: silent).
      smoke: shrink every training run to 3 steps (tests of the plumbing only).
      context: a prepared context (``--many-runs`` settings); overrides the above.

    Returns:
      The result as written to ``result.json``; ``result["seed_seconds"]`` per seed.
    """
    ctx = context or _context(experiment, out, quick, seeds, device, progress, smoke)
    ctx.out.mkdir(parents=True, exist_ok=True)
    ctx.say(experiment.claim, f"{'quick' if quick else 'full'} mode, {len(ctx.seeds)} seed(s), "
                              f"device {ctx.device}")
    warning = seeds_warning(experiment, quick, len(ctx.seeds))
    if warning is not None:
        ctx.say(experiment.claim, "warning: " + warning)
    t0 = time.perf_counter()
    measured = experiment.run(ctx)
    elapsed = time.perf_counter() - t0
    versions: list[dict[str, Any]] = []
    for v in experiment.versions():
        checks = [check(measured.values, quick) for check in v.checks(quick)]
        versions.append({
            "version": v.version, "criterion": v.criterion, "registered": v.registered,
            "reason": v.reason, "design_seeds": v.seeds[0] if quick else v.seeds[1],
            "verdict": verdict(checks),
            "checks": [{"name": c.name, "criterion": c.criterion, "observed": c.observed,
                        "passed": c.passed} for c in checks]})
    current = versions[-1]
    dev = torch.device(ctx.device)
    result: dict[str, Any] = {
        "claim": experiment.claim,
        "title": experiment.title,
        "source": experiment.source,
        "mode": ("smoke, " if smoke else "") + ("quick" if quick else "full"),
        "verdict": current["verdict"],
        "criterion_version": current["version"],
        "criterion": current["criterion"],
        "checks": current["checks"],
        "criteria": versions,
        "seeds_warning": warning,
        "metric": experiment.metric,
        "paper_setup": experiment.paper_setup,
        "quick_changes": experiment.quick_changes,
        "seeds": list(ctx.seeds),
        "measurements": _jsonable(measured.values),
        "per_seed": _jsonable(measured.per_seed),
        "setup": _jsonable(measured.setup),
        "notes": measured.notes,
        "figures": [str(p.relative_to(ctx.out)) if p.is_relative_to(ctx.out) else str(p)
                    for p in measured.figures],
        "device": _device_words(dev),
        "machine": machine(dev),
        "torch": torch.__version__,
        "commit": commit(),
        "trainer": "many-runs" if ctx.many else "single",
        "command": command,
        "elapsed_s": round(elapsed, 2),
        "joint_training": dict(ctx.joint) or None,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    atomic_write_text(ctx.out / RESULT, json.dumps(result, indent=2, allow_nan=False) + "\n")
    passed = sum(c["passed"] for c in current["checks"])
    ctx.say(experiment.claim, f"verdict: {result['verdict']} (criterion v{current['version']}, "
                              f"{passed}/{len(current['checks'])} checks, {elapsed:.0f} s) -> "
                              f"{ctx.out / RESULT}")
    return {**result, "seed_seconds": dict(ctx.seed_seconds)}


def _device_words(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (cuda)"
    return f"CPU ({machine(device)['cpu']}), {torch.get_num_threads()} thread(s)"


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
        print(f"{e.claim}  {e.title}\n    source: {e.source}", file=stream)
        for v in e.versions():
            print(f"    criterion v{v.version} (design: {v.seeds[0]} seeds quick, {v.seeds[1]} "
                  f"full): {v.criterion}", file=stream)
        print(file=stream)


def _usage(message: str) -> int:
    print(f"gp-spec reproduce: error: {message}", file=sys.stderr)
    return _EXIT_USAGE


def _claims(name: str) -> list[str] | None:
    if name.lower() == "all":
        return list(EXPERIMENTS)
    claims = [c.strip().upper() for c in name.split(",") if c.strip()]
    return claims if claims and all(c in EXPERIMENTS for c in claims) else None


def run(args: argparse.Namespace) -> int:
    """Run the parsed ``reproduce`` command; returns the exit code."""
    if args.report:
        from gp_spec.harness.report import write_report

        text = write_report(args.results, None if str(args.output) == "-" else args.output)
        if str(args.output) == "-":
            sys.stdout.write(text)
        else:
            print(f"gp-spec reproduce: wrote {args.output} from {args.results}")
        return 0
    if args.claim is None:
        return _usage("give a CLAIM (C1..C8, a comma-separated list, all, list) or --report")
    name = str(args.claim).strip()
    if name.lower() == "list":
        _print_list(sys.stdout)
        return 0
    claims = _claims(name)
    if claims is None:
        return _usage(f"unknown claim {name!r}; known: {', '.join(EXPERIMENTS)}, all, list")
    for flag, value, low in (("--seeds", args.seeds, 1), ("--threads", args.threads, 1),
                             ("--max-members", args.max_members, 1),
                             ("--eval-workers", args.eval_workers, 1)):
        if value is not None and value < low:
            return _usage(f"{flag} {value}, but should be >= {low}")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    progress = None if args.quiet else sys.stderr
    code = 0
    try:
        contexts = {c: _context(EXPERIMENTS[c], Path(args.out), args.quick, args.seeds,
                                args.device, progress, args.smoke, many=args.many_runs,
                                max_members=args.max_members, eval_workers=args.eval_workers)
                    for c in claims}
        if args.many_runs:
            _train_together(claims, contexts)
        for claim in claims:
            result = run_experiment(EXPERIMENTS[claim], out=Path(args.out), quick=args.quick,
                                    seeds=args.seeds, device=args.device,
                                    command=_command(claim, args), progress=progress,
                                    smoke=args.smoke, context=contexts[claim])
            if args.record is not None:
                folder = record(args.record, {k: v for k, v in result.items()
                                              if k != "seed_seconds"},
                                contexts[claim].out, result["seed_seconds"])
                print(f"{claim}: recorded in {folder}", file=sys.stderr)
            warning = f" (warning: {result['seeds_warning']})" if result["seeds_warning"] \
                else ""
            print(f"{claim}: {result['verdict']}{warning}")
            if result["verdict"] != "reproduced":
                code = 1
    except GPSpecError as exc:
        return _usage(str(exc))
    return code


def _train_together(claims: list[str], contexts: dict[str, RunContext]) -> None:
    """Every training run of the listed claims, trained together before any experiment runs
    (claims that share runs, C1 and C2, share them here too)."""
    items: dict[str, Any] = {}
    for claim in claims:
        plan = EXPERIMENTS[claim].plan
        if plan is not None:
            for tag, cfg in plan(contexts[claim]):
                items.setdefault(tag, cfg)
    if items:
        t0 = time.perf_counter()
        train_planned(contexts[claims[0]], "+".join(claims), list(items.items()))
        joint = {"seconds": round(time.perf_counter() - t0, 2), "claims": claims,
                 "runs": len(items)}
        for claim in claims:
            contexts[claim].joint.update(joint)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gp_spec.harness.reproduce CLAIM ...``."""
    parser = argparse.ArgumentParser(prog="gp-spec reproduce",
                                     description="reproduce a claim of the papers (C1-C8)")
    configure(parser)
    return run(parser.parse_args(None if argv is None else list(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
