"""Decision thresholds of binary classifiers, chosen on out-of-fold predictions.

Strategies: ``fixed:T``, ``max_f1``, ``min_precision:P``, ``min_recall:R`` and
``cost:fp=A,fn=B``. Each returns the threshold and a one-line rationale.
"""

from __future__ import annotations

import dataclasses
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
            format_version=d.get("format_version", FORMAT_VERSION),
        )


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
    m = re.fullmatch(r"(fixed|min_precision|min_recall):([0-9.eE+-]+)", text)
    if m:
        value = float(m.group(2))
        if not 0 <= value <= 1:
            raise bad("the value must be in [0, 1]")
        return m.group(1), {"value": value}
    m = re.fullmatch(r"cost:fp=([0-9.eE+-]+),\s*fn=([0-9.eE+-]+)", text)
    if m:
        fp, fn = float(m.group(1)), float(m.group(2))
        if fp < 0 or fn < 0 or fp + fn == 0:
            raise bad("costs must be non-negative and not both zero")
        return "cost", {"fp": fp, "fn": fn}
    raise bad("unknown strategy")


def _curve(score: np.ndarray, positive: np.ndarray):
    """Confusion counts when predicting positive for score ≥ each distinct threshold."""
    order = np.argsort(-score, kind="mergesort")
    s = score[order]
    p = positive[order].astype(np.int64)
    last = np.r_[s[1:] != s[:-1], True]
    tp = np.cumsum(p)[last]
    fp = np.cumsum(1 - p)[last]
    thresholds = s[last]
    P = int(p.sum())
    N = len(p) - P
    return thresholds, tp, fp, P, N


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


def choose_threshold(score, positive, strategy: str) -> ThresholdChoice:
    """Pick a threshold on (out-of-fold) scores by ``strategy``.

    A strategy that cannot be met (no threshold reaches the requested precision)
    falls back to ``max_f1`` and says so in the rationale.
    """
    name, params = parse_threshold_strategy(strategy)
    score = np.asarray(score, dtype=np.float64)
    positive = np.asarray(positive).astype(bool)
    thresholds, tp, fp, P, N = _curve(score, positive)
    precision, recall, f1 = _stats(tp, fp, P, N)

    def at(i: int) -> dict[str, float]:
        return {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "predicted_positive_share": float((tp[i] + fp[i]) / len(score)),
        }

    def describe(i: int) -> str:
        m = at(i)
        return f"precision {m['precision']:.3f}, recall {m['recall']:.3f}, F1 {m['f1']:.3f}"

    if name == "fixed":
        t = params["value"]
        pred = score >= t
        tp_t, fp_t = int((pred & positive).sum()), int((pred & ~positive).sum())
        pr, rc, f = _stats(np.array([tp_t]), np.array([fp_t]), P, N)
        metrics = {
            "precision": float(pr[0]),
            "recall": float(rc[0]),
            "f1": float(f[0]),
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
        i = int(np.argmax(f1))
        reason = fallback + "maximises F1 on out-of-fold predictions"
    # threshold halfway to the next lower distinct score, so it is robust to tiny shifts
    t = (
        float(thresholds[i])
        if i + 1 >= len(thresholds)
        else float((thresholds[i] + thresholds[i + 1]) / 2)
    )
    return ThresholdChoice(strategy, t, f"{reason}: threshold {t:.4g} ({describe(i)})", at(i))
