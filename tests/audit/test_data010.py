def test_data010_minority_below_ten_percent(make, check):
    found, _ = check(make(n_samples=1000, weights=(0.94,)), "DATA010")
    assert found[0].severity == "warning" and "PR-AUC" in found[0].fix


def test_data010_balanced_passes_and_regression_not_applicable(make, check):
    assert check(make(), "DATA010")[0] == []
    _, report = check(make(task="regression"), "DATA010")
    assert report.not_applicable[0]["code"] == "DATA010"
