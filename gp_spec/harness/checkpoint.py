"""Atomic, self-verifying checkpoints.

File layout: ``MAGIC``, the hex SHA-256 of the payload, a newline, then the payload (a
``torch.save`` of a dict of tensors and plain values). Writing goes to a temporary file in the
same folder, is flushed and fsynced, then ``os.replace``d over the target (atomic on POSIX), and
the folder is fsynced: a crash leaves either the old or the new checkpoint, never a mix.
Loading checks the magic and the digest before unpickling (``weights_only=True``), so a
truncated or altered file is reported as :class:`CheckpointError`, never loaded.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from gp_spec.harness.errors import CheckpointError

__all__ = ["MAGIC", "atomic_write_bytes", "atomic_write_text", "load_checkpoint",
           "save_checkpoint"]

MAGIC = b"GPSPEC-CHECKPOINT-1\n"
_DIGEST_LEN = 64


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file, flush, fsync, ``os.replace``, dir fsync."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def atomic_write_text(path: str | Path, text: str) -> None:
    """:func:`atomic_write_bytes` of UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Serialise ``payload`` with ``torch.save``, prefix magic and SHA-256, write atomically."""
    buf = io.BytesIO()
    torch.save(payload, buf)
    data = buf.getvalue()
    digest = hashlib.sha256(data).hexdigest().encode("ascii")
    atomic_write_bytes(path, MAGIC + digest + b"\n" + data)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and verify a checkpoint written by :func:`save_checkpoint`; tensors on the CPU.

    Raises:
      CheckpointError: missing file, wrong magic, digest mismatch (corrupted or truncated),
        or a payload that cannot be unpickled.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{p}: cannot read checkpoint ({exc})") from exc
    head = len(MAGIC) + _DIGEST_LEN + 1
    if not raw.startswith(MAGIC) or len(raw) < head or raw[head - 1:head] != b"\n":
        raise CheckpointError(f"{p}: not a gp_spec checkpoint (bad header); it is corrupted or "
                              "was written by something else; delete it or restore a backup")
    expected = raw[len(MAGIC):head - 1].decode("ascii", errors="replace")
    data = raw[head:]
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise CheckpointError(
            f"{p}: checkpoint is corrupted: sha256 of its payload is {actual}, but the header "
            f"records {expected} ({len(data)} payload bytes); delete it to start over"
        )
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # the digest matched, so this is a format/version problem
        raise CheckpointError(f"{p}: checkpoint payload cannot be loaded ({exc})") from exc
    if not isinstance(payload, dict):
        raise CheckpointError(f"{p}: payload is a {type(payload).__name__}, but should be a dict")
    return payload
