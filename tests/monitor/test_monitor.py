"""``groupwise monitor`` on a trained run: the reference the run keeps, quiet on rows like
training's, drift and data-quality warnings when rows move, alerts when performance
(estimated or measured) falls below the promise, and predict-style refusals of bad input."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def wide_run(tmp_path_factory):
    """A linear binary run on 3,000 rows in 10 batches, 6,000 fresh rows from 20 new
    batches of the same process (with their labels), and 1,500 more rows of the training
    batches."""
    from groupwise.datasets import generate_dataset
    from groupwise.spec import TableSpec
    from groupwise.training import TrainConfig, train

    def table(n, batches, seed):
        X, y, _ = generate_dataset(n_samples=n, n_informative=4, n_noise=3, n_batches=batches,
                                   n_categorical=1, missing_rate=0.02, random_state=seed)  # fmt: skip
        return X.assign(y=y)

    cfg = TrainConfig(models_dir=str(tmp_path_factory.mktemp("wide_models")), tune_trials=0,
                      bootstrap=200, permutation_repeats=1, learning_curve=False,
                      models=("dummy", "linear"), naive_cv=False)  # fmt: skip
    full = table(4_500, 10, 21)
    spare = full.sample(1_500, random_state=0).index
    run = train(
        full.drop(index=spare).reset_index(drop=True), TableSpec(target="y", group_col="batch"), cfg
    )
    fresh = table(6_000, 20, 22)
    fresh["batch"] = "new-" + fresh["batch"].astype(str)
    run.same_batches = full.loc[spare].reset_index(drop=True)
    return run, fresh


def _monitor(cli, run, *paths, out, extra=()):
    return cli("monitor", *paths, "--models-dir", run.models_dir, "--run", run.run_id, "--out", out, *extra)  # fmt: skip


def test_the_run_keeps_a_compact_reference_of_its_training_rows(small_run):
    run, df = small_run
    ref = run.monitor_reference
    assert ref.rows == len(df) and ref.group_col == "batch" and ref.groups == df["batch"].nunique()
    assert set(ref.features) == set(run.schema.feature_names)
    assert ref.output_kind == "positive score" and ref.threshold == pytest.approx(run.threshold)
    for name, b in ref.features.items():
        assert len(df) == b.N, name  # every training row is counted, missing ones too
    # the between-group deviations are stored beside the document and read back
    between = run.table("monitor_between")
    assert set(between["column"]) <= set(ref.columns)
    assert run.layout.monitor_reference.stat().st_size < 200_000


def test_rows_like_training_are_quiet_and_every_output_is_written(cli, small_run, tmp_path):
    run, _ = small_run
    res = _monitor(cli, run, run.layout.holdout_input, out=tmp_path / "m")
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "m" / "monitor.json").read_text())
    assert doc["run_id"] == run.run_id and len(doc["chunks"]) == 1
    chunk = doc["chunks"][0]
    assert chunk["drifted_features"] == [] and not chunk["output_drift"]["drifted"]
    assert chunk["estimated"]["roc_auc"] > 0.6 and "assumptions" in doc
    html = (tmp_path / "m" / "monitor.html").read_text()
    assert "<img" in html and "http://" not in html and "https://" not in html
    feats = pd.read_csv(tmp_path / "m" / "monitor_features.csv")
    assert set(feats["feature"]) == set(run.schema.feature_names)


def test_new_batches_are_judged_against_training_batches(cli, wide_run, tmp_path):
    """20 new batches from the same process: drift in no more chunks than the nominal rate;
    estimated ROC-AUC close to the realised one per batch; no alert from the estimate."""
    run, fresh = wide_run
    path = tmp_path / "fresh.parquet"
    fresh.to_parquet(path)
    res = _monitor(cli, run, path, out=tmp_path / "m", extra=("--by", "batch", "--fail-on", "warning"))  # fmt: skip
    doc = json.loads((tmp_path / "m" / "monitor.json").read_text())
    chunks = doc["chunks"]
    assert len(chunks) == 20 and res.exit_code in (0, 1)
    # the generator moves every feature of a batch by the same offset, so the features'
    # tests are one test: count chunks, at the nominal rate plus one chunk of slack
    assert sum(bool(c["drifted_features"]) for c in chunks) <= 0.05 * len(chunks) + 1
    # no alert from the estimate; a batch is an alert only when its measured interval lies
    # below the promise (a batch really worse than the average, which the labels show)
    for c in chunks:
        if c["status"] == "alert":
            assert c["reasons"][0].startswith("measured") and c["realised"]["roc_auc_ci_high"] < doc["promised"]["roc_auc"]["ci_low"]  # fmt: skip
    gaps = [abs(c["estimated"]["roc_auc"] - c["realised"]["roc_auc"]) for c in chunks]
    assert np.median(gaps) <= 0.03


def test_estimated_roc_auc_tracks_the_realised_one_under_covariate_shift(wide_run):
    """Chunks selected on the features (by how far the model's score lies from the
    threshold, a function of the features: a covariate shift): the realised ROC-AUC moves
    from hard to easy chunks, and the estimate moves with it."""
    from groupwise.monitor import monitor_frames

    run, fresh = wide_run
    score = run.predict(fresh.drop(columns=["y"]))["score"]
    key = (score - run.threshold).abs().rank(pct=True, method="first")
    # each chunk mixes two neighbouring quartiles so that both classes occur in all
    frames = [(f"c{k}", fresh[((key > k / 5) & (key <= (k + 2) / 5))]) for k in range(4)]
    result = monitor_frames(run, frames)
    est = np.array([c.estimated["roc_auc"] for c in result.chunks])
    real = np.array([c.realised["roc_auc"] for c in result.chunks])
    assert real.max() - real.min() > 0.1  # the shift matters
    assert np.max(np.abs(est - real)) <= 0.05
    assert list(np.argsort(est)) == list(np.argsort(real))


def test_a_planted_shift_warns_and_fail_on_warning_exits_1(cli, wide_run, tmp_path):
    run, fresh = wide_run
    moved = fresh.copy()
    for c in ("i1", "i2", "n1"):
        moved[c] = moved[c] + 2.0 * fresh[c].std()
    path = tmp_path / "moved.parquet"
    moved.to_parquet(path)
    res = _monitor(cli, run, path, out=tmp_path / "m", extra=("--fail-on", "warning"))
    assert res.exit_code == 1, res.output
    chunk = json.loads((tmp_path / "m" / "monitor.json").read_text())["chunks"][0]
    assert {"i1", "i2", "n1"} <= set(chunk["drifted_features"])
    assert chunk["multivariate_drift"]["drifted"] and chunk["status"] in ("warning", "alert")


def test_a_prior_shift_moves_the_output(wide_run):
    from groupwise.monitor import monitor_frames

    run, fresh = wide_run
    pos = fresh[fresh["y"] == 1]
    skewed = pd.concat([pos, fresh[fresh["y"] == 0].sample(len(pos) // 5, random_state=0)])
    chunk = monitor_frames(run, [("skewed", skewed.drop(columns=["y"]))]).chunks[0]
    assert chunk.output["drifted"]
    assert chunk.output["predicted_positive_share"] > chunk.output["reference_predicted_positive_share"] + 0.2  # fmt: skip
    assert chunk.estimated["prevalence"] > run.monitor_reference.expected["prevalence"] + 0.15


def test_labels_worse_than_promised_are_an_alert_exit_1(cli, wide_run, tmp_path):
    run, fresh = wide_run
    path = tmp_path / "flipped.csv"
    fresh.assign(y=1 - fresh["y"]).to_csv(path, index=False)
    res = _monitor(cli, run, path, out=tmp_path / "m")
    assert res.exit_code == 1, res.output
    chunk = json.loads((tmp_path / "m" / "monitor.json").read_text())["chunks"][0]
    assert chunk["status"] == "alert" and "measured roc_auc" in chunk["reasons"][0]


def test_bad_input_exits_2_with_the_predict_style_violation_list(cli, small_run, tmp_path):
    run, df = small_run
    bad = df.drop(columns=["y", df.columns[2]]).astype(object)
    bad.iloc[0, 3] = "not a number"
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    res = _monitor(cli, run, path, out=tmp_path / "m")
    assert res.exit_code == 2
    assert "MISSING_COLUMN" in res.output and "UNCOERCIBLE_VALUE" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    "extra, says",
    [
        (("--by", "nope"), "--by 'nope' is not a column"),
        (("--window", "7d"), "--window needs the run's time column"),
        (("--window", "soon"), "--window must be a positive duration"),
        (("--fail-on", "sometimes"), "--fail-on must be"),
        (("--alpha", "0.9"), "--alpha must be between 0 and 0.5"),
        (("--by", "batch", "--window", "7d"), "not both"),
    ],
)
def test_bad_options_exit_2_with_a_message(cli, small_run, tmp_path, extra, says):
    run, _ = small_run
    res = _monitor(cli, run, run.layout.holdout_input, out=tmp_path / "m", extra=extra)
    assert res.exit_code == 2, res.output
    assert says in " ".join(res.output.split())


def test_a_run_without_a_reference_asks_for_one_and_reference_table_works(cli, small_run, tmp_path):
    run, df = small_run
    old = tmp_path / "runs" / run.path.name
    shutil.copytree(run.path, old)
    (old / "monitor" / "reference.json").unlink()
    res = cli("monitor", run.layout.holdout_input, "--run", old, "--out", tmp_path / "m")
    assert res.exit_code == 2 and "--reference" in res.output
    train_table = tmp_path / "train.parquet"
    df.to_parquet(train_table)
    res = cli("monitor", run.layout.holdout_input, "--run", old, "--out", tmp_path / "m", "--reference", train_table)  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "m" / "monitor.json").read_text())
    assert doc["reference"]["source"] == "table" and doc["reference"]["rows"] == len(df)


def test_the_output_may_not_overwrite_an_input(cli, small_run, tmp_path):
    run, _ = small_run
    inp = tmp_path / "m" / "monitor.json"
    inp.parent.mkdir()
    pd.read_parquet(run.layout.holdout_input).to_csv(inp, index=False)
    res = _monitor(cli, run, inp, out=tmp_path / "m")
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_rows_the_model_finds_hard_are_an_alert_from_the_estimate_alone(wide_run):
    """No labels: a chunk of rows scored near the threshold (where the model is unsure) has a
    low estimated ROC-AUC, beyond the promise by more than the estimate's noise."""
    from groupwise.monitor import monitor_frames

    run, fresh = wide_run
    score = run.predict(fresh.drop(columns=["y"]))["score"]
    hard = fresh.loc[(score - run.threshold).abs().rank(method="first") <= 1_500].drop(
        columns=["y"]
    )
    chunk = monitor_frames(run, [("hard", hard)]).chunks[0]
    assert chunk.status == "alert" and chunk.reasons[0].startswith("estimated roc_auc")
    assert chunk.estimated["roc_auc"] + 2 * chunk.estimated["roc_auc_se"] < run.metrics.holdout()["roc_auc"]["ci_low"]  # fmt: skip
    assert chunk.realised == {}


