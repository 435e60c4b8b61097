"""Naive (row-level) vs grouped cross-validation: how much a random split flatters the model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from groupwise.evaluation._intervals import interval_method, metric_intervals, paired_interval
from groupwise.evaluation._metrics import GREATER_IS_BETTER, MetricSet

__all__ = ["naive_vs_grouped_gap"]


def naive_vs_grouped_gap(
    *,
    task: str,
    metric: str,
    y: np.ndarray,
    naive: np.ndarray,
    grouped: np.ndarray,
    groups: np.ndarray,
    pos: int = 1,
    threshold: float = 0.5,
    n_resamples: int = 2000,
    seed: int = 0,
    naive_cv: str = "",
    grouped_cv: str = "",
) -> dict[str, Any]:
    """Compare out-of-fold predictions of the same pipeline under naive and grouped CV.

    Parameters
    ----------
    y : array
        Targets (class codes or values) of the rows both CVs tested.
    naive, grouped : array
        Out-of-fold outputs (probabilities or predictions) of those rows.
    groups : array
        Group of each row; intervals leave out whole groups, paired between the two.

    Returns
    -------
    dict
        ``metrics``, ``naive`` and ``grouped`` (estimates with CIs), ``gap`` (paired CI
        of naive − grouped), ``per_group`` scores from the grouped CV, and the CV names.
    """
    ms_naive = MetricSet.from_output(task, y, naive, pos=pos, threshold=threshold)
    ms_grouped = MetricSet.from_output(task, y, grouped, pos=pos, threshold=threshold)
    if task == "classification":
        names = list(dict.fromkeys([metric, "roc_auc", "pr_auc", "balanced_accuracy", "brier"]))
    else:
        names = list(dict.fromkeys([metric, "mae", "rmse", "r2"]))
    kw = dict(groups=groups, n_resamples=n_resamples, seed=seed)
    out: dict[str, Any] = {
        "metrics": names,
        "unit": "group",
        "naive": metric_intervals(ms_naive, names, **kw),
        "grouped": metric_intervals(ms_grouped, names, **kw),
        "gap": {m: paired_interval(ms_naive, ms_grouped, m, **kw) for m in names},
        "method": interval_method(groups),
        "naive_cv": naive_cv,
        "grouped_cv": grouped_cv,
    }
    greater = GREATER_IS_BETTER[metric]
    per_group = []
    for grp in pd.unique(groups):
        mask = groups == grp
        ms = MetricSet.from_output(task, y[mask], grouped[mask], pos=pos, threshold=threshold)
        entry = {"group": str(grp), "rows": int(mask.sum())}
        for m in names:
            entry[m] = ms.point([m])[m]
        per_group.append(entry)
    out["per_group"] = sorted(
        per_group,
        key=lambda e: np.nan_to_num(e[metric], nan=-np.inf if greater else np.inf),
        reverse=not greater,
    )
    out["per_group_note"] = (
        "scores of each development group from the grouped CV's out-of-fold predictions (each group was held out)"
    )
    return out
