"""Typed exceptions of the training harness (all are :class:`gp_spec.errors.GPSpecError`)."""

from __future__ import annotations

from gp_spec.errors import GPSpecError

__all__ = ["CheckpointError", "ConfigError"]


class ConfigError(GPSpecError, ValueError):
    """A training configuration that cannot run: unknown name, bad value, refused DDP setting."""


class CheckpointError(GPSpecError, RuntimeError):
    """A checkpoint that is missing, truncated, corrupted or belongs to another run."""
