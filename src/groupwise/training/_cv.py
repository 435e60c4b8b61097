"""Cross-validation of candidate pipelines on identical folds, in parallel."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from groupwise._parallel import Executor, LocalExecutor, limit_fitted_threads, limit_threads
from groupwise.estimators._output import predict_output
from groupwise.estimators._zoo import build_candidate
from groupwise.evaluation._metrics import MetricSet, metric_names
from groupwise.spec import ColumnKinds

__all__ = [
    "CVResult",
    "Recipe",
    "assemble",
    "fit_and_score",
    "fit_estimator",
    "fit_recipe",
    "rebalance",
    "oof_metricset",
    "run_cv",
    "with_threshold",
]

#: Rows of the training fold scored for the train-vs-CV (overfitting) check.
TRAIN_SCORE_ROWS = 2000
#: Rough relative fit cost of the built-in candidates (for scheduling only).
_COST = {
    "random_forest": 10.0,
    "extra_trees": 4.0,
    "lightgbm": 2.0,
    "xgboost": 2.0,
    "hist_gb": 1.5,
    "linear": 0.5,
    "dummy": 0.1,
}


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How to build a fresh pipeline: a named candidate with parameters, or a template."""

    name: str
    task: str
    kinds: ColumnKinds
    seed: int
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    template: Any = None  # an unfitted estimator supplied by the user, or an ensemble
    #: (class_weight, resample) applied inside every fit (see groupwise.estimators._imbalance)
    rebalance: tuple[str | None, str] | None = None

    def build(self):
        if self.template is not None:
            from sklearn.base import clone

            est = clone(self.template)
            if self.params:
                est.set_params(**self.params)
        else:
            est = build_candidate(self.name, self.task, self.kinds, self.seed, self.params)
        return rebalance(est, self.rebalance, self.seed) if self.rebalance else est

    @property
    def takes_keys(self) -> bool:
        """Whether the estimator's ``fit`` takes the rows' group (or time) keys."""
        from sklearn.utils.validation import has_fit_parameter

        return self.template is not None and has_fit_parameter(self.template, "groups")


def rebalance(est, how: tuple[str | None, str], seed: int):
    """``est`` with its final step wrapped in :class:`~groupwise.estimators._imbalance.Rebalanced`."""
    from sklearn.pipeline import Pipeline

    from groupwise.estimators._imbalance import Rebalanced

    weight, resample = how
    if isinstance(est, Pipeline):
        name, last = est.steps[-1]
        est.steps[-1] = (name, Rebalanced(last, weight, resample, random_state=seed))
        return est
    return Rebalanced(est, weight, resample, random_state=seed)


def fit_estimator(recipe: Recipe, est, X, y, keys=None):
    """Fit ``est`` (built from ``recipe``) on ``X, y`` (with the rows' keys when it takes them)."""
    if recipe.takes_keys:
        return est.fit(X, y, groups=keys)
    return est.fit(X, y)


def fit_recipe(recipe: Recipe, X, y, threads: int, keys=None, meta=None, members=None):
    """A fresh pipeline from ``recipe`` fitted on ``X, y`` with at most ``threads`` native
    threads; a class-rebalancing step is replaced by the estimator it fitted.

    ``meta``: out-of-fold meta-features of a stack's rows computed elsewhere (see
    :meth:`~groupwise.estimators._crossfit.Stack.fit_on_meta_features`), which spares the
    stack its inner folds; ``members``: the stack's members already fitted on ``X, y``
    (:func:`fit_many`), which spares it their fits."""
    from threadpoolctl import threadpool_limits

    from groupwise.estimators._imbalance import unwrap

    est = limit_threads(recipe.build(), threads)
    # OpenMP (the boosters) gets the threads; BLAS one: a second BLAS thread made the
    # linear candidate's fit on 16,000 rows 3× slower and none faster on 160,000
    with threadpool_limits(limits={"openmp": threads, "blas": 1}):
        if meta is not None:
            est.fit_on_meta_features(X, y, meta, members=members)
            if members is not None:  # fitted elsewhere with a worker's threads
                limit_fitted_threads(est, threads)
        else:
            fit_estimator(recipe, est, X, y, keys)
    return unwrap(est)


def _fit_one(task, threads: int) -> bytes:
    """An executor task: ``("recipe", recipe, X, y)`` (:func:`fit_recipe`) or
    ``("estimator", estimator, X, y)`` (a fitted clone), returned pickled: the caller
    unpickles it in its own thread (see :class:`groupwise._parallel.Pickled`)."""
    import pickle

    from sklearn.base import clone

    kind, what, X, y = task
    if kind == "recipe":
        model = fit_recipe(what, X, y, threads)
    else:
        model = limit_threads(clone(what), threads).fit(X, y)
    return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)


