def test_leak001_target_proxy_is_an_error(make, check):
    found, _ = check(make(leak_target_proxy=True, n_batches=4), "LEAK001", group_col="batch")
    assert found[0].severity == "error" and found[0].columns == ("leak_proxy",)
    assert found[0].evidence["cv"] == "grouped" and found[0].evidence["roc_auc"] >= 0.95


def test_leak001_strong_single_feature_is_a_warning(make, check):
    df = make(n_samples=2000, n_informative=1, n_noise=3, class_sep=1.8)  # AUC = Φ(1.8 / √2) ≈ 0.90
    found, _ = check(df, "LEAK001")
    assert [f.severity for f in found] == ["warning"] and found[0].columns == ("i1",)


def test_leak001_regression_proxy(make, check):
    found, _ = check(make(task="regression", leak_target_proxy=True), "LEAK001")
    assert found[0].severity == "error" and "r2" in found[0].evidence


def test_leak001_clean_table_passes(make, check):
    found, report = check(make(), "LEAK001")
    assert found == [] and "LEAK001" in report.passed
