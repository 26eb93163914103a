"""What a check sees: the implementation, its spec, weight and input domain, and one safe way
to call it (:meth:`CheckContext.call`).

Every call of the implementation goes through ``call``, which hands the implementation a
:class:`CriticView` of the check's critic in the user's conventions (output ``(N,)`` or
``(N, 1)``, a dict or tuple, labels), sandboxes the call, validates what comes back, and
afterwards holds the implementation to the clauses every call must keep: the critic is
called on inputs of the batch's event shape (``critic.input-shape``), in the mode it was
handed over in, and is left unchanged.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from gp_spec._seeding import derive_seed
from gp_spec.conformance._sandbox import (
    CheckTimeout,
    RunState,
    fork_guard,
    silenced_stdout,
    working_directory,
)
from gp_spec.conformance._view import Container, CriticView
from gp_spec.errors import first_line
from gp_spec.specs import Spec

__all__ = [
    "Call",
    "CheckContext",
    "CheckFailed",
    "CheckSkipped",
    "Container",
    "CriticView",
    "Domain",
    "ImplementationError",
    "Outcome",
]


class CheckFailed(Exception):
    """The implementation breaks the clause; the message says measured vs expected.

    Attributes:
      p_value: for statistical checks.
      cause: a key shared by every failure with the same root cause (``"critic.input-shape"``,
        ``"ratio:0.1"``, ...), used to lead the report with one message per cause.
      ratio: measured / expected, when the check compared one value with another.
    """

    def __init__(self, message: str, p_value: float | None = None, *, cause: str | None = None,
                 ratio: float | None = None) -> None:
        super().__init__(message)
        self.p_value = p_value
        self.cause = cause
        self.ratio = ratio


class CheckSkipped(Exception):
    """The clause cannot be checked here (no CUDA, not applicable in this domain, ...)."""


class ImplementationError(Exception):
    """The implementation raised, or returned something that is not a usable penalty.

    ``cause`` groups identical errors (same exception type, message and user-code line).
    """

    def __init__(self, message: str, *, cause: str | None = None) -> None:
        super().__init__(message)
        self.cause = cause


@dataclass(frozen=True)
class Outcome:
    """A passing check's message, and its p-value when it is statistical.

    ``status="warn"`` marks a deviation that cannot change what training computes (SPEC §6:
    e.g. gradient reaching the real data batch): shown and counted, failing only ``strict``.
    """

    message: str
    p_value: float | None = None
    status: Literal["pass", "warn"] = "pass"


@dataclass(frozen=True)
class Domain:
    """The input domain the implementation is checked in (SPEC §6).

    Attributes:
      event_shape: the primary event shape, e.g. ``(3,)`` or ``(3, 32, 32)``.
      critic_output: ``"n"`` (the critic returns ``(N,)``) or ``"n1"`` (``(N, 1)``).
      batch_size: the batch size the implementation hard-codes, or None (checks vary N).
      shapes: every event shape the implementation runs on, one per rank, primary first:
        the probe family's event shapes.
      outputs: every critic output convention it runs with.
      how: how the domain was chosen, for the report.
      container: how the critic's scores are wrapped (a dict or tuple), or None.
      fake_grad: the fake batch is handed over as a generator's output (a non-leaf that
        requires grad), for code that differentiates through it.
      returns_first: the implementation returns a tuple ``(penalty, extras...)`` (e.g. the
        gradient norms for logging); its first element is judged as the penalty.
    """

    event_shape: tuple[int, ...]
    critic_output: Literal["n", "n1"] = "n"
    batch_size: int | None = None
    shapes: tuple[tuple[int, ...], ...] = ()
    outputs: tuple[Literal["n", "n1"], ...] = ("n",)
    how: str = "declared"
    container: Container = None
    fake_grad: bool = False
    returns_first: bool = False

    @property
    def kind(self) -> str:
        """``vectors``, ``sequences``, ``images`` or ``tensors`` (by the event rank)."""
        return {1: "vectors", 2: "sequences", 3: "images"}.get(len(self.event_shape), "tensors")

    def describe(self) -> str:
        """``images (N, 3, 32, 32), critic output (N, 1), any batch size``."""
        shape = ", ".join(str(d) for d in self.event_shape)
        out = "(N,)" if self.critic_output == "n" else "(N, 1)"
        n = "any batch size" if self.batch_size is None else f"batch size {self.batch_size}"
        more = [s for s in self.shapes if s != self.event_shape]
        extra = (" (also runs on " + ", ".join("(N, " + ", ".join(map(str, s)) + ")"
                                             for s in more) + ")") if more else ""
        cont = "" if self.container is None else f" inside a {self.container[0]}"
        fake = ", fake carrying the generator's graph" if self.fake_grad else ""
        first = ("; it returns a tuple (penalty, ...): the first element is judged"
                 if self.returns_first else "")
        return f"{self.kind} (N, {shape}), critic output {out}{cont}, {n}{fake}{extra}{first}"


@dataclass
class Call:
    """One call of the implementation: its value and how it used the critic."""

    out: Tensor
    view: CriticView

    @property
    def value(self) -> float:
        return float(self.out.detach().double().cpu())


# -- the context -----------------------------------------------------------------------------

Caller = Callable[[nn.Module, Tensor, Tensor, "Tensor | None"], Any]
"""The adapted implementation: ``caller(critic, real, fake, labels) -> penalty``."""


@dataclass(frozen=True)
class CheckContext:
    """Everything a check needs. ``dtype`` is the dtype of the check's inputs."""

    impl: Caller
    label: str
    spec: Spec
    weight: float
    device: torch.device
    seed: int
    check_id: str
    domain: Domain
    dtype: torch.dtype = torch.float64
    num_classes: int | None = None
    state: RunState = field(default_factory=RunState, compare=False, repr=False)

    def with_dtype(self, dtype: torch.dtype, device: torch.device | None = None
                   ) -> CheckContext:
        """The same check with inputs of another dtype (and device)."""
        return replace(self, dtype=dtype, device=self.device if device is None else device)

    def with_domain_output(self, output: Literal["n", "n1"]) -> CheckContext:
        """The same check with critics returning ``(N,)`` (``"n"``) or ``(N, 1)``."""
        return replace(self, domain=replace(self.domain, critic_output=output))

    # -- random inputs ---------------------------------------------------------------------
    def generator(self, salt: str = "") -> torch.Generator:
        """A CPU generator seeded from (seed, check id, salt): verdicts never flicker."""
        return torch.Generator().manual_seed(derive_seed(self.seed, self.check_id, salt))

    def randn(self, *shape: int, salt: str = "", dtype: torch.dtype | None = None) -> Tensor:
        t = torch.randn(shape, generator=self.generator(salt), dtype=torch.float64)
        return t.to(device=self.device, dtype=dtype or self.dtype)

    def rand(self, *shape: int, salt: str = "") -> Tensor:
        """``U(0, 1)`` draws in float64 on the CPU."""
        return torch.rand(shape, generator=self.generator(salt), dtype=torch.float64)

    def tensor(self, data: Any, dtype: torch.dtype | None = None) -> Tensor:
        return torch.as_tensor(data, dtype=dtype or self.dtype).to(self.device)

    @property
    def event(self) -> tuple[int, ...]:
        """The primary event shape of the domain."""
        return self.domain.event_shape

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        """Every event shape of the probe family, the primary first."""
        return self.domain.shapes or (self.event,)

    def n(self, wanted: int) -> int:
        """``wanted`` as the batch size, unless the domain fixes one."""
        return self.domain.batch_size or wanted

    def sizes(self, *wanted: int) -> tuple[int, ...]:
        """The batch sizes of a probe family: ``wanted`` (distinct, in order), or the fixed
        batch size of the domain."""
        if self.domain.batch_size is not None:
            return (self.domain.batch_size,)
        return tuple(dict.fromkeys(wanted))

    def pick(self, options: Sequence[Any], salt: str) -> Any:
        """One of ``options``, chosen by the seed (a probe family drawn per seed)."""
        return options[derive_seed(self.seed, self.check_id, "pick", salt) % len(options)]

    def labels(self, n: int, salt: str = "labels") -> Tensor | None:
        if self.num_classes is None:
            return None
        return torch.randint(self.num_classes, (n,), generator=self.generator(salt)).to(
            self.device)

    # -- calling the implementation --------------------------------------------------------
    def call(self, critic: nn.Module, real: Tensor, fake: Tensor, *,
             labels: Tensor | None = None) -> Call:
        """Call the implementation and require a finite 0-dim floating tensor back.

        Raises:
          ImplementationError: it raised (any exception, gp_spec's own included, and
            ``SystemExit``: an implementation cannot end the process), or returned something
            that is not a usable penalty.
          CheckFailed: the value is not finite, the critic was called on inputs of another
            event shape or in another mode than it was handed over in, or it was changed.
          KeyboardInterrupt, CheckTimeout: propagated (Ctrl-C; the engine's time limit).
        """
        view = CriticView(critic, self.domain.critic_output, self.domain.container
                          ).to(self.device)
        if labels is None:
            labels = self.labels(real.shape[0])
        if self.domain.fake_grad and not fake.requires_grad:
            fake = fake.detach().clone().requires_grad_(True) * 1.0  # like G(z)
        before = _critic_state(critic)
        out = self._invoke(view, real, fake, labels)
        try:
            value = self._validated(out, real)
        except ImplementationError:
            self._input_shapes(view, real)  # a wrong input shape is the deeper cause
            raise
        call = Call(value, view)
        self._after(view, before, real)
        return call

    def value(self, critic: nn.Module, real: Tensor, fake: Tensor) -> float:
        """The penalty as a Python float."""
        return self.call(critic, real, fake).value

    def _invoke(self, view: CriticView, real: Tensor, fake: Tensor, labels: Tensor | None
                ) -> Any:
        try:
            with silenced_stdout(), working_directory(), fork_guard():
                return self.impl(view, real, fake, labels)
        except KeyboardInterrupt:
            raise
        except CheckTimeout:
            if self.state.alarm_fired:
                raise
            raise ImplementationError(  # forged: the engine's alarm did not fire
                "implementation raised gp-spec's CheckTimeout itself", cause="raised"
            ) from None
        except BaseException as exc:  # the implementation's own error, gp_spec's types too
            text, where = _describe(exc)
            raise ImplementationError(text, cause=f"raised:{where}:{text}") from exc

    def _validated(self, result: Any, real: Tensor) -> Tensor:
        if self.domain.returns_first and isinstance(result, (tuple, list)) and result:
            result = result[0]
        if isinstance(result, (tuple, list)) and result and isinstance(result[0], Tensor):
            raise ImplementationError(
                f"returned a {type(result).__name__} of {len(result)} whose first element is "
                "a tensor, but should return a 0-dim torch.Tensor (a tuple (penalty, "
                "extras...) is judged by its first element when detection sees it)",
                cause="return-tuple",
            )
        if not isinstance(result, Tensor):
            number = isinstance(result, (int, float, np.number)) and not isinstance(result, bool)
            hint = (
                " (return the tensor itself, not float(...) or .item(): the penalty must stay "
                "differentiable)" if number else ""
            )
            raise ImplementationError(
                f"returned {type(result).__name__}, but should return a 0-dim torch.Tensor"
                f"{hint}", cause="return-type",
            )
        out: Tensor = result
        if out.ndim != 0 and out.numel() == 1:  # (1,) or (1, 1): usable as a loss as it is
            out = out.reshape(())
        if out.ndim != 0:
            hint = " (reduce with .mean() over the batch)"
            if out.ndim == 1 and out.shape[0] == real.shape[0]:
                hint = (" (a value per sample: reduce with .mean(), or use the adapter "
                        "'pred-input+mean' for GAN_stability-style compute_grad2)")
            raise ImplementationError(
                f"returned a tensor of shape {tuple(out.shape)}, but should return a 0-dim "
                f"tensor{hint}", cause="return-shape",
            )
        if not out.is_floating_point():
            raise ImplementationError(f"returned dtype {out.dtype}, but should be floating",
                                      cause="return-dtype")
        if out.is_meta:
            raise ImplementationError(
                f"returned a tensor on the meta device (it has no value), but should return it "
                f"on {real.device}, the inputs' device", cause="return-meta",
            )
        value = float(out.detach().double().cpu())
        if not math.isfinite(value):
            raise CheckFailed(
                f"{self.label}: penalty={value} for finite inputs, but should be finite "
                f"[{self.spec.citation}]", cause="non-finite",
            )
        return out

    def _after(self, view: CriticView, before: _CriticState, real: Tensor) -> None:
        self._input_shapes(view, real)
        changed = _critic_changes(before, _critic_state(view.inner))
        if changed:
            raise CheckFailed(
                f"{self.label}: the call changed the critic ({changed}), but should be left "
                "unchanged [SPEC §3 (a penalty is a pure function of the critic)]. Do not "
                "modify the critic's parameters, buffers, requires_grad or train/eval mode, "
                "nor its accumulated .grad (no zero_grad() or backward() inside the penalty: "
                "return the penalty and let the loop back-propagate it)",
                cause="critic.changed",
            )
        if view.modes and before.training and not all(view.modes):
            raise CheckFailed(
                f"{self.label}: the critic was called in eval mode during the penalty, but "
                "should be called in the mode it was handed over in (training) [SPEC §3 "
                "(the penalty of the critic being trained)]. With Dropout or BatchNorm the "
                "value then differs from what training computes: do not call critic.eval()",
                cause="critic.mode",
            )

    def _input_shapes(self, view: CriticView, real: Tensor) -> None:
        """Raise ``critic.input-shape`` if the critic saw inputs of another event shape."""
        event = tuple(real.shape[1:])
        wrong = [s for s in view.shapes if tuple(s[1:]) != event]
        if wrong:
            raise CheckFailed(
                f"{self.label}: the critic was called on inputs of shape {wrong[0]} for a "
                f"batch of shape {tuple(real.shape)}, but should be called on "
                f"(M, {', '.join(map(str, event))}) [SPEC §2 (x_hat has the samples' shape)]. "
                "An interpolation weight shaped for another input rank broadcasts into extra "
                "dimensions (e.g. alpha of shape (N, 1, 1, 1) times (N, d) gives (N, 1, N, d))",
                cause="critic.input-shape",
            )

    # -- comparing -------------------------------------------------------------------------
    def fail(self, observed: str, expected: str, hint: str = "", *, cause: str | None = None,
             ratio: float | None = None) -> CheckFailed:
        """A failure in the house format ``<impl>: <observed>, but should be <expected> [src]``."""
        msg = f"{self.label}: {observed}, but should be {expected} [{self.spec.citation}]"
        return CheckFailed(msg + (f". {hint}" if hint else ""), cause=cause, ratio=ratio)


