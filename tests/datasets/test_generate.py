import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtr

from groupwise.datasets import CorrCluster, DatasetConfig, generate_dataset
from groupwise.exceptions import ConfigError

LESSON = dict(
    n_samples=240,
    n_informative=8,
    n_pseudo=0,
    n_noise=6,
    n_classes=2,
    class_sep=1.2,
    feature_naming="prefixed",
    random_state=42,
)


def test_generate_dataset_accepts_the_lesson_call():
    X, y, meta = generate_dataset(DatasetConfig(**LESSON), return_dataframe=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)
    assert list(X.columns) == [f"i{j}" for j in range(1, 9)] + [f"n{j}" for j in range(1, 7)]
    assert [c for c in X.columns if c.startswith("i")] == meta.informative
    assert [c for c in X.columns if c.startswith("n")] == meta.noise
    assert y.name == "y" and sorted(y.unique()) == [0, 1]


def test_generate_dataset_ndarray_form_returns_numeric_features():
    X, y, meta = generate_dataset(DatasetConfig(**LESSON), return_dataframe=False)
    Xd, yd, _ = generate_dataset(DatasetConfig(**LESSON))
    assert isinstance(X, np.ndarray) and X.shape == (240, 14)
    np.testing.assert_array_equal(X, Xd.to_numpy())
    np.testing.assert_array_equal(y, yd.to_numpy())


def test_cluster_naming_and_column_order():
    cfg = DatasetConfig(
        n_samples=50,
        n_informative=3,
        n_pseudo=1,
        n_noise=2,
        corr_clusters=[CorrCluster(3, rho=0.5), {"n_cluster_features": 2, "anchor_role": "noise"}],
        random_state=0,
    )
    X, _, meta = generate_dataset(cfg)
    assert list(X.columns) == [
        "corr1_anchor", "corr1_2", "corr1_3", "corr2_anchor", "corr2_2", "i1", "i2", "p1", "n1",
    ]  # fmt: skip
    assert meta.informative == ["corr1_anchor", "i1", "i2"]
    assert meta.noise == ["corr2_anchor", "n1"]
    assert meta.corr_clusters[0]["proxies"] == ["corr1_2", "corr1_3"]
    assert cfg.n_feature_columns == 9


def test_simple_naming():
    X, _, meta = generate_dataset(
        n_samples=20, n_informative=2, n_noise=1, feature_naming="simple", random_state=0
    )
    assert list(X.columns) == ["feature_1", "feature_2", "feature_3"]
    assert meta.informative == ["feature_1", "feature_2"]


@pytest.mark.parametrize(
    ("weights", "n", "expected"),
    [((0.85, 0.15), 200, [170, 30]), ((0.5, 0.3, 0.2), 101, [51, 30, 20]), ((0.9,), 37, [33, 4])],
)
def test_weights_are_realised_exactly(weights, n, expected):
    cfg = DatasetConfig(n_samples=n, n_classes=len(expected), weights=weights, random_state=1)
    _, y, meta = generate_dataset(cfg)
    assert np.bincount(y).tolist() == expected
    assert list(meta.class_counts.values()) == expected


def test_same_config_gives_bit_identical_output():
    cfg = DatasetConfig(
        **{**LESSON, "random_state": 3},
        n_batches=4,
        confounding=0.5,
        n_subjects=30,
        missing_rate=0.1,
        n_categorical=2,
        leak_duplicates=0.05,
    )
    X1, y1, m1 = generate_dataset(cfg)
    X2, y2, m2 = generate_dataset(cfg)
    pd.testing.assert_frame_equal(X1, X2)
    pd.testing.assert_series_equal(y1, y2)
    assert m1.to_json() == m2.to_json()
    X3, _, _ = generate_dataset(cfg, random_state=4)
    assert not X3[["i1"]].equals(X1[["i1"]])


def test_adding_noise_features_leaves_informative_columns_unchanged():
    base = dict(
        LESSON, n_batches=3, batch_effect="per_feature", missing_rate=0.1, batch_slope_sd=0.2
    )
    Xa, ya, _ = generate_dataset(DatasetConfig(**{**base, "n_noise": 2}))
    Xb, yb, _ = generate_dataset(DatasetConfig(**{**base, "n_noise": 40, "n_pseudo": 3}))
    informative = [f"i{j}" for j in range(1, 9)]
    pd.testing.assert_frame_equal(Xa[informative], Xb[informative])
    pd.testing.assert_series_equal(ya, yb)


