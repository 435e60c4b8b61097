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


def _base(n=1000, seed=0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return rng, pd.DataFrame({f"f{i}": rng.normal(size=n) for i in range(5)})


def test_group004_continuous_integer_measurements_are_not_groupings(check):
    # body mass in grams and flipper length in mm: integer-coded, strongly tied to the
    # other measurements and to the target, but measurements (a smooth effect), not groups
    import numpy as np

    rng, df = _base(n=400)
    size = rng.normal(size=400)
    df["body_mass_g"] = np.round(4000 + 600 * size + rng.normal(0, 50, 400)).astype(int)
    df["flipper_mm"] = np.round(200 + 12 * size + rng.normal(0, 2, 400)).astype(int)
    for i in range(5):
        df[f"f{i}"] += 2 * size
    df["y"] = (size + rng.normal(0, 0.5, 400) > 0).astype(int)
    found, _ = check(df, "GROUP004")
    assert found == []


def test_group004_never_reports_a_dropped_column_or_a_subject_nested_in_the_group(make, check):
    df = make(n_samples=800, n_batches=8, batch_sd=1.5)
    df["batch_copy"] = df["batch"]
    found, _ = check(df, "GROUP004", drop_cols=["batch_copy", "batch"])
    assert all("batch_copy" not in f.columns for f in found)
    df = make(n_samples=800, n_informative=3, n_noise=6, n_subjects=80, subject_sd=1.0)
    df["site"] = df["subject"].map(lambda s: f"site{hash(s) % 5}")
    found, _ = check(df, "GROUP004", group_col="site")
    assert all("subject" not in f.columns for f in found)


def test_group004_integer_coded_levels_that_shift_the_outcome_are_found(check):
    # ~20 clinics of ~250 patients, coded as integers; the clinic shifts the outcome, not
    # the features
    import numpy as np

    rng, df = _base(n=5000)
    clinic = rng.permutation(np.repeat(np.arange(1, 21), 250))
    df["clinic"] = clinic
    offset = rng.normal(0, 1.0, 21)[clinic]
    df["y"] = df["f0"] + offset + rng.normal(0, 1.0, 5000)
    found, _ = check(df, "GROUP004")
    assert [f.columns for f in found] == [("clinic",)]
    assert found[0].evidence["target_epsilon_squared"] >= 0.1
    assert found[0].evidence["target_permutation_p"] < 0.01
    assert "new levels appear at prediction time" in found[0].message
