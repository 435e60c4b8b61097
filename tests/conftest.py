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
