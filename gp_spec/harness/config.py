"""Training configuration: one typed, frozen dataclass and a table of paper presets.

``TrainConfig`` holds everything that determines a run's numbers; where a run writes (its
directory) and whether it resumes are arguments of :func:`gp_spec.harness.train.train`.
``PRESETS`` maps a name to a :class:`Preset` (the config and the paper section it follows).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from gp_spec.harness.errors import ConfigError

__all__ = [
    "PRESETS",
    "RESUMABLE_CHANGES",
    "Architecture",
    "OptimizerName",
    "Preset",
    "TrainConfig",
    "get_preset",
]

OptimizerName = Literal["adam", "rmsprop", "sgd"]
Architecture = Literal["mlp", "dcgan", "resnet"]
PenaltyOn = Literal["score", "probability"]

_OPTIMIZERS = ("adam", "rmsprop", "sgd")
_ARCHITECTURES = ("mlp", "dcgan", "resnet")


@dataclass(frozen=True)
class TrainConfig:
    """A GAN training run (SPEC §5).

    Attributes:
      dataset: a name of :data:`gp_spec.harness.data.DATASETS`, a ``.npy`` path or an image folder.
      scale: multiplies the toy mixtures (004 §6.2 uses 10 for 8 Gaussians).
      mode_std: the Gaussian mixtures' component std; None scales it with ``scale`` (as
        ``gan_toy.py``); 004's released code keeps 0.02 / 1.414 = 0.014 at any scale.
      pool_size: if set, train on a finite set of this many samples (004 Fig. 1).
      image_size: resize an image folder to this side.
      objective: ``wasserstein``, ``minimax``, ``non_saturating``, ``hinge``, ``least_squares``
        or ``lipschitz:<phi>`` with ``<phi>`` in :data:`gp_spec.objectives.EQ12_INSTANCES`.
      penalty: a name of :data:`gp_spec.SPECS`, ``"clip"`` (weight clipping) or ``"none"``.
      weight: penalty weight; None means the spec's default weight.
      penalty_on: ``"score"`` penalises the gradient of the critic's output ``f``;
        ``"probability"`` that of ``D = sigmoid(f)`` (004 Eq. 6-7 write the penalty on the
        discriminator D, whose optimum is a probability, Eq. 2, and its authors' code puts
        the sigmoid inside D). Only with the ``minimax`` and ``non_saturating`` objectives.
      clip: the bound ``c`` of weight clipping (``penalty="clip"``; 0.01 in WGAN).
      critic_only: train only the critic against the data set's fixed reference distribution
        (003 Prop. 2, 004 Fig. 1); ``steps`` then counts outer iterations.
      architecture: ``mlp``, ``dcgan`` or ``resnet`` (the last two for images).
      critic_hidden, generator_hidden: MLP hidden widths.
      negative_slope: LeakyReLU slope of the MLPs.
      width: base channel count of the image models.
      latent_dim: generator input dimension (2 in 003 §6).
      steps: total generator steps (outer iterations).
      batch_size: global batch (split evenly across DDP ranks).
      critic_steps: critic updates per generator step.
      warmup_critic_steps, warmup_generator_steps: use ``warmup_critic_steps`` critic updates
        for each of the first ``warmup_generator_steps`` generator steps (003 §6: 100 for 25).
      optimizer: ``adam``, ``rmsprop`` or ``sgd`` (both networks).
      lr_critic, lr_generator: learning rates (different values = TTUR, Heusel et al. 2017).
      betas: Adam's ``(beta1, beta2)``. momentum: SGD/RMSprop momentum.
      seed: seeds model initialisation and every random stream of the run.
      device: ``auto`` (cuda if available, else cpu), ``cpu``, ``cuda``, ``cuda:1``, ...
      amp: bf16 autocast of the forward passes (cuda only).
      log_every: write a metrics line every this many generator steps.
      checkpoint_every: write a checkpoint every this many generator steps (and at the end).
      plot_every: write plots every this many generator steps (0: only at the end).
      eval_samples: samples per metric evaluation (500 for the assignment W1 of 003 §6).
    """

    dataset: str = "8gaussians"
    scale: float = 1.0
    mode_std: float | None = None
    pool_size: int | None = None
    image_size: int | None = None
    objective: str = "wasserstein"
    penalty: str = "wgan-lp"
    weight: float | None = None
    penalty_on: PenaltyOn = "score"
    clip: float = 0.01
    critic_only: bool = False
    architecture: Architecture = "mlp"
    critic_hidden: tuple[int, ...] = (512, 512, 512)
    generator_hidden: tuple[int, ...] = (512, 512, 512)
    negative_slope: float = 0.2
    width: int = 64
    latent_dim: int = 2
    steps: int = 1000
    batch_size: int = 256
    critic_steps: int = 5
    warmup_critic_steps: int = 100
    warmup_generator_steps: int = 0
    optimizer: OptimizerName = "adam"
    lr_critic: float = 1e-4
    lr_generator: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.9)
    momentum: float = 0.0
    seed: int = 0
    device: str = "auto"
    amp: bool = False
    log_every: int = 10
    checkpoint_every: int = 100
    plot_every: int = 0
    eval_samples: int = 500

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "critic_steps", "latent_dim", "width",
                     "log_every", "checkpoint_every", "eval_samples"):
            _require(int(getattr(self, name)) >= 1 and _is_int(getattr(self, name)),
                     f"{name}={getattr(self, name)!r}, but should be an integer >= 1")
        for name in ("warmup_critic_steps", "warmup_generator_steps", "plot_every", "seed"):
            _require(_is_int(getattr(self, name)) and int(getattr(self, name)) >= 0,
                     f"{name}={getattr(self, name)!r}, but should be an integer >= 0")
        for name in ("lr_critic", "lr_generator", "scale", "clip"):
            value = getattr(self, name)
            _require(isinstance(value, (int, float)) and math.isfinite(value) and value > 0,
                     f"{name}={value!r}, but should be a finite number > 0")
        _require(self.weight is None or (math.isfinite(self.weight) and self.weight >= 0),
                 f"weight={self.weight!r}, but should be a finite number >= 0")
        _require(self.optimizer in _OPTIMIZERS,
                 f"optimizer={self.optimizer!r}, but should be one of {', '.join(_OPTIMIZERS)}")
        _require(self.architecture in _ARCHITECTURES,
                 f"architecture={self.architecture!r}, but should be one of "
                 f"{', '.join(_ARCHITECTURES)}")
        _require(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas),
                 f"betas={self.betas!r}, but should be two numbers in [0, 1)")
        _require(self.penalty_on in ("score", "probability"),
                 f"penalty_on={self.penalty_on!r}, but should be 'score' or 'probability'")
        _require(self.penalty_on == "score" or self.objective in ("minimax", "non_saturating"),
                 f"penalty_on='probability' with objective={self.objective!r}, but it needs "
                 "a discriminator D = sigmoid(f): objective minimax or non_saturating")
        _require(self.momentum >= 0, f"momentum={self.momentum!r}, but should be >= 0")
        _require(self.mode_std is None or (isinstance(self.mode_std, (int, float))
                                           and math.isfinite(self.mode_std)
                                           and self.mode_std > 0),
                 f"mode_std={self.mode_std!r}, but should be None or a finite number > 0")
        _require(self.pool_size is None or self.pool_size >= 1,
                 f"pool_size={self.pool_size!r}, but should be None or >= 1")

    def critic_steps_at(self, generator_step: int) -> int:
        """Critic updates before generator step ``generator_step`` (0-based).

        ``warmup_critic_steps`` for the first ``warmup_generator_steps`` steps, then
        ``critic_steps`` (003 §6: 100 for the first 25, then 10).
        """
        if generator_step < self.warmup_generator_steps:
            return self.warmup_critic_steps
        return self.critic_steps

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`ConfigError`."""
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ConfigError(f"unknown config keys {unknown}; known: {', '.join(names)}")
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                  for k, v in data.items()}
        return cls(**kwargs)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (validated); unknown names raise ConfigError."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(f"unknown config fields {unknown}; known: {', '.join(sorted(known))}")
        return dataclasses.replace(self, **changes)


