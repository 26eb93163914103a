"""Critics and generators of the papers' experiments.

Every critic maps ``(N, *event) -> (N,)``; every generator maps ``(N, latent) -> (N, *event)``.

**No batch normalisation in critics.** A gradient penalty constrains the per-sample input
gradient ``grad_x f(x_i)``. Batch normalisation makes ``f(x_i)`` depend on every other sample
of the batch, so ``grad_{x_i}`` of the summed scores no longer is the gradient of one function
at one point, and the penalty stops constraining the function the critic computes at test time
(Gulrajani et al. 2017, §4 "No critic batch normalization"; 003 §6 and 004 App. E use none).
Critics here therefore use no normalisation at all (and have no buffers, which also keeps
``DistributedDataParallel`` free of buffer broadcasts). Generators may use batch norm.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gp_spec.harness.errors import ConfigError

__all__ = [
    "DCGANCritic",
    "DCGANGenerator",
    "MLPCritic",
    "MLPGenerator",
    "ResNetCritic",
    "ResNetGenerator",
    "mlp_layers",
]


def mlp_layers(
    in_dim: int, hidden: Sequence[int], out_dim: int, *, negative_slope: float = 0.2
) -> nn.Sequential:
    """``Linear -> LeakyReLU`` for each hidden width, then a linear output layer (with biases)."""
    layers: list[nn.Module] = []
    width = in_dim
    for h in hidden:
        if int(h) < 1:
            raise ConfigError(f"hidden widths {list(hidden)}, but each should be >= 1")
        layers += [nn.Linear(width, int(h)), nn.LeakyReLU(negative_slope)]
        width = int(h)
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


class MLPCritic(nn.Module):
    """MLP critic ``(N, *event) -> (N,)``: the input is flattened, then :func:`mlp_layers`.

    003 §6: three hidden Leaky ReLU layers of 512 units; 004 Fig. 1: two of 64; 004 Fig. 2:
    two of 512.
    """

    def __init__(
        self,
        event_shape: Sequence[int],
        hidden: Sequence[int] = (512, 512, 512),
        *,
        negative_slope: float = 0.2,
    ) -> None:
        super().__init__()
        self.net = mlp_layers(math.prod(event_shape), hidden, 1, negative_slope=negative_slope)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.net(x.flatten(1))
        return out[:, 0]


class MLPGenerator(nn.Module):
    """MLP generator ``(N, latent) -> (N, *event)`` (003 §6: latent dimension 2)."""

    def __init__(
        self,
        latent_dim: int,
        event_shape: Sequence[int],
        hidden: Sequence[int] = (512, 512, 512),
        *,
        negative_slope: float = 0.2,
        tanh: bool = False,
    ) -> None:
        super().__init__()
        self.event_shape = tuple(int(s) for s in event_shape)
        self.net = mlp_layers(
            latent_dim, hidden, math.prod(self.event_shape), negative_slope=negative_slope
        )
        self.tanh = tanh

    def forward(self, z: Tensor) -> Tensor:
        out: Tensor = self.net(z)
        if self.tanh:
            out = torch.tanh(out)
        return out.view(z.shape[0], *self.event_shape)


def _image_shape(event_shape: Sequence[int]) -> tuple[int, int]:
    """``(channels, side)`` of a square image whose side is a power of two >= 8."""
    if len(event_shape) != 3 or event_shape[1] != event_shape[2]:
        raise ConfigError(f"event shape {tuple(event_shape)}, but image models need (C, H, H)")
    side = int(event_shape[1])
    if side < 8 or side & (side - 1):
        raise ConfigError(f"image side {side}, but should be a power of two >= 8 (8 or 32)")
    return int(event_shape[0]), side


class DCGANCritic(nn.Module):
    """DCGAN-style critic without normalisation.

    ``3x3 conv (width)`` at full resolution, then stride-2 ``4x4`` convolutions doubling the
    channels down to ``4x4``, then a linear layer; LeakyReLU(0.2) after every convolution.
    ``stem=False`` drops the full-resolution convolution: the first stride-2 convolution then
    maps the image channels to ``width`` (``width``-``2 width``-``4 width`` at 32x32, the
    WGAN-GP DCGAN discriminator of Gulrajani et al. with 4x4 kernels; the benchmark's critic).
    """

    def __init__(self, event_shape: Sequence[int], width: int = 64, *,
                 stem: bool = True) -> None:
        super().__init__()
        channels, side = _image_shape(event_shape)
        layers: list[nn.Module] = []
        c_in, c_out = channels, width
        if stem:
            layers += [nn.Conv2d(channels, width, 3, 1, 1), nn.LeakyReLU(0.2)]
            c_in, c_out = width, 2 * width
        while side > 4:
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.LeakyReLU(0.2)]
            c_in, c_out, side = c_out, 2 * c_out, side // 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_in * 16, 1)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.head(self.features(x).flatten(1))
        return out[:, 0]


class DCGANGenerator(nn.Module):
    """DCGAN generator: linear to ``(width 2^k) x 4 x 4``, ``k`` stride-2 transposed convolutions
    halving the channels (each with BN and ReLU), a ``3x3`` convolution to the image channels,
    tanh."""

    def __init__(self, latent_dim: int, event_shape: Sequence[int], width: int = 64) -> None:
        super().__init__()
        channels, side = _image_shape(event_shape)
        n_up = int(math.log2(side // 4))
        c = width * 2**n_up
        self.start = c
        self.project = nn.Sequential(nn.Linear(latent_dim, c * 16), nn.BatchNorm1d(c * 16),
                                     nn.ReLU())
        layers: list[nn.Module] = []
        for _ in range(n_up):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1), nn.BatchNorm2d(c // 2), nn.ReLU()]
            c //= 2
        layers.append(nn.Conv2d(c, channels, 3, 1, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        h = self.project(z).view(z.shape[0], self.start, 4, 4)
        return torch.tanh(self.body(h))


class _ResBlock(nn.Module):
    """Residual block ``x + conv(relu(conv(relu(x))))`` with optional up/down sampling.

    Down: mean-pool after the second convolution and on a 1x1 shortcut; up: nearest-neighbour
    upsampling before the first convolution and on the shortcut (Gulrajani et al. 2017, App. F).
    ``norm`` adds batch norm before each ReLU (generators only).
    """

    def __init__(self, c_in: int, c_out: int, resample: str | None, *, norm: bool,
                 first: bool = False) -> None:
        super().__init__()
        self.resample, self.first = resample, first
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.norm1: nn.Module = nn.BatchNorm2d(c_in) if norm else nn.Identity()
        self.norm2: nn.Module = nn.BatchNorm2d(c_out) if norm else nn.Identity()
        self.shortcut: nn.Module = (
            nn.Conv2d(c_in, c_out, 1) if (c_in != c_out or resample) else nn.Identity()
        )

    def _resize(self, x: Tensor) -> Tensor:
        if self.resample == "down":
            return nn.functional.avg_pool2d(x, 2)
        if self.resample == "up":
            return nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")
        return x

    def forward(self, x: Tensor) -> Tensor:
        h = x if self.first else torch.relu(self.norm1(x))
        if self.resample == "up":
            h = self._resize(h)
        h = self.conv2(torch.relu(self.norm2(self.conv1(h))))
        if self.resample == "down":
            h = self._resize(h)
        skip = self.shortcut(self._resize(x)) if self.resample == "up" else \
            self._resize(self.shortcut(x))
        return skip + h


class ResNetCritic(nn.Module):
    """A ResNet critic after Gulrajani et al.'s CIFAR model, without normalisation.

    A first down block (no leading ReLU), down blocks to ``4x4``, two plain blocks, ReLU,
    spatial mean, linear. ``32x32``: 32 -> 16 -> 8 -> 4; ``8x8``: 8 -> 4. Their CIFAR critic
    (``gan_cifar_resnet.py``, no critic normalisation) stops at ``8x8`` with one down block
    after the first; this one goes one level deeper unless ``min_side=8``, which gives their
    layout (32 -> 16 -> 8, then the two plain blocks at 8x8; the benchmark's critic).
    Source: Gulrajani et al. 2017, App. F.
    """

    def __init__(self, event_shape: Sequence[int], width: int = 128, *,
                 min_side: int = 4) -> None:
        super().__init__()
        channels, side = _image_shape(event_shape)
        if min_side < 1 or side // 2 < min_side:
            raise ConfigError(f"min_side={min_side}, but should be between 1 and {side // 2} "
                              f"(half the image side {side})")
        blocks: list[nn.Module] = [_ResBlock(channels, width, "down", norm=False, first=True)]
        side //= 2
        while side > min_side:
            blocks.append(_ResBlock(width, width, "down", norm=False))
            side //= 2
        blocks += [_ResBlock(width, width, None, norm=False) for _ in range(2)]
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(width, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = torch.relu(self.blocks(x)).mean((2, 3))
        out: Tensor = self.head(h)
        return out[:, 0]


class ResNetGenerator(nn.Module):
    """Gulrajani et al.'s ResNet generator: linear to ``4x4``, up blocks, BN, ReLU, conv, tanh."""

    def __init__(self, latent_dim: int, event_shape: Sequence[int], width: int = 128) -> None:
        super().__init__()
        channels, side = _image_shape(event_shape)
        self.width = width
        self.project = nn.Linear(latent_dim, width * 16)
        n_up = int(math.log2(side // 4))
        self.blocks = nn.Sequential(*[_ResBlock(width, width, "up", norm=True)
                                      for _ in range(n_up)])
        self.out = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(),
                                 nn.Conv2d(width, channels, 3, 1, 1))

    def forward(self, z: Tensor) -> Tensor:
        h = self.project(z).view(z.shape[0], self.width, 4, 4)
        return torch.tanh(self.out(self.blocks(h)))
