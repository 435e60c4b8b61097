"""Nested partial pooling (empirical Bayes) and grouped ridge, from sufficient statistics.

Model (lme4 notation ``y ~ x + (1 + x || top/mid/leaf)``, diagonal covariances per level)::

    y_i      = z_i' θ_leaf(i) + e_i,      e_i ~ N(0, σ²),   z_i = [1, standardised x_i]
    θ_node   ~ N(θ_parent, D_level)       (the leaf: one intercept variance per ``scale_by``
                                           level, slope variances per ``slopes_by`` level)
    θ_top(c) ~ N(β + e₀ w_c'γ, D_top)     (population coefficients β; descriptors w_c)

The fit reduces the rows to per-leaf sufficient statistics (n, Z'Z, Z'y, y'y) in one
pass; the exact empirical-Bayes machinery is in ``_eb_tree``. Memory is O(nodes · q²),
whatever the number of rows.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from groupwise.estimators._base import InvalidParameter, ValidatedMixin
from groupwise.estimators._eb_tree import (
    VAR_MIN,
    Layout,
    Stats,
    Tree,
    batched_inverse,
    leaf_stats,
    matvec,
    sum_by,
)
from groupwise.estimators._eb_tree import fit as eb_fit
from groupwise.exceptions import (
    ColumnNotFoundError,
    DataError,
    GroupwiseWarning,
    did_you_mean,
)

__all__ = ["GroupedRidge", "PartialPoolingRegressor"]

_RESERVED = (1 << 31) - 1  # group id of top-level keys: keeps (group << 32) + key in int64


# --------------------------------------------------------------------------- shared input handling
def _as_frame(X, owner: str) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise DataError(
            f"{owner} needs a pandas DataFrame with named id columns; got {type(X).__name__}. "
            "Pass the table (ids and covariates) as a DataFrame."
        )
    return X


def _check_columns(X: pd.DataFrame, cols: Sequence[str], role: str, owner: str) -> None:
    missing = [c for c in cols if c not in X.columns]
    if missing:
        parts = "; ".join(f"{c!r}{did_you_mean(c, X.columns)}" for c in missing)
        raise ColumnNotFoundError(
            f"{owner}: {role} column(s) not in X: {parts} Columns: {', '.join(map(str, X.columns))}."
        )


def _default_covariates(X: pd.DataFrame, exclude: Sequence[str]) -> list[str]:
    """Numeric, non-boolean columns not in ``exclude``."""
    return [
        c
        for c in X.columns
        if c not in exclude
        and pd.api.types.is_numeric_dtype(X[c])
        and not pd.api.types.is_bool_dtype(X[c])
    ]


class _Encoder:
    """Node keys per depth as plain arrays (persistable with skops).

    Ids are compared as text. ``values[k]`` holds the sorted ids of column k; the node
    of depth d is the mixed-radix integer of the codes of its first d+1 ids, and
    ``keys[d]`` holds the sorted node keys, so lookups are binary searches.
    """

    def __init__(self, frame: pd.DataFrame, columns: Sequence[str]):
        self.columns = list(columns)
        self.values = [np.unique(frame[c].astype(str).to_numpy(dtype=str)) for c in columns]
        self.dims = [len(v) for v in self.values]
        if math.prod(self.dims) >= 2**62:
            raise DataError(
                f"Too many id combinations in {', '.join(columns)} to index with 64-bit keys."
            )
        codes = self.codes(frame)
        self.keys: list[np.ndarray] = []
        self.parent: list[np.ndarray | None] = []
        node_of_row = []
        for d in range(len(columns)):
            k = self._key(codes, d)
            uniq, inv = np.unique(k, return_inverse=True)
            self.keys.append(uniq)
            node_of_row.append(inv.ravel())
            if d == 0:
                self.parent.append(None)
            else:
                node_codes = np.stack(np.unravel_index(uniq, self.dims[: d + 1]))
                parent_key = np.ravel_multi_index(tuple(node_codes[:d]), self.dims[:d])
                self.parent.append(np.searchsorted(self.keys[d - 1], parent_key))
        self.leaf_codes = np.stack(np.unravel_index(self.keys[-1], self.dims), axis=1)  # (G, L)
        self.node_of_row = node_of_row  # fit-time only; dropped by the estimator after fit

    def _key(self, codes: list[np.ndarray], d: int) -> np.ndarray:
        return np.ravel_multi_index(tuple(c for c in codes[: d + 1]), self.dims[: d + 1]).astype(
            np.int64
        )

    def codes(self, frame: pd.DataFrame) -> list[np.ndarray]:
        """Code of each row's id per column (-1 for ids not seen in training or missing)."""
        out = []
        for c, vals in zip(self.columns, self.values, strict=True):
            col = frame[c]
            text = col.astype(str).to_numpy(dtype=str)
            pos = np.searchsorted(vals, text)
            pos = np.minimum(pos, len(vals) - 1)
            ok = (vals[pos] == text) & col.notna().to_numpy()
            out.append(np.where(ok, pos, -1))
        return out

    def lookup(self, frame: pd.DataFrame) -> list[np.ndarray]:
        """Node index of each row at each depth (-1 where the node was not seen)."""
        codes = self.codes(frame)
        out = []
        known = np.ones(len(frame), dtype=bool)
        for d in range(len(self.columns)):
            known &= codes[d] >= 0
            found = np.full(len(frame), -1)
            if known.any():
                k = self._key([c[known] for c in codes], d)
                pos = np.minimum(np.searchsorted(self.keys[d], k), len(self.keys[d]) - 1)
                hit = self.keys[d][pos] == k
                idx = np.flatnonzero(known)
                found[idx[hit]] = pos[hit]
            out.append(found)
        return out


