"""Gradient penalties shipped in PyPI packages, checked as the packages publish them.

Each entry of :data:`THIRD_PARTY` names a package and version, the function checked, the spec
and weight, the ``check()`` options used (documented options and adapters only: no reshaping
glue), and the verdict recorded in ``conformance/THIRD_PARTY.md`` with its reason, read from
the package's code. None of these packages is a dependency of gp_spec:

    pip install --no-deps torchgan==0.1.0 ctgan==0.12.1 torch-mimicry==0.1.16 \
        pytorch-gan-zoo==0.0.6 wgangp-pytorch==0.1.4 stylegan2-pytorch==1.9.0
    python -m conformance.third_party          # one report per installed package

Most packages import modules their penalty never uses and that are absent here (pandas, rdt,
tensorflow, torchvision, kornia, ...); those are replaced by inert stub modules for the
duration of the import only (:func:`import_with_stubs`). lucidrains' stylegan2-pytorch
asserts ``torch.cuda.is_available()`` at import: it is imported with CUDA reported available
for the import only. torchgan computes its penalty points inside ``train_ops`` (no callable
penalty): its entries repeat those lines verbatim, citing them.

Not included, with the reason: synthcity 0.2.12 (its import needs optuna, pydantic and more
than ``--no-deps`` gives), mmgen/mmagic (need mmcv), vegans, dp-cgans (a ctgan fork), awgan
and gan-lab (their modules do not import here); their conventions are covered by the
corpus in ``docs/popular-code.md`` and the rewrites.
"""

from __future__ import annotations

import argparse
import contextlib
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


@contextmanager
def _cuda_reported_available() -> Iterator[None]:
    real = torch.cuda.is_available
    torch.cuda.is_available = lambda: True  # type: ignore[assignment]
    try:
        yield
    finally:
        torch.cuda.is_available = real  # type: ignore[assignment]


def load(module: str, stubs: tuple[str, ...] = (), *, cuda_import: bool = False
         ) -> types.ModuleType | None:
    """Import ``module`` (with ``stubs`` for its unusable dependencies); None if not installed.

    ``cuda_import``: ``torch.cuda.is_available()`` reports True during the import only (for
    modules that assert it at import time but whose penalty runs on the CPU).
    """
    if importlib.util.find_spec(module.split(".")[0]) is None:
        return None
    if module in sys.modules:
        return sys.modules[module]
    with import_with_stubs(stubs), (_cuda_reported_available() if cuda_import
                                    else contextlib.nullcontext()):
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


def _attr(path: str) -> Callable[[types.ModuleType, float], Any]:
    """The module's attribute ``path`` (dotted), as published: no wrapper at all."""

    def make(module: types.ModuleType, weight: float) -> Any:
        obj: Any = module
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj

    return make


