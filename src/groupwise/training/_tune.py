"""Hyper-parameter tuning with Optuna (TPE, seeded) on the same CV folds."""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

import numpy as np

from groupwise.estimators._zoo import CANDIDATES
from groupwise.evaluation._metrics import GREATER_IS_BETTER
from groupwise.training._cv import CVResult, Recipe, oof_metricset, run_cv

__all__ = ["TuneResult", "tune"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class TuneResult:
    candidate: str
    best_params: dict[str, Any]
    best_score: float
    best_result: CVResult | None
    trials: list[dict[str, Any]]
    duration: float


def tune(
    recipe: Recipe,
    X,
    y: np.ndarray,
    folds,
    *,
    metric: str,
    n_classes: int,
    pos: int,
    n_trials: int,
    timeout: float | None,
    seed: int,
    n_jobs: int | None,
    progress=None,
) -> TuneResult:
    """Search the candidate's space; each trial is scored on the pooled OOF ``metric``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = CANDIDATES[recipe.name].space
    direction = "maximize" if GREATER_IS_BETTER[metric] else "minimize"
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(8, max(2, n_trials // 3)))
    study = optuna.create_study(direction=direction, sampler=sampler)
    best: dict[str, Any] = {"score": None, "result": None}
    trials: list[dict[str, Any]] = []
    start = time.perf_counter()

    def objective(trial):
        params = space(trial, recipe.task)
        trial_recipe = dataclasses.replace(recipe, params={**recipe.params, **params})
        result = run_cv(
            {recipe.name: trial_recipe},
            X,
            y,
            folds,
            task=recipe.task,
            n_classes=n_classes,
            pos=pos,
            n_jobs=n_jobs,
            train_score=False,
        )[recipe.name]
        score = oof_metricset(result, y, recipe.task, pos).point([metric])[metric]
        if not np.isfinite(score):
            score = -np.inf if direction == "maximize" else np.inf
        better = best["score"] is None or (
            score > best["score"] if direction == "maximize" else score < best["score"]
        )
        if better:
            best.update(score=score, result=result, params=params)
        trials.append(
            {
                "number": trial.number,
                "score": float(score),
                "params": params,
                "fit_time": result.fit_time,
            }
        )
        if progress is not None:
            progress.advance()
        return score

    study.optimize(objective, n_trials=n_trials, timeout=timeout, gc_after_trial=False)
    return TuneResult(
        candidate=recipe.name,
        best_params=best.get("params", {}),
        best_score=float(best["score"]) if best["score"] is not None else float("nan"),
        best_result=best["result"],
        trials=trials,
        duration=time.perf_counter() - start,
    )