# -- exceptions and where they came from -----------------------------------------------------

_LIBRARY_DIRS = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    os.path.dirname(os.path.abspath(torch.__file__)),
)


def _describe(exc: BaseException) -> tuple[str, str]:
    """One line (type, message, the user-code line it came from) and that location."""
    tb = exc.__traceback__
    where = ""
    while tb is not None:
        code = tb.tb_frame.f_code
        if not os.path.abspath(code.co_filename).startswith(_LIBRARY_DIRS):
            where = f"{code.co_filename}:{tb.tb_lineno} in {code.co_name}"
        tb = tb.tb_next
    at = f" (at {where})" if where else ""
    text = first_line(exc)
    if isinstance(exc, SystemExit):
        return (
            f"implementation raised SystemExit({text or 'None'}): it called sys.exit() or "
            f"raised SystemExit, which gp-spec reports instead of ending the process{at}",
            where,
        )
    return f"implementation raised {type(exc).__name__}" + (f": {text}" if text else "") + at, \
        where


# -- the critic: parameters, buffers and mode, compared around each call ------------------

@dataclass(frozen=True)
class _CriticState:
    entries: dict[str, tuple[Tensor, bool]]
    training: bool


def _critic_state(critic: nn.Module) -> _CriticState:
    """A copy of every parameter (value, requires_grad, accumulated ``.grad``) and buffer
    and each training flag (not BatchNorm's running statistics, which every forward in
    training mode updates)."""
    state: dict[str, tuple[Tensor, bool]] = {}
    for name, p in critic.named_parameters():
        state[name] = (p.detach().clone(), p.requires_grad)
        if p.grad is not None:  # a loop's accumulated gradient: no zero_grad/backward inside
            state[f"{name}.grad"] = (p.grad.detach().clone(), False)
    running = {f"{m_name}.{b}" if m_name else b
               for m_name, m in critic.named_modules()
               if isinstance(m, nn.modules.batchnorm._NormBase)
               for b in ("running_mean", "running_var", "num_batches_tracked")}
    for name, b in critic.named_buffers():
        if name not in running:  # a forward in training mode updates running statistics
            state["buffer " + name] = (b.detach().clone(), False)
    for name, m in critic.named_modules():
        state["mode " + (name or "critic")] = (torch.empty(0), m.training)
    return _CriticState(state, critic.training)


def _critic_changes(before: _CriticState, after_state: _CriticState) -> str:
    """'' if nothing changed, else a short description of the first changes."""
    b, after = before.entries, after_state.entries
    out = []
    for name in sorted(set(b) | set(after)):
        if name not in after:
            out.append(f"{name} removed")
        elif name not in b:
            out.append(f"{name} added")
        else:
            (v0, flag0), (v1, flag1) = b[name], after[name]
            if name.startswith("mode "):
                if flag0 != flag1:
                    out.append(f"{name[5:]}.training {flag0} -> {flag1}")
                continue
            if v0.shape != v1.shape or v0.dtype != v1.dtype or v0.device != v1.device:
                out.append(f"{name} replaced ({tuple(v0.shape)} -> {tuple(v1.shape)})")
            elif not torch.equal(v0, v1):
                delta = float((v1.double() - v0.double()).abs().max())
                out.append(f"{name} modified (max |change| {delta:.3g})")
            if flag0 != flag1:
                out.append(f"{name}.requires_grad {flag0} -> {flag1}")
    return ", ".join(out[:3]) + (f" and {len(out) - 3} more" if len(out) > 3 else "")

