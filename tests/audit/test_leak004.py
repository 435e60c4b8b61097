import pandas as pd


def test_leak004_same_rows_under_other_group_ids(make, check):
    df = make(n_batches=4, n_samples=400)
    copies = df.iloc[:20].copy()
    copies["batch"] = copies["batch"].map({"B1": "B2", "B2": "B3", "B3": "B4", "B4": "B1"})
    df = pd.concat([df, copies], ignore_index=True)
    found, _ = check(df, "LEAK004", group_col="batch")
    assert found[0].severity == "error" and found[0].evidence["entities"] == 20


def test_leak004_duplicates_within_a_group_pass(make, check):
    found, report = check(make(n_batches=4, leak_duplicates=0.05), "LEAK004", group_col="batch")
    assert found == [] and "LEAK004" in report.passed


def test_leak004_needs_a_group(make, check):
    _, report = check(make(), "LEAK004")
    assert report.not_applicable[0]["code"] == "LEAK004"
