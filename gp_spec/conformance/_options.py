"""One frozen, validated options object shared by every front door.

``check()``, ``plan()``, the ``gp-spec conform`` command line, the pytest plugin and
``parametrize_with_checks`` all build an :class:`Options` with :meth:`Options.make`, so every
option is validated once, in one place, with one message. The command-line flags and the
pytest options are generated from the same table (:data:`FLAGS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import torch

from gp_spec._devices import resolve_device
from gp_spec._validation import check_weight
from gp_spec.conformance._flags import DEFAULT_TIMEOUT
from gp_spec.errors import (
    AdapterError,
    CheckSelectionError,
    InvalidArgumentError,
    InvalidWeightError,
)
from gp_spec.specs import Spec, get_spec

__all__ = ["DEFAULT_TIMEOUT", "CriticOutput", "Options", "option_kwargs", "parse_shape"]


CriticOutput = Literal["auto", "n", "n1"]


@dataclass(frozen=True)
class Options:
    """Everything a conformance run is told (validated by :meth:`make`).

    Attributes:
      spec: the spec checked against.
      weight: the implementation's weight (``spec.default_weight`` if not given).
      device: where the checks' tensors live.
      seed: every random input derives from it.
      checks: ids, clauses or glob patterns to run (None: all).
      expected_failed_checks: ``{id or clause: reason}``.
      timeout: seconds per check (``math.inf``: no limit).
      adapter: the calling convention (see :mod:`gp_spec.conformance.adapters`).
      label: the name in messages (default ``module:qualname``).
      event_shape: the input domain's event shape, e.g. ``(3, 32, 32)``; None detects it.
      batch_size: a fixed batch size for code that hard-codes one; None lets checks vary N.
      critic_output: ``"n"`` (critic returns ``(N,)``), ``"n1"`` (``(N, 1)``) or ``"auto"``.
      strict: warnings (e.g. gradient reaching the real data batch) fail the report.
      num_classes: for conditional critics ``D(x, y)``: labels are drawn from
        ``range(num_classes)`` and passed to the implementation (adapter ``conditional``).
    """

    spec: Spec
    weight: float
    device: torch.device
    seed: int = 0
    checks: tuple[str, ...] | None = None
    expected_failed_checks: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}))
    timeout: float = DEFAULT_TIMEOUT
    adapter: str | None = None
    label: str | None = None
    event_shape: tuple[int, ...] | None = None
    batch_size: int | None = None
    critic_output: CriticOutput = "auto"
    strict: bool = False
    num_classes: int | None = None

    @classmethod
    def make(
        cls,
        spec: str | Spec,
        *,
        weight: float | None = None,
        device: str | torch.device = "cpu",
        seed: int = 0,
        checks: Iterable[str] | str | None = None,
        expected_failed_checks: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        adapter: str | None = None,
        label: str | None = None,
        event_shape: Iterable[int] | str | None = None,
        batch_size: int | None = None,
        critic_output: str = "auto",
        strict: bool = False,
        num_classes: int | None = None,
    ) -> Options:
        """Validate every option; raise the typed error naming the first bad one.

        Raises:
          UnknownSpecError, InvalidWeightError, DeviceUnavailableError, AdapterError,
          CheckSelectionError, InvalidArgumentError (a ``ValueError`` and ``TypeError``).
        """
        sp = get_spec(spec)
        w = sp.default_weight if weight is None else check_weight(weight)
        if w == 0:
            raise InvalidWeightError(
                "weight=0, but should be > 0: a penalty of weight 0 is 0 for every critic, "
                "so no clause of the spec can be checked; pass the weight your implementation "
                f"applies (the spec's default is {sp.default_weight:g})")
        return cls(
            spec=sp, weight=w, device=resolve_device(device), seed=_seed(seed),
            checks=_patterns(checks), expected_failed_checks=_expected(expected_failed_checks),
            timeout=_timeout(timeout), adapter=_adapter(adapter),
            label=None if label is None else str(label),
            event_shape=None if event_shape is None else parse_shape(event_shape),
            batch_size=_batch_size(batch_size), critic_output=_critic_output(critic_output),
            strict=_flag(strict, "strict"), num_classes=_num_classes(num_classes),
        )

    def replace(self, **changes: Any) -> Options:
        """A copy with ``changes`` (validated again through :meth:`make`)."""
        fields: dict[str, Any] = {
            "weight": self.weight, "device": self.device, "seed": self.seed,
            "checks": self.checks, "expected_failed_checks": dict(self.expected_failed_checks),
            "timeout": self.timeout, "adapter": self.adapter, "label": self.label,
            "event_shape": self.event_shape, "batch_size": self.batch_size,
            "critic_output": self.critic_output, "strict": self.strict,
            "num_classes": self.num_classes,
        }
        fields.update(changes)
        return Options.make(self.spec, **fields)


def _seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InvalidArgumentError(f"seed={seed!r}, but should be an int")
    return int(seed)


def _timeout(timeout: object) -> float:
    """Seconds > 0; ``math.inf`` means no time limit."""
    try:
        t = float(timeout)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"timeout={timeout!r}, but should be a number of seconds > 0"
        ) from None
    if not t > 0:  # also rejects NaN
        raise InvalidArgumentError(
            f"timeout={timeout!r}, but should be > 0 seconds (math.inf: no limit)"
        )
    return t


def _adapter(adapter: object) -> str | None:
    if adapter is None:
        return None
    if not isinstance(adapter, str):
        raise AdapterError(f"adapter={adapter!r}, but should be an adapter name (a str) or None")
    if adapter.startswith("method:") and not adapter[7:].strip():
        raise AdapterError(f"adapter={adapter!r}: the method name is empty; use method:NAME")
    return adapter


def _patterns(checks: Iterable[str] | str | None) -> tuple[str, ...] | None:
    if checks is None:
        return None
    pats = [checks] if isinstance(checks, str) else list(checks)
    bad = [p for p in pats if not isinstance(p, str)]
    if bad:
        raise CheckSelectionError(
            f"checks={pats!r}: {bad[0]!r} is not a str; give check ids, clauses or glob patterns"
        )
    return tuple(pats)


def _expected(expected: Mapping[str, str] | None) -> Mapping[str, str]:
    if expected is None:
        return MappingProxyType({})
    if not isinstance(expected, Mapping):
        raise CheckSelectionError(
            f"expected_failed_checks={expected!r}, but should be a mapping "
            "{check id or clause: reason}"
        )
    for key, reason in expected.items():
        if not isinstance(key, str) or not isinstance(reason, str) or not reason.strip():
            raise CheckSelectionError(
                f"expected_failed_checks entry {key!r}: {reason!r}, but should map a check id "
                "or clause (str) to a non-empty reason (str)"
            )
    return MappingProxyType(dict(expected))


def parse_shape(shape: Iterable[int] | str) -> tuple[int, ...]:
    """``"3,32,32"``, ``"3x32x32"`` or ``(3, 32, 32)`` -> ``(3, 32, 32)`` (the event shape:
    the input shape without the batch dimension)."""
    text = shape if isinstance(shape, str) else None
    try:
        if text is not None:
            parts = [p for p in text.replace("x", ",").replace(" ", ",").split(",") if p]
            dims = tuple(int(p) for p in parts)
        else:
            dims = tuple(_int(d) for d in shape)
    except (TypeError, ValueError):
        dims = ()
    if not dims or any(d < 1 for d in dims) or len(dims) > 4:
        raise InvalidArgumentError(
            f"event_shape={shape!r}, but should be the input shape without the batch "
            "dimension: 1 to 4 positive ints, e.g. (3,) for vectors, (3, 32, 32) for images "
            "or '3,32,32' on the command line"
        )
    return dims


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(value)
    return int(value)


def _positive(n: object, message: str) -> int | None:
    """``n`` as a positive int, None as None; else ``InvalidArgumentError(message)``."""
    if n is None:
        return None
    try:
        k = _int(n)
    except TypeError:
        k = 0
    if k < 1:
        raise InvalidArgumentError(message)
    return k


def _batch_size(n: object) -> int | None:
    return _positive(n, f"batch_size={n!r}, but should be a positive int (the batch size the "
                        "implementation hard-codes) or None (checks vary N)")


def _critic_output(value: object) -> CriticOutput:
    if value in ("auto", "n", "n1"):
        return value
    raise InvalidArgumentError(
        f"critic_output={value!r}, but should be 'auto' (detect), 'n' (the critic returns "
        "(N,)) or 'n1' (it returns (N, 1)); dict or tuple outputs take an adapter"
    )


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{name}={value!r}, but should be True or False")
    return value


def _num_classes(n: object) -> int | None:
    return _positive(n, f"num_classes={n!r}, but should be a positive int or None")


class ExpectedFailureWarning(UserWarning):
    """An ``expected_failed_checks`` key that names no check of the spec."""


def option_kwargs(values: Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`FLAGS` values that were given (not None), as ``Options.make`` keywords."""
    from gp_spec.conformance._flags import FLAGS

    out: dict[str, Any] = {}
    for f in FLAGS:
        value = values.get(f.name)
        if value is None or (f.kind == "bool" and value is False):
            continue
        out[f.name] = value
    return out

