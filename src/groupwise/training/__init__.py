"""``train()``: honest split planning, baselines, comparison, tuning, holdout, finalize."""

from groupwise.training._config import TrainConfig
from groupwise.training._train import AuditFailed, train

__all__ = ["AuditFailed", "TrainConfig", "train"]
