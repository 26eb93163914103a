"""One seed helper: independent 63-bit seeds for named random streams.

Every random stream in gp_spec (a conformance check's inputs, a training run's data,
noise and initialisation) derives its seed here, so the same parts always give the same
stream and different parts give unrelated ones.
"""

from __future__ import annotations

import hashlib

import torch

__all__ = ["derive_seed", "seeded_generator"]


def derive_seed(*parts: object) -> int:
    """``int(sha256("/".join(parts))[:8], little-endian) >> 1``: a seed in ``[0, 2^63)``.

    >>> derive_seed(0, "init") == derive_seed(0, "init") != derive_seed(1, "init")
    True
    """
    text = "/".join(str(p) for p in parts)
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def seeded_generator(*parts: object, device: torch.device | str = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with :func:`derive_seed` of ``parts``."""
    return torch.Generator(device=device).manual_seed(derive_seed(*parts))
