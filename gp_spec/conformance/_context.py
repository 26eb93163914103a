"""What a check sees: the implementation, its spec and weight, and safe ways to call it."""

from __future__ import annotations

import hashlib
import math
import os
import random
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gp_spec.specs import Spec

__all__ = [
    "CheckContext",
    "CheckFailed",
    "CheckSkipped",
    "CheckTimeout",
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


class CheckTimeout(BaseException):
    """Raised inside a check that ran past its time limit.

    A ``BaseException`` (like ``KeyboardInterrupt``) so that an implementation's own
    ``except Exception:`` cannot swallow it, and :meth:`CheckContext.call` does not report it
    as "the implementation raised".
    """


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
        """Call the implementation and require a finite 0-dim floating tensor back.

        Raises:
          ImplementationError: it raised (``SystemExit`` included: an implementation cannot
            end the process), or returned something that is not a usable penalty.
          CheckFailed: the value is not finite, or the call changed the critic.
          KeyboardInterrupt, CheckTimeout: propagated unchanged (the user stops the run; the
            engine's time limit).
        """
        before = _critic_state(critic)
        try:
            with silenced_stdout():
                out = self.impl(critic, real, fake)
        except (CheckFailed, CheckSkipped, CheckTimeout, KeyboardInterrupt):
            raise
        except BaseException as exc:  # the implementation's own error, reported per check
            raise ImplementationError(_describe(exc)) from exc
        if not isinstance(out, Tensor):
            number = isinstance(out, (int, float, np.number)) and not isinstance(out, bool)
            hint = (
                " (return the tensor itself, not float(...) or .item(): the penalty must stay "
                "differentiable)" if number else ""
            )
            raise ImplementationError(
                f"returned {type(out).__name__}, but should return a 0-dim torch.Tensor{hint}"
            )
        if out.ndim != 0:
            raise ImplementationError(
                f"returned a tensor of shape {tuple(out.shape)}, but should return a 0-dim "
                "tensor (reduce with .mean() over the batch)"
            )
        if not out.is_floating_point():
            raise ImplementationError(f"returned dtype {out.dtype}, but should be floating")
        if out.is_meta:
            raise ImplementationError(
                f"returned a tensor on the meta device (it has no value), but should return it "
                f"on {real.device}, the inputs' device"
            )
        value = float(out.detach().double().cpu())
        if not math.isfinite(value):
            raise CheckFailed(
                f"{self.label}: penalty={value} for finite inputs, but should be finite "
                f"[{self.spec.citation}]"
            )
        changed = _critic_changes(before, _critic_state(critic))
        if changed:
            raise CheckFailed(
                f"{self.label}: the call changed the critic ({changed}), but should leave it "
                "unchanged [SPEC §3 (a penalty is a pure function of the critic)]. Do not "
                "modify the critic's parameters, buffers, requires_grad or train/eval mode"
            )
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


class _Silencer:
    """``sys.stdout`` stand-in that drops what threads running an implementation print.

    Per thread, unlike ``contextlib.redirect_stdout``: other threads keep printing, and a
    call abandoned by a timeout in a watcher thread does not keep the process's stdout.
    """

    def __init__(self, target: Any) -> None:
        self.target = target
        self.threads: dict[int, int] = {}

    def write(self, text: str) -> int:
        if threading.get_ident() in self.threads:
            return len(text)
        written: int = self.target.write(text)
        return written

    def flush(self) -> None:
        if threading.get_ident() not in self.threads:
            self.target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


_SILENCER_LOCK = threading.Lock()
_SILENCER: list[_Silencer] = []


@contextmanager
def silenced_stdout() -> Iterator[None]:
    """Drop what the current thread prints to ``sys.stdout`` (the CLI's report stays clean)."""
    ident = threading.get_ident()
    with _SILENCER_LOCK:
        if not _SILENCER or sys.stdout is not _SILENCER[0]:
            _SILENCER[:] = [_Silencer(sys.stdout)]
            sys.stdout = _SILENCER[0]
        sil = _SILENCER[0]
        sil.threads[ident] = sil.threads.get(ident, 0) + 1
    try:
        yield
    finally:
        with _SILENCER_LOCK:
            depth = sil.threads.pop(ident) - 1
            if depth:
                sil.threads[ident] = depth
            if not sil.threads and sys.stdout is sil:
                sys.stdout = sil.target


_LIBRARY_DIRS = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    os.path.dirname(os.path.abspath(torch.__file__)),
)


def _text(exc: BaseException, limit: int = 300) -> str:
    """The first line of ``str(exc)``, at most ``limit`` characters ('' if unprintable)."""
    try:
        text = str(exc).strip()
    except Exception:  # a hostile __str__
        return "<message unprintable>"
    line = text.splitlines()[0].strip() if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _describe(exc: BaseException) -> str:
    """One line: the exception type, its message, and where in the user's code it came from."""
    tb = exc.__traceback__
    where = ""
    while tb is not None:
        code = tb.tb_frame.f_code
        if not os.path.abspath(code.co_filename).startswith(_LIBRARY_DIRS):
            where = f" (at {code.co_filename}:{tb.tb_lineno} in {code.co_name})"
        tb = tb.tb_next
    text = _text(exc)
    if isinstance(exc, SystemExit):
        return (
            f"implementation raised SystemExit({text or 'None'}): it called sys.exit() or "
            f"raised SystemExit, which gp-spec reports instead of ending the process{where}"
        )
    return f"implementation raised {type(exc).__name__}" + (f": {text}" if text else "") + where


