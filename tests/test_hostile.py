"""Hostile implementations: the conformance engine reports them, check by check, and survives.

Each implementation below misbehaves in one way. ``check()`` must turn that into per-check
``error`` or ``fail`` results whose message is one line and names the cause, never crash, and
leave the caller's global torch state, RNGs, stdout and SIGALRM handler as it found them
(the autouse fixture ``untouched`` asserts that around every test).

Documented decisions (docs/errors.md, "Hostile implementations"): ``KeyboardInterrupt``
propagates (Ctrl-C stops the run); ``SystemExit`` becomes an ``error``; after a timeout the
remaining checks of the run are not run; a timeout cannot interrupt a long C call before it
returns, and in a non-main thread the runaway call keeps running.
"""

from __future__ import annotations

import json
import random
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from gp_spec.conformance import check
from gp_spec.conformance._report import Report
from gp_spec.conformance._sandbox import global_state
from gp_spec.conformance.cli import main as conform_main

SPEC = "wgan-gp"
Impl = Callable[[nn.Module, Tensor, Tensor], Any]


def wgan_gp(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """A correct WGAN-GP (weight 10) in the common public style: the base every hostile
    implementation below spoils in one way."""
    real, fake = real.detach(), fake.detach()
    shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    alpha = torch.rand(shape, dtype=real.dtype, device=real.device)
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores, x_hat, torch.ones_like(scores), create_graph=True)
    penalty: Tensor = 10.0 * ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
    return penalty


# -- guards ---------------------------------------------------------------------------------

def _rng_states() -> tuple[Tensor, Any, Any]:
    np_state: Any = np.random.get_state()
    return torch.get_rng_state(), np_state[1].copy(), random.getstate()


@pytest.fixture(autouse=True)
def untouched() -> Iterator[None]:
    """Whatever the implementation did, the caller finds its process as it left it."""
    state, (t_rng, np_rng, py_rng) = global_state(), _rng_states()
    stdout, handler = sys.stdout, signal.getsignal(signal.SIGALRM)
    yield
    assert global_state() == state
    t_after, np_after, py_after = _rng_states()
    assert torch.equal(t_after, t_rng) and np.array_equal(np_after, np_rng)
    assert py_after == py_rng
    assert sys.stdout is stdout
    assert signal.getsignal(signal.SIGALRM) == handler
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def _bad(report: Report) -> list[tuple[str, str, str]]:
    """(id, status, message) of every result that is neither pass nor skip."""
    return [(r.id, r.status, r.message) for r in report.results if r.status not in ("pass", "skip")]


def _assert_every(report: Report, status: str, *needles: str) -> None:
    """Every non-skipped check has ``status`` and a one-line message containing ``needles``."""
    bad = _bad(report)
    assert len(bad) == sum(r.status != "skip" for r in report.results) > 0
    for cid, got, message in bad:
        assert got == status, (cid, message)
        assert "\n" not in message, (cid, message)
        for needle in needles:
            assert needle in message, (cid, message)


# -- what it returns ------------------------------------------------------------------------

