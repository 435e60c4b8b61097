"""Bootstrap confidence intervals, resampling rows or whole groups."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from groupwise.evaluation._metrics import MetricSet

__all__ = [
    "MIN_BOOTSTRAP_GROUPS",
    "bootstrap_ci",
    "bootstrap_weights",
    "few_groups_warning",
    "paired_bootstrap_difference",
]

#: Upper bound on the weight matrix held at once (resamples × rows). Small on purpose:
#: matrices of a few MB are reused by the allocator and stay in cache, while the ~50 MB
#: ones of an 8M-cell bound were fresh memory-mapped pages on every pass; 2000 resamples
#: of 3,200 rows took 0.48 s in 8M-cell chunks, 0.22–0.25 s in 125k–250k-cell ones (the
#: same values: the resamples are drawn in the same order whatever the chunk).
_CHUNK_CELLS = 200_000

#: Below this many resampled groups, a group bootstrap interval is too narrow to trust.
MIN_BOOTSTRAP_GROUPS = 10


def few_groups_warning(groups: int | None) -> str | None:
    """The warning shown beside holdout intervals resampled from too few groups, or None."""
    if groups is None or groups >= MIN_BOOTSTRAP_GROUPS:
        return None
    return (
        f"The holdout holds only {groups} groups: its intervals rest on few groups and are wide. "
        "Lean on the cross-validated estimate."
    )


def bootstrap_weights(
    n: int, groups=None, *, n_resamples: int, rng: np.random.Generator, chunk: int
):
    """Yield weight matrices of at most ``chunk`` resamples.

    Without groups each resample draws ``n`` rows with replacement (multinomial
    counts). With groups it draws as many groups as there are, with replacement,
    and every row of a drawn group counts once per draw.
    """
    if groups is not None:
        codes = pd.factorize(pd.Series(groups).astype(object), use_na_sentinel=False)[0]
        G = int(codes.max()) + 1
    done = 0
    while done < n_resamples:
        b = min(chunk, n_resamples - done)
        if groups is None:  # counts of n draws with replacement (a multinomial, ~10x faster)
            draws = rng.integers(0, n, size=(b, n), dtype=np.int32)
            W = np.empty((b, n))
            for i in range(b):
                W[i] = np.bincount(draws[i], minlength=n)
        else:
            counts = rng.multinomial(G, np.full(G, 1.0 / G), size=b).astype(np.float64)
            W = counts[:, codes]
        done += b
        yield W


def bootstrap_ci(
    metrics: MetricSet,
    names: Sequence[str],
    *,
    groups=None,
    n_resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Point estimate and percentile CI of each metric.

    Returns ``{name: {"estimate", "ci_low", "ci_high"}}``. Resamples in which a metric
    is undefined (e.g. AUC with one class) are left out of its interval.
    """
    point = metrics.point(names)
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_resamples, _CHUNK_CELLS // max(metrics.n, 1)))
    draws: dict[str, list[np.ndarray]] = {k: [] for k in names}
    for W in bootstrap_weights(metrics.n, groups, n_resamples=n_resamples, rng=rng, chunk=chunk):
        for k, v in metrics.evaluate(names, W).items():
            draws[k].append(v)
    alpha = (1 - level) / 2
    out = {}
    for k in names:
        v = np.concatenate(draws[k])
        v = v[np.isfinite(v)]
        lo, hi = np.quantile(v, [alpha, 1 - alpha]) if len(v) else (np.nan, np.nan)
        out[k] = {"estimate": point[k], "ci_low": float(lo), "ci_high": float(hi)}
    return out


def paired_bootstrap_difference(
    a: MetricSet,
    b: MetricSet,
    name: str,
    *,
    groups=None,
    n_resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, float]:
    """CI of ``metric(a) − metric(b)`` with the same resamples for both (same rows)."""
    if a.n != b.n:
        raise ValueError("paired bootstrap needs predictions for the same rows")
    est = a.point([name])[name] - b.point([name])[name]
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_resamples, _CHUNK_CELLS // max(a.n, 1)))
    diffs = []
    for W in bootstrap_weights(a.n, groups, n_resamples=n_resamples, rng=rng, chunk=chunk):
        diffs.append(a.evaluate([name], W)[name] - b.evaluate([name], W)[name])
    d = np.concatenate(diffs)
    d = d[np.isfinite(d)]
    alpha = (1 - level) / 2
    lo, hi = np.quantile(d, [alpha, 1 - alpha]) if len(d) else (np.nan, np.nan)
    return {"estimate": float(est), "ci_low": float(lo), "ci_high": float(hi)}
