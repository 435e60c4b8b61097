"""Small transformers the candidate pipelines share.

All learn their state in ``fit`` from the training fold only, keep named columns
(pandas in, pandas out) and persist with skops.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from groupwise._dates import infer_date_format, parse_dates
from groupwise.estimators._base import ValidatedMixin

__all__ = ["DatetimeToNumber", "ToCategorical"]


class DatetimeToNumber(ValidatedMixin, TransformerMixin, BaseEstimator):
    """Turn datetime (or date-like text) columns into days since 1970-01-01 (float).

    Text columns are read with the date format found at fit (``formats_``), so text and
    datetime columns holding the same dates give the same numbers; values that are not
    dates become missing.

    Parameters
    ----------
    columns : list of str, default=()
        Columns to convert; other columns pass through unchanged.
    """

    _parameter_constraints: dict = {"columns": [list, tuple]}

    def __init__(self, columns=()):
        self.columns = columns

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        self.columns_ = [c for c in self.columns if c in X.columns]
        self.formats_ = {c: infer_date_format(X[c]) for c in self.columns_}
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X):
        check_is_fitted(self)
        if not self.columns_:
            return X
        X = X.copy()
        for c in self.columns_:
            t, _, _ = parse_dates(X[c], getattr(self, "formats_", {}).get(c))
            ns = t.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
            ns[t.isna().to_numpy()] = np.nan
            X[c] = ns / 86_400e9
        return X

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self)
        return np.asarray(self.feature_names_in_, dtype=object)


class ToCategorical(ValidatedMixin, TransformerMixin, BaseEstimator):
    """Give categorical columns a pandas ``category`` dtype with the levels seen at fit.

    Levels unseen at fit, and levels beyond the ``max_levels`` most frequent ones,
    become missing. Models with native categorical support (HistGradientBoosting with
    ``categorical_features="from_dtype"``, LightGBM, XGBoost) read the dtype.

    Parameters
    ----------
    columns : list of str, default=()
        Categorical columns; other columns pass through unchanged.
    max_levels : int, default=254
        HistGradientBoosting allows at most 255 bins, one of them for missing values.
    """

    _parameter_constraints: dict = {
        "columns": [list, tuple],
        "max_levels": [Interval(numbers.Integral, 1, 254, closed="both")],
    }

    def __init__(self, columns=(), max_levels: int = 254):
        self.columns = columns
        self.max_levels = max_levels

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        self.categories_ = {}
        for c in self.columns:
            if c not in X.columns:
                continue
            counts = X[c].astype(object).value_counts(dropna=True)
            kept = counts.index[: self.max_levels]
            self.categories_[c] = sorted(str(v) for v in kept)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = X.copy()
        for c, cats in self.categories_.items():
            values = X[c].astype(object)
            as_text = values.where(values.isna(), values.astype(str))
            known = as_text.where(as_text.isin(cats))  # unseen levels become missing
            X[c] = pd.Categorical(known, categories=cats)
        return X

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self)
        return np.asarray(self.feature_names_in_, dtype=object)
