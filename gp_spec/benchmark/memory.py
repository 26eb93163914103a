"""Peak memory of one call above what was allocated before it, on CUDA and on the CPU.

CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``. CPU: a
``TorchDispatchMode`` that sees every tensor an operator returns (backward and optimizer
operators included) and follows each new storage until it is freed (a weak reference to the
storage's Python object, which PyTorch keeps alive exactly as long as the storage). Unlike the
profiler's memory events, which the earlier versions used, it prints nothing on stderr.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

__all__ = ["StorageTracker", "peak_memory_mib"]


class StorageTracker(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Bytes of CPU storages created while active: ``current`` and its running ``peak``.

    Storages that existed before (parameters, data, optimizer state) are not counted unless an
    operator returns them; an operator writing in place into one adds it once (its bytes were
    resident anyway, so a measured peak may include them; the benchmark frees gradients
    first, so the usual case is the gradients' own allocation).
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.current = 0
        self.peak = 0
        self._live: dict[int, weakref.ref[Any]] = {}

    def _freed(self, key: int, nbytes: int, _ref: object = None) -> None:
        if self._live.pop(key, None) is not None:
            self.current -= nbytes

    def _track(self, t: torch.Tensor) -> None:
        storage = t.untyped_storage()
        key = id(storage)
        if key in self._live:
            return
        nbytes = int(storage.nbytes())
        self._live[key] = weakref.ref(storage, functools.partial(self._freed, key, nbytes))
        self.current += nbytes
        self.peak = max(self.peak, self.current)

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (),
                           kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.device.type == "cpu" and not t.is_meta:
                self._track(t)
        return out


def peak_memory_mib(fn: Callable[[], object], device: torch.device) -> float | None:
    """Peak memory allocated while ``fn`` runs, above what was allocated before, in MiB.

    None where it cannot be measured (another device type, or ``fn`` raised under the
    CPU tracker, e.g. a compiled function that refuses a dispatch mode).
    """
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        fn()
        torch.cuda.synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - base) / 2**20
    if device.type != "cpu":
        return None
    try:
        with StorageTracker() as tracker:
            fn()
    except Exception:  # memory is a side measurement: never fail the benchmark for it
        return None
    return float(tracker.peak) / 2**20
