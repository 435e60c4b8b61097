"""``groupwise evaluate``: realised metrics on labelled rows equal scikit-learn's on the
shipped model's predictions, per group too; the promise comparison can say "below"."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score, mean_absolute_error, roc_auc_score


@pytest.fixture
def labelled(small_run, tmp_path):
    """The run's evaluation rows with their labels and batch, and what the shipped model
    predicted for them at training (refit_*)."""
    run, _ = small_run
    rows = pd.read_parquet(run.layout.holdout_input)
    hp = run.table("holdout_predictions")
    table = rows.assign(batch=hp["batch"].to_numpy(), y=hp["y_true"].to_numpy())
    path = tmp_path / "labelled.csv"
    table.to_csv(path, index=False)
    return path, table, run.shipped_predictions()


def _evaluate(cli, run, path, out, *extra):
    return cli("evaluate", path, "--models-dir", run.models_dir, "--run", run.run_id, "--out", out, *extra)  # fmt: skip


def test_metrics_equal_sklearn_on_the_shipped_predictions_overall_and_per_group(cli, small_run, labelled, tmp_path):  # fmt: skip
    run, _ = small_run
    path, table, shipped = labelled
    res = _evaluate(cli, run, path, tmp_path / "ev")
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    y = table["y"].to_numpy()
    assert doc["rows"] == len(table) and doc["by"] == "batch"  # the run's group column
    assert doc["groups"] == table["batch"].nunique() and "jackknife" in doc["interval_method"]
    assert doc["realised"]["roc_auc"]["estimate"] == pytest.approx(roc_auc_score(y, shipped["score"]), abs=1e-12)  # fmt: skip
    want_ba = balanced_accuracy_score(y, shipped["prediction"])  # at the shipped threshold
    assert doc["realised"]["balanced_accuracy"]["estimate"] == pytest.approx(want_ba, abs=1e-12)
    r = doc["realised"]["roc_auc"]
    assert r["ci_low"] < r["estimate"] < r["ci_high"]
    groups = pd.DataFrame(doc["per_group"]).set_index("group")
    for g, part in table.groupby("batch"):
        idx = part.index.to_numpy()
        assert groups.loc[g, "rows"] == len(part)
        assert groups.loc[g, "roc_auc"] == pytest.approx(roc_auc_score(y[idx], shipped["score"].to_numpy()[idx]), abs=1e-12)  # fmt: skip
    assert doc["promised"]["roc_auc"] == run.metrics.holdout()["roc_auc"]
    md = (tmp_path / "ev" / "evaluation.md").read_text()
    assert "| roc_auc |" in md and "Per group" in md
    assert len(pd.read_csv(tmp_path / "ev" / "evaluation_groups.csv")) == table["batch"].nunique()


def test_labels_turned_over_are_below_the_promise_and_fail_on_below_exits_1(cli, small_run, labelled, tmp_path):  # fmt: skip
    run, _ = small_run
    path, table, _ = labelled
    flipped = table.assign(y=1 - table["y"])
    bad = tmp_path / "flipped.parquet"
    flipped.to_parquet(bad)
    res = _evaluate(cli, run, bad, tmp_path / "ev", "--fail-on", "below")
    assert res.exit_code == 1, res.output
    doc = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    assert doc["verdicts"]["roc_auc"] == "below" and doc["below_promise"] is True
    assert "below what run" in " ".join(res.output.split())
    # without --fail-on the same finding is reported, exit 0
    assert _evaluate(cli, run, bad, tmp_path / "ev2").exit_code == 0


def test_a_table_without_the_target_is_refused(cli, small_run, labelled, tmp_path):
    run, _ = small_run
    path, table, _ = labelled
    src = tmp_path / "nolabels.csv"
    table.drop(columns="y").to_csv(src, index=False)
    res = _evaluate(cli, run, src, tmp_path / "ev")
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert "target column 'y' is not in the table" in text and "groupwise predict" in text
    assert not (tmp_path / "ev").exists()


@pytest.mark.parametrize("kind", ["missing_feature", "unknown_label", "unknown_by"])
def test_bad_input_exits_2_and_writes_nothing(cli, small_run, labelled, tmp_path, kind):
    run, _ = small_run
    path, table, _ = labelled
    extra = []
    if kind == "missing_feature":
        table = table.drop(columns="i2")
        want = "MISSING_COLUMN"
    elif kind == "unknown_label":
        table = table.assign(y=table["y"].astype(object))
        table.loc[table.index[0], "y"] = "maybe"
        want = "not trained on: 'maybe'"
    else:
        extra = ["--by", "plate"]
        want = "--by 'plate' is not a column"
    src = tmp_path / "bad.csv"
    table.to_csv(src, index=False)
    res = _evaluate(cli, run, src, tmp_path / "ev", *extra)
    assert res.exit_code == 2, res.output
    assert want in " ".join(res.output.split())
    assert not (tmp_path / "ev").exists()


def test_an_output_that_is_the_input_is_refused(cli, small_run, labelled, tmp_path):
    run, _ = small_run
    _, table, _ = labelled
    out = tmp_path / "ev"
    out.mkdir()
    src = out / "evaluation_groups.csv"
    table.to_csv(src, index=False)
    before = src.read_bytes()
    res = _evaluate(cli, run, src, out)
    assert res.exit_code == 2 and "would destroy the input" in " ".join(res.output.split())
    assert src.read_bytes() == before


def test_regression_runs_are_evaluated_by_mae(tmp_path):
    from groupwise.datasets import generate_dataset
    from groupwise.monitor import evaluate_labelled
    from groupwise.spec import TableSpec
    from groupwise.training import TrainConfig, train

    X, y, _ = generate_dataset(n_samples=300, n_informative=3, n_noise=1, n_batches=5, task="regression", random_state=3)  # fmt: skip
    df = X.assign(y=y)
    cfg = TrainConfig(models_dir=str(tmp_path / "m"), tune_trials=0, bootstrap=100, permutation_repeats=0,
                      learning_curve=False, naive_cv=False, models=("dummy", "linear"))  # fmt: skip
    run = train(df, TableSpec(target="y", group_col="batch"), cfg)
    new, ynew, _ = generate_dataset(n_samples=200, n_informative=3, n_noise=1, n_batches=4, task="regression", random_state=4)  # fmt: skip
    labelled = new.assign(y=ynew)
    ev = evaluate_labelled(run, labelled)
    pred = run.predict(new)["prediction"]
    assert ev.metric == "mae" and ev.by == "batch"
    assert ev.realised["mae"]["estimate"] == pytest.approx(
        mean_absolute_error(ynew, pred), rel=1e-12
    )
    assert ev.verdicts["mae"] in ("consistent", "below", "above")
    assert ev.per_group["mae"].notna().all() and np.isfinite(ev.realised["mae"]["ci_high"])
