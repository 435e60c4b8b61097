import pandas as pd


def test_data011_identical_features_different_labels(make, check):
    df = make(n_samples=300)
    copies = df.iloc[:6].copy()
    copies["y"] = 1 - copies["y"]
    df = pd.concat([df, copies], ignore_index=True)
    found, _ = check(df, "DATA011")
    assert found[0].severity == "warning" and found[0].evidence["conflicting_sets"] == 6


def test_data011_plain_duplicates_are_not_conflicts(make, check):
    found, report = check(make(leak_duplicates=0.05), "DATA011")
    assert found == [] and "DATA011" in report.passed
