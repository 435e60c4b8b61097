"""Stages 3–4: compare every candidate on identical folds, then tune the best.

The leaderboard ranks candidates by the primary metric on pooled out-of-fold
predictions; "beats the dummy" is judged on the mean over identical folds, because
pooled scores of a dummy can be artificially poor when the class balance shifts
between grouped folds.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from groupwise._parallel import Executor
from groupwise.estimators._zoo import CANDIDATES
from groupwise.evaluation._metrics import metric_names
from groupwise.evaluation._slices import is_better, meaningful_delta
from groupwise.exceptions import DataError, GroupwiseWarning
from groupwise.model_selection import SplitPlan
from groupwise.training._config import TrainConfig
from groupwise.training._cv import (
    CVResult,
    Recipe,
    assemble,
    fold_score,
    fold_tasks,
    oof_metricset,
    run_cv,
    run_tasks,
    with_threshold,
)
from groupwise.training._prepare import BASELINES, Prepared, Rows
from groupwise.training._race import FIRST_RUNG_FACTOR, RACE_MIN_ROWS, judge_race, race_folds

__all__ = ["Comparison", "Selection", "compare_candidates", "select_model"]


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Every candidate cross-validated on the plan's folds."""

    results: Mapping[str, CVResult]
    leaderboard: pd.DataFrame
    failed: Mapping[str, str]
    #: the racing over folds: the rule, the folds raced on, who was raced out and why
    racing: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Selection:
    """The candidates (tuned ones included), the final leaderboard and the pick."""

    results: Mapping[str, CVResult]
    leaderboard: pd.DataFrame
    tuning: tuple[dict[str, Any], ...]
    selected: str
    failed: Mapping[str, str]
    #: the blend / stack comparison (members, per-fold gains, selectable or not)
    ensembles: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: the racing over folds (see groupwise.training._race)
    racing: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def result(self) -> CVResult:
        """CV result of the selected model."""
        return self.results[self.selected]

    @property
    def recipe(self) -> Recipe:
        return self.result.recipe

    def cv_scores(self, metric: str) -> dict[str, float]:
        """Pooled out-of-fold primary metric per candidate (leaderboard order)."""
        board = self.leaderboard
        return dict(zip(board["candidate"], map(float, board[metric]), strict=True))

    def fold_table(self) -> pd.DataFrame:
        """Per-fold rows of every candidate."""
        return pd.concat([r.fold_frame() for r in self.results.values()], ignore_index=True)


def pooled_scores(prep: Prepared, dev: Rows, result: CVResult, names=None) -> dict[str, float]:
    """Metrics of a CV result's pooled out-of-fold predictions."""
    ms = oof_metricset(result, dev.y, prep.task, prep.pos)
    return ms.point(names or metric_names(prep.task))


def leaderboard(
    prep: Prepared,
    dev: Rows,
    results: Mapping[str, CVResult],
    tuned: Mapping[str, bool] | None = None,
) -> pd.DataFrame:
    """Candidates ranked by the primary metric on pooled out-of-fold predictions."""
    tuned = tuned or {}
    names = metric_names(prep.task)
    metric = prep.metric
    rows = []
    for label, res in results.items():
        folds = res.fold_frame()
        row = {"candidate": label, "model": res.recipe.name, "tuned": bool(tuned.get(label, False))}
        if prep.task == "classification" and prep.n_classes == 2:
            row["threshold"] = res.threshold
        pooled = pooled_scores(prep, dev, res)
        for m in names:
            row[m] = pooled[m]
            row[f"{m}_mean"] = float(folds[m].mean())
            row[f"{m}_sd"] = float(folds[m].std(ddof=1)) if len(folds) > 1 else 0.0
        row["fit_time_mean"] = float(folds["fit_time"].mean())
        rows.append(row)
    board = pd.DataFrame(rows)
    mean_col = f"{metric}_mean"
    dummy = board.loc[board["candidate"] == "dummy", mean_col]
    dummy_score = float(dummy.iloc[0]) if len(dummy) else np.nan
    board["beats_dummy"] = [is_better(metric, s, dummy_score) for s in board[mean_col]]
    board.loc[board["candidate"] == "dummy", "beats_dummy"] = False
    board = board.sort_values(
        metric, ascending=not prep.greater, kind="stable", na_position="last"
    ).reset_index(drop=True)
    board.insert(0, "rank", np.arange(1, len(board) + 1))
    board.attrs["metric"] = metric
    board.attrs["task"] = prep.task
    return board


