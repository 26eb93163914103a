"""pytest plugin (entry point ``pytest11``): ``pytest --gp-impl MODULE:ATTR --gp-spec NAME``.

Each check of the catalogue becomes its own test item (so ``--junitxml`` has one test case
per check and ``-k`` selects by check id). Inert unless ``--gp-impl`` (or the environment
variable ``GP_SPEC_IMPL``) is given.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

ENV_IMPL, ENV_SPEC, ENV_WEIGHT = "GP_SPEC_IMPL", "GP_SPEC_SPEC", "GP_SPEC_WEIGHT"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gp-spec", "gp-spec conformance")
    group.addoption("--gp-impl", default=None, metavar="MODULE:ATTR",
                    help=f"implementation to check (or ${ENV_IMPL})")
    group.addoption("--gp-spec", default=None, metavar="NAME",
                    help=f"spec name from gp_spec.SPECS (or ${ENV_SPEC})")
    group.addoption("--gp-weight", default=None, type=float,
                    help=f"the implementation's weight (or ${ENV_WEIGHT}; default: spec's)")
    group.addoption("--gp-adapter", default=None, help="adapter name (see gp_spec.conformance)")
    group.addoption("--gp-device", default="cpu", help="device for the checks")
    group.addoption("--gp-seed", default=0, type=int, help="seed of the checks")
    group.addoption("--gp-timeout", default=60.0, type=float, help="seconds per check")


def _options(config: pytest.Config) -> dict[str, Any] | None:
    impl = config.getoption("--gp-impl") or os.environ.get(ENV_IMPL)
    if not impl:
        return None
    spec = config.getoption("--gp-spec") or os.environ.get(ENV_SPEC)
    if not spec:
        raise pytest.UsageError("--gp-impl needs --gp-spec NAME (or GP_SPEC_SPEC)")
    weight = config.getoption("--gp-weight")
    if weight is None and os.environ.get(ENV_WEIGHT):
        try:
            weight = float(os.environ[ENV_WEIGHT])
        except ValueError:
            raise pytest.UsageError(
                f"gp-spec: {ENV_WEIGHT}={os.environ[ENV_WEIGHT]!r} is not a number"
            ) from None
    return {
        "impl": impl, "spec": spec, "weight": weight,
        "adapter": config.getoption("--gp-adapter"), "device": config.getoption("--gp-device"),
        "seed": config.getoption("--gp-seed"), "timeout": config.getoption("--gp-timeout"),
    }


def pytest_configure(config: pytest.Config) -> None:
    opts = _options(config)
    if opts is None:
        return
    from gp_spec.conformance._engine import plan
    from gp_spec.conformance._loading import load_implementation
    from gp_spec.errors import GPSpecError

    try:
        impl = load_implementation(opts["impl"])
        planned = plan(impl, opts["spec"], weight=opts["weight"], device=opts["device"],
                       seed=opts["seed"], timeout=opts["timeout"], adapter=opts["adapter"],
                       label=opts["impl"])
    except (GPSpecError, ValueError, TypeError) as exc:
        raise pytest.UsageError(f"gp-spec: {exc}") from None
    config.stash[_PLANNED] = planned
    config.stash[_OPTS] = opts


_PLANNED = pytest.StashKey[list[Any]]()
_OPTS = pytest.StashKey[dict[str, Any]]()


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    opts = config.stash.get(_OPTS, None)
    if opts is None:
        return None
    from gp_spec.conformance._engine import versions

    planned = config.stash[_PLANNED]
    ctx = planned[0].context
    vers = ", ".join(f"{k} {v}" for k, v in versions().items())
    return [
        f"gp-spec: implementation {opts['impl']}, spec {ctx.spec.name}, weight {ctx.weight:g}, "
        f"device {ctx.device}, seed {ctx.seed}, {len(planned)} checks",
        f"gp-spec: {vers}",
    ]


class ConformanceItem(pytest.Item):
    """One catalogue check as a pytest test item."""

    def __init__(self, *, planned: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned = planned

    def runtest(self) -> None:
        from gp_spec.conformance._pytest_api import outcome_to_pytest

        outcome_to_pytest(self.planned.run())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
                     ) -> str:
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"gp-spec check {self.name}"


class ConformanceCollector(pytest.Collector):
    """Collects the catalogue for the implementation named on the command line."""

    def collect(self) -> Iterator[pytest.Item]:
        for p in self.config.stash[_PLANNED]:
            yield ConformanceItem.from_parent(self, name=p.id, planned=p)


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    if config.stash.get(_PLANNED, None) is None:
        return
    collector = ConformanceCollector.from_parent(session, name="gp-spec-conformance")
    items.extend(collector.collect())
