def test_leak003_undeclared_drifting_date_is_a_warning(make, check):
    found, _ = check(make(leak_time_column=True), "LEAK003")
    assert found[0].severity == "warning" and found[0].columns == ("sample_date",)
    assert found[0].evidence["rows_in_time_order"] is False


def test_leak003_declared_time_column_is_info(make, check):
    found, _ = check(make(leak_time_column=True), "LEAK003", time_col="sample_date")
    assert [f.severity for f in found] == ["info"]


def test_leak003_no_time_is_not_applicable(make, check):
    _, report = check(make(), "LEAK003")
    assert report.not_applicable[0]["code"] == "LEAK003"


def test_leak003_dates_without_drift_pass(make, check):
    import numpy as np
    import pandas as pd

    df = make(n_samples=400)
    df["when"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        np.random.default_rng(0).integers(0, 365, 400), unit="D"
    )
    found, report = check(df, "LEAK003")
    assert found == [] and "LEAK003" in report.passed
