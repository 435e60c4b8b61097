"""A small run with every feature kind (number, bool, category, text date) and an id,
and helpers to run the command line and judge how it failed."""

import shutil

import numpy as np
import pandas as pd
import pytest


def make_table(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "sample_id": [f"s{i}" for i in range(n)],
            "batch": [f"b{i % 8}" for i in range(n)],
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "flag": rng.random(n) < 0.5,
            "site": rng.choice(["a", "b", "c"], n),
            "visit": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        }
    )
    signal = df["x1"] + 0.5 * df["flag"] + rng.normal(size=n)
    df["y"] = np.where(signal > 0, "yes", "no")
    return df


FAST = dict(
    models=("dummy", "linear"), tune_trials=0, bootstrap=200, permutation_repeats=0,
    learning_curve=False, naive_cv=False, audit=False,
)  # fmt: skip


@pytest.fixture(scope="session")
def kinds_run(tmp_path_factory):
    """``(run, table)``: a trained binary run over every feature kind."""
    from groupwise.spec import TableSpec
    from groupwise.training import TrainConfig, train

    df = make_table()
    models = tmp_path_factory.mktemp("kinds_models")
    spec = TableSpec(target="y", group_col="batch", id_cols=["sample_id"])
    run = train(df, spec, TrainConfig(models_dir=str(models), **FAST))
    return run, df


@pytest.fixture
def run_copy(kinds_run, tmp_path):
    """A private copy of the models directory (safe to tamper with); returns (models, run)."""
    from groupwise.runs import load_run

    run, _ = kinds_run
    models = tmp_path / "models"
    shutil.copytree(run.models_dir, models)
    return models, load_run(run.run_id, models)


@pytest.fixture
def inputs(kinds_run):
    """Rows to predict (features and id, no target)."""
    _, df = kinds_run
    return df.drop(columns="y").head(60).reset_index(drop=True)


def assert_refused(result, *words):
    """A clean refusal: exit 2, a message on stderr, no traceback."""
    text = result.output
    assert result.exit_code == 2, text
    assert "Traceback" not in text and "internal error" not in text, text
    flat = " ".join(text.split())
    dense = "".join(text.split())  # long words (paths) may wrap anywhere
    for w in words:
        assert w in flat or "".join(w.split()) in dense, flat
