def test_group005_very_unequal_sizes(make, check):
    df = make(n_samples=600, n_batches=3)
    df["site"] = ["big"] * 560 + ["mid"] * 30 + ["tiny"] * 10
    found, _ = check(df.drop(columns="batch"), "GROUP005", group_col="site")
    assert found[0].severity == "warning" and found[0].evidence["max_min_ratio"] == 56


def test_group005_balanced_groups_pass(make, check):
    found, report = check(make(n_batches=4), "GROUP005", group_col="batch")
    assert found == [] and "GROUP005" in report.passed
