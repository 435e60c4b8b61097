"""Metrics as functions of row weights, so one code path gives point estimates,
per-fold scores and vectorised bootstrap resamples.

Every metric is evaluated for a weight matrix ``W`` of shape ``(b, n)``: row ``i``
holds how often each of the ``n`` rows is counted in resample ``i`` (all ones for the
point estimate). Ranking metrics sort the scores once and aggregate weights per block
of tied scores, so a resample costs O(n) instead of a sort.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "CLASSIFICATION_METRICS",
    "GREATER_IS_BETTER",
    "REGRESSION_METRICS",
    "MetricSet",
    "default_primary_metric",
    "metric_names",
]

CLASSIFICATION_METRICS = (
    "roc_auc",
    "pr_auc",
    "accuracy",
    "balanced_accuracy",
    "f1",
    "precision",
    "recall",
    "brier",
    "log_loss",
)
REGRESSION_METRICS = ("mae", "rmse", "r2")
GREATER_IS_BETTER = {
    "roc_auc": True,
    "pr_auc": True,
    "accuracy": True,
    "balanced_accuracy": True,
    "f1": True,
    "precision": True,
    "recall": True,
    "brier": False,
    "log_loss": False,
    "mae": False,
    "rmse": False,
    "r2": True,
}
#: Metrics that need a threshold (binary) or an argmax (multiclass).
THRESHOLD_METRICS = ("accuracy", "balanced_accuracy", "f1", "precision", "recall")
_EPS = 1e-15


def metric_names(task: str) -> tuple[str, ...]:
    return CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS


def default_primary_metric(
    task: str, n_classes: int = 2, positive_rate: float | None = None
) -> tuple[str, str]:
    """The default primary metric for a task, with the reason."""
    if task == "regression":
        return "mae", "regression: mean absolute error"
    if n_classes > 2:
        return "balanced_accuracy", f"multiclass ({n_classes} classes): balanced accuracy"
    if positive_rate is not None and positive_rate < 0.10:
        return "pr_auc", f"binary with {positive_rate:.1%} positives (< 10%): PR-AUC"
    return "roc_auc", "binary: ROC-AUC"


def _as_2d(W: np.ndarray | None, n: int) -> np.ndarray:
    if W is None:
        return np.ones((1, n))
    W = np.asarray(W, dtype=np.float64)
    return W[None, :] if W.ndim == 1 else W


def _safe_div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


class _Ranking:
    """Weighted ROC-AUC and average precision of one score vector vs a boolean target."""

    def __init__(self, score: np.ndarray, positive: np.ndarray):
        order = np.argsort(score, kind="mergesort")  # ascending
        s = score[order]
        self.order = order
        self.pos = positive[order].astype(np.float64)
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        self.starts = starts
        self._cache = None

    def _blocks(self, W: np.ndarray):
        # AUC and average precision of the same weights share the blocks
        if self._cache is not None and self._cache[0] is W:
            return self._cache[1]
        Wo = W[:, self.order]
        P = np.add.reduceat(Wo * self.pos, self.starts, axis=1)
        N = np.add.reduceat(Wo, self.starts, axis=1) - P
        self._cache = (W, (P, N))
        return P, N

    def auc(self, W: np.ndarray) -> np.ndarray:
        P, N = self._blocks(W)
        cum_neg_before = np.cumsum(N, axis=1) - N
        num = (P * (cum_neg_before + 0.5 * N)).sum(axis=1)
        return _safe_div(num, P.sum(axis=1) * N.sum(axis=1))

    def average_precision(self, W: np.ndarray) -> np.ndarray:
        P, N = self._blocks(W)
        # thresholds from the highest score down: cumulate from the right
        tp = np.cumsum(P[:, ::-1], axis=1)
        fp = np.cumsum(N[:, ::-1], axis=1)
        total_pos = tp[:, -1:]
        precision = _safe_div(tp, tp + fp)
        recall_step = _safe_div(P[:, ::-1], total_pos)
        return np.nansum(recall_step * np.nan_to_num(precision), axis=1) * np.where(
            total_pos[:, 0] > 0, 1.0, np.nan
        )


class MetricSet:
    """All metrics of one set of predictions.

    Parameters
    ----------
    task : {"classification", "regression"}
    y_true : array
        Class codes ``0..K-1`` (classification) or values (regression).
    proba : array of shape (n, K), default=None
        Class probabilities (classification).
    pred : array, default=None
        Predicted values (regression) or class codes (classification; derived from
        ``proba`` and ``threshold`` when omitted).
    threshold : float, default=0.5
        Binary decision threshold on P(positive).
    pos : int, default=1
        Code of the positive class (binary).
    """

    def __init__(
        self, task: str, y_true, *, proba=None, pred=None, threshold: float = 0.5, pos: int = 1
    ):
        self.task = task
        self.y = np.asarray(y_true)
        self.n = len(self.y)
        if task == "classification":
            self.proba = np.asarray(proba, dtype=np.float64)
            self.K = self.proba.shape[1]
            self.pos = pos
            if pred is None:
                if self.K == 2:
                    pred = np.where(self.proba[:, pos] >= threshold, pos, 1 - pos)
                else:
                    pred = np.argmax(self.proba, axis=1)
            self.pred = np.asarray(pred)
            self._rankings: dict[int, _Ranking] = {}
        else:
            self.pred = np.asarray(pred, dtype=np.float64)

    @classmethod
    def from_output(
        cls, task: str, y_true, out, *, pos: int = 1, threshold: float = 0.5
    ) -> MetricSet:
        """Metrics of model outputs as :func:`~groupwise.estimators.predict_output` gives
        them: probabilities (classification) or predictions (regression)."""
        if task == "classification":
            return cls(task, y_true, proba=out, pos=pos, threshold=threshold)
        return cls(task, y_true, pred=out)

    def _ranking(self, k: int) -> _Ranking:
        if k not in self._rankings:
            self._rankings[k] = _Ranking(self.proba[:, k], self.y == k)
        return self._rankings[k]

    def _classes_for_ranking(self) -> Sequence[int]:
        return [self.pos] if self.K == 2 else range(self.K)

    def evaluate(self, names: Sequence[str], W: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Metric values per weight row: ``{name: array of shape (b,)}``."""
        W = _as_2d(W, self.n)
        out = {}
        total = W.sum(axis=1)
        if self.task == "regression":
            err = self.pred - self.y
            for name in names:
                if name == "mae":
                    out[name] = _safe_div(W @ np.abs(err), total)
                elif name == "rmse":
                    out[name] = np.sqrt(_safe_div(W @ err**2, total))
                elif name == "r2":
                    mean = _safe_div(W @ self.y, total)
                    sst = W @ self.y**2 - total * mean**2
                    out[name] = 1.0 - _safe_div(W @ err**2, sst)
                else:
                    raise KeyError(name)
            return out
        y, pred, K = self.y, self.pred, self.K
        onehot = np.eye(K)[y]
        for name in names:
            if name == "roc_auc":
                vals = [self._ranking(k).auc(W) for k in self._classes_for_ranking()]
                out[name] = np.nanmean(np.vstack(vals), axis=0) if K > 2 else vals[0]
            elif name == "pr_auc":
                vals = [self._ranking(k).average_precision(W) for k in self._classes_for_ranking()]
                out[name] = np.nanmean(np.vstack(vals), axis=0) if K > 2 else vals[0]
            elif name == "accuracy":
                out[name] = _safe_div(W @ (pred == y).astype(float), total)
            elif name == "balanced_accuracy":
                recalls = [
                    _safe_div(
                        W @ ((pred == k) & (y == k)).astype(float), W @ (y == k).astype(float)
                    )
                    for k in range(K)
                ]
                out[name] = np.nanmean(np.vstack(recalls), axis=0)
            elif name in ("f1", "precision", "recall"):
                classes = [self.pos] if K == 2 else range(K)
                vals = []
                for k in classes:
                    tp = W @ ((pred == k) & (y == k)).astype(float)
                    fp = W @ ((pred == k) & (y != k)).astype(float)
                    fn = W @ ((pred != k) & (y == k)).astype(float)
                    if name == "precision":
                        v = _safe_div(tp, tp + fp)
                        v = np.where(tp + fp > 0, v, 0.0)
                    elif name == "recall":
                        v = _safe_div(tp, tp + fn)
                    else:
                        v = _safe_div(2 * tp, 2 * tp + fp + fn)
                    vals.append(v)
                out[name] = np.nanmean(np.vstack(vals), axis=0) if K > 2 else vals[0]
            elif name == "brier":
                if K == 2:
                    sq = (self.proba[:, self.pos] - (y == self.pos)) ** 2
                else:
                    sq = ((self.proba - onehot) ** 2).sum(axis=1)
                out[name] = _safe_div(W @ sq, total)
            elif name == "log_loss":
                p = np.clip(self.proba[np.arange(self.n), y], _EPS, 1.0)
                out[name] = _safe_div(W @ -np.log(p), total)
            else:
                raise KeyError(name)
        return out

    def point(self, names: Sequence[str] | None = None) -> dict[str, float]:
        """Point estimates on all rows."""
        names = names or metric_names(self.task)
        return {k: float(v[0]) for k, v in self.evaluate(names).items()}
