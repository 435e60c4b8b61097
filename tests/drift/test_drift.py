"""Calibrated drift tests: no false alarms beyond the nominal rate when nothing moved (at
every chunk size, with and without groups), planted shifts found, estimates of
performance without labels equal to the realised ones when the scores are calibrated."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from groupwise.drift import Binning, benjamini_hochberg, drift_test, estimate_classification
from groupwise.drift._estimate import calibration_map

ALPHA = 0.05


def _table(rng, n, *, offsets=None, shift=None):
    """20 numeric features (some skewed, some integer-valued) and 2 categoricals."""
    cols = {}
    for j in range(20):
        x = rng.normal(0, 1, n)
        if offsets is not None:
            x = x + offsets[j]
        if shift is not None:
            x = x + shift[j]
        if j % 5 == 1:
            x = np.exp(x / 2)
        if j % 5 == 2:
            x = np.round(x * 2)
        cols[f"x{j}"] = x
    cat_p = np.array([0.5, 0.3, 0.15, 0.05])
    cols["c0"] = rng.choice(list("abcd"), n, p=cat_p)
    cols["c1"] = rng.choice([f"k{i}" for i in range(12)], n)
    return pd.DataFrame(cols)


def _bins(df, groups=None):
    return {c: Binning.fit(c, df[c].to_numpy(), "categorical" if c.startswith("c") else "numeric",
                           groups=groups) for c in df.columns}  # fmt: skip


def _flagged(bins, chunk, *, reference_groups=np.inf, groups_in_chunk=1.0, seed=0):
    p = np.array([
        drift_test(b, b.count(chunk[c].to_numpy()), reference_groups=reference_groups,
                   groups_in_chunk=groups_in_chunk, rng=seed + k).p_value
        for k, (c, b) in enumerate(bins.items())
    ])  # fmt: skip
    return benjamini_hochberg(p) <= ALPHA, p


@pytest.mark.parametrize("n", [1_000, 10_000, 100_000])
def test_no_shift_stays_under_the_nominal_false_alarm_rate_without_groups(n):
    rng = np.random.default_rng(n)
    bins = _bins(_table(rng, 50_000))
    chunks = 20
    any_flag, single = 0, []
    for k in range(chunks):
        flagged, p = _flagged(bins, _table(rng, n), seed=100 * k)
        any_flag += flagged.any()
        single.extend(p <= ALPHA)
    # a chunk with any feature flagged after BH: at most the nominal rate (+ one chunk of slack)
    assert any_flag <= ALPHA * chunks + 1
    assert np.mean(single) <= ALPHA + 0.02  # each single test near or under its level


@pytest.mark.parametrize("n", [1_000, 10_000, 100_000])
def test_new_batches_as_far_as_training_batches_are_not_drift(n):
    """Every batch moves every feature by its offset (SD 0.4): a monitor that ignores
    the groups flags nearly every new batch; the calibrated one stays under the nominal rate."""
    rng = np.random.default_rng(7 + n)
    G, per = 12, 1_500
    train = pd.concat([_table(rng, per, offsets=rng.normal(0, 0.4, 20)) for _ in range(G)], ignore_index=True)  # fmt: skip
    groups = np.repeat(np.arange(G), per)
    calibrated, naive = _bins(train, groups), _bins(train)
    chunks = 20
    cal_any = naive_any = 0
    for k in range(chunks):
        batch = _table(rng, n, offsets=rng.normal(0, 0.4, 20))
        cal_any += _flagged(calibrated, batch, reference_groups=G, seed=k)[0].any()
        naive_any += _flagged(naive, batch, seed=k)[0].any()
    assert cal_any <= ALPHA * chunks + 1
    assert naive_any >= 0.8 * chunks  # what the between-group calibration is for


def test_a_planted_mean_shift_in_3_of_30_features_is_found():
    rng = np.random.default_rng(3)
    p = 30

    def table(n, shift=0.0):
        X = rng.normal(0, 1, (n, p))
        X[:, :3] += shift
        return X

    train = table(50_000)
    bins = [Binning.fit(f"x{j}", train[:, j], "numeric") for j in range(p)]
    found = []
    for k in range(5):
        chunk = table(10_000, shift=0.2)
        pv = np.array([drift_test(b, b.count(chunk[:, j]), rng=k * 100 + j).p_value for j, b in enumerate(bins)])  # fmt: skip
        found.append(np.flatnonzero(benjamini_hochberg(pv) <= ALPHA))
    for f in found:
        assert set(f) == {0, 1, 2}


def test_a_new_batch_further_out_than_training_batches_is_found():
    rng = np.random.default_rng(5)
    G, per = 10, 1_000
    train = np.concatenate([rng.normal(rng.normal(0, 0.3), 1, per) for _ in range(G)])
    b = Binning.fit("x", train, "numeric", groups=np.repeat(np.arange(G), per))
    assert b.rho > 0 and len(b.between) == G
    far = drift_test(b, b.count(rng.normal(1.5, 1, 2_000)), reference_groups=G, rng=0)
    usual = drift_test(b, b.count(rng.normal(0.3, 1, 2_000)), reference_groups=G, rng=0)
    assert far.p_value < 0.01 and usual.p_value > 0.1
    assert far.statistic > far.threshold and usual.statistic < usual.threshold


def test_unseen_categories_and_missing_values_are_drift():
    rng = np.random.default_rng(0)
    b = Binning.fit("c", rng.choice(list("abc"), 5_000), "categorical")
    new = np.concatenate([rng.choice(list("abc"), 900), np.full(100, "zz", dtype=object)])
    assert b.codes(np.array(["zz"], dtype=object))[0] == b.K - 2  # the unseen bin
    assert drift_test(b, b.count(new), rng=0).p_value < 1e-6
    x = Binning.fit("x", rng.normal(size=5_000), "numeric")
    chunk = rng.normal(size=1_000)
    chunk[:100] = np.nan
    assert drift_test(x, x.count(chunk), rng=0).p_value < 1e-6


def test_benjamini_hochberg_matches_the_step_up_rule():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.5])
    # sorted: 0.005 0.01 0.03 0.04 0.5 -> p*m/rank: 0.025 0.025 0.05 0.05 0.5
    assert benjamini_hochberg(p) == pytest.approx([0.025, 0.05, 0.05, 0.025, 0.5])


def test_binning_round_trips_through_its_dict():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(6), 300)
    b = Binning.fit(
        "x", rng.normal(np.repeat(rng.normal(0, 1, 6), 300), 1), "numeric", groups=groups
    )
    back = Binning.from_dict(b.to_dict(), b.between)
    assert np.array_equal(back.counts, b.counts) and back.edges == b.edges and back.rho == b.rho
    assert np.allclose(back.between, b.between)
    x = rng.normal(size=100)
    assert np.array_equal(back.codes(x), b.codes(x))


@pytest.mark.parametrize("shift", [0.0, 1.0, -1.0])
def test_estimated_roc_auc_equals_the_realised_one_under_covariate_shift(shift):
    """Labels drawn from calibrated probabilities: the estimate (no labels) is within
    sampling noise of the realised ROC-AUC and balanced accuracy, also when the inputs moved."""
    rng = np.random.default_rng(11)

    def rows(n, mu):
        z = rng.normal(mu, 1.0, n)
        p = 1 / (1 + np.exp(-1.5 * z))
        return p, rng.random(n) < p

    p_ref, y_ref = rows(20_000, 0.0)
    cmap = calibration_map(p_ref, y_ref)
    p, y = rows(20_000, shift)
    est = estimate_classification(p, cmap, threshold=0.5)
    assert est["roc_auc"] == pytest.approx(roc_auc_score(y, p), abs=0.01)
    pred = p >= 0.5
    realised_ba = (np.mean(pred[y]) + np.mean(~pred[~y])) / 2
    assert est["balanced_accuracy"] == pytest.approx(realised_ba, abs=0.015)
    assert est["prevalence"] == pytest.approx(y.mean(), abs=0.015)


def test_new_rows_of_a_small_training_group_are_judged_against_its_smoothed_shares():
    """A training group of 30 rows leaves most bins empty; 3,000 new rows of the same group
    are not drift (its shares are shrunk toward the overall ones, by how alike groups are),
    while the same rows shifted by 1 SD are."""
    rng = np.random.default_rng(12)
    offsets = rng.normal(0, 0.3, 10)
    sizes = [30] + [1_000] * 9
    x = np.concatenate([rng.normal(o, 1, n) for o, n in zip(offsets, sizes, strict=True)])
    g = np.repeat(np.arange(10), sizes)
    b = Binning.fit("x", x, "numeric", groups=g)
    shares = np.zeros(10)
    shares[0] = 1.0
    quiet = [drift_test(b, b.count(rng.normal(offsets[0], 1, 3_000)), group_shares=shares, rng=k).p_value
             for k in range(20)]  # fmt: skip
    assert np.mean(np.array(quiet) <= ALPHA) <= 0.15
    moved = drift_test(
        b, b.count(rng.normal(offsets[0] + 1.0, 1, 3_000)), group_shares=shares, rng=0
    )
    assert moved.p_value < 1e-4
