def test_model006_poor_calibration_warns_and_mild_is_info(model_ctx, model_check):
    out = model_check("MODEL006", model_ctx(calibration={"ece": 0.15, "brier": 0.2}))
    assert [f.severity for f in out.findings] == ["warning"]
    out = model_check("MODEL006", model_ctx(calibration={"ece": 0.07, "brier": 0.2}))
    assert [f.severity for f in out.findings] == ["info"]


def test_model006_good_calibration_passes_and_regression_is_not_applicable(model_ctx, model_check):
    assert model_check("MODEL006", model_ctx()).passed == ("MODEL006",)
    out = model_check("MODEL006", model_ctx(task="regression", metric="mae", calibration=None))
    assert out.not_applicable[0]["code"] == "MODEL006"