def test_unconfounded_batches_are_uniform_and_confounding_follows_the_rule():
    n = 40_000
    for c, expected_own in [(0.0, 0.5), (0.5, 0.75), (1.0, 1.0)]:
        X, y, meta = generate_dataset(
            n_samples=n, n_informative=1, n_batches=4, confounding=c, random_state=5
        )
        batch_idx = X["batch"].str[1:].astype(int).to_numpy() - 1
        own = (batch_idx % 2) == y.to_numpy()
        assert own.mean() == pytest.approx(expected_own, abs=0.01)
        if c == 0.0:  # uniform over all four batches
            np.testing.assert_allclose(np.bincount(batch_idx) / n, 0.25, atol=0.01)
    assert meta.batch_class == [0, 1, 0, 1]


def test_batch_effect_matrix_in_meta_matches_the_data():
    base = dict(n_samples=300, n_informative=3, n_noise=2, n_batches=3, random_state=9)
    for effect in ("scalar", "per_feature"):
        X0, _, _ = generate_dataset(**base, batch_effect=effect, batch_sd=0.0)
        X1, _, meta = generate_dataset(**base, batch_effect=effect, batch_sd=1.5)
        b = X1["batch"].map({lab: i for i, lab in enumerate(meta.batch_labels)}).to_numpy()
        intercept = np.asarray(meta.to_dict()["batch_effects"]["intercept"])
        cols = meta.batch_effects["affected"]
        np.testing.assert_allclose(
            X1[cols].to_numpy() - X0[cols].to_numpy(), intercept[b], atol=1e-12
        )
        if effect == "scalar":
            assert np.allclose(intercept, intercept[:, :1])
        else:
            assert not np.allclose(intercept, intercept[:, :1])


def test_batch_scale_and_affected_subset():
    X0, _, _ = generate_dataset(
        n_samples=200, n_informative=2, n_noise=2, n_batches=2, batch_sd=0.0, random_state=2
    )
    X1, _, meta = generate_dataset(
        n_samples=200,
        n_informative=2,
        n_noise=2,
        n_batches=2,
        batch_sd=0.0,
        batch_slope_sd=0.5,
        affected="informative",
        random_state=2,
    )
    assert meta.batch_effects["affected"] == ["i1", "i2"]
    pd.testing.assert_frame_equal(X0[["n1", "n2"]], X1[["n1", "n2"]])
    scale = np.asarray(meta.batch_effects["scale"])
    b = (X1["batch"] == "B2").to_numpy().astype(int)
    np.testing.assert_allclose(X1[["i1", "i2"]].to_numpy(), X0[["i1", "i2"]].to_numpy() * scale[b])


def test_subjects_are_nested_in_batches_and_have_one_class():
    X, y, meta = generate_dataset(
        n_samples=600, n_informative=2, n_batches=4, n_subjects=40, confounding=0.5, random_state=3
    )
    per_subject = pd.DataFrame({"s": X["subject"], "b": X["batch"], "y": y}).groupby("s").nunique()
    assert (per_subject["b"] == 1).all() and (per_subject["y"] == 1).all()
    assert len(per_subject) == 40
    assert (
        dict(zip(meta.subject_labels, meta.subject_batch, strict=True))["S001"]
        == X.loc[X["subject"] == "S001", "batch"].iloc[0]
    )


def test_subject_intercepts_make_rows_of_a_subject_alike():
    X, _, _ = generate_dataset(
        n_samples=800, n_informative=0, n_noise=4, n_subjects=40, subject_sd=2.0, random_state=4
    )
    within = X.groupby("subject")[["n1", "n2"]].var().mean().mean()
    total = X[["n1", "n2"]].var().mean()
    assert within < 0.35 * total


def test_mcar_rate_and_mnar_depends_on_value():
    X, _, meta = generate_dataset(
        n_samples=20_000, n_informative=2, n_noise=2, missing_rate=0.2, random_state=0
    )
    assert X[meta.feature_names].isna().mean().between(0.18, 0.22).all()
    X, y, meta = generate_dataset(
        n_samples=20_000,
        n_informative=2,
        n_noise=0,
        missing_rate=0.2,
        missing_mechanism="MNAR",
        missing_columns=["i1"],
        random_state=0,
    )
    assert X["i2"].notna().all()
    # high values go missing, so the class with the higher mean of i1 loses more cells
    high_class = int(np.argmax(meta.signal["class_means"]["i1"]))
    miss = X["i1"].isna()
    assert miss[y == high_class].mean() > miss[y != high_class].mean() + 0.05
    assert meta.missing["rates"]["i1"] == pytest.approx(0.2, abs=0.02)


