"""The one way to get outputs from a fitted pipeline: probabilities or predictions."""

from __future__ import annotations

import numpy as np

__all__ = ["predict_output"]


def _proba_full(est, X, n_classes: int) -> np.ndarray:
    """``predict_proba`` with a column for every class code ``0..n_classes-1``.

    A model fitted on a fold that lacked a class gives fewer columns; the missing
    classes get probability 0.
    """
    proba = est.predict_proba(X)
    classes = np.asarray(getattr(est, "classes_", np.arange(proba.shape[1]))).astype(int)
    if proba.shape[1] == n_classes and np.array_equal(classes, np.arange(n_classes)):
        return proba
    full = np.zeros((len(X), n_classes))
    full[:, classes] = proba
    return full


def predict_output(est, X, task: str, n_classes: int) -> np.ndarray:
    """Probabilities of every class (classification, shape (n, K)), predictions (regression)
    or cluster numbers (clustering).

    Training, evaluation, explanation and serving all call this function, so the
    numbers a run records are the numbers prediction gives.
    """
    if task == "classification":
        return _proba_full(est, X, n_classes)
    if task == "clustering":
        return np.asarray(est.predict(X), dtype=np.int64)
    return np.asarray(est.predict(X), dtype=np.float64)
