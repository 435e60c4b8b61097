import numpy as np


def test_data005_levels_by_missing_share(make, check):
    df = make(n_samples=400, missing_rate=0.05)
    df["empty"] = np.nan
    df.loc[df.index[:300], "i2"] = np.nan
    found, _ = check(df, "DATA005")
    by = {f.severity: f for f in found}
    assert by["error"].columns == ("empty",)
    assert by["warning"].columns == ("i2",)
    assert by["info"].evidence["columns_with_missing"] >= 5


def test_data005_passes_complete_table(make, check):
    assert check(make(), "DATA005")[0] == []
