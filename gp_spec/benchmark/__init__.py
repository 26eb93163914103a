"""What a gradient penalty costs: the user's penalty, the spec's reference and the WGAN-GP
strategy variants, each as one critic training step, checked and timed side by side.

Front doors: :func:`bench_penalty` (your penalty against ``SPECS[spec]``'s reference and the
plain step, with a conformance verdict), :func:`assert_cost` (the same as a pytest-benchmark
benchmark in your own suite), ``gp-spec bench`` (:mod:`~gp_spec.benchmark.cli`, both modes).

Modules: :mod:`~gp_spec.benchmark.critics` (the harness's MLP, DCGAN and ResNet critics as
benchmarked, or yours), :mod:`~gp_spec.benchmark.variants` (ways of computing the loss),
:mod:`~gp_spec.benchmark.graphs` (the CUDA-graph variant), :mod:`~gp_spec.benchmark.agreement`
(each exact variant against the reference), :mod:`~gp_spec.benchmark.timing` (the timing
method), :mod:`~gp_spec.benchmark.memory` (peak memory), :mod:`~gp_spec.benchmark.runner`
(one case), :mod:`~gp_spec.benchmark.penalty` and :mod:`~gp_spec.benchmark.cost` (the user's
penalty), :mod:`~gp_spec.benchmark.report` and :mod:`~gp_spec.benchmark.penalty_report`
(JSON, Markdown, PNG), :mod:`~gp_spec.benchmark.sanity` (plausibility checks of results).
"""

from __future__ import annotations

from gp_spec.benchmark.agreement import Agreement, check_agreement
from gp_spec.benchmark.cost import assert_cost
from gp_spec.benchmark.critics import CRITICS, build_critic
from gp_spec.benchmark.penalty import RATIOS, BenchResult, Verdict, bench_penalty
from gp_spec.benchmark.runner import Case, CaseResult, Settings, VariantResult, run_case
from gp_spec.benchmark.timing import Summary
from gp_spec.benchmark.variants import Losses, Variant, standard_variants

__all__ = [
    "CRITICS",
    "RATIOS",
    "Agreement",
    "BenchResult",
    "Case",
    "CaseResult",
    "Losses",
    "Settings",
    "Summary",
    "Variant",
    "VariantResult",
    "Verdict",
    "assert_cost",
    "bench_penalty",
    "build_critic",
    "check_agreement",
    "run_case",
    "standard_variants",
]
