"""Stages 5–8: the operating threshold, the one use of the holdout, naive vs grouped CV,
and the learning curve. Each is a function from earlier stage results to a frozen one."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from groupwise._parallel import Executor
from groupwise.estimators._crossfit import Blend, Stack
from groupwise.estimators._output import predict_output
from groupwise.evaluation._calibration import calibration_table, expected_calibration_error
from groupwise.evaluation._gap import naive_vs_grouped_gap
from groupwise.evaluation._intervals import interval_method, metric_intervals, paired_interval
from groupwise.evaluation._learning import learning_curve_plan, learning_curve_table
from groupwise.evaluation._metrics import MetricSet, metric_names
from groupwise.evaluation._slices import error_slices
from groupwise.evaluation._threshold import ThresholdChoice, choose_threshold
from groupwise.model_selection import SplitPlan, naive_folds
from groupwise.training._adjust import calibrate_selected
from groupwise.training._config import TrainConfig
from groupwise.training._cv import CVResult, Recipe, _fit_fold, fit_many, fit_recipe, run_cv
from groupwise.training._ensemble import ensemble_oof, stack_meta_features, strongest_member
from groupwise.training._prepare import BASELINES, Prepared
from groupwise.training._select import (
    Comparison,
    Selection,
    compare_candidates,
    pooled_scores,
    select_model,
)

__all__ = [
    "HoldoutResult",
    "OperatingPoint",
    "choose_operating_point",
    "evaluate_holdout",
    "evaluate_nested",
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
    """The honest evaluation: models scored on rows they never saw.

    ``scheme="holdout"``: the development fit scored once on the holdout.
    ``scheme="nested"``: every outer fold's own selection, tuning and threshold, scored on
    its outer test part; pooled over all of them (``positions``: the rows scored).
    """

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
    positions: np.ndarray
    pred: np.ndarray | None = None  # class codes at each row's threshold (classification)
    thresholds: np.ndarray | None = None  # each row's threshold (binary)
    scheme: str = "holdout"
    method: str = ""
    outer: tuple[dict[str, Any], ...] = ()
    #: how each metric varies with the training rows (added to the intervals' variance):
    #: ``{"variance": {metric: v}, "refits": n, "pipelines": [...]}``, None when not measured
    variation: dict[str, Any] | None = None
    #: a selected stack's out-of-sample meta-features of every table row (development rows
    #: from the CV, holdout rows from the development fit): the final fit's meta-model is
    #: fitted on them instead of on inner folds
    final_meta: np.ndarray | None = dataclasses.field(default=None, repr=False)
    #: that stack's members fitted on every table row (with the development fits, to fill
    #: the workers), for the final fit
    final_members: list | None = dataclasses.field(default=None, repr=False)

    @property
    def predicted_positive_share(self) -> float | None:
        """Share of scored rows predicted positive (binary), at the shipped thresholds."""
        if self.thresholds is None or self.pred is None:
            return None
        return float(np.mean(self.pred == self._pos))

    _pos: int = 1


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


def _codes_at(prep: Prepared, out: np.ndarray, thresholds: np.ndarray | None) -> np.ndarray | None:
    """Predicted class codes: each row at its own threshold (binary), argmax otherwise."""
    if prep.task != "classification":
        return None
    if prep.n_classes == 2:
        return np.where(out[:, prep.pos] >= thresholds, prep.pos, 1 - prep.pos)
    return np.argmax(out, axis=1)


def _metricset(prep: Prepared, y, out, codes) -> MetricSet:
    if prep.task == "classification":
        return MetricSet("classification", y, proba=out, pred=codes, pos=prep.pos)
    return MetricSet("regression", y, pred=out)


def _finish(
    prep: Prepared,
    positions: np.ndarray,
    out: np.ndarray,
    thresholds: np.ndarray | None,
    base_out: dict[str, np.ndarray],
    base_cv: dict[str, dict[str, float]],
    importance: pd.DataFrame | None,
    config: TrainConfig,
    *,
    selected: str,
    scheme: str,
    test_train_ratio: float,
    variation: TrainingVariation | None = None,
    outer: tuple[dict[str, Any], ...] = (),
    executor: Executor | None = None,
) -> HoldoutResult:
    """Intervals, baselines, improvement over the dummy, confusion and slices of scored rows.

    The intervals allow for how the fitted model varies with its training rows: by
    ``variation`` (measured by refits) when there is one, else by ``test_train_ratio``
    (Σ n_test / n_train over the models that scored the rows). Row bootstraps run on the
    ``executor``'s workers (see :func:`_intervals`)."""
    table = prep.table
    y = table.y[positions]
    groups = table.group_values(positions)
    codes = _codes_at(prep, out, thresholds)
    ms = _metricset(prep, y, out, codes)
    if variation is not None:
        allowance = dict(train_variance=variation.variance)
    else:
        allowance = dict(test_train_ratio=test_train_ratio)
    kw = dict(groups=groups, n_resamples=config.bootstrap, seed=config.seed, **allowance)
    baselines, versus = {}, None
    for name, bout in base_out.items():
        bms = _metricset(prep, y, bout, _codes_at(prep, bout, thresholds))
        baselines[name] = {"cv": base_cv.get(name, {}), "holdout": bms.point()}
        if name == "dummy" and selected != "dummy":
            versus = bms
    metrics, improvement = _intervals(ms, versus, metric_names(prep.task), prep.metric, kw, executor)  # fmt: skip
    if improvement is not None:
        improvement["on"] = (
            "holdout (selected − dummy, same leave-outs)"
            if scheme == "holdout"
            else "nested CV over all groups (selected − dummy, same leave-outs)"
        )
    confusion = None
    K = prep.n_classes
    if prep.task == "classification":
        confusion = pd.crosstab(
            pd.Categorical(y, categories=range(K)),
            pd.Categorical(codes, categories=range(K)),
            dropna=False,
        ).to_numpy()
    slice_cols = ([table.group_col] if table.group_col else []) + list(table.kinds.categorical)[:10]
    frame = table.frame.iloc[positions].reset_index(drop=True)
    slices = error_slices(
        frame, slice_cols, task=prep.task, y=y,
        proba=out if prep.task == "classification" else None,
        pred=out if prep.task == "regression" else None,
        threshold=0.5 if thresholds is None else float(np.median(thresholds)), pos=prep.pos,
        primary=prep.metric,
    ) if slice_cols else pd.DataFrame()  # fmt: skip
    n_groups = None if groups is None else int(pd.unique(groups).size)
    return HoldoutResult(
        metrics=metrics, unit="group" if groups is not None else "row", groups=n_groups, y=y, out=out,
        baselines=baselines, improvement=improvement, confusion=confusion, slices=slices,
        importance=importance, positions=positions, pred=codes, thresholds=thresholds, scheme=scheme,
        method=interval_method(
            groups, test_train_ratio, variation.refits if variation is not None else 0
        ),
        outer=outer, _pos=prep.pos,
        variation=None if variation is None else {
            "variance": variation.variance, "refits": variation.refits,
            "pipelines": list(variation.recipes),
        },
    )  # fmt: skip


