"""Fold-safe batch correction: per-batch location (and ComBat-style scale) adjustment."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from groupwise.estimators._base import ValidatedMixin
from groupwise.exceptions import (
    ColumnNotFoundError,
    DataError,
    GroupwiseWarning,
    did_you_mean,
)

__all__ = ["BatchCorrector"]


def _eb_priors(gamma_hat: np.ndarray, delta2_hat: np.ndarray):
    """ComBat's parametric priors per batch, by the method of moments across features."""
    gamma_bar = np.nanmean(gamma_hat, axis=1)
    tau2 = np.nanvar(gamma_hat, axis=1, ddof=1)
    V = np.nanmean(delta2_hat, axis=1)
    S2 = np.nanvar(delta2_hat, axis=1, ddof=1)
    S2 = np.where(S2 > 0, S2, 1e-12)
    a = V**2 / S2 + 2
    b = V * (V**2 / S2 + 1)
    return gamma_bar, tau2, a, b


def _eb_shrink(
    z_by_batch, gamma_hat, delta2_hat, n, gamma_bar, tau2, a, b, *, max_iter=100, tol=1e-4
):
    """Iterate ComBat's posterior means of the batch location (γ*) and scale (δ²*)."""
    gamma = gamma_hat.copy()
    delta2 = delta2_hat.copy()
    for _ in range(max_iter):
        g_new = (n * tau2[:, None] * gamma_hat + delta2 * gamma_bar[:, None]) / (
            n * tau2[:, None] + delta2
        )
        ss = np.array(
            [
                np.nansum((z - g[None, :]) ** 2, axis=0)
                for z, g in zip(z_by_batch, g_new, strict=True)
            ]
        )
        d_new = (b[:, None] + 0.5 * ss) / (n / 2 + a[:, None] - 1)
        change = max(
            np.nanmax(np.abs(g_new - gamma) / np.maximum(np.abs(gamma), 1e-8)),
            np.nanmax(np.abs(d_new - delta2) / delta2),
        )
        gamma, delta2 = g_new, d_new
        if change < tol:
            break
    return gamma, delta2


