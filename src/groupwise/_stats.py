"""Small statistics shared by the generator summary, the audit and evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "cohens_d",
    "cramers_v",
    "eta_squared",
    "group_variance_explained",
    "holm",
    "rank_auc",
]


def cramers_v(a, b) -> float:
    """Cramér's V of two categorical variables (0 = independent, 1 = determined).

    Uses the uncorrected statistic V = sqrt(chi² / (n · (min(r, c) − 1))).

    Examples
    --------
    >>> cramers_v(["a", "a", "b", "b"], [0, 0, 1, 1])
    1.0
    """
    table = pd.crosstab(pd.Series(np.asarray(a)), pd.Series(np.asarray(b))).to_numpy(dtype=float)
    return cramers_v_from_table(table)


def cramers_v_from_table(table: np.ndarray) -> float:
    table = np.asarray(table, dtype=float)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    r, c = table.shape
    n = table.sum()
    if n == 0 or min(r, c) < 2:
        return 0.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (n * (min(r, c) - 1))))


def eta_squared(values, groups) -> float:
    """Share of the variance of ``values`` explained by ``groups`` (one-way ANOVA η²).

    Missing values are ignored.
    """
    v = pd.Series(np.asarray(values, dtype=float))
    g = pd.Series(np.asarray(groups))
    ok = v.notna().to_numpy() & g.notna().to_numpy()
    v, g = v[ok], g[ok]
    if len(v) < 2:
        return 0.0
    total = float(((v - v.mean()) ** 2).sum())
    if total == 0:
        return 0.0
    stats = v.groupby(g.to_numpy()).agg(["mean", "count"])
    between = float((stats["count"] * (stats["mean"] - v.mean()) ** 2).sum())
    return between / total


def cohens_d(x, y) -> float:
    """Standardised mean difference between class 1 and class 0 of a binary ``y``.

    d = (mean₁ − mean₀) / pooled SD; missing values in ``x`` are ignored.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y)
    ok = ~np.isnan(x)
    x, y = x[ok], y[ok]
    labels = np.unique(y)
    if len(labels) != 2:
        raise ValueError(f"cohens_d needs a binary y; got {len(labels)} classes.")
    a, b = x[y == labels[0]], x[y == labels[1]]
    if len(a) < 2 or len(b) < 2:
        return 0.0
    pooled = np.sqrt(
        ((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2)
    )
    return float((b.mean() - a.mean()) / pooled) if pooled > 0 else 0.0


def rank_auc(score, y_binary) -> float:
    """ROC AUC by the rank-sum formula (ties get half credit); NaN if one class is empty."""
    score = np.asarray(score, dtype=float)
    y = np.asarray(y_binary).astype(bool)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(score)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def group_variance_explained(codes: np.ndarray, X: np.ndarray) -> dict[str, np.ndarray]:
    """Per column of ``X``: η², chance-adjusted ε², and the one-way ANOVA F-test p-value
    of the levels in ``codes`` (negative codes and NaNs are ignored per column).

    ε² = (SS_between − (k − 1)·MS_within) / SS_total is ≈ 0 when the levels carry no
    signal, whatever the number of levels; η² grows with the number of levels.
    """
    from scipy.stats import f as f_dist

    codes = np.asarray(codes)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    X = np.asfortranarray(X)  # one contiguous column at a time
    n_levels = int(codes.max()) + 1 if len(codes) and codes.max() >= 0 else 0
    F = X.shape[1]
    eta2 = np.zeros(F)
    eps2 = np.zeros(F)
    pval = np.ones(F)
    coded = codes >= 0
    all_coded = bool(coded.all())
    for j in range(F):
        x = X[:, j]
        missing = np.isnan(x)
        if all_coded and not missing.any():
            g, v = codes, x
        else:
            ok = coded & ~missing
            g, v = codes[ok], x[ok]
        n = len(v)
        if n < 3 or n_levels < 2:
            continue
        counts = np.bincount(g, minlength=n_levels)
        k = int((counts > 0).sum())
        if k < 2 or n - k < 1:
            continue
        sums = np.bincount(g, weights=v, minlength=n_levels)
        mean = v.mean()
        ss_total = float(((v - mean) ** 2).sum())
        if ss_total <= 0:
            continue
        nz = counts > 0
        ss_between = float((sums[nz] ** 2 / counts[nz]).sum() - n * mean**2)
        ss_between = min(max(ss_between, 0.0), ss_total)
        ss_within = ss_total - ss_between
        ms_within = ss_within / (n - k)
        eta2[j] = ss_between / ss_total
        eps2[j] = (ss_between - (k - 1) * ms_within) / ss_total
        if ms_within > 0:
            fstat = (ss_between / (k - 1)) / ms_within
            pval[j] = float(f_dist.sf(fstat, k - 1, n - k))
        else:
            pval[j] = 0.0
    return {"eta2": eta2, "eps2": eps2, "p_value": pval}


def holm(pvalues) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (family-wise error control)."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted
