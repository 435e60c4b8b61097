import numpy as np
import pytest

from groupwise.evaluation import choose_threshold
from groupwise.exceptions import ConfigError


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    y = rng.random(2000) < 0.3
    return rng.random(2000) * 0.6 + y * 0.35, y


def _confusion(s, y, t):
    pred = s >= t
    tp, fp = int((pred & y).sum()), int((pred & ~y).sum())
    fn = int((~pred & y).sum())
    return tp, fp, fn


def test_max_f1_is_the_best_f1_over_all_cut_points(scores):
    s, y = scores
    c = choose_threshold(s, y, "max_f1")
    best = max(
        2 * tp / (2 * tp + fp + fn) for t in np.unique(s) for tp, fp, fn in [_confusion(s, y, t)]
    )
    tp, fp, fn = _confusion(s, y, c.threshold)
    assert 2 * tp / (2 * tp + fp + fn) == pytest.approx(best)


def test_min_precision_and_min_recall_meet_their_constraint(scores):
    s, y = scores
    c = choose_threshold(s, y, "min_precision:0.9")
    tp, fp, _ = _confusion(s, y, c.threshold)
    assert tp / (tp + fp) >= 0.9
    c = choose_threshold(s, y, "min_recall:0.95")
    tp, _, fn = _confusion(s, y, c.threshold)
    assert tp / (tp + fn) >= 0.95


def test_cost_strategy_minimises_the_stated_cost(scores):
    s, y = scores
    c = choose_threshold(s, y, "cost:fp=1,fn=10")
    costs = [(lambda tp, fp, fn: fp + 10 * fn)(*_confusion(s, y, t)) for t in np.unique(s)]
    tp, fp, fn = _confusion(s, y, c.threshold)
    assert fp + 10 * fn == min(costs)


def test_unreachable_precision_falls_back_to_max_f1_and_says_so():
    y = np.array([0, 1, 0, 1, 0, 1], dtype=bool)
    s = np.array([0.9, 0.9, 0.8, 0.7, 0.6, 0.5])
    c = choose_threshold(s, y, "min_precision:0.99")
    assert "no threshold reaches precision" in c.rationale


@pytest.mark.parametrize(
    "bad", ["max_f2", "fixed:1.5", "min_precision:x", "cost:fp=-1,fn=2", "cost:fn=1"]
)
def test_invalid_strategies_are_rejected(bad):
    with pytest.raises(ConfigError, match="'threshold' parameter must be one of"):
        choose_threshold(np.array([0.1, 0.9]), np.array([0, 1], bool), bad)
