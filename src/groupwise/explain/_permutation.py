"""Permutation importance of the raw input columns, on held-out rows."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd

from groupwise._parallel import limit_fitted_threads, share_fitted
from groupwise.estimators._output import predict_output
from groupwise.evaluation._metrics import GREATER_IS_BETTER, MetricSet

__all__ = ["permutation_importance_table"]

#: Rows of the holdout used for importance (a seeded sample above this).
MAX_ROWS = 10_000
#: Seconds of predictions (estimated from the first call) above which an executor's
#: workers share the columns; below it the dispatch would cost more than it saves.
PARALLEL_SECONDS = 1.0


def permutation_importance_table(
    model,
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    task: str,
    metric: str,
    n_classes: int = 0,
    pos: int = 1,
    n_repeats: int = 5,
    seed: int = 0,
    executor=None,
) -> pd.DataFrame:
    """Drop in ``metric`` when each column is shuffled (mean and SD over repeats).

    Positive importance = the model relies on the column. Sorted, largest first. The
    ``n_repeats`` shuffles of one column are scored in one prediction call on stacked
    copies of the rows (one call per column instead of one per shuffle). With an
    ``executor`` (:mod:`groupwise._parallel`) the columns are shared out among its workers
    when the predictions would take more than :data:`PARALLEL_SECONDS`; the shuffles are
    drawn here, so the table does not depend on where they are scored.
    """
    if len(X) > MAX_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(X), MAX_ROWS, replace=False))
        X, y = X.iloc[rows], y[rows]
    X = X.reset_index(drop=True)
    n, p = X.shape
    how = (task, metric, n_classes, pos)
    t0 = time.perf_counter()
    base = _score(predict_output(model, X, task, n_classes), y, how)
    expected = (time.perf_counter() - t0) * p * n_repeats
    rng = np.random.default_rng(seed)
    perms = np.array(  # n ≤ MAX_ROWS: 32-bit positions
        [[rng.permutation(n) for _ in range(n_repeats)] for _ in range(p)], dtype=np.int32
    ).reshape(p, n_repeats, n)
    workers = 1 if executor is None or expected < PARALLEL_SECONDS else executor.workers(p)
    if workers <= 1:
        drops = _column_drops((model, X, y, list(range(p)), perms, base, how, os.getpid()), 0)
    else:
        share = getattr(executor, "share", lambda obj: obj)
        model_, X_ = share_fitted(executor, model), share(X)
        chunks = [c for c in np.array_split(np.arange(p), min(p, 2 * workers)) if len(c)]
        parts = executor.map(
            _column_drops,
            [(model_, X_, y, list(c), perms[c], base, how, os.getpid()) for c in chunks],
        )
        drops = np.concatenate(parts, axis=0)
    table = pd.DataFrame(
        {
            "feature": list(X.columns),
            "importance_mean": drops.mean(axis=1),
            "importance_std": drops.std(axis=1),
        }
    )
    table["metric"] = metric
    table["rows_used"] = len(X)
    return table.sort_values("importance_mean", ascending=False, kind="stable").reset_index(
        drop=True
    )


def _score(out, ys, how) -> float:
    task, metric, _, pos = how
    sign = 1.0 if GREATER_IS_BETTER[metric] else -1.0
    ms = (
        MetricSet(task, ys, proba=out, pos=pos)
        if task == "classification"
        else MetricSet(task, ys, pred=out)
    )
    return sign * ms.point([metric])[metric]


def _column_drops(args, threads) -> np.ndarray:
    """``(len(columns), n_repeats)`` drops of the score when each of ``columns`` (positions)
    is shuffled by its rows of ``perms``."""
    model, X, y, columns, perms, base, how, owner = args
    task, _, n_classes, _ = how
    if os.getpid() != owner:  # a worker's copy of a model fitted (and its threads set) elsewhere
        limit_fitted_threads(model, threads)
    n, n_repeats = len(X), perms.shape[1]
    copies = pd.concat([X] * n_repeats, ignore_index=True)
    same = np.tile(np.arange(n), n_repeats)
    drops = np.zeros((len(columns), n_repeats))
    for i, (j, perm) in enumerate(zip(columns, perms, strict=True)):
        col = X.columns[j]
        values = X[col].array  # keeps the column's dtype (categories, strings, dates)
        copies[col] = values.take(perm.ravel())
        out = predict_output(model, copies, task, n_classes)
        drops[i] = [base - _score(out[r * n : (r + 1) * n], y, how) for r in range(n_repeats)]
        copies[col] = values.take(same)
    return drops
