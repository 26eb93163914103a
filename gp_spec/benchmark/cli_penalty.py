"""``gp-spec bench IMPL --spec NAME``: the user's penalty beside the reference and plain."""

from __future__ import annotations

import argparse
import sys

import torch

from gp_spec.benchmark.penalty import bench_penalty
from gp_spec.errors import GPSpecError

__all__ = ["DEFAULT_OUT", "run_penalty"]

DEFAULT_OUT = "gp-spec-bench"
"""Where the reports go when neither ``--out`` nor ``--json/--markdown/--png`` is given."""


def _fail(message: str) -> int:
    print(f"gp-spec bench: error: {message}", file=sys.stderr)
    return 2


def run_penalty(args: argparse.Namespace, device: torch.device) -> int:
    """Bench ``args.target`` against ``--spec``; print the table, write the reports.

    Returns 0, 1 when the conformance verdict is not PASS, 2 for arguments that cannot run.
    """
    if not args.spec:
        return _fail("--spec NAME is required with IMPL (gp-spec specs lists the names)")
    if args.variants is not None or args.lazy_every != [4]:
        return _fail("--variants and --lazy-every apply to 'gp-spec bench variants'")
    try:
        result = bench_penalty(
            args.target, args.spec, weight=args.weight, critic=args.critic or ["dcgan"],
            batch=args.batch or [64], event_shape=args.event_shape, dtype=args.dtype,
            amp=args.amp, device=device, adapter=args.adapter, label=args.target,
            iters=args.iters, warmup=args.warmup, steps=args.steps,
            max_seconds=args.max_seconds, seed=args.seed, verdict=not args.no_verdict,
            progress=not args.quiet,
        )
    except (GPSpecError, ValueError, TypeError, ImportError) as exc:
        return _fail(str(exc))
    explicit = any(p is not None for p in (args.json, args.markdown, args.png))
    out = args.out if args.out is not None or explicit else DEFAULT_OUT
    try:
        written = result.write(out, json=args.json, markdown=args.markdown, png=args.png)
    except OSError as exc:
        return _fail(f"cannot write the reports: {exc}")
    print(result.to_markdown())
    for path in written:
        print(f"gp-spec bench: wrote {path}", file=sys.stderr)
    verdict = result.verdict
    return 0 if verdict is None or (verdict.passed and verdict.error is None) else 1
