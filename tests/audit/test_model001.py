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
