"""The public names of the core and what importing them costs.

Ground truth: the ``__all__`` lists below were copied from ``gp_spec/optimal.py`` and
``gp_spec/dynamics.py`` before they became packages (issue 12), so a name lost in a split fails
here. The one deliberate change: ``dynamics.Measure1D`` and ``dynamics.PenaltyMeasure`` were
renamed ``MeasureName`` and ``PenaltyLaw`` (issue 12 item 5: one notion of measure; see the
``gp_spec.dynamics`` docstring). Import costs are checked in fresh interpreters.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

TOP_LEVEL = [
    "SPECS", "Critic", "Measure", "PenaltyFn", "Points", "Spec", "__version__", "constraints",
    "errors", "get_spec", "measures", "objectives", "penalties",
]
OPTIMAL = [
    "AbsCriticExample", "CTransformCritic", "EpsilonOptimalDiscriminator", "KantorovichResult",
    "L1Counterexample", "Observation1Example", "abs_critic_example", "compact_dual_w1",
    "epsilon_optimal_discriminator", "epsilon_optimal_k", "gan_optimal_discriminator",
    "gan_optimal_logit", "kantorovich", "l1_counterexample", "lipschitz_penalty_optimal_k",
    "least_squares_optimal_critic", "linear_wgan_gradients", "min_norm_epsilon_optimal_linear",
    "observation1_example", "w1_1d", "weight_clipping_extremal",
    "weight_clipping_lipschitz_bound", "weight_clipping_witness",
]
DYNAMICS = [
    "Discriminator", "Field", "Generator", "MassFn", "MeasureName", "PenaltyLaw", "SGPSystem",
    "SecondMoment", "Trajectory", "dirac_gan", "dirac_second_moment", "eigenvalues",
    "gauss_legendre", "integrate", "is_hurwitz", "jacobian", "product_interpolation",
    "quadratic_dirac_gan", "quadratic_uniform_gan", "realizable_sgp_example",
    "theorem1_jacobian", "uniform_second_moment",
]


@pytest.mark.parametrize(
    ("module", "names"),
    [("gp_spec", TOP_LEVEL), ("gp_spec.optimal", OPTIMAL), ("gp_spec.dynamics", DYNAMICS)],
)
def test_all_lists_exactly_the_public_names_and_each_resolves(
    module: str, names: list[str]
) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(names)
    for name in names:
        value = getattr(mod, name)
        assert value is not None, f"{module}.{name}"
        if callable(value) and hasattr(value, "__module__") and name[0].islower():
            # a function re-exported by a package comes from one of its own modules
            assert value.__module__.startswith(module.split(".")[0]), f"{module}.{name}"


def test_star_import_of_the_top_level_gives_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from gp_spec import *", namespace)  # the documented surface, loaded lazily
    assert sorted(k for k in namespace if k != "__builtins__") == sorted(TOP_LEVEL)


def test_unknown_top_level_name_raises_attribute_error() -> None:
    import gp_spec

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = gp_spec.nope  # type: ignore[attr-defined]


def _fresh(code: str) -> str:
    """stdout of ``code`` in a fresh interpreter (the import state of this one is irrelevant)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_import_gp_spec_loads_no_torch() -> None:
    # issue 12 item 6: the pytest11 entry point imports the package in every pytest run.
    code = "import sys, gp_spec; print(gp_spec.__version__, 'torch' in sys.modules)"
    assert _fresh(code).split() == ["0.1.0", "False"]


def test_core_solver_packages_load_no_scipy_or_pot() -> None:
    code = ("import sys, gp_spec.optimal, gp_spec.dynamics; "
            "print(sorted({'scipy', 'ot'} & set(sys.modules)))")
    assert _fresh(code) == "[]"
