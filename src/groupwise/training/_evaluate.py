"""Stages 5–8: the operating threshold, the one use of the holdout, naive vs grouped CV,
and the learning curve. Each is a function from earlier stage results to a frozen one."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from groupwise._parallel import Executor
from groupwise.estimators._output import predict_output
from groupwise.evaluation._bootstrap import bootstrap_ci, paired_bootstrap_difference
from groupwise.evaluation._calibration import calibration_table, expected_calibration_error
from groupwise.evaluation._gap import naive_vs_grouped_gap
from groupwise.evaluation._learning import learning_curve_plan, learning_curve_table
from groupwise.evaluation._metrics import MetricSet, metric_names
from groupwise.evaluation._slices import error_slices
from groupwise.evaluation._threshold import ThresholdChoice, choose_threshold
from groupwise.model_selection import SplitPlan, naive_folds
from groupwise.training._config import TrainConfig
from groupwise.training._cv import fit_recipe, run_cv
from groupwise.training._prepare import BASELINES, Prepared
from groupwise.training._select import Comparison, Selection, pooled_scores

__all__ = [
    "HoldoutResult",
    "OperatingPoint",
    "choose_operating_point",
    "evaluate_holdout",
    "learning_curve",
    "naive_vs_grouped",
]


@dataclasses.dataclass(frozen=True)
class OperatingPoint:
    """The decision threshold (binary) and the calibration, from out-of-fold predictions."""

    threshold: ThresholdChoice | None
    calibration: dict[str, Any] | None

    @property
    def value(self) -> float:
        """The threshold to apply (0.5 when none applies)."""
        return self.threshold.threshold if self.threshold is not None else 0.5

    def metricset(self, prep: Prepared, y, out) -> MetricSet:
        """Metrics of ``out`` at the shipped threshold."""
        return MetricSet.from_output(prep.task, y, out, pos=prep.pos, threshold=self.value)


@dataclasses.dataclass(frozen=True)
class HoldoutResult:
    """The development-fit model scored once on the holdout."""

    metrics: dict[str, dict[str, float]]
    unit: str
    groups: int | None
    y: np.ndarray
    out: np.ndarray
    baselines: dict[str, dict[str, Any]]
    improvement: dict[str, Any] | None
    confusion: np.ndarray | None
    slices: pd.DataFrame
    importance: pd.DataFrame | None


def choose_operating_point(
    prep: Prepared, plan: SplitPlan, selection: Selection, config: TrainConfig
) -> OperatingPoint:
    """Threshold (binary) and calibration on the selected model's out-of-fold predictions."""
    if prep.task != "classification":
        return OperatingPoint(None, None)
    res = selection.result
    tested = res.fold_of_row >= 0
    proba = res.oof[tested]
    y = prep.dev(plan).y[tested]
    threshold = None
    if prep.n_classes == 2:
        score = proba[:, prep.pos]
        threshold = choose_threshold(score, y == prep.pos, config.threshold)
        prob, outcome = score, (y == prep.pos).astype(float)
    else:
        prob, outcome = proba.max(axis=1), (proba.argmax(axis=1) == y).astype(float)
    ms = MetricSet("classification", y, proba=proba, pos=prep.pos)
    calibration = {
        "kind": "positive class" if prep.n_classes == 2 else "top label",
        "ece": expected_calibration_error(prob, outcome),
        "brier": ms.point(["brier"])["brier"],
        "table": calibration_table(prob, outcome),
    }
    return OperatingPoint(threshold, calibration)


