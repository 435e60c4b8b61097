def test_data003_reports_duplicate_ids(make, check):
    df = make(n_samples=200)
    df["sample_id"] = [f"s{i // 2}" for i in range(200)]
    found, _ = check(df, "DATA003", id_cols=["sample_id"])
    assert found[0].severity == "warning" and found[0].evidence["duplicated_ids"] == 100
    assert "--group" in found[0].fix


def test_data003_unique_ids_pass_and_no_ids_is_not_applicable(make, check):
    df = make(n_samples=200)
    df["sample_id"] = range(200)
    found, report = check(df, "DATA003", id_cols=["sample_id"])
    assert found == [] and "DATA003" in report.passed
    _, report = check(make(n_samples=200), "DATA003")
    assert report.not_applicable[0]["code"] == "DATA003"
