import json

import numpy as np
import pandas as pd
import pytest

from groupwise import load_run
from groupwise.datasets import generate_dataset
from groupwise.evaluation import choose_threshold
from groupwise.exceptions import ConfigError
from groupwise.runs import RunMeta
from groupwise.spec import TableSpec
from groupwise.training import AuditFailed, TrainConfig, train

from .conftest import FAST, grouped_table

RUN_FILES = [
    "run_meta.json", "report.html", "model_card.md", "model/model.skops", "schema/input_schema.json",
    "metrics/cv_leaderboard.csv", "metrics/cv_leaderboard.json", "metrics/cv_folds.csv",
    "metrics/holdout_metrics.json", "metrics/bootstrap_ci.json", "metrics/threshold.json",
    "metrics/naive_vs_grouped.json", "metrics/baselines.json", "metrics/model_checks.json",
    "tables/holdout_predictions.parquet", "tables/holdout_input.parquet", "tables/oof_predictions.parquet",
    "tables/error_slices.csv", "tables/feature_importance.csv", "audit/audit.json", "audit/audit.md",
    "env/env_meta.json", "env/pip_freeze.txt", "plots/roc.png", "plots/pr.png", "plots/confusion_matrix.png",
    "plots/calibration.png", "plots/importance.png", "plots/naive_vs_grouped.png",
]  # fmt: skip


def test_run_directory_is_complete(grouped_run):
    run, _ = grouped_run
    missing = [f for f in RUN_FILES if not (run.path / f).exists()]
    assert not missing
    meta = run.meta
    assert meta["format_version"] == RunMeta.FORMAT and meta["run_id"] == run.path.name
    assert {
        "created_at",
        "dataset",
        "spec",
        "config",
        "split_plan",
        "selected_model",
        "threshold",
        "metrics",
        "model",
    } <= set(meta)
    assert len(meta["model"]["sha256"]) == 64 and meta["model"]["trusted_types"]
    assert (run.path.parent.parent / "registry" / "latest.txt").read_text().strip() == run.run_id


def test_permutation_importance_says_how_often_each_column_was_shuffled(grouped_run):
    run, _ = grouped_run
    table = run.table("feature_importance")
    hold = len(run.honest_predictions())
    assert (table["rows_used"] == hold).all() and (table["repeats"] == 2).all()  # FAST: at most 2
    report = run.layout.report.read_text()
    assert f"Each column shuffled 2 times on {hold} rows" in report


def test_metric_files_follow_the_documented_format(grouped_run):
    run, _ = grouped_run
    hm = run.read_metrics("holdout_metrics")
    assert set(hm) == {
        "roc_auc",
        "pr_auc",
        "accuracy",
        "balanced_accuracy",
        "f1",
        "precision",
        "recall",
        "brier",
        "log_loss",
    }
    for v in hm.values():
        assert set(v) == {"estimate", "ci_low", "ci_high"}
    ng = run.read_metrics("naive_vs_grouped")
    for part in ("naive", "grouped", "gap"):
        assert set(ng[part]["roc_auc"]) == {"estimate", "ci_low", "ci_high"}
    mc = run.read_metrics("model_checks")
    assert {"findings", "passed", "not_applicable"} <= set(mc)
    for f in mc["findings"]:
        assert set(f) == {"code", "severity", "title", "message", "columns", "evidence", "fix"}


def test_confounded_grouped_table_shows_a_positive_gap_and_model002(grouped_run):
    run, _ = grouped_run
    gap = run.read_metrics("naive_vs_grouped")["gap"][run.meta["primary_metric"]["name"]]
    assert gap["estimate"] > 0
    codes = {f["code"] for f in run.read_metrics("model_checks")["findings"]}
    assert "MODEL002" in codes


def test_prediction_tables_carry_ids_and_groups(grouped_run):
    run, df = grouped_run
    hp = pd.read_parquet(run.path / "tables" / "holdout_predictions.parquet")
    oof = pd.read_parquet(run.path / "tables" / "oof_predictions.parquet")
    for table in (hp, oof):
        assert {"sample_id", "batch", "y_true", "prediction", "proba_0", "proba_1", "score"} <= set(
            table.columns
        )
    hi = pd.read_parquet(run.path / "tables" / "holdout_input.parquet")
    assert "y" not in hi.columns and "sample_id" in hi.columns
    assert set(hp["batch"]).isdisjoint(set(oof["batch"]))
    assert len(hp) + len(oof) == len(df)


