import subprocess
import sys

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
