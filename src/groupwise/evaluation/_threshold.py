"""Decision thresholds of binary classifiers, chosen on out-of-fold predictions.

Strategies: ``fixed:T``, ``max_f1``, ``min_precision:P``, ``min_recall:R`` and
``cost:fp=A,fn=B``. Each returns the threshold and a one-line rationale.

Robust to group shifts: given the fold of each out-of-fold prediction, ``max_f1``
maximises the *mean over folds* of F1 (pooled scores of models fitted on different
folds are shifted against each other, which can drag a pooled optimum to a threshold
that predicts everyone positive). A threshold that predicts (almost) one class
(positive share ≥ 98% or ≤ 2%) or is no better than chance in balanced accuracy is
**rejected** for the documented fallback: the threshold maximising the mean balanced
accuracy over folds; if that too is degenerate, the one that predicts the positive
class as often as it occurs. ``fixed:T`` is kept as given (the MODEL008 check flags it).
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import numpy as np

from groupwise.exceptions import ConfigError

__all__ = ["ThresholdChoice", "choose_threshold", "parse_threshold_strategy"]

_STRATEGIES = "fixed:T, max_f1, min_precision:P, min_recall:R, cost:fp=A,fn=B"


#: Version of the stored form of a :class:`ThresholdChoice`.
FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class ThresholdChoice:
    """The decision threshold a binary classifier ships with, and why.

    Attributes
    ----------
    strategy : str
        The strategy asked for (``max_f1``, ``min_precision:0.9``, ...).
    threshold : float
        Predict the positive class when P(positive) ≥ threshold.
    rationale : str
        One line: how the threshold was chosen and what it gives.
    at_threshold : dict
        Precision, recall, F1 and predicted-positive share at the threshold, on the
        predictions it was chosen on.
    chosen_on : str
        Which predictions it was chosen on.
    """

    strategy: str
    threshold: float
    rationale: str
    at_threshold: dict[str, float]
    chosen_on: str = "out-of-fold predictions of the selected pipeline (development rows only)"
    fallback: str | None = None
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ThresholdChoice:
        """Read the stored form (also the shorter one of format-1 run directories)."""
        return cls(
            strategy=d["strategy"],
            threshold=float(d["threshold"]),
            rationale=d.get("rationale", ""),
            at_threshold=dict(d.get("at_threshold") or {}),
            chosen_on=d.get("chosen_on", cls.chosen_on),
            fallback=d.get("fallback"),
            format_version=d.get("format_version", FORMAT_VERSION),
        )


#: A plain decimal number: digits with at most one point, an optional exponent.
_NUMBER = r"[+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"


def parse_threshold_strategy(text: str) -> tuple[str, dict[str, float]]:
    """``"min_precision:0.9"`` → ``("min_precision", {"value": 0.9})``; validates."""
    text = str(text).strip()

    def bad(why: str) -> ConfigError:
        return ConfigError(
            f"The 'threshold' parameter must be one of {_STRATEGIES}. Got {text!r} instead ({why}).",
            parameter="threshold",
            value=text,
        )

    if text == "max_f1":
        return "max_f1", {}
    m = re.fullmatch(rf"(fixed|min_precision|min_recall):({_NUMBER})", text)
    if m:
        value = float(m.group(2))
        if not 0 <= value <= 1:
            raise bad("the value must be in [0, 1]")
        return m.group(1), {"value": value}
    m = re.fullmatch(rf"cost:fp=({_NUMBER}),\s*fn=({_NUMBER})", text)
    if m:
        fp, fn = float(m.group(1)), float(m.group(2))
        if not (math.isfinite(fp) and math.isfinite(fn)) or fp < 0 or fn < 0 or fp + fn == 0:
            raise bad("costs must be finite, non-negative and not both zero")
        return "cost", {"fp": fp, "fn": fn}
    if re.fullmatch(r"(fixed|min_precision|min_recall|cost):.*", text):
        raise bad("the number is not a plain decimal such as 0.9 or 1e-3")
    raise bad("unknown strategy")


def _stats(tp, fp, P, N):
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 1.0)
        recall = tp / max(P, 1)
        f1 = np.where(
            precision + recall > 0,
            2 * precision * recall / np.maximum(precision + recall, 1e-300),
            0.0,
        )
    return precision, recall, f1


#: A threshold predicting the positive class for more (or less) than this share of rows
#: predicts (almost) one class: it is rejected.
DEGENERATE_SHARE = 0.98


def degenerate(share: float, balanced_accuracy: float) -> bool:
    """True for a threshold that predicts (almost) one class or is no better than chance."""
    return share >= DEGENERATE_SHARE or share <= 1 - DEGENERATE_SHARE or balanced_accuracy <= 0.51


def _per_fold(order_scores, positive_sorted, folds_sorted, last):
    """Per-fold cumulative TP and FP at each distinct threshold (K × thresholds), and per-fold P, N."""
    ids, inv = np.unique(folds_sorted, return_inverse=True)
    K = len(ids)
    onehot = np.zeros((K, len(inv)))
    onehot[inv, np.arange(len(inv))] = 1.0
    tp = np.cumsum(onehot * positive_sorted[None, :], axis=1)[:, last]
    fp = np.cumsum(onehot * (1 - positive_sorted[None, :]), axis=1)[:, last]
    P = (onehot * positive_sorted[None, :]).sum(axis=1)
    N = onehot.sum(axis=1) - P
    return tp, fp, P, N


def choose_threshold(score, positive, strategy: str, *, folds=None) -> ThresholdChoice:
    """Pick a threshold on (out-of-fold) scores by ``strategy``.

    ``folds`` (the CV fold of each score) makes ``max_f1`` and the fallback maximise
    the mean over folds. A strategy that cannot be met (no threshold reaches the
    requested precision) falls back to ``max_f1`` and says so; a degenerate result is
    replaced by the fallback described in the module docstring.
    """
    name, params = parse_threshold_strategy(strategy)
    score = np.asarray(score, dtype=np.float64)
    positive = np.asarray(positive).astype(bool)
    order = np.argsort(-score, kind="mergesort")
    s_sorted = score[order]
    p_sorted = positive[order].astype(np.float64)
    last = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    thresholds = s_sorted[last]
    tp = np.cumsum(p_sorted)[last]
    fp = np.cumsum(1 - p_sorted)[last]
    P = int(positive.sum())
    N = len(positive) - P
    precision, recall, f1 = _stats(tp, fp, P, N)
    n = len(score)
    share = (tp + fp) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        balanced = 0.5 * (tp / max(P, 1) + (N - fp) / max(N, 1))
    if folds is not None:
        folds = np.asarray(folds)
        ftp, ffp, fP, fN = _per_fold(s_sorted, p_sorted, folds[order], last)
        with np.errstate(divide="ignore", invalid="ignore"):
            fprec = np.where(ftp + ffp > 0, ftp / np.maximum(ftp + ffp, 1), 1.0)
            frec = ftp / np.maximum(fP, 1)[:, None]
            ff1 = np.where(
                fprec + frec > 0, 2 * fprec * frec / np.maximum(fprec + frec, 1e-300), 0.0
            )
            fbal = 0.5 * (frec + (fN[:, None] - ffp) / np.maximum(fN, 1)[:, None])
        has_pos = fP > 0
        f1_objective = ff1[has_pos].mean(axis=0) if has_pos.any() else f1
        bal_objective = fbal.mean(axis=0)
    else:
        f1_objective, bal_objective = f1, balanced

    def at(i: int) -> dict[str, float]:
        return {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "balanced_accuracy": float(balanced[i]),
            "predicted_positive_share": float(share[i]),
        }

    def describe(i: int) -> str:
        m = at(i)
        return (
            f"precision {m['precision']:.3f}, recall {m['recall']:.3f}, F1 {m['f1']:.3f}, "
            f"predicted positive {m['predicted_positive_share']:.0%}"
        )

    def cut(i: int) -> float:
        # halfway to the next lower distinct score, so it is robust to tiny shifts
        return (
            float(thresholds[i])
            if i + 1 >= len(thresholds)
            else float((thresholds[i] + thresholds[i + 1]) / 2)
        )

    if name == "fixed":
        t = params["value"]
        pred = score >= t
        tp_t, fp_t = int((pred & positive).sum()), int((pred & ~positive).sum())
        pr, rc, f = _stats(np.array([tp_t]), np.array([fp_t]), P, N)
        metrics = {
            "precision": float(pr[0]),
            "recall": float(rc[0]),
            "f1": float(f[0]),
            "balanced_accuracy": float(0.5 * (tp_t / max(P, 1) + (N - fp_t) / max(N, 1))),
            "predicted_positive_share": float(pred.mean()),
        }
        return ThresholdChoice(
            strategy,
            t,
            f"fixed threshold {t:g} (precision {metrics['precision']:.3f}, recall {metrics['recall']:.3f})",
            metrics,
        )
    fallback = ""
    if name == "min_precision":
        ok = np.flatnonzero(precision >= params["value"])
        if len(ok):
            i = int(ok[np.argmax(recall[ok])])
            reason = (
                f"lowest threshold with precision ≥ {params['value']:g} on out-of-fold predictions"
            )
        else:
            fallback = f"no threshold reaches precision {params['value']:g}; "
            name = "max_f1"
    elif name == "min_recall":
        ok = np.flatnonzero(recall >= params["value"])
        i = int(ok[np.argmax(precision[ok])])
        reason = f"highest-precision threshold with recall ≥ {params['value']:g} on out-of-fold predictions"
    elif name == "cost":
        cost = params["fp"] * fp + params["fn"] * (P - tp)
        i = int(np.argmin(cost))
        reason = (
            f"minimises {params['fp']:g}·FP + {params['fn']:g}·FN on out-of-fold predictions "
            f"(expected cost {cost[i] / len(score):.4f} per row)"
        )
    if name == "max_f1":
        i = int(np.argmax(f1_objective))
        reason = fallback + (
            "maximises the mean F1 over CV folds on out-of-fold predictions"
            if folds is not None
            else "maximises F1 on out-of-fold predictions"
        )
    rejected = None
    if degenerate(share[i], balanced[i]):
        rejected = f"{reason} gave a threshold predicting {share[i]:.0%} positive (balanced accuracy {balanced[i]:.3f})"
        i = int(np.argmax(bal_objective))
        reason = "maximises the mean balanced accuracy over CV folds (fallback)"
        if degenerate(share[i], balanced[i]):
            # predict the positive class as often as it occurs
            target = P / max(n, 1)
            i = int(np.argmin(np.abs(share - target)))
            reason = "predicts the positive class as often as it occurs (fallback)"
    t = cut(i)
    choice = ThresholdChoice(strategy, t, f"{reason}: threshold {t:.4g} ({describe(i)})", at(i))
    if rejected:
        choice = dataclasses.replace(
            choice,
            fallback=f"rejected: {rejected}",
            rationale=f"{choice.rationale}; {rejected}, rejected as degenerate",
        )
    return choice
