"""Committed results of the claims: one folder per recorded run of an experiment.

``DIR/<claim>/<mode>-<K>seeds-<machine>/`` holds ``result.json`` (the aggregate: every
criterion version's checks and verdict, the measurements, setup, machine, torch, commit, wall
time), the figures, and ``seeds/seed-<k>.json`` (every per-seed number of that seed, with the
same provenance and the training wall time charged to that seed). ``DIR`` is
``bench/results/claims`` in the repository; :mod:`gp_spec.harness.report` renders
REPRODUCTION.md from these files only.
"""

from __future__ import annotations

import json
import platform
import re
import shutil
from pathlib import Path
from typing import Any

import torch

from gp_spec._machine import cpu_cores, cpu_model, git_commit
from gp_spec.harness.checkpoint import atomic_write_text

__all__ = ["commit", "machine", "record", "record_folder"]


def machine(device: torch.device) -> dict[str, Any]:
    """What ran it: device kind and name, CPU model, logical cores, torch threads, OS."""
    info: dict[str, Any] = {"device": device.type, "cpu": cpu_model(),
                            "cpu_cores": cpu_cores(), "torch_threads": torch.get_num_threads(),
                            "os": f"{platform.system()} {platform.machine()}"}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def machine_slug(info: dict[str, Any]) -> str:
    """``cpu-intel``, ``cpu-amd``, ``cuda-nvidia-h200``...: the folder name's machine part."""
    if info.get("gpu"):
        name = str(info["gpu"]).lower()
        return "cuda-" + "-".join(w for w in re.findall(r"[a-z0-9]+", name)
                                  if w not in ("nvidia", "tensor", "core"))[:30]
    cpu = str(info.get("cpu", "")).lower()
    vendor = "intel" if "intel" in cpu else "amd" if "amd" in cpu else \
        re.sub(r"[^a-z0-9]+", "-", cpu).strip("-")[:20] or "unknown"
    return f"cpu-{vendor}"


def commit(repo: Path | None = None) -> str:
    """The short commit plus ``-dirty`` if the tree has changes; ``unknown`` outside a git
    checkout."""
    return git_commit(repo) or "unknown"


def record_folder(root: Path, result: dict[str, Any]) -> Path:
    """``root/<claim>/<mode>-<K>seeds-<machine>`` for an aggregate ``result``."""
    mode = str(result["mode"]).replace(", ", "-")
    n = len(result["seeds"])
    return root / str(result["claim"]) / f"{mode}-{n}seeds-{machine_slug(result['machine'])}"


def record(root: Path, result: dict[str, Any], figures_from: Path,
           seed_seconds: dict[int, float]) -> Path:
    """Write ``result`` and its per-seed files (and copies of its figures) under ``root``.

    Returns:
      The record folder.
    """
    folder = record_folder(root, result)
    (folder / "seeds").mkdir(parents=True, exist_ok=True)
    for old in (folder / "seeds").glob("seed-*.json"):
        old.unlink()
    for name in result["figures"]:
        src = figures_from / name
        if src.exists():
            shutil.copyfile(src, folder / Path(name).name)
    kept = {**result, "figures": [Path(n).name for n in result["figures"]]}
    atomic_write_text(folder / "result.json", json.dumps(kept, indent=2, allow_nan=False) + "\n")
    seeds = list(result["seeds"])
    provenance = {k: result[k] for k in ("claim", "mode", "machine", "torch", "commit",
                                         "command", "trainer", "finished")}
    for i, seed in enumerate(seeds):
        values = {key: vals[i] for key, vals in result["per_seed"].items()
                  if isinstance(vals, list) and len(vals) == len(seeds)}
        one = {**provenance, "seed": seed, "values": values,
               "wall_s": round(seed_seconds.get(seed, 0.0), 2) if seed_seconds else None,
               "wall_note": "training time charged to this seed (runs trained together: "
                            "their share of the group's time)" if seed_seconds else
                            "not measured per seed (see result.json elapsed_s)"}
        atomic_write_text(folder / "seeds" / f"seed-{seed}.json",
                          json.dumps(one, indent=2, allow_nan=False) + "\n")
    return folder
