"""Training dynamics of simple-gradient-penalty WGANs as ODEs (SPEC §4 items 14-17).

The SGP mu-WGAN of 000 Def. 4 maximises over the discriminator parameters ``psi``
``V(psi, theta) = E_pd[D] - E_ptheta[D] - (rho/2) E_mu[||grad_x D||^2]`` and minimises
``E_pd[D] - E_ptheta[D]`` over the generator parameters ``theta``; simultaneous gradient flow is
the autonomous system ``psi' = grad_psi V``, ``theta' = grad_theta E_ptheta[D]``.

This package gives the paper's toy systems in closed form (``_toys``: :func:`dirac_gan`,
Lemma 1; :func:`quadratic_uniform_gan`, Lemma 2; :func:`quadratic_dirac_gan`, Lemma 3), a
general autograd-built :class:`SGPSystem` for realizable problems (``_realizable``, Theorem 1),
their Jacobians (:func:`jacobian`), spectra (:func:`eigenvalues`, :func:`is_hurwitz`), the
Theorem 1 block matrix (:func:`theorem1_jacobian`) and an ODE integrator (:func:`integrate`)
(``_linearisation``; scipy is loaded on the first call that needs it).

A vector field maps a state ``(psi, theta)`` of shape ``(P + T,)`` to its time derivative of
the same shape, differentiably: when the state requires grad the output carries a graph (so
``torch.autograd.functional.jacobian`` works), otherwise it is detached.

**One notion of measure.** A penalty measure is the core's :class:`gp_spec.Measure`
(:mod:`gp_spec.measures`); the dynamics never defines another. What it needs is different from
what a measure gives: ``Measure.sample`` draws random points, detached from the generator, for
one training step, while 000 differentiates the *law* of ``mu_theta`` in ``theta`` (§2.1, the
derivative ``Q'_theta`` of a finite measure; the Jacobian's ``d psi' / d theta`` block
contains it). A random, detached sample would give the wrong Jacobian and a noisy field. So the
dynamics holds exact laws *of* the core's measures, under names that say so:

- :func:`uniform_second_moment` / :func:`dirac_second_moment` take a core measure
  (``measures.interpolate()``, ``anchor(A)``, a ``mixture`` of them ...) or its name
  (:data:`MeasureName`) and return the exact ``E_mu[x^2]`` of its law in the toy;
- :data:`PenaltyLaw` (formerly ``PenaltyMeasure``) is the exact law as a weighted point set
  differentiable in ``theta``, built by :func:`product_interpolation` for the laws of
  ``real``/``fake``/``midpoint``/``interpolate``. It returns ``(points, masses)`` with
  ``E_mu[h] = sum masses * h``, not the core's ``Points``, whose points are detached and whose
  weights estimate by a mean.

``tests/test_dynamics.py`` checks every closed-form second moment against Monte Carlo draws
of the core's own ``measure.sample``.
"""

from __future__ import annotations

from gp_spec.dynamics._fields import (
    Discriminator,
    Field,
    Generator,
    MassFn,
    MeasureName,
    PenaltyLaw,
    SecondMoment,
)
from gp_spec.dynamics._linearisation import (
    Trajectory,
    eigenvalues,
    integrate,
    is_hurwitz,
    jacobian,
    theorem1_jacobian,
)
from gp_spec.dynamics._realizable import (
    SGPSystem,
    gauss_legendre,
    product_interpolation,
    realizable_sgp_example,
)
from gp_spec.dynamics._toys import (
    dirac_gan,
    dirac_second_moment,
    quadratic_dirac_gan,
    quadratic_uniform_gan,
    uniform_second_moment,
)

__all__ = [
    "Discriminator",
    "Field",
    "Generator",
    "MassFn",
    "MeasureName",
    "PenaltyLaw",
    "SGPSystem",
    "SecondMoment",
    "Trajectory",
    "dirac_gan",
    "dirac_second_moment",
    "eigenvalues",
    "gauss_legendre",
    "integrate",
    "is_hurwitz",
    "jacobian",
    "product_interpolation",
    "quadratic_dirac_gan",
    "quadratic_uniform_gan",
    "realizable_sgp_example",
    "theorem1_jacobian",
    "uniform_second_moment",
]
