"""``train()``: plan → baselines → compare → tune → holdout → finalize, into a run directory.

The holdout rows are sliced off right after planning and are not touched again until
the holdout evaluation (``_holdout``); every earlier stage sees only the development
rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from groupwise._progress import NullProgress
from groupwise.estimators._zoo import CANDIDATES, available_candidates, column_kinds
from groupwise.evaluation._bootstrap import bootstrap_ci, paired_bootstrap_difference
from groupwise.evaluation._calibration import calibration_table, expected_calibration_error
from groupwise.evaluation._metrics import (
    CLASSIFICATION_METRICS,
    GREATER_IS_BETTER,
    REGRESSION_METRICS,
    MetricSet,
    default_primary_metric,
    metric_names,
)
from groupwise.evaluation._slices import error_slices, is_better, meaningful_delta
from groupwise.evaluation._threshold import choose_threshold
from groupwise.exceptions import ConfigError, DataError, GroupwiseError, GroupwiseWarning
from groupwise.model_selection import naive_folds, plan_splits
from groupwise.spec import TableSpec
from groupwise.training._config import TrainConfig
from groupwise.training._cv import CVResult, Recipe, oof_metricset, predict_output, run_cv
from groupwise.training._parallel import available_cores, limit_threads, parallel_map
from groupwise.training._write import write_run as _write_run

__all__ = ["AuditFailed", "train"]

logger = logging.getLogger(__name__)
FORMAT_VERSION = 1
BASELINES = ("dummy", "linear")


class AuditFailed(GroupwiseError):
    """The data audit found problems at or above ``fail_on``; training did not start."""

    exit_code = 1

    def __init__(self, message: str, report):
        super().__init__(message)
        self.report = report


def train(
    df: pd.DataFrame,
    spec: TableSpec,
    config: TrainConfig | None = None,
    *,
    dataset_path: str | None = None,
    candidates: Mapping[str, Any] | None = None,
    progress=None,
    events: Callable[[str, Any], None] | None = None,
):
    """Train, evaluate honestly and write a complete run directory.

    Parameters
    ----------
    df : DataFrame
        The training table (rows with a missing target are dropped and counted).
    spec : TableSpec
        Column roles.
    config : TrainConfig, default=None
        Options (defaults when None).
    dataset_path : str, default=None
        Where ``df`` came from; recorded with its SHA-256 (else a content checksum).
    candidates : dict of {str: estimator}, default=None
        Extra unfitted estimators (or pipelines) to compare, used as given on the
        raw feature columns; they are not tuned.
    progress : Progress, default=None
        Receives one stage per step (see ``groupwise._progress``).
    events : callable, default=None
        ``events(name, payload)`` is called with ``"audit"``, ``"plan"``,
        ``"leaderboard"``, ``"tuning"`` and ``"holdout"`` as results become available.

    Returns
    -------
    Run
        The written run (also pointed at by ``models_dir/registry/latest.txt``).
    """
    config = config or TrainConfig()
    return _Training(
        df, spec, config, dataset_path, dict(candidates or {}), progress or NullProgress(), events
    ).run()


class _Training:
    def __init__(self, df, spec, config, dataset_path, custom, progress, events):
        self.df_in = df
        self.spec_in = spec
        self.cfg = config
        self.dataset_path = dataset_path
        self.custom = custom
        self.progress = progress
        self.emit = events or (lambda name, payload: None)
        self.timings: dict[str, float] = {}
        self.files: dict[str, Any] = {}

    # ------------------------------------------------------------------ flow
    def run(self):
        t0 = time.perf_counter()
        self.started = dt.datetime.now(dt.UTC)
        self._prepare()
        self._timed("audit", self._audit)
        self._timed("plan", self._plan)
        self._timed("candidates", self._candidates)
        self._timed("tuning", self._tune)
        self._timed("threshold", self._threshold_and_calibration)
        self._timed("holdout", self._holdout)
        self._timed("naive_vs_grouped", self._naive_vs_grouped)
        self._timed("learning_curve", self._learning_curve)
        self._timed("model_checks", self._model_checks)
        self._timed("finalize", self._finalize)
        self.total_time = time.perf_counter() - t0
        return self._write()

    def _timed(self, name: str, fn) -> None:
        start = time.perf_counter()
        fn()
        self.timings[name] = time.perf_counter() - start

    # --------------------------------------------------------------- prepare
    def _prepare(self):
        df = self.df_in
        self.spec = self.spec_in.resolve(df)
        spec = self.spec
        keep = df[spec.target].notna().to_numpy()
        self.rows_dropped = int((~keep).sum())
        self.frame = df.loc[keep].reset_index(drop=True)
        self.features = spec.features(self.frame)
        self.X = self.frame[self.features]
        self.task = spec.task
        if self.task == "classification":
            codes, uniques = pd.factorize(self.frame[spec.target], sort=True)
            self.y = codes.astype(np.int64)
            self.classes = [_plain(v) for v in uniques]
            self.K = len(self.classes)
            self.pos = self.classes.index(_plain(spec.pos_label)) if self.K == 2 else None
            pos_rate = float(np.mean(self.y == self.pos)) if self.K == 2 else None
        else:
            self.y = self.frame[spec.target].to_numpy(dtype=np.float64)
            self.classes, self.K, self.pos, pos_rate = [], 0, None, None
        allowed = CLASSIFICATION_METRICS if self.task == "classification" else REGRESSION_METRICS
        if self.cfg.metric is not None:
            if self.cfg.metric not in allowed:
                raise ConfigError(
                    f"--metric {self.cfg.metric!r} does not apply to {self.task}; choose one of {', '.join(allowed)}."
                )
            self.metric, self.metric_reason = self.cfg.metric, "given"
        else:
            self.metric, self.metric_reason = default_primary_metric(self.task, self.K, pos_rate)
        self.greater = GREATER_IS_BETTER[self.metric]
        self.kinds = column_kinds(self.X)
        self.groups_all = (
            self.frame[spec.group_col]
            .astype(object)
            .where(self.frame[spec.group_col].notna(), "<missing>")
            .to_numpy()
            if spec.group_col
            else None
        )
        if self.cfg.hierarchy and self.task != "regression":
            raise ConfigError(
                "--hierarchy adds the partial-pooling candidate, which is for regression targets."
            )
        if len(self.frame) < 10:
            raise DataError(
                f"Only {len(self.frame)} rows with a target; training needs at least 10."
            )

    # ----------------------------------------------------------------- audit
    def _audit(self):
        self.audit_report = None
        if not self.cfg.audit:
            return
        from groupwise.audit import audit

        report = audit(
            self.df_in,
            self.spec,
            folds=self.cfg.folds,
            random_state=self.cfg.seed,
            progress=self.progress,
        )
        self.audit_report = report
        self.emit("audit", report)
        if report.exit_code(self.cfg.fail_on):
            raise AuditFailed(
                f"The data audit found problems at or above --fail-on {self.cfg.fail_on} ({report.summary()}); "
                "training did not start. Fix them, ignore specific checks, or use --fail-on never.",
                report,
            )

    # ------------------------------------------------------------------ plan
    def _plan(self):
        self.plan = plan_splits(
            self.frame,
            self.spec,
            holdout=self.cfg.holdout,
            folds=self.cfg.folds,
            seed=self.cfg.seed,
        )
        self.emit("plan", self.plan)
        dev = self.plan.dev
        self.X_dev = self.X.iloc[dev].reset_index(drop=True)
        self.y_dev = self.y[dev]
        self.groups_dev = None if self.groups_all is None else self.groups_all[dev]

    # ------------------------------------------------------------ candidates
    def _recipes(self) -> dict[str, Recipe]:
        names = available_candidates(self.cfg.models)
        names = list(dict.fromkeys([*BASELINES, *names]))
        recipes = {n: Recipe(n, self.task, self.kinds, self.cfg.seed) for n in names}
        if self.cfg.hierarchy:
            recipes["partial_pooling"] = self._pooling_recipe()
        for label, est in self.custom.items():
            if label in recipes:
                raise ConfigError(
                    f"Custom candidate name {label!r} clashes with a built-in model; rename it."
                )
            if self.task == "classification" and not hasattr(est, "predict_proba"):
                raise ConfigError(
                    f"Custom candidate {label!r} has no predict_proba; every classifier must give probabilities."
                )
            recipes[label] = Recipe(label, self.task, self.kinds, self.cfg.seed, template=est)
        return recipes

    def _pooling_recipe(self) -> Recipe:
        from groupwise.estimators import PartialPoolingRegressor

        missing = [c for c in self.cfg.hierarchy if c not in self.features]
        if missing:
            raise ConfigError(
                f"--hierarchy columns must be feature columns of the table; not features: {', '.join(missing)}."
            )
        est = PartialPoolingRegressor(hierarchy=list(self.cfg.hierarchy), unknown="global")
        return Recipe("partial_pooling", self.task, self.kinds, self.cfg.seed, template=est)

    def _candidates(self):
        recipes = self._recipes()
        total = len(recipes) * len(self.plan.folds)
        with self.progress.stage("Cross-validating candidates", total=total) as bar:
            self.cv = self._cv(recipes, progress=bar)
        self.failed = {label: res.error for label, res in self.cv.items() if res.error}
        for label, error in self.failed.items():
            if label in BASELINES:
                raise DataError(
                    f"The {label!r} baseline failed in cross-validation ({error}); the table cannot be modelled as "
                    "it is. Check the feature columns (types, missing values) with 'groupwise audit'."
                )
            warnings.warn(
                f"Candidate {label!r} failed and is left out of the comparison: {error}",
                GroupwiseWarning,
                stacklevel=2,
            )
            self.emit("candidate_failed", {"candidate": label, "error": error})
        self.cv = {label: res for label, res in self.cv.items() if not res.error}
        self.leaderboard = self._leaderboard(self.cv)
        self.emit("leaderboard", self.leaderboard)

    def _cv(self, recipes: Mapping[str, Recipe], folds=None, **kwargs) -> dict[str, CVResult]:
        """Cross-validate on the development rows (the plan's folds unless given)."""
        return run_cv(
            recipes, self.X_dev, self.y_dev, self.plan.folds if folds is None else folds,
            task=self.task, n_classes=self.K, pos=self.pos or 0, n_jobs=self.cfg.n_jobs, **kwargs,
        )  # fmt: skip

    def _pooled(self, result: CVResult, names=None) -> dict[str, float]:
        return oof_metricset(result, self.y_dev, self.task, self.pos or 0).point(
            names or metric_names(self.task)
        )

    def _leaderboard(
        self, results: Mapping[str, CVResult], tuned: Mapping[str, bool] | None = None
    ) -> pd.DataFrame:
        names = metric_names(self.task)
        rows = []
        for label, res in results.items():
            folds = res.fold_frame()
            row = {
                "candidate": label,
                "model": res.recipe.name,
                "tuned": bool((tuned or {}).get(label, False)),
            }
            pooled = self._pooled(res)
            for m in names:
                row[m] = pooled[m]
                row[f"{m}_mean"] = float(folds[m].mean())
                row[f"{m}_sd"] = float(folds[m].std(ddof=1)) if len(folds) > 1 else 0.0
            row["fit_time_mean"] = float(folds["fit_time"].mean())
            rows.append(row)
        board = pd.DataFrame(rows)
        # compared on the mean over identical folds: pooled scores of a dummy can be
        # artificially poor when the class balance shifts between grouped folds
        mean_col = f"{self.metric}_mean"
        dummy = board.loc[board["candidate"] == "dummy", mean_col]
        dummy_score = float(dummy.iloc[0]) if len(dummy) else np.nan
        board["beats_dummy"] = [is_better(self.metric, s, dummy_score) for s in board[mean_col]]
        board.loc[board["candidate"] == "dummy", "beats_dummy"] = False
        board = board.sort_values(
            self.metric, ascending=not self.greater, kind="stable", na_position="last"
        ).reset_index(drop=True)
        board.insert(0, "rank", np.arange(1, len(board) + 1))
        board.attrs["metric"] = self.metric
        board.attrs["task"] = self.task
        return board

    # ---------------------------------------------------------------- tuning
    def _tune(self):
        self.tuning: list[dict[str, Any]] = []
        board = self.leaderboard
        contenders = [c for c in board["candidate"] if c != "dummy"]
        if not contenders:
            contenders = ["dummy"]
        tunable = [
            c
            for c in contenders
            if self.cv[c].recipe.template is None
            and CANDIDATES[self.cv[c].recipe.name].space is not None
        ]
        selected = contenders[0]
        results = dict(self.cv)
        tuned_flags: dict[str, bool] = {}
        if self.cfg.tune_trials > 0 and tunable:
            from groupwise.training._tune import tune

            top = tunable[: self.cfg.tune_top]
            per = max(1, self.cfg.tune_trials // len(top))
            for name in top:
                base = self.cv[name]
                base_score = self._pooled(base, [self.metric])[self.metric]
                with self.progress.stage(f"Tuning {name}", total=per) as bar:
                    tr = tune(
                        base.recipe, self.X_dev, self.y_dev, self.plan.folds, metric=self.metric, n_classes=self.K,
                        pos=self.pos or 0, n_trials=per, timeout=self.cfg.tune_timeout, patience=self.cfg.tune_patience, seed=self.cfg.seed,
                        n_jobs=self.cfg.n_jobs, progress=bar,
                    )  # fmt: skip
                improved = tr.best_result is not None and is_better(
                    self.metric, tr.best_score, base_score, min_delta=meaningful_delta(base_score)
                )
                record = {
                    "candidate": name,
                    "trials": len(tr.trials),
                    "untuned": base_score,
                    "best": tr.best_score,
                    "best_params": tr.best_params,
                    "kept": "tuned" if improved else "untuned",
                    "duration_s": tr.duration,
                    "history": tr.trials,
                }
                self.tuning.append(record)
                self.emit("tuning", record)
                if improved:
                    label = f"{name} (tuned)"
                    recipe = dataclasses.replace(
                        base.recipe, params={**base.recipe.params, **tr.best_params}
                    )
                    # re-run the best configuration with train scores for the leaderboard
                    res = self._cv({label: recipe})[label]
                    results[label] = res
                    tuned_flags[label] = True
            self.leaderboard = self._leaderboard(results, tuned_flags)
            self.emit("leaderboard", self.leaderboard)
            selected = (
                next(c for c in self.leaderboard["candidate"] if c != "dummy")
                if len(self.leaderboard) > 1
                else selected
            )
        self.results = results
        self.selected = selected
        self.selected_result = results[selected]
        self.recipe = self.selected_result.recipe

    # ------------------------------------------------------ threshold & calib
    def _threshold_and_calibration(self):
        res = self.selected_result
        tested = res.fold_of_row >= 0
        self.threshold = None
        self.calibration = None
        if self.task != "classification":
            return
        proba = res.oof[tested]
        y = self.y_dev[tested]
        if self.K == 2:
            score = proba[:, self.pos]
            self.threshold = choose_threshold(score, y == self.pos, self.cfg.threshold)
            prob, outcome = score, (y == self.pos).astype(float)
        else:
            prob, outcome = proba.max(axis=1), (proba.argmax(axis=1) == y).astype(float)
        table = calibration_table(prob, outcome)
        ms = MetricSet(self.task, y, proba=proba, pos=self.pos or 0)
        self.calibration = {
            "kind": "positive class" if self.K == 2 else "top label",
            "ece": expected_calibration_error(prob, outcome),
            "brier": ms.point(["brier"])["brier"],
            "table": table,
        }

    @property
    def thr(self) -> float:
        return self.threshold.threshold if self.threshold is not None else 0.5

    def _metricset(self, y, out) -> MetricSet:
        if self.task == "classification":
            return MetricSet(self.task, y, proba=out, pos=self.pos or 0, threshold=self.thr)
        return MetricSet(self.task, y, pred=out)

    def _fit(self, recipe: Recipe, X, y):
        from threadpoolctl import threadpool_limits

        cores = (
            available_cores()
            if self.cfg.n_jobs is None
            else min(self.cfg.n_jobs, available_cores())
        )
        est = limit_threads(recipe.build(), cores)
        with threadpool_limits(cores):
            est.fit(X, y)
        return est

    # --------------------------------------------------------------- holdout
    def _holdout(self):
        """The one and only use of the holdout rows."""
        with self.progress.stage("Holdout evaluation", total=4) as bar:
            hold = self.plan.holdout
            X_hold, y_hold = self.X.iloc[hold].reset_index(drop=True), self.y[hold]
            self.X_hold, self.y_hold = X_hold, y_hold
            groups_hold = None if self.groups_all is None else self.groups_all[hold]
            self.bootstrap_unit = "group" if groups_hold is not None else "row"
            self.dev_model = self._fit(self.recipe, self.X_dev, self.y_dev)
            out = predict_output(self.dev_model, X_hold, self.task, self.K)
            self.hold_out = out
            ms = self._metricset(y_hold, out)
            bar.advance()
            self.holdout_metrics = bootstrap_ci(
                ms,
                metric_names(self.task),
                groups=groups_hold,
                n_resamples=self.cfg.bootstrap,
                seed=self.cfg.seed,
            )
            bar.advance()
            self.baselines = {}
            self.dummy_hold_out = None
            for name in BASELINES:
                if name not in self.cv:
                    continue
                est = self._fit(self.cv[name].recipe, self.X_dev, self.y_dev)
                base_out = predict_output(est, X_hold, self.task, self.K)
                if name == "dummy":
                    self.dummy_hold_out = base_out
                bms = self._metricset(y_hold, base_out)
                self.baselines[name] = {"cv": self._pooled(self.cv[name]), "holdout": bms.point()}
            self.holdout_groups = None if groups_hold is None else int(pd.unique(groups_hold).size)
            if self.task == "classification":
                self.confusion = pd.crosstab(
                    pd.Categorical(y_hold, categories=range(self.K)),
                    pd.Categorical(ms.pred, categories=range(self.K)),
                    dropna=False,
                ).to_numpy()
            slice_cols = ([self.spec.group_col] if self.spec.group_col else []) + list(
                self.kinds.categorical
            )[:10]
            frame_hold = self.frame.iloc[hold].reset_index(drop=True)
            self.slices = error_slices(
                frame_hold, slice_cols, task=self.task, y=y_hold,
                proba=out if self.task == "classification" else None,
                pred=out if self.task == "regression" else None,
                threshold=self.thr, pos=self.pos or 0, primary=self.metric,
            ) if slice_cols else pd.DataFrame()  # fmt: skip
            bar.advance()
            self.importance = None
            if self.cfg.permutation_repeats > 0:
                from threadpoolctl import threadpool_limits

                from groupwise.explain import permutation_importance_table

                with threadpool_limits(available_cores()):
                    self.importance = permutation_importance_table(
                        self.dev_model, X_hold, y_hold, task=self.task, metric=self.metric, n_classes=self.K,
                        pos=self.pos or 0, n_repeats=self.cfg.permutation_repeats, seed=self.cfg.seed,
                    )  # fmt: skip
            bar.advance()
        self.emit(
            "holdout",
            {
                "metrics": self.holdout_metrics,
                "unit": self.bootstrap_unit,
                "groups": self.holdout_groups,
            },
        )

    # ---------------------------------------------------------- naive/grouped
    def _naive_vs_grouped(self):
        self.naive_vs_grouped = None
        self.improvement = None
        groups = self.groups_dev
        sel = self.selected_result
        tested = sel.fold_of_row >= 0
        if self.dummy_hold_out is not None and self.selected != "dummy":
            a = self._metricset(self.y_hold, self.hold_out)
            b = self._metricset(self.y_hold, self.dummy_hold_out)
            groups_hold = None if self.groups_all is None else self.groups_all[self.plan.holdout]
            self.improvement = paired_bootstrap_difference(
                a,
                b,
                self.metric,
                groups=groups_hold,
                n_resamples=self.cfg.bootstrap,
                seed=self.cfg.seed,
            )
            self.improvement["on"] = "holdout (selected − dummy, same resamples)"
        if self.plan.kind != "grouped" or not self.cfg.naive_cv:
            return
        folds = naive_folds(self.y_dev, self.task, self.cfg.folds, self.cfg.seed)
        with self.progress.stage("Naive (row-level) CV", total=len(folds)) as bar:
            naive = self._cv({self.selected: self.recipe}, folds, train_score=False, progress=bar)[
                self.selected
            ]
        self.naive_result = naive
        both = tested & (naive.fold_of_row >= 0)
        y = self.y_dev[both]
        g = groups[both]
        ms_naive = self._metricset(y, naive.oof[both])
        ms_grouped = self._metricset(y, sel.oof[both])
        if self.task == "classification":
            names = list(
                dict.fromkeys([self.metric, "roc_auc", "pr_auc", "balanced_accuracy", "brier"])
            )
        else:
            names = list(dict.fromkeys([self.metric, "mae", "rmse", "r2"]))
        kw = dict(groups=g, n_resamples=self.cfg.bootstrap, seed=self.cfg.seed)
        out = {
            "metrics": names,
            "unit": "group",
            "naive": bootstrap_ci(ms_naive, names, **kw),
            "grouped": bootstrap_ci(ms_grouped, names, **kw),
            "gap": {},
        }
        for m in names:
            out["gap"][m] = paired_bootstrap_difference(ms_naive, ms_grouped, m, **kw)
        out["naive_cv"] = (
            f"{'StratifiedKFold' if self.task == 'classification' else 'KFold'}, {len(folds)} folds, rows shuffled (groups ignored)"
        )
        out["grouped_cv"] = self.plan.cv_strategy
        per_group = []
        for grp in pd.unique(g):
            mask = g == grp
            ms = self._metricset(y[mask], sel.oof[both][mask])
            entry = {"group": str(grp), "rows": int(mask.sum())}
            for m in names:
                entry[m] = ms.point([m])[m]
            per_group.append(entry)
        out["per_group"] = sorted(
            per_group,
            key=lambda e: np.nan_to_num(e[self.metric], nan=-np.inf if self.greater else np.inf),
            reverse=not self.greater,
        )
        out["per_group_note"] = (
            "scores of each development group from the grouped CV's out-of-fold predictions (each group was held out)"
        )
        self.naive_vs_grouped = out

    # ---------------------------------------------------------- learning curve
    def _learning_curve(self):
        self.learning_curve = None
        if not self.cfg.learning_curve:
            return
        fractions = (0.25, 0.5)
        rng = np.random.default_rng(self.cfg.seed)
        tasks = []
        for fold, (tr, te) in enumerate(self.plan.folds):
            for frac in fractions:
                if self.groups_dev is not None and self.plan.kind == "grouped":
                    g = self.groups_dev[tr]
                    uniq = pd.unique(g)
                    k = max(1, int(round(frac * len(uniq))))
                    chosen = set(rng.choice(uniq, size=k, replace=False).tolist())
                    sub = tr[np.isin(g, list(chosen))]
                elif self.plan.kind == "time":
                    sub = tr[int(round((1 - frac) * len(tr))) :]
                else:
                    sub = np.sort(
                        rng.choice(tr, size=max(2, int(round(frac * len(tr)))), replace=False)
                    )
                if self.task == "classification" and len(np.unique(self.y_dev[sub])) < 2:
                    continue
                tasks.append((fold, frac, sub, te))
        if not tasks:
            return
        names = [self.metric]

        def fit_one(task, threads):
            fold, frac, sub, te = task
            est = limit_threads(self.recipe.build(), threads)
            est.fit(self.X_dev.iloc[sub], self.y_dev[sub])
            test = self._metricset(
                self.y_dev[te], predict_output(est, self.X_dev.iloc[te], self.task, self.K)
            ).point(names)
            rows = (
                sub
                if len(sub) <= 5000
                else np.random.default_rng(fold).choice(sub, 5000, replace=False)
            )
            train = self._metricset(
                self.y_dev[rows], predict_output(est, self.X_dev.iloc[rows], self.task, self.K)
            ).point(names)
            return {
                "fold": fold,
                "fraction": frac,
                "train_rows": len(sub),
                f"test_{self.metric}": test[self.metric],
                f"train_{self.metric}": train[self.metric],
            }

        with self.progress.stage("Learning curve", total=len(tasks)) as bar:
            rows = parallel_map(
                fit_one, tasks, n_jobs=self.cfg.n_jobs, on_done=lambda i, r: bar.advance()
            )
        for r in self.selected_result.folds:
            rows.append(
                {
                    "fold": r["fold"],
                    "fraction": 1.0,
                    "train_rows": r["n_train"],
                    f"test_{self.metric}": r[self.metric],
                    f"train_{self.metric}": r.get(f"train_{self.metric}", np.nan),
                }
            )
        self.learning_curve = (
            pd.DataFrame(rows).sort_values(["fraction", "fold"]).reset_index(drop=True)
        )

    # ------------------------------------------------------------ model checks
    def _model_checks(self):
        from groupwise.audit._base import run_checks
        from groupwise.training._checks import MODEL_CHECKS, ModelContext

        folds = pd.concat([r.fold_frame() for r in self.results.values()], ignore_index=True)
        self.fold_table = folds
        cv_scores = {
            label: float(
                self.leaderboard.loc[self.leaderboard["candidate"] == label, self.metric].iloc[0]
            )
            for label in self.leaderboard["candidate"]
        }
        ctx = ModelContext(
            task=self.task, metric=self.metric, selected=self.selected, cv=cv_scores, folds=folds,
            holdout=self.holdout_metrics, improvement_over_dummy=self.improvement,
            naive_vs_grouped=self.naive_vs_grouped, importance=self.importance, calibration=self.calibration,
            holdout_groups=self.holdout_groups,
        )  # fmt: skip
        self.model_checks = run_checks([c() for c in MODEL_CHECKS], ctx)

    # --------------------------------------------------------------- finalize
    def _finalize(self):
        with self.progress.stage("Final fit on all rows", total=1) as bar:
            self.final_model = self._fit(self.recipe, self.X, self.y)
            bar.advance()

    # ------------------------------------------------------------------ write
    def _write(self):
        from groupwise.runs._layout import new_run_id, writing_run

        run_id = new_run_id(self.task, self.cfg.seed, self.started)
        models_dir = Path(self.cfg.models_dir)
        with (
            self.progress.stage("Writing the run", total=3) as bar,
            writing_run(models_dir, run_id) as tmp,
        ):
            _write_run(self, tmp, run_id, bar)
        from groupwise.runs._run import Run

        return Run(models_dir / "runs" / run_id)


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v
