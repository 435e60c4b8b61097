import numpy as np
import pytest

from groupwise.exceptions import GroupwiseWarning


def test_data006_counts_rows_training_would_drop(make, check):
    df = make(n_samples=300)
    df["y"] = df["y"].astype(float)
    df.loc[df.index[:12], "y"] = np.nan
    with pytest.warns(GroupwiseWarning):
        found, _ = check(df, "DATA006")
    assert found[0].severity == "warning" and found[0].evidence["rows"] == 12
