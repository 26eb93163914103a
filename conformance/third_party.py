"""Gradient penalties shipped in PyPI packages, adapted to the canonical signature and checked.

Each entry of :data:`THIRD_PARTY` names a package and version, the function checked, the spec
and weight, and the verdict recorded in ``conformance/THIRD_PARTY.md`` (the failing clauses).
The adapters call the package's own penalty code; where the package builds the penalty
points inside its training step (torchgan's ``train_ops``), the adapter repeats those lines
verbatim and says so, citing them. None of these packages is a dependency of gp_spec:

    pip install --no-deps torchgan==0.1.0 ctgan==0.12.1 torch-mimicry==0.1.16
    python -m conformance.third_party          # one report per installed package

Each imports modules that its penalty never uses and that are absent here or cannot load
beside a CPU-only torch (torchvision for torchgan; pandas, tqdm and rdt for ctgan; tensorflow,
torchvision, tensorboard and torch 1.x's ``torch._six`` for torch-mimicry); those are replaced
by inert stub modules for the duration of the import only (:func:`import_with_stubs`).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from gp_spec.conformance import Report, check

__all__ = ["THIRD_PARTY", "ThirdParty", "import_with_stubs", "load", "run"]

Canonical = Callable[[nn.Module, Tensor, Tensor], Tensor]


# -- importing packages whose unused dependencies are missing -------------------------------

class _Stub(types.ModuleType):
    """An inert module: every attribute is a placeholder class, never called by a penalty."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__path__: list[str] = []  # a package, so `from stub.sub import X` works

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        placeholder = type(name, (), {"__module__": self.__name__})
        setattr(self, name, placeholder)
        return placeholder


