"""Harness durability (issue 8, part 5): a run killed with SIGKILL at random moments resumes
from its last complete checkpoint with nothing lost or corrupted, and a checkpoint killed in the
middle of being written is never left half-written.

These tests kill real processes; the kill moments are drawn from a seeded generator, so the same
moments are used on every run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from gp_spec.harness.checkpoint import load_checkpoint

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")

STEPS = 60
TRAIN = [
    sys.executable, "-m", "gp_spec.harness.cli", "--dataset", "8gaussians",
    "--objective", "wasserstein", "--penalty", "wgan-lp", "--weight", "5",
    "--steps", str(STEPS), "--seed", "0", "--hidden", "16,16", "--batch", "32",
    "--critic-steps", "2", "--warmup-generator-steps", "0", "--log-every", "1",
    "--checkpoint-every", "3", "--eval-samples", "64", "--no-plots", "--quiet",
    "--threads", "1", "--device", "cpu",
]


def _metrics(out: Path) -> list[dict[str, object]]:
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k != "elapsed_s"} for x in lines]


def _logged_steps(out: Path) -> int:
    try:
        return len((out / "metrics.jsonl").read_text().splitlines())
    except FileNotFoundError:
        return 0


def _run_and_kill_at(out: Path, step: int, *, resume: bool) -> None:
    """Start training and SIGKILL it once ``step`` lines are logged (or it ends by itself)."""
    proc = subprocess.Popen(TRAIN + ["--out", str(out)] + (["--resume"] if resume else []),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if _logged_steps(out) >= step:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait(timeout=60)


def test_sigkill_at_random_steps_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    subprocess.run([*TRAIN, "--out", str(reference)], check=True, capture_output=True)

    killed = tmp_path / "killed"
    rng = random.Random(20261123)
    targets = sorted(rng.sample(range(2, STEPS - 2), 3))  # e.g. between checkpoints
    for i, step in enumerate(targets):
        _run_and_kill_at(killed, step, resume=i > 0)
        # After a kill the last complete checkpoint always loads (never half-written).
        if (killed / "checkpoint.pt").exists():
            assert int(load_checkpoint(killed / "checkpoint.pt")["step"]) <= _logged_steps(killed)
    done = subprocess.run([*TRAIN, "--out", str(killed), "--resume"], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr

    # Nothing lost, nothing duplicated: the same metric lines, step for step.
    got, want = _metrics(killed), _metrics(reference)
    assert [m["step"] for m in got] == list(range(1, STEPS + 1))
    assert got == want
    a = load_checkpoint(killed / "checkpoint.pt")
    b = load_checkpoint(reference / "checkpoint.pt")
    for net in ("critic", "generator"):
        for key, value in b[net].items():
            assert torch.equal(a[net][key], value), f"{net}.{key} differs after resume"


WRITER = textwrap.dedent(
    """
    import sys, torch
    from gp_spec.harness.checkpoint import save_checkpoint
    i = 0
    while True:
        g = torch.Generator().manual_seed(i)
        save_checkpoint(sys.argv[1], {"step": i, "blob": torch.randn(1_000_000, generator=g)})
        i += 1
    """
)


def test_sigkill_while_writing_checkpoints_never_leaves_a_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    rng = random.Random(7)
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, "OMP_NUM_THREADS": "1"})
        deadline = time.monotonic() + 60
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3))  # somewhere inside a write, most of the time
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        payload = load_checkpoint(path)  # raises CheckpointError if torn
        g = torch.Generator().manual_seed(int(payload["step"]))
        assert torch.equal(payload["blob"], torch.randn(1_000_000, generator=g))
