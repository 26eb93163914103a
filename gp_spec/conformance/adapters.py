"""Adapters from common third-party penalty conventions to the canonical signature.

The canonical signature is ``fn(critic, real, fake) -> 0-dim tensor`` with the user's weight
baked in. An adapter turns another convention into it, so pointing gp-spec at existing code
takes at most one line:

====================  ===============================================================
name                  the implementation's convention
====================  ===============================================================
``canonical``         ``fn(critic, real, fake)``
``real-fake-critic``  ``fn(real, fake, critic)``
``with-device``       ``fn(critic, real, fake, device)``
``keywords``          ``fn(critic=..., real=..., fake=...)``
``method:NAME``       an object whose method ``NAME(critic, real, fake)`` is the penalty
====================  ===============================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from gp_spec.errors import AdapterError, NotCallableError

__all__ = ["ADAPTERS", "adapt"]

Canonical = Callable[[Any, Tensor, Tensor], Any]


def _canonical(fn: Any) -> Canonical:
    return fn  # type: ignore[no-any-return]


def _real_fake_critic(fn: Any) -> Canonical:
    return lambda critic, real, fake: fn(real, fake, critic)


def _with_device(fn: Any) -> Canonical:
    return lambda critic, real, fake: fn(critic, real, fake, real.device)


def _keywords(fn: Any) -> Canonical:
    return lambda critic, real, fake: fn(critic=critic, real=real, fake=fake)


ADAPTERS: dict[str, Callable[[Any], Canonical]] = {
    "canonical": _canonical,
    "real-fake-critic": _real_fake_critic,
    "with-device": _with_device,
    "keywords": _keywords,
}
"""Adapter name -> wrapper factory (``method:NAME`` is handled by :func:`adapt`)."""


def adapt(impl: Any, adapter: str | None = None) -> Canonical:
    """Wrap ``impl`` so that it has the canonical signature ``(critic, real, fake)``.

    Args:
      impl: the implementation (a function, or an object for ``method:NAME``).
      adapter: an :data:`ADAPTERS` name or ``method:NAME``; None means ``canonical``.

    Raises:
      AdapterError: unknown adapter, or ``method:NAME`` on an object without that method.
      NotCallableError: the (adapted) implementation is not callable.
    """
    name = adapter or "canonical"
    if name.startswith("method:"):
        method = name.split(":", 1)[1]
        target = getattr(impl, method, None)
        if not method or not callable(target):
            raise AdapterError(
                f"adapter {name!r}: {type(impl).__name__} has no callable method {method!r}"
            )
        return target  # type: ignore[no-any-return]
    if name not in ADAPTERS:
        known = ", ".join([*ADAPTERS, "method:NAME"])
        raise AdapterError(f"unknown adapter {name!r}; known adapters: {known}")
    if not callable(impl):
        raise NotCallableError(
            f"the implementation (of type {type(impl).__name__}) is not callable; pass a "
            "function fn(critic, real, fake) or use --adapter method:NAME for an object"
        )
    return ADAPTERS[name](impl)
