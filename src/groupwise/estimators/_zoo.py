"""Candidate models: pipelines with all preprocessing inside, and their search spaces.

Every classifier gives probabilities (``predict_proba``), so none can win a ranking
metric without them. Native threads are set by the caller (see
``groupwise._parallel``); estimators here are single-threaded by default.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

from groupwise.exceptions import ConfigError, MissingDependencyError, did_you_mean
from groupwise.spec import ColumnKinds

__all__ = [
    "CANDIDATES",
    "FOREST_FULL_ROWS",
    "FOREST_TREE_ROWS",
    "Candidate",
    "available_candidates",
    "build_candidate",
    "size_aware_params",
]


@dataclasses.dataclass(frozen=True)
class Candidate:
    name: str
    description: str
    build: Callable[[str, ColumnKinds, int], Any]
    space: Callable[[Any, str], dict[str, Any]] | None = None
    requires: str | None = None  # importable module
    extra: str | None = None  # pip extra that provides it

    def available(self) -> bool:
        return self.requires is None or importlib.util.find_spec(self.requires) is not None


# ------------------------------------------------------------------ builders
def _steps_dates(kinds: ColumnKinds):
    from groupwise.estimators._preprocess import DatetimeToNumber

    return [("dates", DatetimeToNumber(list(kinds.datetime)))] if kinds.datetime else []


def _numeric_cols(kinds: ColumnKinds) -> list[str]:
    return list(kinds.numeric) + list(kinds.datetime)


def _build_dummy(task, kinds, seed):
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.pipeline import Pipeline

    model = (
        DummyClassifier(strategy="prior")
        if task == "classification"
        else DummyRegressor(strategy="mean")
    )
    return Pipeline([("model", model)])


def scaled_preprocessing(kinds: ColumnKinds, *, indicators: bool = True) -> list[tuple[str, Any]]:
    """Pipeline steps that turn the feature columns into one numeric matrix: dates to
    numbers, median imputation (with missing indicators unless ``indicators=False``),
    scaling, one-hot categoricals (the linear candidate's and the clustering track's
    preprocessing; clustering leaves the indicators out: a scaled indicator of a rare
    missing value becomes a cluster of its own)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    parts = []
    if _numeric_cols(kinds):
        impute = SimpleImputer(
            strategy="median", add_indicator=indicators, keep_empty_features=True
        )
        parts.append(
            (
                "num",
                Pipeline([("impute", impute), ("scale", StandardScaler())]),
                _numeric_cols(kinds),
            )
        )
    if kinds.categorical:
        onehot = OneHotEncoder(
            handle_unknown="infrequent_if_exist", min_frequency=5, max_categories=50,
            sparse_output=False,
        )  # fmt: skip
        parts.append(("cat", onehot, list(kinds.categorical)))
    return [
        *_steps_dates(kinds),
        ("prep", ColumnTransformer(parts, verbose_feature_names_out=False)),
    ]


def _build_linear(task, kinds, seed):
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import Pipeline

    model = (
        LogisticRegression(C=1.0, max_iter=2000) if task == "classification" else Ridge(alpha=1.0)
    )
    return Pipeline([*scaled_preprocessing(kinds), ("model", model)])


def _build_hist_gb(task, kinds, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline

    from groupwise.estimators._preprocess import ToCategorical

    cls = (
        HistGradientBoostingClassifier
        if task == "classification"
        else HistGradientBoostingRegressor
    )
    # scikit-learn's own budget: 300 iterations without early stopping (which only starts
    # at 10k rows) overfit small real tables (benchmarks/bench_trees.py)
    model = cls(
        categorical_features="from_dtype", max_iter=100, early_stopping="auto", random_state=seed
    )
    steps = [*_steps_dates(kinds)]
    if kinds.categorical:
        steps.append(("cats", ToCategorical(list(kinds.categorical))))
    return Pipeline([*steps, ("model", model)])


def _tree_prep(kinds: ColumnKinds):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OrdinalEncoder

    parts = []
    if _numeric_cols(kinds):
        parts.append(
            (
                "num",
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                _numeric_cols(kinds),
            )
        )
    if kinds.categorical:
        parts.append(
            (
                "cat",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=-1,
                    encoded_missing_value=-2,
                    min_frequency=5,
                    max_categories=64,
                ),
                list(kinds.categorical),
            )
        )
    return ColumnTransformer(parts, verbose_feature_names_out=False)


