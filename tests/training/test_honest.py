"""Honest numbers: nested evaluation with few groups, thresholds at the shipped value,
intervals over groups, predictions tables that say which model made them."""

import numpy as np
import pytest

from groupwise.evaluation import choose_threshold
from groupwise.model_selection import NESTED_MAX_GROUPS, plan_splits
from groupwise.spec import TableSpec
from groupwise.training import TrainConfig, train

from .conftest import FAST, grouped_table

FEW = dict(n_batches=8, batch_sd=1.5, batch_effect="per_feature", confounding=0.4)


@pytest.fixture(scope="module")
def nested_run(tmp_path_factory):
    df = grouped_table(seed=7, n_samples=600, **FEW)
    spec = TableSpec(target="y", group_col="batch", id_cols=["sample_id"])
    run = train(df, spec, TrainConfig(models_dir=str(tmp_path_factory.mktemp("nested")), **FAST))
    return run, df


def test_few_groups_give_a_nested_plan_whose_outer_test_groups_never_reach_selection():
    df = grouped_table(seed=1, n_samples=600, **FEW)
    table = TableSpec(target="y", group_col="batch").resolve(df)
    plan = plan_splits(table, folds=5, seed=0)
    assert plan.scheme == "nested" and NESTED_MAX_GROUPS > 8
    groups = table.group_values()
    seen = []
    for outer in plan.outer:
        test_groups = set(groups[outer.holdout])
        assert test_groups.isdisjoint(groups[outer.dev])  # whole groups held out
        for tr, te in outer.folds:  # inner folds index into the outer training part only
            assert test_groups.isdisjoint(groups[outer.dev[tr]])
            assert test_groups.isdisjoint(groups[outer.dev[te]])
        seen += list(outer.holdout)
    assert sorted(seen) == list(range(table.n))  # every row scored exactly once
    many = grouped_table(seed=1, n_samples=900, n_batches=40)
    assert plan_splits(TableSpec(target="y", group_col="batch").resolve(many)).scheme == "holdout"


def test_nested_selection_never_fits_on_the_outer_test_rows(tmp_path):
    from .test_train import _Spy, _spy_estimator, _StageProgress

    df = grouped_table(seed=2, n_samples=400, **FEW)
    df["marker"] = np.arange(len(df), dtype=float)
    _Spy.log.clear()
    progress = _StageProgress()
    run = train(
        df, TableSpec(target="y", group_col="batch", id_cols=["sample_id"]),
        TrainConfig(models_dir=str(tmp_path), n_jobs=1, **{**FAST, "models": ("dummy", "linear")}),
        candidates={"spy": _spy_estimator()}, progress=progress,
    )  # fmt: skip
    assert run.scheme == "nested"
    table = TableSpec(target="y", group_col="batch").resolve(df)
    plan = plan_splits(table, folds=5, seed=42)
    fitted = [(stage, markers) for stage, kind, markers in _Spy.log if kind == "fit"]
    for i, outer in enumerate(plan.outer):
        test_markers = set(df["marker"].iloc[outer.holdout])
        mine = [m for stage, m in fitted if stage.startswith(f"Outer fold {i + 1}/")]
        assert mine, f"the spy was never fitted in outer fold {i + 1}"
        assert all(not (m & test_markers) for m in mine)


def test_nested_run_scores_every_group_once_and_says_so(nested_run):
    run, df = nested_run
    assert run.scheme == "nested"
    honest = run.honest_predictions()
    assert len(honest) == len(df) and set(honest["batch"]) == set(df["batch"])
    ev = run.read_metrics("evaluation")
    assert ev["scheme"] == "nested" and ev["groups"] == 8 and len(ev["outer"]) >= 2
    assert "jackknife" in run.read_metrics("bootstrap_ci")["method"]
    card = (run.path / "model_card.md").read_text()
    assert "nested cross-validation" in card and "never saw" in card
    html = (run.path / "report.html").read_text()
    assert "nested" in html and "jackknife" in html
    assert "(holdout" not in html  # no section or plot caption speaks of a holdout


def test_cv_threshold_metrics_are_at_the_shipped_threshold(nested_run):
    run, _ = nested_run
    board = run.metrics.leaderboard()["rows"]
    selected = next(r for r in board if r["candidate"] == run.selected_model)
    assert selected["threshold"] == pytest.approx(run.threshold)
    oof = run.table("oof_predictions")
    pos = run.classes[run.positive_code]
    pred = np.where(oof["score"] >= run.threshold, pos, run.classes[1 - run.positive_code])
    y = oof["y_true"].to_numpy()
    recalls = [np.mean(pred[y == c] == c) for c in run.classes]
    assert run.metrics.cv()["balanced_accuracy"] == pytest.approx(np.mean(recalls))


def test_holdout_predictions_are_honest_and_the_refit_is_named(nested_run):
    run, _ = nested_run
    t = run.table("holdout_predictions")
    assert {"prediction", "score", "refit_prediction", "refit_score", "y_true", "threshold"} <= set(
        t.columns
    )
    # the honest scores come from models that never saw the rows: not the shipped model's
    assert not np.allclose(t["score"], t["refit_score"])


def test_a_threshold_predicting_one_class_is_rejected_for_the_fallback():
    rng = np.random.default_rng(0)
    positive = rng.random(2000) < 0.7  # majority positive, scores without signal
    score = rng.random(2000)
    choice = choose_threshold(score, positive, "max_f1")
    assert choice.fallback is not None and "rejected" in choice.fallback
    assert 0.02 < choice.at_threshold["predicted_positive_share"] < 0.98


