def test_group003_two_groups_is_an_error(make, check):
    found, _ = check(make(n_batches=2), "GROUP003", group_col="batch")
    assert found[0].severity == "error"


def test_group003_fewer_groups_than_folds_is_info(make, check):
    found, _ = check(make(n_batches=4), "GROUP003", group_col="batch")
    assert found[0].severity == "info" and "leave-one-group-out" in found[0].message


def test_group003_enough_groups_pass(make, check):
    found, report = check(make(n_batches=8), "GROUP003", group_col="batch")
    assert found == [] and "GROUP003" in report.passed
