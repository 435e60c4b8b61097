"""Hyper-parameter tuning with Optuna (TPE, seeded) on the same CV folds.

Trials run in batches of one per worker (ask/tell): each worker runs a whole trial's
folds in sequence, so fast models are not dominated by per-fold dispatch overhead.
The batches are deterministic for a given seed.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

import numpy as np

from groupwise._parallel import Executor, LocalExecutor
from groupwise.estimators._zoo import CANDIDATES
from groupwise.evaluation._metrics import GREATER_IS_BETTER, THRESHOLD_METRICS
from groupwise.evaluation._slices import is_better, meaningful_delta
from groupwise.training._cv import CVResult, Recipe, oof_metricset, run_cv, with_threshold

__all__ = ["TuneResult", "tune"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TuneResult:
    candidate: str
    best_params: dict[str, Any]
    best_score: float
    best_result: CVResult | None
    trials: list[dict[str, Any]]
    duration: float


def _trial_cv(args, threads):
    """All folds of one trial, in sequence, inside one worker."""
    recipe, X, y, folds, n_classes, pos = args
    return run_cv(
        {recipe.name: recipe},
        X,
        y,
        folds,
        task=recipe.task,
        n_classes=n_classes,
        pos=pos,
        executor=LocalExecutor(1),
        train_score=False,
    )[recipe.name]


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
    patience: int | None = None,
    seed: int,
    executor: Executor | None = None,
    progress=None,
    threshold: str = "max_f1",
) -> TuneResult:
    """Search the candidate's space; each trial is scored on the pooled OOF ``metric``.

    Stops after ``n_trials``, after ``timeout`` seconds, or once ``patience`` trials in a
    row have not improved the best score (a small space converges long before the budget).
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = CANDIDATES[recipe.name].space
    maximize = GREATER_IS_BETTER[metric]
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(8, max(2, n_trials // 3)))
    study = optuna.create_study(direction="maximize" if maximize else "minimize", sampler=sampler)
    executor = executor or LocalExecutor()
    workers = executor.workers(n_trials)
    best: dict[str, Any] = {"score": None, "result": None, "params": {}}
    history: list[dict[str, Any]] = []
    start = time.perf_counter()
    done = 0
    since_best = 0
    while done < n_trials:
        if timeout is not None and time.perf_counter() - start >= timeout:
            break
        if patience is not None and since_best >= patience:
            logger.info(
                "tuning %s stopped after %d trials without improvement", recipe.name, since_best
            )
            break
        batch = [study.ask() for _ in range(min(workers, n_trials - done))]
        params = [space(t, recipe.task) for t in batch]
        tasks = [
            (
                dataclasses.replace(recipe, params={**recipe.params, **p}),
                X,
                y,
                folds,
                n_classes,
                pos,
            )
            for p in params
        ]
        results = executor.map(_trial_cv, tasks)
        for trial, p, result in zip(batch, params, results, strict=True):
            if n_classes == 2 and metric in THRESHOLD_METRICS and not result.error:
                result = with_threshold(result, y, pos=pos, strategy=threshold)
            score = (
                np.nan
                if result.error
                else oof_metricset(result, y, recipe.task, pos).point([metric])[metric]
            )
            if not np.isfinite(score):
                score = -np.inf if maximize else np.inf
            study.tell(trial, score)
            if best["score"] is None or is_better(metric, score, best["score"]):
                # patience counts trials without a meaningful gain, not tiny numerical ones
                gained = best["score"] is None or is_better(
                    metric, score, best["score"], min_delta=meaningful_delta(best["score"])
                )
                best.update(score=score, result=result, params=p)
                since_best = 0 if gained else since_best + 1
            else:
                since_best += 1
            history.append(
                {
                    "number": trial.number,
                    "score": float(score),
                    "params": p,
                    "fit_time": result.fit_time,
                }
            )
            if progress is not None:
                progress.advance()
        done += len(batch)
    return TuneResult(
        candidate=recipe.name,
        best_params=best["params"],
        best_score=float(best["score"]) if best["score"] is not None else float("nan"),
        best_result=best["result"],
        trials=history,
        duration=time.perf_counter() - start,
    )