def test_mar_uses_a_fully_observed_driver():
    X, _, meta = generate_dataset(
        n_samples=5000,
        n_informative=2,
        n_noise=2,
        missing_rate=0.3,
        missing_mechanism="MAR",
        random_state=0,
    )
    driver = meta.missing["driver"]
    assert driver == "n1" and X[driver].notna().all()
    miss = X["i1"].isna()
    assert X.loc[miss, driver].mean() > X.loc[~miss, driver].mean() + 0.5


def test_categoricals_some_informative():
    X, y, meta = generate_dataset(
        n_samples=4000,
        n_informative=1,
        n_categorical=3,
        categorical_levels=[3, 4, 5],
        class_sep=2.0,
        random_state=0,
    )
    assert meta.categorical_informative == ["cat1", "cat2"]
    assert [len(X[c].cat.categories) for c in meta.categorical] == [3, 4, 5]
    share_by_class = pd.crosstab(X["cat1"], y, normalize="columns")
    assert (share_by_class[0] - share_by_class[1]).abs().max() > 0.2
    share_by_class = pd.crosstab(X["cat3"], y, normalize="columns")
    assert (share_by_class[0] - share_by_class[1]).abs().max() < 0.05


def test_label_noise_flips_the_requested_share():
    cfg = dict(n_samples=1000, n_informative=2, random_state=8)
    _, y0, _ = generate_dataset(**cfg)
    _, y1, meta = generate_dataset(**cfg, label_noise=0.1)
    assert (y0 != y1).sum() == 100
    assert meta.signal["label_flips"] == 100


def test_planted_leaks():
    X, y, meta = generate_dataset(
        n_samples=400,
        n_informative=2,
        leak_target_proxy=True,
        leak_id_column=True,
        leak_time_column=True,
        leak_duplicates=0.1,
        random_state=0,
    )
    assert np.corrcoef(X["leak_proxy"], y)[0, 1] > 0.85
    ids = X["record_id"]
    assert ids.min() == 100_000
    assert X.loc[y == 1, "record_id"].min() > X.loc[y == 0, "record_id"].median()
    assert pd.api.types.is_datetime64_any_dtype(X["sample_date"])
    assert X.groupby(y)["sample_date"].median()[1] > X.groupby(y)["sample_date"].median()[0]
    assert not X["sample_date"].is_monotonic_increasing
    pairs = meta.leaks["duplicate_rows"]
    assert len(pairs) == 40
    full = X.assign(y=y)
    for copy, original in pairs[:5]:
        pd.testing.assert_series_equal(full.iloc[copy], full.iloc[original], check_names=False)
    assert full.duplicated().sum() >= 30


def test_regression_target_follows_the_recorded_coefficients():
    X, y, meta = generate_dataset(
        task="regression",
        n_samples=5000,
        n_informative=3,
        n_noise=2,
        class_sep=2.0,
        noise_sd=0.5,
        random_state=1,
    )
    coef = meta.signal["coefficients"]
    resid = y - X[list(coef)].to_numpy() @ np.array(list(coef.values()))
    assert resid.std() == pytest.approx(0.5, rel=0.05)
    assert np.sqrt(np.sum(np.square(list(coef.values())))) == pytest.approx(2.0)


def test_regression_confounding_ties_batches_to_target_halves():
    X, y, _ = generate_dataset(
        task="regression",
        n_samples=4000,
        n_informative=2,
        n_batches=2,
        confounding=1.0,
        random_state=0,
    )
    high = y > y.median()
    assert (X.loc[high, "batch"] == "B2").all() and (X.loc[~high, "batch"] == "B1").all()


def test_class_sep_is_the_mahalanobis_distance():
    X, y, meta = generate_dataset(n_samples=40_000, n_informative=5, class_sep=1.2, random_state=0)
    means = X.groupby(y)[meta.informative].mean()
    assert np.linalg.norm(means.loc[1] - means.loc[0]) == pytest.approx(1.2, rel=0.03)
    assert meta.signal["bayes_balanced_accuracy"] == pytest.approx(ndtr(0.6))


def test_class_specific_correlation():
    cfg = DatasetConfig(
        n_samples=20_000,
        n_informative=1,
        corr_clusters=[CorrCluster(3, rho=0.1, class_rho={1: 0.9})],
        random_state=0,
    )
    X, y, _ = generate_dataset(cfg)
    r0 = X.loc[y == 0, ["corr1_anchor", "corr1_2"]].corr().iloc[0, 1]
    r1 = X.loc[y == 1, ["corr1_anchor", "corr1_2"]].corr().iloc[0, 1]
    assert r0 == pytest.approx(0.1, abs=0.03) and r1 == pytest.approx(0.9, abs=0.03)


