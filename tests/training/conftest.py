import pytest

from groupwise.datasets import generate_dataset
from groupwise.spec import TableSpec
from groupwise.training import TrainConfig, train

#: Small budgets keep the suite fast; the logic is the same as the defaults.
FAST = dict(
    tune_trials=3, bootstrap=200, permutation_repeats=2, models=("dummy", "linear", "hist_gb")
)


def grouped_table(seed=0, **kw):
    """A confounded grouped binary table: 36 batches (enough groups for a holdout plan) with
    per-feature batch offsets tied to the class."""
    X, y, _ = generate_dataset(
        **{"n_samples": 700, "n_informative": 6, "n_noise": 4, "class_sep": 1.5, "n_batches": 36, "batch_sd": 2.0,
           "batch_effect": "per_feature", "confounding": 0.9, "n_categorical": 1, "missing_rate": 0.03, "random_state": seed, **kw}
    )  # fmt: skip
    df = X.assign(y=y)
    df.insert(0, "sample_id", [f"s{i:05d}" for i in range(len(df))])
    return df


@pytest.fixture(scope="session")
def grouped_run(tmp_path_factory):
    """One confounded grouped binary run shared by many tests."""
    models = tmp_path_factory.mktemp("models")
    df = grouped_table()
    run = train(
        df,
        TableSpec(target="y", group_col="batch", id_cols=["sample_id"]),
        TrainConfig(models_dir=str(models), **FAST),
    )
    return run, df
