"""The sandbox around every call of an implementation: time limits, global torch state, RNGs,
stdout, the working directory and forks.

An implementation under test is hostile until proven otherwise (docs/errors.md, "Hostile
implementations"): it may hang, print, reseed the global RNGs, switch grad mode off, change
the default dtype, close ``sys.stdout``, ``chdir``, fork, or raise ``SystemExit``. Everything
here puts the caller's process back as it was, whatever the implementation did.
"""

from __future__ import annotations

import math
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
import torch

__all__ = [
    "CheckTimeout",
    "RunState",
    "fork_guard",
    "global_state",
    "restore_state",
    "rng_sandbox",
    "silenced_stdout",
    "warm_up",
    "with_timeout",
]

T = TypeVar("T")

REFIRE = 1.0
"""Seconds between repeated alarms once a check is over its time (an implementation that
swallows the first ``CheckTimeout`` with a bare ``except:`` gets another one)."""

IMPORT_GRACE = 30.0
"""Seconds past the limit for which an alarm that lands during an ``import`` is deferred (an
interrupted import leaves a half-initialised module in ``sys.modules`` that breaks every
later check in the process)."""


class CheckTimeout(BaseException):
    """Raised inside a check that ran past its time limit.

    A ``BaseException`` (like ``KeyboardInterrupt``) so that an implementation's own
    ``except Exception:`` cannot swallow it. Only the engine's alarm raises it; one raised by
    the implementation itself is the implementation's error (see ``_context.call``).
    """


class RunState:
    """What the checks of one run share: the first check that timed out, if any.

    After a timeout the remaining checks of the run are not run (each would wait for the full
    timeout again; in a non-main thread the runaway call is still running and would race
    with them): they are reported as errors naming the check that hung.
    """

    def __init__(self) -> None:
        self.hung_in: str | None = None
        self.timeout = 0.0
        self.alarm_fired = False


_WARM: set[str] = set()


def warm_up(device: torch.device) -> None:
    """Once per process and device, outside any time limit: torch's lazy imports and device
    initialisation (the first ``torch.autograd.grad`` imports sympy, ~0.5 s; the first CUDA
    tensor creates the context). Neither should count against an implementation."""
    key = str(device)
    if key in _WARM:
        return
    _WARM.add(key)
    try:
        with torch.inference_mode(False), torch.enable_grad():
            x = torch.linspace(-1.0, 1.0, 6, device=device).reshape(2, 3).requires_grad_(True)
            y = x.square().sum(1)
            (g,) = torch.autograd.grad(y, x, grad_outputs=torch.ones_like(y), create_graph=True)
            g.flatten(1).norm(dim=1).sum().backward()
    except Exception:  # a broken device shows up in the checks themselves, as errors
        pass


# -- time limits ----------------------------------------------------------------------------

def with_timeout(fn: Callable[[], T], timeout: float, state: RunState | None = None) -> T:
    """Run ``fn`` with a time limit: SIGALRM in the main thread, a watcher thread elsewhere.

    Main thread: ``CheckTimeout`` is raised inside ``fn`` when the time is up (Python checks
    signals between bytecodes, so a long C call is interrupted only when it returns), and
    again every ``REFIRE`` s in case the implementation swallows it; a call that swallowed it
    and finished late still counts as timed out. Other threads: ``fn`` runs in a daemon
    thread that is abandoned, still running, when the time is up (Python cannot stop a
    thread). ``timeout = inf`` runs ``fn`` directly.
    """
    if math.isinf(timeout):
        return fn()
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        return _with_alarm(fn, timeout, state)
    return _with_watcher(fn, timeout, state)


def _with_alarm(fn: Callable[[], T], timeout: float, state: RunState | None) -> T:
    flags = {"active": True, "fired": False}
    base = sys._getframe()
    refire = min(REFIRE, timeout)
    give_up = time.monotonic() + timeout + IMPORT_GRACE

    def on_alarm(signum: int, frame: Any) -> None:
        if not flags["active"]:  # fn has returned (the alarm may race with the return)
            return
        if _importing(frame, base) and time.monotonic() < give_up:
            signal.setitimer(signal.ITIMER_REAL, 0.02, refire)  # retry once it is done
            return
        flags["fired"] = True
        if state is not None:
            state.alarm_fired = True
        raise CheckTimeout

    try:
        old_handler = signal.signal(signal.SIGALRM, on_alarm)
    except ValueError:  # not the main interpreter: signals are not ours to use
        return _with_watcher(fn, timeout, state)
    started = time.monotonic()
    old_timer = signal.setitimer(signal.ITIMER_REAL, timeout, refire)
    try:
        out = fn()
        swallowed = flags["fired"]  # the implementation caught CheckTimeout and went on
    finally:
        _disarm(flags)
        signal.signal(signal.SIGALRM, old_handler)
        if old_timer[0] > 0:  # re-arm an outer timer (e.g. pytest-timeout) with its remainder
            left = old_timer[0] - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3), old_timer[1])
    if swallowed:
        raise CheckTimeout
    return out


def _importing(frame: Any, base: Any) -> bool:
    """Whether a frame between ``frame`` (innermost) and ``base`` belongs to importlib."""
    while frame is not None and frame is not base:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _disarm(flags: dict[str, bool]) -> None:
    """Stop the alarm; an alarm that lands while doing so is absorbed, never propagated."""
    while True:
        try:
            flags["active"] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            return
        except CheckTimeout:
            continue


def _with_watcher(fn: Callable[[], T], timeout: float, state: RunState | None) -> T:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["out"] = fn()
        except BaseException as exc:
            box["exc"] = exc

    worker = threading.Thread(target=target, daemon=True, name="gp-spec-check")
    worker.start()
    worker.join(timeout)
    if worker.is_alive():  # abandoned: it keeps running until the implementation returns
        if state is not None:
            state.alarm_fired = True
        raise CheckTimeout
    if "exc" in box:
        raise box["exc"]
    out: T = box["out"]
    return out


# -- stdout ---------------------------------------------------------------------------------

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


def restore_streams(stdout: Any, stderr: Any) -> None:
    """Put back ``sys.stdout`` / ``sys.stderr`` if the implementation replaced them (the
    silencer of a call abandoned in a watcher thread stays: it forwards other threads)."""
    if sys.stdout is not stdout and getattr(sys.stdout, "target", None) is not stdout:
        sys.stdout = stdout
    if sys.stderr is not stderr:
        sys.stderr = stderr


# -- forks and the working directory ---------------------------------------------------------

_MAIN_PID = os.getpid()


@contextmanager
def fork_guard() -> Iterator[None]:
    """A child forked by the implementation ends silently when it returns into gp-spec, so it
    never runs the remaining checks, prints a second report or exits with a verdict."""
    pid = os.getpid()
    try:
        yield
    finally:
        if os.getpid() != pid:
            os._exit(0)


@contextmanager
def working_directory() -> Iterator[None]:
    """Restore the working directory if the implementation changed it."""
    try:
        cwd: str | None = os.getcwd()
    except OSError:
        cwd = None
    try:
        yield
    finally:
        if cwd is not None:
            try:
                if os.getcwd() != cwd:
                    os.chdir(cwd)
            except OSError:  # the implementation deleted the directory it moved to
                os.chdir(cwd)


# -- global torch state ----------------------------------------------------------------------

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