def _partial(path: str, **kwargs: Any) -> Callable[[types.ModuleType, float], Any]:
    """The module's attribute ``path`` with some of its own keyword parameters set
    (``functools.partial``: a choice the package documents, e.g. ctgan's ``pac``)."""
    import functools

    def make(module: types.ModuleType, weight: float) -> Any:
        fn = functools.partial(_attr(path)(module, weight), **kwargs)
        functools.update_wrapper(fn, fn.func)
        return fn

    return make


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
      make: the implementation from the imported module and the weight (the package's own
        function for every entry but torchgan's inline code).
      failing: the clauses recorded as failing (empty: conformant).
      exempt: ``{clause: reason}`` passed as ``expected_failed_checks``.
      options: further ``check()`` keywords (documented options only).
      cuda_import: import with ``torch.cuda.is_available`` reporting True (the module asserts
        it at import; the penalty itself runs on the CPU).
      why: the verdict's reason, read from the package's code.
    """

    name: str
    package: str
    version: str
    module: str
    stubs: tuple[str, ...]
    function: str
    spec: str
    weight: float
    make: Callable[[types.ModuleType, float], Any]
    failing: frozenset[str]
    exempt: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    cuda_import: bool = False
    why: str = ""


THIRD_PARTY: tuple[ThirdParty, ...] = (
    ThirdParty(
        "torchgan-wgan-gp", "torchgan", "0.1.0", "torchgan.losses", ("torchvision",),
        "torchgan.losses.WassersteinGradientPenalty (train_ops steps 1-4)", "wgan-gp", 10.0,
        torchgan_wgan_gp, frozenset({
            "differential.recorded-points", "differential.values", "dtype.float32",
            "dtype.float64", "grad.parameters", "grad.per-sample", "measure.alpha-per-sample",
            "measure.alpha-uniform", "measure.value-distribution", "norm.all-event-dims",
            "purity.no-gradient-to-inputs", "reduction.batch-mean", "term.above-one",
            "term.at-one", "term.below-one",
        }),
        why="one alpha per batch (torch.rand(1).item()), one norm over the whole batch "
            "(gradients.norm(2)), fake not detached",
    ),
    ThirdParty(
        "torchgan-dragan", "torchgan", "0.1.0", "torchgan.losses", ("torchvision",),
        "torchgan.losses.DraganGradientPenalty (train_ops)", "dragan", 10.0, torchgan_dragan,
        frozenset({
            "differential.recorded-points", "differential.values", "dtype.float32",
            "dtype.float64", "grad.parameters", "grad.per-sample", "measure.dragan-scale",
            "measure.value-distribution", "norm.all-event-dims", "reduction.batch-mean",
            "term.above-one", "term.at-one", "term.below-one",
        }),
        why="alpha and beta drawn per element, one norm over the whole batch, unbiased std",
    ),
    ThirdParty(
        "ctgan", "ctgan", "0.12.1", "ctgan.synthesizers.ctgan",
        ("pandas", "tqdm", "rdt", "rdt.transformers"),
        "ctgan.synthesizers.ctgan.Discriminator.calc_gradient_penalty", "wgan-gp", 10.0,
        _attr("Discriminator.calc_gradient_penalty"), frozenset({
            "critic.input-shape", "critic.mode-unchanged", "critic.output-n1",
            "differential.batch-statistics", "differential.recorded-points",
            "differential.values", "dtype.float32", "dtype.float64", "grad.parameters",
            "grad.per-sample", "grad.zero-gradient-finite", "measure.alpha-per-sample",
            "measure.alpha-uniform", "measure.support", "measure.value-distribution",
            "norm.all-event-dims", "purity.critic-state-kept", "purity.global-state",
            "purity.inputs-unchanged",
            "purity.no-gradient-to-inputs", "purity.rng-not-reseeded", "reduction.batch-mean",
            "term.above-one", "term.at-one", "term.below-one", "weight.applied-once",
        }),
        why="pac=10 by default: the critic is called on packs of 10 rows viewed as one "
            "sample (PacGAN), which is not the per-sample critic of the spec",
    ),
    ThirdParty(
        "ctgan-pac1", "ctgan", "0.12.1", "ctgan.synthesizers.ctgan",
        ("pandas", "tqdm", "rdt", "rdt.transformers"),
        "ctgan.synthesizers.ctgan.Discriminator.calc_gradient_penalty (pac=1)", "wgan-gp",
        10.0, _partial("Discriminator.calc_gradient_penalty", pac=1), frozenset({
            "purity.no-gradient-to-inputs",
        }),
        why="needs fake to carry the generator's graph (no requires_grad_ on the "
            "interpolates) and then sends gradient to the generator",
    ),
    ThirdParty(
        "mimicry-wgan-gp", "torch-mimicry", "0.1.16", "torch_mimicry.nets.wgan_gp.wgan_gp_base",
        ("tensorflow", "torchvision", "torch._six", "torch.utils.tensorboard", "skimage"),
        "torch_mimicry.nets.wgan_gp.wgan_gp_base.WGANGPBaseDiscriminator"
        ".compute_gradient_penalty_loss", "wgan-gp", 10.0,
        _attr("WGANGPBaseDiscriminator.compute_gradient_penalty_loss"), frozenset(),
        why="images with 3 channels (view(N, 3, H, W)); correct there",
    ),
    ThirdParty(
        "ganzoo-wgan-gp", "pytorch-gan-zoo", "0.0.6", "ganzoo.losses.wgan_losses", (),
        "ganzoo.losses.wgan_losses.wgan_gradient_penalty", "wgan-gp", 1.0,
        _attr("wgan_gradient_penalty"), frozenset(),
        why="(real, fake, discriminator), images (alpha (N, 1, 1, 1)), unweighted; correct",
    ),
    ThirdParty(
        "ganzoo-wgan-lp", "pytorch-gan-zoo", "0.0.6", "ganzoo.losses.wgan_losses", (),
        "ganzoo.losses.wgan_losses.wgan_lipschitz_penalty", "wgan-lp", 1.0,
        _attr("wgan_lipschitz_penalty"), frozenset(),
        why="as above, one-sided; an (N, 1) x (N,) broadcast builds an (N, N) intermediate "
            "with the same mean",
    ),
    ThirdParty(
        "wgangp-pytorch", "wgangp-pytorch", "0.1.4", "wgangp_pytorch.utils", ("torchvision",),
        "wgangp_pytorch.utils.calculate_gradient_penalty", "wgan-gp", 1.0,
        _attr("calculate_gradient_penalty"), frozenset({
            "differential.recorded-points", "differential.values", "dtype.float32",
            "dtype.float64", "grad.parameters", "grad.per-sample", "measure.value-distribution",
            "norm.all-event-dims", "purity.no-gradient-to-inputs", "reduction.batch-mean",
            "term.above-one", "term.at-one", "term.below-one",
        }),
        why="gradients.norm(2, dim=1) on (N, C, H, W): one norm per pixel over the channels",
    ),
    ThirdParty(
        "stylegan2-pytorch-r1", "stylegan2-pytorch", "1.9.0",
        "stylegan2_pytorch.stylegan2_pytorch",
        ("torchvision", "kornia", "vector_quantize_pytorch", "linear_attention_transformer",
         "retry", "adamp", "fire", "PIL", "tqdm", "aim", "einops", "contrastive_learner",
         "beartype"),
        "stylegan2_pytorch.stylegan2_pytorch.gradient_penalty", "r1", 10.0,
        _attr("gradient_penalty"), frozenset(), cuda_import=True,
        why="(images, output, weight=10): R1 from the critic's output on the real images",
    ),
)
"""Every third-party penalty checked, in THIRD_PARTY.md order."""


def run(tp: ThirdParty, *, seed: int = 0) -> Report | None:
    """Check ``tp`` against its spec; None when its package is not installed."""
    module = load(tp.module, tp.stubs, cuda_import=tp.cuda_import)
    if module is None:
        return None
    return check(
        tp.make(module, tp.weight), tp.spec, weight=tp.weight, seed=seed,
        expected_failed_checks=dict(tp.exempt) or None, label=f"{tp.package}:{tp.function}",
        **tp.options,
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
