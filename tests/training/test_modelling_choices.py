"""Class weights and resampling inside folds, blends and stacks, calibration as a step."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

from groupwise._parallel import LocalExecutor
from groupwise.exceptions import ConfigError
from groupwise.model_selection import plan_splits
from groupwise.runs import Run
from groupwise.spec import TableSpec
from groupwise.training import TrainConfig, train
from groupwise.training._cv import Recipe, run_cv
from groupwise.training._ensemble import judge_ensembles, rejected

from .conftest import FAST, grouped_table

SPEC = TableSpec(target="y", group_col="batch", id_cols=["sample_id"])
SEEN: list[np.ndarray] = []


class SeenRows(ClassifierMixin, BaseEstimator):
    """Records the ``rowid`` of every row it is fitted on (in this process)."""

    def fit(self, X, y):
        SEEN.append(X["rowid"].to_numpy(dtype=int))
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.full((len(X), 2), 0.5)


@pytest.mark.parametrize("method", ["under", "over", "smote"])
def test_resampling_uses_only_the_training_part_of_each_fold(method):
    df = grouped_table(weights=(0.85, 0.15))
    df["rowid"] = np.arange(len(df))
    table = TableSpec(target="y", group_col="batch", drop_cols=["sample_id"]).resolve(df)
    plan = plan_splits(table, holdout=0.2, folds=5, seed=0, nested_below=0)
    X = table.X.iloc[plan.dev].reset_index(drop=True)
    y, groups = table.y[plan.dev], table.group_values(plan.dev)
    SEEN.clear()
    recipe = Recipe("probe", "classification", table.kinds, 0, template=SeenRows(), rebalance=(None, method))  # fmt: skip
    run_cv({"probe": recipe}, X, y, plan.folds, task="classification", n_classes=2,
           executor=LocalExecutor(1), train_score=False)  # fmt: skip
    assert len(SEEN) == len(plan.folds)
    position = {rid: i for i, rid in enumerate(X["rowid"])}
    for seen, (tr, te) in zip(SEEN, plan.folds, strict=True):
        rows = np.array([position[r] for r in seen])  # synthetic rows carry their seed's id
        assert set(rows) <= set(tr)
        assert not set(groups[rows]) & set(groups[te])  # no row of a validation group
        counts = np.bincount(y[rows], minlength=2)
        assert counts[0] == counts[1]  # balanced after resampling
        if method == "under":
            assert len(set(rows)) == len(rows)


@pytest.fixture(scope="module")
def weighted_run(tmp_path_factory):
    df = grouped_table(weights=(0.9, 0.1))
    run = train(df, SPEC, TrainConfig(
        models_dir=str(tmp_path_factory.mktemp("models")), class_weight="balanced",
        calibrate="auto", shap=False, learning_curve=False, naive_cv=False, **FAST,
    ))  # fmt: skip
    return run, df


def test_class_weights_are_reported_next_to_the_unweighted_candidate(weighted_run):
    run, _ = weighted_run
    imb = run.metrics.imbalance()
    assert imb["applies"] and imb["applied"] == {"class_weight": "balanced", "resample": "none"}
    weighted, plain = imb["table"]
    assert plain["candidate"] == f"{weighted['candidate']} (no rebalancing)"
    assert plain["class_weight"] is None and weighted["class_weight"] == "balanced"
    # weights push the minority's probabilities up: worse Brier score on the same folds
    assert weighted["brier"] > plain["brier"]
    assert "Class imbalance" in run.layout.report.read_text()


def test_calibration_is_a_step_that_lowers_the_out_of_fold_error(weighted_run):
    run, df = weighted_run
    cal = run.metrics.calibration()
    assert cal["applies"] and cal["method"] == "sigmoid"
    assert cal["before"]["ece"] >= 0.05  # balanced weights mis-calibrate
    assert cal["after"]["ece"] < cal["before"]["ece"]
    assert run.meta["selected_model"]["label"].endswith("(calibrated)")
    assert type(Run(run.path).pipeline).__name__ == "Calibrated"  # loads: trusted type
    board = {r["candidate"]: r for r in run.metrics.leaderboard()["rows"]}
    # the shipped threshold is the one chosen on the calibrated out-of-fold probabilities
    assert run.threshold == pytest.approx(board[run.meta["selected_model"]["label"]]["threshold"])
    out = Run(run.path).predict(df.drop(columns="y").head(20))
    assert out["score"].between(0, 1).all()
    assert "Calibration" in run.layout.report.read_text()


def _half(cols):
    return Pipeline([
        ("pick", ColumnTransformer([("keep", "passthrough", cols)])),
        ("model", HistGradientBoostingClassifier(max_iter=60, random_state=0)),
    ])  # fmt: skip


def halves_table(n=2400, seed=0):
    """The outcome is the sum of two non-linear signals, one per half of the columns: each
    half alone sees one, an ensemble of both sees both."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
    logit = 2.5 * (np.abs(a[:, 0]) - 0.8) + 2.5 * (np.abs(b[:, 0]) - 0.8)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    df = pd.DataFrame({"a1": a[:, 0], "a2": a[:, 1], "b1": b[:, 0], "b2": b[:, 1], "y": y})
    df["batch"] = [f"g{i % 40}" for i in range(n)]
    return df


