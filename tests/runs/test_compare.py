"""groupwise runs compare: side by side, paired intervals on shared evaluation rows."""

import json

import pytest

from groupwise.evaluation._intervals import paired_interval
from groupwise.report._compare import _metricset, compare_runs


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    from groupwise.datasets import generate_dataset
    from groupwise.spec import TableSpec
    from groupwise.training import TrainConfig, train

    X, y, _ = generate_dataset(n_samples=900, n_informative=3, n_noise=2, n_batches=30,
                               random_state=5)  # fmt: skip
    df = X.assign(y=y)
    models = tmp_path_factory.mktemp("compare_models")
    spec = TableSpec(target="y", group_col="batch")
    fast = dict(models_dir=str(models), tune_trials=0, bootstrap=100, permutation_repeats=1,
                learning_curve=False, naive_cv=False, audit=False, shap=False,
                models=("dummy", "linear"))  # fmt: skip
    a = train(df, spec, TrainConfig(threshold="fixed:0.5", **fast))
    b = train(df, spec, TrainConfig(threshold="fixed:0.25", **fast))
    c = train(df, spec, TrainConfig(threshold="fixed:0.5", seed=3, **fast))
    return a, b, c, models


def test_runs_on_the_same_rows_get_a_paired_interval_of_their_difference(three_runs):
    a, b, c, _ = three_runs
    doc = compare_runs([a, b, c])
    ident = {r["run_id"]: r for r in doc["runs"]}
    assert ident[b.run_id]["paired_with_base"] is True
    assert ident[c.run_id]["paired_with_base"] is False
    assert "different evaluation rows" in ident[c.run_id]["pairing"]
    acc = next(m for m in doc["metrics"] if m["metric"] == "recall")
    d_b, d_c = acc["differences"]
    # a lower threshold finds more positives on exactly the same rows
    assert d_b["paired"] and d_b["estimate"] > 0
    assert d_b["ci_low"] <= d_b["estimate"] <= d_b["ci_high"]
    groups = a.honest_predictions()["batch"].to_numpy()
    want = paired_interval(_metricset(b, b.honest_predictions()),
                           _metricset(a, a.honest_predictions()), "recall", groups=groups)  # fmt: skip
    assert d_b["ci_low"] == pytest.approx(want["ci_low"])
    # the estimate is the difference of the two runs' own estimates
    hb, ha = b.metrics.holdout()["recall"], a.metrics.holdout()["recall"]
    assert d_b["estimate"] == pytest.approx(hb["estimate"] - ha["estimate"])
    # ranking metrics do not depend on the threshold: difference exactly 0
    auc = next(m for m in doc["metrics"] if m["metric"] == "roc_auc")["differences"][0]
    assert auc["estimate"] == pytest.approx(0) and auc["ci_high"] - auc["ci_low"] == pytest.approx(
        0
    )
    assert d_c["paired"] is False and "ci_low" not in d_c
    assert [d["key"] for d in doc["config_diff"]] == ["threshold", "seed"]


def test_runs_compare_prints_and_writes_html_and_json(cli, three_runs, tmp_path):
    a, b, c, models = three_runs
    out = tmp_path / "cmp"
    res = cli("runs", "compare", a.run_id, b.run_id, c.run_id, "--models-dir", models,
              "--out", out)  # fmt: skip
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "unpaired" in text and "threshold" in text
    doc = json.loads((out / "compare.json").read_text())
    assert doc["base"] == a.run_id and len(doc["runs"]) == 3
    html = (out / "compare.html").read_text()
    assert "3 runs compared" in html and c.run_id in html and "unpaired" in html


def test_runs_compare_refuses_one_run_and_a_file_as_out(cli, three_runs, tmp_path):
    a, _, _, models = three_runs
    res = cli("runs", "compare", a.run_id, "--models-dir", models, "--out", tmp_path / "x")
    assert res.exit_code == 2 and "at least two runs" in " ".join(res.output.split())
    (tmp_path / "file").write_text("x")
    res = cli("runs", "compare", a.run_id, a.run_id, "--models-dir", models,
              "--out", tmp_path / "file")  # fmt: skip
    assert res.exit_code == 2 and "is a file" in " ".join(res.output.split())
    # a run against itself: paired, every difference exactly 0
    same = compare_runs([a, a])["metrics"][0]["differences"][0]
    assert same["paired"] and same["estimate"] == 0 and same["significant"] is False
