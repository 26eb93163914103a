"""What a benchmark run records about where it ran: device, versions, commit, date, settings."""

from __future__ import annotations

import datetime
import os

import torch

from gp_spec._machine import cpu_model, git_commit

__all__ = ["device_name", "git_commit", "run_meta"]


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's model and torch's thread count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_model()} ({torch.get_num_threads()} threads)"


def run_meta(device: torch.device, **settings: object) -> dict[str, object]:
    """Device, versions, commit, date and the given settings (None values left out)."""
    import gp_spec

    meta: dict[str, object] = {
        "device": device_name(device),
        "torch": torch.__version__,
        "gp_spec": gp_spec.__version__,
        "commit": git_commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    meta.update({k: v for k, v in settings.items() if v is not None})
    if device.type == "cpu" and hasattr(os, "getloadavg"):
        meta["load average (1 min, at start)"] = round(os.getloadavg()[0], 2)
    if device.type == "cuda":
        meta["cuda"] = torch.version.cuda
        meta["cudnn.benchmark"] = torch.backends.cudnn.benchmark
        meta["cudnn.allow_tf32"] = torch.backends.cudnn.allow_tf32
        meta["matmul.allow_tf32"] = torch.backends.cuda.matmul.allow_tf32
    return meta
