def test_group006_batch_signature_tied_to_target_is_a_warning(make, check):
    found, _ = check(
        make(n_samples=800, n_batches=4, batch_sd=2.0, confounding=0.8),
        "GROUP006",
        group_col="batch",
    )
    assert found[0].severity == "warning" and found[0].evidence["auc_ovr_macro"] >= 0.8


def test_group006_signature_without_confounding_is_info(make, check):
    found, _ = check(make(n_samples=800, n_batches=4, batch_sd=2.0), "GROUP006", group_col="batch")
    assert found[0].severity == "info"


def test_group006_no_signature_passes(make, check):
    found, report = check(
        make(n_samples=800, n_batches=4, batch_sd=0.0), "GROUP006", group_col="batch"
    )
    assert found == [] and "GROUP006" in report.passed
