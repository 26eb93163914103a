"""gp_spec.harness.models: shapes, no batch coupling in critics, clear errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gp_spec.harness import models
from gp_spec.harness.errors import ConfigError

IMAGE_MODELS = [(models.DCGANCritic, models.DCGANGenerator),
                (models.ResNetCritic, models.ResNetGenerator)]


@pytest.mark.parametrize("side", [8, 32])
@pytest.mark.parametrize(("critic_cls", "generator_cls"), IMAGE_MODELS)
def test_image_models_map_latents_to_images_to_scores(
    side: int, critic_cls: type[nn.Module], generator_cls: type[nn.Module]
) -> None:
    torch.manual_seed(0)
    gen, critic = generator_cls(4, (3, side, side), 8), critic_cls((3, side, side), 8)
    x = gen(torch.randn(5, 4))
    assert x.shape == (5, 3, side, side) and float(x.abs().max()) <= 1.0
    assert critic(x).shape == (5,)


@pytest.mark.parametrize(
    "critic",
    [models.MLPCritic((2,), (8, 8)), models.DCGANCritic((1, 8, 8), 4),
     models.ResNetCritic((1, 8, 8), 4)],
)
def test_critics_have_no_batch_statistics(critic: nn.Module) -> None:
    # a gradient penalty needs f(x_i) to depend on x_i alone (no batch norm, no buffers).
    assert not list(critic.buffers())
    x = torch.randn(6, *((2,) if isinstance(critic, models.MLPCritic) else (1, 8, 8)))
    torch.testing.assert_close(critic(x)[:2], critic(x[:2]))


def test_mlp_sizes_of_the_papers() -> None:
    critic = models.MLPCritic((2,), (512, 512, 512))  # 003 §6: three hidden layers of 512
    linears = [m for m in critic.modules() if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [512, 512, 512, 1]
    assert all(m.bias is not None for m in linears)
    assert models.MLPGenerator(2, (1, 8, 8), (16,))(torch.randn(3, 2)).shape == (3, 1, 8, 8)


def test_image_size_must_be_a_power_of_two() -> None:
    with pytest.raises(ConfigError, match="power of two"):
        models.DCGANCritic((1, 12, 12))
    with pytest.raises(ConfigError, match=r"\(C, H, H\)"):
        models.ResNetGenerator(2, (8, 8))
