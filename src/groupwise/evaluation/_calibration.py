"""Calibration of predicted probabilities."""

from __future__ import annotations

import numpy as np

__all__ = ["calibration_table", "expected_calibration_error"]


def calibration_table(
    prob: np.ndarray, outcome: np.ndarray, n_bins: int = 10
) -> dict[str, list[float]]:
    """Mean predicted probability vs observed frequency in quantile bins."""
    prob = np.asarray(prob, dtype=float)
    outcome = np.asarray(outcome, dtype=float)
    edges = np.unique(np.quantile(prob, np.linspace(0, 1, n_bins + 1)))
    if len(edges) < 2:
        return {
            "mean_predicted": [float(prob.mean())],
            "observed": [float(outcome.mean())],
            "count": [len(prob)],
        }
    bins = np.clip(np.searchsorted(edges, prob, side="right") - 1, 0, len(edges) - 2)
    counts = np.bincount(bins, minlength=len(edges) - 1)
    keep = counts > 0
    mean_p = np.bincount(bins, weights=prob, minlength=len(edges) - 1)[keep] / counts[keep]
    obs = np.bincount(bins, weights=outcome, minlength=len(edges) - 1)[keep] / counts[keep]
    return {
        "mean_predicted": mean_p.tolist(),
        "observed": obs.tolist(),
        "count": counts[keep].tolist(),
    }


def expected_calibration_error(prob: np.ndarray, outcome: np.ndarray, n_bins: int = 10) -> float:
    """Count-weighted mean |observed − predicted| over quantile bins."""
    t = calibration_table(prob, outcome, n_bins)
    c = np.asarray(t["count"], dtype=float)
    return float(
        np.sum(c * np.abs(np.asarray(t["observed"]) - np.asarray(t["mean_predicted"]))) / c.sum()
    )