RESUMABLE_CHANGES: frozenset[str] = frozenset(
    {"steps", "device", "log_every", "checkpoint_every", "plot_every"}
)
"""Fields a resumed run may change; any other difference from the saved config is refused."""


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


@dataclass(frozen=True)
class Preset:
    """A named configuration from a paper: ``config`` plus where it comes from.

    Attributes:
      name: registry key. source: paper section. note: deviations and choices made here.
      config: the settings (a dataset is part of it, but may be overridden).
    """

    name: str
    source: str
    note: str
    config: TrainConfig = field(default_factory=TrainConfig)


_TOY_003 = TrainConfig(
    dataset="8gaussians", objective="wasserstein", penalty="wgan-lp", weight=5.0,
    critic_hidden=(512, 512, 512), generator_hidden=(512, 512, 512), latent_dim=2,
    batch_size=256, critic_steps=10, warmup_critic_steps=100, warmup_generator_steps=25,
    optimizer="rmsprop", lr_critic=5e-5, lr_generator=5e-5, steps=1000, eval_samples=500,
)

_THANH_TUNG_8G = TrainConfig(
    dataset="8gaussians", scale=5.0, objective="non_saturating", penalty="gan-0gp",
    weight=10.0, penalty_on="probability", critic_hidden=(512, 512),
    generator_hidden=(512, 512), negative_slope=0.0, critic_steps=1, warmup_critic_steps=0,
    optimizer="sgd", lr_critic=3e-3, lr_generator=3e-3, steps=10_000, batch_size=128,
    log_every=100)
