"""Weight clipping (SPEC §3, last row; 003 §4, App. B): ``clip_weights(module, c)``.

Checks that every parameter ends in ``[-c, c]``, that in-range entries are untouched and
out-of-range ones become exactly ``+-c`` (numpy's ``np.clip`` as the independent truth), that
buffers and autograd state are left alone, and that ``c <= 0`` or a non-finite ``c`` is rejected.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from gp_spec.constraints import clip_weights
from gp_spec.errors import InvalidInputError


def _net(scale: float = 3.0) -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(-scale, scale)
    return net


def test_clip_matches_numpy_clip() -> None:
    # 003 §4 / App. B: each parameter is clamped to [-c, c]; np.clip is the independent truth,
    # so in-range entries are unchanged and out-of-range ones become exactly +-c.
    net = _net()
    before = [p.detach().numpy().copy() for p in net.parameters()]
    clip_weights(net, 0.5)
    for old, p in zip(before, net.parameters(), strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), np.clip(old, -0.5, 0.5))
    assert any((np.abs(old) > 0.5).any() for old in before), "nothing was out of range"
    assert any(((np.abs(old) < 0.5) & (old != 0)).any() for old in before), "nothing in range"


def test_in_range_module_is_unchanged() -> None:
    net = _net(scale=0.01)
    before = [p.detach().clone() for p in net.parameters()]
    clip_weights(net, 0.01)
    for old, p in zip(before, net.parameters(), strict=True):
        assert torch.equal(old, p.detach()), "a parameter already in [-c, c] was modified"


def test_buffers_and_autograd_state_untouched() -> None:
    # Only parameters are clipped; BatchNorm's running statistics are buffers, not weights.
    net = _net()
    bn = net[1]
    assert isinstance(bn, nn.BatchNorm1d) and bn.running_mean is not None
    bn.running_mean.fill_(7.0)
    clip_weights(net, 0.01)
    assert bool((bn.running_mean == 7.0).all()), "clip_weights should not touch buffers"
    for p in net.parameters():
        assert p.requires_grad and p.is_leaf and p.grad_fn is None


@pytest.mark.parametrize("c", [0.0, -0.01, float("nan"), float("inf"), "0.01"],
                         ids=["zero", "negative", "nan", "inf", "string"])
def test_bad_bound_raises(c: float) -> None:
    net = _net()
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(InvalidInputError, match="c="):
        clip_weights(net, c)
    assert all(torch.equal(o, p.detach()) for o, p in zip(before, net.parameters(), strict=True))


@given(
    values=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=12),
    c=st.floats(1e-4, 10.0),
)
def test_every_parameter_in_bound_property(values: list[float], c: float) -> None:
    # 003 §4: after clipping, |w| <= c for every weight; np.clip as the independent truth.
    lin = nn.Linear(len(values), 1).to(torch.float64)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([values], dtype=torch.float64))
        lin.bias.fill_(-2 * c)
    clip_weights(lin, c)
    np.testing.assert_array_equal(lin.weight.detach().numpy()[0], np.clip(values, -c, c))
    assert float(lin.bias) == -c
