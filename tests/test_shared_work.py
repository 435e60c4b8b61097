"""Work shared out or shared between fits gives the results of doing it one piece at a
time: tuning trials on preprocessing fitted once per fold, permutation importance and the
SHAP fallback on several workers, thread limits that reach a stack's fitted members."""

import os

import numpy as np
import pandas as pd
import pytest

from groupwise._parallel import LocalExecutor, limit_fitted_threads
from groupwise.estimators._zoo import build_candidate
from groupwise.spec import ColumnKinds
from groupwise.training import _tune
from groupwise.training._cv import Recipe


def _table(n=900, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=[f"x{i}" for i in range(4)])
    X.loc[rng.random(n) < 0.1, "x1"] = np.nan
    X["site"] = pd.Series(rng.choice(list("abcdef"), n)).astype(object)
    logit = 1.2 * X["x0"] - X["x1"].fillna(0) + (X["site"] == "a") * 1.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int).to_numpy()
    return X, y


def _folds(n, k=4):
    rows = np.random.default_rng(1).permutation(n)
    parts = np.array_split(rows, k)
    return [
        (np.sort(np.concatenate(parts[:i] + parts[i + 1 :])), np.sort(parts[i])) for i in range(k)
    ]


@pytest.mark.parametrize("name", ["linear", "hist_gb"])
def test_trials_on_shared_preprocessing_score_as_the_whole_pipeline_does(monkeypatch, name):
    X, y = _table()
    recipe = Recipe(name, "classification", ColumnKinds.of(X), 0)
    folds = _folds(len(X))
    trials = 3 if name == "linear" else 2
    kw = dict(metric="roc_auc", n_classes=2, pos=1, n_trials=trials, timeout=None, seed=3,
              executor=LocalExecutor(1))  # fmt: skip
    shared = _tune.tune(recipe, X, y, folds, **kw)
    monkeypatch.setattr(_tune, "SHARED_BYTES", 0)  # too large: every trial fits the pipeline
    whole = _tune.tune(recipe, X, y, folds, **kw)
    assert shared.shared_preprocessing and not whole.shared_preprocessing
    assert [t["params"] for t in shared.trials] == [t["params"] for t in whole.trials]
    np.testing.assert_allclose(shared.best_result.oof, whole.best_result.oof, rtol=0, atol=1e-12)
    assert [t["score"] for t in shared.trials] == pytest.approx(
        [t["score"] for t in whole.trials], abs=1e-12
    )


def test_preprocessing_is_not_shared_when_a_trial_changes_it():
    X, y = _table()
    recipe = Recipe("linear", "classification", ColumnKinds.of(X), 0)
    folds = _folds(len(X))
    ex = LocalExecutor(1)
    assert _tune.shared_folds(recipe, {"prep__cat__min_frequency": 2}, X, y, folds, ex) is None
    assert _tune.shared_folds(recipe, {}, X, y, folds, ex) is None
    shared = _tune.shared_folds(recipe, {"model__C": 0.1}, X, y, folds, ex)
    assert len(shared) == len(folds)
    assert [len(Ztr) for Ztr, _ in shared] == [len(tr) for tr, _ in folds]


class Counting(LocalExecutor):
    """A two-worker executor that records how many tasks each map sent out."""

    calls: list

    def map(self, fn, tasks, **k):
        self.calls.append(len(tasks))
        return super().map(fn, tasks, **k)


def test_permutation_importance_is_the_same_on_two_workers(monkeypatch):
    from groupwise.explain import _permutation

    X, y = _table()
    model = build_candidate("linear", "classification", ColumnKinds.of(X), 0).fit(X, y)
    kw = dict(task="classification", metric="roc_auc", n_classes=2, n_repeats=3, seed=5)
    here = _permutation.permutation_importance_table(model, X, y, **kw)
    monkeypatch.setattr(_permutation, "PARALLEL_SECONDS", 0.0)
    calls = []
    monkeypatch.setattr(Counting, "calls", calls, raising=False)
    there = _permutation.permutation_importance_table(model, X, y, executor=Counting(2), **kw)
    assert calls and calls[0] > 1  # the columns did go to the workers
    pd.testing.assert_frame_equal(here, there)


def test_the_shap_fallback_is_the_same_on_two_workers(monkeypatch):
    from groupwise.explain import PipelineExplainer, _shap

    X, y = _table()
    model = build_candidate("hist_gb", "classification", ColumnKinds.of(X), 0).fit(X, y)
    exp = PipelineExplainer(model, X.iloc[:40], task="classification", n_classes=2, pos=1, seed=2)
    assert exp.kind == "permutation"
    here, base = exp.explain(X.iloc[100:130])
    monkeypatch.setattr(_shap, "_PARALLEL_SECONDS", 0.0)
    monkeypatch.setattr(_shap, "_FALLBACK_CELLS", 40 * 6 * 5)  # five rows per block
    calls = []
    monkeypatch.setattr(Counting, "calls", calls, raising=False)
    there, base2 = exp.explain(X.iloc[100:130], Counting(2))
    assert calls and calls[0] > 1  # the row blocks did go to the workers
    np.testing.assert_allclose(there, here, rtol=0, atol=1e-12)
    assert base2 == base and exp.check(X.iloc[100:130], there, base) < 1e-9


