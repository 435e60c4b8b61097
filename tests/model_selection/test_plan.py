import numpy as np
import pandas as pd
import pytest

from groupwise.datasets import generate_dataset
from groupwise.exceptions import DataError
from groupwise.model_selection import ExpandingWindowSplit, naive_folds, plan_splits
from groupwise.spec import TableSpec


def _frame(**kw):
    X, y, _ = generate_dataset(**{"n_samples": 600, "n_informative": 3, "random_state": 0, **kw})
    return X.assign(y=y)


def _resolve(df, **spec):
    return TableSpec(target="y", **spec).resolve(df)


def _groups_disjoint(a, b):
    return not (set(a) & set(b))


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("n_batches", [12, 6])
def test_grouped_plan_never_splits_a_group(task, n_batches):
    df = _frame(
        task=task, n_batches=n_batches, confounding=0.3 if task == "classification" else 0.0
    )
    plan = plan_splits(_resolve(df, group_col="batch"), holdout=0.2, folds=5, seed=1)
    g = df["batch"].to_numpy()
    assert plan.kind == "grouped"
    assert _groups_disjoint(g[plan.dev], g[plan.holdout])
    assert sorted(np.r_[plan.dev, plan.holdout].tolist()) == list(range(len(df)))
    g_dev = g[plan.dev]
    for tr, te in plan.folds:
        assert _groups_disjoint(g_dev[tr], g_dev[te])
    tested = np.concatenate([te for _, te in plan.folds])
    assert sorted(tested.tolist()) == list(range(len(plan.dev)))


def test_grouped_plan_uses_logo_when_groups_are_fewer_than_folds():
    df = _frame(n_batches=5)
    plan = plan_splits(_resolve(df, group_col="batch"), folds=5, seed=0, nested_below=0)
    n_dev_groups = df["batch"].iloc[plan.dev].nunique()
    assert n_dev_groups < 5 and len(plan.folds) == n_dev_groups
    assert "leave-one-group-out" in plan.cv_strategy
    assert plan.notes


def test_grouped_holdout_is_class_balanced_and_near_the_fraction():
    df = _frame(n_samples=2000, n_batches=30, confounding=0.5)
    plan = plan_splits(_resolve(df, group_col="batch"), holdout=0.2, seed=3)
    share = len(plan.holdout) / len(df)
    assert 0.12 <= share <= 0.28
    assert abs(df["y"].iloc[plan.holdout].mean() - df["y"].mean()) < 0.08


def test_too_few_groups_is_a_clear_error():
    df = _frame(n_batches=2)
    with pytest.raises(DataError, match="at least 3 groups"):
        plan_splits(_resolve(df, group_col="batch"))


def test_time_plan_holds_out_the_latest_rows_and_cv_expands():
    df = _frame(leak_time_column=True)
    plan = plan_splits(_resolve(df, time_col="sample_date"), holdout=0.2, folds=4)
    t = df["sample_date"].to_numpy()
    assert plan.kind == "time"
    assert t[plan.dev].max() < t[plan.holdout].min()
    t_dev = t[plan.dev]
    prev = 0
    for tr, te in plan.folds:
        assert t_dev[tr].max() < t_dev[te].min()
        assert len(tr) > prev
        prev = len(tr)


def test_time_takes_precedence_over_group_with_a_note():
    df = _frame(leak_time_column=True, n_batches=6)
    plan = plan_splits(_resolve(df, time_col="sample_date", group_col="batch"))
    assert plan.kind == "time" and any("precedence" in n for n in plan.notes)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_random_plan_stratifies_and_covers_every_row(task):
    df = _frame(task=task, weights=(0.8,) if task == "classification" else None)
    plan = plan_splits(_resolve(df), holdout=0.25, folds=5, seed=0)
    assert plan.kind == "random"
    assert len(plan.holdout) == 150
    if task == "classification":
        assert df["y"].iloc[plan.holdout].mean() == pytest.approx(0.2, abs=0.01)
    tested = np.concatenate([te for _, te in plan.folds])
    assert sorted(tested.tolist()) == list(range(len(plan.dev)))


def test_plans_are_deterministic_by_seed():
    df = _frame(n_batches=10)
    spec = _resolve(df, group_col="batch")
    a, b, c = (plan_splits(spec, seed=s) for s in (5, 5, 6))
    assert np.array_equal(a.holdout, b.holdout)
    assert not np.array_equal(a.holdout, c.holdout) or not all(
        np.array_equal(x[1], y[1]) for x, y in zip(a.folds, c.folds, strict=True)
    )


def test_expanding_window_never_splits_a_time_stamp():
    t = np.repeat(np.arange(10), [3, 1, 4, 2, 2, 5, 1, 3, 2, 2])
    for tr, te in ExpandingWindowSplit(4).split(t, groups=t):
        assert t[tr].max() < t[te].min()


def test_naive_folds_ignore_groups():
    y = pd.Series(np.r_[np.zeros(50), np.ones(50)])
    folds = naive_folds(y, "classification", 5, 0)
    assert len(folds) == 5 and all(abs(y.iloc[te].mean() - 0.5) < 0.05 for _, te in folds)


def test_random_plan_folds_are_stratified_on_the_rows_they_index():
    # the folds index into the (sorted) development rows: their class counts must be
    # those StratifiedKFold promises, within one row per class
    X, y, _ = generate_dataset(n_samples=600, n_classes=3, n_informative=4, random_state=22)
    df = X.assign(y=y)
    table = TableSpec(target="y").resolve(df)
    plan = plan_splits(table, holdout=0.2, folds=5, seed=42)
    dev_y = table.y[plan.dev]
    expected = np.bincount(dev_y) / len(plan.folds)
    for _, test in plan.folds:
        counts = np.bincount(dev_y[test], minlength=3)
        assert np.all(np.abs(counts - expected) <= 1), counts