def fit_many(
    jobs: Sequence[tuple], executor: Executor, costs: Sequence[float] | None = None
) -> list:
    """Independent fits (tasks of :func:`_fit_one`) spread over ``executor``'s workers;
    the fitted models in job order. ``costs`` (any unit, e.g. the CV fit times): the
    dearest fits are started first, so that no worker is left with a long one at the end."""
    import pickle

    jobs = list(jobs)
    order = list(range(len(jobs))) if costs is None else sorted(range(len(jobs)), key=lambda i: -costs[i])  # fmt: skip
    blobs = executor.map(_fit_one, [jobs[i] for i in order])
    fitted: list = [None] * len(jobs)
    for i, blob in zip(order, blobs, strict=True):
        fitted[i] = pickle.loads(blob)
    return fitted


@dataclasses.dataclass(frozen=True)
class CVResult:
    """Out-of-fold predictions and per-fold scores of one recipe."""

    label: str
    recipe: Recipe
    oof: np.ndarray  # (n, K) probabilities or (n,) predictions, NaN where a row was not tested
    fold_of_row: np.ndarray
    folds: list[dict[str, Any]]
    fit_time: float
    error: str | None = None
    #: the binary decision threshold this candidate would ship with (chosen on its OOF)
    threshold: float | None = None

    def fold_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.folds)


def _fit_and_predict(recipe, est, Xtr, ytr, Xte, n_classes, fold, keys=None):
    """``({"fold", "fit_time", "out"}, est)``, or ``({"fold", "error"}, None)`` when the
    fit or the prediction fails or the predictions are not finite."""
    try:
        t0 = time.perf_counter()
        fit_estimator(recipe, est, Xtr, ytr, keys)
        fit_time = time.perf_counter() - t0
        out = predict_output(est, Xte, recipe.task, n_classes)
    except Exception as exc:  # one failing candidate must not stop the comparison
        return {"fold": fold, "error": f"{type(exc).__name__}: {exc}"}, None
    if not np.all(np.isfinite(out)):
        return {"fold": fold, "error": "the model produced missing or infinite predictions"}, None
    return {"fold": fold, "fit_time": fit_time, "out": out}, est


def fit_and_score(recipe: Recipe, est, Xtr, ytr, Xte, n_classes: int, fold: int) -> dict:
    """One fold task's result (as :func:`run_tasks` gives it, without training-row scores)
    for ``est`` fitted on ``Xtr, ytr`` and scoring ``Xte``."""
    res, _ = _fit_and_predict(recipe, est, Xtr, ytr, Xte, n_classes, fold)
    return res if "error" in res else {**res, "train_out": None, "train_rows": None}


def _fit_fold(task_args, threads):
    recipe, X, y, tr, te, n_classes, fold, train_score, keys = task_args
    est = limit_threads(recipe.build(), threads)
    res, est = _fit_and_predict(
        recipe, est, X.iloc[tr], y[tr], X.iloc[te], n_classes, fold,
        None if keys is None else keys[tr],
    )  # fmt: skip
    if est is None:
        return res
    fit_time, out = res["fit_time"], res["out"]
    train_out = train_rows = None
    if train_score:
        rows = (
            tr
            if len(tr) <= TRAIN_SCORE_ROWS
            else np.random.default_rng(fold).choice(tr, TRAIN_SCORE_ROWS, replace=False)
        )
        train_out = predict_output(est, X.iloc[rows], recipe.task, n_classes)
        train_rows = rows
    return {
        "fold": fold,
        "fit_time": fit_time,
        "out": out,
        "train_out": train_out,
        "train_rows": train_rows,
    }


def fold_tasks(
    recipes: Mapping[str, Recipe],
    X: pd.DataFrame,
    y: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    n_classes: int = 0,
    train_score: bool = True,
    keys: np.ndarray | None = None,
    only: Sequence[int] | None = None,
) -> list[tuple[str, int, tuple]]:
    """``(label, fold, task)`` for every recipe on every fold (of ``only`` when given),
    the expensive fits first so the slow ones do not form a tail on a busy worker."""
    wanted = range(len(folds)) if only is None else only
    tasks = [
        (label, fold, (recipe, X, y, folds[fold][0], folds[fold][1], n_classes, fold, train_score, keys))
        for label, recipe in recipes.items()
        for fold in wanted
    ]  # fmt: skip
    tasks.sort(key=lambda t: -_COST.get(t[2][0].name, 1.0))
    return tasks


def run_tasks(
    tasks, executor: Executor | None = None, progress=None
) -> list[tuple[str, int, dict]]:
    """Fit the fold tasks on ``executor``: ``(label, fold, result)`` in task order."""

    def done(i, res):
        if progress is not None:
            progress.advance()

    executor = executor or LocalExecutor()
    results = executor.map(_fit_fold, [t[2] for t in tasks], on_done=done)
    return [(label, fold, res) for (label, fold, _), res in zip(tasks, results, strict=True)]


