"""``python bench/conformance_time.py``: the wall time of one full conformance ``check``.

Every reference of ``gp_spec.SPECS``, the shipped examples (including the image-only one,
whose domain is detected) and three real conventions (an R1 in ``(real_pred, real_img)``
form, a StudioGAN-style dict critic with labels, a hard-coded batch size), each checked
``--rounds`` times in one warm process, interleaved. Writes
``bench/results/conformance-check-<date>.{md,json}`` with the machine named, and prints the
median over implementations of the per-implementation medians (issue 14: about a second on
2 cores).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from conformance.rewrites import REWRITES
from gp_spec import SPECS
from gp_spec._machine import cpu_cores, cpu_model
from gp_spec.conformance import check
from gp_spec.examples import penalties as examples

RESULTS = Path(__file__).resolve().parent / "results"


def cases() -> list[tuple[str, Callable[..., Any], str, float | None, dict[str, Any]]]:
    out: list[tuple[str, Callable[..., Any], str, float | None, dict[str, Any]]] = [
        (f"SPECS[{name!r}].reference", spec.reference, name, None, {})
        for name, spec in SPECS.items()
    ]
    out += [
        ("examples.wgan_gp", examples.wgan_gp, "wgan-gp", 10.0, {}),
        ("examples.image_wgan_gp", examples.image_wgan_gp, "wgan-gp", 10.0, {}),
    ]
    by_name = {r.name: r for r in REWRITES}
    for name in ("d_r1_loss", "dict_critic_labels", "hard_coded_batch"):
        r = by_name[name]
        out.append((f"rewrites.{name}", r.fn, r.spec, r.weight, dict(r.options)))
    return out


def _machine() -> str:
    return f"{cpu_model()}, {cpu_cores()} CPU cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/conformance_time.py")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    todo = cases()
    check(SPECS["wgan-gp"].reference, "wgan-gp", checks=["term.at-one"])  # lazy imports
    times: dict[str, list[float]] = {name: [] for name, *_ in todo}
    counts: dict[str, int] = {}
    for _ in range(args.rounds):  # interleaved: every implementation once per round
        for name, fn, spec, weight, options in todo:
            start = time.perf_counter()
            report = check(fn, spec, weight=weight, **options)
            times[name].append(time.perf_counter() - start)
            assert report.passed, report.to_text()
            counts[name] = len(report.results)
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    overall = statistics.median(medians.values())
    stamp = _dt.datetime.now(_dt.timezone.utc)
    lines = [
        f"One full conformance `check()` per implementation, {args.rounds} interleaved rounds "
        f"in one warm process; {_machine()}, torch {torch.__version__} ({torch.get_num_threads()}"
        f" intra-op threads outside the checks, 1 inside), {stamp:%Y-%m-%d %H:%M} UTC. "
        f"Command: `python bench/conformance_time.py --rounds {args.rounds}`.",
        "",
        f"**Median over the {len(todo)} implementations of their median: {overall:.3f} s**; "
        f"slowest median {max(medians.values()):.3f} s.",
        "",
        "| implementation | spec | checks | median s | min s | max s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, _fn, spec, _w, _o in todo:
        ts = times[name]
        lines.append(f"| `{name}` | {spec} | {counts[name]} | {medians[name]:.3f} | "
                     f"{min(ts):.3f} | {max(ts):.3f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    base = args.out / f"conformance-check-{stamp:%Y%m%d}"
    base.with_suffix(".md").write_text(text)
    base.with_suffix(".json").write_text(json.dumps(
        {"machine": _machine(), "torch": torch.__version__, "rounds": args.rounds,
         "median_of_medians_s": overall, "seconds": times}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
