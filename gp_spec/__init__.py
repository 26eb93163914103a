"""gp_spec: the executable specification of GAN objectives and gradient penalties.

Modules: :mod:`gp_spec.objectives` (SPEC §1), :mod:`gp_spec.measures` (§2),
:mod:`gp_spec.penalties` and :mod:`gp_spec.constraints` (§3), the registry
:data:`gp_spec.SPECS`, the ground truth :mod:`gp_spec.optimal` and :mod:`gp_spec.dynamics`
(§4), and the conformance engine :mod:`gp_spec.conformance`.

``import gp_spec`` is cheap: it imports neither torch nor anything else heavy. Every public
name below is loaded on first access (PEP 562 module ``__getattr__``), so ``gp_spec.SPECS``
and ``from gp_spec import penalties`` work as usual, and a tool that only needs
``gp_spec.__version__`` (the pytest plugin's entry point, ``pip``) pays nothing for torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the lazy names below resolve to, for mypy and IDEs
    from gp_spec import constraints, errors, measures, objectives, penalties
    from gp_spec import dynamics as dynamics
    from gp_spec import optimal as optimal
    from gp_spec import specs as specs
    from gp_spec._types import Critic, Measure, PenaltyFn, Points
    from gp_spec.specs import SPECS, Spec, get_spec

__version__ = "0.1.0"

__all__ = [
    "SPECS",
    "Critic",
    "Measure",
    "PenaltyFn",
    "Points",
    "Spec",
    "__version__",
    "constraints",
    "errors",
    "get_spec",
    "measures",
    "objectives",
    "penalties",
]

_ATTRIBUTES: dict[str, str] = {
    "Critic": "gp_spec._types",
    "Measure": "gp_spec._types",
    "PenaltyFn": "gp_spec._types",
    "Points": "gp_spec._types",
    "SPECS": "gp_spec.specs",
    "Spec": "gp_spec.specs",
    "get_spec": "gp_spec.specs",
}
"""Lazy attribute -> the module that defines it."""

_SUBMODULES = frozenset({
    "constraints", "dynamics", "errors", "measures", "objectives", "optimal", "penalties", "specs",
})
"""The core modules reachable as ``gp_spec.<name>`` after a bare ``import gp_spec``."""


def __getattr__(name: str) -> Any:
    """Import a public name on first access and cache it in the module (PEP 562)."""
    if name in _ATTRIBUTES:
        value = getattr(importlib.import_module(_ATTRIBUTES[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)
