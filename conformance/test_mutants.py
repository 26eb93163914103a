"""Each mutant fails, and fails the check that names its bug (``Mutant.catches``).

A check that is not named by any mutant is untested by this file; a mutant whose bug is
caught only by some other check means the catalogue needs sharpening, not the mutant.
"""

from __future__ import annotations

import pytest

from conformance.mutants import MUTANTS, Mutant
from conformance.rewrites import REWRITES
from conformance.table import fired
from gp_spec import SPECS
from gp_spec.conformance import check, checks_for


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_fails_the_check_that_names_its_bug(mutant: Mutant) -> None:
    report = check(mutant.fn, mutant.spec, weight=mutant.weight, label=mutant.name,
                   **mutant.options)
    assert not report.passed, f"{mutant.name} ({mutant.bug}) passed:\n{report.to_text()}"
    assert mutant.catches in fired(report), (
        f"{mutant.name} ({mutant.bug}) is not caught by {mutant.spec}.{mutant.catches}:\n"
        + report.to_text()
    )
    (named,) = [r for r in report.results if r.id == f"{mutant.spec}.{mutant.catches}"]
    assert named.status == mutant.status, f"{named.status}, not {mutant.status}: {named.message}"
    assert named.message.startswith(f"{mutant.name}: ")
    if mutant.status == "fail":
        assert ", but should be " in named.message


def test_there_are_at_least_25_mutants_and_6_rewrites_with_unique_names() -> None:
    names = [m.name for m in MUTANTS] + [r.name for r in REWRITES]
    assert len(MUTANTS) >= 25 and len(REWRITES) >= 6
    assert len(set(names)) == len(names), sorted(n for n in names if names.count(n) > 1)


def test_mutants_are_spread_over_the_specs() -> None:
    specs = {m.spec for m in MUTANTS}
    wanted = {"wgan-gp", "wgan-lp", "gan-0gp", "r1", "r2", "dragan", "sgp-anchor", "sgp-mid",
              "lp-quotient", "w2-quotient", "transport", "max-gradient"}
    assert wanted <= specs, sorted(wanted - specs)


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_declaration_is_well_formed(mutant: Mutant) -> None:
    spec = SPECS[mutant.spec]
    clauses = {c.clause for c in checks_for(spec)}
    assert mutant.catches in clauses, f"{mutant.spec} has no check {mutant.catches!r}"
    assert mutant.bug.strip() and "\n" not in mutant.bug
    assert mutant.weight > 0 and mutant.fn.__name__ == mutant.name