def _loads(name: str) -> bool:
    if importlib.util.find_spec(name.split(".")[0]) is None:
        return False
    try:
        importlib.import_module(name)
    except Exception:  # e.g. torchvision built for another torch: its C ops fail to load
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]
        return False
    return True


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves every submodule of a stubbed package (``torchvision.datasets``, ...) to a stub."""

    def __init__(self, roots: list[str]) -> None:
        self.roots = roots

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if any(fullname.startswith(root + ".") for root in self.roots):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _Stub(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        return None


@contextmanager
def import_with_stubs(stubs: tuple[str, ...]) -> Iterator[list[str]]:
    """Stand in stub modules for those of ``stubs`` that cannot be imported, then remove them.

    A stubbed name stands for its submodules too. Yields the names actually stubbed. Modules
    imported meanwhile keep their references to the stubs; ``sys.modules`` no longer lists
    them afterwards, so later imports are unaffected.
    """
    added = [name for name in stubs if name not in sys.modules and not _loads(name)]
    for name in added:
        sys.modules[name] = _Stub(name)
    finder = _StubFinder(added)
    sys.meta_path.insert(0, finder)
    try:
        yield added
    finally:
        sys.meta_path.remove(finder)
        for key in [k for k, m in sys.modules.items() if isinstance(m, _Stub)]:
            stub = sys.modules.pop(key)
            parent, _, child = key.rpartition(".")
            if parent and getattr(sys.modules.get(parent), child, None) is stub:
                delattr(sys.modules[parent], child)


def load(module: str, stubs: tuple[str, ...] = ()) -> types.ModuleType | None:
    """Import ``module`` (with ``stubs`` for its unusable dependencies); None if not installed."""
    if importlib.util.find_spec(module.split(".")[0]) is None:
        return None
    if module in sys.modules:
        return sys.modules[module]
    with import_with_stubs(stubs):
        return importlib.import_module(module)


# -- adapters ---------------------------------------------------------------------------------

def _as_generator_output(fake: Tensor) -> Tensor:
    """``fake`` as the packages' training loops pass it: the output of a generator.

    Both packages take the gradient w.r.t. ``interpolate`` without ever calling
    ``requires_grad_``: it works there only because ``fake = generator(noise)`` carries a
    graph. A plain tensor is given that property on a detached copy (the caller's tensor is
    untouched); a tensor that already has a graph, as in purity.no-gradient-to-inputs, is
    passed on as the package would receive it.
    """
    return fake if fake.requires_grad else fake.detach().requires_grad_(True)


def torchgan_wgan_gp(losses: types.ModuleType, weight: float) -> Canonical:
    """torchgan 0.1.0 ``WassersteinGradientPenalty``: steps 1-4 of its ``train_ops``.

    Lines 283-284, 286 and 292-293 of ``torchgan/losses/wasserstein.py`` verbatim; the penalty
    itself is the package's ``forward`` -> ``functional.wasserstein_gradient_penalty``.
    """
    loss = losses.WassersteinGradientPenalty(lambd=weight)

    def penalty(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        fake = _as_generator_output(fake)
        eps = torch.rand(1).item()                               # wasserstein.py:283
        interpolate = eps * real + (1 - eps) * fake              # wasserstein.py:284
        d_interpolate = critic(interpolate)                      # wasserstein.py:286
        value = loss(interpolate, d_interpolate)                 # wasserstein.py:292
        weighted: Tensor = loss.lambd * value                    # wasserstein.py:293
        return weighted

    penalty.__name__ = penalty.__qualname__ = "WassersteinGradientPenalty"
    penalty.__module__ = "torchgan.losses"
    return penalty


def torchgan_dragan(losses: types.ModuleType, weight: float) -> Canonical:
    """torchgan 0.1.0 ``DraganGradientPenalty``: its ``train_ops`` up to the weighted loss.

    Lines 106-114, 124 and 130-131 of ``torchgan/losses/draganpenalty.py`` verbatim (with
    ``device=real.device``); the penalty is the package's ``dragan_gradient_penalty``.
    """
    loss = losses.DraganGradientPenalty(lambd=weight)

    def penalty(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        real_inputs, device = real, real.device
        alpha = torch.rand(size=real_inputs.shape, device=device, requires_grad=True)  # :106
        beta = torch.rand(size=real_inputs.shape, device=device, requires_grad=True)   # :109
        interpolate = real_inputs + (1 - alpha) * 0.5 * real_inputs.std() * beta      # :113
        d_interpolate = critic(interpolate)                                            # :124
        value = loss(interpolate, d_interpolate)                                       # :130
        weighted: Tensor = loss.lambd * value                                          # :131
        return weighted

    penalty.__name__ = penalty.__qualname__ = "DraganGradientPenalty"
    penalty.__module__ = "torchgan.losses"
    return penalty


def ctgan_gradient_penalty(ctgan_module: types.ModuleType, weight: float) -> Canonical:
    """ctgan 0.12.1 ``Discriminator.calc_gradient_penalty`` with ``pac=1``, called as is.

    The method only uses ``self(interpolates)``, so the critic under test is passed as
    ``self``; ``pac=1`` makes one pack one sample (with ``pac > 1`` the sample of the
    penalty is a pack of ``pac`` rows, PacGAN's design, which a per-row critic cannot see).
    """
    method = ctgan_module.Discriminator.calc_gradient_penalty

    def penalty(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        out: Tensor = method(
            critic, real, _as_generator_output(fake), device=real.device, pac=1, lambda_=weight
        )
        return out

    penalty.__name__ = penalty.__qualname__ = "Discriminator.calc_gradient_penalty"
    penalty.__module__ = "ctgan.synthesizers.ctgan"
    return penalty


class _ImageCritic(nn.Module):
    """Presents ``(N, *event)`` data as mimicry's ``(N, 3, H, W)`` images and back.

    mimicry's penalty reads ``N, _, H, W = real_images.shape`` and reshapes alpha to
    ``(N, 3, H, W)``: an event ``(3,)`` travels as ``(3, 1, 1)``; the critic under test sees
    its own event shape again.
    """

    def __init__(self, critic: nn.Module, event: tuple[int, ...]) -> None:
        super().__init__()
        self.critic = critic
        self.event = event

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.critic(x.reshape(x.shape[0], *self.event))
        return out


def mimicry_wgan_gp(base: types.ModuleType, weight: float) -> Canonical:
    """torch-mimicry 0.1.16 ``WGANGPBaseDiscriminator.compute_gradient_penalty_loss``, as is.

    The method only uses ``self.forward(interpolates)``: the critic under test, wrapped by
    :class:`_ImageCritic`, is passed as ``self``.
    """
    method = base.WGANGPBaseDiscriminator.compute_gradient_penalty_loss

    def penalty(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        event = tuple(real.shape[1:])
        as_image = (3, 1, 1) if event == (3,) else event
        wrapped = _ImageCritic(critic, event)
        shape = (real.shape[0], *as_image)
        out: Tensor = method(wrapped, real.reshape(shape), fake.reshape(shape), gp_scale=weight)
        return out

    penalty.__name__ = penalty.__qualname__ = "compute_gradient_penalty_loss"
    penalty.__module__ = "torch_mimicry.nets.wgan_gp.wgan_gp_base"
    return penalty


# -- the table ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ThirdParty:
    """One third-party penalty and its recorded verdict.

    Attributes:
      name: unique id (pytest id).
      package, version: the PyPI distribution checked.
      module: what to import; ``stubs`` the unusable dependencies stubbed meanwhile.
      function: the function or method checked, as the package names it.
      spec, weight: the spec it claims to implement and the weight passed.
      make: builds the canonical implementation from the imported module and the weight.
      failing: the clauses recorded as failing (empty: conformant).
      exempt: ``{clause: reason}`` passed as ``expected_failed_checks`` (outside the
        package's stated domain).
    """

    name: str
    package: str
    version: str
    module: str
    stubs: tuple[str, ...]
    function: str
    spec: str
    weight: float
    make: Callable[[types.ModuleType, float], Canonical]
    failing: frozenset[str]
    exempt: Mapping[str, str] = field(default_factory=dict)


THIRD_PARTY: tuple[ThirdParty, ...] = (
    ThirdParty(
        "torchgan-wgan-gp", "torchgan", "0.1.0", "torchgan.losses", ("torchvision",),
        "torchgan.losses.WassersteinGradientPenalty (train_ops steps 1-4)", "wgan-gp", 10.0,
        torchgan_wgan_gp,
        frozenset({
            "term.below-one", "term.at-one", "term.above-one", "critic.output-n1",
            "reduction.batch-mean", "norm.all-event-dims", "grad.per-sample", "grad.parameters",
            "measure.alpha-per-sample", "measure.alpha-uniform", "measure.value-distribution",
            "purity.no-gradient-to-inputs", "dtype.float32", "dtype.float64",
        }),
    ),
    ThirdParty(
        "torchgan-dragan", "torchgan", "0.1.0", "torchgan.losses", ("torchvision",),
        "torchgan.losses.DraganGradientPenalty (train_ops)", "dragan", 10.0, torchgan_dragan,
        frozenset({
            "term.below-one", "term.at-one", "term.above-one", "critic.output-n1",
            "reduction.batch-mean", "norm.all-event-dims", "grad.per-sample", "grad.parameters",
            "measure.value-distribution", "purity.no-gradient-to-inputs", "dtype.float32",
            "dtype.float64",
        }),
    ),
    ThirdParty(
        "ctgan-pac1", "ctgan", "0.12.1", "ctgan.synthesizers.ctgan",
        ("pandas", "tqdm", "rdt", "rdt.transformers"),
        "ctgan.synthesizers.ctgan.Discriminator.calc_gradient_penalty (pac=1)", "wgan-gp", 10.0,
        ctgan_gradient_penalty,
        frozenset({"purity.no-gradient-to-inputs"}),
        exempt={"norm.all-event-dims": "ctgan is for tabular (N, D) data; its penalty reshapes "
                                       "with real_data.size(1) and cannot take (N, C, H, W)"},
    ),
    ThirdParty(
        "mimicry-wgan-gp", "torch-mimicry", "0.1.16", "torch_mimicry.nets.wgan_gp.wgan_gp_base",
        ("tensorflow", "torchvision", "torch._six", "torch.utils.tensorboard", "skimage"),
        "torch_mimicry.nets.wgan_gp.wgan_gp_base.WGANGPBaseDiscriminator"
        ".compute_gradient_penalty_loss", "wgan-gp", 10.0, mimicry_wgan_gp, frozenset(),
    ),
)
"""Every third-party penalty checked, in THIRD_PARTY.md order."""


def run(tp: ThirdParty, *, seed: int = 0) -> Report | None:
    """Check ``tp`` against its spec; None when its package is not installed."""
    module = load(tp.module, tp.stubs)
    if module is None:
        return None
    return check(
        tp.make(module, tp.weight), tp.spec, weight=tp.weight, seed=seed,
        expected_failed_checks=dict(tp.exempt) or None, label=f"{tp.package}:{tp.function}",
    )


def failing_clauses(report: Report) -> frozenset[str]:
    """The clauses of the checks that fail or error (exempted ones excluded)."""
    return frozenset(r.id.split(".", 1)[1] for r in report.failures)


def main(argv: list[str] | None = None) -> int:
    """Print each installed package's report; exit 1 if a verdict differs from the record."""
    parser = argparse.ArgumentParser(prog="python -m conformance.third_party")
    parser.add_argument("--markdown", action="store_true", help="markdown reports")
    args = parser.parse_args(argv)
    status = 0
    for tp in THIRD_PARTY:
        report = run(tp)
        if report is None:
            print(f"{tp.name}: {tp.package}=={tp.version} is not installed (skipped)\n")
            continue
        print(report.to_markdown() if args.markdown else report.to_text())
        got = failing_clauses(report)
        if got != tp.failing:
            status = 1
            print(f"!! {tp.name}: failing clauses {sorted(got)} differ from the record "
                  f"{sorted(tp.failing)}")
        print()
    return status


if __name__ == "__main__":
    raise SystemExit(main())
