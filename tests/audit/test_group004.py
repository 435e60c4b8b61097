def test_group004_undeclared_batch_column(make, check):
    found, _ = check(make(n_batches=5, batch_sd=1.5), "GROUP004")
    assert found[0].severity == "warning" and found[0].columns == ("batch",)
    assert "--group batch" in found[0].fix


def test_group004_subject_column_with_chance_auc_but_alike_rows(make, check):
    # a subject id predicts nothing on its own in grouped CV, yet rows of a subject are alike
    df = make(n_samples=800, n_informative=3, n_noise=6, n_subjects=80, subject_sd=1.0)
    found, _ = check(df, "GROUP004")
    assert found and found[0].columns == ("subject",)
    assert found[0].evidence["share_of_features"] >= 0.5


def test_group004_declared_group_and_plain_categoricals_pass(make, check):
    found, report = check(make(n_batches=5, n_categorical=2), "GROUP004", group_col="batch")
    assert found == [] and "GROUP004" in report.passed
