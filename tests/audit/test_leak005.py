import numpy as np
import pandas as pd


def _macro(n=300, seed=0):
    """A target that is the difference of two columns (up to rounding), plus unrelated ones."""
    rng = np.random.default_rng(seed)
    a = rng.normal(5, 2, n)
    b = rng.normal(3, 1.8, n) + 0.3 * a
    other = {f"x{i}": rng.normal(size=n) + 0.3 * a for i in range(6)}
    return pd.DataFrame({"a": a, "b": b, **other, "y": np.round(a - b, 2)})


def test_leak005_two_column_difference_is_an_error_naming_both(check):
    found, _ = check(_macro(), "LEAK005")
    assert [f.severity for f in found] == ["error"]
    assert set(found[0].columns) == {"a", "b"} and found[0].evidence["r2"] >= 0.98


def test_leak005_classification_rule_of_two_columns(check):
    df = _macro(n=600)
    df["y"] = np.where(df["a"] > df["b"], "case", "control")
    found, _ = check(df, "LEAK005")
    assert found and set(found[0].columns) == {"a", "b"}


def test_leak005_single_column_proxies_are_left_to_leak001_and_clean_tables_pass(make, check):
    found, report = check(make(n_samples=600), "LEAK005")
    assert found == [] and "LEAK005" in report.passed
    found, _ = check(make(n_samples=600, leak_target_proxy=True), "LEAK005")
    assert found == []
