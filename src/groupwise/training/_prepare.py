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

from groupwise.estimators._zoo import available_candidates, size_aware_params
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
    #: what inner cross-fitting (ensembles, calibration) splits on: group labels
    #: (grouped plans), time values (time plans), else None
    keys: np.ndarray | None = None

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
    #: "group", "time" or "row": what :attr:`Rows.keys` are (see groupwise.estimators._crossfit)
    split: str = "row"
    #: one key per row of the table (see :attr:`Rows.keys`)
    keys: np.ndarray | None = None

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
        groups = self.table.group_values(positions)
        keys = None if self.keys is None else self.keys[positions]
        return Rows(positions, X, self.table.y[positions], groups, keys)

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
    # size-aware defaults (forests on large tables) are the recipe's own parameters, so the
    # run records them and tuning starts from them
    recipes = {n: Recipe(n, task, kinds, seed, params=size_aware_params(n, table.n)) for n in names}
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
    _check_task_options(config, table)
    metric, reason = _primary_metric(config, table)
    recipes = _recipes(config, table, dict(candidates or {}))
    if config.accept:
        from groupwise.audit import CHECKS, check_acceptances

        check_acceptances(config.accept, table, allowed=CHECKS)
    if table.n < 10:
        raise DataError(f"Only {table.n} rows with a target; training needs at least 10.")
    split, keys = _split_keys(table)
    recipes = _rebalanced(recipes, config, table)
    return Prepared(table, metric, reason, recipes, dataset_path, split, keys)


def _check_task_options(config: TrainConfig, table: ResolvedTable) -> None:
    """Options that need a classification (or binary) target, refused early with a reason."""
    asked = []
    if table.task != "classification":
        if config.class_weight == "balanced":
            asked.append(("class_weight", config.class_weight, "class weights"))
        if config.resample != "none":
            asked.append(("resample", config.resample, "resampling"))
    if config.calibrate in ("sigmoid", "isotonic") and table.n_classes != 2:
        asked.append(("calibrate", config.calibrate, "calibration"))
    for name, value, what in asked:
        target = "a binary target" if name == "calibrate" else "a classification target"
        got = "regression" if table.task != "classification" else f"{table.n_classes} classes"
        raise ConfigError(
            f"{what.capitalize()} ({name}={value!r}) needs {target}; the target {table.target!r} "
            f"is {got}. Leave {name} at its default for this table.",
            parameter=name,
            value=value,
        )


def _split_keys(table: ResolvedTable) -> tuple[str, np.ndarray | None]:
    from groupwise.model_selection import plan_kind
    from groupwise.model_selection._plan import time_values

    kind = plan_kind(table)
    if kind == "time":
        return "time", time_values(table)
    if kind == "grouped":
        return "group", table.group_values()
    return "row", None


def minority_share(table: ResolvedTable) -> float | None:
    """Share of the smallest class among rows with a target (classification)."""
    if table.task != "classification":
        return None
    return float(np.bincount(table.y, minlength=table.n_classes).min() / table.n)


def rebalancing(config: TrainConfig, table: ResolvedTable) -> tuple[str | None, str] | None:
    """The (class_weight, resample) every candidate but the dummy is fitted with, or None."""
    if table.task != "classification":
        return None
    share = minority_share(table)
    weight = config.class_weight
    if weight == "auto":
        from groupwise.estimators._imbalance import MINORITY_CUT

        weight = "balanced" if share < MINORITY_CUT else "none"
    if weight == "none" and config.resample == "none":
        return None
    return (None if weight == "none" else "balanced", config.resample)


def _rebalanced(recipes, config: TrainConfig, table: ResolvedTable) -> dict[str, Recipe]:
    how = rebalancing(config, table)
    if how is None:
        return dict(recipes)
    return {
        k: r if k == "dummy" else dataclasses.replace(r, rebalance=how) for k, r in recipes.items()
    }
