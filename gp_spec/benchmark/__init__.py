"""What a gradient penalty costs: variants of one WGAN-GP critic step, checked and timed.

Modules: :mod:`~gp_spec.benchmark.critics` (MLP, DCGAN and ResNet critics),
:mod:`~gp_spec.benchmark.variants` (the ways of computing the loss),
:mod:`~gp_spec.benchmark.agreement` (each exact variant against the reference),
:mod:`~gp_spec.benchmark.timing` (timers, interleaving, memory),
:mod:`~gp_spec.benchmark.runner` (one case), :mod:`~gp_spec.benchmark.report` (JSON, markdown)
and :mod:`~gp_spec.benchmark.cli` (``gp-spec bench``).
"""

from __future__ import annotations

from gp_spec.benchmark.agreement import Agreement, check_agreement
from gp_spec.benchmark.critics import CRITICS, build_critic
from gp_spec.benchmark.runner import Case, CaseResult, Settings, VariantResult, run_case
from gp_spec.benchmark.timing import Summary
from gp_spec.benchmark.variants import Losses, Variant, standard_variants

__all__ = [
    "CRITICS",
    "Agreement",
    "Case",
    "CaseResult",
    "Losses",
    "Settings",
    "Summary",
    "Variant",
    "VariantResult",
    "build_critic",
    "check_agreement",
    "run_case",
    "standard_variants",
]
