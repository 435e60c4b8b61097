"""Estimators that learn from out-of-fold predictions: blends, stacks and calibration.

A stack's meta-model and a calibrator are fitted on predictions of rows by models that
never saw those rows. The inner folds respect the data's structure: ``fit(X, y,
groups=...)`` takes one key per row, and ``split`` says what it is —

- ``"group"``: group labels; inner folds leave whole groups out (``GroupKFold``);
- ``"time"``: time values; expanding windows, each fold trained on earlier times only
  (rows of the first window get no out-of-fold prediction and are not used);
- ``"row"`` (or no keys): stratified (classification) or plain shuffled K-fold.

After the out-of-fold step every member is refitted on all rows it was given. Prediction
never needs the keys.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

__all__ = [
    "Blend", "Calibrated", "Stack", "apply_calibrator", "fit_calibrator", "inner_folds",
    "meta_features", "meta_model",
]  # fmt: skip

_EPS = 1e-6


def inner_folds(
    y: np.ndarray,
    keys: np.ndarray | None,
    *,
    split: str = "group",
    n_folds: int = 5,
    classification: bool = True,
    seed: int = 0,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test positions of the inner folds (see the module's description)."""
    from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold

    n = len(y)
    if keys is not None and split == "time":
        values = np.unique(keys)
        if len(values) < 3:
            raise ValueError(
                f"Expanding-window inner folds need at least 3 distinct times; got {len(values)}."
            )
        k = min(n_folds, len(values) - 1)
        edges = np.quantile(np.arange(len(values)), np.linspace(0, 1, k + 2))[1:-1]
        cuts = values[np.unique(np.ceil(edges).astype(int))]
        bounds = [*cuts, None]
        folds = []
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            tr = np.flatnonzero(keys < lo)
            te = np.flatnonzero((keys >= lo) & (True if hi is None else keys < hi))
            if len(tr) and len(te):
                folds.append((tr, te))
        return folds
    if keys is not None and split == "group":
        n_groups = len(pd.unique(keys))
        if n_groups >= 2:
            gkf = GroupKFold(n_splits=min(n_folds, n_groups))
            return [(tr, te) for tr, te in gkf.split(np.zeros(n), y, keys)]
    if classification:
        smallest = int(np.unique(y, return_counts=True)[1].min())
        if smallest >= 2:
            skf = StratifiedKFold(n_splits=min(n_folds, smallest), shuffle=True, random_state=seed)
            return list(skf.split(np.zeros(n), y))
    kf = KFold(n_splits=min(n_folds, n), shuffle=True, random_state=seed)
    return list(kf.split(np.zeros(n)))


def _take(X, rows):
    return X.iloc[rows] if isinstance(X, pd.DataFrame) else X[rows]


def _proba(est, X, classes: np.ndarray) -> np.ndarray:
    """``est.predict_proba`` with one column per entry of ``classes`` (0 for classes it lacks)."""
    p = est.predict_proba(X)
    own = np.asarray(est.classes_)
    if np.array_equal(own, classes):
        return p
    full = np.zeros((p.shape[0], len(classes)))
    full[:, np.searchsorted(classes, own)] = p
    return full


