"""What a check sees: the implementation, its spec and weight, and safe ways to call it."""

from __future__ import annotations

import hashlib
import io
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from gp_spec.specs import Spec

__all__ = [
    "CheckContext",
    "CheckFailed",
    "CheckSkipped",
    "ImplementationError",
    "Outcome",
    "global_state",
    "restore_state",
]


class CheckFailed(Exception):
    """The implementation breaks the clause; the message says measured vs expected."""

    def __init__(self, message: str, p_value: float | None = None) -> None:
        super().__init__(message)
        self.p_value = p_value


class CheckSkipped(Exception):
    """The clause cannot be checked here (no CUDA, inputs not observable, ...)."""


class ImplementationError(Exception):
    """The implementation raised, or returned something that is not a usable penalty."""


@dataclass(frozen=True)
class Outcome:
    """A passing check's message, and its p-value when it is statistical."""

    message: str
    p_value: float | None = None


def _tol(dtype: torch.dtype) -> tuple[float, float]:
    return (1e-9, 1e-12) if dtype == torch.float64 else (2e-4, 1e-6)


@dataclass(frozen=True)
class CheckContext:
    """Everything a check needs. ``dtype`` is the dtype of the check's inputs."""

    impl: Callable[..., Any]
    label: str
    spec: Spec
    weight: float
    device: torch.device
    seed: int
    check_id: str
    dtype: torch.dtype = torch.float64

    # -- random inputs -------------------------------------------------------------------
    def generator(self, salt: str = "") -> torch.Generator:
        """A CPU generator seeded from (seed, check id, salt): verdicts never flicker."""
        digest = hashlib.sha256(f"{self.seed}|{self.check_id}|{salt}".encode()).digest()
        return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)

    def randn(self, *shape: int, salt: str = "", dtype: torch.dtype | None = None) -> Tensor:
        g = self.generator(salt)
        t = torch.randn(shape, generator=g, dtype=torch.float64)
        return t.to(device=self.device, dtype=dtype or self.dtype)

    def tensor(self, data: Any, dtype: torch.dtype | None = None) -> Tensor:
        return torch.as_tensor(data, dtype=dtype or self.dtype).to(self.device)

    # -- calling the implementation ------------------------------------------------------
    def call(self, critic: torch.nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        """Call the implementation and require a finite 0-dim floating tensor back."""
        sink = io.StringIO()
        try:
            with redirect_stdout(sink):
                out = self.impl(critic, real, fake)
        except (CheckFailed, CheckSkipped):
            raise
        except Exception as exc:  # the implementation's own error, reported per check
            raise ImplementationError(_describe(exc)) from exc
        if not isinstance(out, Tensor):
            raise ImplementationError(
                f"returned {type(out).__name__}, but should return a 0-dim torch.Tensor"
            )
        if out.ndim != 0:
            raise ImplementationError(
                f"returned a tensor of shape {tuple(out.shape)}, but should return a 0-dim "
                "tensor (reduce with .mean() over the batch)"
            )
        if not out.is_floating_point():
            raise ImplementationError(f"returned dtype {out.dtype}, but should be floating")
        value = float(out.detach().double().cpu())
        if not math.isfinite(value):
            raise CheckFailed(f"{self.label}: penalty={value}, but should be finite")
        return out

    def value(self, critic: torch.nn.Module, real: Tensor, fake: Tensor) -> float:
        """The penalty as a Python float."""
        return float(self.call(critic, real, fake).detach().double().cpu())

    def close(self, measured: float, expected: float, dtype: torch.dtype | None = None) -> bool:
        rtol, atol = _tol(dtype or self.dtype)
        return abs(measured - expected) <= atol + rtol * abs(expected)

    def fail(self, observed: str, expected: str, hint: str = "") -> CheckFailed:
        """A failure in the house format ``<impl>: <observed>, but should be <expected> [src]``."""
        msg = f"{self.label}: {observed}, but should be {expected} [{self.spec.citation}]"
        return CheckFailed(msg + (f". {hint}" if hint else ""))


_LIBRARY_DIRS = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    os.path.dirname(os.path.abspath(torch.__file__)),
)


def _describe(exc: BaseException) -> str:
    """One line: the exception type, its message, and where in the user's code it came from."""
    tb = exc.__traceback__
    where = ""
    while tb is not None:
        code = tb.tb_frame.f_code
        if not os.path.abspath(code.co_filename).startswith(_LIBRARY_DIRS):
            where = f" (at {code.co_filename}:{tb.tb_lineno} in {code.co_name})"
        tb = tb.tb_next
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"implementation raised {type(exc).__name__}: {text}{where}"


# -- global torch state: snapshot, compare, restore ---------------------------------------

def global_state() -> dict[str, Any]:
    """The pieces of global torch state an implementation must leave as it found them."""
    state: dict[str, Any] = {
        "grad_enabled": torch.is_grad_enabled(),
        "default_dtype": torch.get_default_dtype(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "anomaly_detection": torch.is_anomaly_enabled(),
        "num_threads": torch.get_num_threads(),
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "matmul_precision": torch.get_float32_matmul_precision(),
    }
    return state


def restore_state(state: dict[str, Any]) -> None:
    """Put back a snapshot taken by :func:`global_state`."""
    torch.set_grad_enabled(state["grad_enabled"])
    torch.set_default_dtype(state["default_dtype"])
    torch.use_deterministic_algorithms(state["deterministic_algorithms"])
    torch.set_anomaly_enabled(state["anomaly_detection"])
    torch.set_num_threads(state["num_threads"])
    torch.backends.cudnn.benchmark = state["cudnn_benchmark"]
    torch.backends.cudnn.deterministic = state["cudnn_deterministic"]
    torch.set_float32_matmul_precision(state["matmul_precision"])


@contextmanager
def rng_sandbox(seed: int, device: torch.device) -> Iterator[None]:
    """Seed the global RNGs for one check and restore the caller's RNG state afterwards."""
    cpu_state = torch.get_rng_state()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.set_rng_state(cpu_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)
