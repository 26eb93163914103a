"""docs/ci.md's CI recipe works as written, so it cannot rot.

The page shows ``docs/ci-recipe.sh`` verbatim and a GitHub Actions job with the same commands
and defaults (checked here on every run). The script itself is run in a scratch project (a new
virtual environment, nothing of this checkout on the path) against a freshly built wheel: a
correct penalty passes, a buggy one fails, and the JUnit report has one test case per check.
That part needs the wheel: ``nox -s package`` builds it and runs this file (part of CI);
``GP_SPEC_WHEEL=dist/...whl python -m pytest tests/test_ci_recipe.py`` runs it by hand.
"""

from __future__ import annotations

import os
import re
import subprocess
import venv
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ci.md"
SCRIPT = ROOT / "docs" / "ci-recipe.sh"
CONSTRAINTS = ROOT / ".ci" / "constraints.txt"
BEGIN = "<!-- ci-recipe.sh: begin"
END = "<!-- ci-recipe.sh: end -->"
ASSIGNMENT = re.compile(r'^([A-Z_]+)="\$\{\1:-(.*)\}"$')
WHEEL = os.environ.get("GP_SPEC_WHEEL")
GOOD, BUGGY = "gp_spec.examples.penalties:wgan_gp", "gp_spec.examples.penalties:buggy_wgan_gp"
SPEC = "wgan-gp"


def _shell_block() -> str:
    """The fenced block between the markers of docs/ci.md, without its fences."""
    text = DOC.read_text()
    start, stop = text.index(BEGIN), text.index(END)
    lines = text[start:stop].splitlines(keepends=True)[1:]  # drop the marker line
    assert lines[0].strip() == "```bash" and lines[-1].strip() == "```", lines
    return "".join(lines[1:-1])


def _script_defaults() -> dict[str, str]:
    """``NAME="${NAME:-default}"`` lines of the script: the values a user adapts."""
    return {m[1]: m[2] for line in SCRIPT.read_text().splitlines()
            if (m := ASSIGNMENT.match(line))}


def _script_commands() -> list[str]:
    """The script's command lines after its variables (no comments, no ``set``)."""
    lines = [ln for ln in SCRIPT.read_text().splitlines()
             if ln.strip() and not ln.startswith("#") and not ASSIGNMENT.match(ln)]
    assert lines[0] == "set -euo pipefail"
    return lines[1:]


def _workflow() -> str:
    text = DOC.read_text()
    return text[text.index("```yaml"):].split("```", 2)[1]


def test_doc_shows_the_script_verbatim() -> None:
    assert _shell_block() == SCRIPT.read_text(), "copy docs/ci-recipe.sh into docs/ci.md"


def test_workflow_runs_the_script_commands_with_its_defaults() -> None:
    workflow = _workflow()
    runs = [ln.split("- run: ", 1)[1] for ln in workflow.splitlines() if "- run: " in ln]
    assert runs == _script_commands()
    env = dict(re.findall(r'^ {6}([A-Z_]+): "(.*)"$', workflow, flags=re.MULTILINE))
    assert env == _script_defaults()
    assert set(env) == {"GP_SPEC_FROM", "PENALTY", "PENALTY_SPEC", "PENALTY_WEIGHT", "TORCH"}


def test_recipe_installs_pytest_and_no_registry_gp_spec() -> None:
    """The two faults of the first recipe (issue 17): ``pip install gp-spec`` and no pytest."""
    install = next(c for c in _script_commands() if '"$GP_SPEC_FROM"' in c)
    assert install.split()[-1] == "pytest"
    assert "git+" in _script_defaults()["GP_SPEC_FROM"]


# ---- the script, run against a built wheel -------------------------------------------------


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    junit: ET.Element


@dataclass(frozen=True)
class Recipe:
    bin: Path
    env: dict[str, str]
    project: Path
    good: Run
    buggy: Run


def _pinned_torch() -> str:
    """CI's torch pin (a CPU build served locally), standing in for the download index."""
    return next(ln.strip() for ln in CONSTRAINTS.read_text().splitlines()
                if ln.startswith("torch=="))