# -- the critic: parameters, buffers and mode, compared around each call ------------------

_CriticState = dict[str, tuple[Tensor, bool]]


def _critic_state(critic: torch.nn.Module) -> _CriticState:
    """A copy of every parameter and buffer (value, requires_grad) and each training flag."""
    state: _CriticState = {}
    for name, p in critic.named_parameters():
        state[name] = (p.detach().clone(), p.requires_grad)
    for name, b in critic.named_buffers():
        state["buffer " + name] = (b.detach().clone(), False)
    for name, m in critic.named_modules():
        state["mode " + (name or "critic")] = (torch.empty(0), m.training)
    return state


def _critic_changes(before: _CriticState, after: _CriticState) -> str:
    """'' if nothing changed, else a short description of the first changes."""
    out = []
    for name in sorted(set(before) | set(after)):
        if name not in after:
            out.append(f"{name} removed")
        elif name not in before:
            out.append(f"{name} added")
        else:
            (v0, flag0), (v1, flag1) = before[name], after[name]
            if name.startswith("mode "):
                if flag0 != flag1:
                    out.append(f"{name[5:]}.training {flag0} -> {flag1}")
                continue
            if v0.shape != v1.shape or v0.dtype != v1.dtype or v0.device != v1.device:
                out.append(f"{name} replaced ({tuple(v0.shape)} -> {tuple(v1.shape)})")
            elif not torch.equal(v0, v1):
                delta = float((v1.double() - v0.double()).abs().max())
                out.append(f"{name} modified (max |change| {delta:.3g})")
            if flag0 != flag1:
                out.append(f"{name}.requires_grad {flag0} -> {flag1}")
    return ", ".join(out[:3]) + (f" and {len(out) - 3} more" if len(out) > 3 else "")


# -- global torch state: snapshot, compare, restore ---------------------------------------

def global_state() -> dict[str, Any]:
    """The pieces of global torch state an implementation must leave as it found them."""
    state: dict[str, Any] = {
        "grad_enabled": torch.is_grad_enabled(),
        "default_dtype": torch.get_default_dtype(),
        "default_device": torch.get_default_device(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "deterministic_warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
        "anomaly_detection": torch.is_anomaly_enabled(),
        "num_threads": torch.get_num_threads(),
        "cudnn_enabled": torch.backends.cudnn.enabled,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "matmul_precision": torch.get_float32_matmul_precision(),
    }
    return state


def restore_state(state: dict[str, Any]) -> None:
    """Put back a snapshot taken by :func:`global_state` (only the entries that changed)."""
    now = global_state()

    def changed(key: str) -> bool:
        return bool(now[key] != state[key])

    if changed("grad_enabled"):
        torch.set_grad_enabled(state["grad_enabled"])
    if changed("default_dtype"):
        torch.set_default_dtype(state["default_dtype"])
    if changed("default_device"):
        # cpu is torch's initial default: go back to "no default device" (setting "cpu"
        # explicitly would install a device mode that slows every later torch call)
        dev = state["default_device"]
        torch.set_default_device(None if dev == torch.device("cpu") else dev)
    if changed("deterministic_algorithms") or changed("deterministic_warn_only"):
        torch.use_deterministic_algorithms(
            state["deterministic_algorithms"], warn_only=state["deterministic_warn_only"]
        )
    if changed("anomaly_detection"):
        torch.set_anomaly_enabled(state["anomaly_detection"])
    if changed("num_threads"):
        torch.set_num_threads(state["num_threads"])
    torch.backends.cudnn.enabled = state["cudnn_enabled"]
    torch.backends.cudnn.benchmark = state["cudnn_benchmark"]
    torch.backends.cudnn.deterministic = state["cudnn_deterministic"]
    if changed("matmul_precision"):
        torch.set_float32_matmul_precision(state["matmul_precision"])


@contextmanager
def rng_sandbox(seed: int, device: torch.device) -> Iterator[None]:
    """Seed the global RNGs for one check and restore the caller's RNG state afterwards.

    torch (CPU and every CUDA device), NumPy's legacy global generator and Python's
    ``random`` are seeded from ``seed`` (so an implementation drawing from any of them gives
    the same verdict under the same seed) and put back as they were.
    """
    cpu_state = torch.get_rng_state()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    np_state = np.random.get_state()
    py_state = random.getstate()
    if cuda_states is None:  # torch.manual_seed also walks every accelerator backend (slow)
        torch.default_generator.manual_seed(seed)
    else:
        torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)
    try:
        yield
    finally:
        torch.set_rng_state(cpu_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)
        np.random.set_state(np_state)
        random.setstate(py_state)