def operating(results: Mapping[str, CVResult], prep: Prepared, dev: Rows, strategy: str):
    """Every binary candidate at its own operating threshold (the one it would ship with)."""
    if prep.task != "classification" or prep.n_classes != 2:
        return dict(results)
    return {
        k: with_threshold(r, dev.y, pos=prep.pos, strategy=strategy) for k, r in results.items()
    }


def compare_candidates(
    prep: Prepared,
    plan: SplitPlan,
    config: TrainConfig,
    *,
    executor: Executor,
    progress,
    emit: Callable[[str, Any], None],
) -> Comparison:
    """Cross-validate every recipe on the plan's folds (identical for all)."""
    dev = prep.dev(plan)
    results, racing = _cross_validate(prep, plan, dev, config, executor=executor, progress=progress)
    if racing.get("raced_out"):
        emit("racing", racing)
    failed = {label: res.error for label, res in results.items() if res.error}
    for label, error in failed.items():
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
        emit("candidate_failed", {"candidate": label, "error": error})
    results = operating(
        {label: res for label, res in results.items() if not res.error}, prep, dev, config.threshold
    )
    board = leaderboard(prep, dev, results)
    emit("leaderboard", board)
    return Comparison(results, board, failed, racing)


def _cross_validate(
    prep: Prepared, plan: SplitPlan, dev: Rows, config: TrainConfig, *, executor, progress
):
    """Every recipe on the plan's folds, racing them when the table is large enough."""
    kw = dict(task=prep.task, n_classes=prep.n_classes, pos=prep.pos)
    raced_on = race_folds(plan.folds, dev.n) if config.race else None
    raceable = [k for k, r in prep.recipes.items() if k not in BASELINES and r.template is None]
    if raced_on is None or not raceable:
        total = len(prep.recipes) * len(plan.folds)
        with progress.stage("Cross-validating candidates", total=total) as bar:
            results = run_cv(prep.recipes, dev.X, dev.y, plan.folds, executor=executor, progress=bar, keys=dev.keys, **kw)  # fmt: skip
        why = "disabled (race=False)" if not config.race else (
            f"fewer than {RACE_MIN_ROWS} development rows or 4 folds" if raced_on is None else "no candidate to race (baselines and custom candidates always finish)"
        )  # fmt: skip
        return results, {"applies": False, "reason": why}

    def score_of(fitted, label):
        return [fold_score(prep.task, dev.y, plan.folds, res, prep.metric, prep.pos) for lab, _, res in sorted(fitted, key=lambda t: t[1]) if lab == label]  # fmt: skip

    def failed(fitted):
        return {lab for lab, _, res in fitted if "error" in res}

    # rung 1: every candidate on the largest training part; far behind there means out
    first_fold, *later = raced_on
    rung1 = fold_tasks(prep.recipes, dev.X, dev.y, plan.folds, n_classes=prep.n_classes, keys=dev.keys, only=[first_fold])  # fmt: skip
    with progress.stage(f"Cross-validating candidates (racing on fold {first_fold + 1})", total=len(rung1)) as bar:  # fmt: skip
        fitted = run_tasks(rung1, executor, bar)
    first_scores = {k: score_of(fitted, k) for k in prep.recipes}
    out = judge_race(first_scores, prep.metric, raceable, factor=FIRST_RUNG_FACTOR)
    for v in out.values():
        v["folds"] = [first_fold + 1]
    # rung 2: the others on the next raced fold; behind on both by the margin means out
    going = {k: r for k, r in prep.recipes.items() if k not in out and k not in failed(fitted)}
    rung2 = fold_tasks(going, dev.X, dev.y, plan.folds, n_classes=prep.n_classes, keys=dev.keys, only=later)  # fmt: skip
    with progress.stage(
        f"Cross-validating candidates (racing on fold {', '.join(str(f + 1) for f in later)})", total=len(rung2)
    ) as bar:  # fmt: skip
        fitted += run_tasks(rung2, executor, bar)
    scores = {k: score_of(fitted, k) for k in going}
    second = judge_race(scores, prep.metric, [k for k in raceable if k in going])
    for v in second.values():
        v["folds"] = sorted(f + 1 for f in raced_on)
    out.update(second)
    fold_scores = {k: score_of(fitted, k) for k in prep.recipes}  # in fold order
    going = {k: r for k, r in going.items() if k not in out and k not in failed(fitted)}
    rest = [f for f in range(len(plan.folds)) if f not in raced_on]
    third = fold_tasks(going, dev.X, dev.y, plan.folds, n_classes=prep.n_classes, keys=dev.keys, only=rest)  # fmt: skip
    with progress.stage(
        f"Cross-validating the {len(going)} candidates still in the race", total=len(third)
    ) as bar:
        fitted += run_tasks(third, executor, bar)
    kept = {k: r for k, r in prep.recipes.items() if k not in out}
    results = assemble(kept, [t for t in fitted if t[0] in kept], dev.y, plan.folds, **kw)
    shown = ", ".join(str(f + 1) for f in sorted(raced_on))
    info = {
        "applies": True, "folds": sorted(f + 1 for f in raced_on), "metric": prep.metric,
        "first_fold": first_fold + 1, "first_rung_factor": FIRST_RUNG_FACTOR,
        "rule": (
            f"fold {first_fold + 1} (the largest training part) first: a candidate more than "
            f"{FIRST_RUNG_FACTOR:g} margins behind the leader there is dropped; the rest also run fold "
            f"{', '.join(str(f + 1) for f in later)}, and a candidate behind the leader on each of folds "
            f"{shown} by more than the margin (0.01 for bounded metrics, 2% of the leader otherwise) is "
            f"dropped; dummy, linear and custom candidates always finish"
        ),
        "raced_out": out,
        "fold_scores": fold_scores,
        "fits_saved": sum(len(plan.folds) - len(v["folds"]) for v in out.values()),
    }  # fmt: skip
    return results, info