@pytest.fixture(scope="module")
def regression_time_run(tmp_path_factory):
    """A regression run with a time column, and fresh rows of the same process."""
    from groupwise.datasets import generate_dataset
    from groupwise.spec import TableSpec
    from groupwise.training import TrainConfig, train

    def table(seed):
        X, y, _ = generate_dataset(task="regression", n_samples=800, n_informative=4, n_noise=2,
                                   leak_time_column=True, random_state=seed)  # fmt: skip
        return X.assign(y=y)

    cfg = TrainConfig(models_dir=str(tmp_path_factory.mktemp("reg_models")), tune_trials=0,
                      bootstrap=100, permutation_repeats=1, learning_curve=False,
                      models=("dummy", "linear"), naive_cv=False)  # fmt: skip
    return train(table(3), TableSpec(target="y", time_col="sample_date"), cfg), table(4)


def test_regression_windows_estimate_the_error_and_measure_it(regression_time_run):
    from groupwise.monitor import monitor_frames

    run, fresh = regression_time_run
    ref = run.monitor_reference
    assert ref.output_kind == "prediction" and ref.error_map is not None
    assert "sample_date" not in ref.features or "sample_date" in ref.skipped
    result = monitor_frames(run, [("fresh", fresh)], window="60d")
    assert result.chunking.startswith("windows of 60 days") and len(result.chunks) >= 2
    dates = pd.to_datetime(fresh["sample_date"])
    assert sum(c.rows for c in result.chunks) == len(fresh)
    assert result.chunks[0].rows == int(
        (dates < dates.min().floor("D") + pd.Timedelta(days=60)).sum()
    )
    tested = [c for c in result.chunks if c.realised]
    assert tested and all(c.estimated["mae"] > 0 for c in tested)
    # the estimate is of the right size: within a factor of 2 of the measured error
    for c in tested:
        assert 0.5 < c.estimated["mae"] / c.realised["mae"] < 2.0


