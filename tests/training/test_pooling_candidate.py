import pandas as pd

from groupwise.datasets import make_nested_regression
from groupwise.predict import skew_check
from groupwise.spec import TableSpec
from groupwise.training import TrainConfig, train


def test_hierarchy_adds_the_partial_pooling_candidate(tmp_path):
    df, _ = make_nested_regression(n_clusters=4, n_species=40, n_compounds=25, random_state=2)
    cfg = TrainConfig(
        models_dir=str(tmp_path), hierarchy=("compound", "cluster", "species"), models=("dummy", "linear"),
        tune_trials=0, bootstrap=200, learning_curve=False, permutation_repeats=1,
    )  # fmt: skip
    run = train(df, TableSpec(target="y"), cfg)
    board = pd.read_csv(run.path / "metrics" / "cv_leaderboard.csv").set_index("candidate")
    assert "partial_pooling" in board.index
    assert board.loc["partial_pooling", "mae"] < board.loc["linear", "mae"]
    assert run.meta["selected_model"]["label"] == "partial_pooling"
    assert skew_check(run)["ok"]  # persisted with skops, served exactly
    new = df.drop(columns="y").head(5).assign(compound="C-unseen")
    assert run.predict(new)["prediction"].notna().all()  # unseen top keys: global fallback


def _panel(persons=150, years=6, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    person = np.repeat(np.arange(persons), years)
    year = np.tile(np.arange(2000, 2000 + years), persons)
    exper = year - 2000 + rng.integers(0, 10, persons)[person]
    educ = rng.integers(9, 18, persons)[person]
    effect = rng.normal(0, 0.4, persons)[person]
    y = 1 + 0.05 * exper + 0.08 * educ + effect + rng.normal(0, 0.2, len(person))
    return pd.DataFrame(
        {"site": [f"s{p % 15:02d}" for p in person], "person": [f"p{p:03d}" for p in person],
         "year": year, "exper": exper, "educ": educ, "y": y}
    )  # fmt: skip


def test_hierarchy_candidate_works_under_time_and_grouped_splits(tmp_path):
    df = _panel()
    cfg = TrainConfig(
        models_dir=str(tmp_path), hierarchy=("person",), models=("dummy", "linear"), tune_trials=0,
        bootstrap=200, learning_curve=False, permutation_repeats=1, naive_cv=False,
    )  # fmt: skip
    run = train(
        df, TableSpec(target="y", time_col="year", drop_cols=["site"]), cfg
    )  # known persons, later years
    board = pd.read_csv(run.path / "metrics" / "cv_leaderboard.csv").set_index("candidate")
    assert board.loc["partial_pooling", "mae"] < 0.8 * board.loc["linear", "mae"]
    assert run.meta["split_plan"]["kind"] == "time"
    grouped = train(df, TableSpec(target="y", group_col="site", group_kind="unit"), cfg)
    board = pd.read_csv(grouped.path / "metrics" / "cv_leaderboard.csv").set_index("candidate")
    # new sites, so new persons: pooling falls back to the population coefficients
    assert board.loc["partial_pooling", "mae"] <= 1.05 * board.loc["linear", "mae"]
