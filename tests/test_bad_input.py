"""Bad user input: a typed exception from the API, a one-line message and exit code 2 from the
CLI. Every row here is a row of docs/errors.md."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from gp_spec import errors
from gp_spec.cli import main as gp_spec_main
from gp_spec.conformance import check, load_implementation
from gp_spec.conformance.cli import main as conform_main
from gp_spec.specs import get_spec

SPEC = "wgan-gp"
ONE = [f"{SPEC}.term.at-one"]  # the cheapest check, where a test needs a run at all


def reference(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    return get_spec(SPEC).reference(critic, real, fake)


class Holder:
    """An object whose method is the penalty (for ``adapter="method:NAME"``)."""

    def penalty(self, critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        return reference(critic, real, fake)


@pytest.fixture(scope="module")
def impl_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("impls")
    files = {
        "good.py": """
            from gp_spec.specs import get_spec
            NOT_CALLABLE = 3
            def wgan_gp(critic, real, fake):
                return get_spec("wgan-gp").reference(critic, real, fake)
        """,
        "broken_syntax.py": "def f(critic, real, fake):\n    return (\n",
        "exits_on_import.py": "import sys\nsys.exit(4)\n",
        "raises_on_import.py": "raise RuntimeError('kaput')\n",
    }
    for name, text in files.items():
        (d / name).write_text(textwrap.dedent(text))
    return d


# -- the API: typed exceptions --------------------------------------------------------------

def test_unknown_spec_suggests_the_closest_name() -> None:
    with pytest.raises(errors.UnknownSpecError, match=r"unknown spec 'wgan_gp'; did you mean "
                       r"'wgan-gp'\?") as info:
        check(reference, "wgan_gp")
    assert isinstance(info.value, KeyError)
    assert "Known specs: wgan-gp" in str(info.value)


@pytest.mark.parametrize(("target", "message"), [
    ("no_such_module_gp_spec:f",
     "importing 'no_such_module_gp_spec' failed with ModuleNotFoundError"),
    ("{d}/broken_syntax.py:f", "failed with SyntaxError: '(' was never closed"),
    ("{d}/missing.py:f", "no such file"),
    ("{d}/good.py:wgan_pg", "has no attribute 'wgan_pg'; did you mean 'wgan_gp'?"),
    ("{d}/good.py", "expected MODULE:ATTR"),
    ("{d}/good.py:a:b", "expected MODULE:ATTR"),
    (":wgan_gp", "expected MODULE:ATTR"),
    ("{d}/good.py:", "expected MODULE:ATTR"),
    ("{d}/exits_on_import.py:f", "failed with SystemExit: 4 (the module ends the process"),
    ("{d}/raises_on_import.py:f", "failed with RuntimeError: kaput"),
], ids=["missing-module", "syntax-error", "missing-file", "missing-attribute", "no-colon",
        "two-colons", "empty-module", "empty-attribute", "sys-exit-on-import",
        "raises-on-import"])
def test_unimportable_target(impl_dir: Path, target: str, message: str) -> None:
    target = target.format(d=impl_dir)
    with pytest.raises(errors.ImplementationLoadError) as info:
        load_implementation(target)
    assert isinstance(info.value, ImportError)
    assert message in str(info.value) and "\n" not in str(info.value)
    stem = Path(target.split(":")[0]).stem  # a failed import leaves no half-made module
    assert f"_gp_spec_impl_{stem}" not in sys.modules or stem == "good"


def test_a_loaded_target_is_the_attribute(impl_dir: Path) -> None:
    fn = load_implementation(f"{impl_dir}/good.py:wgan_gp")
    assert check(fn, SPEC, checks=ONE).passed


@pytest.mark.parametrize(("impl", "adapter", "error", "message"), [
    (3, None, errors.NotCallableError, "the implementation (of type int) is not callable"),
    (Holder(), None, errors.NotCallableError, "use --adapter method:NAME"),
    (Holder(), "method:", errors.AdapterError, "the method name is empty; use method:NAME"),
    (Holder(), "method:nope", errors.AdapterError, "Holder has no callable method 'nope'"),
    (reference, "nope", errors.AdapterError, "unknown adapter 'nope'; known adapters: canonical"),
    (reference, 3, errors.AdapterError, "adapter=3, but should be an adapter name"),
], ids=["int", "object", "empty-method", "missing-method", "unknown-adapter", "not-a-str"])
def test_not_callable_or_bad_adapter(impl: Any, adapter: Any, error: type[Exception],
                                     message: str) -> None:
    with pytest.raises(error) as info:
        check(impl, SPEC, adapter=adapter, checks=ONE)
    assert message in str(info.value)


def test_the_method_adapter_works() -> None:
    assert check(Holder(), SPEC, adapter="method:penalty", checks=ONE).passed


@pytest.mark.parametrize("weight", [-1.0, float("nan"), float("inf"), -float("inf"), "abc"],
                         ids=["negative", "nan", "inf", "-inf", "str"])
def test_bad_weight(weight: Any) -> None:
    with pytest.raises(errors.InvalidWeightError, match=r"but should be a (finite )?number"):
        check(reference, SPEC, weight=weight, checks=ONE)


@pytest.mark.parametrize(("device", "message"), [
    ("foo", "device='foo' is not a torch device"),
    (None, "device=None is not a torch device"),
    ("cuda", "but CUDA is not available here"),
    ("cuda:99", "CUDA"),
    ("meta", "only cpu, cuda and mps are supported"),
])
def test_unavailable_device(device: Any, message: str) -> None:
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(errors.DeviceUnavailableError) as info:
        check(reference, SPEC, device=device, checks=ONE)
    assert message in str(info.value)


@pytest.mark.parametrize(("expected", "message"), [
    (["wgan-gp.term.at-one"], "should be a mapping {check id or clause: reason}"),
    ({"term.at-one": ""}, "to a non-empty reason"),
    ({"term.at-one": None}, "to a non-empty reason"),
    ({3: "why"}, "should map a check id or clause (str)"),
], ids=["list", "empty-reason", "no-reason", "int-key"])
def test_malformed_expected_failures(expected: Any, message: str) -> None:
    with pytest.raises(errors.CheckSelectionError) as info:
        check(reference, SPEC, checks=ONE, expected_failed_checks=expected)
    assert message in str(info.value)


def test_an_unknown_expected_failure_only_warns() -> None:
    with pytest.warns(UserWarning, match="'no.such-check' matches no check of this spec"):
        report = check(reference, SPEC, checks=ONE,
                       expected_failed_checks={"no.such-check": "typo"})
    assert report.passed


@pytest.mark.parametrize(("checks", "message"), [
    (["no-such-check"], "match no check; available: wgan-gp.term.below-one"),
    ([], "checks=[] match no check"),
    ([3], "3 is not a str"),
])
def test_bad_check_selection(checks: Any, message: str) -> None:
    with pytest.raises(errors.CheckSelectionError) as info:
        check(reference, SPEC, checks=checks)
    assert message in str(info.value)


def test_a_single_pattern_string_is_one_pattern() -> None:
    report = check(reference, SPEC, checks="term.*")  # not the characters "t", "e", ...
    assert [r.id for r in report.results] == [
        f"{SPEC}.term.below-one", f"{SPEC}.term.at-one", f"{SPEC}.term.above-one"
    ]


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"timeout": 0}, ValueError, "timeout=0, but should be > 0 seconds"),
    ({"timeout": -1.0}, ValueError, "timeout=-1.0, but should be > 0 seconds"),
    ({"timeout": float("nan")}, ValueError, "timeout=nan, but should be > 0 seconds"),
    ({"timeout": "soon"}, ValueError, "timeout='soon', but should be a number of seconds"),
    ({"seed": 1.5}, TypeError, "seed=1.5, but should be an int"),
    ({"seed": "0"}, TypeError, "seed='0', but should be an int"),
])
def test_bad_timeout_or_seed(kwargs: dict[str, Any], error: type[Exception],
                             message: str) -> None:
    with pytest.raises(error) as info:
        check(reference, SPEC, checks=ONE, **kwargs)
    assert message in str(info.value)


def test_an_infinite_timeout_means_no_limit() -> None:
    assert check(reference, SPEC, checks=ONE, timeout=float("inf")).passed


# -- the CLI: a one-line message on stderr and exit code 2 ------------------------------------

CLI_CASES = {
    "unknown-spec": (["{good}:wgan_gp", "--spec", "wgan_gp"], "did you mean 'wgan-gp'?"),
    "missing-module": (["no_such_module_gp_spec:f", "--spec", SPEC],
                       "No module named 'no_such_module_gp_spec'"),
    "syntax-error": (["{d}/broken_syntax.py:f", "--spec", SPEC], "failed with SyntaxError"),
    "missing-attribute": (["{good}:wgan_pg", "--spec", SPEC], "did you mean 'wgan_gp'?"),
    "no-colon": (["{good}", "--spec", SPEC], "expected MODULE:ATTR"),
    "sys-exit-on-import": (["{d}/exits_on_import.py:f", "--spec", SPEC],
                           "failed with SystemExit: 4"),
    "not-callable": (["{good}:NOT_CALLABLE", "--spec", SPEC], "is not callable"),
    "negative-weight": (["{good}:wgan_gp", "--spec", SPEC, "--weight", "-1"],
                        "weight=-1.0, but should be"),
    "nan-weight": (["{good}:wgan_gp", "--spec", SPEC, "--weight", "nan"],
                   "weight=nan, but should be"),
    "inf-weight": (["{good}:wgan_gp", "--spec", SPEC, "--weight", "inf"],
                   "weight=inf, but should be"),
    "device-foo": (["{good}:wgan_gp", "--spec", SPEC, "--device", "foo"],
                   "device='foo' is not a torch"),
    "empty-method": (["{good}:wgan_gp", "--spec", SPEC, "--adapter", "method:"],
                     "the method name is empty"),
    "unknown-adapter": (["{good}:wgan_gp", "--spec", SPEC, "--adapter", "nope"],
                        "unknown adapter 'nope'"),
    "expect-fail-no-reason": (["{good}:wgan_gp", "--spec", SPEC, "--expect-fail", "term.at-one"],
                              "use ID=REASON"),
    "expect-fail-no-id": (["{good}:wgan_gp", "--spec", SPEC, "--expect-fail", "=why"],
                          "use ID=REASON"),
    "expect-fail-empty-reason": (["{good}:wgan_gp", "--spec", SPEC, "--expect-fail",
                                  "term.at-one="], "use ID=REASON"),
    "no-such-check": (["{good}:wgan_gp", "--spec", SPEC, "--checks", "nope"], "match no check"),
    "zero-timeout": (["{good}:wgan_gp", "--spec", SPEC, "--timeout", "0"],
                     "timeout=0.0, but should be > 0"),
    "json-dir-missing": (["{good}:wgan_gp", "--spec", SPEC, "--json", "{d}/no/dir/r.json"],
                         "does not exist"),
    "no-spec": (["{good}:wgan_gp"], "--spec NAME is required"),
    "no-target": (["--spec", SPEC], "give MODULE:ATTR or set GP_SPEC_IMPL"),
}


@pytest.fixture()
def no_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ("GP_SPEC_IMPL", "GP_SPEC_SPEC", "GP_SPEC_WEIGHT"):
        monkeypatch.delenv(var, raising=False)
    yield


@pytest.mark.parametrize(("argv", "message"), CLI_CASES.values(), ids=CLI_CASES.keys())
def test_cli_usage_error(impl_dir: Path, no_env: None, capsys: pytest.CaptureFixture[str],
                         argv: list[str], message: str) -> None:
    args = [a.format(d=impl_dir, good=impl_dir / "good.py") for a in argv]
    assert gp_spec_main(["conform", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("gp-spec conform: error: ") and err.count("\n") == 1
    assert message in err


@pytest.mark.parametrize("argv", [["--weight", "abc"], ["--seed", "1.5"], ["--timeout", "x"]])
def test_cli_argparse_errors_exit_2(impl_dir: Path, capsys: pytest.CaptureFixture[str],
                                    argv: list[str]) -> None:
    assert conform_main([f"{impl_dir}/good.py:wgan_gp", "--spec", SPEC, *argv]) == 2
    assert f"argument {argv[0]}: invalid" in capsys.readouterr().err


def test_cli_unknown_expected_failure_warns_on_stderr(
    impl_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [f"{impl_dir}/good.py:wgan_gp", "--spec", SPEC, "--checks", *ONE,
            "--expect-fail", "no.such-check=typo"]
    assert conform_main(argv) == 0
    err = capsys.readouterr().err
    assert err == ("gp-spec conform: warning: expected_failed_checks: 'no.such-check' matches "
                   "no check of this spec\n")


def test_cli_unwritable_report_exits_2(impl_dir: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    argv = [f"{impl_dir}/good.py:wgan_gp", "--spec", SPEC, "--checks", *ONE,
            "--json", str(impl_dir)]  # a directory: the write fails after the run
    assert conform_main(argv) == 2
    assert "gp-spec conform: error: cannot write the report: [Errno 21] Is a directory" in (
        capsys.readouterr().err)


def test_cli_exit_code_in_a_real_process(impl_dir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gp_spec.cli", "conform", f"{impl_dir}/good.py:wgan_pg",
         "--spec", SPEC], capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"gp-spec conform: error: '{impl_dir}/good.py:wgan_pg': '{impl_dir}/good.py' has no "
        "attribute 'wgan_pg'; did you mean 'wgan_gp'?"
    ]
