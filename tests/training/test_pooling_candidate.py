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