def test_toeplitz_cluster_correlation_decays():
    cfg = DatasetConfig(
        n_samples=20_000,
        n_informative=0,
        n_noise=1,
        corr_clusters=[CorrCluster(4, rho=0.8, structure="toeplitz", anchor_role="noise")],
        random_state=0,
    )
    X, _, _ = generate_dataset(cfg)
    c = X[["corr1_anchor", "corr1_2", "corr1_3", "corr1_4"]].corr().to_numpy()
    np.testing.assert_allclose([c[0, 1], c[0, 2], c[0, 3]], [0.8, 0.64, 0.512], atol=0.02)


def test_multiclass_and_float32():
    X, y, meta = generate_dataset(
        n_samples=300, n_classes=3, n_informative=6, dtype="float32", random_state=0
    )
    assert set(X.dtypes) == {np.dtype("float32")}
    assert sorted(y.unique()) == [0, 1, 2]
    assert len(meta.signal["class_means"]["i1"]) == 3


def test_meta_is_strict_json_and_complete():
    X, y, meta = generate_dataset(
        **LESSON | {"random_state": None}, n_batches=2, n_subjects=10, missing_rate=0.05
    )
    d = json.loads(meta.to_json())
    assert d["config"]["random_state"] is not None  # the seed actually used
    X2, _, _ = generate_dataset(DatasetConfig.from_dict(d["config"]))
    pd.testing.assert_frame_equal(X, X2)
    assert len(d["batch_effects"]["intercept"]) == 2
    assert len(d["subject_effects"]["intercept"]) == 10
    assert d["version"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"confounding": 1.5},
            r"The 'confounding' parameter of DatasetConfig must be a float in the range \[0, 1\]. Got 1.5 instead.",
        ),
        (
            {"n_samples": 0},
            r"'n_samples' parameter of DatasetConfig must be an int in the range \[2, inf\)",
        ),
        ({"batch_effect": "per-feature"}, r"Did you mean 'per_feature'\?"),
        ({"missing_mechanism": "mnar"}, r"Did you mean 'MNAR'\?"),
        ({"weights": (0.5, 0.6)}, r"summing to 1"),
        ({"task": "regression", "label_noise": 0.1}, r"label_noise applies to classification only"),
        ({"n_informative": 0, "n_noise": 0}, r"no feature columns"),
        (
            {"n_informative": 0, "corr_clusters": [CorrCluster(2)]},
            r"informative anchors count toward",
        ),
        ({"n_features": 3}, r"n_features=3 does not match"),
    ],
)
def test_invalid_configs_raise_clear_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        generate_dataset(DatasetConfig(**kwargs))


def test_unknown_names_in_lists_are_reported_at_generation():
    with pytest.raises(ConfigError, match="Did you mean 'i1'"):
        generate_dataset(n_informative=2, missing_rate=0.1, missing_columns=["i_1"])
    with pytest.raises(ConfigError, match="Did you mean 'n1'"):
        generate_dataset(n_informative=2, n_noise=1, n_batches=2, affected=["n_1"])


def test_from_file_reads_toml_and_yaml(tmp_path):
    (tmp_path / "c.toml").write_text(
        "[dataset]\nn_samples = 30\nn_batches = 2\nweights = [0.7, 0.3]\n[[dataset.corr_clusters]]\nn_cluster_features = 2\n"
    )
    cfg = DatasetConfig.from_file(tmp_path / "c.toml")
    assert (
        cfg.n_samples == 30
        and cfg.weights == (0.7, 0.3)
        and cfg.corr_clusters[0].n_cluster_features == 2
    )
    (tmp_path / "c.yaml").write_text(
        "n_samples: 31\nconfounding: 0.5\ncorr_clusters:\n  - n_cluster_features: 3\n    class_rho: {1: 0.8}\n"
    )
    cfg = DatasetConfig.from_file(tmp_path / "c.yaml")
    assert cfg.n_samples == 31 and cfg.corr_clusters[0].class_rho == {1: 0.8}
    (tmp_path / "bad.toml").write_text("n_sampels = 3\n")
    with pytest.raises(ConfigError, match="Did you mean 'n_samples'"):
        DatasetConfig.from_file(tmp_path / "bad.toml")
