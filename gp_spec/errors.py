"""Typed exceptions raised by gp_spec.

Every error a user can trigger with bad input is one of these, so callers can catch
``gp_spec.errors.GPSpecError`` or the builtin it also derives from (``ValueError``,
``TypeError``, ``KeyError``, ``RuntimeError``).
"""

from __future__ import annotations

__all__ = [
    "AdapterError",
    "CheckSelectionError",
    "NotCallableError",
    "DeviceUnavailableError",
    "GPSpecError",
    "ImplementationLoadError",
    "InvalidArgumentError",
    "InvalidCriticError",
    "InvalidInputError",
    "InvalidWeightError",
    "SolverError",
    "UnknownSpecError",
    "first_line",
]


class GPSpecError(Exception):
    """Base class of every error gp_spec raises on purpose."""


class InvalidInputError(GPSpecError, ValueError):
    """An input tensor has the wrong shape, dtype, size or non-finite values."""


class InvalidCriticError(GPSpecError, ValueError):
    """A critic returned something other than scores of shape ``(N,)`` or ``(N, 1)``."""


class UnknownSpecError(GPSpecError, KeyError):
    """A spec name that is not in ``gp_spec.SPECS``; the message suggests the closest one."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable.
        return str(self.args[0]) if self.args else ""


class ImplementationLoadError(GPSpecError, ImportError):
    """``MODULE:ATTR`` could not be imported or does not name a callable."""


class InvalidWeightError(GPSpecError, ValueError):
    """A penalty weight that is negative, NaN or infinite."""


class DeviceUnavailableError(GPSpecError, RuntimeError):
    """The requested torch device does not exist on this machine."""


class AdapterError(GPSpecError, ValueError):
    """An unknown adapter name, or an adapter that does not fit the implementation."""


class SolverError(GPSpecError, RuntimeError):
    """An optimal-transport or linear-programming solver did not reach the optimum."""


class NotCallableError(GPSpecError, TypeError):
    """The implementation under test is not callable."""


class CheckSelectionError(GPSpecError, ValueError):
    """A ``checks=`` selection that matches no check of the spec."""


class InvalidArgumentError(GPSpecError, ValueError, TypeError):
    """Another malformed argument to the conformance API (a seed that is not an int, a
    timeout that is not a positive number of seconds)."""


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of ``str(exc)``, at most ``limit`` characters ('' when it is empty).

    Safe on hostile exceptions: a ``__str__`` that raises gives ``"<message unprintable>"``.
    """
    try:
        text = str(exc).strip()
    except Exception:  # a hostile __str__
        return "<message unprintable>"
    line = text.splitlines()[0].strip() if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."