def _intervals(ms: MetricSet, versus: MetricSet | None, names, metric: str, kw, executor):
    """``(metric intervals, interval of metric(ms) − metric(versus) or None)``.

    A row bootstrap (no groups) is 2,000 resamples of every metric: 0.5 s on one core for
    3,200 rows, while the workers wait. With an executor it runs there as independent
    tasks — the metrics in two halves and the paired difference — each drawing the same
    resamples from the same seed, so the intervals are those of one serial pass. A group
    jackknife is cheap and stays here."""
    names = list(names)
    if kw["groups"] is not None or executor is None:
        intervals = metric_intervals(ms, names, **kw)
        return intervals, None if versus is None else paired_interval(ms, versus, metric, **kw)
    half = (len(names) + 1) // 2
    tasks = [("metrics", ms, None, part, kw) for part in (names[:half], names[half:]) if part]
    if versus is not None:
        tasks.append(("paired", ms, versus, metric, kw))
    parts = executor.map(_interval_task, tasks)
    intervals: dict[str, dict[str, float]] = {}
    for (kind, *_), part in zip(tasks, parts, strict=True):
        if kind == "metrics":
            intervals.update(part)
    return {k: intervals[k] for k in names}, parts[-1] if versus is not None else None


def _interval_task(args, threads):
    """One part of :func:`_intervals` on a worker."""
    kind, ms, versus, what, kw = args
    if kind == "metrics":
        return metric_intervals(ms, what, **kw)
    return paired_interval(ms, versus, what, **kw)


@dataclasses.dataclass(frozen=True)
class TrainingVariation:
    """How much each metric varies with the training rows of the model that scored them."""

    variance: dict[str, float]
    refits: int
    recipes: tuple[str, ...]


def _variation_recipe(selection: Selection) -> Recipe:
    """The pipeline whose refits measure the variation: the selected one, or for a blend
    or stack its strongest member (an ensemble refitted per fold would redo its own
    inner folds)."""
    member = strongest_member(selection)
    return selection.results[member].recipe if member is not None else selection.recipe


