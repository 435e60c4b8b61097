"""Learning curves: the selected pipeline on growing shares of each training fold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["LEARNING_FRACTIONS", "learning_curve_plan", "learning_curve_table"]

#: Shares of each training fold the learning curve fits on (the full fold comes from CV).
LEARNING_FRACTIONS = (0.25, 0.5)


def learning_curve_plan(
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    y: np.ndarray,
    *,
    task: str,
    kind: str,
    groups: np.ndarray | None = None,
    seed: int = 0,
    fractions: Sequence[float] = LEARNING_FRACTIONS,
) -> list[tuple[int, float, np.ndarray, np.ndarray]]:
    """``(fold, fraction, train rows, test rows)`` for every learning-curve fit.

    Subsets keep the plan's unit: whole groups for grouped plans, the most recent
    rows for time plans, random rows otherwise. Classification subsets with a single
    class are skipped.
    """
    rng = np.random.default_rng(seed)
    tasks = []
    for fold, (tr, te) in enumerate(folds):
        for frac in fractions:
            if groups is not None and kind == "grouped":
                g = groups[tr]
                uniq = pd.unique(g)
                k = max(1, int(round(frac * len(uniq))))
                chosen = set(rng.choice(uniq, size=k, replace=False).tolist())
                sub = tr[np.isin(g, list(chosen))]
            elif kind == "time":
                sub = tr[int(round((1 - frac) * len(tr))) :]
            else:
                sub = np.sort(
                    rng.choice(tr, size=max(2, int(round(frac * len(tr)))), replace=False)
                )
            if task == "classification" and len(np.unique(y[sub])) < 2:
                continue
            tasks.append((fold, frac, sub, te))
    return tasks


def learning_curve_table(
    points: Sequence[dict[str, Any]], full_folds: Sequence[dict[str, Any]], metric: str
) -> pd.DataFrame:
    """One row per (fraction, fold): train rows, test and train ``metric``.

    ``points`` are the fitted subsets; ``full_folds`` the CV's own per-fold rows
    (fraction 1.0).
    """
    rows = list(points)
    for r in full_folds:
        rows.append(
            {
                "fold": r["fold"],
                "fraction": 1.0,
                "train_rows": r["n_train"],
                f"test_{metric}": r[metric],
                f"train_{metric}": r.get(f"train_{metric}", np.nan),
            }
        )
    return pd.DataFrame(rows).sort_values(["fraction", "fold"]).reset_index(drop=True)
