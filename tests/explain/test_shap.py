"""SHAP values through the preprocessing, in the input columns' names."""

import numpy as np
import pandas as pd
import pytest

from groupwise.estimators._zoo import CANDIDATES, build_candidate
from groupwise.explain import PipelineExplainer, ShapUnsupported
from groupwise.spec import ColumnKinds

pytest.importorskip("shap")


def _table(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 5)), columns=[f"x{i}" for i in range(5)])
    X.loc[rng.random(n) < 0.05, "x2"] = np.nan
    X["site"] = pd.Series(rng.choice(list("abcd"), n)).astype(object)
    signal = 1.5 * X["x0"] - X["x1"].fillna(0) + (X["site"] == "a") * 1.0
    y_bin = (signal + rng.normal(size=n) > 0).astype(int).to_numpy()
    y_reg = (signal + 0.3 * rng.normal(size=n)).to_numpy()
    return X, y_bin, y_reg


CASES = [
    (name, task)
    for name in ("linear", "hist_gb", "random_forest", "extra_trees", "lightgbm", "xgboost")
    for task in ("classification", "regression")
    if CANDIDATES[name].available()
]


@pytest.mark.parametrize(("name", "task"), CASES)
def test_values_add_up_to_the_model_output_for_every_candidate(name, task):
    X, y_bin, y_reg = _table()
    y = y_bin if task == "classification" else y_reg
    model = build_candidate(name, task, ColumnKinds.of(X), 0).fit(X, y)
    exp = PipelineExplainer(model, X.iloc[:80], task=task, n_classes=2, pos=1, seed=0)
    sample = X.iloc[100:160]
    values, base = exp.explain(sample)
    assert values.shape == (60, 6)
    assert exp.names == list(X.columns)  # one-hot levels and indicators summed back
    tol = 1e-4 if name == "xgboost" else 1e-8  # XGBoost works in float32
    assert exp.check(sample, values, base) < tol
    # the informative columns carry more than the noise columns
    mean_abs = pd.Series(np.abs(values).mean(axis=0), index=exp.names)
    assert mean_abs["x0"] > mean_abs[["x3", "x4"]].max()
    expected_kind = "linear" if name == "linear" else "permutation" if name == "hist_gb" else "tree"
    assert exp.kind == expected_kind  # hist_gb splits the categorical column natively


def test_linear_values_are_coefficient_times_distance_from_the_background_mean():
    X, y_bin, _ = _table()
    Xn = X.drop(columns="site").fillna(0)
    model = build_candidate("linear", "classification", ColumnKinds.of(Xn), 0).fit(Xn, y_bin)
    exp = PipelineExplainer(model, Xn.iloc[:100], task="classification", n_classes=2, pos=1)
    values, _ = exp.explain(Xn.iloc[:10])
    scale = model.named_steps["prep"].named_transformers_["num"].named_steps["scale"]
    coef = model.named_steps["model"].coef_[0][:5] / scale.scale_[:5]
    expected = coef * (Xn.iloc[:10].to_numpy() - Xn.iloc[:100].to_numpy().mean(axis=0))
    np.testing.assert_allclose(values, expected, atol=1e-10)


def test_the_positive_class_is_explained_when_it_is_code_zero():
    X, y_bin, _ = _table()
    model = build_candidate("lightgbm" if CANDIDATES["lightgbm"].available() else "random_forest",
                            "classification", ColumnKinds.of(X), 0).fit(X, y_bin)  # fmt: skip
    e1 = PipelineExplainer(model, X.iloc[:50], task="classification", n_classes=2, pos=1)
    e0 = PipelineExplainer(model, X.iloc[:50], task="classification", n_classes=2, pos=0)
    v1, b1 = e1.explain(X.iloc[:20])
    v0, b0 = e0.explain(X.iloc[:20])
    assert e0.check(X.iloc[:20], v0, b0) < 1e-6
    np.testing.assert_allclose(v0, -v1, atol=1e-9)
    # log-odds flip sign; probabilities: P(class 0) = 1 − P(class 1)
    assert b0 == pytest.approx(-b1 if e1.output.startswith("log-odds") else 1 - b1)


