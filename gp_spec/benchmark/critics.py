"""Critics the benchmarks run: the 003 §6 MLP, a DCGAN critic and the Gulrajani ResNet critic.

None has batch normalisation (a per-sample gradient penalty needs a per-sample critic, and the
WGAN-GP critics drop it for that reason). Every critic maps ``(N, *event) -> (N,)``.
Defined here, independently of the training harness, so the benchmark has no dependency on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = ["CRITICS", "CriticSpec", "DCGAN", "MLP", "ResNet", "build_critic"]

LEAKY_SLOPE = 0.2
"""LeakyReLU slope of the MLP and DCGAN critics (003 §6 does not state one; 0.2 is DCGAN's)."""


class MLP(nn.Module):
    """``depth`` hidden LeakyReLU layers of ``width`` units and a linear output (003 §6: 3 x 512).

    Args:
      in_features: flattened event size ``d`` of ``(N, d)`` inputs.
      width: hidden units per layer.
      depth: number of hidden layers.
    """

    def __init__(self, in_features: int, *, width: int = 512, depth: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        size = in_features
        for _ in range(depth):
            layers += [nn.Linear(size, width), nn.LeakyReLU(LEAKY_SLOPE)]
            size = width
        layers.append(nn.Linear(size, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, *event) -> (N,)``."""
        out: Tensor = self.net(x.flatten(1))
        return out[:, 0]


class DCGAN(nn.Module):
    """DCGAN critic (Radford et al. 2016) without batchnorm, as WGAN-GP uses it.

    ``log2(resolution) - 2`` convolutions 4x4 / stride 2 with ``width * 2**i`` channels and
    LeakyReLU(0.2) take ``resolution`` down to 4x4, then one linear layer gives the score.

    Args:
      channels: input channels.
      resolution: input height = width, a power of two >= 8.
      width: channels of the first convolution.
    """

    def __init__(self, *, channels: int = 3, resolution: int = 32, width: int = 64) -> None:
        super().__init__()
        if resolution < 8 or resolution & (resolution - 1):
            raise ValueError(f"resolution={resolution}, but should be a power of two >= 8")
        layers: list[nn.Module] = []
        size, c_in, c_out = resolution, channels, width
        while size > 4:
            layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.LeakyReLU(LEAKY_SLOPE)]
            size, c_in, c_out = size // 2, c_out, c_out * 2
        self.features = nn.Sequential(*layers)
        self.out = nn.Linear(c_in * 4 * 4, 1)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, channels, resolution, resolution) -> (N,)``."""
        out: Tensor = self.out(self.features(x).flatten(1))
        return out[:, 0]


def _conv(c_in: int, c_out: int, kernel: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2)


class _ConvMeanPool(nn.Module):
    """Convolution then 2x2 mean pooling (``ConvMeanPool`` of Gulrajani et al.)."""

    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__()
        self.conv = _conv(c_in, c_out, kernel)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = nn.functional.avg_pool2d(self.conv(x), 2)
        return out


class _MeanPoolConv(nn.Module):
    """2x2 mean pooling then convolution (``MeanPoolConv`` of Gulrajani et al.)."""

    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__()
        self.conv = _conv(c_in, c_out, kernel)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.conv(nn.functional.avg_pool2d(x, 2))
        return out


class _ResBlock(nn.Module):
    """Pre-activation residual block ``x + conv2(relu(conv1(relu(x))))``, optionally halving.

    ``first=True`` is ``OptimizedResBlockDisc1``: no activation before the first convolution
    and a mean-pool-then-1x1 shortcut; ``down=True`` (other blocks) a conv-then-pool shortcut.
    """

    def __init__(self, c_in: int, c_out: int, *, down: bool, first: bool = False) -> None:
        super().__init__()
        self.pre_activation = not first
        self.conv1 = _conv(c_in, c_out if first else c_in, 3)
        mid = c_out if first else c_in
        self.conv2: nn.Module = _ConvMeanPool(mid, c_out, 3) if down else _conv(mid, c_out, 3)
        self.shortcut: nn.Module
        if first:
            self.shortcut = _MeanPoolConv(c_in, c_out, 1)
        elif down or c_in != c_out:
            self.shortcut = _ConvMeanPool(c_in, c_out, 1) if down else _conv(c_in, c_out, 1)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        h = torch.relu(x) if self.pre_activation else x
        h = self.conv2(torch.relu(self.conv1(h)))
        out: Tensor = self.shortcut(x) + h
        return out


class ResNet(nn.Module):
    """The CIFAR-10 ResNet critic of Gulrajani et al. 2017 (``gan_cifar_resnet.py``), no norm.

    Optimised first block (down), one down block, two plain blocks, all ``width`` channels;
    then ReLU, spatial mean and a linear score.

    Args:
      channels: input channels.
      width: ``DIM_D`` (128 in the paper).
    """

    def __init__(self, *, channels: int = 3, width: int = 128) -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            _ResBlock(channels, width, down=True, first=True),
            _ResBlock(width, width, down=True),
            _ResBlock(width, width, down=False),
            _ResBlock(width, width, down=False),
        )
        self.out = nn.Linear(width, 1)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, channels, H, W) -> (N,)``, H and W divisible by 4."""
        h = torch.relu(self.blocks(x)).mean(dim=(2, 3))
        out: Tensor = self.out(h)
        return out[:, 0]


@dataclass(frozen=True)
class CriticSpec:
    """A named benchmark critic: its constructor and the event shape of its data."""

    name: str
    event_shape: tuple[int, ...]
    make: Callable[[], nn.Module]
    description: str


CRITICS: dict[str, CriticSpec] = {
    "mlp": CriticSpec("mlp", (2,), lambda: MLP(2), "3 x 512 LeakyReLU MLP on 2-D data (003 §6)"),
    "dcgan": CriticSpec(
        "dcgan", (3, 32, 32), lambda: DCGAN(), "DCGAN critic 64-128-256, 32x32x3, no batchnorm"
    ),
    "resnet": CriticSpec(
        "resnet", (3, 32, 32), lambda: ResNet(),
        "Gulrajani et al. CIFAR ResNet critic, 128 channels, 32x32x3, no normalisation",
    ),
}
"""The critics of ``gp-spec bench --critic``."""


def build_critic(name: str, *, seed: int = 0) -> tuple[nn.Module, tuple[int, ...]]:
    """A freshly initialised critic from :data:`CRITICS` (seeded) and its event shape.

    Raises:
      ValueError: unknown ``name``.
    """
    if name not in CRITICS:
        raise ValueError(f"critic={name!r}, but should be one of {sorted(CRITICS)}")
    spec = CRITICS[name]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return spec.make(), spec.event_shape
