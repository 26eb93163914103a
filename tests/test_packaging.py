"""The package is what pyproject.toml says: license, true dependencies and extras, wheel contents.

Static checks run everywhere; the wheel's contents are checked on a built wheel
(``nox -s package`` builds one into dist/ and passes it as ``GP_SPEC_WHEEL``).
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11 (the test suite's version)

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gp_spec"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
WHEEL = os.environ.get("GP_SPEC_WHEEL")

# Import name -> distribution name, where they differ.
DISTRIBUTION = {"ot": "pot", "sklearn": "scikit-learn", "PIL": "pillow"}


def _name(requirement: str) -> str:
    """``"torch>=2.4,<2.15"`` -> ``"torch"`` (PEP 508 name, normalised)."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match is not None, requirement
    return re.sub(r"[-_.]+", "-", match[0]).lower()


def _third_party_imports(path: Path) -> set[str]:
    """Top-level names of the non-stdlib, non-gp_spec modules a file imports (anywhere in it)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "gp_spec"}


def _imports_by_file() -> dict[Path, set[str]]:
    return {p: _third_party_imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def _distributions(imports: set[str]) -> set[str]:
    return {_name(DISTRIBUTION.get(n, n)) for n in imports}


def test_license_is_mit_as_an_spdx_expression_with_its_file() -> None:
    assert PROJECT["license"] == "MIT"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in text  # the MIT text (opensource.org)
    # PEP 639 metadata (an SPDX `license` string, `license-files`) needs setuptools >= 77.0
    # (setuptools changelog, v77.0.0); older ones reject the string or warn on it.
    (setuptools,) = PYPROJECT["build-system"]["requires"]
    minimum = re.fullmatch(r"setuptools>=(\d+)(?:\.\d+)*", setuptools)
    assert minimum is not None and int(minimum[1]) >= 77, setuptools


def test_gp_spec_never_imports_hypothesis_and_does_not_depend_on_it() -> None:
    importers = [p for p, names in _imports_by_file().items() if "hypothesis" in names]
    assert importers == []
    assert "hypothesis" not in {_name(r) for r in PROJECT["dependencies"]}
    assert "hypothesis" in {_name(r) for r in PROJECT["optional-dependencies"]["test"]}


def test_every_third_party_import_is_declared() -> None:
    """Each import of gp_spec is a runtime dependency or in an extra (the extras are true)."""
    runtime = {_name(r) for r in PROJECT["dependencies"]}
    extras = {_name(r) for reqs in PROJECT["optional-dependencies"].values() for r in reqs}
    undeclared = {p.relative_to(ROOT).as_posix(): _distributions(names) - runtime - extras
                  for p, names in _imports_by_file().items()}
    assert {k: v for k, v in undeclared.items() if v} == {}


LAB = (PACKAGE / "harness", PACKAGE / "benchmark")  # behind the harness extra (README)


def _in_lab(path: Path) -> bool:
    return any(lab in path.parents for lab in LAB)


def test_the_harness_extra_is_what_the_lab_imports() -> None:
    """``harness`` = the third-party imports of gp_spec/harness and gp_spec/benchmark (which
    uses the harness's critics and draws its chart with matplotlib) beyond the runtime ones."""
    runtime = {_name(r) for r in PROJECT["dependencies"]}
    used = set().union(*(_distributions(names) for p, names in _imports_by_file().items()
                         if _in_lab(p)))
    harness = {_name(r) for r in PROJECT["optional-dependencies"]["harness"]}
    assert used - runtime == harness
    assert {_name(r) for r in PROJECT["optional-dependencies"]["plots"]} <= harness


def test_the_core_needs_only_the_runtime_dependencies() -> None:
    """Everything outside the lab needs only the runtime dependencies (and the pytest plugin
    the user's pytest)."""
    runtime = {_name(r) for r in PROJECT["dependencies"]}
    core = {p.relative_to(ROOT).as_posix(): _distributions(names) - runtime - {"pytest"}
            for p, names in _imports_by_file().items() if not _in_lab(p)}
    assert {k: v for k, v in core.items() if v} == {}


def test_a_missing_dependency_names_a_command_that_works(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """gp-spec is on no registry: the hint installs the dependency, or the extra from a checkout."""
    from gp_spec import cli

    def no_matplotlib(name: str) -> object:
        raise ModuleNotFoundError("No module named 'matplotlib'", name="matplotlib")

    monkeypatch.setattr(importlib, "import_module", no_matplotlib)
    assert cli.main(["train", "--help"]) == 2
    err = capsys.readouterr().err
    assert "python -m pip install matplotlib" in err
    assert "python -m pip install -e '.[harness]'" in err
    assert "harness" in PROJECT["optional-dependencies"]
    assert "gp-spec[" not in err  # the unpublished name of issue 17


# ---- the built wheel -----------------------------------------------------------------------

@pytest.mark.wheel
def test_wheel_holds_every_module_examples_py_typed_and_the_license() -> None:
    names = set(zipfile.ZipFile(str(WHEEL)).namelist())
    sources = {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")}
    assert sources - names == set()
    assert {"gp_spec/examples/penalties.py", "gp_spec/py.typed"} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


@pytest.mark.wheel
def test_wheel_metadata() -> None:
    archive = zipfile.ZipFile(str(WHEEL))
    (meta_name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    meta = Parser().parsestr(archive.read(meta_name).decode())
    assert meta["License-Expression"] == "MIT"
    assert meta["License-File"] == "LICENSE"
    assert meta.get("License") is None  # the deprecated free-text field is gone
    runtime = [r for r in meta.get_all("Requires-Dist", []) if "extra ==" not in r]
    assert sorted(_name(r) for r in runtime) == sorted(_name(r) for r in PROJECT["dependencies"])
    assert set(meta.get_all("Provides-Extra", [])) == set(PROJECT["optional-dependencies"])
    entry_points = next(n for n in archive.namelist() if n.endswith("entry_points.txt"))
    text = archive.read(entry_points).decode()
    assert "gp-spec = gp_spec.cli:main" in text
    assert "gp_spec = gp_spec.conformance.pytest_plugin" in text