def test_threshold_is_chosen_on_out_of_fold_predictions_only(grouped_run):
    run, _ = grouped_run
    oof = pd.read_parquet(run.path / "tables" / "oof_predictions.parquet")
    redo = choose_threshold(oof["score"].to_numpy(), (oof["y_true"] == 1).to_numpy(), "max_f1")
    assert run.threshold == pytest.approx(redo.threshold)


def test_loaded_run_predicts_what_training_recorded(grouped_run):
    run, _ = grouped_run
    again = load_run(run.run_id, models_dir=run.path.parent.parent)
    hi = pd.read_parquet(again.path / "tables" / "holdout_input.parquet")
    hp = pd.read_parquet(again.path / "tables" / "holdout_predictions.parquet")
    pred = again.predict(hi)
    # refit_*: the shipped model's predictions recorded at training
    np.testing.assert_allclose(pred["score"], hp["refit_score"], rtol=0, atol=1e-12)
    assert (pred["prediction"].to_numpy() == hp["refit_prediction"].to_numpy()).all()
    assert (pred["sample_id"] == hp["sample_id"]).all()


def test_tampered_model_is_refused(grouped_run, tampered_copy):
    from groupwise.exceptions import ModelIntegrityError

    run, _ = grouped_run
    with pytest.raises(ModelIntegrityError, match="changed after training"):
        _ = load_run(tampered_copy(run)).pipeline


class _Spy:
    """Records (stage, marker values) for every fit and predict."""

    log: list = []
    stage = "none"


class _StageProgress:
    import contextlib

    def __init__(self):
        self.order = []

    @contextlib.contextmanager
    def stage(self, name, total=None):
        self.order.append(name)
        _Spy.stage = name

        class H:
            def advance(self, n=1):
                pass

            def update(self, **kw):
                pass

        yield H()