class BatchCorrector(ValidatedMixin, TransformerMixin, BaseEstimator):
    """Remove per-batch offsets (and scales) learned on the training fold only.

    The batch id is read from a column of ``X``; that column is dropped from the
    output. The target is never used, so the correction cannot leak labels.

    Parameters
    ----------
    batch_col : str, default="batch"
        Column holding the batch id.
    method : {"location", "combat"}, default="location"
        ``"location"``: subtract each batch's mean deviation from the grand mean, per
        feature. ``"combat"``: location and scale on standardised features with
        empirical-Bayes shrinkage across features (ComBat, parametric priors, no
        covariates).
    unseen : {"identity", "error", "estimate"}, default="identity"
        Batches not seen at fit: leave the rows unchanged (and warn with the count),
        raise, or estimate the batch's location (and scale) from the new rows
        themselves — transductive: the output of a row then depends on the other rows
        of its batch in the same call.
    columns : list of str, default=None
        Columns to correct; default every numeric column except ``batch_col``. Other
        columns pass through unchanged.

    Attributes
    ----------
    batches_ : ndarray
        Batch ids seen at fit.
    location_ : DataFrame
        Per batch and column, the offset removed (location) or γ* (combat, standardised).
    scale_ : DataFrame or None
        δ* per batch and column (combat).

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"batch": list("aabb"), "x": [1.0, 2.0, 11.0, 12.0]})
    >>> BatchCorrector().fit_transform(X)["x"].tolist()
    [6.0, 7.0, 6.0, 7.0]
    """

    def __init__(self, *, batch_col="batch", method="location", unseen="identity", columns=None):
        self.batch_col = batch_col
        self.method = method
        self.unseen = unseen
        self.columns = columns

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        tags.requires_fit = True
        return tags

    def _check(self, X) -> pd.DataFrame:
        owner = type(self).__name__
        if not isinstance(X, pd.DataFrame):
            raise DataError(
                f"{owner} needs a pandas DataFrame with the batch column {self.batch_col!r}; got {type(X).__name__}."
            )
        if self.batch_col not in X.columns:
            raise ColumnNotFoundError(
                f"{owner}: batch column {self.batch_col!r} not in X.{did_you_mean(self.batch_col, X.columns)} "
                f"Columns: {', '.join(map(str, X.columns))}."
            )
        return X

    _parameter_constraints: dict = {
        "batch_col": [str],
        "method": [StrOptions({"location", "combat"})],
        "unseen": [StrOptions({"identity", "error", "estimate"})],
        "columns": [list, tuple, None],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn per-batch corrections from ``X`` (``y`` is ignored)."""
        owner = type(self).__name__
        X = self._check(X)
        cols = (
            [
                c
                for c in X.columns
                if c != self.batch_col
                and pd.api.types.is_numeric_dtype(X[c])
                and not pd.api.types.is_bool_dtype(X[c])
            ]
            if self.columns is None
            else list(self.columns)
        )
        missing = [c for c in cols if c not in X.columns]
        if missing:
            raise ColumnNotFoundError(
                f"{owner}: columns not in X: {', '.join(map(repr, missing))}."
            )
        self.columns_ = cols
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        batch = X[self.batch_col].astype(str).to_numpy()
        values = X[cols].to_numpy(dtype=np.float64, na_value=np.nan)
        self.batches_ = np.unique(batch)
        self.grand_mean_ = np.nanmean(values, axis=0)
        codes = np.searchsorted(self.batches_, batch)
        B = len(self.batches_)
        means = np.vstack([np.nanmean(values[codes == b], axis=0) for b in range(B)])
        if self.method == "location":
            self.offset_ = means - self.grand_mean_
            self.gamma_ = self.delta_ = None
            self.pooled_sd_ = None
            return self
        resid = values - means[codes]
        dof = np.maximum(np.sum(~np.isnan(values), axis=0) - B, 1)
        sd = np.sqrt(np.nansum(resid**2, axis=0) / dof)
        self.pooled_sd_ = np.where(sd > 0, sd, 1.0)
        z = (values - self.grand_mean_) / self.pooled_sd_
        zb = [z[codes == b] for b in range(B)]
        gamma_hat = np.vstack([np.nanmean(v, axis=0) for v in zb])
        delta2_hat = np.vstack(
            [np.nanvar(v, axis=0, ddof=1) if len(v) > 1 else np.ones(z.shape[1]) for v in zb]
        )
        delta2_hat = np.where(delta2_hat > 0, delta2_hat, 1e-8)
        n = np.vstack([np.sum(~np.isnan(v), axis=0) for v in zb]).astype(float)
        if len(cols) >= 2:
            self.priors_ = _eb_priors(gamma_hat, delta2_hat)
            self.gamma_, d2 = _eb_shrink(zb, gamma_hat, delta2_hat, n, *self.priors_)
        else:  # no features to borrow strength from
            self.priors_ = None
            self.gamma_, d2 = gamma_hat, delta2_hat
        self.delta_ = np.sqrt(d2)
        self.offset_ = None
        return self

    @property
    def location_(self) -> pd.DataFrame:
        check_is_fitted(self, "batches_")
        data = self.offset_ if self.method == "location" else self.gamma_
        return pd.DataFrame(data, index=self.batches_, columns=self.columns_)

    @property
    def scale_(self) -> pd.DataFrame | None:
        check_is_fitted(self, "batches_")
        return (
            None
            if self.delta_ is None
            else pd.DataFrame(self.delta_, index=self.batches_, columns=self.columns_)
        )

    def transform(self, X):
        """Corrected copy of ``X`` without the batch column."""
        check_is_fitted(self, "batches_")
        owner = type(self).__name__
        X = self._check(X)
        missing = [c for c in self.columns_ if c not in X.columns]
        if missing:
            raise ColumnNotFoundError(
                f"{owner}: columns seen at fit are missing: {', '.join(map(repr, missing))}."
            )
        batch = X[self.batch_col].astype(str).to_numpy()
        values = X[self.columns_].to_numpy(dtype=np.float64, na_value=np.nan)
        pos = np.minimum(np.searchsorted(self.batches_, batch), len(self.batches_) - 1)
        seen = self.batches_[pos] == batch
        out = values.copy()
        rows = np.flatnonzero(seen)
        b = pos[rows]
        if self.method == "location":
            out[rows] = values[rows] - self.offset_[b]
        else:
            z = (values[rows] - self.grand_mean_) / self.pooled_sd_
            out[rows] = (z - self.gamma_[b]) / self.delta_[b] * self.pooled_sd_ + self.grand_mean_
        if not seen.all():
            new = pd.unique(batch[~seen])
            if self.unseen == "error":
                raise DataError(
                    f"{owner}: {int((~seen).sum())} rows come from batches not seen at fit: "
                    f"{', '.join(map(repr, new[:10]))}. Use unseen='identity' or 'estimate', or refit with these batches."
                )
            if self.unseen == "identity":
                warnings.warn(
                    f"{owner}: {int((~seen).sum())} rows from {len(new)} batch(es) not seen at fit were left uncorrected.",
                    GroupwiseWarning,
                    stacklevel=2,
                )
            else:
                for nb in new:
                    r = np.flatnonzero(batch == nb)
                    out[r] = self._estimate(values[r])
        frame = X.drop(columns=[self.batch_col]).copy()
        frame[self.columns_] = out
        return frame

    def _estimate(self, v: np.ndarray) -> np.ndarray:
        """Correct rows of one unseen batch from their own values (transductive)."""
        mean = np.nanmean(v, axis=0)
        if self.method == "location":
            return v - np.where(np.isnan(mean), 0.0, mean - self.grand_mean_)
        z = (v - self.grand_mean_) / self.pooled_sd_
        g = np.nanmean(z, axis=0)
        d2 = np.nanvar(z, axis=0, ddof=1) if len(v) > 1 else np.ones(z.shape[1])
        d2 = np.where(d2 > 0, d2, 1e-8)
        if self.priors_ is not None:
            gamma_bar, tau2, a, bb = (np.nanmean(p, keepdims=True) for p in self.priors_)
            n = np.sum(~np.isnan(z), axis=0, keepdims=True).astype(float)
            g, d2 = _eb_shrink([z], g[None], d2[None], n, gamma_bar, tau2, a, bb)
            g, d2 = g[0], d2[0]
        return (z - g) / np.sqrt(d2) * self.pooled_sd_ + self.grand_mean_

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "batches_")
        return np.asarray([c for c in self.feature_names_in_ if c != self.batch_col], dtype=object)
