"""Class imbalance handled inside a fit: balanced sample weights and resampling.

:class:`Rebalanced` wraps the final estimator of a pipeline. Everything it does happens in
``fit``, on the rows that ``fit`` receives — the training part of a fold, or of the final
fit — so no validation row is ever weighted, duplicated, dropped or used to synthesise a
row. The preprocessing before it is fitted on the original training rows; prediction is
the wrapped estimator's own. :func:`unwrap` replaces the fitted wrapper by the estimator it
fitted, so a shipped pipeline holds no trace of the training-time resampling.

Resampling:

- ``under``: every class down to the smallest class's count, rows drawn without replacement;
- ``over``: every class up to the largest class's count, extra rows drawn with replacement;
- ``smote``: every class up to the largest class's count with synthetic rows, each on the
  segment between a row of the class and one of its 5 nearest neighbours of the same class
  (distances on the standardised numeric columns, missing values at the column median). A
  synthetic row keeps the seed row's values in columns that are not floats (categories,
  integers, booleans) and where either end is missing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import has_fit_parameter

__all__ = ["MINORITY_CUT", "RESAMPLERS", "Rebalanced", "resample_rows", "unwrap"]

#: ``class_weight="auto"`` weights the classes when the smallest class's share of the
#: training rows is below this.
MINORITY_CUT = 0.2
RESAMPLERS = ("none", "under", "over", "smote")
_SMOTE_NEIGHBOURS = 5


def _take(X, rows: np.ndarray):
    return X.iloc[rows].reset_index(drop=True) if isinstance(X, pd.DataFrame) else X[rows]


def resample_rows(y: np.ndarray, method: str, rng: np.random.Generator) -> np.ndarray:
    """Positions (into ``y``) of the rows an ``under`` or ``over`` resample keeps, in order."""
    classes, counts = np.unique(y, return_counts=True)
    keep = []
    for c, n in zip(classes, counts, strict=True):
        rows = np.flatnonzero(y == c)
        if method == "under":
            keep.append(rng.choice(rows, counts.min(), replace=False))
        else:
            keep.append(rows)
            if n < counts.max():
                keep.append(rng.choice(rows, counts.max() - n, replace=True))
    return np.sort(np.concatenate(keep), kind="stable")


def _float_columns(X) -> list:
    if isinstance(X, pd.DataFrame):
        return [c for c in X.columns if pd.api.types.is_float_dtype(X[c].dtype)]
    return list(range(X.shape[1])) if np.issubdtype(np.asarray(X).dtype, np.floating) else []


def _smote(X, y: np.ndarray, rng: np.random.Generator):
    """``X, y`` with synthetic rows of every class below the largest one's count, and the
    (seed, neighbour) positions of each synthetic row."""
    from sklearn.neighbors import NearestNeighbors

    cols = _float_columns(X)
    frame = pd.DataFrame(X) if not isinstance(X, pd.DataFrame) else X
    num = frame[cols].to_numpy(dtype=np.float64) if cols else np.zeros((len(frame), 1))
    centre = np.nanmedian(num, axis=0) if len(num) else 0.0
    centre = np.where(np.isfinite(centre), centre, 0.0)
    scale = np.nanstd(num, axis=0)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    Z = np.where(np.isnan(num), centre, num)
    Z = (Z - centre) / scale
    classes, counts = np.unique(y, return_counts=True)
    new_rows, new_y, pairs = [], [], []
    for c, n in zip(classes, counts, strict=True):
        need = counts.max() - n
        rows = np.flatnonzero(y == c)
        if need == 0:
            continue
        seeds = rng.choice(rows, need, replace=True)
        if n == 1:  # no neighbour: copies
            mates = seeds
        else:
            k = min(_SMOTE_NEIGHBOURS, n - 1)
            nn = NearestNeighbors(n_neighbors=k + 1, n_jobs=1).fit(Z[rows])
            _, idx = nn.kneighbors(Z[seeds])
            pick = rng.integers(1, k + 1, size=need)  # column 0 is the row itself
            mates = rows[idx[np.arange(need), pick]]
        gap = rng.random(need)
        synth = frame.iloc[seeds].reset_index(drop=True).copy()
        if cols:
            a, b = num[seeds], num[mates]
            mixed = a + gap[:, None] * (b - a)
            mixed = np.where(np.isnan(b), a, mixed)  # a missing end keeps the seed's value
            for j, col in enumerate(cols):
                synth[col] = mixed[:, j].astype(frame[col].dtype, copy=False)
        new_rows.append(synth)
        new_y.append(np.full(need, c, dtype=y.dtype))
        pairs.append(np.column_stack([seeds, mates]))
    if not new_rows:
        return X, y, np.empty((0, 2), dtype=int)
    out = pd.concat([frame.reset_index(drop=True), *new_rows], ignore_index=True)
    if not isinstance(X, pd.DataFrame):
        out = out.to_numpy()
    return out, np.concatenate([y, *new_y]), np.concatenate(pairs)


class Rebalanced(BaseEstimator):
    """A classifier fitted with balanced class weights and/or on a resampled training set.

    Parameters
    ----------
    estimator : estimator
        The classifier (a pipeline's final step).
    class_weight : {"balanced", None}, default=None
        ``balanced``: sample weights ``n / (K * n_class)`` (after any resampling), passed to
        ``fit`` when the estimator accepts ``sample_weight`` (else fitted unweighted).
    resample : {"none", "under", "over", "smote"}, default="none"
        See the module's description.
    random_state : int, default=None
        Seed of the resampling.

    Attributes
    ----------
    estimator_ : estimator
        The fitted classifier.
    rows_ : ndarray or None
        ``under``/``over``: positions of the ``fit`` rows it was fitted on (repeats for copies).
    pairs_ : ndarray or None
        ``smote``: (seed, neighbour) positions of every synthetic row.
    """

    def __init__(self, estimator, class_weight=None, resample="none", random_state=None):
        self.estimator = estimator
        self.class_weight = class_weight
        self.resample = resample
        self.random_state = random_state

    def fit(self, X, y):
        from sklearn.utils.class_weight import compute_sample_weight

        if self.resample not in RESAMPLERS:
            raise ValueError(f"resample must be one of {RESAMPLERS}; got {self.resample!r}.")
        y = np.asarray(y)
        rng = np.random.default_rng(self.random_state)
        self.rows_ = self.pairs_ = None
        if self.resample in ("under", "over"):
            self.rows_ = resample_rows(y, self.resample, rng)
            X, y = _take(X, self.rows_), y[self.rows_]
        elif self.resample == "smote":
            X, y, self.pairs_ = _smote(X, y, rng)
        est = clone(self.estimator)
        kwargs = {}
        if self.class_weight == "balanced" and has_fit_parameter(est, "sample_weight"):
            kwargs["sample_weight"] = compute_sample_weight("balanced", y)
        self.estimator_ = est.fit(X, y, **kwargs)
        self.weighted_ = bool(kwargs)
        self.classes_ = self.estimator_.classes_
        return self

    def predict(self, X):
        return self.estimator_.predict(X)

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        return tags


def unwrap(model):
    """``model`` with every fitted :class:`Rebalanced` step replaced by the estimator it fitted."""
    from sklearn.pipeline import Pipeline

    if isinstance(model, Rebalanced) and hasattr(model, "estimator_"):
        return model.estimator_
    if isinstance(model, Pipeline):
        name, last = model.steps[-1]
        if isinstance(last, Rebalanced) and hasattr(last, "estimator_"):
            model.steps[-1] = (name, last.estimator_)
    return model