"""004 §6.2 on 8 Gaussians x10 (the ``thanh-tung2019-8g`` presets; TTUR changes two fields)."""

_PRESETS: tuple[Preset, ...] = (
    Preset("petzka2018-lp", "003 §6 (C1, C2)",
           "LeakyReLU slope 0.2 is this harness's choice (003 does not state it)", _TOY_003),
    Preset("petzka2018-gp", "003 §6 (C1, C2)", "as petzka2018-lp with the two-sided penalty",
           dataclasses.replace(_TOY_003, penalty="wgan-gp")),
    Preset("petzka2018-prop2", "003 Prop. 2 (C3)",
           "critic-only against the fixed mixture; the 2x128 critic and Adam 1e-4 are this "
           "harness's choice, to approach the optimum quickly",
           dataclasses.replace(_TOY_003, dataset="1d-pair", critic_only=True, weight=10.0,
                               critic_hidden=(128, 128), critic_steps=1,
                               warmup_generator_steps=0, optimizer="adam", lr_critic=1e-4,
                               steps=3000, log_every=50)),
    Preset("thanh-tung2019-fig1", "004 Fig. 1 (C4 runs its own loop: gp_spec.harness.claims)",
           "2x64 MLP discriminator alone on a finite set, lambda = 1 on D = sigmoid(f); "
           "C4 follows the authors' released code (tanh, Adam 1e-3, batch 20, 100 samples "
           "of two overlapping Gaussians with full covariances), which this harness data set "
           "does not express; this preset is the nearest harness run",
           TrainConfig(dataset="two-gaussians", critic_only=True, objective="minimax",
                       penalty="gan-0gp", weight=1.0, penalty_on="probability",
                       critic_hidden=(64, 64), critic_steps=1, warmup_critic_steps=0,
                       optimizer="adam", lr_critic=1e-3, betas=(0.9, 0.999), pool_size=100,
                       steps=50_000, batch_size=20, log_every=1000)),
    Preset("thanh-tung2019-8g", "004 §6.2, Fig. 2, App. E.1 (C5)",
           "8 Gaussians x10, 2x512 MLPs, SGD lr 0.003, one D step per G step, lambda = 10 on "
           "D = sigmoid(f); from the authors' released code (not in 004): centres on a circle "
           "of radius 10 / 1.414 = 7.07 (harness scale 5: this data set's unscaled radius is "
           "2 / 1.414), ReLU, batch 128, the generator's hidden sizes equal to the "
           "discriminator's, latent size 2",
           _THANH_TUNG_8G),
    Preset("thanh-tung2019-8g-ttur", "004 Fig. 2 (f, g), App. E.1",
           "as thanh-tung2019-8g with TTUR: lr 0.009 for D, 0.003 for G",
           _THANH_TUNG_8G.replace(lr_critic=9e-3, steps=20_000)),
    Preset("kim2018-sgp", "000 §5.1 (C6); Gulrajani et al.'s gan_toy.py",
           "simple GP on mu_GP (choose the measure with --penalty sgp-*); 3x512 ReLU-like "
           "LeakyReLU MLPs, Adam(0.5, 0.9) 1e-4, 5 critic steps, batch 256 as in gan_toy.py; "
           "weight = rho/2 = 0.05 (gan_toy.py's lambda 0.1 read as rho)",
           TrainConfig(dataset="8gaussians", objective="wasserstein", penalty="sgp-interpolate",
                       weight=0.05, critic_steps=5, warmup_critic_steps=0, optimizer="adam",
                       lr_critic=1e-4, lr_generator=1e-4, steps=30_000, log_every=100)),
    Preset("gulrajani2017-digits", "Gulrajani et al. 2017 (MNIST setting), on 8x8 digits",
           "not a paper experiment: a small image analogue (DCGAN nets, WGAN-GP lambda 10, "
           "Adam(0.5, 0.9) 1e-4, 5 critic steps) that runs on a CPU",
           TrainConfig(dataset="digits", architecture="dcgan", width=32, latent_dim=32,
                       objective="wasserstein", penalty="wgan-gp", weight=10.0, critic_steps=5,
                       warmup_critic_steps=0, batch_size=64, optimizer="adam",
                       lr_critic=1e-4, lr_generator=1e-4, steps=2000, log_every=50)),
)

PRESETS: Mapping[str, Preset] = MappingProxyType({p.name: p for p in _PRESETS})
"""Paper configurations by name (read-only)."""


def get_preset(name: str) -> Preset:
    """``PRESETS[name]`` or :class:`ConfigError` listing the known names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}") from None
