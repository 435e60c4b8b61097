def test_model007_near_perfect_holdout_is_too_good_to_be_true(model_ctx, model_check):
    ctx = model_ctx(holdout={"roc_auc": {"estimate": 0.998, "ci_low": 0.99, "ci_high": 1.0}})
    out = model_check("MODEL007", ctx)
    assert [f.severity for f in out.findings] == ["warning"]
    assert "leakage" in out.findings[0].message


def test_model007_ordinary_scores_pass_and_regression_reads_r2(model_ctx, model_check):
    assert model_check("MODEL007", model_ctx()).passed == ("MODEL007",)
    ctx = model_ctx(task="regression", metric="mae", holdout={"r2": {"estimate": 0.995}})
    assert model_check("MODEL007", ctx).findings[0].evidence["r2"] == 0.995
