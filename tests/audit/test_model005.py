def test_model005_selected_dummy_is_an_error(model_ctx, model_check):
    out = model_check("MODEL005", model_ctx(selected="dummy"))
    assert [f.severity for f in out.findings] == ["error"]


def test_model005_no_better_than_dummy_on_folds_is_an_error(model_ctx, model_check):
    ctx = model_ctx()
    ctx.folds.loc[ctx.folds["candidate"] == "linear", "roc_auc"] = 0.5
    out = model_check("MODEL005", ctx)
    assert [f.severity for f in out.findings] == ["error"]


def test_model005_holdout_improvement_indistinguishable_from_zero_warns(model_ctx, model_check):
    imp = {"estimate": 0.02, "ci_low": -0.03, "ci_high": 0.07}
    out = model_check("MODEL005", model_ctx(improvement_over_dummy=imp))
    assert [f.severity for f in out.findings] == ["warning"]
    assert model_check("MODEL005", model_ctx()).passed == ("MODEL005",)