def test_an_ensemble_that_beats_every_single_model_is_selected_and_ships(tmp_path):
    df = halves_table()
    run = train(
        df, TableSpec(target="y", group_col="batch"),
        TrainConfig(models_dir=str(tmp_path), models=("dummy",), tune_trials=0, bootstrap=200,
                    permutation_repeats=0, shap=False, learning_curve=False, naive_cv=False),
        candidates={"left": _half(["a1", "a2"]), "right": _half(["b1", "b2"])},
    )  # fmt: skip
    ens = run.metrics.ensembles()
    assert ens["applies"] and set(ens["members"]) == {"left", "right", "linear"}
    assert ens["selected"]
    chosen = run.meta["selected_model"]["candidate"]
    assert ens["verdicts"][chosen]["selectable"]
    assert ens["verdicts"][chosen]["gain_mean"] > ens["verdicts"][chosen]["gain_sd"]
    loaded = Run(run.path)
    assert type(loaded.pipeline).__name__ == chosen.capitalize()
    assert len(loaded.predict(df.drop(columns="y").head(10))) == 10
    single = max(
        r["roc_auc"]
        for r in run.metrics.leaderboard()["rows"]
        if r["candidate"] in ("left", "right")
    )
    assert run.metrics.holdout()["roc_auc"]["estimate"] > single


