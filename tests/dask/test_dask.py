"""The Dask executor on a LocalCluster (loopback, 2 single-threaded workers)."""

import json
import os
import signal

import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

from groupwise._parallel import DaskExecutor, LocalExecutor, make_executor  # noqa: E402
from groupwise.exceptions import ConfigError, SchemaViolationError  # noqa: E402
from groupwise.predict import predict_partitions  # noqa: E402


@pytest.fixture(scope="module")
def dask_executor():
    ex = make_executor("dask", n_jobs=2)
    assert isinstance(ex, DaskExecutor) and ex.address.startswith("tcp://127.0.0.1:")
    yield ex
    ex.close()


@pytest.fixture
def dataset(small_run, tmp_path):
    """Six partitions of new rows, two of them in a hive subdirectory."""
    run, df = small_run
    rows = df.drop(columns="y").reset_index(drop=True)
    root = tmp_path / "lake"
    for k, part in enumerate(np.array_split(np.arange(len(rows)), 6)):
        sub = root / (f"site=S{k % 2}" if k >= 4 else "")
        sub.mkdir(parents=True, exist_ok=True)
        rows.iloc[part].to_parquet(sub / f"part-{k}.parquet")
    return run, rows, root


def test_the_executor_maps_in_order_and_caps_threads(dask_executor):
    out = dask_executor.map(_square_and_threads, list(range(7)))
    assert [o[0] for o in out] == [i * i for i in range(7)]
    assert {o[1] for o in out} == {1}  # workers × threads ≤ cores


def _square_and_threads(task, threads):
    from threadpoolctl import threadpool_info

    blas = [i["num_threads"] for i in threadpool_info()]
    return task * task, max([*blas, threads])


def test_dataset_prediction_gives_files_identical_to_the_local_executor(dask_executor, dataset, tmp_path):  # fmt: skip
    run, rows, root = dataset
    local = predict_partitions(run.predictor, root, tmp_path / "local", executor=LocalExecutor(2))
    dask = predict_partitions(run.predictor, root, tmp_path / "dask", executor=dask_executor)
    assert local["manifest"]["partitions"] == dask["manifest"]["partitions"]
    entries = dask["manifest"]["partitions"]
    assert len(entries) == 6 and sum(e["rows"] for e in entries) == len(rows)
    assert any(e["output"].startswith("site=S0/") for e in entries)  # hive layout kept
    for e in entries:
        a = (tmp_path / "local" / e["output"]).read_bytes()
        assert a == (tmp_path / "dask" / e["output"]).read_bytes()
    got = pd.concat([pd.read_parquet(tmp_path / "dask" / e["output"]) for e in entries])
    want = run.predict(rows.set_index("sample_id").loc[got["sample_id"]].reset_index())
    np.testing.assert_allclose(got["score"].to_numpy(), want["score"].to_numpy())
    manifest = json.loads((tmp_path / "dask" / "_manifest.json").read_text())
    assert manifest["run_id"] is None and manifest["rows"] == len(rows)


def test_a_validation_error_in_one_partition_writes_nothing(dask_executor, dataset, tmp_path):
    run, rows, root = dataset
    bad = rows.iloc[:5].assign(n1="not a number")
    bad.to_parquet(root / "part-bad.parquet")
    out = tmp_path / "out"
    with pytest.raises(SchemaViolationError, match="part-bad.parquet"):
        predict_partitions(run.predictor, root, out, executor=dask_executor)
    assert not out.exists() or not any(out.rglob("*"))


def test_a_worker_killed_mid_prediction_is_recovered_or_lists_nothing(dask_executor, dataset, tmp_path):  # fmt: skip
    run, rows, root = dataset
    client = dask_executor.client
    killed = []

    class Killing:
        """Kills one worker as soon as the first partition is scored."""

        def stage(self, title, total=None):
            import contextlib

            @contextlib.contextmanager
            def bar():
                class B:
                    def advance(self, n=1):
                        if title.startswith("Predicting") and not killed:
                            victim = sorted(client.nthreads())[0]
                            pid = client.run(os.getpid, workers=[victim])[victim]
                            os.kill(pid, signal.SIGKILL)  # its nanny starts a new one
                            killed.append(victim)

                yield B()

            return bar()

    out = tmp_path / "out"
    try:
        result = predict_partitions(run.predictor, root, out, executor=dask_executor, progress=Killing())  # fmt: skip
    except Exception:
        assert not (out / "_manifest.json").exists()
    else:
        assert killed and result["manifest"]["rows"] == len(rows)
        for e in result["manifest"]["partitions"]:
            assert len(pd.read_parquet(out / e["output"])) == e["rows"]
    assert killed  # a worker really died while partitions were being scored
    client.wait_for_workers(2, timeout=60)


def test_cross_validation_on_the_cluster_gives_the_local_results(dask_executor, tmp_path):
    from groupwise.datasets import generate_dataset
    from groupwise.spec import TableSpec
    from groupwise.training import TrainConfig, train

    X, y, _ = generate_dataset(n_samples=600, n_informative=3, n_noise=2, n_batches=12,
                               random_state=8)  # fmt: skip
    df = X.assign(y=y)
    fast = dict(tune_trials=3, tune_patience=None, bootstrap=100, permutation_repeats=1,
                learning_curve=False, audit=False, shap=False,
                models=("dummy", "linear", "hist_gb"))  # fmt: skip
    spec = TableSpec(target="y", group_col="batch")
    a = train(df, spec, TrainConfig(models_dir=str(tmp_path / "a"), **fast), executor=LocalExecutor(2))  # fmt: skip
    b = train(df, spec, TrainConfig(models_dir=str(tmp_path / "b"), **fast), executor=dask_executor)  # fmt: skip
    fa, fb = a.metrics.folds(), b.metrics.folds()
    cols = [c for c in fa.columns if "time" not in c]
    pd.testing.assert_frame_equal(fa[cols], fb[cols])
    assert a.metrics.holdout() == b.metrics.holdout()
    assert a.metrics.tuning()[0]["best_params"] == b.metrics.tuning()[0]["best_params"]


def test_executor_names_are_checked(small_run, cli, tmp_path):
    with pytest.raises(ConfigError, match="dask://HOST:PORT"):
        make_executor("spark")
    run, df = small_run
    src = tmp_path / "in.parquet"
    df.drop(columns="y").head(5).to_parquet(src)
    res = cli("predict", src, "--out", tmp_path / "o.parquet", "--run", run.path,
              "--executor", "dask")  # fmt: skip
    assert res.exit_code == 2 and "single file is streamed here" in " ".join(res.output.split())
