"""Drift statistics whose thresholds come from the reference's own variation.

The statistic is the Jensen–Shannon divergence (base 2, between 0 and 1) between a
chunk's shares over a column's bins and the reference's. Its distribution when nothing
moved is simulated at the chunk's size: a chunk drawn from the reference (a new group:
the reference shares moved by a training group's deviation drawn at random, times a
normal draw),
counted over ``n`` rows, compared with a reference re-drawn at its own size. The
p-value is the upper tail of a gamma distribution matched to the simulated draws
(mean and variance), so small p-values are resolved beyond the number of draws.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import stats

from groupwise.drift._bins import Binning

__all__ = [
    "DriftTest",
    "benjamini_hochberg",
    "drift_test",
    "js_divergence",
    "null_divergences",
    "threshold_at",
]

#: Simulated no-drift chunks per test.
DRAWS = 400


def js_divergence(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Jensen–Shannon divergence (base 2) between share vectors over the last axis."""
    q = np.asarray(q, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    m = 0.5 * (q + r)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(q > 0, q * np.log2(q / m), 0.0)
        b = np.where(r > 0, r * np.log2(r / m), 0.0)
    return np.maximum(0.5 * (a.sum(-1) + b.sum(-1)), 0.0)


def _moved(p: np.ndarray, between: np.ndarray, scale: float, size: int, rng) -> np.ndarray:
    """``size`` share vectors: ``p`` moved by training groups' deviations, each drawn at
    random and scaled by ``scale`` times a standard normal draw (so a new group can lie
    further out than the few training groups did). The move is multiplicative,
    ``p * exp(s * d / p)`` renormalised: to first order ``p + s * d``, and never negative."""
    out = np.broadcast_to(p, (size, len(p))).copy()
    if len(between) and scale > 0:
        h = rng.integers(len(between), size=size)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(p > 0, between[h] / p, 0.0)
        step = (rng.standard_normal(size) * scale)[:, None] * np.clip(rel, -3.0, 3.0)
        out *= np.exp(step)
        out /= out.sum(1, keepdims=True)
    return out


def null_divergences(
    b: Binning, n: int, *, groups_in_chunk: float = 1.0, reference_groups: float = np.inf,
    draws: int = DRAWS, rng=None, expected: np.ndarray | None = None,
    reference_rows: float | None = None, new_share: float = 1.0,
) -> np.ndarray:  # fmt: skip
    """Divergences of ``draws`` simulated no-drift chunks of ``n`` rows from ``b``'s reference.

    ``groups_in_chunk``: the effective number of new groups in the chunk
    (``1 / sum(share**2)`` over them); ``reference_groups``: the reference's. With rows of
    known training groups, ``expected`` are their training shares mixed with the overall
    ones for the new part (``new_share`` of the chunk), backed by ``reference_rows``
    effective training rows (:meth:`Binning.expected_for`).
    """
    rng = np.random.default_rng(rng)
    p = b.p if expected is None else expected
    rows = max(int(round(b.N if reference_rows is None else reference_rows)), 1)
    scale = new_share / np.sqrt(max(groups_in_chunk, 1.0))
    pc = _moved(p, b.between, scale, draws, rng)
    pr = _moved(p, b.between, new_share / np.sqrt(max(reference_groups, 1.0)), draws, rng)
    c = rng.multinomial(int(n), pc) / max(int(n), 1)
    r = rng.multinomial(rows, pr) / rows
    return js_divergence(c, r)


@dataclasses.dataclass(frozen=True)
class DriftTest:
    """One column of one chunk against the reference."""

    statistic: float
    p_value: float
    expected: float  # mean divergence when nothing moved, at this chunk's size
    threshold: float  # the divergence a single test at ``alpha`` would flag
    rows: int


def _gamma_tail(null: np.ndarray, observed: float, alpha: float) -> tuple[float, float]:
    mu, var = float(null.mean()), float(null.var())
    if not np.isfinite(mu) or var <= 0 or mu <= 0:
        return (1.0 if observed <= mu + 1e-12 else 0.0), mu
    shape, scale = mu * mu / var, var / mu
    return float(stats.gamma.sf(observed, shape, scale=scale)), float(
        stats.gamma.isf(alpha, shape, scale=scale)
    )


def drift_test(
    b: Binning, counts: np.ndarray, *, groups_in_chunk: float = 1.0,
    reference_groups: float = np.inf, alpha: float = 0.05, draws: int = DRAWS, rng=None,
    group_shares: np.ndarray | None = None,
) -> DriftTest:  # fmt: skip
    """Test a chunk's counts over ``b``'s bins against the reference.

    ``group_shares``: the chunk's share of rows from each reference group (rows of other
    groups are new); those rows are compared with their own groups' training rows."""
    n = int(counts.sum())
    expected, rows, new_share = b.expected_for(group_shares)
    observed = float(js_divergence(counts / max(n, 1), expected))
    null = null_divergences(b, n, groups_in_chunk=groups_in_chunk, reference_groups=reference_groups,
                            draws=draws, rng=rng, expected=expected, reference_rows=rows,
                            new_share=new_share)  # fmt: skip
    p, threshold = _gamma_tail(null, observed, alpha)
    return DriftTest(observed, p, float(null.mean()), threshold, n)


def threshold_at(b: Binning, n: int, *, reference_groups: float = np.inf, alpha: float = 0.05,
                 draws: int = DRAWS, rng=None) -> float:  # fmt: skip
    """The divergence a single test at ``alpha`` flags for one new group of ``n`` rows."""
    null = null_divergences(b, n, reference_groups=reference_groups, draws=draws, rng=rng)
    return _gamma_tail(null, np.inf, alpha)[1]


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values) of independent or positively
    dependent tests."""
    p = np.asarray(p, dtype=np.float64)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return out
