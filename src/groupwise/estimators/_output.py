"""The one way to get outputs from a fitted pipeline: probabilities or predictions."""

from __future__ import annotations

import numpy as np

__all__ = ["full_proba", "predict_output"]


def full_proba(proba: np.ndarray, classes, n_classes: int) -> np.ndarray:
    """Probabilities of the class codes ``classes`` (one column each) as a column for
    every class code ``0..n_classes-1``: a model fitted on a fold that lacked a class
    gives fewer columns; the missing classes get probability 0."""
    classes = np.asarray(np.arange(proba.shape[1]) if classes is None else classes).astype(int)
    if proba.shape[1] == n_classes and np.array_equal(classes, np.arange(n_classes)):
        return proba
    full = np.zeros((len(proba), n_classes))
    full[:, classes] = proba
    return full


def _proba_full(est, X, n_classes: int) -> np.ndarray:
    """``predict_proba`` with a column for every class code ``0..n_classes-1``."""
    return full_proba(est.predict_proba(X), getattr(est, "classes_", None), n_classes)


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
