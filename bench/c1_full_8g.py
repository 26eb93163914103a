"""C1 at full size on 8 Gaussians only, seed by seed (a CPU subset of C1's full design).

    python bench/c1_full_8g.py --seeds 0 1 [--runs DIR] [--record ROOT] [--threads 1]
    python bench/c1_full_8g.py --summary [--record ROOT]     # Markdown table of the seeds so far

Trains (or loads from the run cache ``DIR``) the full-mode C1 configurations on 8 Gaussians
(3x512 MLPs, 1000 generator steps, 25 x 100 warm-up critic updates, evaluation every 5 steps;
exactly the configs ``gp-spec reproduce C1`` uses, so the cache is shared with it) for LP and GP
at weights 5 and 10, and writes per seed the C1 metrics, with criterion v2's oscillation, into
``ROOT/C1/subset-full-8gaussians-cpu-<vendor>/seeds/seed-K.json`` with machine, torch, commit
and wall time. A subset, not a verdict: the full design is 10 seeds and three data sets.

``--summary`` prints, from the seed files alone, each metric per seed and C1 criterion v3's
statistic on the subset (paired by seed, GP minus LP, lower one-sided 95% Student-t bound of
the mean; v3 passes a check when the bound is > 0 over its registered 10 seeds). With fewer
seeds the bound is wider, so it can only err towards "not shown".
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from gp_spec.harness.checkpoint import atomic_write_text
from gp_spec.harness.claims._common import RunContext, t_lower_bound, train_cached
from gp_spec.harness.claims._records import commit, machine, machine_slug
from gp_spec.harness.claims.petzka import _oscillation, _roughness, _toy_config, _w1_final


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[])
    parser.add_argument("--summary", action="store_true",
                        help="print a Markdown table of the recorded seeds and exit")
    parser.add_argument("--runs", type=Path, default=Path("/tmp/gp-spec-c1-full/runs"))
    parser.add_argument("--record", type=Path, default=Path("bench/results/claims"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    info = machine(torch.device("cpu"))
    folder = args.record / "C1" / f"subset-full-8gaussians-{machine_slug(info)}" / "seeds"
    if args.summary:
        print(summary(folder))
        return 0
    if not args.seeds:
        parser.error("give --seeds K [K ...] to train, or --summary")
    folder.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        ctx = RunContext(args.runs.parent / "C1", args.runs, False, (seed,), "cpu")
        values: dict[str, float] = {}
        t0 = time.perf_counter()
        for w in (5.0, 10.0):
            for pen, name in (("wgan-lp", "LP"), ("wgan-gp", "GP")):
                cfg = _toy_config(ctx, "8gaussians", pen, w, seed)
                rec = train_cached(ctx, "C1", f"8gaussians-{pen}-w{w:g}-s{seed}", cfg)
                for metric, fn in (("w1_final", _w1_final), ("roughness", _roughness),
                                   ("oscillation", _oscillation)):
                    values[f"8gaussians/{name}/w{w:g}/{metric}"] = fn(rec)
        record = {"claim": "C1", "mode": "full, 8 Gaussians only (subset)", "seed": seed,
                  "values": values, "machine": info, "torch": torch.__version__,
                  "commit": commit(), "wall_s": round(time.perf_counter() - t0, 1),
                  "wall_note": "training time of this seed's four runs (0 if loaded)",
                  "command": f"python bench/c1_full_8g.py --seeds {seed}"}
        atomic_write_text(folder / f"seed-{seed}.json", json.dumps(record, indent=2) + "\n")
        print(json.dumps(record["values"], indent=1), flush=True)
    return 0


def summary(folder: Path) -> str:
    """Markdown: per metric and weight, LP and GP per seed, and v3's paired bound."""
    records = sorted((json.loads(p.read_text()) for p in folder.glob("seed-*.json")),
                     key=lambda r: r["seed"])
    if not records:
        return f"no seed records in {folder}"
    seeds = [r["seed"] for r in records]
    lines = [f"Seeds {seeds} ({len(seeds)} of the design's 10), 8 Gaussians, full size; "
             "per seed LP / GP; paired GP - LP with the lower one-sided 95% t-bound (C1 v3's "
             "statistic; > 0 means GP is larger).", "",
             "| weight | metric | LP per seed | GP per seed | GP - LP mean | lower 95% bound |",
             "| --- | --- | --- | --- | --- | --- |"]
    for w in ("5", "10"):
        for metric in ("w1_final", "oscillation", "roughness"):
            lp = [r["values"][f"8gaussians/LP/w{w}/{metric}"] for r in records]
            gp = [r["values"][f"8gaussians/GP/w{w}/{metric}"] for r in records]
            diff = [g - a for a, g in zip(lp, gp, strict=True)]
            low = t_lower_bound(diff) if len(diff) > 1 else float("nan")
            lines.append(f"| {w} | {metric} | {', '.join(f'{x:.4g}' for x in lp)} | "
                         f"{', '.join(f'{x:.4g}' for x in gp)} | "
                         f"{sum(diff) / len(diff):+.4g} | {low:+.4g} |")
    wall = sum(r["wall_s"] for r in records) / 60
    lines += ["", f"Training time: {wall:.0f} min for {4 * len(records)} runs "
              f"({records[0]['machine']['cpu']}, {records[0]['machine']['torch_threads']} "
              f"torch thread, torch {records[0]['torch']})."]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
