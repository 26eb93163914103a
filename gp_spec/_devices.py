"""One device resolver for every front door (conformance, training, benchmarks)."""

from __future__ import annotations

import torch

from gp_spec.errors import DeviceUnavailableError

__all__ = ["resolve_device"]


def resolve_device(name: str | torch.device, *, local_rank: int = 0) -> torch.device:
    """The torch device ``name`` names, checked to exist on this machine.

    ``"auto"`` is ``cuda:local_rank`` when CUDA is available, else ``cpu``; ``"cuda"``
    without an index is ``cuda:local_rank`` (one process per GPU under ``torchrun``).

    Raises:
      DeviceUnavailableError: not a torch device string, a device type other than cpu,
        cuda and mps, or a device this machine does not have.
    """
    if isinstance(name, str) and name == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() \
            else torch.device("cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise DeviceUnavailableError(
            f"device={name!r} is not a torch device ({exc}); use auto, cpu, cuda or cuda:N"
        ) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceUnavailableError(
                f"device={name!r}, but CUDA is not available here; use cpu (or auto)"
            )
        index = local_rank if dev.index is None else dev.index
        if index >= torch.cuda.device_count():
            raise DeviceUnavailableError(
                f"device={name!r}, but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
        return torch.device("cuda", index)
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceUnavailableError(f"device={name!r}, but MPS is not available here")
    if dev.type not in ("cpu", "mps"):
        raise DeviceUnavailableError(
            f"device={name!r}: only cpu, cuda and mps are supported (or auto)"
        )
    return dev