def _drop_missing_ids(X: pd.DataFrame, y, columns: Sequence[str], owner: str):
    bad = X[list(columns)].isna().any(axis=1).to_numpy()
    if bad.any():
        warnings.warn(
            f"{owner}: dropped {int(bad.sum())} of {len(X)} rows with a missing id in {', '.join(columns)}.",
            GroupwiseWarning,
            stacklevel=3,
        )
        X = X.loc[~bad]
        y = None if y is None else np.asarray(y)[~bad]
    return X, y


def _design(
    X: pd.DataFrame, covariates: Sequence[str], mean: np.ndarray, sd: np.ndarray
) -> np.ndarray:
    x = (
        X[list(covariates)].to_numpy(dtype=np.float64, na_value=np.nan)
        if covariates
        else np.empty((len(X), 0))
    )
    z = (x - mean) / sd
    z = np.where(np.isnan(z), 0.0, z)  # missing covariates sit at the training mean
    return np.column_stack([np.ones(len(X)), z])


def _fit_inputs(est, X, y, id_cols: Sequence[str], role: str, exclude: Sequence[str] = ()):
    """Validate ``X`` and ``y``, drop rows with missing ids and standardise the covariates.

    Sets ``covariates_``, ``x_mean_``, ``x_sd_``, ``feature_names_in_`` and
    ``n_features_in_`` on ``est``; returns ``(X, y, Z)`` with ``Z = [1, standardised x]``.
    """
    owner = type(est).__name__
    X = _as_frame(X, owner)
    _check_columns(X, id_cols, role, owner)
    covariates = (
        _default_covariates(X, [*id_cols, *exclude])
        if est.covariates is None
        else list(est.covariates)
    )
    _check_columns(X, covariates, "covariate", owner)
    y = np.asarray(y, dtype=np.float64)
    if len(y) != len(X):
        raise DataError(f"{owner}: X has {len(X)} rows but y has {len(y)}.")
    if not np.all(np.isfinite(y)):
        raise DataError(
            f"{owner}: y has {int((~np.isfinite(y)).sum())} missing or infinite values; drop those rows first."
        )
    est.feature_names_in_ = np.asarray(X.columns, dtype=object)
    est.n_features_in_ = X.shape[1]
    X, y = _drop_missing_ids(X, y, id_cols, owner)
    if len(X) < 2:
        raise DataError(f"{owner} needs at least 2 rows with complete ids; got {len(X)}.")
    x = (
        X[covariates].to_numpy(dtype=np.float64, na_value=np.nan)
        if covariates
        else np.empty((len(X), 0))
    )
    est.covariates_ = covariates
    est.x_mean_ = np.nanmean(x, axis=0) if covariates else np.empty(0)
    sd = np.nanstd(x, axis=0) if covariates else np.empty(0)
    est.x_sd_ = np.where(sd > 0, sd, 1.0)
    return X, y, _design(X, covariates, est.x_mean_, est.x_sd_)


