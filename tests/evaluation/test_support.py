import numpy as np
import pytest

from groupwise.evaluation import evaluate_by_support


def test_bins_mae_coverage_and_z_sd():
    support = np.array([0, 1, 2, 3, 5, 6, 20, 21, 100, 0])
    y = np.zeros(10)
    pred = np.arange(10, dtype=float)
    sd = np.full(10, 5.0)
    t = evaluate_by_support(y, pred, support, sd).set_index("support")
    assert list(t.index) == ["unseen", "1-2", "3-5", "6-20", ">20", "overall"]
    assert t.loc["unseen", "rows"] == 2 and t.loc["unseen", "mae"] == pytest.approx(4.5)
    assert t.loc["1-2", "mae"] == pytest.approx(1.5)
    assert t.loc["overall", "coverage95"] == pytest.approx(1.0)  # |err| ≤ 9 ≤ 1.96·5
    assert t.loc[">20", "z_sd"] == pytest.approx(np.std([7 / 5, 8 / 5]))
    assert "coverage95" not in evaluate_by_support(y, pred, support).columns


def test_cold_starts_get_their_own_bin_when_present():
    support = np.array([-1, -1, 0, 3])
    t = evaluate_by_support(np.zeros(4), np.array([2.0, 4.0, 1.0, 0.0]), support).set_index(
        "support"
    )
    assert list(t.index)[:2] == ["cold start", "unseen"]
    assert t.loc["cold start", "rows"] == 2 and t.loc["cold start", "mae"] == pytest.approx(3.0)
    assert t.loc["unseen", "rows"] == 1