def test_per_group_shifts_do_not_drag_max_f1_to_predict_everyone_positive():
    # fold-wise shifted scores: pooled, the positives of the low folds look negative
    rng = np.random.default_rng(1)
    folds = np.repeat(np.arange(5), 400)
    positive = rng.random(2000) < 0.3
    score = 1 / (1 + np.exp(-(2.0 * positive - 1 + 1.5 * (folds - 2) + rng.normal(0, 0.8, 2000))))
    robust = choose_threshold(score, positive, "max_f1", folds=folds)
    assert robust.at_threshold["predicted_positive_share"] < 0.98


def test_degenerate_shipped_threshold_triggers_model008(tmp_path):
    df = grouped_table(seed=3, n_samples=400)
    run = train(
        df, TableSpec(target="y", group_col="batch"),
        TrainConfig(models_dir=str(tmp_path), threshold="fixed:0.001", **FAST),
    )  # fmt: skip
    found = {f["code"]: f for f in run.model_checks}
    assert found["MODEL008"]["severity"] == "error"
    assert run.exit_code("error") == 1


def test_group_jackknife_interval_by_hand():
    from groupwise.evaluation import MetricSet
    from groupwise.evaluation._intervals import metric_intervals

    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(6), 20)
    y, pred = rng.normal(size=120), rng.normal(size=120)
    ms = MetricSet("regression", y, pred=pred)
    got = metric_intervals(ms, ["mae"], groups=g)["mae"]
    est = float(np.mean(np.abs(y - pred)))
    loo = np.array([np.mean(np.abs(y - pred)[g != k]) for k in range(6)])
    pseudo = 6 * est - 5 * loo
    from scipy.stats import t

    half = t.ppf(0.975, 5) * pseudo.std(ddof=1) / np.sqrt(6)
    assert got["estimate"] == pytest.approx(est)
    assert got["ci_low"] == pytest.approx(est - half) and got["ci_high"] == pytest.approx(
        est + half
    )

    # the training allowance for model variation: the same jackknife, variance × (1 + ratio)
    wide = metric_intervals(ms, ["mae"], groups=g, test_train_ratio=1.25)["mae"]
    assert wide["ci_high"] - est == pytest.approx(half * np.sqrt(2.25))
    with pytest.raises(ValueError, match="test_train_ratio"):
        metric_intervals(ms, ["mae"], groups=g, test_train_ratio=-1.0)


def test_training_intervals_allow_for_the_variation_of_the_fitted_models(nested_run):
    """The recorded interval adds the metric's variance over refits on the inner folds to
    the fixed-model jackknife: its half-width is t·sqrt(se² + v)."""
    from scipy.stats import t as student_t

    from groupwise.evaluation import MetricSet
    from groupwise.evaluation._intervals import metric_intervals

    run, _ = nested_run
    t = run.honest_predictions()
    classes = run.classes
    ms = MetricSet(
        "classification", np.array([classes.index(v) for v in t["y_true"]]),
        proba=t[[f"proba_{c}" for c in classes]].to_numpy(),
        pred=np.array([classes.index(v) for v in t["prediction"]]), pos=run.positive_code,
    )  # fmt: skip
    doc = run.read_metrics("bootstrap_ci")
    variation = doc["model_variation"]
    outer = run.read_metrics("evaluation")["outer"]
    assert variation["refits"] == 5 * len(outer)  # five inner folds in every outer fold
    assert "refits on the inner folds" in doc["method"]
    G = t["batch"].nunique()
    q = student_t.ppf(0.975, G - 1)
    checked = 0
    for metric in ("roc_auc", "pr_auc", "log_loss"):
        fixed = metric_intervals(ms, [metric], groups=t["batch"].to_numpy())[metric]
        got = run.read_metrics("holdout_metrics")[metric]
        assert got["estimate"] == pytest.approx(fixed["estimate"])
        se = (fixed["ci_high"] - fixed["ci_low"]) / (2 * q)
        v = variation["variance"][metric]
        assert v > 0
        half = q * np.sqrt(se**2 + v)
        for side, sign in (("ci_low", -1), ("ci_high", 1)):
            clipped = metric != "log_loss" and not (0 < got[side] < 1 and 0 < fixed[side] < 1)
            if not clipped:
                assert got[side] == pytest.approx(got["estimate"] + sign * half, rel=1e-9)
                checked += 1
    assert checked >= 2  # log loss is never clipped


def test_training_variation_refits_never_see_the_rows_they_score():
    """Every refit behind the allowance is fitted on an inner fold's training part of its
    outer fold and scores that outer fold's test part only."""
    from groupwise.training._evaluate import training_variation

    df = grouped_table(seed=2, n_samples=400, **FEW)
    table = TableSpec(target="y", group_col="batch").resolve(df)
    plan = plan_splits(table, folds=5, seed=0)
    assert plan.nested
    seen = []

    class Spy:
        threads = 1

        def workers(self, n):
            return 1

        def map(self, fn, tasks, on_done=None):
            for _recipe, _X, _y, tr, te, *_ in tasks:
                seen.append((set(tr), set(te)))
            return [{"fold": t[6], "out": np.full((len(t[4]), 2), 0.5)} for t in tasks]

    class Prep:
        pass

    prep = Prep()
    prep.table, prep.task, prep.n_classes, prep.pos = table, "classification", 2, table.pos
    from types import SimpleNamespace

    spy = SimpleNamespace(name="spy", takes_keys=False)
    units = [(o, spy) for o in plan.outer]
    positions = plan.evaluated()
    out = training_variation(prep, units, positions, np.full(len(positions), 0.5), executor=Spy())
    assert out is not None and len(seen) == 5 * len(plan.outer)
    for (tr, te), (o, _) in zip(seen, [u for u in units for _ in range(5)], strict=True):
        assert te == set(o.holdout) and not (tr & te) and tr <= set(o.dev)
    assert out.variance["roc_auc"] == 0.0  # identical scorings do not vary
