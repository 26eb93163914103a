"""Training harness of gp_spec (SPEC §5): data, models, the training loop, metrics, plots.

``train(TrainConfig(...), out_dir)`` runs any objective of :mod:`gp_spec.objectives` with any
penalty of :data:`gp_spec.SPECS` (or weight clipping, or none), with checkpoint/resume, metrics
streamed to ``metrics.jsonl`` and PNG plots; ``python -m gp_spec.harness.cli`` is its command
line. :func:`gp_spec.harness.many.train_many` trains many runs of one shape together.
Plots (and the claims' figures) need matplotlib and the digits metrics scikit-learn (the
``harness`` extra); both are imported only where they are used, so ``gp-spec train --help`` and
a run with ``plots_at_end=False`` on a toy data set need neither.
"""

from __future__ import annotations

from gp_spec.harness.config import PRESETS, Preset, TrainConfig, get_preset
from gp_spec.harness.data import DATASETS, Dataset, get_dataset
from gp_spec.harness.errors import CheckpointError, ConfigError
from gp_spec.harness.train import TrainResult, train

__all__ = [
    "DATASETS",
    "PRESETS",
    "CheckpointError",
    "ConfigError",
    "Dataset",
    "Preset",
    "TrainConfig",
    "TrainResult",
    "get_dataset",
    "get_preset",
    "train",
]
