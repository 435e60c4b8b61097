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


def test_leak004_panel_with_discrete_covariates_is_not_flagged(check):
    # many persons with the same schooling, hours and occupation by chance: not copies
    import numpy as np

    rng = np.random.default_rng(0)
    persons, years = 400, 6
    n = persons * years
    df = pd.DataFrame(
        {
            "person": np.repeat(np.arange(persons), years),
            "educ": rng.integers(10, 17, n),
            "hours": rng.choice([2080, 2000, 1800], n, p=[0.7, 0.2, 0.1]),
            "union": rng.integers(0, 2, n),
            "occupation": rng.integers(1, 10, n),
            "exper": np.tile(np.arange(years), persons) + rng.integers(0, 3, n),
        }
    )
    df["y"] = 0.1 * df["educ"] + rng.normal(size=n)
    found, report = check(df, "LEAK004", group_col="person")
    assert found == [] and "LEAK004" in report.passed