def _build_forest(kind: str):
    def build(task, kinds, seed):
        from sklearn import ensemble
        from sklearn.pipeline import Pipeline

        base = "RandomForest" if kind == "random_forest" else "ExtraTrees"
        cls = getattr(ensemble, base + ("Classifier" if task == "classification" else "Regressor"))
        # scikit-learn's defaults, except leaves of 2 rows for classification: smoother
        # probabilities, higher ROC-AUC on most real tables (benchmarks/bench_trees.py)
        leaf = 2 if task == "classification" else 1
        params = dict(n_estimators=100, min_samples_leaf=leaf, n_jobs=1, random_state=seed)
        return Pipeline(
            [*_steps_dates(kinds), ("prep", _tree_prep(kinds)), ("model", cls(**params))]
        )

    return build


def _build_lightgbm(task, kinds, seed):
    try:
        import lightgbm as lgb
    except ImportError:
        raise MissingDependencyError(
            "The 'lightgbm' candidate needs LightGBM: pip install 'groupwise[lgbm]'."
        ) from None
    from sklearn.pipeline import Pipeline

    from groupwise.estimators._preprocess import ToCategorical

    cls = lgb.LGBMClassifier if task == "classification" else lgb.LGBMRegressor
    model = cls(
        n_estimators=300, learning_rate=0.05, num_leaves=31, n_jobs=1, random_state=seed, verbose=-1
    )
    steps = [*_steps_dates(kinds)]
    if kinds.categorical:
        steps.append(("cats", ToCategorical(list(kinds.categorical))))
    return Pipeline([*steps, ("model", model)])


def _build_xgboost(task, kinds, seed):
    try:
        import xgboost as xgb
    except ImportError:
        raise MissingDependencyError(
            "The 'xgboost' candidate needs XGBoost: pip install 'groupwise[xgb]'."
        ) from None
    from sklearn.pipeline import Pipeline

    from groupwise.estimators._preprocess import ToCategorical

    cls = xgb.XGBClassifier if task == "classification" else xgb.XGBRegressor
    model = cls(
        n_estimators=300,
        learning_rate=0.1,
        max_depth=6,
        tree_method="hist",
        enable_categorical=True,
        n_jobs=1,
        random_state=seed,
    )
    steps = [*_steps_dates(kinds)]
    if kinds.categorical:
        steps.append(("cats", ToCategorical(list(kinds.categorical))))
    return Pipeline([*steps, ("model", model)])


# -------------------------------------------------------------- search spaces
def _space_linear(trial, task):
    if task == "classification":
        return {"model__C": trial.suggest_float("C", 1e-3, 1e2, log=True)}
    return {"model__alpha": trial.suggest_float("alpha", 1e-3, 1e3, log=True)}


def _space_hist_gb(trial, task):
    return {
        "model__learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "model__max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 8, 128, log=True),
        "model__min_samples_leaf": trial.suggest_int("min_samples_leaf", 5, 200, log=True),
        "model__l2_regularization": trial.suggest_float("l2_regularization", 1e-6, 10.0, log=True),
        "model__max_features": trial.suggest_float("max_features", 0.3, 1.0),
    }


def _space_forest(trial, task):
    return {
        "model__max_features": trial.suggest_float("max_features", 0.1, 1.0),
        "model__min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 50, log=True),
        "model__max_depth": trial.suggest_categorical("max_depth", [None, 8, 16, 32]),
    }


