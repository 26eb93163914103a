"""Critics the benchmarks run: the 003 §6 MLP, a DCGAN critic, the Gulrajani ResNet critic, or
the user's own (``MODULE:ATTR``).

The networks are the training harness's (:mod:`gp_spec.harness.models`, the one module of
critics and generators); this module only names the benchmark's configurations of them. None
has batch normalisation (a per-sample gradient penalty needs a per-sample critic, and the
WGAN-GP critics drop it for that reason). Every critic maps ``(N, *event) -> (N,)``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType

import torch
from torch import nn

__all__ = ["CRITICS", "CriticSpec", "build_critic", "critic_batches", "event_shape_of",
           "resolve_critic"]

EventShape = tuple[int, ...]


@dataclass(frozen=True)
class CriticSpec:
    """A named benchmark critic.

    Attributes:
      name: ``--critic`` name, or the user's ``MODULE:ATTR``.
      event_shape: the shape of one sample when ``--event-shape`` is not given.
      make: builds a fresh critic for an event shape.
      description: one line for reports.
    """

    name: str
    event_shape: EventShape
    make: Callable[[EventShape], nn.Module]
    description: str


def _models() -> ModuleType:
    """:mod:`gp_spec.harness.models`, or an error naming the extra to install."""
    try:
        from gp_spec.harness import models
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"the benchmark's critics are gp_spec.harness.models, whose package needs "
            f"{exc.name!r}: python -m pip install {exc.name} (or, from a checkout of gp-spec, "
            "the harness extra: python -m pip install -e '.[harness]')", name=exc.name) from exc
    return models


def _mlp(shape: EventShape) -> nn.Module:
    net: nn.Module = _models().MLPCritic(shape, (512, 512, 512))
    return net


def _dcgan(shape: EventShape) -> nn.Module:
    net: nn.Module = _models().DCGANCritic(shape, 64, stem=False)
    return net


def _resnet(shape: EventShape) -> nn.Module:
    net: nn.Module = _models().ResNetCritic(shape, 128, min_side=8)
    return net


CRITICS: dict[str, CriticSpec] = {
    "mlp": CriticSpec("mlp", (2,), _mlp, "3 x 512 LeakyReLU MLP on 2-D data (003 §6)"),
    "dcgan": CriticSpec("dcgan", (3, 32, 32), _dcgan,
                        "DCGAN critic 64-128-256, 32x32x3, no batchnorm"),
    "resnet": CriticSpec(
        "resnet", (3, 32, 32), _resnet,
        "Gulrajani et al. CIFAR ResNet critic, 128 channels, 32x32x3, no normalisation",
    ),
}
"""The critics of ``gp-spec bench --critic`` (:mod:`gp_spec.harness.models` configurations)."""


def _user_critic(target: str) -> CriticSpec:
    """A :class:`CriticSpec` of ``MODULE:ATTR``: a module instance (deep-copied), or a class or
    factory called with no arguments. Its event shape comes from ``--event-shape``.

    Raises:
      gp_spec.errors.ImplementationLoadError: ``MODULE:ATTR`` cannot be loaded.
      TypeError: it is neither an ``nn.Module`` nor makes one.
    """
    from gp_spec.conformance import load_implementation

    obj = load_implementation(target)

    def make(shape: EventShape) -> nn.Module:
        net = copy.deepcopy(obj) if isinstance(obj, nn.Module) else obj()
        if not isinstance(net, nn.Module):
            raise TypeError(f"--critic {target}: made a {type(net).__name__}, but should make "
                            "an nn.Module (give a module, or a class or function that makes one)")
        return net

    return CriticSpec(target, (), make, f"the user's critic {target}")


def resolve_critic(name: str | CriticSpec, critics: dict[str, CriticSpec] | None = None
                   ) -> CriticSpec:
    """``critics[name]`` (default :data:`CRITICS`), or the user's ``MODULE:ATTR`` critic.

    Raises:
      ValueError: a name that is neither a known critic nor ``MODULE:ATTR``.
    """
    if isinstance(name, CriticSpec):
        return name
    table = CRITICS if critics is None else critics
    if name in table:
        return table[name]
    if ":" in name:
        return _user_critic(name)
    raise ValueError(f"critic={name!r}, but should be one of {sorted(table)} or MODULE:ATTR "
                     "(your own nn.Module, or a class or function making one)")


def event_shape_of(spec: CriticSpec, event_shape: Sequence[int] | None) -> EventShape:
    """``event_shape`` if given, else the critic's own.

    Raises:
      ValueError: the user's critic without an event shape, or a non-positive size.
    """
    shape = spec.event_shape if event_shape is None else tuple(int(s) for s in event_shape)
    if not shape:
        raise ValueError(f"critic {spec.name}: give the shape of one sample with "
                         "--event-shape (event_shape=...), e.g. --event-shape 3 32 32")
    if min(shape) < 1:
        raise ValueError(f"event shape {shape}, but every size should be >= 1")
    return shape


def critic_batches(entry: str, batch: Sequence[int]) -> tuple[str, list[int]]:
    """``"dcgan:64,256"`` -> ``("dcgan", [64, 256])``; ``"dcgan"`` and ``"MODULE:ATTR"`` take
    ``batch``.

    Raises:
      ValueError: an unknown critic name, or batch sizes that are not integers >= 1.
    """
    name, _, sizes = entry.partition(":")
    if name in CRITICS and sizes:
        try:
            batches = [int(b) for b in sizes.split(",")]
        except ValueError:
            raise ValueError(f"--critic {entry}: batch sizes should be integers") from None
    elif name in CRITICS or ":" in entry:
        name, batches = (name if name in CRITICS else entry), list(batch)
    else:
        raise ValueError(f"--critic {entry}: should be one of {sorted(CRITICS)}, "
                         "NAME:B1,B2 or your own MODULE:ATTR")
    if not batches or min(batches) < 1:
        raise ValueError(f"--critic {entry}: batch sizes should be >= 1")
    return name, batches


def build_critic(name: str, *, seed: int = 0, event_shape: Sequence[int] | None = None
                 ) -> tuple[nn.Module, EventShape]:
    """A freshly initialised critic from :data:`CRITICS` (seeded) and its event shape.

    Raises:
      ValueError: unknown ``name``.
    """
    spec = resolve_critic(name)
    shape = event_shape_of(spec, event_shape)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return spec.make(shape), shape
