def test_model004_cv_outside_the_holdout_interval_warns(model_ctx, model_check):
    out = model_check("MODEL004", model_ctx(cv={"linear": 0.95, "dummy": 0.5}))
    assert [f.severity for f in out.findings] == ["warning"]
    assert "above" in out.findings[0].message


def test_model004_with_fewer_than_ten_holdout_groups_is_info_only(model_ctx, model_check):
    for groups, severity in ((4, "info"), (9, "info"), (10, "warning")):
        out = model_check(
            "MODEL004", model_ctx(cv={"linear": 0.95, "dummy": 0.5}, holdout_groups=groups)
        )
        assert [f.severity for f in out.findings] == [severity], groups


def test_model004_cv_inside_the_interval_passes(model_ctx, model_check):
    assert model_check("MODEL004", model_ctx()).passed == ("MODEL004",)
