"""Operators dispatched per critic step, by variant: the device-independent part of the cost.

Where a step is launch-bound (small critics and batches on a GPU), its time is about the
number of kernels it launches times the launch latency. This script counts the leaf ATen
operators each variant dispatches for one critic loss + backward on the CPU (the ``meta``
device would be shape-only but decomposes operators differently, so it is not used).
*Kernel ops* excludes views and metadata operators, which launch nothing on a GPU. The
reference's count includes its CPU-only finiteness check of ``real`` and ``fake`` (a sum and
a host read each), which CUDA inputs skip; the table states that part separately.

    python bench/op_counts.py [--markdown PATH]

It measures no time; bench/README.md quotes its table next to the timed GPU matrices.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from gp_spec._validation import _all_finite
from gp_spec.benchmark.critics import build_critic
from gp_spec.benchmark.variants import standard_variants

# Operators that create views or touch only metadata: no kernel on an accelerator.
NO_KERNEL = frozenset({
    "aten::alias", "aten::as_strided", "aten::detach", "aten::empty", "aten::empty_like",
    "aten::empty_strided", "aten::expand", "aten::flatten", "aten::lift_fresh",
    "aten::permute", "aten::reshape", "aten::resolve_conj", "aten::resolve_neg",
    "aten::select", "aten::slice", "aten::squeeze", "aten::t", "aten::transpose",
    "aten::unsqueeze", "aten::view", "aten::_reshape_alias", "aten::_unsafe_view",
    "aten::result_type", "aten::is_nonzero", "aten::to", "aten::numpy_T",
    "aten::unbind", "aten::split", "aten::chunk", "aten::contiguous",
})
VARIANTS = ("plain", "peer", "reference", "fused")


def count_ops(critic_name: str, batch: int, variant_name: str) -> tuple[int, int]:
    """``(leaf ATen ops, kernel ops)`` of one loss + backward of ``variant_name`` (CPU)."""
    critic, event = build_critic(critic_name)
    variant = {v.name: v for v in standard_variants()}[variant_name]
    gen = torch.Generator().manual_seed(0)
    real, fake = torch.randn((batch, *event), generator=gen), torch.randn((batch, *event))

    def step() -> None:
        variant.loss(critic, real, fake, gen).total.backward()

    step()  # warm-up (lazy initialisation is not part of a step)
    return _count(step)


def _count(fn: Callable[[], object]) -> tuple[int, int]:
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    aten = [e for e in prof.events() if e.name.startswith("aten::")]
    # leaves only: a composite operator (aten::linear) dispatches its parts (aten::addmm)
    leaves = Counter(e.name for e in aten
                     if not any(c.name.startswith("aten::") for c in e.cpu_children))
    total = sum(leaves.values())
    kernels = sum(n for name, n in leaves.items() if name not in NO_KERNEL)
    return total, kernels


def check_ops(critic_name: str, batch: int = 64) -> int:
    """Kernel ops of the reference's CPU-only finiteness check of ``real`` and ``fake``."""
    _critic, event = build_critic(critic_name)
    x = torch.randn((batch, *event))
    return _count(lambda: (_all_finite(x), _all_finite(x)))[1]


def table(critics: tuple[str, ...] = ("mlp", "dcgan", "resnet"), batch: int = 64) -> str:
    """Markdown table: per critic, leaf ATen ops / kernel ops per step for each variant."""
    lines = ["| critic | " + " | ".join(VARIANTS) + " | CPU-only check in reference | "
             "reference - peer, kernel ops, without the check |",
             "| --- | " + " | ".join("---" for _ in VARIANTS) + " | --- | --- |"]
    for c in critics:
        got = {v: count_ops(c, batch, v) for v in VARIANTS}
        cpu_only = check_ops(c, batch)
        cells = " | ".join(f"{got[v][0]} / {got[v][1]}" for v in VARIANTS)
        diff = got["reference"][1] - cpu_only - got["peer"][1]
        lines.append(f"| {c} | {cells} | {cpu_only} | {diff:+d} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    args = parser.parse_args(argv)
    text = (f"leaf ATen ops / kernel ops per critic step (loss + backward), CPU, "
            f"torch {torch.__version__}\n\n{table()}\n")
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
