"""Permutation importance of the raw input columns, on held-out rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from groupwise.estimators._output import predict_output
from groupwise.evaluation._metrics import GREATER_IS_BETTER, MetricSet

__all__ = ["permutation_importance_table"]

#: Rows of the holdout used for importance (a seeded sample above this).
MAX_ROWS = 10_000


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
) -> pd.DataFrame:
    """Drop in ``metric`` when each column is shuffled (mean and SD over repeats).

    Positive importance = the model relies on the column. Sorted, largest first. The
    ``n_repeats`` shuffles of one column are scored in one prediction call on stacked
    copies of the rows (one call per column instead of one per shuffle).
    """
    if len(X) > MAX_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(X), MAX_ROWS, replace=False))
        X, y = X.iloc[rows], y[rows]
    X = X.reset_index(drop=True)
    n, sign = len(X), 1.0 if GREATER_IS_BETTER[metric] else -1.0

    def score(out, ys):
        ms = (
            MetricSet(task, ys, proba=out, pos=pos)
            if task == "classification"
            else MetricSet(task, ys, pred=out)
        )
        return sign * ms.point([metric])[metric]

    base = score(predict_output(model, X, task, n_classes), y)
    rng = np.random.default_rng(seed)
    copies = pd.concat([X] * n_repeats, ignore_index=True)
    same = np.tile(np.arange(n), n_repeats)
    drops = np.zeros((X.shape[1], n_repeats))
    for j, col in enumerate(X.columns):
        values = X[col].array  # keeps the column's dtype (categories, strings, dates)
        copies[col] = values.take(np.concatenate([rng.permutation(n) for _ in range(n_repeats)]))
        out = predict_output(model, copies, task, n_classes)
        drops[j] = [base - score(out[r * n : (r + 1) * n], y) for r in range(n_repeats)]
        copies[col] = values.take(same)
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
