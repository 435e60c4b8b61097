"""Permutation importance of the raw input columns, on held-out rows."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd

from groupwise._parallel import limit_fitted_threads, share_fitted
from groupwise.estimators._output import predict_output
from groupwise.evaluation._metrics import GREATER_IS_BETTER, MetricSet

__all__ = ["MIN_REPEATS", "ROW_BUDGET", "permutation_importance_table", "repeats_for"]

#: Rows of the holdout used for importance (a seeded sample above this).
MAX_ROWS = 10_000
#: Shuffled rows scored per column: a column is shuffled as many times as it takes to
#: reach this many rows (the SD of its mean drop shrinks with rows × shuffles), but at
#: least :data:`MIN_REPEATS` times and at most ``n_repeats`` times.
ROW_BUDGET = 8_000
MIN_REPEATS = 3
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

    Positive importance = the model relies on the column. Sorted, largest first. Each
    column is shuffled :func:`repeats_for` ``(rows, n_repeats)`` times: with the default
    5, 5 times on fewer than 2,000 rows, 4 on up to 2,666 and 3 on more, so that the work
    stops growing once 8,000 shuffled rows per column make the mean drop precise
    (``benchmarks/bench_importance.py`` measures the rankings against 20 shuffles). The
    table records ``repeats`` and ``rows_used``. The shuffles of one column are scored in
    one prediction call on stacked copies of the rows (one call per column, not one per
    shuffle). With an
    ``executor`` (:mod:`groupwise._parallel`) the (column, shuffle) pairs are shared out
    among its workers in equal runs when the predictions would take more than
    :data:`PARALLEL_SECONDS` (15 columns on 2 workers split by whole columns leave one
    worker 8 columns and the other 7); the shuffles are drawn here, so the table does not
    depend on where they are scored.
    """
    if len(X) > MAX_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(X), MAX_ROWS, replace=False))
        X, y = X.iloc[rows], y[rows]
    X = X.reset_index(drop=True)
    n, p = X.shape
    n_repeats = repeats_for(n, n_repeats)
    how = (task, metric, n_classes, pos)
    t0 = time.perf_counter()
    base = _score(predict_output(model, X, task, n_classes), y, how)
    expected = (time.perf_counter() - t0) * p * n_repeats
    rng = np.random.default_rng(seed)
    perms = np.array(  # n ≤ MAX_ROWS: 32-bit positions
        [[rng.permutation(n) for _ in range(n_repeats)] for _ in range(p)], dtype=np.int32
    ).reshape(p, n_repeats, n)
    units = p * n_repeats
    workers = 1 if executor is None or expected < PARALLEL_SECONDS else executor.workers(units)
    drops = np.zeros((p, n_repeats))
    if workers <= 1:
        runs = [_units(0, units, n_repeats)]
        parts = [_column_drops((model, X, y, runs[0], perms, base, how, os.getpid()), 0)]
    else:
        share = getattr(executor, "share", lambda obj: obj)
        model_, X_ = share_fitted(executor, model), share(X)
        runs = _share_out(p, n_repeats, min(units, 2 * workers))
        parts = executor.map(
            _column_drops,
            [(model_, X_, y, run, perms[[j for j, _, _ in run]], base, how, os.getpid()) for run in runs],
        )  # fmt: skip
    for run, part in zip(runs, parts, strict=True):
        for (j, r0, r1), d in zip(run, part, strict=True):
            drops[j, r0:r1] = d
    table = pd.DataFrame(
        {
            "feature": list(X.columns),
            "importance_mean": drops.mean(axis=1),
            "importance_std": drops.std(axis=1),
        }
    )
    table["metric"] = metric
    table["rows_used"] = len(X)
    table["repeats"] = n_repeats
    return table.sort_values("importance_mean", ascending=False, kind="stable").reset_index(
        drop=True
    )


def repeats_for(rows: int, n_repeats: int) -> int:
    """Shuffles per column on ``rows`` rows: enough for :data:`ROW_BUDGET` shuffled rows,
    between :data:`MIN_REPEATS` and ``n_repeats`` (``n_repeats`` itself when it is
    smaller)."""
    if n_repeats <= MIN_REPEATS or rows <= 0:
        return n_repeats
    return int(min(n_repeats, max(MIN_REPEATS, -(-ROW_BUDGET // rows))))


def _score(out, ys, how) -> float:
    task, metric, _, pos = how
    sign = 1.0 if GREATER_IS_BETTER[metric] else -1.0
    ms = (
        MetricSet(task, ys, proba=out, pos=pos)
        if task == "classification"
        else MetricSet(task, ys, pred=out)
    )
    return sign * ms.point([metric])[metric]


def _share_out(p: int, n_repeats: int, chunks: int) -> list[list[tuple[int, int, int]]]:
    """The ``p * n_repeats`` (column, shuffle) units in ``chunks`` runs of equal length
    (±1), each as its :func:`_units`."""
    edges = np.linspace(0, p * n_repeats, chunks + 1).round().astype(int)
    return [_units(a, b, n_repeats) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _units(start: int, stop: int, n_repeats: int) -> list[tuple[int, int, int]]:
    """The (column, first shuffle, end shuffle) runs of units ``start:stop``, where unit
    ``u`` is shuffle ``u % n_repeats`` of column ``u // n_repeats``."""
    out = []
    for j in range(start // n_repeats, (stop - 1) // n_repeats + 1):
        out.append((j, max(start - j * n_repeats, 0), min(stop - j * n_repeats, n_repeats)))
    return out


def _column_drops(args, threads) -> list[np.ndarray]:
    """The drops of the score for each ``(column, r0, r1)`` of ``run``: column ``j``
    (a position) shuffled by its rows ``r0:r1`` of ``perms`` (one block per run item)."""
    model, X, y, run, perms, base, how, owner = args
    task, _, n_classes, _ = how
    if os.getpid() != owner:  # a worker's copy of a model fitted (and its threads set) elsewhere
        limit_fitted_threads(model, threads)
    n, stacked = len(X), {}
    drops = []
    for (j, r0, r1), perm in zip(run, perms, strict=True):
        k = r1 - r0
        if k not in stacked:
            stacked[k] = (pd.concat([X] * k, ignore_index=True), np.tile(np.arange(n), k))
        copies, same = stacked[k]
        col = X.columns[j]
        values = X[col].array  # keeps the column's dtype (categories, strings, dates)
        copies[col] = values.take(perm[r0:r1].ravel())
        out = predict_output(model, copies, task, n_classes)
        drops.append(np.array([base - _score(out[r * n : (r + 1) * n], y, how) for r in range(k)]))
        copies[col] = values.take(same)
    return drops
