import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from groupwise._stats import eta_squared
from groupwise.datasets import generate_dataset
from groupwise.estimators import BatchCorrector
from groupwise.exceptions import DataError, GroupwiseWarning


@pytest.fixture(scope="module")
def data():
    X, y, _ = generate_dataset(
        n_samples=1200,
        n_informative=3,
        n_noise=3,
        n_batches=6,
        batch_sd=2.0,
        batch_effect="per_feature",
        batch_slope_sd=0.4,
        random_state=0,
    )
    return X, y


@pytest.mark.parametrize("method", ["location", "combat"])
def test_correction_removes_batch_effects_and_drops_the_batch_column(data, method):
    X, _ = data
    out = BatchCorrector(method=method).fit_transform(X)
    assert "batch" not in out.columns and list(out.columns) == [
        c for c in X.columns if c != "batch"
    ]
    for c in ("i1", "n1"):
        assert eta_squared(X[c], X["batch"]) > 0.3
        assert eta_squared(out[c], X["batch"]) < 1e-3
    if method == "combat":
        sd = out.groupby(X["batch"])["n1"].std()
        assert sd.max() / sd.min() < 1.2  # scales equalised too


@pytest.mark.parametrize("method", ["location", "combat"])
def test_fit_on_fold_a_then_transform_fold_b_ignores_fold_b_labels(data, method):
    X, y = data
    a, b = X.iloc[:800], X.iloc[800:]
    bc1 = BatchCorrector(method=method).fit(a, y.iloc[:800])
    bc2 = BatchCorrector(method=method).fit(a, np.random.default_rng(0).permutation(y.iloc[:800]))
    pd.testing.assert_frame_equal(bc1.transform(b), bc2.transform(b))
    # the transform of fold B does not depend on fold B's labels: it never sees them, and
    # inside a pipeline refitting with permuted B labels changes only the classifier
    pipe = make_pipeline(BatchCorrector(method=method), LogisticRegression()).fit(a, y.iloc[:800])
    Xt = pipe[:-1].transform(b)
    pd.testing.assert_frame_equal(Xt, bc1.transform(b))


@pytest.mark.parametrize("method", ["location", "combat"])
def test_transform_of_the_training_fold_equals_fit_transform(data, method):
    X, _ = data
    bc = BatchCorrector(method=method)
    pd.testing.assert_frame_equal(bc.fit_transform(X), bc.transform(X))


def test_unseen_batch_policies(data):
    X, _ = data
    train, new = X[X["batch"] != "B6"], X[X["batch"] == "B6"]
    with pytest.warns(GroupwiseWarning, match=f"{len(new)} rows from 1 batch"):
        out = BatchCorrector(unseen="identity").fit(train).transform(new)
    np.testing.assert_allclose(out["n1"], new["n1"])
    with pytest.raises(DataError, match="'B6'"):
        BatchCorrector(unseen="error").fit(train).transform(new)
    for method in ("location", "combat"):
        est = BatchCorrector(unseen="estimate", method=method).fit(train).transform(new)
        grand = train["n1"].mean()
        assert abs(est["n1"].mean() - grand) < abs(new["n1"].mean() - grand)


def test_bad_parameters_and_missing_column(data):
    X, _ = data
    with pytest.raises(ValueError, match="'method' parameter of BatchCorrector"):
        BatchCorrector(method="zscore").fit(X)
    with pytest.raises(KeyError, match="Did you mean 'batch'"):
        BatchCorrector(batch_col="btch").fit(X)
