"""The input domain (SPEC §6): which inputs the implementation is written for.

Real code is written for its own data: images only, vectors only, a fixed batch size, a
critic returning ``(N, 1)``, a dict or a tuple, a fake batch that still carries the
generator's graph. :func:`detect_domain` probes the implementation once per candidate and
chooses the first that runs *and* calls the critic on inputs of that domain's shape (code
whose ``(N, 1, 1, 1)`` alpha broadcasts vectors into ``(N, 1, N, d)`` is written for images,
so the search moves on to images rather than failing it on vectors). It then probes every
other candidate event shape with the chosen conventions: the shapes it also runs on, one per
rank, make the probe family's event shapes.

Candidates, in order: the small shapes (vectors ``(3,)``, images ``(3, 8, 8)`` and
``(1, 8, 8)``, sequences ``(3, 16)``, then ``(2,)`` and ``(1, 16)``) at any batch size, then
at a batch size the errors name (``size of tensor a (64)``, ``shape '[64, 3, 32, 32]'``),
then the image sizes public code hard-codes (3 x 32 x 32, 1 x 28 x 28, 1 x 32 x 32,
3 x 64 x 64, ..., 3 x 128 x 128; three channels before one) the same way. For each shape:
critic outputs ``(N,)`` then ``(N, 1)``; the critic's result as a tensor, a dict (any key
reads the scores, e.g. StudioGAN's ``"adv_output"``) or a tuple (of the length an unpacking
error names); the fake batch as data, then as a generator's output (a non-leaf that requires
grad) when an error says nothing requires grad; a return ``(penalty, extras...)`` is judged by
its first element. When no candidate runs cleanly, the first in which the critic was called
on inputs of the right shape and only the return value was unusable is the domain (the
report then leads with the return value, not with the domain). A declared ``event_shape`` is
used even when no probe runs cleanly: the checks then say what is wrong.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Literal

from gp_spec.conformance._context import (
    CheckContext,
    CheckFailed,
    Container,
    Domain,
    ImplementationError,
)
from gp_spec.conformance._sandbox import global_state, restore_state
from gp_spec.conformance.checks._critics import Linear

__all__ = ["EVENT_CANDIDATES", "DomainSearch", "detect_domain"]

SMALL_CANDIDATES: tuple[tuple[int, ...], ...] = (
    (3,), (3, 8, 8), (1, 8, 8), (3, 16), (2,), (1, 16),
)
LARGE_CANDIDATES: tuple[tuple[int, ...], ...] = (
    (3, 32, 32), (1, 28, 28), (1, 32, 32), (3, 64, 64), (1, 64, 64), (3, 28, 28),
    (3, 16, 16), (1, 16, 16), (3, 48, 48), (3, 128, 128),
)
EVENT_CANDIDATES = SMALL_CANDIDATES + LARGE_CANDIDATES
CONTAINERS: tuple[Container, ...] = (None, ("dict", None), ("tuple", 2))
PROBE_N = 6
_SIZE = re.compile(r"(?:size of tensor [ab] \((\d+)\))|(?:shape '\[(\d+)[,\]])|"
                   r"(?:expand[^0-9]*\[(\d+)[,\]])")


@dataclass(frozen=True)
class DomainSearch:
    """The outcome of detection: the domain, or None, and every candidate tried with why it
    was rejected (for the report's lead message)."""

    domain: Domain | None
    tried: tuple[tuple[str, str], ...]

    def reasons(self, limit: int = 3) -> str:
        """Why the candidates were rejected, one line: a reason shared by every candidate
        is given once."""
        whys = list(dict.fromkeys(why for _, why in self.tried))
        if len(whys) == 1:
            return f"every candidate ({len(self.tried)} tried): {whys[0]}"
        parts = [f"{what}: {why}" for what, why in self.tried[:limit]]
        more = len(self.tried) - limit
        return "; ".join(parts) + (f"; and {more} more candidates" if more > 0 else "")


@dataclass(frozen=True)
class _Config:
    event: tuple[int, ...]
    output: Literal["n", "n1"]
    container: Container
    fake_grad: bool
    batch_size: int | None
    returns_first: bool = False

    def domain(self, how: str) -> Domain:
        return Domain(self.event, self.output, self.batch_size, (self.event,), (self.output,),
                      how, self.container, self.fake_grad, self.returns_first)

    def describe(self) -> str:
        shape = ", ".join(map(str, self.event))
        out = "(N,)" if self.output == "n" else "(N, 1)"
        cont = "" if self.container is None else f", critic returns a {self.container[0]}"
        fake = ", fake from a generator" if self.fake_grad else ""
        n = "" if self.batch_size is None else f", N = {self.batch_size}"
        first = ", its tuple's first element judged" if self.returns_first else ""
        return f"(N, {shape}) with critic output {out}{cont}{fake}{n}{first}"


@dataclass(frozen=True)
class Rejection:
    """Why a probe rejected a candidate: the reason shown to the user, and the cause key of
    the implementation's error (``return-tuple``, ``return-shape``, ...) when it has one."""

    why: str
    cause: str | None = None

    @property
    def ran(self) -> bool:
        """The critic was called on inputs of the domain's shape; only the return value was
        unusable."""
        return self.cause is not None and self.cause.startswith("return-")


Probe = Callable[[Domain], Rejection | None]


def make_probe(base: CheckContext) -> Probe:
    """``probe(domain)``: None if the implementation runs in ``domain`` (one call on a linear
    critic), else the reason it does not."""

    def probe(domain: Domain) -> Rejection | None:
        state = global_state()
        try:
            with warnings.catch_warnings():  # a candidate that does not fit may warn first
                warnings.simplefilter("ignore")
                return _probe(domain)
        finally:
            restore_state(state)  # what one probe's call changed must not reach the next

    def _probe(domain: Domain) -> Rejection | None:
        ctx = replace(base, domain=domain, check_id="domain-probe")
        n = domain.batch_size or PROBE_N
        event = domain.event_shape
        real = ctx.randn(n, *event, salt=f"r{event}")
        fake = ctx.randn(n, *event, salt=f"f{event}") + 0.5
        a = ctx.randn(*event, salt=f"a{event}")
        try:
            ctx.call(Linear(a / a.norm() * 1.5).to(ctx.device), real, fake)
        except ImplementationError as exc:
            rejection = Rejection(str(exc), exc.cause)
            return replace(rejection, why=f"ran, but {exc}") if rejection.ran else rejection
        except CheckFailed as exc:
            if exc.cause == "critic.input-shape":
                text = str(exc)
                return Rejection(text[text.find("the critic was called"):].split(" [")[0])
            return None  # it ran; the checks will judge what it did
        return None

    return probe


def detect_domain(probe: Probe, *, event_shape: tuple[int, ...] | None,
                  batch_size: int | None, critic_output: str,
                  container: Container | None = None) -> DomainSearch:
    """Find the domain (see the module docstring)."""
    outputs: tuple[Literal["n", "n1"], ...] = ("n", "n1") if critic_output == "auto" \
        else ((critic_output,) if critic_output in ("n", "n1") else ("n",))  # type: ignore[assignment]
    containers = CONTAINERS if container is None else (container,)
    tried: list[tuple[str, str]] = []
    ran: list[_Config] = []
    stages = [(event_shape,)] if event_shape is not None else [SMALL_CANDIDATES,
                                                              LARGE_CANDIDATES]
    found = None
    for events in stages:  # small shapes first, at any N, then at the N its errors name
        found = _first(probe, events, outputs, containers, batch_size, tried, ran)
        if found is None and batch_size is None:
            for n in _sizes_named([why for _, why in tried]):
                found = _first(probe, events, outputs, containers, n, tried, ran)
                if found is not None:
                    break
        if found is not None:
            break
    returned_badly = found is None and bool(ran)
    if found is None:  # none ran cleanly: the first that ran and only returned badly
        found = ran[0] if ran else None
    if found is None and event_shape is not None:  # declared: the checks say what is wrong
        dom = Domain(event_shape, outputs[0], batch_size, (event_shape,), (outputs[0],),
                     "declared (no probe ran cleanly: the checks report why)",
                     None if container is None else container)
        return DomainSearch(dom, tuple(tried))
    if found is None:
        return DomainSearch(None, tuple(tried))
    how = "declared" if event_shape is not None else "detected (the first candidate that runs)"
    if returned_badly:
        how += "; it calls the critic as expected but returns no 0-dim tensor (see the causes)"
    if found.batch_size is not None and batch_size is None:
        how += f"; the batch size {found.batch_size} was read off its errors (hard-coded?)"
    shapes = [found.event]
    ranks = {len(found.event)}
    if event_shape is None:  # other ranks, at the small shapes (a large image size that
        for ev in SMALL_CANDIDATES:  # happens to broadcast says nothing about the code)
            if len(ev) in ranks:
                continue
            if probe(replace(found, event=ev).domain(how)) is None:
                shapes.append(ev)
                ranks.add(len(ev))
    outs: list[Literal["n", "n1"]] = [found.output]
    other: Literal["n", "n1"] = "n1" if found.output == "n" else "n"
    if critic_output == "auto" and probe(replace(found, output=other).domain(how)) is None:
        outs.append(other)
    dom = found.domain(how)
    dom = replace(dom, shapes=tuple(shapes), outputs=tuple(sorted(outs)))
    return DomainSearch(dom, tuple(tried))


def _first(probe: Probe, events: Iterable[tuple[int, ...]],
           outputs: tuple[Literal["n", "n1"], ...], containers: tuple[Container, ...],
           batch_size: int | None, tried: list[tuple[str, str]],
           ran: list[_Config]) -> _Config | None:
    """The first candidate that runs cleanly; ``tried`` and ``ran`` collect the others
    (``ran``: those that ran and only returned something unusable)."""
    for ev in events:
        queue = list(containers)
        while queue:
            cont = queue.pop(0)
            for out in outputs:
                for fake_grad in (False, True):
                    cfg = _Config(ev, out, cont, fake_grad, batch_size)
                    rejection = probe(cfg.domain("probe"))
                    if rejection is not None and rejection.cause == "return-tuple":
                        cfg = replace(cfg, returns_first=True)  # (penalty, extras...)
                        rejection = probe(cfg.domain("probe"))
                    if rejection is None:
                        return cfg
                    why = rejection.why
                    tried.append((cfg.describe(), why))
                    if rejection.ran:
                        ran.append(cfg)
                    length = _unpacked(why)
                    if cont is not None and cont[0] == "tuple" and length \
                            and ("tuple", length) not in queue and length != cont[1]:
                        queue.insert(0, ("tuple", length))  # the length the error names
                    if not _worth_more(why):
                        break  # the same failure whatever the fake batch carries
    return None


_UNPACK = re.compile(r"values to unpack \(expected (\d+)")


def _unpacked(why: str) -> int | None:
    """The tuple length an unpacking error asks for (``too many values to unpack
    (expected 4)``)."""
    m = _UNPACK.search(why)
    return int(m.group(1)) if m and 1 < int(m.group(1)) <= 16 else None


def _worth_more(why: str) -> bool:
    """Whether an error suggests trying a fake batch that requires grad."""
    return "does not require grad" in why or "does not have a grad_fn" in why


def _sizes_named(reasons: list[str]) -> list[int]:
    """Batch sizes that errors name (``size of tensor a (64)``), most frequent first."""
    counts: dict[int, int] = {}
    for text in reasons:
        for m in _SIZE.finditer(text):
            k = int(next(g for g in m.groups() if g))
            if k not in (1, 2, 3, PROBE_N) and k <= 4096:
                counts[k] = counts.get(k, 0) + 1
    return sorted(counts, key=lambda k: -counts[k])[:2]

