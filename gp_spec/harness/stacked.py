"""K multilayer perceptrons of one shape evaluated as one: grouped batched matmuls.

``StackedMLP.from_members(nets)`` takes K :class:`~gp_spec.harness.models.MLPCritic` (or
:class:`~gp_spec.harness.models.MLPGenerator`) modules with the same layer sizes and holds
their parameters stacked: layer ``l`` has a weight ``(K, out_l, in_l)`` and a bias
``(K, out_l)``. Its forward maps ``(K, N, in)`` to ``(K, N, out)`` with one
``torch.baddbmm`` per layer (``h_k W_k^T + b_k`` for every member k at once), so K small
networks cost one kernel per layer instead of K. Member k's output depends only on member k's
parameters and inputs, hence ``grad`` of a sum over members is each member's own gradient.

Used by :mod:`gp_spec.harness.many`; :meth:`StackedMLP.copy_to` and
:meth:`StackedMLP.copy_from` move member k's parameters to and from its own module.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gp_spec.harness.errors import ConfigError
from gp_spec.harness.models import MLPCritic, MLPGenerator

__all__ = ["StackedMLP"]


def _linears(net: nn.Module) -> tuple[list[nn.Linear], float, bool]:
    """The Linear layers of an MLP of :mod:`gp_spec.harness.models`, its LeakyReLU slope
    and whether it ends in tanh."""
    if not isinstance(net, (MLPCritic, MLPGenerator)):
        raise ConfigError(f"stacking needs MLPCritic or MLPGenerator members, but got "
                          f"{type(net).__name__}: many-runs training supports architecture "
                          "'mlp' only")
    linears = [m for m in net.net if isinstance(m, nn.Linear)]
    slopes = [m.negative_slope for m in net.net if isinstance(m, nn.LeakyReLU)]
    return linears, float(slopes[0]) if slopes else 0.0, bool(getattr(net, "tanh", False))


class StackedMLP(nn.Module):
    """K MLPs with equal layer sizes as one module: ``(K, N, in) -> (K, N)`` for critics,
    ``(K, N, latent) -> (K, N, *event)`` for generators.

    Attributes:
      weights, biases: per layer, ``(K, out, in)`` and ``(K, out)`` parameters.
      negative_slope: the LeakyReLU slope between layers.
      tanh: a final tanh (image generators).
      event_shape: the generator's event shape, or None for a critic (output squeezed).
    """

    def __init__(self, weights: Sequence[Tensor], biases: Sequence[Tensor], *,
                 negative_slope: float, tanh: bool, event_shape: tuple[int, ...] | None) -> None:
        super().__init__()
        self.weights = nn.ParameterList([nn.Parameter(w) for w in weights])
        self.biases = nn.ParameterList([nn.Parameter(b) for b in biases])
        self.negative_slope = negative_slope
        self.tanh = tanh
        self.event_shape = event_shape

    @classmethod
    def from_members(cls, nets: Sequence[nn.Module]) -> StackedMLP:
        """Stack copies of the members' parameters (the members are not modified).

        Raises:
          ConfigError: no members, a member that is not an MLP of the harness, or members
            whose layer sizes, slopes or output shapes differ.
        """
        if not nets:
            raise ConfigError("StackedMLP needs at least one member network")
        layers = [_linears(n) for n in nets]
        first, slope, tanh = layers[0]
        shapes = [tuple(lin.weight.shape) for lin in first]
        events = {getattr(n, "event_shape", None) for n in nets}
        for lins, s, t in layers[1:]:
            if [tuple(lin.weight.shape) for lin in lins] != shapes or s != slope or t != tanh:
                raise ConfigError(f"members differ in layer sizes or activations ({shapes} vs "
                                  f"{[tuple(lin.weight.shape) for lin in lins]}), but stacked "
                                  "runs must have the same networks")
        if len(events) != 1:
            raise ConfigError(f"members have event shapes {sorted(map(str, events))}, but "
                              "should share one")
        weights = [torch.stack([ls[0][i].weight.detach() for ls in layers]).clone()
                   for i in range(len(shapes))]
        biases = [torch.stack([ls[0][i].bias.detach() for ls in layers]).clone()
                  for i in range(len(shapes))]
        event = events.pop()
        return cls(weights, biases, negative_slope=slope, tanh=tanh,
                   event_shape=None if event is None else tuple(event))

    @property
    def members(self) -> int:
        """K, the number of stacked networks."""
        return int(self.weights[0].shape[0])

    def forward(self, x: Tensor) -> Tensor:
        """``(K, N, *in) -> (K, N)`` (critic) or ``(K, N, *event_shape)`` (generator)."""
        k, n = x.shape[0], x.shape[1]
        h = x.reshape(k, n, -1)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            if i < last:
                h = torch.nn.functional.leaky_relu(h, self.negative_slope)
        if self.tanh:
            h = torch.tanh(h)
        if self.event_shape is None:
            return h[..., 0]
        return h.view(k, n, *self.event_shape)

    def _member_params(self, net: nn.Module) -> list[nn.Linear]:
        return _linears(net)[0]

    @torch.no_grad()
    def copy_to(self, k: int, net: nn.Module) -> None:
        """Write member ``k``'s parameters into ``net`` (a module of the member's shape)."""
        for lin, w, b in zip(self._member_params(net), self.weights, self.biases, strict=True):
            lin.weight.copy_(w[k])
            lin.bias.copy_(b[k])

    @torch.no_grad()
    def copy_from(self, k: int, net: nn.Module) -> None:
        """Read member ``k``'s parameters from ``net``."""
        for lin, w, b in zip(self._member_params(net), self.weights, self.biases, strict=True):
            w[k].copy_(lin.weight)
            b[k].copy_(lin.bias)

    def parameter_order(self) -> list[nn.Parameter]:
        """The stacked parameters in the members' ``parameters()`` order (weight, bias per
        layer), so optimiser state index i is the same parameter in both."""
        out: list[nn.Parameter] = []
        for w, b in zip(self.weights, self.biases, strict=True):
            out += [w, b]
        return out
