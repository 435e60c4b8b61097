"""The [lgbm] and [xgb] extras: both candidates train on identical folds, ship, reload
through the allow-list and predict the same numbers from the command line."""

import numpy as np
import pandas as pd
import pytest

from groupwise.runs import load_run
from groupwise.spec import TableSpec
from groupwise.training import TrainConfig, train


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(5)
    n = 600
    df = pd.DataFrame(
        {
            "batch": [f"b{i % 10}" for i in range(n)],
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "site": rng.choice(["a", "b", "c"], n),
        }
    )
    df.loc[rng.random(n) < 0.05, "x2"] = np.nan
    signal = df["x1"] * df["x2"].fillna(0) + 0.3 * rng.normal(size=n)  # linear cannot
    df["y"] = np.where(signal > 0, "pos", "neg")
    return df


@pytest.mark.parametrize("name", ["lightgbm", "xgboost"])
def test_a_boosting_candidate_ships_and_predicts(table, tmp_path, cli, name):
    from groupwise.estimators._zoo import available_candidates

    assert name in available_candidates(), "make test installs the [lgbm] and [xgb] extras"
    cfg = TrainConfig(
        models_dir=str(tmp_path), models=("dummy", name), tune_trials=2, bootstrap=100,
        permutation_repeats=0, learning_curve=False, naive_cv=False, audit=False,
    )  # fmt: skip
    run = train(table, TableSpec(target="y", group_col="batch"), cfg)
    assert run.selected_model.startswith(name)
    assert any(r["model"] == name for r in run.metrics.leaderboard()["rows"])
    again = load_run(run.run_id, tmp_path)
    src = tmp_path / "in.csv"
    table.drop(columns="y").head(50).to_csv(src, index=False)
    result = cli("predict", src, "--out", tmp_path / "p.csv", "--models-dir", tmp_path)
    assert result.exit_code == 0, result.output
    via_cli = pd.read_csv(tmp_path / "p.csv")
    direct = again.predict(table.drop(columns="y").head(50))
    np.testing.assert_allclose(via_cli["score"], direct["score"], rtol=1e-6)
    assert set(via_cli["prediction"]) <= {"pos", "neg"}