def test_a_shipped_stack_reuses_the_out_of_fold_outputs_it_was_judged_on(tmp_path, monkeypatch):
    """The development and final fits of a selected stack learn the meta-model from the
    CV's out-of-fold outputs (and the development fit's, for holdout rows) instead of
    running inner folds again; naive CV and the learning curve fit members only."""
    from sklearn.base import clone
    from sklearn.utils.validation import check_is_fitted

    from groupwise.estimators._crossfit import Stack

    inner, given, prefitted = [], [], []
    own_folds, from_outside = Stack.oof_meta_features, Stack.fit_on_meta_features

    def counting(self, *args, **kwargs):
        inner.append(1)
        return own_folds(self, *args, **kwargs)

    def recording(self, X, y, Z, members=None):
        given.append(np.asarray(Z))
        prefitted.append(members)
        return from_outside(self, X, y, Z, members=members)

    monkeypatch.setattr(Stack, "oof_meta_features", counting)
    monkeypatch.setattr(Stack, "fit_on_meta_features", recording)
    df = halves_table()
    run = train(
        df, TableSpec(target="y", group_col="batch"),
        TrainConfig(models_dir=str(tmp_path), models=("dummy",), tune_trials=0, bootstrap=200,
                    permutation_repeats=0, shap=False, ensemble="stack"),
        candidates={"left": _half(["a1", "a2"]), "right": _half(["b1", "b2"])},
        executor=LocalExecutor(1),  # in this process, so the counts see every fit
    )  # fmt: skip
    assert run.meta["selected_model"]["candidate"] == "stack"
    assert not inner  # no stack ran its own inner folds
    dev_fit, final_fit = given
    n_dev = len(run.table("oof_predictions"))
    # both fits got their members fitted beforehand (together, on the workers), their own
    dev_members, final_members = prefitted
    assert len(dev_members) == len(final_members) == len(run.metrics.ensembles()["members"])
    assert not {id(m) for m in dev_members} & {id(m) for m in final_members}
    for m in (*dev_members, *final_members):
        check_is_fitted(m)
    assert np.isfinite(dev_fit).all(axis=1).sum() == n_dev
    assert final_fit.shape[0] == len(df) and np.isfinite(final_fit).all()
    members = run.metrics.ensembles()["members"]
    assert set(run.table("learning_curve")["model"]) == {members[0]}
    assert (
        f"Learning curve of {members[0]} (strongest member of the stack)"
        in run.layout.report.read_text()
    )
    assert run.metrics.naive_vs_grouped() is not None
    # the meta-model learned that way is the one the stack's own inner folds would learn
    shipped = Run(run.path).pipeline
    monkeypatch.setattr(Stack, "oof_meta_features", own_folds)
    monkeypatch.setattr(Stack, "fit_on_meta_features", from_outside)
    X = df.drop(columns=["y", "batch"])
    own = clone(shipped).fit(X, df["y"].to_numpy(), groups=df["batch"].to_numpy())
    np.testing.assert_allclose(shipped.weights_, own.weights_, atol=0.25)
    assert np.corrcoef(shipped.predict_proba(X)[:, 1], own.predict_proba(X)[:, 1])[0, 1] > 0.99


def test_an_ensemble_within_the_fold_noise_is_not_selectable():
    from types import SimpleNamespace

    def res(scores, name):
        folds = [{"fold": i, "roc_auc": s} for i, s in enumerate(scores)]
        return SimpleNamespace(folds=folds, recipe=SimpleNamespace(name=name))

    results = {
        "blend": res([0.80, 0.70, 0.78, 0.74, 0.76], "blend"),  # +0.006 mean, noisy
        "stack": res([0.83, 0.73, 0.81, 0.77, 0.79], "stack"),  # +0.036 every fold
        "lightgbm": res([0.79, 0.71, 0.77, 0.73, 0.75], "lightgbm"),
        "dummy": res([0.5] * 5, "dummy"),
    }
    results["blend"].folds[1]["roc_auc"] = 0.66
    board = pd.DataFrame({"candidate": ["stack", "blend", "lightgbm", "dummy"]})
    prep = SimpleNamespace(metric="roc_auc")
    info = judge_ensembles(prep, results, board, {"applies": True, "kinds": ["blend", "stack"]})
    assert info["verdicts"]["stack"]["selectable"]
    assert not info["verdicts"]["blend"]["selectable"]
    assert rejected(info) == {"blend"}


def test_options_that_need_a_classification_target_are_refused_early(tmp_path):
    reg = grouped_table()
    reg["y"] = reg.select_dtypes("number").iloc[:, 0] * 2.0
    for kw in (dict(resample="over"), dict(class_weight="balanced"), dict(calibrate="sigmoid")):
        with pytest.raises(ConfigError, match="needs a (classification|binary) target"):
            train(reg, SPEC, TrainConfig(models_dir=str(tmp_path), **kw))
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())
    with pytest.raises(ConfigError, match="'resample'"):
        TrainConfig(resample="smoted")


def test_the_run_records_every_choice(weighted_run):
    run, _ = weighted_run
    cfg = run.meta["config"]
    assert (cfg["class_weight"], cfg["resample"], cfg["calibrate"]) == ("balanced", "none", "auto")
    for name in ("ensembles", "calibration", "imbalance"):
        assert json.loads(run.layout.path(name).read_text())  # written and readable
