"""groupwise: honest, ship-ready models for grouped and temporal tabular data.

The public API is imported lazily so that ``import groupwise`` stays fast and
pulls in neither scikit-learn nor any UI or optional library until it is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from groupwise._version import __version__

_API = {
    "AuditReport": "groupwise.audit",
    "Run": "groupwise.runs",
    "TableSpec": "groupwise.spec",
    "TrainConfig": "groupwise.training",
    "audit": "groupwise.audit",
    "load_run": "groupwise.runs",
    "train": "groupwise.training",
    "DatasetConfig": "groupwise.datasets",
    "generate_dataset": "groupwise.datasets",
    "GroupwiseError": "groupwise.exceptions",
    "GroupwiseWarning": "groupwise.exceptions",
}

__all__ = ["__version__", *sorted(_API)]


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'groupwise' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from groupwise.audit import AuditReport, audit  # noqa: F401
    from groupwise.datasets import DatasetConfig, generate_dataset  # noqa: F401
    from groupwise.exceptions import GroupwiseError, GroupwiseWarning  # noqa: F401
    from groupwise.runs import Run, load_run  # noqa: F401
    from groupwise.spec import TableSpec  # noqa: F401
    from groupwise.training import TrainConfig, train  # noqa: F401
