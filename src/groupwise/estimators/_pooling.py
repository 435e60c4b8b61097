"""Nested partial pooling (empirical Bayes) and grouped ridge, from sufficient statistics.

Model (``../shared/notes/partial_pooling.md``; lme4 notation ``(1 + x | top/mid/leaf)``
with per-level diagonal covariances)::

    y_i     = z_i' θ_leaf(i) + e_i,      e_i ~ N(0, σ²),   z_i = [1, standardised x_i]
    θ_node  ~ N(θ_parent, D_level)       (D at the leaf: one per ``scale_by`` level)
    θ_top   ~ N(0, v0 I),  v0 = 1e4      (effectively flat, on the standardised scale)

The fit reduces the rows to per-leaf sufficient statistics (n, Z'Z, Z'y, y'y) in one
pass. Given the variances, an upward pass in information form and a downward pass give
the exact Gaussian posterior of every node; the marginal log-likelihood comes out of the
same pass. The variances maximise that likelihood (type-II ML). EM's closed-form M-step
gives its gradient for free (Fisher's identity), and L-BFGS on the log variances uses it:
plain EM, and SQUAREM-accelerated EM, crawled for hundreds of steps towards small
variances here. Memory is O(nodes · q²), whatever the number of rows.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from groupwise.estimators._base import InvalidParameter, ValidatedMixin
from groupwise.exceptions import (
    ColumnNotFoundError,
    DataError,
    GroupwiseWarning,
    did_you_mean,
)

__all__ = ["GroupedRidge", "PartialPoolingRegressor"]

V0 = 1e4
_RESERVED = (1 << 31) - 1  # group id of top-level keys: keeps (group << 32) + key in int64


# --------------------------------------------------------------------------- linear algebra
def batched_inverse(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse and log-determinant of a stack of SPD matrices ``M`` of shape (q, q, N).

    Cholesky with the batch axis last: q² vector operations of length N instead of N
    small LAPACK calls.
    """
    q = M.shape[0]
    L = np.zeros_like(M)
    for j in range(q):
        s = M[j, j] - (L[j, :j] ** 2).sum(axis=0)
        d = np.sqrt(
            np.maximum(s, 1e-12 * np.abs(M[j, j]) + 1e-300)
        )  # relative floor against round-off
        L[j, j] = d
        for i in range(j + 1, q):
            L[i, j] = (M[i, j] - (L[i, :j] * L[j, :j]).sum(axis=0)) / d
    Li = np.zeros_like(M)
    for i in range(q):
        Li[i, i] = 1.0 / L[i, i]
        for j in range(i):
            Li[i, j] = -(L[i, j:i] * Li[j:i, j]).sum(axis=0) / L[i, i]
    inv = _bmm(Li.transpose(1, 0, 2), Li, symmetric=True)
    logdet = 2.0 * np.log(np.diagonal(L, axis1=0, axis2=1)).sum(axis=-1)
    return inv, logdet


def _matvec(M, v):
    return (M * v[None, :, :]).sum(axis=1)


def _bmm(A: np.ndarray, B: np.ndarray, *, symmetric: bool = False) -> np.ndarray:
    """Batch-last matrix product: out[:, :, n] = A[:, :, n] @ B[:, :, n].

    Explicit loops over the tiny matrix dimensions with vector operations along the
    batch axis (about 2× faster than einsum or broadcasting here). ``symmetric=True``
    computes the upper triangle only and mirrors it.
    """
    rows, inner, cols = A.shape[0], A.shape[1], B.shape[1]
    out = np.empty((rows, cols, A.shape[2]))
    for i in range(rows):
        for j in range(i if symmetric else 0, cols):
            s = A[i, 0] * B[0, j]
            for k in range(1, inner):
                s += A[i, k] * B[k, j]
            out[i, j] = s
            if symmetric and j != i:
                out[j, i] = s
    return out


