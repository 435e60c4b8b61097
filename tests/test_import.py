import subprocess
import sys

import pytest

HEAVY = {
    "typer",
    "rich",
    "matplotlib",
    "sklearn",
    "lightgbm",
    "xgboost",
    "shap",
    "mlflow",
    "dask",
    "torch",
    "pymc",
    "statsmodels",
    "optuna",
    "click",
}


def test_import_groupwise_pulls_in_no_ui_or_heavy_libraries():
    code = "import sys, groupwise; print(','.join(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = set(
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
        .stdout.strip()
        .split(",")
    )
    assert not (loaded & HEAVY), loaded & HEAVY


def test_public_api_is_listed_and_resolves():
    import groupwise

    for name in groupwise.__all__:
        assert getattr(groupwise, name) is not None


def test_the_train_command_checks_its_input_before_loading_scikit_learn():
    # `groupwise train` starts its workers after these checks and before scikit-learn
    # loads; a missing table or an unusable models directory is refused without it
    code = (
        "import sys, groupwise.cli; from groupwise.runs import check_models_dir; "
        "from groupwise.io import read_table; "
        "print(','.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = set(
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
        .stdout.strip()
        .split(",")
    )
    assert "sklearn" not in loaded and "lightgbm" not in loaded


def test_the_run_api_resolves_lazily():
    import groupwise.runs as runs

    for name in runs.__all__:
        assert getattr(runs, name) is not None
    with pytest.raises(AttributeError, match="NoSuchThing"):
        runs.NoSuchThing  # noqa: B018
