def test_data002_reports_planted_duplicates_as_error(make, check):
    found, _ = check(make(leak_duplicates=0.1), "DATA002")
    assert len(found) == 1 and found[0].severity == "error"
    assert found[0].evidence["duplicate_rows"] >= 45


def test_data002_few_duplicates_are_a_warning(make, check):
    df = make()
    df = __import__("pandas").concat([df, df.iloc[:3]], ignore_index=True)
    found, _ = check(df, "DATA002")
    assert found[0].severity == "warning" and found[0].evidence["duplicate_rows"] == 3


def test_data002_passes_a_clean_table(make, check):
    found, report = check(make(), "DATA002")
    assert found == [] and "DATA002" in report.passed


def test_data002_coarse_features_downgrade_to_info(check):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"a": rng.integers(0, 2, 300), "b": rng.integers(0, 2, 300), "y": rng.integers(0, 2, 300)}
    )
    found, _ = check(df, "DATA002")
    assert found[0].severity == "info"