class _Members(BaseEstimator):
    """Shared parameter handling: ``estimators`` is a list of ``(name, estimator)``; nested
    parameters are addressed as ``<name>__<param>`` (so thread limits reach every member)."""

    def get_params(self, deep=True):
        out = super().get_params(deep=False)
        if deep:
            for name, est in self.estimators:
                out[name] = est
                for k, v in est.get_params(deep=True).items():
                    out[f"{name}__{k}"] = v
        return out

    def set_params(self, **params):
        names = {name for name, _ in self.estimators}
        own, nested = {}, {}
        for key, value in params.items():
            head, _, rest = key.partition("__")
            if head in names and rest:
                nested.setdefault(head, {})[rest] = value
            else:
                own[key] = value
        super().set_params(**own)
        for name, est in self.estimators:
            if name in nested:
                est.set_params(**nested[name])
        return self

    @property
    def _is_classifier(self) -> bool:
        return self.task == "classification"

    def _outputs(self, members, X) -> list[np.ndarray]:
        return [self.member_output(m, X) for m in members]

    def member_output(self, est, X) -> np.ndarray:
        """One member's output as the combination reads it: probabilities of
        :attr:`classes_` (classification) or predictions. ``est`` is a fitted member, or
        the last step of one given that member's preprocessed rows."""
        if self._is_classifier:
            return _proba(est, X, self.classes_)
        return np.asarray(est.predict(X), dtype=np.float64)

    def combine(self, outputs: list[np.ndarray]) -> np.ndarray:
        """The combination's output (``predict_proba``, or ``predict`` for regression)
        from its members' outputs (:meth:`member_output`, in member order)."""
        return self._combine(outputs)

    def _fit_members(self, X, y):
        self.members_ = [clone(est).fit(X, y) for _, est in self.estimators]

    def predict(self, X):
        if self._is_classifier:
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return self._combine(self._outputs(self.members_, X))

    def predict_proba(self, X):
        return self._combine(self._outputs(self.members_, X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier" if self._is_classifier else "regressor"
        return tags


class Blend(_Members):
    """The average of its members' probabilities (classification) or predictions.

    Parameters
    ----------
    estimators : list of (str, estimator)
        The members, refitted on every row ``fit`` receives.
    task : {"classification", "regression"}
    """

    def __init__(self, estimators, task="classification"):
        self.estimators = estimators
        self.task = task

    def fit(self, X, y, groups=None):
        if self._is_classifier:
            self.classes_ = np.unique(y)
        self._fit_members(X, y)
        return self

    def _combine(self, outputs):
        return np.mean(outputs, axis=0)


class Stack(_Members):
    """A linear meta-model on its members' out-of-fold outputs.

    Classification: logistic regression on the members' log-odds (binary) or log
    probabilities; regression: non-negative least squares with an intercept on the
    members' predictions. The meta-model is fitted on inner out-of-fold outputs only (see
    the module's description), so no row's meta-feature comes from a model that saw it.

    Parameters
    ----------
    estimators : list of (str, estimator)
    task : {"classification", "regression"}
    split : {"group", "time", "row"}, default="group"
        What the ``groups`` keys given to ``fit`` are.
    n_folds : int, default=5
    random_state : int, default=0
        Seed of row-level inner folds.

    Attributes
    ----------
    meta_ : estimator
        The fitted meta-model.
    weights_ : ndarray
        Its coefficients, one per meta-feature.
    """

    def __init__(self, estimators, task="classification", split="group", n_folds=5, random_state=0):
        self.estimators = estimators
        self.task = task
        self.split = split
        self.n_folds = n_folds
        self.random_state = random_state

    def _features(self, outputs: list[np.ndarray]) -> np.ndarray:
        return meta_features(outputs, self.task, getattr(self, "classes_", None))

    def oof_meta_features(self, X, y, groups=None) -> np.ndarray:
        """The members' inner out-of-fold outputs as meta-features (NaN for rows no inner
        fold scored): each row's come from members fitted without it."""
        y = np.asarray(y)
        self.classes_ = np.unique(y) if self._is_classifier else None
        folds = inner_folds(
            y, groups, split=self.split, n_folds=self.n_folds,
            classification=self._is_classifier, seed=self.random_state,
        )  # fmt: skip
        width = len(self.estimators) * (
            1 if not self._is_classifier or len(self.classes_) == 2 else len(self.classes_)
        )
        Z = np.full((len(y), width), np.nan)
        for tr, te in folds:
            if self._is_classifier and len(np.unique(y[tr])) < len(self.classes_):
                continue  # a training part without some class: its rows get no meta-feature
            members = [clone(est).fit(_take(X, tr), y[tr]) for _, est in self.estimators]
            Z[te] = self._features(self._outputs(members, _take(X, te)))
        return Z

    def fit(self, X, y, groups=None):
        return self.fit_on_meta_features(X, y, self.oof_meta_features(X, y, groups))

    def fit_on_meta_features(self, X, y, Z, members=None):
        """Fit the meta-model on out-of-fold meta-features ``Z`` computed elsewhere (one row
        per row of ``X``, NaN where none; see :meth:`oof_meta_features`), then refit every
        member on all rows. The caller vouches that each row's meta-features come from
        members fitted without that row, and, when it passes ``members`` (fitted copies of
        :attr:`estimators`, in order), that they were fitted on ``X, y``: they are used as
        they are instead of being refitted here."""
        y = np.asarray(y)
        self.classes_ = np.unique(y) if self._is_classifier else None
        Z = np.asarray(Z, dtype=np.float64)
        tested = np.isfinite(Z).all(axis=1)
        self.oof_rows_ = int(tested.sum())
        short = self.oof_rows_ < 2 or (
            self._is_classifier and len(np.unique(y[tested])) < len(self.classes_)
        )
        if short:  # too few out-of-fold rows for a meta-model: the members' mean
            self.meta_, self.weights_ = (
                None,
                np.full(len(self.estimators), 1 / len(self.estimators)),
            )
        else:
            self.meta_ = meta_model(self.task).fit(Z[tested], y[tested])
            self.weights_ = np.ravel(self.meta_.coef_)
        if members is None:
            self._fit_members(X, y)
        elif len(members) != len(self.estimators):
            raise ValueError(f"{len(members)} fitted members for a stack of {len(self.estimators)}")
        else:
            self.members_ = list(members)
        return self

    def member_features(self, X) -> np.ndarray:
        """The fitted members' outputs on ``X`` as meta-features."""
        return self._features(self._outputs(self.members_, X))

    def _combine(self, outputs):
        if self.meta_ is None:
            return np.mean(outputs, axis=0)
        Z = self._features(outputs)
        if self._is_classifier:
            return _proba(self.meta_, Z, self.classes_)
        return self.meta_.predict(Z)


def meta_features(outputs: list[np.ndarray], task: str, classes) -> np.ndarray:
    """A stack's meta-features: members' predictions (regression), log-odds of the second
    class (binary) or log probabilities (multi-class)."""
    if task != "classification":
        return np.column_stack(outputs)
    clipped = [np.clip(o, _EPS, 1 - _EPS) for o in outputs]
    if len(classes) == 2:
        return np.column_stack([np.log(p[:, 1] / p[:, 0]) for p in clipped])
    return np.column_stack([np.log(p) for p in clipped])


def meta_model(task: str):
    """An unfitted meta-model: logistic regression, or non-negative least squares."""
    from sklearn.linear_model import LinearRegression, LogisticRegression

    if task == "classification":
        return LogisticRegression(C=1.0, max_iter=1000)
    return LinearRegression(positive=True)


class Calibrated(BaseEstimator):
    """A binary classifier whose positive-class probability is recalibrated, cross-fitted.

    The calibrator is fitted on the inner out-of-fold probabilities of ``estimator`` (see
    the module's description), then ``estimator`` is refitted on every row.

    Parameters
    ----------
    estimator : classifier
    method : {"sigmoid", "isotonic"}, default="sigmoid"
        ``sigmoid``: logistic regression on the log-odds (two parameters);
        ``isotonic``: a non-decreasing step function (needs more rows).
    split, n_folds, random_state
        As for :class:`Stack`.
    """

    def __init__(self, estimator, method="sigmoid", split="group", n_folds=5, random_state=0):
        self.estimator = estimator
        self.method = method
        self.split = split
        self.n_folds = n_folds
        self.random_state = random_state

    def fit(self, X, y, groups=None):
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError(f"Calibrated is for binary targets; got {len(self.classes_)} classes.")
        folds = inner_folds(
            y, groups, split=self.split, n_folds=self.n_folds, classification=True,
            seed=self.random_state,
        )  # fmt: skip
        from sklearn.utils.validation import has_fit_parameter

        takes = groups is not None and has_fit_parameter(self.estimator, "groups")

        def fit(rows):
            kw = {"groups": groups if rows is None else groups[rows]} if takes else {}
            if rows is None:
                return clone(self.estimator).fit(X, y, **kw)
            return clone(self.estimator).fit(_take(X, rows), y[rows], **kw)

        score = np.full(len(y), np.nan)
        for tr, te in folds:
            if len(np.unique(y[tr])) < 2:
                continue  # a training part of one class: its rows get no out-of-fold score
            score[te] = _proba(fit(tr), _take(X, te), self.classes_)[:, 1]
        tested = np.isfinite(score)
        self.calibrator_ = fit_calibrator(score[tested], y[tested] == self.classes_[1], self.method)
        self.estimator_ = fit(None)
        return self

    def predict_proba(self, X):
        p = _proba(self.estimator_, X, self.classes_)[:, 1]
        q = apply_calibrator(self.calibrator_, p)
        return np.column_stack([1 - q, q])

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        return tags


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p / (1 - p)).reshape(-1, 1)


def fit_calibrator(score: np.ndarray, positive: np.ndarray, method: str):
    """A fitted map from scores to calibrated probabilities (see :class:`Calibrated`); None
    (the identity) when the scores have fewer than two rows of each outcome."""
    positive = np.asarray(positive, dtype=int)
    if min(positive.sum(), len(positive) - positive.sum()) < 2:
        return None
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(score, positive)
    if method != "sigmoid":
        raise ValueError(f"method must be 'sigmoid' or 'isotonic'; got {method!r}.")
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1e4, max_iter=1000).fit(_logit(score), positive)


def apply_calibrator(calibrator, score: np.ndarray) -> np.ndarray:
    """Calibrated probabilities of ``score`` (from :func:`fit_calibrator`)."""
    from sklearn.isotonic import IsotonicRegression

    if calibrator is None:
        return np.asarray(score, dtype=np.float64)
    if isinstance(calibrator, IsotonicRegression):
        return np.clip(calibrator.predict(np.asarray(score, dtype=np.float64)), 0.0, 1.0)
    return calibrator.predict_proba(_logit(score))[:, 1]