# --------------------------------------------------------------------------- estimators
class PartialPoolingRegressor(ValidatedMixin, RegressorMixin, BaseEstimator):
    """Nested hierarchical ridge fitted by exact empirical Bayes.

    Every node of the hierarchy has a coefficient vector (intercept and one slope per
    covariate) drawn around its parent's with a diagonal covariance per level; the top
    keys are drawn around the population coefficients (fixed effects), their intercept
    optionally shifted by a regression on the key's own descriptors. Small groups borrow
    strength from their parents; large groups keep their own fit. With one hierarchy
    column this is a Gaussian linear mixed model with random intercept and independent
    random slopes (lme4: ``y ~ x + (1 + x || g)``).

    Parameters
    ----------
    hierarchy : list of str
        Id columns from the top key to the leaf, e.g. ``["compound", "cluster",
        "species"]``: a node at depth d is the tuple of the first d+1 columns. Columns
        after the first must nest (each species in exactly one cluster).
    covariates : list of str, default=None
        Numeric columns with slopes (standardised internally); default every numeric
        column not in ``hierarchy`` or ``group_features``.
    scale_by : str, default=None
        A hierarchy column above the leaf whose levels get their own leaf-level intercept
        variance (cluster-specific shrinkage).
    slopes_by : str, default=None
        A hierarchy column above the leaf whose levels get their own leaf-level slope
        variances (cluster random slopes). Levels with fewer than 3 leaves cannot identify
        them and share a pooled value (with a warning that names them).
    group_features : dict of {str: list of str} or DataFrame, default=None
        Descriptors of the top key (e.g. a compound's chemistry) that inform its prior
        mean: ``{"compound": ["logp", "mw"]}`` reads them from columns of X (constant
        within a key), or a DataFrame indexed by the key. A top key unseen in training
        then predicts from its descriptors instead of the population mean. The
        regression has its own empirical-Bayes shrinkage, so noise descriptors do no harm.
    method : {"ml", "reml"}, default="ml"
        Maximise the likelihood (fixed effects profiled out) or the restricted likelihood.
    max_iter : int, default=500
        Maximum number of likelihood evaluations (each one pass over the nodes).
    tol : float, default=1e-4
        Convergence: largest change of any standard deviation, relative to σ.
    unknown : {"error", "nan", "global"}, default="error"
        What to predict for an unseen top key: raise, NaN, or the population (or
        descriptor) prediction with the top level's spread added to its variance.

    Attributes
    ----------
    sigma_ : float
        Residual standard deviation (target units).
    scales_ : DataFrame
        Prior standard deviation per level (and scale group) and coefficient, in target
        units (slopes per covariate unit).
    fixed_effects_ : Series
        Population coefficients in original units.
    n_iter_, converged_, grad_norm_, loglik_
        Convergence report: likelihood evaluations, whether the fit converged, the largest
        remaining gradient per parameter cell, the log-likelihood (standardised target).

    Notes
    -----
    The predictive standard deviation is sqrt(z'Cz + σ²) with C the posterior covariance
    of the deepest node seen in training plus the prior variances of the levels below it.
    Intervals therefore widen for rows of unseen groups. Fitting standardises y and the
    covariates, so results do not depend on their units.

    Examples
    --------
    >>> from groupwise.datasets import make_nested_regression
    >>> df, truth = make_nested_regression(n_clusters=4, n_species=20, n_compounds=10, random_state=0)
    >>> model = PartialPoolingRegressor(hierarchy=["compound", "cluster", "species"], scale_by="cluster")
    >>> model.fit(df.drop(columns="y"), df["y"]).sigma_ > 0
    True
    """

    _parameter_constraints: dict = {
        "hierarchy": [str, list, tuple],
        "covariates": [list, tuple, None],
        "scale_by": [str, None],
        "slopes_by": [str, None],
        "group_features": [dict, pd.DataFrame, None],
        "method": [StrOptions({"ml", "reml"})],
        "max_iter": [Interval(numbers.Integral, 3, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="neither")],
        "unknown": [StrOptions({"error", "nan", "global"})],
    }

    def __init__(
        self,
        *,
        hierarchy=(),
        covariates=None,
        scale_by=None,
        slopes_by=None,
        group_features=None,
        method="ml",
        max_iter=500,
        tol=1e-4,
        unknown="error",
    ):
        self.hierarchy = hierarchy
        self.covariates = covariates
        self.scale_by = scale_by
        self.slopes_by = slopes_by
        self.group_features = group_features
        self.method = method
        self.max_iter = max_iter
        self.tol = tol
        self.unknown = unknown

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags

    # ------------------------------------------------------------ validation
    def _hierarchy(self) -> list[str]:
        owner = type(self).__name__
        hierarchy = [self.hierarchy] if isinstance(self.hierarchy, str) else list(self.hierarchy)
        if not hierarchy:
            raise InvalidParameter(
                f"The 'hierarchy' parameter of {owner} must list at least one id column. Got {self.hierarchy!r} instead."
            )
        for name in ("scale_by", "slopes_by"):
            value = getattr(self, name)
            if value is None:
                continue
            above = hierarchy[:-1]
            if value not in above:
                raise InvalidParameter(
                    f"The {name!r} parameter of {owner} must be one of the hierarchy columns above "
                    f"the leaf {above}. Got {value!r} instead.{did_you_mean(str(value), hierarchy)}"
                    + (
                        " The leaf's own levels cannot each get a variance of their own."
                        if value == hierarchy[-1]
                        else ""
                    )
                )
        return hierarchy

    def _descriptor_columns(self, hierarchy) -> list[str]:
        gf = self.group_features
        if gf is None:
            return []
        if isinstance(gf, pd.DataFrame):
            return [str(c) for c in gf.columns]
        keys = list(gf)
        if keys != [hierarchy[0]]:
            raise InvalidParameter(
                f"The 'group_features' parameter of {type(self).__name__} describes the top key "
                f"{hierarchy[0]!r}: pass {{{hierarchy[0]!r}: [columns]}}. Got keys {keys!r} instead."
            )
        cols = gf[hierarchy[0]]
        return [cols] if isinstance(cols, str) else list(cols)

    def _descriptors(self, X: pd.DataFrame, keys: np.ndarray, top: str) -> pd.DataFrame:
        """One row of descriptors per top key in ``keys`` (text), NaN where unknown."""
        gf = self.group_features
        if isinstance(gf, pd.DataFrame):
            table = gf.copy()
            table.index = table.index.astype(str)
            return table.reindex(keys)
        cols = self.descriptors_
        frame = X[[top, *cols]].copy()
        frame[top] = frame[top].astype(str)
        return frame.groupby(top, sort=False)[cols].mean().reindex(keys)

    # ------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the variances by empirical Bayes and the posterior of every node."""
        owner = type(self).__name__
        hierarchy = self._hierarchy()
        self.descriptors_ = self._descriptor_columns(hierarchy)
        X, y, Z = _fit_inputs(self, X, y, hierarchy, "hierarchy", exclude=self.descriptors_)
        if self.descriptors_ and isinstance(self.group_features, dict):
            _check_columns(X, self.descriptors_, "group_features", owner)
        _check_nesting(X, hierarchy, owner)
        self.hierarchy_ = hierarchy
        self.y_mean_, self.y_sd_ = float(y.mean()), float(y.std()) or 1.0
        ys = (y - self.y_mean_) / self.y_sd_
        q = Z.shape[1]
        self.encoder_ = enc = _Encoder(X, hierarchy)
        L = len(hierarchy)
        G = len(enc.keys[-1])
        W = np.empty((0, len(enc.keys[0])))
        if self.descriptors_:
            top_ids = enc.values[0][np.unravel_index(enc.keys[0], enc.dims[:1])[0]]
            desc = self._descriptors(X, top_ids, hierarchy[0]).to_numpy(dtype=np.float64)
            self.desc_mean_ = np.nanmean(desc, axis=0)
            sd = np.nanstd(desc, axis=0)
            self.desc_sd_ = np.where(sd > 0, sd, 1.0)
            W = np.nan_to_num((desc - self.desc_mean_) / self.desc_sd_).T
        tree = Tree(tuple(len(k) for k in enc.keys), tuple(enc.parent), W)
        st = leaf_stats(Z, ys, enc.node_of_row[-1], G)
        self.node_rows_ = [
            np.bincount(enc.node_of_row[d], minlength=len(enc.keys[d])) for d in range(L)
        ]
        del enc.node_of_row
        layout, start, self.pooled_groups_ = self._layout(tree, st, enc, q)
        result = eb_fit(
            tree, st, layout, start, method=self.method, max_iter=self.max_iter, tol=self.tol
        )
        if not result.converged:
            warnings.warn(
                f"{owner} did not converge in {self.max_iter} likelihood evaluations (largest "
                f"gradient per cell {result.grad_norm:.2g}); raise max_iter.",
                GroupwiseWarning,
                stacklevel=2,
            )
        if result.at_upper:
            warnings.warn(
                f"{owner}: the data cannot identify {', '.join(result.at_upper)}: the likelihood is "
                "flat and the variance reached its upper bound. Drop that level (or its slopes), or "
                "collect more groups.",
                GroupwiseWarning,
                stacklevel=2,
            )
        post = result.posterior
        self.layout_names_ = list(layout.names)
        self.variances_ = result.variances
        self.s2_, self.D_, self.s2_gamma_ = result.s2, result.D, result.s2_gamma
        self.node_mean_, self.node_cov_ = post.m, post.C
        self.root_mean_, self.root_cov_ = post.root_mean, post.root_cov_full
        self.n_iter_, self.converged_ = result.n_iter, result.converged
        self.grad_norm_, self.loglik_ = result.grad_norm, post.loglik
        self.sigma_ = math.sqrt(result.s2) * self.y_sd_
        return self

    def _group_codes(self, enc, col) -> np.ndarray | None:
        """Code of each leaf in ``col``'s levels (None without ``col``)."""
        if col is None:
            return None
        return enc.leaf_codes[:, self.hierarchy_.index(col)]

    def _layout(self, tree: Tree, st: Stats, enc, q: int):
        """Variance parameters and their cells; start values from simple moments."""
        L = tree.depth
        names = ["sigma2"]
        index = []
        fixed = [False]
        coefs = ["intercept", *self.covariates_]
        pooled: dict[str, list[str]] = {}
        leaf_params: dict[str, np.ndarray] = {}

        def add(label: str, n_nodes: int) -> int:
            names.append(label)
            fixed.append(n_nodes < 2)  # one node cannot show a spread
            return len(names) - 1

        for d in range(L):
            level = self.hierarchy_[d]
            N = tree.sizes[d]
            ix = np.empty((q, N), dtype=np.int64)
            if d < L - 1 or L == 1:
                for j, c in enumerate(coefs):
                    ix[j] = add(f"{level}:{c}", N)
            else:
                for col, which in ((self.scale_by, "intercept"), (self.slopes_by, "slopes")):
                    codes = self._group_codes(enc, col)
                    if codes is None:
                        values, codes = np.array(["(all)"]), np.zeros(N, dtype=np.int64)
                    else:
                        values = enc.values[self.hierarchy_.index(col)]
                    counts = np.bincount(codes, minlength=len(values))
                    few = (counts < 3) & (counts > 0)
                    if few.any() and (counts > 0).sum() > 1:
                        pooled[which] = [str(v) for v in values[few]]
                    else:
                        few[:] = False
                    # one parameter (or one per slope) per level; the few-leaf levels share one
                    per_value = np.full((len(values), 1 if which == "intercept" else q - 1), -1)
                    shared = None
                    for k in range(len(values)):
                        if counts[k] == 0:
                            continue
                        if few[k] and shared is not None:
                            per_value[k] = shared
                            continue
                        lev = "(pooled)" if few[k] else str(values[k])
                        n_g = int(few.sum() and counts[few].sum()) if few[k] else int(counts[k])
                        cs = ["intercept"] if which == "intercept" else coefs[1:]
                        per_value[k] = [add(f"{level}[{lev}]:{c}", n_g) for c in cs]
                        if few[k]:
                            shared = per_value[k].copy()
                    leaf_params[which] = per_value
                    if which == "intercept":
                        ix[0] = per_value[codes, 0]
                    elif q > 1:
                        ix[1:] = per_value[codes].T
            index.append(ix)
        gamma = None
        if tree.r:
            names.append("descriptors")
            fixed.append(tree.sizes[0] < 3)
            gamma = len(names) - 1
        # moments: within-leaf variance of y for σ², between-leaf variance for intercepts
        n = np.maximum(st.n, 1)
        mean = st.u[0] / n
        within = float(np.sum(st.yy - st.u[0] ** 2 / n) / max(st.total - len(n), 1))
        s2 = min(max(within, 0.05), 1.0) if np.isfinite(within) else 0.5
        between = max(float(np.var(mean)) - s2 / float(np.mean(n)), 0.05)
        start = np.full(len(names), 0.05)
        start[0] = s2
        for ix in index:
            start[np.unique(ix[0])] = between
        if gamma is not None:
            start[gamma] = 0.1
        fixed_arr = np.asarray(fixed, dtype=bool)
        start[fixed_arr & (np.arange(len(names)) > 0)] = VAR_MIN
        if pooled.get("slopes"):
            warnings.warn(
                f"{type(self).__name__}: the data cannot identify per-{self.slopes_by} slope variances for "
                f"{', '.join(pooled['slopes'][:10])} (fewer than 3 {self.hierarchy_[-1]} each); they share a "
                "pooled slope variance.",
                GroupwiseWarning,
                stacklevel=3,
            )
        self.leaf_params_ = leaf_params
        return Layout(tuple(index), tuple(names), fixed_arr, gamma), start, pooled

    # ---------------------------------------------------------- fitted views
    @property
    def scales_(self) -> pd.DataFrame:
        check_is_fitted(self, "node_mean_")
        names = ["intercept", *self.covariates_]
        unit = dict(zip(names, np.r_[self.y_sd_, self.y_sd_ / self.x_sd_], strict=True))
        rows = []
        scale_groups = sorted(
            {lab[lab.index("[") + 1 : lab.index("]")] for lab in self.layout_names_
             if "[" in lab and lab.endswith(":intercept")}
        )  # fmt: skip
        for label, value in zip(self.layout_names_, self.variances_, strict=True):
            if label in ("sigma2", "descriptors"):
                continue
            level, coefficient = label.rsplit(":", 1)
            group = "(all)"
            if "[" in level:
                level, group = level[:-1].split("[", 1)
            # slopes shared by every scale group are listed under each of them
            for g in (
                scale_groups
                if group == "(all)" and "[" in label and scale_groups != ["(all)"]
                else [group]
            ):
                rows.append(
                    {
                        "level": level,
                        "scale_group": g,
                        "coefficient": coefficient,
                        "sd": float(np.sqrt(value) * unit[coefficient]),
                    }
                )
        return pd.DataFrame(rows, columns=["level", "scale_group", "coefficient", "sd"])

    @property
    def fixed_effects_(self) -> pd.Series:
        """Population coefficients in original units (intercept at x = 0)."""
        check_is_fitted(self, "node_mean_")
        q = 1 + len(self.covariates_)
        b = self.root_mean_[:q]
        slopes = b[1:] * self.y_sd_ / self.x_sd_
        intercept = self.y_mean_ + b[0] * self.y_sd_ - float(np.sum(slopes * self.x_mean_))
        return pd.Series(np.r_[intercept, slopes], index=["intercept", *self.covariates_])

    # --------------------------------------------------------------- predict
    def _level_var(self, d: int, rows: np.ndarray, groups) -> np.ndarray:
        """Prior variance (q, len(rows)) of depth ``d`` for ``rows``; at the leaf by the rows'
        scale and slope groups (a group unseen in training: the mean over groups)."""
        D = self.D_[d]
        if d < len(self.hierarchy_) - 1 or len(self.hierarchy_) == 1:
            return np.repeat(D[:, :1], len(rows), axis=1)
        out = np.empty((D.shape[0], len(rows)))
        for sl, which, codes in (
            (slice(0, 1), "intercept", groups[0]),
            (slice(1, None), "slopes", groups[1]),
        ):
            per_value = self.leaf_params_[which]
            known = per_value[:, 0] >= 0
            mean = self.variances_[per_value[known]].mean(axis=0)
            if codes is None:
                out[sl] = self.variances_[per_value[0]][:, None]
                continue
            c = codes[rows]
            ok = c >= 0
            ok[ok] = known[c[ok]]
            vals = np.repeat(mean[:, None], len(rows), axis=1)
            if ok.any():
                vals[:, ok] = self.variances_[per_value[c[ok]]].T
            out[sl] = vals
        return out

    def predict(self, X, return_std: bool = False):
        """Posterior mean (and predictive standard deviation with ``return_std=True``)."""
        check_is_fitted(self, "node_mean_")
        owner = type(self).__name__
        X = _as_frame(X, owner)
        _check_columns(X, self.hierarchy_ + self.covariates_, "required", owner)
        n = len(X)
        Z = _design(X, self.covariates_, self.x_mean_, self.x_sd_)
        L = len(self.hierarchy_)
        q = Z.shape[1]
        found = self.encoder_.lookup(X)
        codes = self.encoder_.codes(X)
        groups = [None if col is None else codes[self.hierarchy_.index(col)] for col in (self.scale_by, self.slopes_by)]  # fmt: skip
        mean = np.full(n, np.nan)
        var = np.full(n, np.nan)
        depth_used = np.full(n, -1)
        for d in range(L - 1, -1, -1):
            rows = np.flatnonzero((depth_used < 0) & (found[d] >= 0))
            depth_used[rows] = d
        diag = np.arange(q)
        for d in range(-1, L):
            rows = np.flatnonzero(depth_used == d)
            if d == -1:
                if self.unknown == "error" and len(rows):
                    top = self.hierarchy_[0]
                    unseen = pd.unique(X.iloc[rows][top].astype(str))[:5]
                    raise DataError(
                        f"{owner}: {len(rows)} row(s) have a {top!r} not seen in training "
                        f"(e.g. {', '.join(map(repr, unseen))}). Drop them, or use unknown='nan' or "
                        "'global'"
                        + (" (which predicts from the group features)" if self.descriptors_ else "")
                        + "."
                    )
                if self.unknown == "nan" or not len(rows):
                    continue
                m, C = self._root_prior(X.iloc[rows])
            else:
                if not len(rows):
                    continue
                node = found[d][rows]
                m = self.node_mean_[d][:, node]
                C = self.node_cov_[d][:, :, node].copy()
            for below in range(d + 1, L):
                C[diag, diag] += self._level_var(below, rows, groups)
            z = Z[rows].T
            mean[rows] = (z * m).sum(0)
            var[rows] = np.einsum("in,ijn,jn->n", z, C, z) + self.s2_
        mean = mean * self.y_sd_ + self.y_mean_
        if return_std:
            return mean, np.sqrt(var) * self.y_sd_
        return mean

    def _root_prior(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of an unseen top key's coefficients, per row (q, n), (q, q, n)."""
        q = 1 + len(self.covariates_)
        n = len(rows)
        mr, Cr = self.root_mean_, self.root_cov_
        m = np.repeat(mr[:q, None], n, axis=1)
        C = np.repeat(Cr[:q, :q, None], n, axis=2)
        if self.descriptors_:
            keys = rows[self.hierarchy_[0]].astype(str).to_numpy()
            if isinstance(self.group_features, pd.DataFrame):
                desc = self._descriptors(rows, keys, self.hierarchy_[0]).to_numpy(dtype=np.float64)
            else:
                desc = rows[self.descriptors_].to_numpy(dtype=np.float64, na_value=np.nan)
            w = np.nan_to_num((desc - self.desc_mean_) / self.desc_sd_).T  # (r, n)
            m[0] += w.T @ mr[q:]
            a = Cr[:q, q:] @ w
            C[:, 0, :] += a
            C[0, :, :] += a
            C[0, 0, :] += np.einsum("rn,rs,sn->n", w, Cr[q:, q:], w)
        C[np.arange(q), np.arange(q)] += self.D_[0][:, :1]
        return m, C

    def support(self, X) -> np.ndarray:
        """Training rows of each row's leaf group: 0 when the leaf was not seen, −1 when
        even its top key was not (a cold start)."""
        check_is_fitted(self, "node_mean_")
        found = self.encoder_.lookup(_as_frame(X, type(self).__name__))
        leaf = found[-1]
        counts = self.node_rows_[-1]
        out = np.where(leaf >= 0, counts[np.maximum(leaf, 0)], 0)
        return np.where(found[0] < 0, -1, out)

    def coefficients(self) -> pd.DataFrame:
        """Posterior means and SDs of every node, in original units, with a 64-bit key.

        ``key = (group_id << 32) + key_id``: ``key_id`` is the code of the top key
        (position in its sorted unique values); ``group_id`` the code of the node's own
        id column, and the reserved ``2**31 − 1`` at the top level (all keys stay positive int64).
        """
        check_is_fitted(self, "node_mean_")
        names = ["intercept", *self.covariates_]
        unit = np.r_[self.y_sd_, self.y_sd_ / self.x_sd_]
        offset = np.r_[self.y_mean_, np.zeros(len(self.covariates_))]
        frames = []
        for d, keys in enumerate(self.encoder_.keys):
            codes = np.stack(np.unravel_index(keys, self.encoder_.dims[: d + 1]), axis=1)
            data = {"level": self.hierarchy_[d], "depth": d}
            for k in range(d + 1):
                data[self.hierarchy_[k]] = self.encoder_.values[k][codes[:, k]]
            group = (
                np.full(len(keys), _RESERVED, dtype=np.int64)
                if d == 0
                else codes[:, d].astype(np.int64)
            )
            data["key"] = (group << 32) + codes[:, 0].astype(np.int64)
            data["n_rows"] = self.node_rows_[d]
            m, C = self.node_mean_[d], self.node_cov_[d]
            for j, c in enumerate(names):
                data[f"mean_{c}"] = m[j] * unit[j] + offset[j]
            for j, c in enumerate(names):
                data[f"sd_{c}"] = np.sqrt(C[j, j]) * unit[j]
            frames.append(pd.DataFrame(data))
        return pd.concat(frames, ignore_index=True)


def _check_nesting(X: pd.DataFrame, hierarchy: Sequence[str], owner: str) -> None:
    for j in range(2, len(hierarchy)):
        child, parent = hierarchy[j], hierarchy[j - 1]
        n_parents = X.groupby(child, observed=True)[parent].nunique()
        bad = n_parents[n_parents > 1]
        if len(bad):
            examples = []
            for value in bad.index[:5]:
                parents = sorted(map(str, X.loc[X[child] == value, parent].unique()))
                examples.append(f"{value!r} in {', '.join(parents)}")
            raise DataError(
                f"{owner}: hierarchy columns must nest, but {len(bad)} {child!r} value(s) appear under "
                f"several {parent!r} values: {'; '.join(examples)}. Fix the ids or drop {child!r} from the hierarchy."
            )


class GroupedRidge(ValidatedMixin, RegressorMixin, BaseEstimator):
    """A ridge regression per group, from sufficient statistics, with fallback to coarser groups.

    ``groups=["compound", "cluster"]`` fits one ridge per (compound, cluster); rows of an
    unseen (compound, cluster) use the compound's ridge, and an unseen compound the ridge
    of all rows. The intercept is not penalised; covariates are standardised.

    Parameters
    ----------
    groups : list of str
        Id columns from coarse to fine.
    alpha : float, default=1.0
        Ridge penalty on the standardised slopes.
    covariates : list of str, default=None
        Numeric columns with slopes; default every numeric column not in ``groups``.
    """

    def __init__(self, *, groups=(), alpha=1.0, covariates=None):
        self.groups = groups
        self.alpha = alpha
        self.covariates = covariates

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags

    _parameter_constraints: dict = {
        "groups": [str, list, tuple],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "covariates": [list, tuple, None],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit one ridge per group (and per coarser group, for fallbacks)."""
        owner = type(self).__name__
        groups = [self.groups] if isinstance(self.groups, str) else list(self.groups)
        if not groups:
            raise InvalidParameter(
                f"The 'groups' parameter of {owner} must list at least one id column. Got {self.groups!r} instead."
            )
        X, y, Z = _fit_inputs(self, X, y, groups, "group")
        self.groups_ = groups
        q = Z.shape[1]
        self.encoder_ = enc = _Encoder(X, groups)
        L = len(groups)
        st = leaf_stats(Z, y, enc.node_of_row[-1], len(enc.keys[-1]))
        del enc.node_of_row
        penalty = np.r_[1e-10, np.full(q - 1, float(self.alpha) + 1e-10)]
        S, u = st.S, st.u
        self.coef_: list[np.ndarray] = [None] * L  # type: ignore[list-item]
        for d in range(L - 1, -1, -1):
            if d < L - 1:
                S = sum_by(S, enc.parent[d + 1], len(enc.keys[d]))
                u = sum_by(u, enc.parent[d + 1], len(enc.keys[d]))
            inv, _ = batched_inverse(S + (np.eye(q) * penalty)[:, :, None])
            self.coef_[d] = matvec(inv, u)
        S_all, u_all = S.sum(axis=2), u.sum(axis=1)
        self.global_coef_ = np.linalg.solve(S_all + np.diag(penalty), u_all)
        return self

    def predict(self, X):
        check_is_fitted(self, "coef_")
        X = _as_frame(X, type(self).__name__)
        Z = _design(X, self.covariates_, self.x_mean_, self.x_sd_)
        found = self.encoder_.lookup(X)
        out = Z @ self.global_coef_
        done = np.zeros(len(X), dtype=bool)
        for d in range(len(self.groups_) - 1, -1, -1):
            rows = np.flatnonzero(~done & (found[d] >= 0))
            if len(rows):
                out[rows] = (Z[rows].T * self.coef_[d][:, found[d][rows]]).sum(0)
                done[rows] = True
        return out
