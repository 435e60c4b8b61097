def test_leak001_target_proxy_is_an_error(make, check):
    found, _ = check(make(leak_target_proxy=True, n_batches=4), "LEAK001", group_col="batch")
    assert found[0].severity == "error" and found[0].columns == ("leak_proxy",)
    assert found[0].evidence["cv"] == "grouped" and found[0].evidence["roc_auc"] >= 0.95


def test_leak001_strong_single_feature_is_a_warning(make, check):
    df = make(n_samples=2000, n_informative=1, n_noise=3, class_sep=1.8)  # AUC = Φ(1.8 / √2) ≈ 0.90
    found, _ = check(df, "LEAK001")
    assert [f.severity for f in found] == ["warning"] and found[0].columns == ("i1",)


def test_leak001_regression_proxy(make, check):
    found, _ = check(make(task="regression", leak_target_proxy=True), "LEAK001")
    assert found[0].severity == "error" and "r2" in found[0].evidence


def test_leak001_clean_table_passes(make, check):
    found, report = check(make(), "LEAK001")
    assert found == [] and "LEAK001" in report.passed


def _biomarkers(n=600, seed=0, names=("m1", "m2", "m3", "m4", "m5"), shift=2.4):
    """Several genuine strong biomarkers (single-feature AUC ≈ 0.95, not perfect)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    cols = {c: rng.normal(size=n) + shift * y for c in names}
    return pd.DataFrame({**cols, "noise": rng.normal(size=n), "y": y})


def test_leak001_strong_genuine_biomarkers_share_one_warning_and_no_error(check):
    found, _ = check(_biomarkers(), "LEAK001")
    assert [f.severity for f in found] == ["warning"]
    assert set(found[0].columns) == {"m1", "m2", "m3", "m4", "m5"}
    assert all(0.85 <= v < 0.99 for v in found[0].evidence["roc_auc"].values())
    assert "known before the outcome" in found[0].message


def test_leak001_strong_column_named_after_the_outcome_is_an_error(check):
    df = _biomarkers(names=("marker", "final_diagnosis_score"))
    found, _ = check(df, "LEAK001")
    by_col = {f.columns: f.severity for f in found}
    assert by_col[("final_diagnosis_score",)] == "error" and by_col[("marker",)] == "warning"