def fold_score(task: str, y, folds, fitted: dict, metric: str, pos: int) -> float:
    """``metric`` of one fitted fold task's output on its test rows (NaN if it failed)."""
    if "error" in fitted:
        return float("nan")
    te = folds[fitted["fold"]][1]
    return _scores(task, y[te], fitted["out"], [metric], pos)[metric]


def assemble(
    recipes: Mapping[str, Recipe],
    fitted: Sequence[tuple[str, int, dict]],
    y: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    task: str,
    n_classes: int = 0,
    pos: int = 1,
) -> dict[str, CVResult]:
    """Out-of-fold predictions and per-fold scores of every recipe from its fitted folds."""
    names = metric_names(task)
    out: dict[str, CVResult] = {}
    n = len(y)
    for label, recipe in recipes.items():
        oof = np.full((n, n_classes), np.nan) if task == "classification" else np.full(n, np.nan)
        fold_of_row = np.full(n, -1)
        fold_rows = []
        total_fit = 0.0
        mine = sorted((fold, res) for lab, fold, res in fitted if lab == label)
        errors = sorted({res["error"] for _, res in mine if "error" in res})
        if errors:
            out[label] = CVResult(label, recipe, oof, fold_of_row, [], 0.0, error="; ".join(errors))
            continue
        for fold, res in mine:
            tr, te = folds[fold]
            oof[te] = res["out"]
            fold_of_row[te] = fold
            total_fit += res["fit_time"]
            scores = _scores(task, y[te], res["out"], names, pos)
            row = {
                "candidate": label,
                "fold": fold,
                "n_train": len(tr),
                "n_test": len(te),
                "fit_time": res["fit_time"],
                **scores,
            }
            if res["train_out"] is not None:
                train = _scores(task, y[res["train_rows"]], res["train_out"], names, pos)
                row.update({f"train_{k}": v for k, v in train.items()})
            fold_rows.append(row)
        out[label] = CVResult(label, recipe, oof, fold_of_row, fold_rows, total_fit)
    return out


def run_cv(
    recipes: Mapping[str, Recipe],
    X: pd.DataFrame,
    y: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    task: str,
    n_classes: int = 0,
    pos: int = 1,
    executor: Executor | None = None,
    train_score: bool = True,
    progress=None,
    keys: np.ndarray | None = None,
) -> dict[str, CVResult]:
    """Fit every recipe on every fold (identical folds for all) and collect OOF predictions.

    ``keys`` (one group label or time value per row) go to the recipes whose ``fit``
    takes them (ensembles and calibration cross-fit inside each training part).

    Per-fold metrics use threshold 0.5 (binary) or argmax; the decision threshold is
    chosen later on the selected model's pooled OOF predictions.
    """
    tasks = fold_tasks(recipes, X, y, folds, n_classes=n_classes, train_score=train_score, keys=keys)  # fmt: skip
    fitted = run_tasks(tasks, executor, progress)
    return assemble(recipes, fitted, y, folds, task=task, n_classes=n_classes, pos=pos)


def _scores(task, y, out, names, pos) -> dict[str, float]:
    return MetricSet.from_output(task, y, out, pos=pos).point(names)


def oof_metricset(
    result: CVResult, y: np.ndarray, task: str, pos: int = 1, threshold: float | None = None
) -> MetricSet:
    """Metrics of the pooled out-of-fold predictions (rows never tested are left out), at
    ``threshold`` (default the candidate's own operating threshold, else 0.5)."""
    if threshold is None:
        threshold = result.threshold if result.threshold is not None else 0.5
    tested = result.fold_of_row >= 0
    return MetricSet.from_output(task, y[tested], result.oof[tested], pos=pos, threshold=threshold)


def with_threshold(result: CVResult, y: np.ndarray, *, pos: int, strategy: str) -> CVResult:
    """``result`` with its operating threshold chosen on its own out-of-fold predictions
    (robust to fold shifts) and every fold's threshold metrics rescored at it."""
    from groupwise.evaluation._metrics import THRESHOLD_METRICS
    from groupwise.evaluation._threshold import choose_threshold

    if result.error or result.oof.ndim != 2 or result.oof.shape[1] != 2:
        return result
    tested = result.fold_of_row >= 0
    choice = choose_threshold(
        result.oof[tested, pos], y[tested] == pos, strategy, folds=result.fold_of_row[tested]
    )
    folds = []
    for row in result.folds:
        te = result.fold_of_row == row["fold"]
        ms = MetricSet(
            "classification", y[te], proba=result.oof[te], pos=pos, threshold=choice.threshold
        )
        folds.append({**row, **ms.point([m for m in THRESHOLD_METRICS if m in row])})
    return dataclasses.replace(result, threshold=choice.threshold, folds=folds)