def _sum_by(values: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    """Sum the last axis of ``values`` into ``size`` bins given by ``index``."""
    flat = values.reshape(-1, values.shape[-1])
    out = np.empty((flat.shape[0], size))
    for r in range(flat.shape[0]):
        out[r] = np.bincount(index, weights=flat[r], minlength=size)
    return out.reshape(*values.shape[:-1], size)


# --------------------------------------------------------------------------- the tree
@dataclasses.dataclass
class _Tree:
    """Nodes per depth: ``parent[d][n]`` is the node at depth d-1 above node n at depth d."""

    sizes: list[int]
    parent: list[np.ndarray | None]
    leaf_group: np.ndarray  # scale group of each leaf
    n_groups: int


@dataclasses.dataclass
class _Stats:
    n: np.ndarray  # (G,)
    S: np.ndarray  # (q, q, G)
    u: np.ndarray  # (q, G)
    yy: np.ndarray  # (G,)

    @property
    def total(self) -> float:
        return float(self.n.sum())


def _stats(Z: np.ndarray, y: np.ndarray, leaf: np.ndarray, G: int) -> _Stats:
    q = Z.shape[1]
    S = np.empty((q, q, G))
    for a in range(q):
        for b in range(a, q):
            S[a, b] = S[b, a] = np.bincount(leaf, weights=Z[:, a] * Z[:, b], minlength=G)
    u = np.stack([np.bincount(leaf, weights=Z[:, a] * y, minlength=G) for a in range(q)])
    return _Stats(
        np.bincount(leaf, minlength=G).astype(float),
        S,
        u,
        np.bincount(leaf, weights=y * y, minlength=G),
    )


@dataclasses.dataclass
class _Posterior:
    m: list[np.ndarray]  # per depth (q, N_d)
    C: list[np.ndarray]  # per depth (q, q, N_d)
    var_diff: list[np.ndarray | None]  # per depth ≥ 1: diagonal of Cov(θ_n − θ_parent), (q, N_d)
    loglik: float


def gaussian_pass(
    tree: _Tree, st: _Stats, s2: float, D: list[np.ndarray], v0: float = V0
) -> _Posterior:
    """Exact posterior of every node and the marginal log-likelihood, given the variances.

    ``D[d]`` is the diagonal prior variance of depth ``d >= 1`` as an array of shape
    (q,), except the leaf depth whose ``D[-1]`` has shape (n_groups, q).
    """
    L = len(tree.sizes)
    q = st.u.shape[0]
    eye = np.eye(q)[:, :, None]
    Pinv: list[np.ndarray | None] = [None] * L
    r: list[np.ndarray | None] = [None] * L
    Dinv_at: list[np.ndarray | None] = [None] * L
    ll = float(-0.5 * st.total * math.log(2 * math.pi * s2) - st.yy.sum() / (2 * s2))
    # upward: leaves first
    b = st.u / s2
    Jsum = hsum = None
    for d in range(L - 1, -1, -1):
        N = tree.sizes[d]
        data_P = st.S / s2 if d == L - 1 else Jsum
        data_b = b if d == L - 1 else hsum
        if d == 0:
            P = data_P + eye / v0
            inv, logdet = batched_inverse(P)
            m0 = _matvec(inv, data_b)
            ll += float(
                -0.5 * q * math.log(v0) * N - 0.5 * logdet.sum() + 0.5 * (data_b * m0).sum()
            )
            Pinv[0], r[0] = inv, m0
            break
        Dd = (
            D[d][tree.leaf_group].T if d == L - 1 else np.repeat(D[d][:, None], N, axis=1)
        )  # (q, N)
        Dinv = 1.0 / Dd
        P = data_P + eye * Dinv[None, :, :]
        inv, logdet = batched_inverse(P)
        rd = _matvec(inv, data_b)
        ll += float(-0.5 * np.log(Dd).sum() - 0.5 * logdet.sum() + 0.5 * (data_b * rd).sum())
        J = eye * Dinv[None] - Dinv[:, None, :] * inv * Dinv[None, :, :]
        h = Dinv * rd
        par = tree.parent[d]
        Jsum = _sum_by(J, par, tree.sizes[d - 1])
        hsum = _sum_by(h, par, tree.sizes[d - 1])
        Pinv[d], r[d], Dinv_at[d] = inv, rd, Dinv
    # downward
    m = [r[0]] + [None] * (L - 1)
    C = [Pinv[0]] + [None] * (L - 1)
    var_diff: list[np.ndarray | None] = [None] * L
    for d in range(1, L):
        par = tree.parent[d]
        Ad = Pinv[d] * Dinv_at[d][None, :, :]  # A[i, j] = Pinv[i, j] · Dinv[j]
        mp, Cp = m[d - 1][:, par], C[d - 1][:, :, par]
        m[d] = _matvec(Ad, mp) + r[d]
        T = _bmm(Ad, Cp)
        C[d] = Pinv[d] + _bmm(T, Ad.transpose(1, 0, 2), symmetric=True)
        # Cov(θ_n − θ_p) = P⁻¹ + (A − I) C_p (A − I)' = C_n − A C_p − C_p A' + C_p; its diagonal:
        dg = lambda M: np.diagonal(M, axis1=0, axis2=1).T  # noqa: E731
        var_diff[d] = dg(C[d]) - 2 * dg(T) + dg(Cp)
    return _Posterior(m, C, var_diff, ll)


def _m_step(
    tree: _Tree, st: _Stats, post: _Posterior, D: list[np.ndarray]
) -> tuple[float, list[np.ndarray]]:
    """Closed-form EM updates of σ² and the per-level diagonal variances."""
    L = len(tree.sizes)
    mg, Cg = post.m[-1], post.C[-1]
    Sm = _matvec(st.S, mg)
    resid = (
        st.yy - 2 * (mg * st.u).sum(0) + (mg * Sm).sum(0) + (st.S * Cg).sum(axis=(0, 1))
    )  # S symmetric
    s2 = max(float(resid.sum() / st.total), 1e-12)
    new_D: list[np.ndarray] = [np.empty(0)] + [np.empty(0)] * (L - 1)
    for d in range(1, L):
        par = tree.parent[d]
        diff = post.m[d] - post.m[d - 1][:, par]
        E = diff**2 + post.var_diff[d]  # (q, N_d): diagonal of E[(θ_n − θ_parent)(θ_n − θ_parent)']
        if d == L - 1:
            counts = np.bincount(tree.leaf_group, minlength=tree.n_groups)
            sums = _sum_by(E, tree.leaf_group, tree.n_groups)  # (q, K)
            Dk = (sums / np.maximum(counts, 1)).T
            Dk[counts == 0] = D[d][counts == 0]
            Dk[:, 1:] = E[1:].mean(axis=1)  # slope variances are shared by all scale groups
            new_D[d] = np.maximum(Dk, 1e-10)
        else:
            new_D[d] = np.maximum(E.mean(axis=1), 1e-10)
    return s2, new_D


def _pack(s2, D) -> np.ndarray:
    """Log parameters: σ², internal levels' diagonals, then the leaf level's intercept
    variance per scale group followed by its slope variances (shared by all groups)."""
    parts = [[s2]]
    for x in D[1:]:
        parts.append(np.r_[x[:, 0], x[0, 1:]] if x.ndim == 2 else x)
    return np.log(np.concatenate(parts))


def _unpack(theta: np.ndarray, D_like: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
    s2 = float(np.exp(theta[0]))
    out = [np.empty(0)]
    pos = 1
    for x in D_like[1:]:
        if x.ndim == 2:
            K, q = x.shape
            v = np.exp(theta[pos : pos + K + q - 1])
            out.append(np.column_stack([v[:K], np.broadcast_to(v[K:], (K, q - 1))]))
            pos += K + q - 1
        else:
            out.append(np.exp(theta[pos : pos + x.size]))
            pos += x.size
    return s2, out


def _level_counts(tree: _Tree) -> list[np.ndarray]:
    """Nodes behind each variance parameter: per level, and per scale group at the leaf."""
    L = len(tree.sizes)
    out: list[np.ndarray] = [np.empty(0)]
    for d in range(1, L):
        if d == L - 1:
            out.append(np.bincount(tree.leaf_group, minlength=tree.n_groups).astype(float))
        else:
            out.append(np.array([float(tree.sizes[d])]))
    return out


def fit_em(
    tree: _Tree,
    st: _Stats,
    s2: float,
    D: list[np.ndarray],
    *,
    max_iter: int,
    tol: float,
):
    """Maximise the marginal likelihood over log σ² and the log variances.

    Each evaluation is one Gaussian pass. The gradient is exact and free: by Fisher's
    identity it equals the gradient of the EM objective at the current point, so
    d loglik / d log D = ½ N (D_EM / D − 1) and d loglik / d log σ² = ½ n (σ²_EM / σ² − 1),
    where D_EM, σ²_EM are the EM (M-step) updates. L-BFGS on these gradients avoids the
    slow crawl of plain EM towards small variances. Converged when no standard
    deviation moves by more than ``tol`` · σ between iterations.

    Returns (s2, D, posterior, n_estep, converged).
    """
    from scipy.optimize import minimize

    counts = _level_counts(tree)
    n_estep = 0
    last: dict[str, Any] = {}

    def objective(theta):
        nonlocal n_estep
        s2_, D_ = _unpack(theta, D)
        with np.errstate(all="ignore"):
            post = gaussian_pass(tree, st, s2_, D_)
            n_estep += 1
            if not np.isfinite(
                post.loglik
            ):  # a line-search probe too far out: tell L-BFGS to back off
                return np.inf, np.zeros_like(theta)
            s2_em, D_em = _m_step(tree, st, post, D_)
        grad = [0.5 * st.total * (s2_em / s2_ - 1.0)]
        for d in range(1, len(D_)):
            if D_[d].ndim == 1:
                grad.append(0.5 * counts[d] * (D_em[d] / D_[d] - 1.0))
            else:  # intercepts per scale group, then the shared slopes (all leaves)
                grad.append(0.5 * counts[d] * (D_em[d][:, 0] / D_[d][:, 0] - 1.0))
                grad.append(0.5 * counts[d].sum() * (D_em[d][0, 1:] / D_[d][0, 1:] - 1.0))
        last["post"], last["theta"] = post, theta
        return -post.loglik, -np.concatenate([np.ravel(g) for g in grad])

    state = {"prev": _pack(s2, D), "converged": False}

    def callback(intermediate_result):
        theta = intermediate_result.x
        prev = state["prev"]
        change = float(
            np.max(np.abs(np.exp(0.5 * theta) - np.exp(0.5 * prev))) / math.exp(0.5 * theta[0])
        )
        state["prev"] = theta.copy()
        if change < tol:
            state["converged"] = True
            raise StopIteration

    theta0 = _pack(s2, D)
    # on the standardised target (variance 1): σ² and prior variances in [1e-10, 1e3]
    bounds = [(math.log(1e-10), math.log(1e3))] * len(theta0)
    result = minimize(
        objective, theta0, jac=True, method="L-BFGS-B", bounds=bounds, callback=callback,
        options={"maxfun": max_iter, "maxiter": max_iter, "ftol": 0.0, "gtol": 1e-10},
    )  # fmt: skip
    theta = result.x
    converged = state["converged"]
    s2, D = _unpack(theta, D)
    if last.get("theta") is not None and np.array_equal(last["theta"], theta):
        post = last["post"]
    else:
        post = gaussian_pass(tree, st, s2, D)
        n_estep += 1
    return s2, D, post, n_estep, converged


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


def _fit_inputs(est, X, y, id_cols: Sequence[str], role: str):
    """Validate ``X`` and ``y``, drop rows with missing ids and standardise the covariates.

    Sets ``covariates_``, ``x_mean_``, ``x_sd_``, ``feature_names_in_`` and
    ``n_features_in_`` on ``est``; returns ``(X, y, Z)`` with ``Z = [1, standardised x]``.
    """
    owner = type(est).__name__
    X = _as_frame(X, owner)
    _check_columns(X, id_cols, role, owner)
    covariates = _default_covariates(X, id_cols) if est.covariates is None else list(est.covariates)
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
    covariate) drawn around its parent's with a diagonal covariance per level; the leaf
    level can have one covariance per ``scale_by`` level (cluster-specific shrinkage).
    Small groups borrow strength from their parents; large groups keep their own fit.

    Parameters
    ----------
    hierarchy : list of str
        Id columns from the top key to the leaf, e.g. ``["compound", "cluster",
        "species"]``: a node at depth d is the tuple of the first d+1 columns. Columns
        after the first must nest (each species in exactly one cluster).
    covariates : list of str, default=None
        Numeric columns with slopes (standardised internally); default every numeric
        column not in ``hierarchy``.
    scale_by : str, default=None
        A hierarchy column whose levels get their own leaf-level intercept variance
        (cluster-specific shrinkage); the leaf slope variances are shared.
    max_iter : int, default=500
        Maximum number of E-steps.
    tol : float, default=1e-4
        Convergence: largest change of any standard deviation, relative to σ.
    unknown : {"error", "nan", "global"}, default="error"
        What to predict for an unseen top key: raise, NaN, or the mean over top keys
        (with the spread between them added to the predictive variance).

    Attributes
    ----------
    sigma_ : float
        Residual standard deviation (target units).
    scales_ : DataFrame
        Prior standard deviation per level (and ``scale_by`` level) and coefficient:
        intercept in target units, slopes in target units per covariate unit.
    n_iter_ : int
        E-steps used. ``converged_`` : bool.
    loglik_ : float
        Marginal log-likelihood of the standardised target at the estimate.

    Notes
    -----
    The predictive standard deviation is sqrt(z'Cz + σ²) with C the posterior covariance
    of the row's node. Rows whose leaf was not seen fall back to the deepest seen
    ancestor, whose prior variances below are added. Like ``TargetEncoder``, the node
    means are computed from the target: fit inside cross-validation, never on test rows.

    Examples
    --------
    >>> from groupwise.datasets import make_nested_regression
    >>> df, truth = make_nested_regression(n_clusters=4, n_species=20, n_compounds=10, random_state=0)
    >>> model = PartialPoolingRegressor(hierarchy=["compound", "cluster", "species"], scale_by="cluster")
    >>> model.fit(df.drop(columns="y"), df["y"]).sigma_ > 0
    True
    """

    def __init__(
        self,
        *,
        hierarchy=(),
        covariates=None,
        scale_by=None,
        max_iter=500,
        tol=1e-4,
        unknown="error",
    ):
        self.hierarchy = hierarchy
        self.covariates = covariates
        self.scale_by = scale_by
        self.max_iter = max_iter
        self.tol = tol
        self.unknown = unknown

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags

    _parameter_constraints: dict = {
        "hierarchy": [str, list, tuple],
        "covariates": [list, tuple, None],
        "scale_by": [str, None],
        "max_iter": [Interval(numbers.Integral, 3, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="neither")],
        "unknown": [StrOptions({"error", "nan", "global"})],
    }

    def _hierarchy(self) -> list[str]:
        owner = type(self).__name__
        hierarchy = [self.hierarchy] if isinstance(self.hierarchy, str) else list(self.hierarchy)
        if not hierarchy:
            raise InvalidParameter(
                f"The 'hierarchy' parameter of {owner} must list at least one id column. Got {self.hierarchy!r} instead."
            )
        if self.scale_by is not None and self.scale_by not in hierarchy:
            raise InvalidParameter(
                f"The 'scale_by' parameter of {owner} must be one of the hierarchy columns "
                f"{hierarchy}. Got {self.scale_by!r} instead.{did_you_mean(str(self.scale_by), hierarchy)}"
            )
        return hierarchy

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the variances by empirical Bayes and the posterior of every node."""
        owner = type(self).__name__
        hierarchy = self._hierarchy()
        X, y, Z = _fit_inputs(self, X, y, hierarchy, "hierarchy")
        _check_nesting(X, hierarchy, owner)
        self.hierarchy_ = hierarchy
        self.y_mean_, self.y_sd_ = float(y.mean()), float(y.std()) or 1.0
        ys = (y - self.y_mean_) / self.y_sd_
        q = Z.shape[1]
        self.encoder_ = enc = _Encoder(X, hierarchy)
        L = len(hierarchy)
        G = len(enc.keys[-1])
        if self.scale_by is None:
            group = np.zeros(G, dtype=np.int64)
            self.scale_levels_ = ["(all)"]
        else:
            col = hierarchy.index(self.scale_by)
            group = enc.leaf_codes[:, col]
            self.scale_levels_ = [str(v) for v in enc.values[col]]
        tree = _Tree([len(k) for k in enc.keys], enc.parent, group, len(self.scale_levels_))
        st = _stats(Z, ys, enc.node_of_row[-1], G)
        self.node_rows_ = [
            np.bincount(enc.node_of_row[d], minlength=len(enc.keys[d])) for d in range(L)
        ]
        del enc.node_of_row
        D0 = [np.empty(0)] + [np.full(q, 0.5) for _ in range(1, L)]
        if L > 1:
            D0[-1] = np.full((tree.n_groups, q), 0.5)
        s2, D, post, n_iter, converged = fit_em(
            tree, st, 0.5, D0, max_iter=self.max_iter, tol=self.tol
        )
        if not converged:
            warnings.warn(
                f"{owner} did not converge in {self.max_iter} E-steps; raise max_iter.",
                GroupwiseWarning,
                stacklevel=2,
            )
        self.s2_, self.D_ = s2, D
        self.node_mean_, self.node_cov_ = post.m, post.C
        self.n_iter_, self.converged_, self.loglik_ = n_iter, converged, post.loglik
        self.sigma_ = math.sqrt(s2) * self.y_sd_
        top = post.m[0]
        self.top_mean_ = top.mean(axis=1)
        self.top_cov_ = np.cov(top) if top.shape[1] > 1 else np.zeros((q, q))
        self.top_cov_ = np.atleast_2d(self.top_cov_) + post.C[0].mean(axis=2)
        return self

    @property
    def scales_(self) -> pd.DataFrame:
        check_is_fitted(self, "node_mean_")
        names = ["intercept", *self.covariates_]
        unit = np.r_[self.y_sd_, self.y_sd_ / self.x_sd_]
        rows = []
        L = len(self.hierarchy_)
        for d in range(1, L):
            level = self.hierarchy_[d]
            if d == L - 1:
                for k, g in enumerate(self.scale_levels_):
                    for j, c in enumerate(names):
                        rows.append(
                            {
                                "level": level,
                                "scale_group": g,
                                "coefficient": c,
                                "sd": float(np.sqrt(self.D_[d][k, j]) * unit[j]),
                            }
                        )
            else:
                for j, c in enumerate(names):
                    rows.append(
                        {
                            "level": level,
                            "scale_group": "(all)",
                            "coefficient": c,
                            "sd": float(np.sqrt(self.D_[d][j]) * unit[j]),
                        }
                    )
        return pd.DataFrame(rows, columns=["level", "scale_group", "coefficient", "sd"])

    def _leaf_D(self, codes_scale: np.ndarray) -> np.ndarray:
        """Leaf prior variance per row (q, n) by scale group; unseen groups get the mean."""
        Dl = self.D_[-1]
        mean = Dl.mean(axis=0)
        out = np.where(codes_scale[None, :] >= 0, Dl[np.maximum(codes_scale, 0)].T, mean[:, None])
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
        found = self.encoder_.lookup(X)
        q = Z.shape[1]
        mean = np.full(n, np.nan)
        var = np.full(n, np.nan)
        depth_used = np.full(n, -1)
        for d in range(L - 1, -1, -1):
            rows = np.flatnonzero((depth_used < 0) & (found[d] >= 0))
            if len(rows):
                depth_used[rows] = d
        scale_codes = (
            self.encoder_.codes(X)[self.hierarchy_.index(self.scale_by)]
            if self.scale_by is not None
            else np.zeros(n, dtype=int)
        )
        if self.scale_by is None:
            scale_codes = np.zeros(n, dtype=int)
        extra_leaf = self._leaf_D(scale_codes) if L > 1 else None
        for d in range(L):
            rows = np.flatnonzero(depth_used == d)
            if not len(rows):
                continue
            node = found[d][rows]
            m = self.node_mean_[d][:, node]
            C = self.node_cov_[d][:, :, node].copy()
            for below in range(d + 1, L):
                add = (
                    extra_leaf[:, rows]
                    if below == L - 1
                    else np.repeat(self.D_[below][:, None], len(rows), axis=1)
                )
                C[np.arange(q), np.arange(q)] += add
            z = Z[rows].T
            mean[rows] = (z * m).sum(0)
            var[rows] = np.einsum("in,ijn,jn->n", z, C, z) + self.s2_
        unknown = depth_used < 0
        if unknown.any():
            if self.unknown == "error":
                top = self.hierarchy_[0]
                unseen = pd.unique(X.loc[unknown, top].astype(str))[:5]
                raise DataError(
                    f"{owner}: {int(unknown.sum())} row(s) have a {top!r} not seen in training "
                    f"(e.g. {', '.join(map(repr, unseen))}). Drop them, or use unknown='nan' or 'global'."
                )
            if self.unknown == "global":
                z = Z[unknown].T
                C = np.repeat(self.top_cov_[:, :, None], int(unknown.sum()), axis=2)
                for below in range(1, L):
                    add = (
                        extra_leaf[:, unknown]
                        if below == L - 1
                        else np.repeat(self.D_[below][:, None], int(unknown.sum()), axis=1)
                    )
                    C[np.arange(q), np.arange(q)] += add
                mean[unknown] = z.T @ self.top_mean_
                var[unknown] = np.einsum("in,ijn,jn->n", z, C, z) + self.s2_
        mean = mean * self.y_sd_ + self.y_mean_
        if return_std:
            return mean, np.sqrt(var) * self.y_sd_
        return mean

    def support(self, X) -> np.ndarray:
        """Training rows of each row's leaf group (0 when the leaf was not seen)."""
        check_is_fitted(self, "node_mean_")
        leaf = self.encoder_.lookup(_as_frame(X, type(self).__name__))[-1]
        counts = self.node_rows_[-1]
        return np.where(leaf >= 0, counts[np.maximum(leaf, 0)], 0)

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
        st = _stats(Z, y, enc.node_of_row[-1], len(enc.keys[-1]))
        del enc.node_of_row
        penalty = np.r_[1e-10, np.full(q - 1, float(self.alpha) + 1e-10)]
        S, u = st.S, st.u
        self.coef_: list[np.ndarray] = [None] * L  # type: ignore[list-item]
        for d in range(L - 1, -1, -1):
            if d < L - 1:
                S = _sum_by(S, enc.parent[d + 1], len(enc.keys[d]))
                u = _sum_by(u, enc.parent[d + 1], len(enc.keys[d]))
            inv, _ = batched_inverse(S + (np.eye(q) * penalty)[:, :, None])
            self.coef_[d] = _matvec(inv, u)
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
