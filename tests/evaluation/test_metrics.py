import numpy as np
import pytest
from sklearn import metrics as skm

from groupwise.evaluation import MetricSet, bootstrap_ci, paired_bootstrap_difference


@pytest.fixture
def binary():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    score = np.round(rng.random(400) * 0.6 + y * 0.3, 2)  # rounded: plenty of ties
    return y, np.c_[1 - score, score]


def test_binary_metrics_match_scikit_learn(binary):
    y, proba = binary
    got = MetricSet("classification", y, proba=proba, threshold=0.4).point()
    pred = (proba[:, 1] >= 0.4).astype(int)
    want = {
        "roc_auc": skm.roc_auc_score(y, proba[:, 1]),
        "pr_auc": skm.average_precision_score(y, proba[:, 1]),
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "f1": skm.f1_score(y, pred),
        "precision": skm.precision_score(y, pred),
        "recall": skm.recall_score(y, pred),
        "brier": skm.brier_score_loss(y, proba[:, 1]),
        "log_loss": skm.log_loss(y, proba),
    }
    for k, v in want.items():
        assert got[k] == pytest.approx(v, abs=1e-12), k


def test_multiclass_and_regression_match_scikit_learn():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 300)
    P = rng.dirichlet(np.ones(3), 300)
    P[np.arange(300), y] += 0.4
    P /= P.sum(1, keepdims=True)
    got = MetricSet("classification", y, proba=P).point()
    pred = P.argmax(1)
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, P, multi_class="ovr"))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, P))
    yr = rng.normal(size=300)
    pr = yr + rng.normal(size=300)
    reg = MetricSet("regression", yr, pred=pr).point()
    assert reg["mae"] == pytest.approx(skm.mean_absolute_error(yr, pr))
    assert reg["r2"] == pytest.approx(skm.r2_score(yr, pr))


def test_weights_count_rows_like_repetition(binary):
    y, proba = binary
    w = np.random.default_rng(2).integers(0, 4, len(y)).astype(float)
    rep = np.repeat(np.arange(len(y)), w.astype(int))
    ms = MetricSet("classification", y, proba=proba)
    weighted = {k: v[0] for k, v in ms.evaluate(["roc_auc", "pr_auc", "f1", "log_loss"], w).items()}
    repeated = MetricSet("classification", y[rep], proba=proba[rep]).point(
        ["roc_auc", "pr_auc", "f1", "log_loss"]
    )
    for k in weighted:
        assert weighted[k] == pytest.approx(repeated[k], abs=1e-10)


def test_bootstrap_ci_brackets_the_estimate_and_is_reproducible(binary):
    y, proba = binary
    ms = MetricSet("classification", y, proba=proba)
    a = bootstrap_ci(ms, ["roc_auc", "brier"], n_resamples=500, seed=3)
    b = bootstrap_ci(ms, ["roc_auc", "brier"], n_resamples=500, seed=3)
    assert a == b
    for v in a.values():
        assert v["ci_low"] < v["estimate"] < v["ci_high"]


def test_group_bootstrap_is_wider_for_clustered_errors():
    rng = np.random.default_rng(4)
    groups = np.repeat(np.arange(20), 50)
    shift = rng.normal(0, 1.0, 20)[groups]  # errors shared within a group
    y = rng.normal(size=1000)
    pred = y + shift + rng.normal(0, 0.2, 1000)
    ms = MetricSet("regression", y, pred=pred)
    rows = bootstrap_ci(ms, ["mae"], n_resamples=600, seed=0)["mae"]
    grouped = bootstrap_ci(ms, ["mae"], groups=groups, n_resamples=600, seed=0)["mae"]
    assert (grouped["ci_high"] - grouped["ci_low"]) > 2 * (rows["ci_high"] - rows["ci_low"])


def test_paired_difference_detects_a_better_model(binary):
    y, proba = binary
    noisy = np.clip(proba[:, 1] + np.random.default_rng(5).normal(0, 0.3, len(y)), 0, 1)
    good = MetricSet("classification", y, proba=proba)
    bad = MetricSet("classification", y, proba=np.c_[1 - noisy, noisy])
    d = paired_bootstrap_difference(good, bad, "roc_auc", n_resamples=500, seed=0)
    assert d["ci_low"] > 0
