"""Stage 1: the table resolved once, the primary metric, and the candidate recipes.

Everything that can be checked before work starts is checked here: the column roles,
the metric, the candidate names (installed or not), custom candidates and the
hierarchy of the partial-pooling candidate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from groupwise.estimators._zoo import available_candidates
from groupwise.evaluation._metrics import (
    CLASSIFICATION_METRICS,
    GREATER_IS_BETTER,
    REGRESSION_METRICS,
    default_primary_metric,
)
from groupwise.exceptions import ConfigError, DataError
from groupwise.model_selection import SplitPlan
from groupwise.spec import ResolvedTable, TableSpec
from groupwise.training._config import TrainConfig
from groupwise.training._cv import Recipe

__all__ = ["BASELINES", "Prepared", "Rows", "prepare"]

#: Candidates that always run: the floor every model must beat.
BASELINES = ("dummy", "linear")


@dataclasses.dataclass(frozen=True)
class Rows:
    """A part of the table (development or holdout rows) in model terms."""

    positions: np.ndarray
    X: pd.DataFrame
    y: np.ndarray
    groups: np.ndarray | None

    @property
    def n(self) -> int:
        return len(self.y)


@dataclasses.dataclass(frozen=True)
class Prepared:
    """The resolved table, the primary metric and the recipes of every candidate."""

    table: ResolvedTable
    metric: str
    metric_reason: str
    recipes: Mapping[str, Recipe]
    dataset_path: str | None = None

    @property
    def task(self) -> str:
        return self.table.task

    @property
    def greater(self) -> bool:
        return GREATER_IS_BETTER[self.metric]

    @property
    def n_classes(self) -> int:
        return self.table.n_classes

    @property
    def pos(self) -> int:
        """Code of the positive class (0 when the target is not binary)."""
        return self.table.pos or 0

    def rows(self, positions: np.ndarray) -> Rows:
        """The rows at ``positions`` of the table: features, target, group values."""
        X = self.table.X.iloc[positions].reset_index(drop=True)
        return Rows(positions, X, self.table.y[positions], self.table.group_values(positions))

    def dev(self, plan: SplitPlan) -> Rows:
        return self.rows(plan.dev)

    def holdout(self, plan: SplitPlan) -> Rows:
        return self.rows(plan.holdout)


def _primary_metric(config: TrainConfig, table: ResolvedTable) -> tuple[str, str]:
    allowed = CLASSIFICATION_METRICS if table.task == "classification" else REGRESSION_METRICS
    if config.metric is None:
        return default_primary_metric(table.task, table.n_classes, table.positive_rate())
    if config.metric not in allowed:
        raise ConfigError(
            f"The metric {config.metric!r} does not apply to {table.task}; choose one of "
            f"{', '.join(allowed)}.",
            parameter="metric",
            value=config.metric,
        )
    return config.metric, "given"


def _recipes(
    config: TrainConfig, table: ResolvedTable, custom: Mapping[str, Any]
) -> dict[str, Recipe]:
    names = list(dict.fromkeys([*BASELINES, *available_candidates(config.models)]))
    kinds, seed, task = table.kinds, config.seed, table.task
    recipes = {n: Recipe(n, task, kinds, seed) for n in names}
    if config.hierarchy:
        from groupwise.estimators import PartialPoolingRegressor

        missing = [c for c in config.hierarchy if c not in table.features]
        if missing:
            raise ConfigError(
                "The hierarchy columns must be feature columns of the table; not features: "
                f"{', '.join(missing)}.",
                parameter="hierarchy",
                value=list(config.hierarchy),
            )
        est = PartialPoolingRegressor(hierarchy=list(config.hierarchy), unknown="global")
        recipes["partial_pooling"] = Recipe("partial_pooling", task, kinds, seed, template=est)
    for label, est in custom.items():
        if label in recipes:
            raise ConfigError(
                f"Custom candidate name {label!r} clashes with a built-in model; rename it."
            )
        if task == "classification" and not hasattr(est, "predict_proba"):
            raise ConfigError(
                f"Custom candidate {label!r} has no predict_proba; every classifier must give probabilities."
            )
        recipes[label] = Recipe(label, task, kinds, seed, template=est)
    return recipes


def prepare(
    df: pd.DataFrame,
    spec: TableSpec,
    config: TrainConfig,
    *,
    candidates: Mapping[str, Any] | None = None,
    dataset_path: str | None = None,
) -> Prepared:
    """Resolve the table once and check every option that does not need the data's fit."""
    table = spec.resolve(df)
    if config.hierarchy and table.task != "regression":
        raise ConfigError(
            "The hierarchy adds the partial-pooling candidate, which is for regression targets.",
            parameter="hierarchy",
            value=list(config.hierarchy),
        )
    metric, reason = _primary_metric(config, table)
    recipes = _recipes(config, table, dict(candidates or {}))
    if config.accept:
        from groupwise.audit import CHECKS, check_acceptances

        check_acceptances(config.accept, table, allowed=CHECKS)
    if table.n < 10:
        raise DataError(f"Only {table.n} rows with a target; training needs at least 10.")
    return Prepared(table, metric, reason, recipes, dataset_path)