def training_variation(
    prep: Prepared,
    units: Sequence[tuple[SplitPlan, Recipe]],
    positions: np.ndarray,
    thresholds: np.ndarray | None,
    *,
    executor: Executor,
    progress=None,
) -> TrainingVariation | None:
    """The delete-a-fold jackknife variance of every metric over refits of the scoring
    pipeline on its inner folds' training parts.

    ``units``: (plan, recipe) per model that scored rows — the holdout plan, or every
    outer fold — whose ``dev`` and inner ``folds`` the refits use and whose ``holdout``
    they score. No refit sees the rows it scores, so the J refits give J honest scorings
    of the same evaluated rows; the spread of a metric over them, scaled by (J − 1)/J,
    estimates how it varies when the model is fitted on a different sample of the
    training rows. None for time-ordered folds (training windows are nested, not
    delete-one-block), without groups (rows get a bootstrap) or when a refit fails."""
    if prep.table.time_col or not prep.table.group_col or not units:
        return None
    J = min(len(plan.folds) for plan, _ in units)
    if J < 2:
        return None
    table, task, K = prep.table, prep.task, prep.n_classes
    keys = table.group_values()
    tasks = [
        (recipe, table.X, table.y, plan.dev[plan.folds[j][0]], plan.holdout, K, j, False,
         None if keys is None or not recipe.takes_keys else keys)
        for plan, recipe in units for j in range(J)
    ]  # fmt: skip
    if progress is None:
        fitted = executor.map(_fit_fold, tasks)
    else:
        with progress.stage("Model variation: refits on the inner folds", total=len(tasks)) as bar:
            fitted = executor.map(_fit_fold, tasks, on_done=lambda i, r: bar.advance())
    if any("error" in f for f in fitted):
        return None
    where = np.full(table.n, -1)
    where[positions] = np.arange(len(positions))
    shape = (len(positions), K) if task == "classification" else (len(positions),)
    outs = [np.full(shape, np.nan) for _ in range(J)]
    for (_, _, _, _, scored, *_), f in zip(tasks, fitted, strict=True):
        outs[f["fold"]][where[scored]] = f["out"]
    y = table.y[positions]
    names = metric_names(task)
    values = [_metricset(prep, y, o, _codes_at(prep, o, thresholds)).point(names) for o in outs]
    variance = {}
    for m in names:
        th = np.array([v[m] for v in values], dtype=float)
        if np.all(np.isfinite(th)):
            variance[m] = float((J - 1) / J * np.sum((th - th.mean()) ** 2))
    return TrainingVariation(variance, len(tasks), tuple(sorted({r.name for _, r in units})))


