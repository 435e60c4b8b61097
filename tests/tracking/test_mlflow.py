"""Tracking in MLflow: the embedded SQLite store, the pyfunc model, failures that keep the run."""

import pandas as pd
import pytest

mlflow = pytest.importorskip("mlflow")

from groupwise.tracking import default_tracking_uri, resolve_tracking_uri  # noqa: E402

FAST = dict(tune_trials=3, tune_patience=None, bootstrap=100, permutation_repeats=1,
            learning_curve=False, naive_cv=False, audit=False, shap=False,
            models=("dummy", "linear"))  # fmt: skip


def _table():
    from groupwise.datasets import generate_dataset

    X, y, _ = generate_dataset(n_samples=600, n_informative=3, n_noise=2, n_batches=30,
                               n_categorical=1, random_state=4)  # fmt: skip
    X["cat1"] = X["cat1"].astype(object)  # as a CSV or JSON request carries it
    return X.assign(y=y)


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    from groupwise.spec import TableSpec
    from groupwise.training import TrainConfig, train

    models = tmp_path_factory.mktemp("tracked_models")
    events = {}
    run = train(_table(), TableSpec(target="y", group_col="batch"),
                TrainConfig(models_dir=str(models), track=True, **FAST),
                events=lambda name, payload: events.setdefault(name, payload))  # fmt: skip
    return run, events["tracked"]


def test_a_tracked_run_is_in_the_embedded_store_with_params_metrics_artifacts_and_trials(tracked):
    from mlflow.tracking import MlflowClient

    run, result = tracked
    assert result.ok, result.error
    assert result.uri == default_tracking_uri(run.models_dir)
    assert (run.models_dir / "mlflow.db").is_file()
    client = MlflowClient(tracking_uri=result.uri)
    logged = client.get_run(result.mlflow_run_id)
    assert logged.data.tags["groupwise.run_id"] == run.run_id
    assert logged.data.tags["groupwise.dataset_sha256"] == run.meta["dataset"]["sha256"]
    assert logged.data.params["config.seed"] == str(run.meta["config"]["seed"])
    assert logged.data.params["spec.group_col"] == "batch"
    holdout = run.metrics.holdout()["roc_auc"]
    assert logged.data.metrics["holdout_roc_auc"] == pytest.approx(holdout["estimate"])
    assert logged.data.metrics["holdout_roc_auc_ci_low"] == pytest.approx(holdout["ci_low"])
    assert logged.data.metrics["cv_roc_auc"] == pytest.approx(run.metrics.cv()["roc_auc"])
    top = {a.path for a in client.list_artifacts(result.mlflow_run_id)}
    assert {"report.html", "model_card.md", "run_meta.json", "plots", "schema", "metrics",
            "model"} <= top  # fmt: skip
    assert "model/MLmodel" in {a.path for a in client.list_artifacts(result.mlflow_run_id, "model")}
    children = client.search_runs(
        [logged.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{result.mlflow_run_id}'",
    )
    trials = sum(len(t["history"]) for t in run.metrics.tuning())
    assert trials > 0 and len(children) == trials


def test_the_logged_model_predicts_what_groupwise_predict_writes(tracked, cli, tmp_path):
    from mlflow.tracking import MlflowClient

    run, result = tracked
    artifacts = (
        MlflowClient(tracking_uri=result.uri).get_run(result.mlflow_run_id).info.artifact_uri
    )
    assert artifacts.startswith("file://") and "mlartifacts" in artifacts  # under models_dir
    model = mlflow.pyfunc.load_model(f"{artifacts}/model")
    names = [c.name for c in model.metadata.get_input_schema().inputs]
    assert set(run.meta["features"]) <= set(names)
    rows = run.table("holdout_input")
    src, out = tmp_path / "hold.parquet", tmp_path / "pred.parquet"
    rows.to_parquet(src)
    assert cli("predict", src, "--out", out, "--run", run.path).exit_code == 0
    expected = pd.read_parquet(out)
    got = model.predict(rows)
    for col in ("prediction", "score", "proba_0", "proba_1"):
        assert got[col].tolist() == expected[col].tolist()


def test_an_unreachable_server_warns_and_keeps_the_run(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    table = tmp_path / "t.parquet"
    _table().to_parquet(table)
    config = tmp_path / "train.toml"
    config.write_text(  # the TOML way of asking for tracking
        '[train]\ntrack = true\ntracking_uri = "http://127.0.0.1:9"\ntune_trials = 0\n'
        'models = ["dummy", "linear"]\naudit = false\nnaive_cv = false\nlearning_curve = false\n'
        "shap = false\nbootstrap = 100\n"
    )
    res = cli("train", table, "--target", "y", "--group", "batch", "--config", config,
              "--models-dir", tmp_path / "models")  # fmt: skip
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "tracking in MLflow at http://127.0.0.1:9 failed" in text
    assert "the run directory is complete" in text
    runs = list((tmp_path / "models" / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "report.html").is_file()


def test_the_tracking_uri_comes_from_the_option_then_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri(None, tmp_path) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.internal:5000")
    assert resolve_tracking_uri(None, tmp_path) == "http://tracking.internal:5000"
    assert resolve_tracking_uri("sqlite:///x.db", tmp_path) == "sqlite:///x.db"
