import pandas as pd


def test_model001_one_feature_holding_most_importance_warns(model_ctx, model_check):
    imp = pd.DataFrame({"feature": ["leaky", "b", "c"], "importance_mean": [0.30, 0.02, 0.01]})
    out = model_check("MODEL001", model_ctx(importance=imp))
    assert [f.severity for f in out.findings] == ["warning"]
    assert out.findings[0].columns == ("leaky",) and out.findings[0].evidence["share"] > 0.5


def test_model001_spread_importance_passes_and_missing_importance_is_not_applicable(
    model_ctx, model_check
):
    assert model_check("MODEL001", model_ctx()).passed == ("MODEL001",)
    out = model_check("MODEL001", model_ctx(importance=None))
    assert out.not_applicable[0]["code"] == "MODEL001"


def test_model001_reads_shap_values_when_the_run_has_them(model_ctx, model_check):
    spread = pd.DataFrame({"feature": ["a", "b", "c"], "importance_mean": [0.1, 0.09, 0.08]})
    shap = pd.DataFrame({"feature": ["b", "a", "c"], "mean_abs_shap": [2.0, 0.3, 0.1]})
    out = model_check("MODEL001", model_ctx(importance=spread, shap_importance=shap))
    assert [f.columns for f in out.findings] == [("b",)]
    assert out.findings[0].evidence["source"] == "shap"
    assert "SHAP" in out.findings[0].message
    # the same permutation importance alone passes
    assert model_check("MODEL001", model_ctx(importance=spread)).passed == ("MODEL001",)
