def _gap(naive, grouped, lo, hi):
    return {
        "naive": {"roc_auc": {"estimate": naive}},
        "grouped": {"roc_auc": {"estimate": grouped}},
        "gap": {"roc_auc": {"estimate": naive - grouped, "ci_low": lo, "ci_high": hi}},
    }


def test_model002_large_significant_gap_is_an_error(model_ctx, model_check):
    out = model_check("MODEL002", model_ctx(naive_vs_grouped=_gap(0.95, 0.80, 0.10, 0.20)))
    assert [f.severity for f in out.findings] == ["error"]
    assert out.findings[0].evidence["gap"] == 0.95 - 0.80


def test_model002_moderate_gap_warns_and_uncertain_gap_passes(model_ctx, model_check):
    out = model_check("MODEL002", model_ctx(naive_vs_grouped=_gap(0.84, 0.81, 0.01, 0.05)))
    assert [f.severity for f in out.findings] == ["warning"]
    out = model_check("MODEL002", model_ctx(naive_vs_grouped=_gap(0.84, 0.81, -0.01, 0.07)))
    assert out.passed == ("MODEL002",)


def test_model002_without_a_group_column_is_not_applicable(model_ctx, model_check):
    assert model_check("MODEL002", model_ctx()).not_applicable[0]["code"] == "MODEL002"