def select_model(
    prep: Prepared,
    plan: SplitPlan,
    comparison: Comparison,
    config: TrainConfig,
    *,
    executor: Executor,
    progress,
    emit: Callable[[str, Any], None],
) -> Selection:
    """Tune the best tunable candidates (the untuned model is kept unless tuning beats it),
    compare a blend and a stack of the best ones, and pick the best non-dummy candidate
    (an ensemble only when it beats the best single one by more than the fold noise)."""
    from groupwise.training._ensemble import ensemble_results, judge_ensembles, rejected

    board, cv = comparison.leaderboard, comparison.results
    contenders = [c for c in board["candidate"] if c != "dummy"] or ["dummy"]
    tunable = [
        c
        for c in contenders
        if cv[c].recipe.template is None and CANDIDATES[cv[c].recipe.name].space is not None
    ]
    results = dict(cv)
    tuning: list[dict[str, Any]] = []
    dev = prep.dev(plan)
    tuned_flags: dict[str, bool] = {}
    if config.tune_trials > 0 and tunable:
        from groupwise.training._tune import tune

        top = tunable[: config.tune_top]
        per = max(1, config.tune_trials // len(top))
        for name in top:
            base = cv[name]
            base_score = pooled_scores(prep, dev, base, [prep.metric])[prep.metric]
            with progress.stage(f"Tuning {name}", total=per) as bar:
                tr = tune(
                    base.recipe, dev.X, dev.y, plan.folds, metric=prep.metric, n_classes=prep.n_classes,
                    pos=prep.pos, n_trials=per, timeout=config.tune_timeout, patience=config.tune_patience,
                    seed=config.seed, executor=executor, progress=bar, threshold=config.threshold,
                )  # fmt: skip
            improved = tr.best_result is not None and is_better(
                prep.metric, tr.best_score, base_score, min_delta=meaningful_delta(base_score)
            )
            record = {
                "candidate": name,
                "trials": len(tr.trials),
                "untuned": base_score,
                "best": tr.best_score,
                "best_params": tr.best_params,
                "kept": "tuned" if improved else "untuned",
                "duration_s": tr.duration,
                "shared_preprocessing": tr.shared_preprocessing,
                "history": tr.trials,
            }
            tuning.append(record)
            emit("tuning", record)
            if improved:
                label = f"{name} (tuned)"
                recipe = dataclasses.replace(
                    base.recipe, params={**base.recipe.params, **tr.best_params}
                )
                # re-run the best configuration with train scores for the leaderboard
                results.update(operating(run_cv(
                    {label: recipe}, dev.X, dev.y, plan.folds, task=prep.task,
                    n_classes=prep.n_classes, pos=prep.pos, executor=executor,
                ), prep, dev, config.threshold))  # fmt: skip
                tuned_flags[label] = True
    # blend and stack of the best candidates, from the out-of-fold outputs (no new fits)
    board = leaderboard(prep, dev, results, tuned_flags) if tuning else board
    ens, ensembles = ensemble_results(prep, plan, results, board, config)
    results.update(operating(ens, prep, dev, config.threshold))
    if ens or tuning:
        board = leaderboard(prep, dev, results, tuned_flags)
        emit("leaderboard", board)
    ensembles = judge_ensembles(prep, results, board, ensembles)
    if ens:
        emit("ensembles", ensembles)
    skip = rejected(ensembles)
    selected = next((c for c in board["candidate"] if c != "dummy" and c not in skip), "dummy")
    return Selection(
        results, board, tuple(tuning), selected, comparison.failed, ensembles, comparison.racing
    )
