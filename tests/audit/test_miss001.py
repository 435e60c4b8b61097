def test_miss001_mnar_on_informative_features(make, check):
    df = make(
        n_samples=2000, missing_rate=0.2, missing_mechanism="MNAR", missing_columns=["i1", "n1"]
    )
    found, _ = check(df, "MISS001")
    assert [f.columns for f in found] == [("i1",)]
    assert found[0].severity == "warning" and abs(found[0].evidence["r"]) >= 0.05


def test_miss001_mcar_passes(make, check):
    found, report = check(make(n_samples=2000, missing_rate=0.2), "MISS001")
    assert found == [] and "MISS001" in report.passed


def test_miss001_regression(make, check):
    df = make(
        task="regression",
        n_samples=2000,
        missing_rate=0.2,
        missing_mechanism="MNAR",
        missing_columns=["i1"],
    )
    found, _ = check(df, "MISS001")
    assert found and "target_mean_missing" in found[0].evidence
