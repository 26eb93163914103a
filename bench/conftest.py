"""pytest-benchmark suites of gp_spec (CPU): ``nox -s bench`` or
``python -m pytest bench --benchmark-only``.

Results: unless ``--benchmark-json PATH`` is given, the run's JSON is written to
``bench/results/pytest-<machine>-<date>.json`` (only if a benchmark ran).
"""

from __future__ import annotations

import datetime
import platform
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import pytest
import torch

RESULTS = Path(__file__).parent / "results"


class _LazyResultsFile:
    """Stands in for ``--benchmark-json``'s open file; creates the file only when written."""

    def __init__(self, path: Path) -> None:
        self.name = str(path)
        self._fh: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        Path(self.name).parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.name, "wb")  # closed in __exit__
        return self._fh

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fh is not None:
            self._fh.close()

    def __repr__(self) -> str:
        return self.name


def pytest_configure(config: pytest.Config) -> None:
    """Default ``--benchmark-json`` to ``bench/results/pytest-<machine>-<date>.json``."""
    option: Any = config.option
    if getattr(option, "benchmark_json", "absent") is None:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M")
        option.benchmark_json = _LazyResultsFile(
            RESULTS / f"pytest-{platform.machine()}-cpu{torch.get_num_threads()}-{stamp}.json"
        )


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    """Every benchmark starts from the same global seed."""
    torch.manual_seed(0)
