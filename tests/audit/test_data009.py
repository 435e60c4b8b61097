import numpy as np


def test_data009_high_cardinality(make, check):
    df = make(n_samples=1000)
    rng = np.random.default_rng(0)
    df["city"] = [f"city{v}" for v in rng.integers(0, 120, 1000)]
    found, _ = check(df, "DATA009")
    assert found[0].severity == "warning" and found[0].evidence["city"]["levels"] >= 100


def test_data009_few_levels_pass(make, check):
    found, report = check(make(n_categorical=2), "DATA009")
    assert found == [] and "DATA009" in report.passed
