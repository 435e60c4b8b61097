"""Error slices: where on the holdout the model does worst."""

from __future__ import annotations

import numpy as np
import pandas as pd

from groupwise.evaluation._metrics import GREATER_IS_BETTER, MetricSet

__all__ = ["error_slices"]


def error_slices(
    frame: pd.DataFrame,
    columns: list[str],
    *,
    task: str,
    y: np.ndarray,
    proba: np.ndarray | None = None,
    pred: np.ndarray | None = None,
    threshold: float = 0.5,
    pos: int = 1,
    primary: str | None = None,
    min_rows: int = 5,
    max_levels: int = 30,
) -> pd.DataFrame:
    """One row per (column, level) with rows, error measure and the primary metric.

    Classification uses the error rate at ``threshold`` (binary) or argmax; regression
    the MAE. Levels with fewer than ``min_rows`` rows are pooled as ``"(rare levels)"``;
    only the ``max_levels`` most frequent levels are kept. Worst slices first.
    """
    rows = []
    for col in columns:
        values = frame[col].astype(object).where(frame[col].notna(), "(missing)").astype(str)
        counts = values.value_counts()
        keep = counts.index[(counts >= min_rows)][:max_levels]
        values = values.where(values.isin(keep), "(rare levels)")
        for level in values.unique():
            mask = (values == level).to_numpy()
            if mask.sum() == 0:
                continue
            if task == "classification":
                ms = MetricSet(task, y[mask], proba=proba[mask], pos=pos, threshold=threshold)
                err = 1.0 - ms.point(["accuracy"])["accuracy"]
                row = {"column": col, "level": level, "rows": int(mask.sum()), "error_rate": err}
            else:
                ms = MetricSet(task, y[mask], pred=pred[mask])
                row = {
                    "column": col,
                    "level": level,
                    "rows": int(mask.sum()),
                    "mae": ms.point(["mae"])["mae"],
                }
            if primary and primary not in row:
                value = ms.point([primary])[primary]
                row[primary] = value
            rows.append(row)
    if not rows:
        return pd.DataFrame(columns=["column", "level", "rows"])
    out = pd.DataFrame(rows)
    key = "error_rate" if task == "classification" else "mae"
    return out.sort_values([key, "rows"], ascending=[False, False], kind="stable").reset_index(
        drop=True
    )


def is_better(metric: str, a: float, b: float, *, min_delta: float = 0.0) -> bool:
    """True if ``a`` is better than ``b`` for ``metric`` by more than ``min_delta``."""
    if np.isnan(a):
        return False
    if np.isnan(b):
        return True
    return a > b + min_delta if GREATER_IS_BETTER[metric] else a < b - min_delta


def meaningful_delta(score: float) -> float:
    """Smallest improvement worth acting on: 1e-4, relative for scores above 1."""
    return 1e-4 * max(1.0, abs(score)) if np.isfinite(score) else 0.0
