"""Training harness of gp_spec (SPEC §5): data, models, the training loop, metrics, plots.

``train(TrainConfig(...), out_dir)`` runs any objective of :mod:`gp_spec.objectives` with any
penalty of :data:`gp_spec.SPECS` (or weight clipping, or none), with checkpoint/resume, metrics
streamed to ``metrics.jsonl`` and PNG plots; ``python -m gp_spec.harness.cli`` is its command
line. Needs the ``harness`` extra (matplotlib, scikit-learn).
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
