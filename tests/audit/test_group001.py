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
