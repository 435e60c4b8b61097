import pytest


@pytest.mark.parametrize(("confounding", "severity"), [(0.9, "error"), (0.4, "warning")])
def test_group001_confounding_levels(make, check, confounding, severity):
    df = make(n_samples=1000, n_batches=4, confounding=confounding)
    found, _ = check(df, "GROUP001", group_col="batch")
    assert found[0].severity == severity
    assert found[0].evidence["p_value"] < 0.01


def test_group001_unconfounded_passes(make, check):
    found, report = check(make(n_samples=1000, n_batches=4), "GROUP001", group_col="batch")
    assert found == [] and "GROUP001" in report.passed


def test_group001_single_class_groups_are_info(make, check):
    found, _ = check(make(n_samples=600, n_subjects=60), "GROUP001", group_col="subject")
    assert found[0].severity == "info" and "property of the group" in found[0].message


def test_group001_regression_uses_eta_squared(make, check):
    found, _ = check(
        make(task="regression", n_samples=1000, n_batches=4, confounding=1.0),
        "GROUP001",
        group_col="batch",
    )
    assert found[0].severity == "error" and "eta_squared" in found[0].evidence


def _panel(task="regression", units=60, per=8, seed=0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(units), per)
    effect = rng.normal(0, 1.0, units)[unit]
    x = rng.normal(size=len(unit))
    y = effect + 0.5 * x + rng.normal(0, 0.5, len(unit))
    if task == "classification":
        y = (y > 0).astype(int)
    return pd.DataFrame({"person": [f"p{u}" for u in unit], "x": x, "y": y})


def test_group001_units_that_differ_in_outcome_are_info_with_the_between_share(check):
    found, _ = check(_panel(), "GROUP001", group_col="person", group_kind="unit")
    assert [f.severity for f in found] == ["info"]
    assert "variance lies between 'person' units" in found[0].message
    assert found[0].evidence["group_kind"] == "unit"
    # the same table declared as batches is an error: offsets tied to the target
    found, _ = check(_panel(), "GROUP001", group_col="person")
    assert found[0].severity == "error"


def test_group001_advice_matches_the_task(make, check):
    reg, _ = check(
        make(task="regression", n_samples=1000, n_batches=4, confounding=1.0),
        "GROUP001",
        group_col="batch",
    )
    assert "rebalance classes" not in reg[0].fix and "target's range" in reg[0].fix
    clf, _ = check(
        make(n_samples=1000, n_batches=4, confounding=0.9), "GROUP001", group_col="batch"
    )
    assert "rebalance classes" in clf[0].fix