def test_window_parsing():
    from groupwise.exceptions import ConfigError
    from groupwise.monitor._monitor import parse_window

    assert parse_window("7d") == pd.Timedelta(days=7)
    assert parse_window("2w") == pd.Timedelta(days=14)
    assert parse_window("12h") == pd.Timedelta(hours=12)
    for bad in ("0d", "-3d", "soon", ""):
        with pytest.raises(ConfigError):
            parse_window(bad)


def test_a_multiclass_run_monitors_the_predicted_class_and_does_not_estimate(tmp_path):
    from groupwise.datasets import generate_dataset
    from groupwise.monitor import monitor_frames
    from groupwise.spec import TableSpec
    from groupwise.training import TrainConfig, train

    X, y, _ = generate_dataset(
        n_samples=600, n_classes=3, n_informative=4, n_noise=1, random_state=5
    )
    cfg = TrainConfig(models_dir=str(tmp_path), tune_trials=0, bootstrap=100, permutation_repeats=1,
                      learning_curve=False, models=("dummy", "linear"), naive_cv=False)  # fmt: skip
    run = train(X.assign(y=y), TableSpec(target="y"), cfg)
    assert run.monitor_reference.output_kind == "predicted class"
    result = monitor_frames(run, [("same", X)])
    chunk = result.chunks[0]
    assert chunk.estimated == {} and chunk.output["kind"] == "predicted class"
    assert any("multi-class" in n for n in result.notes)


def test_rows_of_training_batches_are_compared_with_those_batches(wide_run):
    """More rows of the training batches: quiet as they are; a 0.3 SD shift in three
    features is found, although it is smaller than how far batches lie from each other
    (so the same shift in new batches would not be)."""
    from groupwise.monitor import monitor_frames

    run, _ = wide_run
    same = run.same_batches.drop(columns=["y"])
    quiet = monitor_frames(run, [("same", same)]).chunks[0]
    assert quiet.known_group_share == 1.0 and quiet.drifted == []
    moved = same.copy()
    for c in ("i1", "n1", "n2"):
        moved[c] = moved[c] + 0.3 * same[c].std()
    chunk = monitor_frames(run, [("moved", moved)]).chunks[0]
    assert {"i1", "n1", "n2"} <= set(chunk.drifted) and len(chunk.drifted) <= 4
    # per batch, too: each chunk is one known batch
    per_batch = monitor_frames(run, [("same", same)], by="batch").chunks
    assert all(c.known_group_share == 1.0 for c in per_batch)
    assert sum(bool(c.drifted) for c in per_batch) <= 1
    ref = run.monitor_reference
    assert ref.group_names and ref.features["i1"].group_counts.shape[0] == len(ref.group_names)
