import numpy as np
import pandas as pd
import pytest

from groupwise.datasets import generate_dataset
from groupwise.estimators._zoo import CANDIDATES, available_candidates, build_candidate
from groupwise.exceptions import ConfigError
from groupwise.spec import ColumnKinds


@pytest.fixture(scope="module")
def mixed():
    X, y, _ = generate_dataset(
        n_samples=400,
        n_informative=4,
        n_categorical=2,
        missing_rate=0.1,
        leak_time_column=True,
        random_state=0,
    )
    return X, y


@pytest.mark.parametrize("name", [n for n in CANDIDATES if CANDIDATES[n].available()])
def test_every_candidate_handles_mixed_missing_and_unseen_input(mixed, name):
    X, y = mixed
    kinds = ColumnKinds.of(X)
    assert kinds.categorical == ("cat1", "cat2") and kinds.datetime == ("sample_date",)
    model = build_candidate(name, "classification", kinds, 0).fit(X.iloc[:300], y.iloc[:300])
    new = X.iloc[300:].copy()
    new["cat1"] = new["cat1"].astype(object)
    new.loc[new.index[:5], "cat1"] = "never-seen"
    proba = model.predict_proba(new)
    assert proba.shape == (100, 2) and np.allclose(proba.sum(1), 1)
    reg = build_candidate(name, "regression", kinds, 0).fit(
        X.iloc[:300], np.asarray(y.iloc[:300], float)
    )
    assert np.isfinite(reg.predict(new)).all()


def test_unknown_and_missing_candidates_are_clear():
    with pytest.raises(ConfigError, match="Did you mean 'hist_gb'"):
        available_candidates(["histgb"])
    assert "dummy" in available_candidates() and "linear" in available_candidates()


def test_candidates_are_deterministic_by_seed(mixed):
    X, y = mixed
    kinds = ColumnKinds.of(X)
    a = build_candidate("random_forest", "classification", kinds, 3).fit(X, y).predict_proba(X)
    b = build_candidate("random_forest", "classification", kinds, 3).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_to_categorical_keeps_training_levels_only():
    from groupwise.estimators import ToCategorical

    df = pd.DataFrame({"c": ["a", "b", "a", None], "x": [1, 2, 3, 4]})
    t = ToCategorical(["c"]).fit(df)
    out = t.transform(pd.DataFrame({"c": ["b", "z", None, "a"], "x": [1, 2, 3, 4]}))
    assert list(out["c"].cat.categories) == ["a", "b"]
    assert out["c"].isna().tolist() == [False, True, True, False]