def _run_recipe(project: Path, env: dict[str, str], penalty: str) -> Run:
    run_env = {**env, "PENALTY": penalty}
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=project, env=run_env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
    report = project / "gp-spec.xml"
    junit = ET.parse(report).getroot()
    report.rename(project / f"gp-spec-{penalty.rsplit(':', 1)[1]}.xml")
    return Run(proc.returncode, proc.stdout, junit)


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> Recipe:
    assert WHEEL is not None
    base = tmp_path_factory.mktemp("recipe")
    venv.create(base / "venv", with_pip=True)
    bin_dir = base / "venv" / "bin"
    project = base / "project"  # a scratch project: no tests, no gp_spec source
    project.mkdir()
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "GP_SPEC_IMPL", "GP_SPEC_SPEC",
            "GP_SPEC_WEIGHT", "PYTEST_ADDOPTS", "PIP_REQUIRE_VIRTUALENV"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(base / "venv"),
               GP_SPEC_FROM=str(Path(WHEEL).resolve()), TORCH=_pinned_torch(),
               PENALTY_SPEC=SPEC, PENALTY_WEIGHT="10")
    good = _run_recipe(project, env, GOOD)
    buggy = _run_recipe(project, env, BUGGY)
    return Recipe(bin_dir, env, project, good, buggy)


def _listed_checks(recipe: Recipe) -> list[str]:
    """The check ids that ``gp-spec specs --checks`` lists (another front door than pytest)."""
    out = subprocess.run([str(recipe.bin / "gp-spec"), "specs", "--checks"], env=recipe.env,
                         cwd=recipe.project, text=True, capture_output=True, check=True).stdout
    return [ln.strip() for ln in out.splitlines() if ln.strip().startswith(f"{SPEC}.")]


def _cases(junit: ET.Element) -> list[ET.Element]:
    return list(junit.iter("testcase"))


def _one_case_per_check(recipe: Recipe, run: Run) -> None:
    checks, names = _listed_checks(recipe), [c.get("name", "") for c in _cases(run.junit)]
    assert len(checks) >= 20, checks
    assert len(names) == len(checks), (names, checks)
    for check in checks:
        assert sum(check in name for name in names) == 1, (check, names)


@pytest.mark.wheel
def test_recipe_passes_a_correct_penalty(recipe: Recipe) -> None:
    assert recipe.good.returncode == 0, recipe.good.output[-3000:]
    _one_case_per_check(recipe, recipe.good)
    assert not any(c.find("failure") is not None or c.find("error") is not None
                   for c in _cases(recipe.good.junit))


@pytest.mark.wheel
def test_recipe_fails_a_buggy_penalty_naming_its_bug(recipe: Recipe) -> None:
    assert recipe.buggy.returncode == 1, recipe.buggy.output[-3000:]
    _one_case_per_check(recipe, recipe.buggy)
    failed = {c.get("name", "") for c in _cases(recipe.buggy.junit)
              if c.find("failure") is not None}
    # buggy_wgan_gp takes grad.norm(2, dim=1) (gp_spec/examples/penalties.py): per-row norms of
    # image-shaped inputs; and one alpha for the whole batch.
    assert any("norm.all-event-dims" in name for name in failed), failed
    assert any("measure.alpha-per-sample" in name for name in failed), failed


def _venv_python(recipe: Recipe, code: str) -> str:
    return subprocess.run([str(recipe.bin / "python"), "-c", code], env=recipe.env,
                          cwd=recipe.project, text=True, capture_output=True, check=True).stdout


@pytest.mark.wheel
def test_the_wheel_is_what_runs(recipe: Recipe) -> None:
    """gp_spec comes from the venv's site-packages (not this checkout); examples ship in it."""
    where = _venv_python(recipe, "import gp_spec.examples.penalties as m; print(m.__file__)")
    assert Path(where.strip()).is_relative_to(recipe.bin.parent), where
    assert "site-packages" in where


@pytest.mark.wheel
def test_console_script_conform_and_train_help_after_the_harness_extra(recipe: Recipe) -> None:
    gp_spec = str(recipe.bin / "gp-spec")
    conform = subprocess.run([gp_spec, "conform", GOOD, "--spec", SPEC], env=recipe.env,
                             cwd=recipe.project, text=True, capture_output=True)
    assert conform.returncode == 0, conform.stdout + conform.stderr
    assert "CONFORMANT" in conform.stdout
    before = subprocess.run([gp_spec, "train", "--help"], env=recipe.env, cwd=recipe.project,
                            text=True, capture_output=True)
    if before.returncode != 0:  # without the harness extra: a usage error with a working hint
        assert before.returncode == 2, before.stderr
        assert "python -m pip install matplotlib" in before.stderr, before.stderr
        assert "gp-spec[" not in before.stderr, before.stderr  # an unpublished name
    subprocess.run([str(recipe.bin / "python"), "-m", "pip", "install", "-q",
                    f"{Path(str(WHEEL)).resolve()}[harness]"], env=recipe.env, check=True,
                   cwd=recipe.project, capture_output=True)
    after = subprocess.run([gp_spec, "train", "--help"], env=recipe.env, cwd=recipe.project,
                           text=True, capture_output=True)
    assert after.returncode == 0, after.stderr
    assert "--dataset" in after.stdout
