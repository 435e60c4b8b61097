"""``train()``: honest split planning, baselines, comparison, tuning, holdout, finalize.

``train`` and ``AuditFailed`` are imported on first use, so that reading the options
(:class:`TrainConfig`) does not load the training stack (every command line start does).
"""

from groupwise.training._config import TrainConfig

__all__ = ["AuditFailed", "TrainConfig", "train"]


def __getattr__(name: str):
    if name in ("AuditFailed", "train"):
        from groupwise.training import _train

        return getattr(_train, name)
    raise AttributeError(f"module 'groupwise.training' has no attribute {name!r}")