def evaluate_holdout(
    prep: Prepared,
    plan: SplitPlan,
    comparison: Comparison,
    selection: Selection,
    point: OperatingPoint,
    config: TrainConfig,
    *,
    executor: Executor,
    progress,
    emit: Callable[[str, Any], None],
) -> HoldoutResult:
    """The one and only use of the holdout rows: the selected pipeline and the baselines,
    fitted on the development rows, with bootstrap intervals over holdout groups (or rows)."""
    task, K = prep.task, prep.n_classes
    threads = executor.threads
    with progress.stage("Holdout evaluation", total=4) as bar:
        dev, hold = prep.dev(plan), prep.holdout(plan)
        model = fit_recipe(selection.recipe, dev.X, dev.y, threads)
        out = predict_output(model, hold.X, task, K)
        ms = point.metricset(prep, hold.y, out)
        bar.advance()
        metrics = bootstrap_ci(
            ms,
            metric_names(task),
            groups=hold.groups,
            n_resamples=config.bootstrap,
            seed=config.seed,
        )
        bar.advance()
        baselines, dummy_out = {}, None
        for name in BASELINES:
            if name not in comparison.results:
                continue
            est = fit_recipe(comparison.results[name].recipe, dev.X, dev.y, threads)
            base_out = predict_output(est, hold.X, task, K)
            if name == "dummy":
                dummy_out = base_out
            baselines[name] = {
                "cv": pooled_scores(prep, dev, comparison.results[name]),
                "holdout": point.metricset(prep, hold.y, base_out).point(),
            }
        improvement = None
        if dummy_out is not None and selection.selected != "dummy":
            improvement = paired_bootstrap_difference(
                ms, point.metricset(prep, hold.y, dummy_out), prep.metric, groups=hold.groups,
                n_resamples=config.bootstrap, seed=config.seed,
            )  # fmt: skip
            improvement["on"] = "holdout (selected − dummy, same resamples)"
        confusion = None
        if task == "classification":
            confusion = pd.crosstab(
                pd.Categorical(hold.y, categories=range(K)),
                pd.Categorical(ms.pred, categories=range(K)),
                dropna=False,
            ).to_numpy()
        table = prep.table
        slice_cols = ([table.group_col] if table.group_col else []) + list(table.kinds.categorical)[
            :10
        ]
        frame_hold = table.frame.iloc[plan.holdout].reset_index(drop=True)
        slices = error_slices(
            frame_hold, slice_cols, task=task, y=hold.y,
            proba=out if task == "classification" else None,
            pred=out if task == "regression" else None,
            threshold=point.value, pos=prep.pos, primary=prep.metric,
        ) if slice_cols else pd.DataFrame()  # fmt: skip
        bar.advance()
        importance = None
        if config.permutation_repeats > 0:
            from threadpoolctl import threadpool_limits

            from groupwise.explain import permutation_importance_table

            with threadpool_limits(threads):
                importance = permutation_importance_table(
                    model, hold.X, hold.y, task=task, metric=prep.metric, n_classes=K,
                    pos=prep.pos, n_repeats=config.permutation_repeats, seed=config.seed,
                )  # fmt: skip
        bar.advance()
    n_groups = None if hold.groups is None else int(pd.unique(hold.groups).size)
    result = HoldoutResult(
        metrics=metrics, unit="group" if hold.groups is not None else "row", groups=n_groups,
        y=hold.y, out=out, baselines=baselines, improvement=improvement, confusion=confusion,
        slices=slices, importance=importance,
    )  # fmt: skip
    emit("holdout", {"metrics": metrics, "unit": result.unit, "groups": n_groups})
    return result


def naive_vs_grouped(
    prep: Prepared,
    plan: SplitPlan,
    selection: Selection,
    point: OperatingPoint,
    config: TrainConfig,
    *,
    executor: Executor,
    progress,
) -> dict[str, Any] | None:
    """Row-level CV of the selected pipeline next to the grouped CV (grouped plans only)."""
    if plan.kind != "grouped" or not config.naive_cv:
        return None
    dev = prep.dev(plan)
    folds = naive_folds(dev.y, prep.task, config.folds, config.seed)
    with progress.stage("Naive (row-level) CV", total=len(folds)) as bar:
        naive = run_cv(
            {selection.selected: selection.recipe}, dev.X, dev.y, folds, task=prep.task,
            n_classes=prep.n_classes, pos=prep.pos, executor=executor, train_score=False,
            progress=bar,
        )[selection.selected]  # fmt: skip
    grouped = selection.result
    both = (grouped.fold_of_row >= 0) & (naive.fold_of_row >= 0)
    naive_cv = (
        f"{'StratifiedKFold' if prep.task == 'classification' else 'KFold'}, {len(folds)} folds, "
        "rows shuffled (groups ignored)"
    )
    return naive_vs_grouped_gap(
        task=prep.task, metric=prep.metric, y=dev.y[both], naive=naive.oof[both],
        grouped=grouped.oof[both], groups=dev.groups[both], pos=prep.pos, threshold=point.value,
        n_resamples=config.bootstrap, seed=config.seed, naive_cv=naive_cv,
        grouped_cv=plan.cv_strategy,
    )  # fmt: skip


def _learning_point(task_args, threads):
    recipe, X, y, task, n_classes, pos, threshold, metric, (fold, frac, sub, te) = task_args
    model = fit_recipe(recipe, X.iloc[sub], y[sub], threads)

    def score(rows):
        out = predict_output(model, X.iloc[rows], task, n_classes)
        ms = MetricSet.from_output(task, y[rows], out, pos=pos, threshold=threshold)
        return ms.point([metric])[metric]

    rows = sub if len(sub) <= 5000 else np.random.default_rng(fold).choice(sub, 5000, replace=False)
    return {
        "fold": fold,
        "fraction": frac,
        "train_rows": len(sub),
        f"test_{metric}": score(te),
        f"train_{metric}": score(rows),
    }


def learning_curve(
    prep: Prepared,
    plan: SplitPlan,
    selection: Selection,
    point: OperatingPoint,
    config: TrainConfig,
    *,
    executor: Executor,
    progress,
) -> pd.DataFrame | None:
    """The selected pipeline refitted on shares of each training fold."""
    if not config.learning_curve:
        return None
    dev = prep.dev(plan)
    fits = learning_curve_plan(
        plan.folds, dev.y, task=prep.task, kind=plan.kind,
        groups=dev.groups if plan.kind == "grouped" else None, seed=config.seed,
    )  # fmt: skip
    if not fits:
        return None
    shared = (
        selection.recipe, dev.X, dev.y, prep.task, prep.n_classes, prep.pos, point.value, prep.metric,
    )  # fmt: skip
    with progress.stage("Learning curve", total=len(fits)) as bar:
        points = executor.map(
            _learning_point, [(*shared, f) for f in fits], on_done=lambda i, r: bar.advance()
        )
    return learning_curve_table(points, selection.result.folds, prep.metric)