def _raises(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
    raise ValueError("boom\nsecond line of the message")


def _string(c: nn.Module, r: Tensor, f: Tensor) -> str:
    return "a penalty"


def _per_sample(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
    return wgan_gp(c, r, f) * torch.ones(r.shape[0], dtype=r.dtype, device=r.device)


def _nan(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
    return wgan_gp(c, r, f) * float("nan")


def _inf(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
    return wgan_gp(c, r, f) + float("inf")


def _python_float(c: nn.Module, r: Tensor, f: Tensor) -> float:
    return float(wgan_gp(c, r, f).detach())


def _meta(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
    return wgan_gp(c, r, f).to("meta")


def _exits(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
    sys.exit(3)


def _raises_system_exit(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
    raise SystemExit("bye")


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message for you")


def _unprintable(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
    raise Unprintable


def _mutates(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
    with torch.no_grad():
        for p in c.parameters():
            p.mul_(2.0)
    return wgan_gp(c, r, f)


def _freezes(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
    out = wgan_gp(c, r, f)
    for p in c.parameters():
        p.requires_grad_(False)  # "saves compute", never undone
    return out


def _evals(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
    c.eval()
    return wgan_gp(c, r, f)


EVERY_CHECK = [
    (_raises, "error", ("implementation raised ValueError: boom", "test_hostile.py:")),
    (_string, "error", ("returned str, but should return a 0-dim torch.Tensor",)),
    (_per_sample, "error", ("returned a tensor of shape (", "should return a 0-dim tensor")),
    (_nan, "fail", ("penalty=nan for finite inputs, but should be finite",)),
    (_inf, "fail", ("penalty=inf for finite inputs, but should be finite",)),
    (_python_float, "error", ("returned float", "not float(...) or .item()")),
    (_meta, "error", ("returned a tensor on the meta device", "should return it on ")),
    (_exits, "error", ("implementation raised SystemExit(3)", "sys.exit()")),
    (_raises_system_exit, "error", ("implementation raised SystemExit(bye)",)),
    (_unprintable, "error", ("implementation raised Unprintable: <message unprintable>",)),
    (_mutates, "fail", ("the call changed the critic (", " modified (max |change| ",
                        "should be left unchanged")),
    (_freezes, "fail", (".requires_grad True -> False",)),
    (_evals, "fail", ("critic.training True -> False",)),
]


@pytest.mark.parametrize(("impl", "status", "needles"), EVERY_CHECK,
                         ids=[i.__name__.strip("_") for i, _, _ in EVERY_CHECK])
def test_every_check_reports_the_cause(impl: Impl, status: str, needles: tuple[str, ...]) -> None:
    report = check(impl, SPEC)
    if impl is _evals:  # purity.critic-state-kept hands over an eval-mode critic: eval() on it
        kept = [r for r in report.results if r.id.endswith("purity.critic-state-kept")]
        assert [r.status for r in kept] == ["pass"]  # changes nothing (SPEC §6)
        report = replace(report, results=tuple(r for r in report.results if r not in kept))
    _assert_every(report, status, *needles)


def test_a_tensor_without_graph_fails_grad_parameters() -> None:
    report = check(lambda c, r, f: wgan_gp(c, r, f).detach(), SPEC)
    got = {cid: (status, message) for cid, status, message in _bad(report)}
    status, message = got[f"{SPEC}.grad.parameters"]
    assert status == "fail"
    assert "does not depend on the critic's parameters (no grad_fn)" in message
    assert "\n" not in message


def test_a_value_then_an_error_on_the_second_call() -> None:
    calls = [0]

    def once(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
        calls[0] += 1
        if calls[0] > 1:
            raise RuntimeError("called twice")
        return wgan_gp(c, r, f)

    report = check(once, SPEC)
    bad = _bad(report)
    assert calls[0] > 1 and bad  # the first call (probing the input domain) ran
    assert all(s == "error" and "implementation raised RuntimeError: called twice" in m
               for _, s, m in bad)
    # one cause, one message: the report leads with it once
    (cause,) = report.causes
    assert "called twice" in cause.title and len(cause.checks) == len(bad)


def test_a_huge_exception_message_is_cut_to_one_short_line() -> None:
    def shouts(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
        raise ValueError("x" * 1_000_000 + "\nmore")

    report = check(shouts, SPEC, checks=["term.*"])
    _assert_every(report, "error", "implementation raised ValueError: xxx", "... (at ")
    assert all(len(r.message) < 1000 for r in report.results)


def test_printing_a_lot_is_silenced_and_passes(capsys: pytest.CaptureFixture[str]) -> None:
    def chatty(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
        print("x" * 100_000)
        return wgan_gp(c, r, f)

    report = check(chatty, SPEC)
    assert report.passed, _bad(report)
    assert capsys.readouterr().out == ""


# -- global state ---------------------------------------------------------------------------

def _leaves(change: Callable[[], object]) -> Impl:
    def impl(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
        out = wgan_gp(c, r, f)
        change()  # and never undone
        return out

    return impl


STATE_CHANGES = [
    ("grad_enabled", lambda: torch.set_grad_enabled(False)),
    ("default_dtype", lambda: torch.set_default_dtype(torch.float64)),
    ("deterministic_algorithms", lambda: torch.use_deterministic_algorithms(True)),
    ("num_threads", lambda: torch.set_num_threads(torch.get_num_threads() + 1)),
    ("default_device", lambda: torch.set_default_device("meta")),
]


@pytest.mark.parametrize(("key", "change"), STATE_CHANGES, ids=[k for k, _ in STATE_CHANGES])
def test_global_state_is_restored_and_fails_purity(key: str, change: Callable[[], object]
                                                   ) -> None:
    report = check(_leaves(change), SPEC)  # `untouched` asserts the state is back
    got = {cid: (status, message) for cid, status, message in _bad(report)}
    status, message = got[f"{SPEC}.purity.global-state"]
    assert status == "fail" and f"global state changed ({key}: " in message
    # where the change broke a later call of the same check, the error says so too
    for cid, (status, message) in got.items():
        assert "\n" not in message
        if status == "error":
            assert f"the implementation also changed global state: {key}: " in message, cid


def test_reseeding_every_call_fails_rng_not_reseeded() -> None:
    def reseeds(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
        torch.manual_seed(0)  # every call draws the same interpolation weights
        np.random.seed(0)
        return wgan_gp(c, r, f)

    got = {cid: (status, message) for cid, status, message in _bad(check(reseeds, SPEC))}
    status, message = got.pop(f"{SPEC}.purity.rng-not-reseeded")
    assert status == "fail" and "under two different global seeds" in message
    # reseeding also freezes the critic's Dropout masks from call to call, which the
    # differential check sees; nothing else fails
    assert set(got) <= {f"{SPEC}.differential.values"}, got


@pytest.mark.parametrize("context", [torch.no_grad, torch.inference_mode],
                         ids=["no_grad", "inference_mode"])
def test_check_under_no_grad_still_sees_the_graph(context: Callable[[], Any]) -> None:
    with context():
        report = check(wgan_gp, SPEC)
        assert not torch.is_grad_enabled()  # the caller's mode, back after the run
    assert report.passed, _bad(report)


# -- interruptions --------------------------------------------------------------------------

def _sleeps(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
    time.sleep(1e6)
    raise AssertionError("unreachable")


def _spins(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
    while True:
        pass


def _swallows(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
    for _ in range(2):  # a bare except swallows the first alarm; a second one comes
        try:
            time.sleep(1e6)
        except BaseException:  # that is the point: it swallows CheckTimeout
            pass
    return wgan_gp(c, r, f)


def _long_c_call(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
    sum(range(2 * 10**7))  # one C call (~0.4 s): the alarm is handled only when it returns
    time.sleep(1e6)
    raise AssertionError("unreachable")


def _assert_timed_out(report: Report, timeout: float) -> None:
    """The implementation hangs at its first call, while gp-spec probes its input domain:
    no check runs (each would wait for the full timeout again), and every one says why."""
    for r in report.results:
        assert r.status == "error" and r.seconds < 0.1, r
        assert f"no result after {timeout:g} s (timeout)" in r.message, r.message
        assert "hangs or is far too slow" in r.message
    (cause,) = report.causes
    assert len(cause.checks) == len(report.results)


@pytest.mark.parametrize("impl", [_sleeps, _spins, _swallows, _long_c_call],
                         ids=["sleep", "busy-loop", "swallows-timeout", "long-c-call"])
def test_a_hanging_implementation_times_out(impl: Impl) -> None:
    start = time.monotonic()
    report = check(impl, SPEC, timeout=0.3)
    assert time.monotonic() - start < 10
    _assert_timed_out(report, 0.3)


def test_a_timeout_never_interrupts_an_import(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # An import cut short by the alarm would leave a half-initialised module in sys.modules
    # (torch's own lazy `import sympy` in autograd.grad did exactly that).
    (tmp_path / "slow_module_for_gp_spec.py").write_text(
        "import time\ntime.sleep(0.6)\nDONE = True\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slow_module_for_gp_spec", raising=False)

    def imports(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
        import slow_module_for_gp_spec  # type: ignore[import-not-found]  # noqa: F401

        time.sleep(1e6)
        raise AssertionError("unreachable")

    _assert_timed_out(check(imports, SPEC, timeout=0.2), 0.2)
    assert sys.modules["slow_module_for_gp_spec"].DONE is True


def test_a_timeout_in_a_worker_thread_abandons_the_call() -> None:
    """Documented limitation: Python cannot stop a thread, so the call keeps running."""
    release = threading.Event()

    def waits(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
        print("invisible")
        release.wait(60)
        # whatever it does from here on (draw from torch's RNG, change global state) lands
        # after the engine restored the process: nothing the engine can undo
        return torch.zeros(())

    box: dict[str, Report] = {}
    runner = threading.Thread(target=lambda: box.setdefault("r", check(waits, SPEC,
                                                                       timeout=0.3)))
    runner.start()
    runner.join(30)
    try:
        _assert_timed_out(box["r"], 0.3)
        assert any(t.name == "gp-spec-check" for t in threading.enumerate())  # still running
    finally:
        release.set()
    for t in threading.enumerate():
        if t.name == "gp-spec-check":
            t.join(10)


def test_keyboard_interrupt_propagates_after_restoring() -> None:
    """Ctrl-C is the user's, not the implementation's: check() lets it through (the
    `untouched` fixture asserts the state, RNGs, SIGALRM handler and timer are restored)."""

    def interrupted(c: nn.Module, r: Tensor, f: Tensor) -> Tensor:
        torch.set_grad_enabled(False)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check(interrupted, SPEC, timeout=5)


def test_cli_timeout_and_sys_exit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    impl = tmp_path / "hostile_impls.py"
    impl.write_text(textwrap.dedent("""
        import sys, time
        def sleeps(critic, real, fake):
            time.sleep(1e6)
        def exits(critic, real, fake):
            sys.exit(0)
    """))
    assert conform_main([f"{impl}:sleeps", "--spec", SPEC, "--timeout", "0.3"]) == 1
    out = capsys.readouterr().out
    assert "no result after 0.3 s (timeout)" in out and "NOT CONFORMANT" in out
    # sys.exit(0) inside the implementation must not end the process with status 0
    assert conform_main([f"{impl}:exits", "--spec", SPEC]) == 1
    assert "implementation raised SystemExit(0)" in capsys.readouterr().out


# -- the command line survives its target (issue 13, item 6) --------------------------------

_SURVIVORS = '''
import os, sys, threading, time
import torch

def _gp(critic, real, fake):
    alpha = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), dtype=real.dtype)
    x = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return 10.0 * ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()

def closes_stdout(critic, real, fake):
    sys.stdout.close()
    return _gp(critic, real, fake)

def changes_directory(critic, real, fake):
    os.chdir("/")
    return _gp(critic, real, fake)

def forks(critic, real, fake):
    if os.fork() == 0:
        return _gp(critic, real, fake) * 0  # the child returns into gp-spec: it must end there
    return _gp(critic, real, fake)

def _meddle():
    time.sleep(0.2)
    torch.set_grad_enabled(False)  # long after the call returned

def leaves_a_thread(critic, real, fake):
    threading.Thread(target=_meddle).start()  # non-daemon: would keep the process alive
    return _gp(critic, real, fake) * 2  # and the penalty is wrong: the verdict is "not"
'''


@pytest.mark.parametrize(("name", "code"), [("closes_stdout", 0), ("changes_directory", 0),
                                            ("forks", 0), ("leaves_a_thread", 1)])
def test_the_cli_survives_its_target(tmp_path: Path, name: str, code: int) -> None:
    """The report is written where asked and printed, and the exit code is the verdict's,
    whatever the implementation does to stdout, the working directory, the process or its
    threads."""
    import subprocess

    (tmp_path / "survivors.py").write_text(_SURVIVORS)
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "gp_spec.cli", "conform", f"{tmp_path / 'survivors.py'}:{name}",
         "--spec", SPEC, "--json", "report.json", "--checks", "term.*", "weight.*"],
        cwd=work, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == code, proc.stdout + proc.stderr
    verdict = "CONFORMANT" if code == 0 else "NOT CONFORMANT"
    assert f"\n{verdict}: " in proc.stdout, proc.stdout + proc.stderr
    assert proc.stdout.count("gp-spec conform ") == 1  # one report: no forked child's
    report = json.loads((work / "report.json").read_text())  # resolved before the import
    assert report["verdict"] == verdict
