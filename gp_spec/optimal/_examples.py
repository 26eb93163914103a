"""Closed-form examples of the papers (SPEC §4.3, 4.5, 4.8): point sets and critics with known W1.

:func:`observation1_example` (003 Observation 1), :func:`abs_critic_example` (003 Prop. 2, the
optimal critic ``-|x|``), :func:`l1_counterexample` (002 App. D).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from gp_spec import _validation as v
from gp_spec.errors import InvalidInputError

# ----------------------------------------------------------------------------------------------
# §4.3 Observation 1 (2-D) and §4.5 the optimal critic -|x|
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Observation1Example:
    """003 Fig. 1 right: fakes ``(1, 2), (1, 1)``, reals ``(2, 2), (2, 1)``, coupled horizontally.

    Optimal critic values (up to a constant) are ``f(1,2) = 0``, ``f(1,1) = a``, ``f(2,2) = 1``,
    ``f(2,1) = a + 1`` for exactly ``a in [a_min, a_max] = [1 - sqrt 2, sqrt 2 - 1]``.

    Attributes:
      real: ``(2, 2)`` float64 ``[(2, 2), (2, 1)]``; fake: ``(2, 2)`` ``[(1, 2), (1, 1)]``.
      w1: 1.0. a_min, a_max: the interval of ``a``.

    Source: 003 §4.1 Observation 1, Fig. 1, App. A.1.
    """

    real: Tensor
    fake: Tensor
    w1: float
    a_min: float
    a_max: float

    def critic_values(self, a: float) -> tuple[Tensor, Tensor]:
        """``(f(real), f(fake))`` = ``((1, a + 1), (0, a))`` as float64 ``(2,)`` tensors."""
        return (
            torch.tensor([1.0, a + 1.0], dtype=torch.float64),
            torch.tensor([0.0, a], dtype=torch.float64),
        )


def observation1_example() -> Observation1Example:
    """The 2-D example of 003 Observation 1 with its interval ``a in [1 - sqrt 2, sqrt 2 - 1]``.

    The two cross constraints ``f(2,2) - f(1,1) = 1 - a <= sqrt 2`` and
    ``f(2,1) - f(1,2) = a + 1 <= sqrt 2`` give the interval; W1 = (1 + 1)/2 = 1.

    Source: 003 Fig. 1 (right), App. A.1; SPEC §4.3.
    """
    f64 = torch.float64
    return Observation1Example(
        real=torch.tensor([[2.0, 2.0], [2.0, 1.0]], dtype=f64),
        fake=torch.tensor([[1.0, 2.0], [1.0, 1.0]], dtype=f64),
        w1=1.0,
        a_min=1.0 - math.sqrt(2.0),
        a_max=math.sqrt(2.0) - 1.0,
    )


def _neg_abs(x: Tensor) -> Tensor:
    x = v.batch(x, "x")
    if x[0].numel() != 1:
        raise InvalidInputError(f"x.shape={tuple(x.shape)}, but should be (N, 1)")
    return -x.flatten(1)[:, 0].abs()


@dataclass(frozen=True, eq=False)
class AbsCriticExample:
    """003 Prop. 2: real ``N(0, 1)``, fake ``1/2 N(-1, 1) + 1/2 N(1, 1)``, critic ``-|x|``.

    Attributes:
      real: ``torch.distributions.Normal(0, 1)`` (float64, scalar event).
      fake: ``MixtureSameFamily`` of ``N(-1, 1)`` and ``N(1, 1)`` with weights 1/2 (float64).
      critic: ``(N, 1) -> (N,)``, ``-|x|``.
      w1: ``2 pdf(1) + 1 - 2 cdf(-1) - sqrt(2/pi) = 0.368746380372...``.

    Source: 003 Prop. 2, App. C.3; SPEC §4.5.
    """

    real: torch.distributions.Normal
    fake: torch.distributions.MixtureSameFamily
    critic: Callable[[Tensor], Tensor]
    w1: float


def abs_critic_example() -> AbsCriticExample:
    """The Gaussian example of 003 Prop. 2 with its optimal critic ``-|x|`` and W1.

    ``W1 = E_fake|x| - E_real|x| = E|N(1, 1)| - E|N(0, 1)|``; the folded normal mean is
    ``E|N(mu, 1)| = 2 pdf(mu) + mu (1 - 2 cdf(-mu))``, so
    ``W1 = 2 pdf(1) + 1 - 2 cdf(-1) - sqrt(2 / pi)``.

    Source: 003 Prop. 2, App. C.3; SPEC §4.5.
    """
    f64 = torch.float64
    real = torch.distributions.Normal(torch.tensor(0.0, dtype=f64), torch.tensor(1.0, dtype=f64))
    fake = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(probs=torch.tensor([0.5, 0.5], dtype=f64)),
        torch.distributions.Normal(
            torch.tensor([-1.0, 1.0], dtype=f64), torch.tensor([1.0, 1.0], dtype=f64)
        ),
    )
    pdf_1 = math.exp(-0.5) / math.sqrt(2 * math.pi)  # standard normal pdf(1)
    cdf_minus_1 = 0.5 * math.erfc(1 / math.sqrt(2))  # standard normal cdf(-1)
    w1 = 2 * pdf_1 + 1 - 2 * cdf_minus_1 - math.sqrt(2 / math.pi)
    return AbsCriticExample(real=real, fake=fake, critic=_neg_abs, w1=w1)


# ----------------------------------------------------------------------------------------------
# §4.8 The l1 counterexample to Theorem 3
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class L1Counterexample:
    """002 App. D: ``g(x, y) = x + y`` is 1-Lipschitz for l1, ``g(B) - g(A) = ||B - A||_1``,
    yet ``grad g = (1, 1)`` is not parallel to ``B - A``.

    Attributes:
      g: ``(N, 2) -> (N,)``, ``x + y``.
      a: ``A = (0, 0)``; b: ``B = (2, 1)`` (float64 ``(2,)``).

    Source: 002 App. D (Theorem 3 holds only for l2); SPEC §4.8.
    """

    g: Callable[[Tensor], Tensor]
    a: Tensor
    b: Tensor


def _sum_coordinates(p: Tensor) -> Tensor:
    p = v.batch(p, "p")
    if p.shape[1:] != (2,):
        raise InvalidInputError(f"p.shape={tuple(p.shape)}, but should be (N, 2)")
    return p[:, 0] + p[:, 1]


def l1_counterexample() -> L1Counterexample:
    """``g(x, y) = x + y`` with ``A = (0, 0)``, ``B = (2, 1)`` (002 App. D).

    ``g(p) - g(q) = (p - q) . (1, 1) <= ||p - q||_1``; ``g(B) - g(A) = 3 = ||B - A||_1``;
    ``grad g = (1, 1)`` and ``B - A = (2, 1)`` are not parallel.

    Source: 002 App. D; SPEC §4.8.
    """
    f64 = torch.float64
    return L1Counterexample(
        g=_sum_coordinates,
        a=torch.tensor([0.0, 0.0], dtype=f64),
        b=torch.tensor([2.0, 1.0], dtype=f64),
    )
