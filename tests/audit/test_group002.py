def test_group002_reports_batch_effect_strength(make, check):
    found, _ = check(make(n_batches=4, batch_sd=2.0), "GROUP002", group_col="batch")
    assert found[0].severity == "info"
    assert found[0].evidence["median_eta_squared"] > 0.3
    assert found[0].evidence["features_with_batch_effect"] == 10


def test_group002_no_batch_effect_passes(make, check):
    found, report = check(make(n_batches=4, batch_sd=0.0), "GROUP002", group_col="batch")
    assert found == [] and "GROUP002" in report.passed
