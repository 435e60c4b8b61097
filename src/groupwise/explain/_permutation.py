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

    Positive importance = the model relies on the column. Sorted, largest first.
    """
    from sklearn.inspection import permutation_importance

    if len(X) > MAX_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(X), MAX_ROWS, replace=False))
        X, y = X.iloc[rows], y[rows]
    sign = 1.0 if GREATER_IS_BETTER[metric] else -1.0

    def scorer(est, Xs, ys):
        out = predict_output(est, Xs, task, n_classes)
        ms = (
            MetricSet(task, ys, proba=out, pos=pos)
            if task == "classification"
            else MetricSet(task, ys, pred=out)
        )
        return sign * ms.point([metric])[metric]

    result = permutation_importance(
        model, X, y, scoring=scorer, n_repeats=n_repeats, random_state=seed, n_jobs=1
    )
    table = pd.DataFrame(
        {
            "feature": list(X.columns),
            "importance_mean": result.importances_mean,
            "importance_std": result.importances_std,
        }
    )
    table["metric"] = metric
    table["rows_used"] = len(X)
    return table.sort_values("importance_mean", ascending=False, kind="stable").reset_index(
        drop=True
    )
