"""The clustering track: planted clusters recovered, a run directory, predict's schema guard."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score
from typer.testing import CliRunner

from groupwise.cli import app
from groupwise.clustering import ClusterConfig, cluster, parse_k_range
from groupwise.exceptions import ConfigError, SchemaViolationError
from groupwise.runs import Run, latest_run_id


def blobs(n=1600, seed=0, k=4):
    """Well separated clusters in three numeric columns, a categorical column tied to them,
    3% missing values in one column, and an id."""
    rng = np.random.default_rng(seed)
    centres = 6.0 * np.eye(3)[: k - 1]
    centres = np.vstack([np.zeros(3), centres])[:k]
    truth = rng.integers(0, k, n)
    X = centres[truth] + rng.normal(size=(n, 3))
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df["kind"] = np.where(truth % 2 == 0, "even", "odd")
    df.loc[rng.random(n) < 0.03, "a"] = np.nan
    df.insert(0, "sid", [f"s{seed}_{i}" for i in range(n)])
    return df, truth


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    df, truth = blobs()
    models = tmp_path_factory.mktemp("models")
    return cluster(df, id_cols=["sid"], config=ClusterConfig(k_min=2, k_max=7, models_dir=str(models))), df, truth  # fmt: skip


def test_planted_clusters_are_recovered_and_their_number_chosen(run):
    r, df, truth = run
    doc = r.read_metrics("clustering")
    assert doc["k"] == 4
    assert [s["k"] for s in doc["scores"]] == list(range(2, 8))
    labels = r.table("cluster_assignments")
    assert list(labels["sid"]) == list(df["sid"])
    assert adjusted_rand_score(truth, labels["cluster"]) >= 0.9
    assert doc["density"]["adjusted_rand_vs_kmeans"] > 0.5
    assert not doc["warnings"]


def test_the_run_directory_is_complete_and_not_latest(run):
    r, _, _ = run
    for name in ("meta", "model", "schema", "clustering", "cluster_sizes", "cluster_profiles", "report", "model_card"):  # fmt: skip
        assert r.layout.path(name).exists(), name
    assert r.task == "clustering" and "__clu__" in r.run_id
    assert set(r.plots) == {"silhouette", "cluster_map", "cluster_sizes"}
    sizes = r.table("cluster_sizes")
    assert sizes["rows"].sum() == 1600
    html = r.layout.report.read_text()
    assert "There is no target" in html and "What sets each cluster apart" in html
    assert latest_run_id(r.models_dir) is None


def test_predict_assigns_new_rows_of_the_same_process(run):
    r, _, _ = run
    new, truth = blobs(n=400, seed=1)
    out = Run(r.path).predict(new)
    assert list(out.columns) == ["sid", "cluster"]
    assert adjusted_rand_score(truth, out["cluster"]) >= 0.9


def test_predict_refuses_bad_input_like_a_trained_model(run, tmp_path):
    r, _, _ = run
    new, _ = blobs(n=50, seed=2)
    with pytest.raises(SchemaViolationError, match="MISSING_COLUMN"):
        Run(r.path).predict(new.drop(columns="b"))
    bad = new.assign(a=new["a"].astype(object))
    bad.loc[3, "a"] = "high"
    src = tmp_path / "bad.csv"
    bad.to_csv(src, index=False)
    res = CliRunner().invoke(app, ["predict", str(src), "--run", str(r.path), "--out", str(tmp_path / "o.parquet")])  # fmt: skip
    assert res.exit_code == 2, res.output
    assert not (tmp_path / "o.parquet").exists()


def test_a_tiny_cluster_is_flagged(tmp_path):
    df, _ = blobs(n=800, k=3)
    far = df.head(4).assign(a=60.0, b=60.0, c=60.0, sid=[f"far{i}" for i in range(4)])
    r = cluster(pd.concat([df, far], ignore_index=True), id_cols=["sid"],
                config=ClusterConfig(k=4, density=False, models_dir=str(tmp_path)))  # fmt: skip
    doc = r.read_metrics("clustering")
    sizes = r.table("cluster_sizes")
    assert sizes["tiny"].sum() == 1 and int(sizes.loc[sizes["tiny"], "rows"].iloc[0]) == 4
    assert len(doc["warnings"]) == 1 and "only 4 rows" in doc["warnings"][0]


def test_the_command_line(tmp_path):
    df, _ = blobs(n=600)
    src = tmp_path / "t.parquet"
    df.to_parquet(src)
    models = tmp_path / "m"
    res = CliRunner().invoke(app, ["cluster", str(src), "--id", "sid", "--k-range", "2..5", "--models-dir", str(models), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["k"] == 4 and Run(doc["run"]).task == "clustering"
    bad = CliRunner().invoke(
        app, ["cluster", str(src), "--k-range", "5-2", "--models-dir", str(models)]
    )
    assert bad.exit_code == 2 and "2..10" in bad.output
    res = CliRunner().invoke(
        app, ["monitor", str(src), "--run", doc["run"], "--models-dir", str(models)]
    )
    assert res.exit_code == 2 and "clustering run" in res.output
    missing = CliRunner().invoke(
        app, ["cluster", str(src), "--id", "nope", "--models-dir", str(models)]
    )
    assert missing.exit_code == 2 and "'nope'" in missing.output


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="empty"):
        ClusterConfig(k_min=6, k_max=3)
    with pytest.raises(ConfigError, match="2..10"):
        parse_k_range("3")
    assert parse_k_range("2..8") == (2, 8)
