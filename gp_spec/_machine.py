"""One home for what a recorded result says about where it ran: the CPU's model, the cores,
and the git commit of the checkout (benchmarks, claims records, stability tables)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

__all__ = ["cpu_cores", "cpu_model", "git_commit"]

_ROOT = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo where there is one, else the platform's."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_cores() -> int:
    """Logical CPU cores (0 when unknown)."""
    return int(os.cpu_count() or 0)


def git_commit(repo: Path | None = None) -> str | None:
    """``git describe --always --dirty``-style short commit of ``repo`` (default: the checkout
    gp_spec runs from); None outside a git checkout or without git."""
    try:
        out = subprocess.run(
            ["git", "-C", str(repo or _ROOT), "describe", "--always", "--dirty", "--abbrev=10"],
            capture_output=True, text=True, timeout=10, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None
