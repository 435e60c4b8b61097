"""Hyper-parameter tuning with Optuna (TPE, seeded) on the same CV folds.

Trials run in batches of one per worker (ask/tell): each worker runs a whole trial's
folds in sequence, so fast models are not dominated by per-fold dispatch overhead.
The batches are deterministic for a given seed.

When the search changes only the pipeline's model step (every built-in space does), the
steps before it are fitted once per fold and their outputs shared by every trial: each
trial then fits only its model on the transformed fold. The out-of-fold predictions are
the ones the whole pipeline gives (the same steps, fitted on the same rows), so this
changes the cost, not the result; it is skipped when the transformed folds would exceed
:data:`SHARED_BYTES`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

import numpy as np

from groupwise._parallel import Executor, LocalExecutor, limit_threads
from groupwise.estimators._zoo import CANDIDATES
from groupwise.evaluation._metrics import GREATER_IS_BETTER, THRESHOLD_METRICS
from groupwise.evaluation._slices import is_better, meaningful_delta
from groupwise.training._cv import (
    CVResult,
    Recipe,
    assemble,
    fit_and_score,
    oof_metricset,
    run_cv,
    with_threshold,
)

#: Largest total size of the transformed folds shared by the trials (bytes, estimated
#: from a small sample before any fold is transformed).
SHARED_BYTES = 256 * 2**20
#: Rows the size estimate transforms.
_PROBE_ROWS = 500

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
    #: whether the steps before the model were fitted once per fold for all trials
    shared_preprocessing: bool = False


def _model_step(recipe: Recipe):
    """``(pipeline, name of its last step)`` when ``recipe`` builds a pipeline with steps
    before its model that trials could share, else None."""
    from sklearn.pipeline import Pipeline

    if recipe.takes_keys:
        return None
    est = recipe.build()
    if not isinstance(est, Pipeline) or len(est.steps) < 2:
        return None
    return est, est.steps[-1][0]


def _nbytes(Z) -> int:
    """Memory held by a transformed block of rows (a frame, an array or a sparse matrix)."""
    import pandas as pd
    import scipy.sparse

    if isinstance(Z, pd.DataFrame):
        return int(Z.memory_usage(index=True, deep=True).sum())
    if scipy.sparse.issparse(Z):
        Z = Z.tocsr()
        return int(Z.data.nbytes + Z.indices.nbytes + Z.indptr.nbytes)
    return int(np.asarray(Z).nbytes)


def _transform_fold(args, threads):
    """The steps before the model, fitted on one fold's training rows: the transformed
    training and test rows."""
    recipe, X, y, tr, te = args
    prefix = limit_threads(recipe.build(), threads)[:-1]
    return prefix.fit_transform(X.iloc[tr], y[tr]), prefix.transform(X.iloc[te])


def shared_folds(recipe: Recipe, params: dict, X, y, folds, executor: Executor):
    """Every fold's transformed ``(train, test)`` rows when the trials' ``params`` touch
    only the model step and the result fits in :data:`SHARED_BYTES`; else None."""
    built = _model_step(recipe)
    if built is None or not folds:
        return None
    est, last = built
    if not params or not all(k.startswith(f"{last}__") for k in params):
        return None
    tr0 = folds[0][0][:_PROBE_ROWS]
    try:
        probe = est[:-1].fit_transform(X.iloc[tr0], y[tr0])
    except Exception:  # the trials' own fits will report what fails
        return None
    per_row = _nbytes(probe) / max(1, len(tr0))
    if per_row * sum(len(tr) + len(te) for tr, te in folds) > SHARED_BYTES:
        return None
    try:
        return executor.map(_transform_fold, [(recipe, X, y, tr, te) for tr, te in folds])
    except Exception:
        return None


def _trial_cv(args, threads):
    """All folds of one trial, in sequence, inside one worker."""
    recipe, X, y, folds, n_classes, pos, shared = args
    if shared is not None:
        fitted = []
        for fold, ((tr, _), (Ztr, Zte)) in enumerate(zip(folds, shared, strict=True)):
            model = limit_threads(recipe.build(), threads).steps[-1][1]
            fitted.append((recipe.name, fold, fit_and_score(recipe, model, Ztr, y[tr], Zte, n_classes, fold)))  # fmt: skip
        return assemble({recipe.name: recipe}, fitted, y, folds, task=recipe.task, n_classes=n_classes, pos=pos)[recipe.name]  # fmt: skip
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
    shared, share_checked = None, False
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
        if not share_checked:
            share_checked = True
            shared = shared_folds(recipe, params[0], X, y, folds, executor)
            if shared is not None and hasattr(executor, "share"):
                shared = executor.share(shared)
        rows = X if shared is None else None  # a trial on the shared folds needs no table
        tasks = [
            (dataclasses.replace(recipe, params={**recipe.params, **p}), rows, y, folds, n_classes, pos, shared)
            for p in params
        ]  # fmt: skip
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
        shared_preprocessing=shared is not None,
    )
