"""gp_spec.harness.checkpoint: atomic writes and detection of corrupted files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gp_spec.harness.checkpoint import MAGIC, atomic_write_bytes, load_checkpoint, save_checkpoint
from gp_spec.harness.errors import CheckpointError


def _payload() -> dict[str, object]:
    g = torch.Generator().manual_seed(7)
    return {"step": 3, "weights": torch.randn(4, 4, generator=g), "rng": g.get_state(),
            "nested": {"betas": (0.5, 0.9), "none": None}}


def test_roundtrip_is_exact(tmp_path: Path) -> None:
    p = tmp_path / "ck.pt"
    payload = _payload()
    save_checkpoint(p, payload)
    back = load_checkpoint(p)
    assert back["step"] == 3 and back["nested"] == {"betas": (0.5, 0.9), "none": None}
    assert torch.equal(back["weights"], payload["weights"])  # type: ignore[arg-type]
    assert torch.equal(back["rng"], payload["rng"])  # type: ignore[arg-type]
    assert [f.name for f in tmp_path.iterdir()] == ["ck.pt"], "no temporary file left behind"


def test_a_flipped_payload_byte_is_reported_as_corrupted(tmp_path: Path) -> None:
    p = tmp_path / "ck.pt"
    save_checkpoint(p, _payload())
    raw = bytearray(p.read_bytes())
    raw[-10] ^= 0xFF
    p.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="corrupted: sha256"):
        load_checkpoint(p)


def test_a_truncated_file_is_reported(tmp_path: Path) -> None:
    p = tmp_path / "ck.pt"
    save_checkpoint(p, _payload())
    p.write_bytes(p.read_bytes()[: len(MAGIC) + 80])
    with pytest.raises(CheckpointError, match="corrupted"):
        load_checkpoint(p)


def test_foreign_and_missing_files_are_reported(tmp_path: Path) -> None:
    p = tmp_path / "plain.pt"
    torch.save({"a": 1}, p)
    with pytest.raises(CheckpointError, match="bad header"):
        load_checkpoint(p)
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path / "missing.pt")


def test_atomic_write_replaces_the_whole_file(tmp_path: Path) -> None:
    p = tmp_path / "f.bin"
    atomic_write_bytes(p, b"x" * 1000)
    atomic_write_bytes(p, b"short")
    assert p.read_bytes() == b"short"
