"""SHAP values of a fitted pipeline, in the original column names (the ``[shap]`` extra).

The pipeline is split into its preprocessing and its final estimator. Tree ensembles
(scikit-learn forests and gradient boosting) are explained exactly by
``shap.TreeExplainer``, LightGBM and XGBoost by their own TreeSHAP (``pred_contrib``, the
call ``shap.TreeExplainer`` makes for them, without first reading every tree into shap's
format: 0.2 s for a 300-tree model), and linear models by ``shap.LinearExplainer``, all on
the preprocessed matrix; the values of the columns one input column became (one-hot levels,
missing-value indicators) are summed back into that input column. Anything else (custom
candidates, scikit-learn's gradient boosting on native categorical splits, which SHAP's
tree reader does not parse) falls back to sampled permutation SHAP on the input columns
against a background sample of training rows: a random feature order and its reverse per
row, every background row at once in one call of the model. Every path is additive: a
row's values sum to its model output minus the base value, which :meth:`check` measures.

Binary classifiers are explained in the model's own output for the positive class
(log-odds for boosting and linear models, probability for forests and the fallback);
regressors in the target's units. Multi-class models are not explained.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from groupwise._parallel import limit_fitted_threads, share_fitted
from groupwise.exceptions import MissingDependencyError

__all__ = [
    "BACKGROUND_ROWS",
    "ENSEMBLE_SHAP_ROWS",
    "FALLBACK_ROWS",
    "SHAP_ROWS",
    "PipelineExplainer",
    "ShapUnsupported",
    "require_shap",
    "shap_installed",
]

#: Rows of a seeded sample a run explains (its summary and dependence plots).
SHAP_ROWS = 1000
#: Rows a run explains for a stack or blend with two or more tree members: every member is
#: explained, so the smaller sample keeps the cost near one tree model's
#: (``benchmarks/bench_shap_rows.py`` measures what it costs in precision).
ENSEMBLE_SHAP_ROWS = 500
#: Background rows (training rows) the linear and fallback explainers compare with.
BACKGROUND_ROWS = 100
#: Rows a run explains when the model needs the permutation fallback (its cost is
#: rows × background × (features + 1) × 2 model evaluations).
FALLBACK_ROWS = 200
#: Background rows of the permutation fallback.
FALLBACK_BACKGROUND = 32
#: Rows the permutation fallback evaluates per call of the model (× background × features).
_FALLBACK_CELLS = 400_000
#: Seconds of fallback predictions above which an executor's workers share the rows.
_PARALLEL_SECONDS = 1.0

_LOG_ODDS = "log-odds of the positive class"

_TREES = {
    "RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier",
    "ExtraTreesRegressor", "GradientBoostingClassifier", "GradientBoostingRegressor",
    "HistGradientBoostingClassifier", "HistGradientBoostingRegressor", "DecisionTreeClassifier",
    "DecisionTreeRegressor", "LGBMClassifier", "LGBMRegressor", "XGBClassifier", "XGBRegressor",
}  # fmt: skip
_PROBABILITY_TREES = {
    "RandomForestClassifier", "ExtraTreesClassifier", "DecisionTreeClassifier",
}  # fmt: skip
#: Bagged deep trees: exact tree SHAP costs them seconds per row (cost grows with leaves ×
#: depth²), so they get the path attribution along each row's own path (additive, approximate).
_DEEP_TREES = {
    "RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier",
    "ExtraTreesRegressor",
}  # fmt: skip


class ShapUnsupported(ValueError):
    """The model cannot be explained by SHAP here (multi-class, or no prediction)."""


def shap_installed() -> bool:
    from importlib.util import find_spec

    return find_spec("shap") is not None


def require_shap():
    """Import ``shap`` or raise a :class:`MissingDependencyError` naming the extra."""
    try:
        import shap
    except ImportError:
        raise MissingDependencyError(
            "SHAP explanations need the [shap] extra: pip install 'groupwise[shap]'. "
            "Without it, runs keep permutation importance only."
        ) from None
    return shap


def _split(pipeline):
    from sklearn.pipeline import Pipeline

    if isinstance(pipeline, Pipeline) and len(pipeline.steps) > 1:
        return pipeline[:-1], pipeline.steps[-1][1]
    if isinstance(pipeline, Pipeline):
        return None, pipeline.steps[-1][1]
    return None, pipeline


def _source_column(name: str, inputs: list[str]) -> str:
    """The input column a preprocessed column came from (its own name when unknown)."""
    if name in inputs:
        return name
    if name.startswith("missingindicator_") and name[17:] in inputs:
        return name[17:]
    matches = [c for c in inputs if name.startswith(f"{c}_")]
    return max(matches, key=len) if matches else name


@dataclasses.dataclass(frozen=True)
class _Codes:
    """Input columns as float codes (numbers as themselves, anything else by level), so
    masked rows can be built with NumPy and turned back into a frame of the input dtypes."""

    columns: list[str]
    dtypes: list[Any]
    levels: list[Any]  # None for a number column, else its levels

    @classmethod
    def fit(cls, frames: list[pd.DataFrame]) -> _Codes:
        both = pd.concat(frames, ignore_index=True)
        levels = []
        for c in both.columns:
            s = both[c]
            numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
            levels.append(None if numeric else pd.unique(s.dropna()))
        return cls(list(both.columns), list(both.dtypes), levels)

    def encode(self, X: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(X), len(self.columns)))
        for j, (c, lv) in enumerate(zip(self.columns, self.levels, strict=True)):
            s = X[c]
            if lv is None:
                out[:, j] = s.to_numpy(dtype=float, na_value=np.nan)
            else:
                idx = pd.Index(lv).get_indexer(s.astype(object).where(s.notna(), None))
                out[:, j] = np.where(idx < 0, np.nan, idx)
        return out

    def decode(self, codes: np.ndarray) -> pd.DataFrame:
        cols = {}
        for j, (c, lv, dtype) in enumerate(
            zip(self.columns, self.levels, self.dtypes, strict=True)
        ):
            v = codes[:, j]
            if lv is None:
                cols[c] = v
                continue
            missing = np.isnan(v)
            taken = np.asarray(lv, dtype=object)[np.where(missing, 0, v).astype(np.intp)]
            taken[missing] = None
            if isinstance(dtype, pd.CategoricalDtype):
                cols[c] = pd.Categorical(taken, dtype=dtype)
                continue
            s = pd.Series(taken, dtype=object)
            if pd.api.types.is_datetime64_any_dtype(dtype):
                s = pd.to_datetime(s)
            try:  # back to the column's own dtype (bool, boolean, str, datetime64, ...)
                cols[c] = s.astype(dtype)
            except (TypeError, ValueError):
                cols[c] = s
        return pd.DataFrame(cols)


class PipelineExplainer:
    """SHAP values of ``pipeline`` for rows in the training schema's dtypes.

    Parameters
    ----------
    pipeline : fitted estimator or Pipeline
        The shipped model (preprocessing steps, then the estimator).
    background : DataFrame
        Training rows (input columns): the reference the linear and fallback explainers
        compare with. Trees use their own training paths instead.
    task : {"classification", "regression"}
    n_classes : int
        Classes of the target (2 for binary); multi-class raises :class:`ShapUnsupported`.
    pos : int
        Code of the positive class (binary).
    seed : int
        Seeds the fallback's feature orders and its background sample.
    """

    def __init__(
        self, pipeline, background: pd.DataFrame, *, task: str, n_classes: int = 0,
        pos: int | None = 1, seed: int = 0,
    ):  # fmt: skip
        if task == "classification" and n_classes != 2:
            raise ShapUnsupported(
                f"SHAP values are computed for binary classifiers and regressors; this model "
                f"has {n_classes} classes (permutation importance covers it)."
            )
        self.pipeline = pipeline
        self.task = task
        self.pos = 1 if pos is None else int(pos)
        self.seed = seed
        self.features = [str(c) for c in background.columns]
        self.background = background.reset_index(drop=True)
        self.pre, self.est = _split(pipeline)
        self.kind, self.why = self._choose()
        self._explainer = None
        self._groups: np.ndarray | None = None

    # ------------------------------------------------------------------ setup
    def _transform(self, X: pd.DataFrame):
        return X if self.pre is None else self.pre.transform(X)

    def _choose(self) -> tuple[str, str]:
        name = type(self.est).__name__
        parts = self._combination()
        if parts is not None:
            self._parts = parts
            return "stack", (
                "its members' exact SHAP values, weighted as its linear combination weights "
                "their outputs"
            )
        if name.startswith("Dummy"):
            return "constant", "a constant model: every value is 0"
        if name in _TREES:
            cats = getattr(self.est, "is_categorical_", None)
            if name.startswith("HistGradientBoosting") and cats is not None and np.any(cats):
                return "permutation", (
                    "native categorical splits, which SHAP's tree reader does not parse"
                )
            if name in _DEEP_TREES:
                return "tree", (
                    "tree path attribution (additive; approximate SHAP, as exact tree SHAP on "
                    "deep bagged trees costs seconds per row)"
                )
            return "tree", "exact tree SHAP (path-dependent)"
        coef = getattr(self.est, "coef_", None)
        linear = type(self.est).__module__.startswith("sklearn.linear_model")
        if linear and coef is not None and np.shape(coef)[0] in (1, np.size(coef)):
            return "linear", "exact linear SHAP against the training background"
        return "permutation", f"a {name} has no exact SHAP algorithm"

    def _combination(self):
        """``(weights, intercept, member explainers)`` when the model is a linear
        combination of members that each have exact SHAP values in the units it combines
        — a stack (its meta-model adds its members' log-odds, or predictions, with weights)
        or a blend of regressors (the mean prediction) — else None. Shapley values are
        linear in the model, so the combination's values are the weighted sum of its
        members' (an exact decomposition, not a fallback)."""
        from groupwise.estimators._crossfit import Blend, Stack

        est, members = self.est, getattr(self.est, "members_", None)
        if self.pre is not None or not members:
            return None
        if isinstance(est, Stack) and est.meta_ is not None:
            weights = np.ravel(est.meta_.coef_).astype(float)
            intercept = float(np.ravel(est.meta_.intercept_)[0])
            if len(weights) != len(members):  # multi-class meta-features
                return None
        elif isinstance(est, Blend | Stack) and self.task == "regression":
            weights, intercept = np.full(len(members), 1 / len(members)), 0.0
        else:  # a mean of probabilities is not a sum in any units
            return None
        subs = []
        for member in members:
            try:
                sub = PipelineExplainer(
                    member, self.background, task=self.task,
                    n_classes=2 if self.task == "classification" else 0, pos=self.pos,
                    seed=self.seed,
                )  # fmt: skip
            except ShapUnsupported:
                return None
            if sub.kind not in ("tree", "linear") or (
                self.task == "classification" and sub.output != _LOG_ODDS
            ):
                return None
            subs.append(sub)
        return weights, intercept, subs

    @property
    def output(self) -> str:
        """What a row's values add up to (minus the base value)."""
        if self.task == "regression":
            return "prediction"
        if self.kind == "stack":
            return _LOG_ODDS
        if self.kind in ("tree", "linear") and type(self.est).__name__ not in _PROBABILITY_TREES:
            return _LOG_ODDS
        return "probability of the positive class"

    def _sign(self) -> float:
        # margins are for classes_[1]; explain the positive class
        return 1.0 if self.pos == 1 else -1.0

    def model_output(self, X: pd.DataFrame) -> np.ndarray:
        """The model's output (in :attr:`output`'s units) for input rows ``X``."""
        if self.kind == "stack" and self.task == "classification":
            Z = self.est.member_features(X)
            return self._sign() * np.asarray(self.est.meta_.decision_function(Z), dtype=float)
        if self.kind in ("permutation", "constant", "stack") or self.task == "regression":
            return self._predict_raw(X)
        Z = self._transform(X)
        name = type(self.est).__name__
        if name in _PROBABILITY_TREES:
            return np.asarray(self.est.predict_proba(Z))[:, self.pos]
        if name.startswith("LGBM"):
            return self._sign() * np.asarray(self.est.predict(Z, raw_score=True), dtype=float)
        if name.startswith("XGB"):
            return self._sign() * np.asarray(self.est.predict(Z, output_margin=True), dtype=float)
        return self._sign() * np.asarray(self.est.decision_function(Z), dtype=float).ravel()

    def _predict_raw(self, X: pd.DataFrame) -> np.ndarray:
        from groupwise.estimators._output import predict_output

        if self.task == "classification":
            return predict_output(self.pipeline, X, self.task, 2)[:, self.pos]
        return predict_output(self.pipeline, X, self.task, 0)

    def _setup(self):
        if self._explainer is not None or self.kind == "constant":
            return
        if self.kind == "stack":
            names = list(self.features)
            for sub in self._parts[2]:
                names += [n for n in sub.names if n not in names]
            self._names = names
            self._explainer = "stack"
            return
        if self.kind == "permutation":
            rng = np.random.default_rng(self.seed)
            bg = self.background
            if len(bg) > FALLBACK_BACKGROUND:
                bg = bg.iloc[np.sort(rng.choice(len(bg), FALLBACK_BACKGROUND, replace=False))]
            self._bg = bg.reset_index(drop=True)
            self._explainer = "permutation"
            return
        shap = require_shap()
        Zbg = self._transform(self.background)
        names = (
            list(Zbg.columns)
            if isinstance(Zbg, pd.DataFrame)
            else [str(n) for n in self.pre.get_feature_names_out()]
            if self.pre is not None
            else self.features
        )
        sources = [_source_column(n, self.features) for n in names]
        order = {c: k for k, c in enumerate(self.features)}
        extra = [s for s in dict.fromkeys(sources) if s not in order]
        for s in extra:  # a preprocessed column not traced to an input column keeps its name
            order[s] = len(order)
        self._groups = np.asarray([order[s] for s in sources])
        self._names = self.features + extra
        if self.kind == "tree":
            native = type(self.est).__name__.startswith(("LGBM", "XGB"))
            self._explainer = "native" if native else shap.TreeExplainer(self.est)
        else:
            Zbg = np.asarray(Zbg, dtype=float)
            self._explainer = shap.LinearExplainer(self.est, shap.maskers.Independent(Zbg))

    @property
    def sample_rows(self) -> int:
        """Rows a training run explains with this explainer: :data:`FALLBACK_ROWS` for
        the permutation fallback, :data:`ENSEMBLE_SHAP_ROWS` for a combination of two or
        more tree members, else :data:`SHAP_ROWS`."""
        if self.kind == "permutation":
            return FALLBACK_ROWS
        if self.kind == "stack" and sum(sub.kind == "tree" for sub in self._parts[2]) >= 2:
            return ENSEMBLE_SHAP_ROWS
        return SHAP_ROWS

    @property
    def names(self) -> list[str]:
        """Column names of :meth:`explain`'s values (the input columns)."""
        self._setup()
        return getattr(self, "_names", self.features)

    # -------------------------------------------------------------- explain
    def explain(self, X: pd.DataFrame, executor=None) -> tuple[np.ndarray, float]:
        """``(values, base)``: one row of SHAP values per row of ``X`` (columns
        :attr:`names`), and the base value they start from. ``executor``
        (:mod:`groupwise._parallel`): where the permutation fallback's predictions run."""
        self._setup()
        X = X[self.features].reset_index(drop=True)
        if self.kind == "constant":
            return np.zeros((len(X), len(self.features))), float(self.model_output(X[:1])[0])
        if self.kind == "permutation":
            return self._permutation(X, executor)
        if self.kind == "stack":
            return self._combined(X)
        Z = self._transform(X)
        if self._explainer == "native":
            raw, base = _native_contributions(self.est, Z)
        elif self.kind == "tree":
            approximate = type(self.est).__name__ in _DEEP_TREES
            with warnings.catch_warnings():  # LightGBM's "output has changed" notice
                warnings.simplefilter("ignore", UserWarning)
                raw = self._explainer.shap_values(Z, approximate=approximate)
        else:
            raw = self._explainer.shap_values(np.asarray(Z, float))
        raw = np.asarray(raw, dtype=float)
        if self._explainer != "native":
            base = np.asarray(self._explainer.expected_value, dtype=float).ravel()
        if raw.ndim == 3:  # one slice per class (forests)
            raw, base = raw[:, :, self.pos], base[self.pos]
        elif self.task == "classification":
            raw, base = self._sign() * raw, self._sign() * base[0]
        else:
            base = base[0]
        values = np.zeros((len(X), len(self._names)))
        np.add.at(values.T, self._groups, raw.T)
        return values, float(base)

    def _combined(self, X: pd.DataFrame) -> tuple[np.ndarray, float]:
        """A stack's (or regression blend's) values: its members', weighted. (Tree members
        already use every thread here; explaining them on separate workers was no faster.)"""
        weights, intercept, subs = self._parts
        where = {n: j for j, n in enumerate(self._names)}
        values = np.zeros((len(X), len(self._names)))
        base = intercept * (self._sign() if self.task == "classification" else 1.0)
        for w, sub in zip(weights, subs, strict=True):
            v, b = sub.explain(X)
            values[:, [where[n] for n in sub.names]] += w * v
            base += w * b
        return values, float(base)

    def _permutation(self, X: pd.DataFrame, executor=None) -> tuple[np.ndarray, float]:
        """Permutation SHAP: per row a random order and its reverse; the row's values
        replace the background's one column at a time, the model's mean output recorded
        after each step; a column's value is the mean change when it was switched.

        With an ``executor`` the rows are shared out among its workers when the
        predictions would take more than ``_PARALLEL_SECONDS`` (estimated from the first
        call); the orders are drawn here, so the values do not depend on where they run."""
        bg = self._bg
        codes = _Codes.fit([bg, X])
        B, Cb = len(bg), codes.encode(bg)
        Cx = codes.encode(X)
        p = Cx.shape[1]
        t0 = time.perf_counter()
        base = float(self._predict_raw(bg).mean())
        expected = (time.perf_counter() - t0) * 2 * len(X) * (p + 1)  # B rows per call
        rng = np.random.default_rng(self.seed + 1)
        orders = np.argsort(rng.random((len(X), p)), axis=1)
        size = max(1, _FALLBACK_CELLS // (B * (p + 1)))
        parallel = executor is not None and expected >= _PARALLEL_SECONDS
        workers = executor.workers(len(X)) if parallel else 1
        if workers > 1:
            size = max(1, min(size, -(-len(X) // workers)))
        starts = range(0, len(X), size)
        if workers > 1 and len(starts) > 1:
            me = share_fitted(executor, self)  # pickled once, here (see _parallel.Pickled)
            tasks = [(me, codes, Cb, Cx[s : s + size], orders[s : s + size], os.getpid()) for s in starts]  # fmt: skip
            parts = executor.map(_permutation_rows, tasks)
        else:
            parts = [
                _permutation_rows((self, codes, Cb, Cx[s : s + size], orders[s : s + size], os.getpid()), 0)
                for s in starts
            ]  # fmt: skip
        values = np.concatenate(parts, axis=0) if parts else np.zeros((0, p))
        return values, base

    def _switched_values(self, codes, Cb: np.ndarray, xs: np.ndarray, order: np.ndarray):
        """The permutation values of the rows ``xs`` (encoded) for their ``order`` and its
        reverse (see :meth:`_permutation`)."""
        B, (r, p) = len(Cb), xs.shape
        values = np.zeros((r, p))
        for perm in (order, order[:, ::-1]):
            # switched[i, s, j]: column j holds row i's value after s steps of its order
            rank = np.empty_like(perm)
            np.put_along_axis(rank, perm, np.arange(p)[None, :].repeat(r, 0), axis=1)
            switched = rank[:, None, :] < np.arange(p + 1)[None, :, None]
            cells = np.where(
                switched[:, :, None, :], xs[:, None, None, :], Cb[None, None, :, :]
            ).reshape(-1, p)
            out = self._predict_raw(codes.decode(cells)).reshape(r, p + 1, B).mean(axis=2)
            steps = np.diff(out, axis=1)  # steps[i, s]: change when perm[i, s] switched
            contrib = np.empty((r, p))
            np.put_along_axis(contrib, perm, steps, axis=1)
            values += contrib / 2
        return values

    def check(self, X: pd.DataFrame, values: np.ndarray, base: float) -> float:
        """Largest |sum of a row's values + base − the model's output| over ``X``."""
        out = self.model_output(X[self.features].reset_index(drop=True))
        return float(np.max(np.abs(values.sum(axis=1) + base - out))) if len(out) else 0.0

    def top_k(self, X: pd.DataFrame, k: int) -> pd.DataFrame:
        """Per row, the ``k`` columns with the largest |SHAP value|: ``explain_<i>_feature``
        and ``explain_<i>_contribution`` for i = 1..k (in :attr:`output`'s units)."""
        values, _ = self.explain(X)
        names = np.asarray(self.names, dtype=object)
        k = min(k, values.shape[1])
        order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
        cols: dict[str, Any] = {}
        for i in range(k):
            cols[f"explain_{i + 1}_feature"] = names[order[:, i]]
            cols[f"explain_{i + 1}_contribution"] = np.take_along_axis(
                values, order[:, i : i + 1], axis=1
            )[:, 0]
        return pd.DataFrame(cols)

    def describe(self) -> dict[str, Any]:
        return {
            "explainer": self.kind,
            "why": self.why,
            "output": self.output,
            "model": type(self.est).__name__,
        }


def _native_contributions(est, Z) -> tuple[np.ndarray, np.ndarray]:
    """``(values, base)`` of a fitted LightGBM or XGBoost model (binary or regression) on
    the preprocessed rows ``Z``, from the library's own path-dependent TreeSHAP: the call
    ``shap.TreeExplainer`` makes for these models, with the same arguments (every tree;
    XGBoost's matrix built with the model's own missing value, threads and categorical
    settings), so the values are identical. ``base`` (shape (1,)) is the bias column every
    row carries: the expected raw output (NaN for no rows, which neither library takes)."""
    if Z.shape[0] == 0:
        return np.zeros((0, Z.shape[1])), np.full(1, np.nan)
    if type(est).__name__.startswith("LGBM"):
        contrib = est.booster_.predict(Z, num_iteration=-1, pred_contrib=True)
    else:
        import xgboost

        props = {"missing": est.missing, "nthread": est.n_jobs}
        props.update(enable_categorical=est.enable_categorical, feature_types=est.feature_types)
        contrib = est.get_booster().predict(
            xgboost.DMatrix(Z, **props), pred_contribs=True, validate_features=False
        )
    contrib = np.asarray(contrib, dtype=float)
    return contrib[:, :-1], contrib[:1, -1]


def _permutation_rows(args, threads) -> np.ndarray:
    """One block of rows of :meth:`PipelineExplainer._permutation` (an executor task)."""
    explainer, codes, Cb, xs, order, owner = args
    if os.getpid() != owner:  # a worker's copy of a model fitted (and its threads set) elsewhere
        limit_fitted_threads(explainer.pipeline, threads)
    return explainer._switched_values(codes, Cb, xs, order)
