import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def runner():
    from typer.testing import CliRunner

    return CliRunner()


@pytest.fixture
def cli(runner):
    """Invoke the groupwise CLI; returns the click Result."""
    from groupwise.cli import app

    def invoke(*args, **kwargs):
        return runner.invoke(app, [str(a) for a in args], **kwargs)

    return invoke


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    """A small trained binary run with an id, a group and a categorical feature."""
    from groupwise.datasets import generate_dataset
    from groupwise.spec import TableSpec
    from groupwise.training import TrainConfig, train

    X, y, _ = generate_dataset(
        n_samples=500,
        n_informative=4,
        n_noise=2,
        n_batches=6,
        n_categorical=1,
        missing_rate=0.02,
        random_state=11,
    )
    df = X.assign(y=y)
    df.insert(0, "sample_id", [f"s{i:04d}" for i in range(len(df))])
    models = tmp_path_factory.mktemp("small_models")
    cfg = TrainConfig(
        models_dir=str(models),
        tune_trials=2,
        bootstrap=200,
        permutation_repeats=1,
        learning_curve=False,
        models=("dummy", "linear", "hist_gb"),
    )
    run = train(df, TableSpec(target="y", group_col="batch", id_cols=["sample_id"]), cfg)
    return run, df


@pytest.fixture
def serve_process():
    """Start ``python -m groupwise serve ARGS...`` (loopback, bounded waits); returns
    ``(base_url, process, output_lines)``. The process is killed at teardown if still up."""
    import subprocess
    import sys
    import threading
    import time

    started = []

    def start(*args, env=None):
        proc = subprocess.Popen(
            [sys.executable, "-m", "groupwise", "serve", *map(str, args)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **(env or {})},
        )  # fmt: skip
        started.append(proc)
        lines: list[str] = []
        threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()  # fmt: skip
        deadline = time.monotonic() + 60
        while not any("serving run" in ln for ln in lines):
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the server did not report its address"
            time.sleep(0.05)
        line = next(ln for ln in lines if "serving run" in ln)
        return line.split(" at ")[1].split()[0].rstrip("/"), proc, lines

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def tampered_copy(tmp_path):
    """``make(run)``: a copy of the run directory whose model file has one byte flipped."""
    import shutil

    def make(run):
        copy = tmp_path / "runs" / run.path.name
        shutil.copytree(run.path, copy)
        model = copy / "model" / "model.skops"
        data = bytearray(model.read_bytes())
        data[len(data) // 2] ^= 0xFF
        model.write_bytes(bytes(data))
        return copy

    return make