def test_top_k_lists_the_largest_contributions_in_order():
    X, _, y_reg = _table()
    model = build_candidate("linear", "regression", ColumnKinds.of(X), 0).fit(X, y_reg)
    exp = PipelineExplainer(model, X.iloc[:80], task="regression")
    top = exp.top_k(X.iloc[:30], 3)
    assert list(top.columns) == [f"explain_{i}_{k}" for i in (1, 2, 3) for k in ("feature", "contribution")]  # fmt: skip
    values, _ = exp.explain(X.iloc[:30])
    mags = np.abs(top[[f"explain_{i}_contribution" for i in (1, 2, 3)]].to_numpy())
    assert (np.diff(mags, axis=1) <= 0).all()
    np.testing.assert_allclose(mags[:, 0], np.abs(values).max(axis=1))


def test_multiclass_models_are_refused_with_the_reason():
    X, _, y_reg = _table()
    y = np.digitize(y_reg, [-1, 1])
    model = build_candidate("linear", "classification", ColumnKinds.of(X), 0).fit(X, y)
    with pytest.raises(ShapUnsupported, match="3 classes"):
        PipelineExplainer(model, X, task="classification", n_classes=3)


def test_the_fallback_rebuilds_booleans_with_missing_values_dates_and_text():
    rng = np.random.default_rng(2)
    n = 400
    X = pd.DataFrame({
        "a": rng.normal(size=n),
        "flag": pd.Series(rng.random(n) < 0.3).astype("boolean"),
        "site": pd.Series(rng.choice(list("xyz"), n)).astype(object),
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
    })  # fmt: skip
    X.loc[:20, "flag"] = pd.NA
    y = (X["a"] + (X["site"] == "x") + rng.normal(size=n) > 0.5).astype(int).to_numpy()
    model = build_candidate("hist_gb", "classification", ColumnKinds.of(X), 0).fit(X, y)
    exp = PipelineExplainer(model, X.iloc[:50], task="classification", n_classes=2, pos=1)
    assert exp.kind == "permutation"
    values, base = exp.explain(X.iloc[:40])
    assert exp.names == list(X.columns) and exp.check(X.iloc[:40], values, base) < 1e-9


def _combination(kind, task, names=("linear", "lightgbm")):
    from groupwise.estimators._crossfit import Blend, Stack

    X, y_bin, y_reg = _table()
    y = y_bin if task == "classification" else y_reg
    kinds = ColumnKinds.of(X)
    members = [(n, build_candidate(n, task, kinds, 0)) for n in names if CANDIDATES[n].available()]
    if len(members) < 2:
        pytest.skip("needs the [lgbm] extra")
    if kind == "stack":
        model = Stack(members, task=task, split="row", n_folds=3).fit(X, y)
    else:
        model = Blend(members, task=task).fit(X, y)
    return model, X


@pytest.mark.parametrize(
    ("task", "pos"), [("classification", 1), ("classification", 0), ("regression", 1)]
)
def test_a_stack_is_explained_exactly_as_the_weighted_sum_of_its_members(task, pos):
    model, X = _combination("stack", task)
    exp = PipelineExplainer(model, X.iloc[:80], task=task, n_classes=2, pos=pos, seed=0)
    assert exp.kind == "stack"
    assert exp.output == (
        "log-odds of the positive class" if task == "classification" else "prediction"
    )
    sample = X.iloc[100:150]
    values, base = exp.explain(sample)
    assert values.shape == (50, 6) and exp.names == list(X.columns)
    assert exp.check(sample, values, base) < 1e-6
    # the members' own values, weighted by the meta-model's coefficients
    weights = np.ravel(model.meta_.coef_)
    total = np.zeros_like(values)
    for w, member in zip(weights, model.members_, strict=True):
        sub = PipelineExplainer(member, X.iloc[:80], task=task, n_classes=2, pos=pos, seed=0)
        v, _ = sub.explain(sample)
        total += w * v
    np.testing.assert_allclose(values, total, rtol=0, atol=1e-9)
    mean_abs = pd.Series(np.abs(values).mean(axis=0), index=exp.names)
    assert mean_abs["x0"] > mean_abs[["x3", "x4"]].max()