def _spy_estimator():
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.linear_model import LogisticRegression

    class SpyClassifier(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            _Spy.log.append((_Spy.stage, "fit", set(X["marker"].tolist())))
            self.model_ = LogisticRegression().fit(X[["i1", "i2"]].fillna(0), y)
            self.classes_ = self.model_.classes_
            return self

        def predict_proba(self, X):
            _Spy.log.append((_Spy.stage, "predict", set(X["marker"].tolist())))
            return self.model_.predict_proba(X[["i1", "i2"]].fillna(0))

        def predict(self, X):
            return self.classes_[self.predict_proba(X).argmax(1)]

    return SpyClassifier()


def test_holdout_is_never_used_before_the_holdout_stage(tmp_path):
    df = grouped_table(seed=2, n_samples=400)
    df["marker"] = np.arange(len(df), dtype=float)
    _Spy.log.clear()
    progress = _StageProgress()
    run = train(
        df, TableSpec(target="y", group_col="batch", id_cols=["sample_id"]),
        TrainConfig(models_dir=str(tmp_path), n_jobs=1, **{**FAST, "models": ("dummy", "linear")}),
        candidates={"spy": _spy_estimator()}, progress=progress,
    )  # fmt: skip
    holdout_markers = set(
        pd.read_parquet(run.path / "tables" / "holdout_input.parquet")["marker"].tolist()
    )
    first_holdout = progress.order.index("Holdout evaluation")
    before = set(progress.order[:first_holdout])
    seen_before = set().union(*(m for stage, _, m in _Spy.log if stage in before))
    # positive control: the spy saw every development row before the holdout stage
    assert seen_before == set(df["marker"]) - holdout_markers
    assert not (seen_before & holdout_markers)


def test_simulated_crash_keeps_latest_on_the_previous_complete_run(tmp_path, monkeypatch):
    df = grouped_table(seed=3, n_samples=400)
    spec = TableSpec(target="y", group_col="batch")
    cfg = TrainConfig(models_dir=str(tmp_path), **FAST)
    first = train(df, spec, cfg)

    def boom(*a, **k):
        raise RuntimeError("disk full while rendering the report")

    monkeypatch.setattr("groupwise.report.render_run", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        train(df, spec, cfg)
    assert (tmp_path / "registry" / "latest.txt").read_text().strip() == first.run_id
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [first.run_id]
    assert load_run(models_dir=tmp_path).run_id == first.run_id


@pytest.mark.slow
def test_same_seed_gives_the_same_metrics(tmp_path):
    df = grouped_table(seed=4, n_samples=500)
    spec = TableSpec(target="y", group_col="batch")
    runs = [
        train(df, spec, TrainConfig(models_dir=str(tmp_path / str(i)), **FAST)) for i in range(2)
    ]
    a, b = (json.loads((r.path / "metrics" / "holdout_metrics.json").read_text()) for r in runs)
    assert a == b
    la, lb = (
        pd.read_csv(r.path / "metrics" / "cv_leaderboard.csv").drop(columns="fit_time_mean")
        for r in runs
    )
    pd.testing.assert_frame_equal(la, lb)
    assert runs[0].meta["selected_model"] == runs[1].meta["selected_model"]


@pytest.mark.slow
def test_multiclass_run(tmp_path):
    X, y, _ = generate_dataset(
        n_samples=600, n_classes=3, n_informative=6, n_noise=2, random_state=0
    )
    run = train(X.assign(y=y), TableSpec(target="y"), TrainConfig(models_dir=str(tmp_path), **FAST))
    assert run.meta["primary_metric"]["name"] == "balanced_accuracy"
    assert run.meta["threshold"] is None
    pred = pd.read_parquet(run.path / "tables" / "holdout_predictions.parquet")
    assert {"proba_0", "proba_1", "proba_2"} <= set(pred.columns) and "score" not in pred.columns
    assert run.read_metrics("holdout_metrics")["balanced_accuracy"]["estimate"] > 0.5
    assert (run.path / "plots" / "confusion_matrix.png").exists()


@pytest.mark.slow
def test_regression_run_with_time_split(tmp_path):
    X, y, _ = generate_dataset(
        task="regression",
        n_samples=600,
        n_informative=4,
        n_noise=2,
        leak_time_column=True,
        random_state=0,
    )
    run = train(
        X.assign(y=y),
        TableSpec(target="y", time_col="sample_date"),
        TrainConfig(models_dir=str(tmp_path), **FAST),
    )
    assert run.meta["split_plan"]["kind"] == "time"
    assert set(run.read_metrics("holdout_metrics")) == {"mae", "rmse", "r2"}
    assert run.read_metrics("holdout_metrics")["r2"]["estimate"] > 0.3
    assert (run.path / "plots" / "residuals.png").exists()
    assert run.read_metrics("naive_vs_grouped") == {
        "applies": False,
        "reason": "time split: the comparison is made for group splits only (row-level CV would mix past and future)",
    }


def test_string_labels_and_rare_positives_use_pr_auc(tmp_path):
    X, y, _ = generate_dataset(
        n_samples=800, weights=(0.93,), n_informative=5, class_sep=2.5, random_state=1
    )
    df = X.assign(y=np.where(y == 1, "case", "control"))
    run = train(df, TableSpec(target="y"), TrainConfig(models_dir=str(tmp_path), **FAST))
    assert run.meta["primary_metric"]["name"] == "pr_auc"
    assert run.meta["classes"] == ["case", "control"] and run.meta["spec"]["pos_label"] == "case"
    pred = run.predict(X.iloc[:5])
    assert set(pred["prediction"]) <= {"case", "control"} and "proba_case" in pred


def test_audit_fail_on_stops_before_training(tmp_path):
    df = grouped_table(seed=5, n_samples=300, leak_target_proxy=True)
    with pytest.raises(AuditFailed) as e:
        train(
            df,
            TableSpec(target="y", group_col="batch"),
            TrainConfig(models_dir=str(tmp_path), fail_on="error", **FAST),
        )
    assert e.value.exit_code == 1 and not (tmp_path / "runs").exists()


def test_bad_metric_and_models_are_config_errors(tmp_path):
    df = grouped_table(seed=6, n_samples=300)
    with pytest.raises(ConfigError, match="does not apply to classification"):
        train(df, TableSpec(target="y"), TrainConfig(models_dir=str(tmp_path), metric="mae"))
    with pytest.raises(ConfigError, match="Did you mean 'hist_gb'"):
        train(df, TableSpec(target="y"), TrainConfig(models_dir=str(tmp_path), models=("hist-gb",)))
