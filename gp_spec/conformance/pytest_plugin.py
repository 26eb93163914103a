"""pytest plugin (entry point ``pytest11``): ``pytest --gp-impl MODULE:ATTR --gp-spec NAME``.

Each check of the catalogue becomes its own test item (so ``--junitxml`` has one test case
per check, class ``gp-spec.<spec>``, and ``-k`` selects by check id). Inert, importing and
printing nothing of gp-spec, unless ``--gp-impl`` (or ``GP_SPEC_IMPL``) is given. The options
are generated from the same table as ``gp-spec conform``'s
(:data:`gp_spec.conformance._flags.FLAGS`).
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
    from gp_spec.conformance._flags import FLAGS  # plain data: imports nothing heavy

    for f in FLAGS:
        flag = "--gp-" + f.flag[2:]
        if f.kind == "bool":
            group.addoption(flag, action="store_true", default=False, help=f.help)
        else:
            conv = {"float": float, "int": int, "str": str}[f.kind]
            group.addoption(flag, default=None, type=conv, metavar=f.metavar, help=f.help,
                            choices=f.choices)


def _options(config: pytest.Config) -> dict[str, Any] | None:
    impl = config.getoption("--gp-impl") or os.environ.get(ENV_IMPL)
    if not impl:
        return None
    spec = config.getoption("--gp-spec") or os.environ.get(ENV_SPEC)
    if not spec:
        raise pytest.UsageError("--gp-impl needs --gp-spec NAME (or GP_SPEC_SPEC)")
    from gp_spec.conformance._flags import FLAGS

    values = {f.name: config.getoption("--gp-" + f.flag[2:]) for f in FLAGS}
    if values["weight"] is None and os.environ.get(ENV_WEIGHT):
        try:
            values["weight"] = float(os.environ[ENV_WEIGHT])
        except ValueError:
            raise pytest.UsageError(
                f"gp-spec: {ENV_WEIGHT}={os.environ[ENV_WEIGHT]!r} is not a number"
            ) from None
    return {"impl": impl, "spec": spec, "values": values}


_PLAN = pytest.StashKey[Any]()
_RUN = pytest.StashKey[Any]()


def pytest_configure(config: pytest.Config) -> None:
    opts = _options(config)
    if opts is None:
        return
    from gp_spec.conformance._engine import Run, plan_options
    from gp_spec.conformance._loading import load_implementation
    from gp_spec.conformance._options import Options, option_kwargs
    from gp_spec.errors import GPSpecError

    try:
        options = Options.make(opts["spec"], label=opts["impl"],
                               **option_kwargs(opts["values"]))
        impl = load_implementation(opts["impl"])
        pl = plan_options(impl, options)
    except (GPSpecError, ValueError, TypeError) as exc:
        raise pytest.UsageError(f"gp-spec: {exc}") from None
    config.stash[_PLAN] = pl
    config.stash[_RUN] = Run(pl)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    pl = config.stash.get(_PLAN, None)
    if pl is None:
        return None
    from gp_spec.conformance._engine import versions

    o = pl.options
    vers = ", ".join(f"{k} {v}" for k, v in versions().items())
    return [
        f"gp-spec: implementation {pl.label}, spec {o.spec.name}, weight {o.weight:g}, "
        f"device {o.device}, seed {o.seed}, {len(pl.checks)} checks",
        f"gp-spec: domain {pl.domain_text()}",
        f"gp-spec: called as {pl.caller.convention.describe()}",
        f"gp-spec: {vers}",
    ]


class ConformanceItem(pytest.Item):
    """One catalogue check as a pytest test item."""

    def __init__(self, *, planned: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned = planned

    def runtest(self) -> None:
        from gp_spec.conformance._pytest_api import outcome_to_pytest

        run = self.config.stash[_RUN]
        outcome_to_pytest(run.run(self.planned), strict=run.plan.options.strict)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
                     ) -> str:
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"gp-spec check {self.name}"


class ConformanceCollector(pytest.Collector):
    """Collects the catalogue for the implementation named on the command line."""

    def collect(self) -> Iterator[pytest.Item]:
        for p in self.config.stash[_PLAN].checks:
            yield ConformanceItem.from_parent(self, name=p.id, planned=p)


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    pl = config.stash.get(_PLAN, None)
    if pl is None:
        return
    collector = ConformanceCollector.from_parent(
        session, name=f"gp-spec.{pl.options.spec.name}", nodeid=f"gp-spec.{pl.options.spec.name}")
    new = list(collector.collect())
    items.extend(new)
    # tell the terminal reporter, so that "collected N items" counts the checks
    report = pytest.CollectReport(collector.nodeid, "passed", None, list(new))
    config.hook.pytest_collectreport(report=report)
