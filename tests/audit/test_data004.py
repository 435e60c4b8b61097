import numpy as np


def test_data004_constant_and_near_constant(make, check):
    df = make(n_samples=1000)
    df["flat"] = 3.0
    df["almost"] = np.where(np.arange(1000) < 2, 1.0, 0.0)
    df["label"] = "same"
    found, _ = check(df, "DATA004")
    by = {f.severity: f for f in found}
    assert set(by["warning"].columns) == {"flat", "label"}
    assert by["info"].columns == ("almost",)


def test_data004_passes_a_clean_table(make, check):
    assert check(make(), "DATA004")[0] == []