def _space_lightgbm(trial, task):
    return {
        "model__learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "model__num_leaves": trial.suggest_int("num_leaves", 8, 128, log=True),
        "model__min_child_samples": trial.suggest_int("min_child_samples", 5, 200, log=True),
        "model__reg_lambda": trial.suggest_float("reg_lambda", 1e-6, 10.0, log=True),
        "model__colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
    }


def _space_xgboost(trial, task):
    return {
        "model__learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "model__max_depth": trial.suggest_int("max_depth", 2, 10),
        "model__min_child_weight": trial.suggest_float("min_child_weight", 0.5, 20.0, log=True),
        "model__reg_lambda": trial.suggest_float("reg_lambda", 1e-6, 10.0, log=True),
        "model__colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
    }


CANDIDATES: dict[str, Candidate] = {
    c.name: c
    for c in (
        Candidate("dummy", "class prior / mean", _build_dummy),
        Candidate(
            "linear",
            "logistic / ridge regression with imputation, missing indicators, scaling, one-hot",
            _build_linear,
            _space_linear,
        ),
        Candidate(
            "hist_gb",
            "histogram gradient boosting with native categoricals",
            _build_hist_gb,
            _space_hist_gb,
        ),
        Candidate(
            "random_forest",
            "random forest (100 trees)",
            _build_forest("random_forest"),
            _space_forest,
        ),
        Candidate(
            "extra_trees",
            "extremely randomised trees (100 trees)",
            _build_forest("extra_trees"),
            _space_forest,
        ),
        Candidate(
            "lightgbm",
            "LightGBM",
            _build_lightgbm,
            _space_lightgbm,
            requires="lightgbm",
            extra="lgbm",
        ),
        Candidate(
            "xgboost", "XGBoost", _build_xgboost, _space_xgboost, requires="xgboost", extra="xgb"
        ),
    )
}
DEFAULT_MODELS = (
    "dummy",
    "linear",
    "hist_gb",
    "random_forest",
    "extra_trees",
    "lightgbm",
    "xgboost",
)


#: Forests on a large table grow each tree on a bootstrap sample of about this many rows
#: (a share of the table: ``FOREST_TREE_ROWS / rows``, so a cross-validation fold's tree
#: sees a little fewer): half the fit time or less at 16,000 rows and more, and on the real
#: tables of ``benchmarks/bench_trees.py --large`` a ROC-AUC as good or better.
FOREST_TREE_ROWS = 8_000
#: Tables up to this many rows keep scikit-learn's bootstrap of every row (random forest)
#: and no bootstrap (extra trees).
FOREST_FULL_ROWS = 10_000


def size_aware_params(name: str, n_rows: int) -> dict[str, Any]:
    """Parameters a candidate takes on a table of ``n_rows`` rows (empty: its defaults)."""
    if name in ("random_forest", "extra_trees") and n_rows > FOREST_FULL_ROWS:
        return {"model__bootstrap": True, "model__max_samples": FOREST_TREE_ROWS / n_rows}
    return {}


def available_candidates(names=None) -> list[str]:
    """Validated candidate names; by default every installed one.

    Named candidates that are not installed raise :class:`MissingDependencyError`;
    the default list silently skips them.
    """
    if names is None:
        return [n for n in DEFAULT_MODELS if CANDIDATES[n].available()]
    out = []
    for n in names:
        if n not in CANDIDATES:
            raise ConfigError(
                f"Unknown model {n!r}.{did_you_mean(n, CANDIDATES)} Known models: {', '.join(CANDIDATES)}."
            )
        cand = CANDIDATES[n]
        if not cand.available():
            raise MissingDependencyError(
                f"Model {n!r} needs {cand.requires}: pip install 'groupwise[{cand.extra}]'."
            )
        out.append(n)
    return out


def build_candidate(
    name: str, task: str, kinds: ColumnKinds, seed: int, params: Mapping[str, Any] | None = None
):
    """A fresh, unfitted pipeline for candidate ``name`` with ``params`` set."""
    pipe = CANDIDATES[name].build(task, kinds, seed)
    if params:
        pipe.set_params(**params)
    return pipe
