"""``gp-spec bench``: what a gradient penalty costs, in two modes.

    gp-spec bench mypkg.losses:gradient_penalty --spec wgan-gp --critic dcgan --batch 64
    gp-spec bench variants --device cuda --critic mlp dcgan resnet --batch 64 256 1024

``gp_spec.cli`` wires ``gp-spec bench`` to :func:`configure` and :func:`run`;
``python -m gp_spec.benchmark.cli`` is the same command.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import torch

from gp_spec import penalties
from gp_spec.benchmark import report
from gp_spec.benchmark.critics import CRITICS, critic_batches
from gp_spec.benchmark.meta import run_meta
from gp_spec.benchmark.runner import DTYPES, Case, CaseResult, Settings, run_case
from gp_spec.benchmark.variants import Variant, standard_variants
from gp_spec.errors import GPSpecError

__all__ = ["configure", "main", "run"]

OPTIONAL_VARIANTS = ("peer", "fused", "lazy", "func", "compiled", "graphed")
"""Selectable with ``--variants``; ``plain`` and ``reference`` are always run."""

DESCRIPTION = """\
Time a critic training step (zero_grad, loss, backward, Adam) with a gradient penalty against
the same step without one, side by side in one process. Two modes:

  gp-spec bench IMPL --spec NAME ...   YOUR penalty (MODULE:ATTR or path/file.py:ATTR, called
      fn(critic, real, fake)): times three steps: plain (critic loss only), reference (plus
      gp_spec.SPECS[NAME].bind(weight)) and yours; reports ms and the ratios user/plain,
      reference/plain and user/reference, after a conformance check of yours whose verdict
      (PASS, or FAIL and the failing check ids) is printed beside every ratio. Any spec.
      Writes JSON, Markdown and a PNG (--out, or --json/--markdown/--png). Exit 1 when the
      verdict is FAIL.

  gp-spec bench variants ...           the project's own WGAN-GP strategies (weight 10):
      plain, reference, peer (the common public code), fused, lazy(k), func, compiled and,
      on CUDA, graphed (a CUDA graph of the whole step); every exact variant is checked
      equal to the reference before it is timed. Also the mode when IMPL is omitted.

