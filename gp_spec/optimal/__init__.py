"""Analytic optima and constructions (SPEC §4 items 1-13): the ground truth tests hold code to.

Optimal transport (§4.1-2, ``_transport``): :func:`kantorovich` solves the empirical ``W1``
with POT's exact network simplex and returns the coupling, the dual potentials and the
c-transform critic; :func:`compact_dual_w1` solves 002's compact dual LP with scipy;
:func:`w1_1d` is the 1-D closed form. Closed-form examples (§4.3, 4.5, 4.8, ``_examples``):
:func:`observation1_example`, :func:`abs_critic_example`, :func:`l1_counterexample`. Optimal
critics (§4.9, 4.11, ``_optima``): Theorem 4's optimal ``k``, the optimal GAN / least-squares
discriminators. Constructions (§4.7, 4.12, 4.13, ``_constructions``):
:func:`weight_clipping_extremal`, :func:`epsilon_optimal_discriminator`,
:func:`min_norm_epsilon_optimal_linear`.

Conventions: ``source`` is real (``mu``, where the critic is high), ``target`` is fake (``nu``);
point clouds are ``(N, *event)`` tensors, the ground cost is the Euclidean norm over all event
dims (SPEC conventions); numpy results are float64. Importing this package loads torch and
numpy only; POT and scipy load on the first call of a solver that uses them.
"""

from __future__ import annotations

from gp_spec.optimal._constructions import (
    EpsilonOptimalDiscriminator,
    epsilon_optimal_discriminator,
    epsilon_optimal_k,
    linear_wgan_gradients,
    min_norm_epsilon_optimal_linear,
    weight_clipping_extremal,
    weight_clipping_lipschitz_bound,
    weight_clipping_witness,
)
from gp_spec.optimal._examples import (
    AbsCriticExample,
    L1Counterexample,
    Observation1Example,
    abs_critic_example,
    l1_counterexample,
    observation1_example,
)
from gp_spec.optimal._inputs import FloatArray as FloatArray  # type aliases, outside __all__
from gp_spec.optimal._optima import (
    LogDensity as LogDensity,
)
from gp_spec.optimal._optima import (
    gan_optimal_discriminator,
    gan_optimal_logit,
    least_squares_optimal_critic,
    lipschitz_penalty_optimal_k,
)
from gp_spec.optimal._transport import (
    CTransformCritic,
    KantorovichResult,
    compact_dual_w1,
    kantorovich,
    w1_1d,
)

__all__ = [
    "AbsCriticExample",
    "CTransformCritic",
    "EpsilonOptimalDiscriminator",
    "KantorovichResult",
    "L1Counterexample",
    "Observation1Example",
    "abs_critic_example",
    "compact_dual_w1",
    "epsilon_optimal_discriminator",
    "epsilon_optimal_k",
    "gan_optimal_discriminator",
    "gan_optimal_logit",
    "kantorovich",
    "l1_counterexample",
    "lipschitz_penalty_optimal_k",
    "least_squares_optimal_critic",
    "linear_wgan_gradients",
    "min_norm_epsilon_optimal_linear",
    "observation1_example",
    "w1_1d",
    "weight_clipping_extremal",
    "weight_clipping_lipschitz_bound",
    "weight_clipping_witness",
]