def _importance(model, X, y, prep: Prepared, config: TrainConfig, executor: Executor):
    """Permutation importance on the scored rows, the columns shared out among the workers."""
    if config.permutation_repeats <= 0:
        return None
    from threadpoolctl import threadpool_limits

    from groupwise.explain import permutation_importance_table

    with threadpool_limits(executor.threads):
        return permutation_importance_table(
            model, X, y, task=prep.task, metric=prep.metric, n_classes=prep.n_classes,
            pos=prep.pos, n_repeats=config.permutation_repeats, seed=config.seed,
            executor=executor,
        )  # fmt: skip


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
    fitted on the development rows, with intervals over holdout groups (or rows)."""
    if plan.nested:
        return evaluate_nested(prep, plan, config, executor=executor, progress=progress, emit=emit)
    task, K = prep.task, prep.n_classes
    threads = executor.threads
    with progress.stage("Holdout evaluation", total=3) as bar:
        dev, hold = prep.dev(plan), prep.holdout(plan)
        meta = stack_meta_features(prep, selection)
        baselines = [b for b in BASELINES if b in comparison.results]
        jobs = [("recipe", comparison.results[b].recipe, dev.X, dev.y) for b in baselines]
        costs = [comparison.results[b].fit_time for b in baselines]
        final_members = None
        if meta is None:
            model = fit_recipe(selection.recipe, dev.X, dev.y, threads, dev.keys)
            fitted = fit_many(jobs, executor)
        else:
            # a stack's members on the development rows and, for the final model, on all
            # rows, with the baselines: independent fits, spread over the workers together
            members = [est for _, est in selection.recipe.build().estimators]
            spent = [selection.results[m].fit_time for m in selection.ensembles["members"]]
            table = prep.table
            jobs = [
                *[("estimator", m, table.X, table.y) for m in members],
                *[("estimator", m, dev.X, dev.y) for m in members],
                *jobs,
            ]
            costs = [*[c * table.n / dev.n for c in spent], *spent, *costs]
            # the costs only order the dispatch; without one per job, jobs go in order
            fitted = fit_many(jobs, executor, costs if len(costs) == len(jobs) else None)
            k = len(members)
            final_members, dev_members, fitted = fitted[:k], fitted[k : 2 * k], fitted[2 * k :]
            model = fit_recipe(selection.recipe, dev.X, dev.y, threads, dev.keys, meta=meta, members=dev_members)  # fmt: skip
        out = predict_output(model, hold.X, task, K)
        if meta is not None:  # every row's meta-features, out of sample, for the final fit
            final_meta = np.full((prep.table.n, meta.shape[1]), np.nan)
            final_meta[dev.positions] = meta
            final_meta[hold.positions] = model.member_features(hold.X)
        bar.advance()
        base_out, base_cv = {}, {}
        for name, est in zip(baselines, fitted, strict=True):
            base_out[name] = predict_output(est, hold.X, task, K)
            base_cv[name] = pooled_scores(prep, dev, comparison.results[name])
        bar.advance()
        importance = _importance(model, hold.X, hold.y, prep, config, executor)
        bar.advance()
    thresholds = None if point.threshold is None else np.full(hold.n, point.value)
    variation = training_variation(
        prep, [(plan, _variation_recipe(selection))], plan.holdout, thresholds,
        executor=executor, progress=progress,
    )  # fmt: skip
    result = _finish(
        prep, plan.holdout, out, thresholds, base_out, base_cv, importance, config,
        selected=selection.selected, scheme="holdout", test_train_ratio=hold.n / dev.n,
        variation=variation, executor=executor,
    )  # fmt: skip
    if meta is not None:
        result = dataclasses.replace(result, final_meta=final_meta, final_members=final_members)
    emit("holdout", {"metrics": result.metrics, "unit": result.unit, "groups": result.groups, "scheme": "holdout", "method": result.method})  # fmt: skip
    return result


class _Prefixed:
    """Progress whose stage names say which outer fold they belong to."""

    def __init__(self, progress, prefix: str):
        self._progress, self._prefix = progress, prefix

    def stage(self, name, total=None):
        return self._progress.stage(f"{self._prefix}{name}", total=total)


def evaluate_nested(
    prep: Prepared,
    plan: SplitPlan,
    config: TrainConfig,
    *,
    executor: Executor,
    progress,
    emit: Callable[[str, Any], None],
) -> HoldoutResult:
    """Nested CV: in every outer fold, compare, tune and choose the threshold on its
    training part only, then score its test part; pooled over all outer folds."""
    task, K = prep.task, prep.n_classes
    threads = executor.threads
    n = prep.table.n
    out = np.full((n, K), np.nan) if task == "classification" else np.full(n, np.nan)
    thresholds = np.full(n, np.nan)
    base_out = {name: out.copy() for name in BASELINES}
    importances, outer, units = [], [], []
    quiet = lambda name, payload: None  # noqa: E731 - outer folds print no leaderboards
    for i, o in enumerate(plan.outer):
        prog = _Prefixed(progress, f"Outer fold {i + 1}/{len(plan.outer)}: ")
        comparison = compare_candidates(
            prep, o, config, executor=executor, progress=prog, emit=quiet
        )
        selection = select_model(
            prep, o, comparison, config, executor=executor, progress=prog, emit=quiet
        )
        selection, _ = calibrate_selected(prep, o, selection, config)
        point = choose_operating_point(prep, o, selection, config)
        dev, test = prep.dev(o), prep.holdout(o)
        units.append((o, _variation_recipe(selection)))
        with prog.stage("scoring the outer test part", total=1) as bar:
            meta = stack_meta_features(prep, selection)
            model = fit_recipe(selection.recipe, dev.X, dev.y, threads, dev.keys, meta=meta)
            out[o.holdout] = predict_output(model, test.X, task, K)
            thresholds[o.holdout] = point.value
            for name in BASELINES:
                if name in comparison.results:
                    est = fit_recipe(comparison.results[name].recipe, dev.X, dev.y, threads)
                    base_out[name][o.holdout] = predict_output(est, test.X, task, K)
            imp = _importance(model, test.X, test.y, prep, config, executor)
            if imp is not None:
                importances.append(imp.assign(weight=test.n))
            bar.advance()
        outer.append({
            "fold": i, "selected": selection.selected, "threshold": None if point.threshold is None else point.value,
            "train_rows": int(dev.n), "test_rows": int(test.n),
            "test_groups": None if test.groups is None else int(pd.unique(test.groups).size),
        })  # fmt: skip
    positions = plan.evaluated()
    importance = None
    if importances:
        allimp = pd.concat(importances)
        importance = (
            allimp.groupby("feature")
            .apply(
                lambda g: pd.Series(
                    {
                        "importance_mean": float(
                            np.average(g["importance_mean"], weights=g["weight"])
                        ),
                        "importance_std": float(
                            np.sqrt(np.average(g["importance_std"] ** 2, weights=g["weight"]))
                        ),
                    }
                ),
                include_groups=False,
            )  # fmt: skip
            .reset_index()
            .assign(
                metric=prep.metric,
                rows_used=int(allimp.groupby("feature")["rows_used"].sum().iloc[0]),
                # the outer folds' test parts differ in size, and so may their repeats
                repeats=int(allimp["repeats"].min()),
            )
            .sort_values("importance_mean", ascending=False, kind="stable")
            .reset_index(drop=True)
        )
    binary = task == "classification" and K == 2
    variation = training_variation(
        prep, units, positions, thresholds[positions] if binary else None,
        executor=executor, progress=progress,
    )  # fmt: skip
    result = _finish(
        prep, positions, out[positions], thresholds[positions] if binary else None,
        {k: v[positions] for k, v in base_out.items() if np.isfinite(v[positions]).all()},
        {}, importance, config, selected="nested", scheme="nested", outer=tuple(outer),
        test_train_ratio=sum(o["test_rows"] / o["train_rows"] for o in outer),
        variation=variation, executor=executor,
    )  # fmt: skip
    emit("holdout", {"metrics": result.metrics, "unit": result.unit, "groups": result.groups, "scheme": "nested", "method": result.method, "outer": outer})  # fmt: skip
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
    """Row-level CV of the selected pipeline next to the grouped CV (grouped plans only).

    For a selected blend or stack, its members are cross-validated on the row-level folds
    and combined as in the comparison (a stack's meta-model cross-fitted over those folds),
    so no stack is refitted with its own inner folds."""
    if plan.kind != "grouped" or not config.naive_cv:
        return None
    dev = prep.dev(plan)
    folds = naive_folds(dev.y, prep.task, config.folds, config.seed)
    plain = isinstance(selection.recipe.template, (Blend, Stack))  # not calibrated on top
    members = list(selection.ensembles.get("members") or ()) if plain else []
    recipes = {m: selection.results[m].recipe for m in members} or {
        selection.selected: selection.recipe
    }
    with progress.stage("Naive (row-level) CV", total=len(folds) * len(recipes)) as bar:
        runs = run_cv(
            recipes, dev.X, dev.y, folds, task=prep.task, n_classes=prep.n_classes, pos=prep.pos,
            executor=executor, train_score=False, progress=bar,
        )  # fmt: skip
    if members:
        parts = [runs[m] for m in members]
        oof = ensemble_oof(selection.recipe.name, prep, dev.y, parts)
        naive = CVResult(selection.selected, selection.recipe, oof, parts[0].fold_of_row, [], 0.0)
    else:
        naive = runs[selection.selected]
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
    recipe, X, y, keys, task, n_classes, pos, threshold, metric, (fold, frac, sub, te) = task_args
    model = fit_recipe(recipe, X.iloc[sub], y[sub], threads, None if keys is None else keys[sub])

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
    """The selected pipeline refitted on shares of each training fold.

    For a selected blend or stack, the curve is its strongest member's (the column
    ``model`` says whose): refitting the ensemble, a stack with its inner folds, at every
    point would cost a multiple of the members' fits for a diagnostic."""
    if not config.learning_curve:
        return None
    dev = prep.dev(plan)
    fits = learning_curve_plan(
        plan.folds, dev.y, task=prep.task, kind=plan.kind,
        groups=dev.groups if plan.kind == "grouped" else None, seed=config.seed,
    )  # fmt: skip
    if not fits:
        return None
    whose = strongest_member(selection) or selection.selected
    result = selection.results[whose]
    shared = (
        result.recipe, dev.X, dev.y, dev.keys, prep.task, prep.n_classes, prep.pos,
        point.value if whose == selection.selected else result.threshold, prep.metric,
    )  # fmt: skip
    title = "Learning curve" if whose == selection.selected else f"Learning curve ({whose})"
    with progress.stage(title, total=len(fits)) as bar:
        points = executor.map(
            _learning_point, [(*shared, f) for f in fits], on_done=lambda i, r: bar.advance()
        )
    return learning_curve_table(points, result.folds, prep.metric).assign(model=whose)
