"""Racing candidates over the folds: who is stopped, on which rule, and what stays."""

import numpy as np
import pandas as pd
import pytest

from groupwise.spec import TableSpec
from groupwise.training import TrainConfig, train
from groupwise.training._race import FIRST_RUNG_FACTOR, RACE_MIN_ROWS, judge_race, race_folds


def test_race_folds_need_a_large_table_and_prefer_the_largest_training_parts():
    folds = [(np.arange(n), np.arange(5)) for n in (10, 40, 30, 40, 20)]
    assert race_folds(folds, RACE_MIN_ROWS - 1) is None
    assert race_folds(folds[:3], RACE_MIN_ROWS) is None
    assert race_folds(folds, RACE_MIN_ROWS) == [1, 3]


def test_a_candidate_is_raced_out_only_when_behind_on_every_raced_fold():
    scores = {
        "linear": [0.90, 0.88],
        "far": [0.85, 0.86],
        "close": [0.895, 0.80],
        "dummy": [0.5, 0.5],
    }
    out = judge_race(scores, "roc_auc", ["far", "close"])
    assert set(out) == {"far"}  # "close" is within the margin on the first fold
    assert out["far"]["leader"] == "linear" and out["far"]["margin"] == 0.01
    err = judge_race(
        {"a": [1.0, 1.1], "b": [1.05, 1.2]}, "mae", ["b"]
    )  # lower is better, 2% margin
    assert set(err) == {"b"}


def linear_table(n=7000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    logit = X[:, :4] @ np.array([1.2, -1.0, 0.8, 0.6])
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(8)]).assign(y=y)


@pytest.mark.parametrize("race", [True, False])
def test_raced_out_candidates_stop_and_are_recorded(tmp_path, race):
    df = linear_table()
    cfg = TrainConfig(
        models_dir=str(tmp_path), models=("dummy", "linear", "extra_trees"), tune_trials=0, race=race,
        bootstrap=200, permutation_repeats=0, shap=False, learning_curve=False, ensemble="none",
        naive_cv=False,
    )  # fmt: skip
    run = train(df, TableSpec(target="y"), cfg)
    racing = run.metrics.racing()
    board = [r["candidate"] for r in run.metrics.leaderboard()["rows"]]
    folds = run.metrics.folds()
    if not race:
        assert not racing["applies"] and "extra_trees" in board
        assert (folds["candidate"] == "extra_trees").sum() == 5
        return
    assert racing["applies"] and racing["folds"] == [1, 2]
    assert set(racing["raced_out"]) == {"extra_trees"}
    v = racing["raced_out"]["extra_trees"]
    assert all(g > v["margin"] for g in v["gaps"])
    assert "extra_trees" not in board and {"dummy", "linear"} <= set(board)
    assert (folds["candidate"] == "extra_trees").sum() == 0
    assert racing["fits_saved"] == 3
    assert "Raced out" in run.layout.report.read_text()


def test_first_rung_needs_several_margins_on_its_single_fold():
    scores = {"linear": [0.90], "near": [0.875], "far": [0.86]}
    out = judge_race(scores, "roc_auc", ["near", "far"], factor=FIRST_RUNG_FACTOR)
    assert set(out) == {"far"}  # 0.025 behind is within three margins; 0.04 is not
    assert out["far"]["margin"] == pytest.approx(0.01 * FIRST_RUNG_FACTOR)


def additive_table(n=7000, seed=1):
    """Many small additive effects: easy for a line, hard for trees."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 40))
    y = (rng.random(n) < 1 / (1 + np.exp(-0.35 * X.sum(axis=1)))).astype(int)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(40)]).assign(y=y)


def test_candidates_far_behind_on_the_first_fold_stop_there(tmp_path):
    cfg = TrainConfig(
        models_dir=str(tmp_path), models=("dummy", "linear", "extra_trees", "hist_gb"), tune_trials=0,
        bootstrap=200, permutation_repeats=0, shap=False, learning_curve=False, ensemble="none",
        naive_cv=False,
    )  # fmt: skip
    run = train(additive_table(), TableSpec(target="y"), cfg)
    racing = run.metrics.racing()
    assert racing["first_fold"] == 1
    for name in ("extra_trees", "hist_gb"):
        v = racing["raced_out"][name]
        assert v["folds"] == [1] and len(v["scores"]) == 1
        assert v["gaps"][0] > FIRST_RUNG_FACTOR * 0.01
        assert len(racing["fold_scores"][name]) == 1
    assert racing["fits_saved"] == 8  # four folds each never fitted
    folds = run.metrics.folds()
    assert set(folds["candidate"]) == {"dummy", "linear"}
    assert len(racing["fold_scores"]["linear"]) == 2


def test_forests_on_a_large_table_grow_each_tree_on_part_of_the_rows():
    from groupwise.estimators._zoo import FOREST_FULL_ROWS, FOREST_TREE_ROWS, size_aware_params
    from groupwise.training._prepare import _recipes

    assert size_aware_params("random_forest", FOREST_FULL_ROWS) == {}
    assert size_aware_params("linear", 10 * FOREST_FULL_ROWS) == {}
    n = 2 * FOREST_FULL_ROWS
    table = TableSpec(target="y").resolve(linear_table(n=n))
    cfg = TrainConfig(models=("dummy", "linear", "random_forest", "extra_trees"))
    recipes = _recipes(cfg, table, {})
    for name in ("random_forest", "extra_trees"):
        model = recipes[name].build().get_params()
        assert model["model__bootstrap"] is True
        assert model["model__max_samples"] == pytest.approx(FOREST_TREE_ROWS / n)
    assert recipes["linear"].params == {}
    small = TableSpec(target="y").resolve(linear_table(n=FOREST_FULL_ROWS))
    assert _recipes(cfg, small, {})["extra_trees"].params == {}
