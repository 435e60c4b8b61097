"""SHAP values in a trained run: files, report, MODEL001, and predict --explain."""

import numpy as np
import pandas as pd
import pytest

from groupwise.predict import ValidationReport

pytest.importorskip("shap")


def test_a_run_keeps_shap_values_that_add_up_and_draws_them(small_run):
    run, df = small_run
    doc = run.metrics.shap()
    assert doc["computed"] and doc["rows"] > 0
    assert doc["additivity_max_error"] < 1e-6
    values = run.table("shap_values")
    sample = run.table("shap_sample")
    assert len(values) == len(sample) == doc["rows"]
    assert set(values.columns) - {"row"} == set(run.meta["features"])
    # the stored values reproduce from the shipped model on the stored rows
    X = run.schema.coerce(sample, ValidationReport())
    again, base = run.explainer.explain(X)
    np.testing.assert_allclose(again, values[run.explainer.names].to_numpy(), atol=1e-9)
    assert base == pytest.approx(doc["base_value"])
    assert {"shap_summary", "shap_dependence"} <= set(run.plots)
    html = run.layout.report.read_text()
    assert "SHAP values (final model)" in html and doc["mean_abs"][0]["feature"] in html
    assert "What drives predictions" in run.layout.model_card.read_text()


def test_predict_explain_adds_k_contributions_per_row(cli, small_run, tmp_path):
    run, df = small_run
    src = tmp_path / "in.parquet"
    new = df.drop(columns="y").head(40)
    new.to_parquet(src)
    out = tmp_path / "out.parquet"
    res = cli("predict", src, "--out", out, "--run", run.path, "--explain", 3, "--chunk-rows", 15)
    assert res.exit_code == 0, res.output
    pred = pd.read_parquet(out)
    contrib = [c for c in pred.columns if c.endswith("_contribution")]
    assert contrib == [f"explain_{i}_contribution" for i in (1, 2, 3)]
    assert pred["explain_1_feature"].isin(run.meta["features"]).all()
    # the same numbers as the library, chunked or not
    direct = run.predict(new, explain=3)
    np.testing.assert_allclose(pred[contrib].to_numpy(), direct[contrib].to_numpy(), atol=1e-9)
    assert (pred["explain_1_contribution"].abs() >= pred["explain_3_contribution"].abs()).all()


def test_without_the_extra_the_run_says_so_and_keeps_permutation_importance(tmp_path, monkeypatch):
    from groupwise.datasets import generate_dataset
    from groupwise.spec import TableSpec
    from groupwise.training import TrainConfig, _explain, train

    monkeypatch.setattr(_explain, "shap_installed", lambda: False)
    X, y, _ = generate_dataset(n_samples=300, n_informative=3, n_noise=1, n_batches=5,
                               random_state=3)  # fmt: skip
    cfg = TrainConfig(models_dir=str(tmp_path), tune_trials=0, bootstrap=100,
                      permutation_repeats=1, learning_curve=False, naive_cv=False,
                      models=("dummy", "linear"))  # fmt: skip
    run = train(X.assign(y=y), TableSpec(target="y", group_col="batch"), cfg)
    doc = run.metrics.shap()
    assert doc == {"computed": False, "reason": doc["reason"]} and "[shap]" in doc["reason"]
    assert "shap_summary" not in run.plots and run.layout.feature_importance.exists()
    assert "Not computed: the [shap] extra is not installed" in run.layout.report.read_text()
    # the background is kept, so predict --explain works once the extra is installed
    rows = run.schema.coerce(X.head(3), ValidationReport())
    assert run.explainer.explain(rows)[0].shape == (3, len(run.meta["features"]))


def test_permutation_importance_ranks_columns_by_how_much_the_model_uses_them():
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from groupwise.explain import permutation_importance_table

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(3000, 3)), columns=["strong", "weak", "unused"])
    X["site"] = pd.Categorical(rng.choice(["a", "b"], size=len(X)))
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-(2.5 * X["strong"] + 0.5 * X["weak"])))).astype(int)

    class OnNumbers(LogisticRegression):  # ignores "unused" and the categorical column
        def fit(self, X, y):
            self.classes_ = np.unique(y)
            return super().fit(X[["strong", "weak"]], y)

        def predict_proba(self, X):
            assert isinstance(X["site"].dtype, pd.CategoricalDtype)  # dtypes survive shuffling
            return super().predict_proba(X[["strong", "weak"]])

    table = permutation_importance_table(
        OnNumbers().fit(X, y),
        X,
        y,
        task="classification",
        metric="roc_auc",
        n_classes=2,
        n_repeats=4,
    ).set_index("feature")
    assert list(table.index[:2]) == ["strong", "weak"]
    assert table.loc["strong", "importance_mean"] > 5 * table.loc["weak", "importance_mean"] > 0
    assert table.loc["weak", "importance_mean"] > 3 * table.loc["weak", "importance_std"]
    assert table.loc[["unused", "site"], ["importance_mean", "importance_std"]].eq(0).all().all()
    assert (table["rows_used"] == len(X)).all()
    assert (table["repeats"] == 3).all()  # 3,000 rows: 3 shuffles reach the budget


def test_permutation_importance_shuffles_fewer_times_on_more_rows():
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from groupwise.explain import permutation_importance_table
    from groupwise.explain._permutation import MIN_REPEATS, ROW_BUDGET, repeats_for

    assert repeats_for(1_999, 5) == 5 and repeats_for(500, 5) == 5
    assert repeats_for(2_000, 5) == 4 and repeats_for(2_666, 5) == 4
    assert repeats_for(2_667, 5) == 3 and repeats_for(10_000, 5) == 3
    assert repeats_for(10_000, 1) == 1 and repeats_for(10_000, 3) == 3
    for rows in (300, 1_100, 2_500, 3_999, 7_000):
        r = repeats_for(rows, 50)
        assert r == MIN_REPEATS or rows * r >= ROW_BUDGET > rows * (r - 1)

    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(6_000, 2)), columns=["a", "b"])
    y = 2 * X["a"].to_numpy() + rng.normal(size=len(X))
    table = permutation_importance_table(
        LinearRegression().fit(X, y), X, y, task="regression", metric="mae", n_repeats=5
    ).set_index("feature")
    assert (table["repeats"] == 3).all() and (table["rows_used"] == 6_000).all()
    assert table.loc["a", "importance_mean"] > 1.0 and table.loc["a", "importance_std"] > 0