def test_a_regression_blend_is_a_mean_and_a_probability_blend_needs_the_fallback():
    model, X = _combination("blend", "regression")
    exp = PipelineExplainer(model, X.iloc[:80], task="regression", seed=0)
    values, base = exp.explain(X.iloc[100:140])
    assert exp.kind == "stack" and exp.check(X.iloc[100:140], values, base) < 1e-6
    model, X = _combination("blend", "classification")
    exp = PipelineExplainer(model, X.iloc[:80], task="classification", n_classes=2, pos=1, seed=0)
    assert exp.kind == "permutation"  # a mean of probabilities is no sum of log-odds
    model, X = _combination("stack", "classification", names=("linear", "random_forest"))
    exp = PipelineExplainer(model, X.iloc[:80], task="classification", n_classes=2, pos=1, seed=0)
    assert exp.kind == "permutation"  # a forest's values are in probabilities, not log-odds


def test_a_run_explains_fewer_rows_of_a_stack_whose_tree_members_are_all_explained():
    from groupwise.explain import ENSEMBLE_SHAP_ROWS, FALLBACK_ROWS, SHAP_ROWS

    one_tree, X = _combination("stack", "classification", names=("linear", "lightgbm"))
    exp = PipelineExplainer(one_tree, X.iloc[:80], task="classification", n_classes=2, seed=0)
    assert exp.kind == "stack" and exp.sample_rows == SHAP_ROWS
    if not CANDIDATES["xgboost"].available():
        pytest.skip("needs the [xgb] extra")
    two_trees, X = _combination("stack", "regression", names=("linear", "lightgbm", "xgboost"))
    exp = PipelineExplainer(two_trees, X.iloc[:80], task="regression", seed=0)
    assert exp.kind == "stack" and exp.sample_rows == ENSEMBLE_SHAP_ROWS < SHAP_ROWS
    blend, X = _combination("blend", "classification")
    exp = PipelineExplainer(blend, X.iloc[:80], task="classification", n_classes=2, seed=0)
    assert exp.kind == "permutation" and exp.sample_rows == FALLBACK_ROWS


BOOSTERS = [
    (name, task)
    for name in ("lightgbm", "xgboost")
    for task in ("classification", "regression")
    if CANDIDATES[name].available()
]


@pytest.mark.parametrize(("name", "task"), BOOSTERS)
def test_boosters_get_the_values_shap_tree_explainer_gives_from_their_own_treeshap(name, task):
    import shap

    X, y_bin, y_reg = _table()
    model = build_candidate(name, task, ColumnKinds.of(X), 0)
    model.fit(X, y_bin if task == "classification" else y_reg)
    exp = PipelineExplainer(model, X.iloc[:80], task=task, n_classes=2, pos=1, seed=0)
    values, base = exp.explain(X.iloc[100:160])
    assert exp._explainer == "native"  # no shap.TreeExplainer was built
    reference = shap.TreeExplainer(model[-1])
    Z = model[:-1].transform(X.iloc[100:160])
    raw = np.asarray(reference.shap_values(Z), dtype=float)
    summed = np.zeros_like(values)
    np.add.at(summed.T, exp._groups, raw.T)  # levels and indicators back into their columns
    np.testing.assert_array_equal(values, summed)
    assert base == float(np.ravel(reference.expected_value)[0])
    empty, nan = exp.explain(X.iloc[:0])
    assert empty.shape == (0, values.shape[1]) and np.isnan(nan)