Timing: each sample is several consecutive steps of one variant after a device barrier
(CUDA events on a GPU, perf_counter on the CPU), variants interleaved round by round;
ratios are medians of per-round ratios. See bench/README.md."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``bench`` arguments to ``parser``."""
    parser.description = DESCRIPTION
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("target", nargs="?", default=None, metavar="IMPL",
                        help="your penalty MODULE:ATTR or path/file.py:ATTR; or 'variants' "
                             "(the default) for the WGAN-GP strategy variants")
    parser.add_argument("--spec", help="IMPL mode: the spec IMPL implements (gp-spec specs)")
    parser.add_argument("--weight", type=float, default=None,
                        help="penalty weight (default: the spec's; variants: 10)")
    parser.add_argument("--adapter", default=None,
                        help="IMPL's convention: canonical | real-fake-critic | with-device | "
                             "keywords | method:NAME (as gp-spec conform)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto")
    parser.add_argument("--critic", nargs="+", default=None, metavar="CRITIC",
                        help=f"among {', '.join(sorted(CRITICS))}, each optionally with its own "
                             "batch sizes (resnet:64,256), or your own MODULE:ATTR (an "
                             "nn.Module, or a class or function making one; give "
                             "--event-shape) (default: IMPL mode dcgan, variants mlp)")
    parser.add_argument("--batch", nargs="+", type=int, default=None,
                        help="batch sizes (default: IMPL mode 64, variants 64 256)")
    parser.add_argument("--event-shape", nargs="+", type=int, default=None, metavar="N",
                        help="shape of one sample, e.g. 3 64 64 (default: the critic's)")
    parser.add_argument("--dtype", nargs="+", default=["float32"], choices=list(DTYPES),
                        help="float32 (default) and/or bfloat16 (bf16 parameters and data)")
    parser.add_argument("--amp", action="store_true",
                        help="bfloat16 as torch.autocast over float32 parameters")
    parser.add_argument("--iters", type=int, default=20, help="timed rounds (default: 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds (default: 3)")
    parser.add_argument("--steps", type=int, default=None, metavar="K",
                        help="training steps per sample (default: calibrated, >= 4 on CUDA)")
    parser.add_argument("--max-seconds", type=float, default=None, metavar="S",
                        help="stop timing a case after S seconds, >= 3 rounds (default: none)")
    parser.add_argument("--seed", type=int, default=0, help="seed of critic, data, alphas")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's own)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="IMPL mode: write <impl>-<spec>-<device>.json/.md/.png here "
                             "(default: gp-spec-bench, unless --json/--markdown/--png)")
    parser.add_argument("--json", metavar="PATH", help="write every number as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="write the tables as Markdown")
    parser.add_argument("--png", metavar="PATH", help="IMPL mode: write the bar chart")
    parser.add_argument("--no-verdict", action="store_true",
                        help="IMPL mode: skip the conformance check (not recommended)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--variants", nargs="+", default=None, choices=OPTIONAL_VARIANTS,
                        help="variants mode: variants besides plain and reference (default: "
                             "all; graphed on CUDA only)")
    parser.add_argument("--lazy-every", nargs="+", type=int, default=[4], metavar="K",
                        help="variants mode: intervals of the lazy variants (default: 4)")
    parser.add_argument("--from-json", nargs="+", metavar="PATH",
                        help="variants mode: run nothing, render the tables of saved --json")


def _fail(message: str) -> int:
    print(f"gp-spec bench: error: {message}", file=sys.stderr)
    return 2


def matrix(critics: Sequence[str], batch: Sequence[int]) -> list[tuple[str, list[int]]]:
    """``--critic`` entries as ``(critic, batches)`` (:func:`~gp_spec.benchmark.critics.
    critic_batches`).

    Raises:
      ValueError: an unknown critic name, or batch sizes that are not integers >= 1.
    """
    return [critic_batches(entry, batch) for entry in critics]


def _common(args: argparse.Namespace) -> tuple[torch.device | None, str | None]:
    """The resolved device, or an error message for arguments that cannot run."""
    from gp_spec._devices import resolve_device

    if args.iters < 1 or args.warmup < 0 or (args.steps is not None and args.steps < 1):
        return None, "--iters and --steps should be >= 1 and --warmup >= 0"
    if args.amp and "bfloat16" not in args.dtype:
        return None, "--amp applies to --dtype bfloat16 (float32 needs no autocast)"
    try:
        return resolve_device(args.device), None
    except GPSpecError as exc:
        return None, f"--device: {exc}"


def run(args: argparse.Namespace) -> int:
    """Run the mode ``args`` asks for; return the exit status (0, 1: verdict FAIL, 2: usage)."""
    if args.from_json:
        return _render(args.from_json, args.markdown)
    device, problem = _common(args)
    if problem is not None or device is None:
        return _fail(problem or "no device")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    previous = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = device.type == "cuda"  # autotuned convolutions on CUDA
    try:
        if args.target in (None, "variants"):
            return _run_variants(args, device)
        from gp_spec.benchmark.cli_penalty import run_penalty

        return run_penalty(args, device)
    finally:
        torch.backends.cudnn.benchmark = previous


# ------------------------------------------------------------------------- variants mode


def _variants(args: argparse.Namespace, device: torch.device) -> list[Variant]:
    chosen = args.variants if args.variants is not None else \
        [v for v in OPTIONAL_VARIANTS if v != "graphed" or device.type == "cuda"]
    keep = {"plain", "reference", *chosen}
    weight = penalties.DEFAULT_WEIGHT if args.weight is None else args.weight
    every = standard_variants(weight=weight, lazy_every=tuple(args.lazy_every),
                              graphed="graphed" in keep)
    return [v for v in every if v.name.split("(")[0] in keep]


def _run_variants(args: argparse.Namespace, device: torch.device) -> int:
    from gp_spec._progress import Progress

    for flag in ("spec", "adapter", "png", "out"):
        if getattr(args, flag) is not None:
            return _fail(f"--{flag} applies to IMPL mode (gp-spec bench IMPL --spec NAME)")
    try:
        plan = matrix(args.critic or ["mlp"], args.batch or [64, 256])
    except ValueError as exc:
        return _fail(str(exc))
    if min(args.lazy_every) < 1:
        return _fail("--lazy-every should be >= 1")
    settings = Settings(device=str(device), iters=args.iters, warmup=args.warmup,
                        seed=args.seed, max_seconds=args.max_seconds, steps=args.steps)
    weight = penalties.DEFAULT_WEIGHT if args.weight is None else args.weight
    meta = run_meta(device, mode="variants", iters=args.iters, warmup=args.warmup,
                    steps=args.steps, weight=weight, seed=args.seed,
                    **{"max seconds per case": args.max_seconds})
    variants = _variants(args, device)
    cases = [Case(c, b, d, args.amp and d != "float32",
                  None if args.event_shape is None else tuple(args.event_shape))
             for d in args.dtype for c, bs in plan for b in bs]
    results: list[CaseResult] = []
    with Progress(len(cases), "bench variants", every=0.0, enabled=not args.quiet) as bar:
        for case in cases:
            start = time.perf_counter()
            try:
                results.append(run_case(case, variants, settings))
            except (GPSpecError, ValueError, TypeError, ImportError) as exc:
                return _fail(f"--critic {case.critic}: {exc}")
            bar.update(1, f"{case.critic} batch {case.batch} {case.precision}: "
                          f"{time.perf_counter() - start:.0f} s")
        bar.close("done")
    if args.json:
        report.write_json(args.json, results, meta)
    if args.markdown:
        report.write_markdown(args.markdown, results, meta)
    print(report.markdown(results, meta))
    return 0


def _render(paths: Sequence[str], markdown_path: str | None) -> int:
    """Print (and write) the tables of saved JSON files; their meta is the first file's."""
    results: list[CaseResult] = []
    meta: dict[str, object] = {}
    for path in paths:
        try:
            cases, file_meta = report.read_json(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return _fail(f"--from-json {path}: {type(exc).__name__}: {exc}")
        results += cases
        meta = meta or file_meta
    if markdown_path:
        report.write_markdown(markdown_path, results, meta)
    print(report.markdown(results, meta))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m gp_spec.benchmark.cli``."""
    parser = argparse.ArgumentParser(prog="gp-spec bench")
    configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
