"""Hard constraints on the critic (SPEC §3, last row)."""

from __future__ import annotations

import math

import torch
from torch import nn

from gp_spec.errors import InvalidInputError

__all__ = ["clip_weights"]


def clip_weights(module: nn.Module, c: float) -> None:
    """Clamp every parameter of ``module`` to ``[-c, c]`` in place (call after each critic step).

    Args:
      module: the critic.
      c: clipping bound, finite and > 0 (0.01 in WGAN).

    Source: 003 §4, App. B; Arjovsky et al. 2017.
    """
    if not (isinstance(c, (int, float)) and math.isfinite(c) and c > 0):
        raise InvalidInputError(f"c={c!r}, but should be a finite number > 0")
    with torch.no_grad():
        for p in module.parameters():
            p.clamp_(-c, c)