def test_thread_limits_reach_the_fitted_members_of_a_stack():
    from groupwise.estimators._crossfit import Stack

    X, y = _table()
    kinds = ColumnKinds.of(X)
    members = [("a", build_candidate("random_forest", "classification", kinds, 0)),
               ("b", build_candidate("linear", "classification", kinds, 0))]  # fmt: skip
    members[0][1].set_params(model__n_jobs=2, model__n_estimators=10)
    stack = Stack(members, split="row", n_folds=3).fit(X, y)
    assert stack.members_[0].named_steps["model"].n_jobs == 2
    from groupwise.explain._permutation import _column_drops

    how = ("classification", "roc_auc", 2, 1)
    perms = np.arange(len(X), dtype=np.int32)[None, None, :]
    _column_drops(
        (stack, X, y, [(0, 0, 1)], perms, 0.5, how, os.getpid()), 1
    )  # the caller's own model
    assert stack.members_[0].named_steps["model"].n_jobs == 2
    limit_fitted_threads(stack, 1)
    assert stack.members_[0].named_steps["model"].n_jobs == 1
    assert stack.estimators[0][1].named_steps["model"].n_jobs == 1


def test_importance_work_is_shared_in_equal_runs_of_column_shuffles():
    from groupwise.explain._permutation import _share_out

    p, n_repeats = 15, 5
    runs = _share_out(p, n_repeats, 4)
    sizes = [sum(r1 - r0 for _, r0, r1 in run) for run in runs]
    assert max(sizes) - min(sizes) <= 1  # whole columns would give 20, 20, 20, 15
    seen = [(j, r) for run in runs for j, r0, r1 in run for r in range(r0, r1)]
    assert sorted(seen) == [(j, r) for j in range(p) for r in range(n_repeats)]
    assert any(r0 > 0 for run in runs for _, r0, _ in run)  # a column's shuffles are split


def test_row_bootstrap_intervals_are_the_same_on_two_workers():
    from groupwise.evaluation._metrics import MetricSet, metric_names
    from groupwise.training._evaluate import _intervals

    rng = np.random.default_rng(3)
    y = (rng.random(600) < 0.3).astype(int)
    p = np.clip(0.3 + 0.4 * (y - 0.3) + rng.normal(0, 0.2, len(y)), 0.01, 0.99)
    ms = MetricSet("classification", y, proba=np.c_[1 - p, p], pos=1)
    dummy = MetricSet("classification", y, proba=np.tile([0.7, 0.3], (len(y), 1)), pos=1)
    names = metric_names("classification")
    kw = dict(groups=None, n_resamples=300, seed=4, test_train_ratio=0.25)
    here = _intervals(ms, dummy, names, "roc_auc", kw, None)
    calls = []
    Counting.calls = calls
    there = _intervals(ms, dummy, names, "roc_auc", kw, Counting(2))
    assert calls == [3]  # two halves of the metrics and the paired difference, on the workers
    assert list(there[0]) == list(names) and there == here
    assert here[1]["ci_low"] < here[1]["estimate"] < here[1]["ci_high"]


def _importance_both_ways(monkeypatch, model, X, y, task="classification", metric="roc_auc"):
    """The importance table from the preprocessed rows and from shuffled input rows."""
    from groupwise.explain import _permutation

    kw = dict(task=task, metric=metric, n_classes=2 if task == "classification" else 0)
    fast = _permutation._Preprocessed.build(model, X, kw["task"], kw["n_classes"])
    here = _permutation.permutation_importance_table(model, X, y, n_repeats=3, seed=2, **kw)
    monkeypatch.setattr(_permutation._Preprocessed, "build", classmethod(lambda *a, **k: None))
    slow = _permutation.permutation_importance_table(model, X, y, n_repeats=3, seed=2, **kw)
    return fast, here, slow


@pytest.mark.parametrize("combination", [None, "stack", "blend"])
def test_permutation_importance_on_preprocessed_rows_is_the_shuffled_inputs_one(
    monkeypatch, combination
):
    from groupwise.estimators._crossfit import Blend, Stack

    X, y = _table()
    kinds = ColumnKinds.of(X)
    task = "classification" if combination != "blend" else "regression"
    target = y if task == "classification" else X["x0"].to_numpy() * 2 + y
    if combination is None:  # one-hot levels, missing-value indicators, scaling
        model = build_candidate("linear", task, kinds, 0).fit(X, target)
    else:  # one-hot for the linear member, category codes for the trees
        members = [(n, build_candidate(n, task, kinds, 0)) for n in ("linear", "random_forest")]
        cls = Stack if combination == "stack" else Blend
        model = cls(members, task=task, **({"split": "row", "n_folds": 3} if cls is Stack else {}))
        model.fit(X, target)
    metric = "roc_auc" if task == "classification" else "mae"
    fast, here, slow = _importance_both_ways(monkeypatch, model, X, target, task, metric)
    assert fast is not None  # the preprocessed path applies to these models
    pd.testing.assert_frame_equal(here, slow, check_exact=False, rtol=1e-12, atol=1e-12)
    assert here.loc[here["feature"] == "x0", "importance_mean"].item() > 0


def test_a_preprocessing_that_mixes_columns_is_caught_and_shuffles_the_inputs(monkeypatch):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = _table()
    X = X[["x0", "x2", "x3"]]
    # named one-to-one, yet "x0" out depends on x0 and x2: shuffling x2 moves it too
    mixing = FunctionTransformer(lambda Z: Z.assign(x0=Z["x0"] + Z["x2"]), feature_names_out="one-to-one")  # fmt: skip
    model = make_pipeline(mixing, LogisticRegression()).fit(X, y)
    fast, here, slow = _importance_both_ways(monkeypatch, model, X, y)
    assert fast is None
    pd.testing.assert_frame_equal(here, slow)
