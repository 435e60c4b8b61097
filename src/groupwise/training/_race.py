"""Racing candidates over the folds: stop fitting a candidate once it is clearly behind.

On tables with at least :data:`RACE_MIN_ROWS` development rows and 4 or more folds, the
race runs on the :data:`RACE_FOLDS` folds with the largest training parts (the latest
windows of a time split), in two rungs:

1. every candidate is fitted on the first of them (the largest training part); one that is
   behind the leader there by more than :data:`FIRST_RUNG_FACTOR` times the margin is
   raced out at once — a gap that size on one fold is far outside the fold-to-fold noise;
2. the others are fitted on the second; one that is behind the leader (the best mean over
   both folds) on *each* of them by more than the margin is raced out.

The margin is 0.01 for metrics bounded by 0 and 1 (ROC-AUC, PR-AUC, accuracies, F1,
precision, recall, Brier, R²), 2% of the leader's value for the others (MAE, RMSE, log
loss). The baselines (``dummy``, ``linear``) and your own candidates always run every fold.
The rest run the remaining folds; the leaderboard, the tuning and the ensembles see only
candidates that ran every fold, and the run records who was raced out, on which folds and
scores.

The holdout (or the nested evaluation, which races inside every outer training part) is
untouched: racing only decides which candidates the development CV finishes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from groupwise.evaluation._metrics import GREATER_IS_BETTER

__all__ = [
    "FIRST_RUNG_FACTOR",
    "RACE_FOLDS",
    "RACE_MIN_ROWS",
    "judge_race",
    "race_folds",
    "race_margin",
]

RACE_MIN_ROWS = 5000
RACE_FOLDS = 2
#: On the first raced fold alone, a candidate goes when behind by this many margins.
FIRST_RUNG_FACTOR = 3.0
_BOUNDED = {"roc_auc", "pr_auc", "accuracy", "balanced_accuracy", "f1", "precision", "recall", "brier", "r2"}  # fmt: skip


def race_folds(folds: Sequence[tuple[np.ndarray, np.ndarray]], n_rows: int) -> list[int] | None:
    """The folds to race on, in rung order (the largest training part first), or None when
    racing does not apply."""
    if len(folds) < 4 or n_rows < RACE_MIN_ROWS:
        return None
    order = sorted(range(len(folds)), key=lambda i: (-len(folds[i][0]), i))
    return order[:RACE_FOLDS]


def race_margin(metric: str, leader: float) -> float:
    return 0.01 if metric in _BOUNDED else 0.02 * abs(leader)


def judge_race(
    scores: Mapping[str, Sequence[float]],
    metric: str,
    raceable: Sequence[str],
    *,
    factor: float = 1.0,
) -> dict[str, dict[str, Any]]:
    """Who is raced out — behind the leader on every scored fold by more than ``factor``
    margins: ``{label: {"scores", "leader", "leader_scores", "margin", "gaps"}}``."""
    sign = 1.0 if GREATER_IS_BETTER[metric] else -1.0
    means = {k: float(np.mean(v)) for k, v in scores.items() if np.all(np.isfinite(v))}
    if not means:
        return {}
    leader = max(means, key=lambda k: sign * means[k])
    lead = np.asarray(scores[leader], dtype=float)
    margin = factor * race_margin(metric, means[leader])
    out = {}
    for label in raceable:
        if label == leader or label not in means:
            continue
        gaps = sign * (lead - np.asarray(scores[label], dtype=float))
        if np.all(gaps > margin):
            out[label] = {
                "scores": [float(s) for s in scores[label]], "leader": leader,
                "leader_scores": [float(s) for s in lead], "margin": margin,
                "gaps": [float(g) for g in gaps],
            }  # fmt: skip
    return out
