"""Confidence intervals of evaluation metrics that cover when groups are few.

With groups, rows are not independent and the unit of resampling is the group. The
percentile group bootstrap under-covers with few groups (84–88% for a nominal 95% at
4–11 groups here), so groups get a delete-one-group jackknife with a Student t
quantile on G − 1 degrees of freedom: pseudo-values θ_g = G·θ̂ − (G − 1)·θ̂_(−g), their
standard error, θ̂ ± t·se (bounded metrics clipped to their range). Every leave-one-out
value is one row of the weight matrix the metrics already evaluate, so the cost is one
vectorised pass. Without groups (rows independent) the percentile bootstrap stays.

The jackknife treats the models that scored the rows as fixed. When the number being
estimated is how a model *refitted on all rows* does on new groups, that model's own
variation with its training sample adds to the error, and it is shared by every fold's
model, so no resampling of the scored rows can see it. Training evaluations measure it:
``train_variance`` (per metric) is the delete-a-fold jackknife variance of the metric over
refits of the selected pipeline on the inner folds' training parts, all scoring the same
evaluated rows (see ``groupwise.training._evaluate``), and it is added to the
jackknife's variance. Where that cannot be measured (time-ordered folds, whose training
windows are nested rather than delete-one-block), ``test_train_ratio`` = Σ n_test /
n_train over the fitted models multiplies the variance by 1 + that ratio instead (the
corrected resampled variance of Nadeau and Bengio, 2003). A fixed model scored on
labelled data (``groupwise evaluate``, monitoring) passes neither.
``benchmarks/bench_honesty.py`` measures the coverage at 5, 10, 20 and 50 groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from groupwise.evaluation._bootstrap import bootstrap_ci, paired_bootstrap_difference
from groupwise.evaluation._metrics import MetricSet

__all__ = ["BOUNDED", "interval_method", "metric_intervals", "paired_interval"]

#: Metrics bounded to [0, 1] (their intervals are clipped to the range).
BOUNDED = {
    "roc_auc",
    "pr_auc",
    "accuracy",
    "balanced_accuracy",
    "f1",
    "precision",
    "recall",
    "brier",
}


def interval_method(groups, test_train_ratio: float = 0.0, refits: int = 0) -> str:
    """One line naming the interval method used for these groups (or rows)."""
    if groups is None:
        return "percentile bootstrap over rows"
    method = "delete-one-group jackknife, Student t interval on G − 1 degrees of freedom"
    if refits:
        method += (
            f", plus the variance of the metric over {refits} refits on the inner folds' "
            "training parts (how the fitted model varies with its training rows)"
        )
    elif test_train_ratio > 0:
        method += (
            f", variance × {1 + test_train_ratio:.2f} (1 + Σ n_test/n_train) for the variation "
            "of the fitted models with their training rows"
        )
    return method


def _codes(groups) -> tuple[np.ndarray, int]:
    codes = pd.factorize(pd.Series(groups).astype(object), use_na_sentinel=False)[0]
    return codes, int(codes.max()) + 1


def jackknife_se(loo: np.ndarray, estimate: float) -> float:
    """The delete-one-group jackknife's standard error from the leave-one-out values
    (those that are finite): the SD of the pseudo-values G·θ̂ − (G − 1)·θ̂_(−g) over √G;
    NaN with fewer than two."""
    loo = loo[np.isfinite(loo)]
    G = len(loo)
    if G < 2:
        return float("nan")
    pseudo = G * estimate - (G - 1) * loo
    return float(np.sqrt(np.var(pseudo, ddof=1) / G))


def _jackknife(
    values: dict[str, np.ndarray],
    point: dict[str, float],
    level: float,
    inflation: float = 1.0,
    extra: Mapping[str, float] | None = None,
):
    from scipy.stats import t as student_t

    out = {}
    for k, loo in values.items():
        G = int(np.isfinite(loo).sum())
        est = point[k]
        if G < 2 or not np.isfinite(est):
            out[k] = {"estimate": est, "ci_low": float("nan"), "ci_high": float("nan")}
            continue
        var = jackknife_se(loo, est) ** 2 * inflation + (extra or {}).get(k, 0.0)
        se = float(np.sqrt(var))
        half = float(student_t.ppf(0.5 + level / 2, G - 1)) * se
        lo, hi = est - half, est + half
        if k in BOUNDED:
            lo, hi = max(lo, 0.0), min(hi, 1.0)
        out[k] = {"estimate": est, "ci_low": float(lo), "ci_high": float(hi)}
    return out


def _leave_one_out_weights(codes: np.ndarray, G: int) -> np.ndarray:
    return (codes[None, :] != np.arange(G)[:, None]).astype(np.float64)


def metric_intervals(
    metrics: MetricSet,
    names: Sequence[str],
    *,
    groups=None,
    level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    test_train_ratio: float = 0.0,
    train_variance: Mapping[str, float] | None = None,
) -> dict[str, dict[str, float]]:
    """``{name: {"estimate", "ci_low", "ci_high"}}``: a group jackknife-t with groups (plus
    ``train_variance[name]``, or × ``1 + test_train_ratio``; see the module notes), a
    percentile row bootstrap without."""
    if groups is None:
        return bootstrap_ci(metrics, names, n_resamples=n_resamples, level=level, seed=seed)
    codes, G = _codes(groups)
    point = metrics.point(names)
    loo = metrics.evaluate(names, _leave_one_out_weights(codes, G))
    return _jackknife(loo, point, level, _inflation(test_train_ratio), train_variance)


def _inflation(test_train_ratio: float) -> float:
    if not (np.isfinite(test_train_ratio) and test_train_ratio >= 0):
        raise ValueError(f"test_train_ratio must be a finite number ≥ 0, got {test_train_ratio!r}")
    return 1.0 + float(test_train_ratio)


def paired_interval(
    a: MetricSet,
    b: MetricSet,
    name: str,
    *,
    groups=None,
    level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    test_train_ratio: float = 0.0,
    train_variance: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Interval of ``metric(a) − metric(b)`` on the same rows (same resamples / leave-outs);
    ``train_variance[name]`` (of ``a``'s model) is added as in :func:`metric_intervals`."""
    if a.n != b.n:
        raise ValueError("a paired interval needs predictions for the same rows")
    if groups is None:
        return paired_bootstrap_difference(
            a, b, name, n_resamples=n_resamples, level=level, seed=seed
        )
    codes, G = _codes(groups)
    W = _leave_one_out_weights(codes, G)
    diff = a.evaluate([name], W)[name] - b.evaluate([name], W)[name]
    est = a.point([name])[name] - b.point([name])[name]
    extra = {"d": (train_variance or {}).get(name, 0.0)}
    out = _jackknife({"d": diff}, {"d": est}, level, _inflation(test_train_ratio), extra)["d"]
    return {"estimate": float(est), "ci_low": out["ci_low"], "ci_high": out["ci_high"]}
