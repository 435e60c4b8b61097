"""Accuracy and interval quality by how much training data a prediction rests on."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SUPPORT_BINS", "evaluate_by_support"]

#: (label, low, high) inclusive bounds on the training rows of a row's group; −1 marks a
#: cold start (even the top key, e.g. the compound, was not seen in training).
SUPPORT_BINS = (
    ("cold start", -1, -1),
    ("unseen", 0, 0),
    ("1-2", 1, 2),
    ("3-5", 3, 5),
    ("6-20", 6, 20),
    (">20", 21, np.inf),
)


def evaluate_by_support(y_true, y_pred, support, y_std=None) -> pd.DataFrame:
    """MAE per bin of training support, and with ``y_std`` 95% coverage and z-score SD.

    Parameters
    ----------
    y_true, y_pred : array-like
        Targets and point predictions.
    support : array-like of int
        Training rows of each row's group (0 = the group was not seen in training; −1 =
        a cold start: its top key was not seen either, see
        ``PartialPoolingRegressor.support``).
    y_std : array-like, default=None
        Predictive standard deviations. Coverage is the share of rows with
        |y − ŷ| ≤ 1.96·sd; ``z_sd`` the SD of (y − ŷ)/sd (1 for calibrated intervals).

    Returns
    -------
    DataFrame
        One row per bin (unseen, 1-2, 3-5, 6-20, >20; first "cold start" when some
        support is −1) and ``overall``: ``rows``,
        ``mae`` and, with ``y_std``, ``coverage95`` and ``z_sd``. Empty bins have NaN.
    """
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    support = np.asarray(support)
    err = y_true - y_pred
    z = None if y_std is None else err / np.asarray(y_std, dtype=float)
    rows = []
    bins = [
        (label, (support >= lo) & (support <= hi))
        for label, lo, hi in SUPPORT_BINS
        if label != "cold start" or (support < 0).any()  # only when there are cold starts
    ]
    bins.append(("overall", np.ones(len(err), dtype=bool)))
    for label, mask in bins:
        row = {
            "support": label,
            "rows": int(mask.sum()),
            "mae": float(np.mean(np.abs(err[mask]))) if mask.any() else np.nan,
        }
        if z is not None:
            row["coverage95"] = float(np.mean(np.abs(z[mask]) <= 1.96)) if mask.any() else np.nan
            row["z_sd"] = float(np.std(z[mask])) if mask.sum() > 1 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
