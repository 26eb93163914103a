"""Data sets of the papers' experiments, and the user's own data (SPEC §5).

A :class:`Dataset` draws real samples with ``dataset.sample(n, generator)``: ``(n, *event)``
float32 tensors on the CPU, all randomness from the given ``torch.Generator`` (so a run can be
replayed and resumed exactly). Data sets built for critic-only experiments also carry a fixed
``reference`` distribution playing the fake side (003 Prop. 2; 004 Fig. 1).

The toy mixtures follow the code that 003 and 000 reuse (Gulrajani et al. 2017,
``gan_toy.py``): centres and standard deviations are those of that code, then multiplied by
``scale`` (004 §6.2 scales 8 Gaussians by 10).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from gp_spec.harness.errors import ConfigError

__all__ = [
    "DATASETS",
    "Dataset",
    "Sampler",
    "digits",
    "eight_gaussians",
    "from_image_folder",
    "from_npy",
    "from_tensor",
    "gaussian_pair_1d",
    "get_dataset",
    "pooled",
    "swiss_roll",
    "twenty_five_gaussians",
    "two_gaussians",
]

Sampler = Callable[[int, torch.Generator], Tensor]
"""``(n, generator) -> (n, *event)`` float32 CPU tensor."""

Kind = Literal["points", "images"]


@dataclass(frozen=True)
class Dataset:
    """A real distribution to train on, with what the metrics and plots need to know about it.

    Attributes:
      name: identifier used in file names and messages.
      event_shape: shape of one sample, e.g. ``(2,)`` or ``(1, 8, 8)``.
      sampler: draws real samples, ``(n, generator) -> (n, *event)``.
      kind: ``"points"`` (vectors) or ``"images"`` (``(C, H, W)`` in ``[-1, 1]``).
      reference: a fixed fake distribution for critic-only runs, or None.
      centres: ``(K, d)`` mode centres of a Gaussian mixture, or None.
      mode_std: the common standard deviation of the mixture components, or None.
      log_ratio: ``x -> log p_r(x) / p_ref(x)``, the logit of ``D* = p_r / (p_r + p_ref)``
        (004 Eq. 2), where the reference density is known; else None.
      bounds: ``(xmin, xmax, ymin, ymax)`` for plots of 2-D data, or None.
      source: where the data set comes from.
    """

    name: str
    event_shape: tuple[int, ...]
    sampler: Sampler
    kind: Kind = "points"
    reference: Sampler | None = None
    centres: Tensor | None = None
    mode_std: float | None = None
    log_ratio: Callable[[Tensor], Tensor] | None = None
    bounds: tuple[float, float, float, float] | None = None
    source: str = ""

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` real samples, ``(n, *event_shape)`` float32 on the CPU."""
        return _checked(self.sampler, n, generator, self)

    def sample_reference(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` samples of the fixed fake-side distribution (critic-only experiments).

        Raises:
          ConfigError: the data set has no reference distribution.
        """
        if self.reference is None:
            raise ConfigError(
                f"dataset {self.name!r} has no fixed reference distribution, but critic_only "
                "needs one (use '1d-pair' or 'two-gaussians')"
            )
        return _checked(self.reference, n, generator, self)


def _checked(sampler: Sampler, n: int, generator: torch.Generator, ds: Dataset) -> Tensor:
    if int(n) < 1:
        raise ConfigError(f"n={n!r}, but should be >= 1")
    x = sampler(int(n), generator)
    if tuple(x.shape) != (int(n), *ds.event_shape):
        raise ConfigError(
            f"dataset {ds.name!r} gave shape {tuple(x.shape)}, but should give "
            f"{(int(n), *ds.event_shape)}"
        )
    return x


def _mixture_sampler(centres: Tensor, std: float) -> Sampler:
    """Uniform mixture of ``N(centre_k, std^2 I)``: pick k uniformly, add Gaussian noise."""

    def sample(n: int, generator: torch.Generator) -> Tensor:
        k = torch.randint(centres.shape[0], (n,), generator=generator)
        noise = torch.randn(n, centres.shape[1], generator=generator)
        return centres[k] + std * noise

    return sample


def _square(half_width: float) -> tuple[float, float, float, float]:
    return (-half_width, half_width, -half_width, half_width)


def eight_gaussians(scale: float = 1.0, std: float | None = None) -> Dataset:
    """Eight Gaussians on a circle: centres ``r (cos 2 pi k/8, sin 2 pi k/8)``, std ``s``.

    ``r = 2 / 1.414`` and ``s = 0.02 / 1.414`` (Gulrajani et al.'s ``gan_toy.py``: centres at
    scale 2, std 0.02, then the data divided by 1.414), both multiplied by ``scale``; a given
    ``std`` replaces ``s`` (004's released code scales the centres but keeps std 0.02 / 1.414).

    Source: 003 §6; 000 §5.1; 004 §6.2 (``scale = 10``).
    """
    s = _positive(scale, "scale")
    angles = torch.arange(8, dtype=torch.float32) * (2 * math.pi / 8)
    centres = s * (2 / 1.414) * torch.stack([torch.cos(angles), torch.sin(angles)], 1)
    std = s * 0.02 / 1.414 if std is None else _positive(std, "mode_std")
    return Dataset(
        "8gaussians", (2,), _mixture_sampler(centres, std), centres=centres, mode_std=std,
        bounds=_square(2.0 * s), source="003 §6; 004 §6.2; Gulrajani et al. 2017",
    )


def twenty_five_gaussians(scale: float = 1.0, std: float | None = None) -> Dataset:
    """25 Gaussians on a 5x5 grid: centres ``(2i, 2j) / 2.828`` for ``i, j in -2..2``.

    std ``0.05 / 2.828`` (Gulrajani et al.'s ``gan_toy.py``), both multiplied by ``scale``; a
    given ``std`` replaces it.

    Source: 003 §6; 000 §5.1.
    """
    s = _positive(scale, "scale")
    grid = torch.arange(-2, 3, dtype=torch.float32) * 2
    centres = s * torch.cartesian_prod(grid, grid) / 2.828
    std = s * 0.05 / 2.828 if std is None else _positive(std, "mode_std")
    return Dataset(
        "25gaussians", (2,), _mixture_sampler(centres, std), centres=centres, mode_std=std,
        bounds=_square(2.0 * s), source="003 §6; 000 §5.1; Gulrajani et al. 2017",
    )


def swiss_roll(scale: float = 1.0, noise: float = 0.25) -> Dataset:
    """Swiss roll: ``t = 1.5 pi (1 + 2u)``, ``x = (t cos t, t sin t) + noise * N(0, I)``, / 7.5.

    The 2-D slice (coordinates 0 and 2) of ``sklearn.datasets.make_swiss_roll(noise=0.25)``
    divided by 7.5, as in Gulrajani et al.'s ``gan_toy.py``; multiplied by ``scale``.

    Source: 003 §6; 000 §5.1.
    """
    s = _positive(scale, "scale")

    def sample(n: int, generator: torch.Generator) -> Tensor:
        t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=generator))
        roll = torch.stack([t * torch.cos(t), t * torch.sin(t)], 1)
        return s * (roll + noise * torch.randn(n, 2, generator=generator)) / 7.5

    return Dataset("swissroll", (2,), sample, bounds=_square(2.5 * s), source="003 §6")


def two_gaussians(
    real_mean: Sequence[float] = (1.0, 0.0),
    fake_mean: Sequence[float] = (-1.0, 0.0),
    std: float = 0.5,
) -> Dataset:
    """Real ``N(real_mean, std^2 I)`` against a fixed fake ``N(fake_mean, std^2 I)`` in 2-D.

    ``log p_r / p_g (x) = (||x - m_g||^2 - ||x - m_r||^2) / (2 std^2)``, so
    ``D*(x) = sigmoid`` of it (004 Eq. 2). 004 Fig. 1 does not state its means and variance;
    these defaults are this harness's choice.

    Source: 004 Fig. 1, Eq. 2.
    """
    m_r = torch.tensor(list(real_mean), dtype=torch.float32)
    m_g = torch.tensor(list(fake_mean), dtype=torch.float32)
    if m_r.shape != (2,) or m_g.shape != (2,):
        raise ConfigError(f"means {list(real_mean)}, {list(fake_mean)}, but should be 2-D points")
    sd = _positive(std, "std")

    def log_ratio(x: Tensor) -> Tensor:
        mr, mg = m_r.to(x), m_g.to(x)
        return ((x - mg).square().sum(1) - (x - mr).square().sum(1)) / (2 * sd**2)

    return Dataset(
        "two-gaussians", (2,), _mixture_sampler(m_r[None], sd),
        reference=_mixture_sampler(m_g[None], sd), log_ratio=log_ratio,
        bounds=_square(3.0), source="004 Fig. 1",
    )


def gaussian_pair_1d() -> Dataset:
    """Real ``N(0, 1)``; fixed fake ``1/2 N(-1, 1) + 1/2 N(1, 1)``; samples shaped ``(n, 1)``.

    The optimal WGAN critic is ``-|x| + c`` and ``W1 = 0.368746...`` (SPEC §4.5).

    Source: 003 Prop. 2, App. C.3.
    """

    def real(n: int, generator: torch.Generator) -> Tensor:
        return torch.randn(n, 1, generator=generator)

    def fake(n: int, generator: torch.Generator) -> Tensor:
        sign = 2 * torch.randint(2, (n, 1), generator=generator).float() - 1
        return sign + torch.randn(n, 1, generator=generator)

    return Dataset("1d-pair", (1,), real, reference=fake, bounds=(-3.0, 3.0, -3.0, 3.0),
                   source="003 Prop. 2")


def _index_sampler(pool: Tensor) -> Sampler:
    """Uniform draws with replacement from the rows of ``pool``."""

    def sample(n: int, generator: torch.Generator) -> Tensor:
        return pool[torch.randint(pool.shape[0], (n,), generator=generator)]

    return sample


def digits() -> Dataset:
    """``sklearn.datasets.load_digits``: 1797 images ``(1, 8, 8)``, pixels ``v/8 - 1`` in [-1, 1].

    The data ship inside scikit-learn (no download). A small stand-in for the MNIST
    experiments of 004 §6 and 000 §5.1.
    """
    from sklearn.datasets import load_digits

    images = torch.as_tensor(load_digits().images, dtype=torch.float32)  # values 0..16
    pool = (images / 8 - 1)[:, None]
    return Dataset("digits", (1, 8, 8), _index_sampler(pool), kind="images",
                   source="sklearn load_digits (UCI optdigits)")


def from_tensor(data: Tensor | np.ndarray, name: str = "tensor") -> Dataset:
    """The user's own samples ``(N, *event)``, drawn uniformly with replacement.

    ``uint8`` data are mapped to ``[-1, 1]`` by ``v / 127.5 - 1``; a 4-D array is treated
    as images ``(N, C, H, W)``.

    Raises:
      ConfigError: not at least 2-D, empty, or with non-finite values.
    """
    t = torch.as_tensor(np.asarray(data) if not isinstance(data, Tensor) else data)
    if t.dtype == torch.uint8:
        t = t.float() / 127.5 - 1
    t = t.detach().to("cpu", torch.float32)
    if t.ndim < 2 or t.shape[0] == 0:
        raise ConfigError(f"{name}: shape {tuple(t.shape)}, but should be (N, *event) with N >= 1")
    if not bool(torch.isfinite(t).all()):
        raise ConfigError(f"{name}: contains NaN or inf values")
    kind: Kind = "images" if t.ndim == 4 else "points"
    return Dataset(name, tuple(t.shape[1:]), _index_sampler(t.contiguous()), kind=kind,
                   source="user data")


def from_npy(path: str | Path) -> Dataset:
    """A ``.npy`` array ``(N, *event)`` as a data set (see :func:`from_tensor`)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: no such .npy file")
    try:
        arr = np.load(p, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{p}: cannot be read as a .npy array ({exc})") from exc
    return from_tensor(arr, name=p.stem)


_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def from_image_folder(
    path: str | Path, *, size: int | None = None, grayscale: bool | None = None
) -> Dataset:
    """Every image in a folder (``.png``, ``.jpg``, ``.jpeg``, ``.bmp``, ``.gif``) as ``(C, H, W)``.

    Pixels ``v / 127.5 - 1``. ``size`` resizes to ``size x size``; ``grayscale=None`` keeps one
    channel when every image is grayscale and uses RGB otherwise.

    Raises:
      ConfigError: no images, unreadable files, or different sizes without ``size``.
    """
    from PIL import Image

    folder = Path(path)
    files = sorted(f for f in folder.iterdir() if f.suffix.lower() in _IMAGE_SUFFIXES) \
        if folder.is_dir() else []
    if not files:
        raise ConfigError(f"{folder}: no image files ({', '.join(_IMAGE_SUFFIXES)}) found")
    try:
        images = [Image.open(f) for f in files]
    except OSError as exc:
        raise ConfigError(f"{folder}: cannot read an image ({exc})") from exc
    gray = all(im.mode in ("1", "L", "I", "F") for im in images) if grayscale is None else grayscale
    arrays = []
    for raw in images:
        im = raw.convert("L" if gray else "RGB")
        if size is not None:
            im = im.resize((size, size), Image.Resampling.BICUBIC)
        a = np.asarray(im, dtype=np.uint8)
        arrays.append(a[None] if gray else a.transpose(2, 0, 1))
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ConfigError(f"{folder}: images have sizes {sorted(shapes)}; pass size= to resize")
    return from_tensor(np.stack(arrays), name=folder.name)


def pooled(dataset: Dataset, size: int, generator: torch.Generator) -> Dataset:
    """A finite training set: ``size`` samples drawn once, then resampled with replacement.

    The reference distribution (if any) is pooled the same way. 004 Fig. 1 contrasts a small
    and a large such set.
    """
    if int(size) < 1:
        raise ConfigError(f"pool_size={size!r}, but should be >= 1")
    real = _index_sampler(dataset.sample(size, generator))
    ref = None
    if dataset.reference is not None:
        ref = _index_sampler(dataset.sample_reference(size, generator))
    return Dataset(
        f"{dataset.name}[{size}]", dataset.event_shape, real, dataset.kind, ref,
        dataset.centres, dataset.mode_std, dataset.log_ratio, dataset.bounds, dataset.source,
    )


def _positive(x: float, name: str) -> float:
    v = float(x)
    if not (math.isfinite(v) and v > 0):
        raise ConfigError(f"{name}={x!r}, but should be a finite number > 0")
    return v


DATASETS: dict[str, str] = {
    "8gaussians": "eight Gaussians on a circle (003 §6; x10 in 004 §6.2)",
    "25gaussians": "5x5 grid of Gaussians (003 §6)",
    "swissroll": "Swiss roll (003 §6)",
    "two-gaussians": "real vs fixed fake Gaussian, D* known (004 Fig. 1)",
    "1d-pair": "N(0,1) vs fixed 1/2 N(-1,1) + 1/2 N(1,1) (003 Prop. 2)",
    "digits": "sklearn load_digits, 8x8 images",
}
"""Names accepted by :func:`get_dataset`, besides a ``.npy`` file or an image folder path."""


def get_dataset(name: str, *, scale: float = 1.0, image_size: int | None = None,
                mode_std: float | None = None) -> Dataset:
    """A data set by name (:data:`DATASETS`), or from a ``.npy`` file or an image folder path.

    ``scale`` applies to the three toy mixtures; ``mode_std`` (the components' standard
    deviation, instead of one that scales with ``scale``) to the two Gaussian mixtures;
    ``image_size`` to an image folder.

    Raises:
      ConfigError: an unknown name that is not an existing path; ``mode_std`` for a data set
        that is not a Gaussian mixture.
    """
    if mode_std is not None and name not in ("8gaussians", "25gaussians"):
        raise ConfigError(f"mode_std={mode_std!r} with dataset {name!r}, but it applies only to "
                          "8gaussians and 25gaussians")
    if name == "8gaussians":
        return eight_gaussians(scale, mode_std)
    if name == "25gaussians":
        return twenty_five_gaussians(scale, mode_std)
    if name == "swissroll":
        return swiss_roll(scale)
    if name == "two-gaussians":
        return two_gaussians()
    if name == "1d-pair":
        return gaussian_pair_1d()
    if name == "digits":
        return digits()
    p = Path(name)
    if p.suffix == ".npy":
        return from_npy(p)
    if p.is_dir():
        return from_image_folder(p, size=image_size)
    raise ConfigError(
        f"unknown dataset {name!r}: should be one of {', '.join(DATASETS)}, "
        "a .npy file or an image folder"
    )
