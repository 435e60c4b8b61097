"""Rebalancing, blends, stacks and calibration: what happens inside ``fit``."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression

from groupwise.estimators._crossfit import Blend, Calibrated, Stack, inner_folds
from groupwise.estimators._imbalance import Rebalanced, resample_rows, unwrap
from groupwise.evaluation._calibration import expected_calibration_error


def imbalanced(n=600, share=0.1, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    logit = 1.5 * X["a"] - X["b"] + np.log(share / (1 - share))
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    groups = np.repeat(np.arange(n // 20), 20)
    return X, y, groups


class Memorizer(ClassifierMixin, BaseEstimator):
    """Says 0.9 for rows (by their ``rowid``) it was fitted on, 0.1 for any other row."""

    def fit(self, X, y):
        self.seen_ = set(X["rowid"].astype(int))
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        p = np.where(X["rowid"].astype(int).isin(self.seen_), 0.9, 0.1)
        return np.column_stack([1 - p, p])


class Overconfident(ClassifierMixin, BaseEstimator):
    """A logistic regression whose log-odds are tripled: right ranking, wrong probabilities."""

    def fit(self, X, y):
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        z = 3 * self.model_.decision_function(X)
        p = 1 / (1 + np.exp(-z))
        return np.column_stack([1 - p, p])


@pytest.mark.parametrize("method", ["under", "over"])
def test_under_and_over_sampling_equalise_classes_from_the_fit_rows_only(method):
    y = np.array([0] * 90 + [1] * 10)
    rows = resample_rows(y, method, np.random.default_rng(0))
    counts = np.bincount(y[rows])
    assert counts[0] == counts[1] == (10 if method == "under" else 90)
    assert rows.min() >= 0 and rows.max() < len(y)
    if method == "under":
        assert len(set(rows)) == len(rows)  # no copies


def test_smote_rows_lie_between_two_training_rows_of_their_class():
    X, y, _ = imbalanced()
    est = Rebalanced(LogisticRegression(), resample="smote", random_state=0).fit(X, y)
    assert est.pairs_.shape[0] == (y == 0).sum() - (y == 1).sum()
    seeds, mates = est.pairs_.T
    assert seeds.max() < len(y) and mates.max() < len(y)
    assert (y[seeds] == 1).all() and (y[mates] == 1).all()  # minority with minority
    assert (seeds != mates).all()


def test_balanced_weights_raise_minority_recall_at_one_half():
    X, y, _ = imbalanced(2000, 0.08)
    plain = LogisticRegression().fit(X, y)
    weighted = Rebalanced(LogisticRegression(), class_weight="balanced").fit(X, y)
    recall = lambda m: ((m.predict_proba(X)[:, 1] >= 0.5) & (y == 1)).sum() / (y == 1).sum()  # noqa: E731
    assert weighted.weighted_
    assert recall(weighted) > recall(plain) + 0.2


def test_unwrap_leaves_the_fitted_estimator_in_the_pipeline():
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, _ = imbalanced()
    pipe = Pipeline(
        [("s", StandardScaler()), ("model", Rebalanced(LogisticRegression(), "balanced"))]
    )
    pipe.fit(X, y)
    before = pipe.predict_proba(X)
    unwrap(pipe)
    assert isinstance(pipe.steps[-1][1], LogisticRegression)
    np.testing.assert_array_equal(pipe.predict_proba(X), before)


def test_inner_folds_never_split_a_group_and_time_folds_train_on_the_past():
    X, y, groups = imbalanced()
    for tr, te in inner_folds(y, groups, split="group", n_folds=5):
        assert not set(groups[tr]) & set(groups[te])
    times = np.repeat(np.arange(30), 20)
    folds = inner_folds(y, times, split="time", n_folds=4)
    assert len(folds) == 4
    for tr, te in folds:
        assert times[tr].max() < times[te].min()


def test_a_stacks_meta_features_are_out_of_fold():
    X, y, groups = imbalanced()
    X = X.assign(rowid=np.arange(len(X)))
    stack = Stack([("mem", Memorizer()), ("lr", LogisticRegression())], split="group")
    Z = stack.oof_meta_features(X, y, groups)
    # the memorizer says 0.9 only for rows it saw: every meta-feature says 0.1
    np.testing.assert_allclose(Z[:, 0], np.log(0.1 / 0.9))
    stack.fit(X, y, groups=groups)
    assert abs(stack.weights_[0]) < 0.1 * abs(
        stack.weights_[1]
    )  # a constant meta-feature: no weight


def test_a_stack_given_fitted_members_uses_them_and_predicts_as_if_it_fitted_them():
    X, y, groups = imbalanced(1200, 0.3)
    parts = [("lr", LogisticRegression()), ("lr2", LogisticRegression(C=0.01))]
    Z = Stack(parts).oof_meta_features(X, y, groups)
    own = Stack(parts).fit_on_meta_features(X, y, Z)
    fitted = [clone(m).fit(X, y) for _, m in parts]
    given = Stack(parts).fit_on_meta_features(X, y, Z, members=fitted)
    assert all(a is b for a, b in zip(given.members_, fitted, strict=True))  # not refitted
    np.testing.assert_allclose(given.predict_proba(X), own.predict_proba(X))
    with pytest.raises(ValueError, match="1 fitted members for a stack of 2"):
        Stack(parts).fit_on_meta_features(X, y, Z, members=fitted[:1])


def test_blend_is_the_mean_of_its_members_and_routes_parameters():
    X, y, groups = imbalanced(1200, 0.3)
    members = [("lr", LogisticRegression()), ("lr2", LogisticRegression(C=0.01))]
    blend = Blend(members).fit(X, y)
    expected = np.mean([clone(m).fit(X, y).predict_proba(X) for _, m in members], axis=0)
    np.testing.assert_allclose(blend.predict_proba(X), expected)
    assert blend.get_params()["lr__C"] == 1.0
    blend.set_params(lr2__C=0.5)
    assert blend.estimators[1][1].C == 0.5


def test_calibration_lowers_the_error_of_an_overconfident_model():
    X, y, groups = imbalanced(3000, 0.3, seed=1)
    Xt, yt, _ = imbalanced(3000, 0.3, seed=2)
    raw = Overconfident().fit(X, y)
    cal = Calibrated(Overconfident(), method="sigmoid").fit(X, y, groups=groups)
    before = expected_calibration_error(raw.predict_proba(Xt)[:, 1], yt.astype(float))
    after = expected_calibration_error(cal.predict_proba(Xt)[:, 1], yt.astype(float))
    assert before > 0.05
    assert after < before / 2
    iso = Calibrated(Overconfident(), method="isotonic").fit(X, y, groups=groups)
    assert expected_calibration_error(iso.predict_proba(Xt)[:, 1], yt.astype(float)) < before / 2
