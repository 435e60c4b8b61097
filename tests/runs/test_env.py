"""The environment a run records: the versions of the packages its model depends on."""

import importlib

import pytest

from groupwise.runs._env import environment


@pytest.mark.parametrize("module", ["numpy", "sklearn", "lightgbm", "xgboost", "shap"])
def test_every_importable_key_package_is_recorded_with_the_version_it_runs(module):
    try:
        imported = importlib.import_module(module)
    except ImportError:
        pytest.skip(f"{module} is not installed")
    name = {"sklearn": "scikit-learn"}.get(module, module)
    # the dev install takes XGBoost from the distribution 'xgboost-cpu'
    assert environment()["packages"][name] == imported.__version__
