"""Hypothesis profiles (``ci``, the default: derandomized, bounded; ``thorough``: nightly), the
``wheel`` marker's skip, and the ``one_thread`` fixture."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import torch
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("ci")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``wheel`` need a built wheel in ``GP_SPEC_WHEEL``; without one they skip."""
    if os.environ.get("GP_SPEC_WHEEL"):
        return
    skip = pytest.mark.skip(
        reason="needs a built wheel: nox -s package builds one and runs this test")
    for item in items:
        if item.get_closest_marker("wheel"):
            item.add_marker(skip)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch thread: on a shared machine two threads contend and swing times 10x."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
