"""Sessions: tests, lint, conform, demo, bench, stability.

Every session installs the CPU build of torch first (``.ci/constraints.txt``): an open
``torch`` requirement in a fresh environment resolves to a multi-GB CUDA build.
"""

from __future__ import annotations

import datetime

import nox

nox.options.sessions = ["lint", "tests", "conform"]
nox.options.reuse_existing_virtualenvs = True

CONSTRAINTS = ".ci/constraints.txt"


def _install(session: nox.Session, extras: str = "test") -> None:
    session.install("-c", CONSTRAINTS, "torch")
    session.install("-c", CONSTRAINTS, "-e", f".[{extras}]")


THIRD_PARTY = ("torchgan==0.1.0", "ctgan==0.12.1", "torch-mimicry==0.1.16")


def _install_third_party(session: nox.Session) -> None:
    """Third-party penalties for conformance/THIRD_PARTY.md; their tests skip if this fails."""
    session.run(
        "python", "-m", "pip", "install", "-q", "--no-deps", *THIRD_PARTY, success_codes=[0, 1]
    )


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """The test suite: tests/ (spec vs mathematics) and conformance/ (implementations vs spec).

    Pass pytest arguments after ``--``, e.g. ``nox -s tests -- --hypothesis-profile thorough``.
    """
    _install(session, "test,harness")
    _install_third_party(session)
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff and ``mypy --strict gp_spec``."""
    _install(session, "lint,test,harness")  # mypy needs pytest, matplotlib, PIL to type-check
    session.run("ruff", "check", "gp_spec", "tests", "conformance", "bench", "noxfile.py")
    session.run("mypy", "--strict", "gp_spec")


@nox.session(python="3.11")
def conform(session: nox.Session) -> None:
    """The conformance suite: prints the mutant/equivalent table, then runs it as tests."""
    _install(session, "test,harness")  # ctgan and torch-mimicry import sklearn/joblib
    _install_third_party(session)
    session.run("python", "-m", "conformance.table")
    session.run("python", "-m", "pytest", "conformance", "-q", *session.posargs)


@nox.session(python="3.11")
def demo(session: nox.Session) -> None:
    """The main job end to end: conform the shipped example (passes) and a buggy one (fails)."""
    _install(session, "test")
    session.run("gp-spec", "conform", "gp_spec.examples.penalties:wgan_gp", "--spec", "wgan-gp")
    session.run(
        "gp-spec", "conform", "gp_spec.examples.penalties:buggy_wgan_gp", "--spec", "wgan-gp",
        success_codes=[1],
    )


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """CPU benchmarks (pytest-benchmark); results under bench/results/."""
    _install(session, "bench,harness")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M")
    session.run(
        "python", "-m", "pytest", "bench", "--benchmark-only", "-p", "no:cacheprovider",
        f"--benchmark-json=bench/results/pytest-cpu-{stamp}.json", *session.posargs,
    )


@nox.session(python="3.11")
def stability(session: nox.Session) -> None:
    """Verdict stability: every check under many seeds on references, rewrites and mutants."""
    _install(session, "test")
    session.run("python", "-m", "conformance.stability", *session.posargs)
