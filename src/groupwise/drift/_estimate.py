"""Performance estimated without labels.

Binary classifiers: the score is mapped to a calibrated probability (an isotonic map fit
on the run's out-of-fold scores and labels), and every metric is its expectation when
each row's label is drawn with that probability (confidence-based estimation). This
holds when the relation between features and label is unchanged (covariate shift only)
and the map is calibrated; a concept shift is invisible to it.

Regression: the expected absolute and squared error given the prediction, from the
out-of-fold residuals binned by predicted value — an estimate, not a measurement.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["calibration_map", "estimate_classification", "estimate_regression", "error_map"]

_EPS = 1e-15
#: Knots of the stored calibration map.
CALIBRATION_KNOTS = 201


def calibration_map(score: np.ndarray, positive: np.ndarray) -> dict[str, list[float]]:
    """An isotonic map from score to probability of the positive class, as knots."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    iso.fit(score, positive.astype(np.float64))
    grid = np.unique(np.quantile(score, np.linspace(0, 1, CALIBRATION_KNOTS)))
    return {"score": grid.tolist(), "probability": iso.predict(grid).tolist()}


def _calibrated(score: np.ndarray, cmap: dict[str, list[float]]) -> np.ndarray:
    return np.interp(score, cmap["score"], cmap["probability"])


def _expected_auc(p: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """Expected ROC-AUC and average precision when labels ~ Bernoulli(p)."""
    order = np.argsort(-score, kind="stable")
    s, pp = score[order], p[order]
    # collapse tied scores: a tie counts half in the ROC and as one step in the PR curve
    last = np.r_[s[1:] != s[:-1], True]
    tp = np.cumsum(pp)[last]
    fp = np.cumsum(1 - pp)[last]
    P, Nn = tp[-1], fp[-1]
    if P <= _EPS or Nn <= _EPS:
        return float("nan"), float("nan")
    tpr = np.r_[0.0, tp / P]
    fpr = np.r_[0.0, fp / Nn]
    auc = float(np.sum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2))
    precision = tp / np.maximum(tp + fp, _EPS)
    ap = float(np.sum((tpr[1:] - tpr[:-1]) * precision))
    return auc, ap


def estimate_classification(
    score: np.ndarray, cmap: dict[str, list[float]], threshold: float
) -> dict[str, float]:
    """Expected binary metrics of rows with positive-class ``score`` at ``threshold``."""
    score = np.asarray(score, dtype=np.float64)
    if len(score) == 0:
        return {}
    p = _calibrated(score, cmap)
    pred = score >= threshold
    tp, fp = p[pred].sum(), (1 - p[pred]).sum()
    fn, tn = p[~pred].sum(), (1 - p[~pred]).sum()
    n = len(score)
    recall = tp / (tp + fn) if tp + fn > _EPS else np.nan
    specificity = tn / (tn + fp) if tn + fp > _EPS else np.nan
    precision = tp / (tp + fp) if tp + fp > _EPS else np.nan
    auc, ap = _expected_auc(p, score)
    s = np.clip(score, _EPS, 1 - _EPS)
    return {
        "roc_auc": auc,
        "pr_auc": ap,
        "accuracy": float((tp + tn) / n),
        "balanced_accuracy": float((recall + specificity) / 2),
        "f1": float(2 * tp / (2 * tp + fp + fn)) if tp > _EPS else 0.0,
        "precision": float(precision),
        "recall": float(recall),
        "brier": float(np.mean(p * (1 - score) ** 2 + (1 - p) * score**2)),
        "log_loss": float(-np.mean(p * np.log(s) + (1 - p) * np.log(1 - s))),
        "prevalence": float(p.mean()),
        "predicted_positive_share": float(pred.mean()),
    }


def error_map(prediction: np.ndarray, y: np.ndarray, bins: int = 20) -> dict[str, Any]:
    """Mean absolute and squared out-of-fold error per bin of the predicted value."""
    r = y - prediction
    edges = np.unique(np.quantile(prediction, np.linspace(0, 1, bins + 1)[1:-1]))
    codes = np.searchsorted(edges, prediction, side="left")
    K = len(edges) + 1
    n = np.bincount(codes, minlength=K).astype(np.float64)
    ab = np.bincount(codes, weights=np.abs(r), minlength=K) / np.maximum(n, 1)
    sq = np.bincount(codes, weights=r * r, minlength=K) / np.maximum(n, 1)
    # an empty bin borrows the overall mean
    ab[n == 0], sq[n == 0] = np.abs(r).mean(), (r * r).mean()
    return {"edges": edges.tolist(), "abs_error": ab.tolist(), "squared_error": sq.tolist()}


def estimate_regression(prediction: np.ndarray, emap: dict[str, Any]) -> dict[str, float]:
    """Expected MAE and RMSE of rows with these predictions."""
    prediction = np.asarray(prediction, dtype=np.float64)
    if len(prediction) == 0:
        return {}
    codes = np.searchsorted(np.asarray(emap["edges"]), prediction, side="left")
    return {
        "mae": float(np.asarray(emap["abs_error"])[codes].mean()),
        "rmse": float(np.sqrt(np.asarray(emap["squared_error"])[codes].mean())),
    }
