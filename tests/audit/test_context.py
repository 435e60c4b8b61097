"""The audit's shared helpers: row keys, the single-feature score, whole-number columns."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from groupwise.audit._context import AuditContext, integer_valued
from groupwise.audit._leak import _feature_codes, single_feature_cv
from groupwise.spec import TableSpec


def _context(df, target="y"):
    return AuditContext(TableSpec(target=target).resolve(df))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_row_keys_partition_rows_exactly_as_their_values_do(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    # few levels per column, so many rows agree on the first columns and part only on later
    # ones (the refinement must keep hashing them); one column with missing values
    df = pd.DataFrame(
        {
            "a": rng.integers(0, 3, n),
            "b": rng.choice(["x", "y"], n),
            "c": np.where(rng.random(n) < 0.3, np.nan, rng.integers(0, 4, n).astype(float)),
            "d": rng.integers(0, 2, n),
            "y": rng.integers(0, 2, n),
        }
    )
    df.loc[rng.random(n) < 0.1, "y"] = np.nan  # rows without a target: "train" keys differ
    ctx = _context(df)
    for rows, frame in (("all", df), ("train", df[df["y"].notna()].reset_index(drop=True))):
        cols = ["a", "b", "c", "d"]
        keys = ctx.row_hash(cols, rows=rows)
        exact = frame.groupby(cols, dropna=False, sort=False).ngroup().to_numpy()
        assert len(keys) == len(frame)
        # same key ⇔ same values: the two labelings induce the same partition
        pairs = pd.DataFrame({"k": keys, "e": exact})
        assert pairs.groupby("k")["e"].nunique().max() == 1
        assert pairs.groupby("e")["k"].nunique().max() == 1


def test_row_keys_tell_apart_rows_that_differ_only_in_the_least_distinct_column():
    n = 500
    df = pd.DataFrame(
        {"id": np.arange(n) % 250, "flag": np.arange(n) >= 250, "y": np.arange(n) % 2}
    )
    keys = _context(df).row_hash(["id", "flag"])
    assert len(np.unique(keys)) == n  # row i and row i + 250 share "id" but not "flag"
    twins = _context(df.assign(flag=True)).row_hash(["id", "flag"])
    assert len(np.unique(twins)) == 250


def _partition(n):
    return [(np.flatnonzero(np.arange(n) % 4 != f), np.flatnonzero(np.arange(n) % 4 == f)) for f in range(4)]  # fmt: skip


def _expanding(n):
    # time-ordered windows: train on everything before, test on the next block; the
    # first block is never tested
    edges = np.linspace(0, n, 6).astype(int)
    return [(np.arange(edges[k]), np.arange(edges[k], edges[k + 1])) for k in range(1, 5)]


@pytest.mark.parametrize("make_folds", [_partition, _expanding])
def test_single_feature_score_is_the_pooled_out_of_fold_auc(make_folds):
    rng = np.random.default_rng(0)
    n = 2000
    y = rng.integers(0, 2, n)
    s = pd.Series(np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n) + y))
    codes = _feature_codes(s, "numeric")
    folds = make_folds(n)
    # the same model written out row by row: in-fold smoothed mean of y per code
    pred = np.full(n, np.nan)
    for tr, te in folds:
        prior = y[tr].mean()
        for code in np.unique(codes[te]):
            inside = tr[codes[tr] == code]
            pred[te[codes[te] == code]] = (y[inside].sum() + prior) / (len(inside) + 1)
    tested = ~np.isnan(pred)
    expected = roc_auc_score(y[tested], pred[tested])
    assert single_feature_cv(codes, y, folds, "classification", 2) == pytest.approx(
        expected, abs=1e-12
    )
    assert 0.6 < expected < 0.9


def test_feature_codes_bin_by_quantile_and_keep_few_values_apart():
    x = pd.Series(np.r_[np.arange(1000, dtype=float), [np.nan] * 10])
    codes = _feature_codes(x, "numeric")
    assert (codes[-10:] == 0).all() and set(codes[:-10]) == set(range(1, 21))
    assert np.bincount(codes[:-10])[1:].min() >= 45  # 20 bins of about 50 rows
    few = _feature_codes(pd.Series([5.0, 1.0, 5.0, 3.0, np.nan]), "numeric")
    assert few.tolist() == [3, 1, 3, 2, 0]


def test_integer_valued_looks_past_the_first_values():
    x = np.arange(5000, dtype=float)
    assert integer_valued(x)
    x[4000] = 0.5  # a decimal late in the column
    assert not integer_valued(x)
    assert not integer_valued(np.array([]))


def test_permuted_level_statistics_are_the_statistics_of_permuted_levels():
    from groupwise._stats import group_variance_explained
    from groupwise.audit._group import _permuted_eps2

    rng = np.random.default_rng(0)
    codes = rng.integers(-1, 12, 3000)  # -1: rows without a level are left out
    y = rng.integers(0, 3, 3000)
    Y = np.eye(3)[y][:, 1:]
    fast = _permuted_eps2(codes, Y, np.random.default_rng(5), 4)
    draws = np.random.default_rng(5)
    ok = codes >= 0
    slow = [
        group_variance_explained(draws.permutation(codes[ok]), Y[ok])["eps2"].mean()
        for _ in range(4)
    ]
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12)


def test_permutation_tables_drawn_directly_match_permuting_the_rows():
    from groupwise.audit._context import _cramers_v_codes, _cramers_v_perm

    rng = np.random.default_rng(0)
    g = rng.integers(0, 10, 2000)
    y = rng.integers(0, 3, 2000)
    _, drawn = _cramers_v_perm(g, y, np.random.default_rng(1), 2000)
    rows = [_cramers_v_codes(g, rng.permutation(y), 10, 3) for _ in range(2000)]
    # same null distribution: quantiles agree within Monte Carlo error
    np.testing.assert_allclose(
        np.quantile(drawn, [0.1, 0.5, 0.9]), np.quantile(rows, [0.1, 0.5, 0.9]), rtol=0.06
    )


def test_out_of_fold_linear_fit_from_whole_table_cross_products():
    from groupwise.audit._leak import _oof_linear

    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    Y = (X @ [1.0, -2.0, 0.5] + rng.normal(size=500))[:, None]
    folds = _partition(500)
    expected = np.empty_like(Y)
    A = np.column_stack([np.ones(500), X])
    for tr, te in folds:
        ridge = 1e-6 * len(tr) * np.diag([0.0, 1.0, 1.0, 1.0])
        expected[te] = A[te] @ np.linalg.solve(A[tr].T @ A[tr] + ridge, A[tr].T @ Y[tr])
    np.testing.assert_allclose(_oof_linear(X, Y, folds), expected, rtol=1e-8)
    windows = _expanding(500)  # not a partition: the per-fold path, first block untested
    assert np.isnan(_oof_linear(X, Y, windows)[:100]).all()
