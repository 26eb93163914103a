"""Throughput of many runs in one process against the same runs one after another.

    python bench/many_runs.py [--device cpu] [--threads 1] [--repeats 2] [--out FILE.md]

For each size (MLP widths, batch) it trains K runs that differ in seed and weight, once with
``gp_spec.harness.train.train`` one run after another and once with
``gp_spec.harness.many.train_many`` (all K stacked), alternating the two ``--repeats`` times in
one process, and reports the best wall time of each and the ratio. Both do exactly the same
work: the same configurations, ``steps`` generator steps of ``critic_steps`` critic updates,
one evaluation at the end (``log_every = steps``), no files. "run-steps/s" counts generator
steps summed over the K runs per second of wall time.

Numbers depend on the machine and on its load; the ratio is measured side by side.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from gp_spec._machine import cpu_model
from gp_spec.harness import TrainConfig, train
from gp_spec.harness.many import train_many


@dataclass(frozen=True)
class Size:
    name: str
    hidden: tuple[int, ...]
    batch: int
    runs: int
    steps: int


SIZES = (
    Size("tiny 2x16, batch 64", (16, 16), 64, 16, 20),
    Size("C1 quick 3x64, batch 256", (64, 64, 64), 256, 16, 10),
    Size("C1 full 3x512, batch 256", (512, 512, 512), 256, 4, 4),
)


def _configs(size: Size, device: str) -> list[TrainConfig]:
    base = TrainConfig(dataset="8gaussians", penalty="wgan-lp", critic_hidden=size.hidden,
                       generator_hidden=size.hidden, batch_size=size.batch, critic_steps=5,
                       warmup_generator_steps=0, steps=size.steps, log_every=size.steps,
                       checkpoint_every=size.steps, eval_samples=200, optimizer="rmsprop",
                       lr_critic=5e-5, lr_generator=5e-5, device=device)
    weights = (5.0, 10.0)
    return [base.replace(seed=k // 2, weight=weights[k % 2]) for k in range(size.runs)]


def _sequential(cfgs: list[TrainConfig]) -> float:
    t0 = time.perf_counter()
    for c in cfgs:
        train(c, None, progress=None, plots_at_end=False)
    return time.perf_counter() - t0


def _together(cfgs: list[TrainConfig]) -> float:
    t0 = time.perf_counter()
    train_many(cfgs, None, progress=None, plots_at_end=False)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--sizes", default="all", help="comma-separated indices into SIZES")
    parser.add_argument("--out", type=Path, default=None, help="write the table here (.md)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    chosen = SIZES if args.sizes == "all" else tuple(SIZES[int(i)] for i in args.sizes.split(","))
    _together(_configs(Size("warm-up", (8,), 16, 2, 2), args.device))  # imports, allocator
    rows = []
    for size in chosen:
        cfgs = _configs(size, args.device)
        seq, many = [], []
        for _ in range(args.repeats):
            seq.append(_sequential(cfgs))
            many.append(_together(cfgs))
        s, m = min(seq), min(many)
        work = size.runs * size.steps
        rows.append(f"| {size.name} | {size.runs} | {size.steps} x (5 critic + 1 generator) | "
                    f"{s:.2f} s ({work / s:.1f}) | {m:.2f} s ({work / m:.1f}) | {s / m:.2f}x |")
        print(rows[-1], flush=True)
    device = args.device if args.device != "cpu" else \
        f"cpu ({cpu_model()}), {args.threads} thread(s)"
    header = [
        f"Many runs in one process vs one after another: device {device}, torch "
        f"{torch.__version__}, best of {args.repeats} alternating repeats, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "| size | runs K | per run | sequential: wall (run-steps/s) | together: wall "
        "(run-steps/s) | speed-up |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    text = "\n".join(header + rows) + "\n"
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
