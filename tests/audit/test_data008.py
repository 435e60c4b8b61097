import pandas as pd


def test_data008_dates_as_text(make, check):
    df = make(n_samples=200)
    df["visit"] = pd.date_range("2024-01-01", periods=200, freq="D").strftime("%Y-%m-%d")
    df["code"] = [f"A{i:03d}" for i in range(200)]
    found, _ = check(df, "DATA008")
    assert found[0].severity == "warning" and found[0].columns == ("visit",)


def test_data008_not_applicable_without_text(make, check):
    _, report = check(make(), "DATA008")
    assert report.not_applicable[0]["code"] == "DATA008"
