"""``gp-spec bench``: time one WGAN-GP critic training step, variant by variant.

    python -m gp_spec.benchmark.cli --device cuda --critic mlp dcgan resnet \\
        --batch 64 256 1024 --dtype float32 --json bench/results/h100.json --markdown h100.md

``gp_spec.cli`` wires ``gp-spec bench`` to :func:`configure` and :func:`run`.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from collections.abc import Sequence

import torch

from gp_spec import penalties
from gp_spec.benchmark import report
from gp_spec.benchmark.critics import CRITICS
from gp_spec.benchmark.runner import DTYPES, Case, CaseResult, Settings, run_case
from gp_spec.benchmark.variants import Variant, standard_variants

__all__ = ["configure", "main", "run"]

OPTIONAL_VARIANTS = ("peer", "fused", "lazy", "func", "compiled")
"""Selectable with ``--variants``; ``plain`` and ``reference`` are always run."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``bench`` arguments to ``parser``."""
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    parser.add_argument("--critic", nargs="+", default=["mlp"], metavar="NAME[:B,...]",
                        help=f"critics among {', '.join(sorted(CRITICS))}, each optionally with "
                             "its own batch sizes, e.g. resnet:64,256 (default: mlp)")
    parser.add_argument("--batch", nargs="+", type=int, default=[64, 256],
                        help="batch sizes of critics named without their own (default: 64 256)")
    parser.add_argument("--dtype", nargs="+", default=["float32"], choices=list(DTYPES),
                        help="float32, or bfloat16 autocast (default: float32)")
    parser.add_argument("--iters", type=int, default=30, help="timed rounds (default: 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds (default: 3)")
    parser.add_argument("--max-seconds", type=float, default=None, metavar="S",
                        help="stop timing a case after S seconds, >= 3 rounds (default: none)")
    parser.add_argument("--variants", nargs="+", default=list(OPTIONAL_VARIANTS),
                        choices=OPTIONAL_VARIANTS,
                        help="variants besides plain and reference (default: all)")
    parser.add_argument("--lazy-every", nargs="+", type=int, default=[4], metavar="K",
                        help="intervals of the lazy variants (default: 4)")
    parser.add_argument("--weight", type=float, default=penalties.DEFAULT_WEIGHT,
                        help="penalty weight (default: 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of critic, data, alphas")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's own)")
    parser.add_argument("--json", metavar="PATH", help="write every number as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="write the tables as markdown")
    parser.add_argument("--from-json", nargs="+", metavar="PATH",
                        help="run nothing: render the tables of saved --json files")


def _variants(args: argparse.Namespace) -> list[Variant]:
    keep = {"plain", "reference", *args.variants}
    every = standard_variants(weight=args.weight, lazy_every=tuple(args.lazy_every))
    return [v for v in every if v.name.split("(")[0] in keep]


def _cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo where there is one, else the platform's."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{_cpu_model()} ({torch.get_num_threads()} threads)"


def _meta(args: argparse.Namespace, device: torch.device) -> dict[str, object]:
    meta: dict[str, object] = {
        "device": _device_name(device),
        "torch": torch.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "iters": args.iters,
        "warmup": args.warmup,
        "weight": args.weight,
        "seed": args.seed,
    }
    if args.max_seconds is not None:
        meta["max seconds per case"] = args.max_seconds
    if device.type == "cpu" and hasattr(os, "getloadavg"):
        meta["load average (1 min, at start)"] = round(os.getloadavg()[0], 2)
    if device.type == "cuda":
        meta["cudnn.benchmark"] = torch.backends.cudnn.benchmark
        meta["cudnn.allow_tf32"] = torch.backends.cudnn.allow_tf32
        meta["matmul.allow_tf32"] = torch.backends.cuda.matmul.allow_tf32
    return meta


def _matrix(args: argparse.Namespace) -> list[tuple[str, list[int]]]:
    """``--critic`` as ``(name, batches)``: ``"dcgan:64,256"`` or ``"dcgan"`` (``--batch``).

    Raises:
      ValueError: an unknown critic or a batch size that is not an integer.
    """
    matrix = []
    for entry in args.critic:
        name, _, sizes = entry.partition(":")
        if name not in CRITICS:
            raise ValueError(f"--critic {entry}: {name!r} should be one of {sorted(CRITICS)}")
        try:
            batches = [int(b) for b in sizes.split(",")] if sizes else list(args.batch)
        except ValueError:
            raise ValueError(f"--critic {entry}: batch sizes should be integers") from None
        matrix.append((name, batches))
    return matrix


def _check_args(args: argparse.Namespace, device: torch.device) -> str | None:
    """An error message for arguments that cannot run, else None."""
    try:
        batches = [b for _, bs in _matrix(args) for b in bs]
    except ValueError as exc:
        return str(exc)
    if device.type == "cuda" and not torch.cuda.is_available():
        return f"--device {args.device}: CUDA is not available on this machine"
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        return f"--device {args.device}: this machine has {torch.cuda.device_count()} GPU(s)"
    if device.type not in ("cpu", "cuda"):
        return f"--device {args.device}: should be cpu or cuda"
    if args.iters < 1 or args.warmup < 0 or min(batches) < 1 or min(args.lazy_every) < 1:
        return "--iters, --batch and --lazy-every should be >= 1 and --warmup >= 0"
    return None


def _run_cases(args: argparse.Namespace, settings: Settings) -> list[CaseResult]:
    variants = _variants(args)
    results = []
    for dtype in args.dtype:
        for critic, batches in _matrix(args):
            for batch in batches:
                start = time.perf_counter()
                results.append(run_case(Case(critic, batch, dtype), variants, settings))
                print(f"bench: {critic} batch {batch} {dtype}: "
                      f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return results


def _render(paths: Sequence[str], markdown_path: str | None) -> int:
    """Print (and write) the tables of saved JSON files; their meta is the first file's."""
    results: list[CaseResult] = []
    meta: dict[str, object] = {}
    for path in paths:
        try:
            cases, file_meta = report.read_json(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"gp-spec bench: --from-json {path}: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
            return 2
        results += cases
        meta = meta or file_meta
    if markdown_path:
        report.write_markdown(markdown_path, results, meta)
    print(report.markdown(results, meta))
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the matrix of ``args``; print the markdown; write ``--json``/``--markdown``.

    Returns 0, or 2 for arguments that cannot run (CUDA requested but absent, say).
    A variant that disagrees with the reference or fails to compile is reported in the
    tables as ``not timed: <reason>``; it does not change the exit status. With
    ``--from-json`` nothing runs: the saved results are rendered.
    """
    if args.from_json:
        return _render(args.from_json, args.markdown)
    try:
        device = torch.device(args.device)
    except RuntimeError as exc:
        print(f"gp-spec bench: {exc}", file=sys.stderr)
        return 2
    problem = _check_args(args, device)
    if problem is not None:
        print(f"gp-spec bench: {problem}", file=sys.stderr)
        return 2
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    settings = Settings(device=args.device, iters=args.iters, warmup=args.warmup, seed=args.seed,
                        max_seconds=args.max_seconds)
    previous = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = device.type == "cuda"  # autotuned convolutions on CUDA
    try:
        meta = _meta(args, device)
        results = _run_cases(args, settings)
    finally:
        torch.backends.cudnn.benchmark = previous
    if args.json:
        report.write_json(args.json, results, meta)
    if args.markdown:
        report.write_markdown(args.markdown, results, meta)
    print(report.markdown(results, meta))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m gp_spec.benchmark.cli``."""
    parser = argparse.ArgumentParser(
        prog="gp-spec bench", description="Time one WGAN-GP critic step, variant by variant."
    )
    configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
