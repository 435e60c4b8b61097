def test_model003_large_train_cv_gap_warns(model_ctx, model_check):
    ctx = model_ctx()
    ctx.folds.loc[ctx.folds["candidate"] == "linear", "train_roc_auc"] = 1.0
    ctx.folds.loc[ctx.folds["candidate"] == "linear", "roc_auc"] = 0.75
    out = model_check("MODEL003", ctx)
    assert [f.severity for f in out.findings] == ["warning"]
    assert out.findings[0].evidence["gap"] == 0.25


def test_model003_small_gap_passes_and_no_train_scores_is_not_applicable(model_ctx, model_check):
    assert model_check("MODEL003", model_ctx()).passed == ("MODEL003",)
    ctx = model_ctx()
    ctx = model_ctx(folds=ctx.folds.drop(columns="train_roc_auc"))
    assert model_check("MODEL003", ctx).not_applicable[0]["code"] == "MODEL003"
