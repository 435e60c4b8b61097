import pandas as pd
import pytest

from groupwise.audit import audit
from groupwise.datasets import generate_dataset
from groupwise.spec import TableSpec


def table(**kwargs) -> pd.DataFrame:
    """A generated table (features, batch/subject, y) with sensible small defaults."""
    defaults = dict(n_samples=500, n_informative=5, n_noise=5, class_sep=1.5, random_state=0)
    X, y, _ = generate_dataset(**{**defaults, **kwargs})
    return X.assign(y=y)


def findings(df, code, **spec):
    """Run one check; return (findings, report)."""
    report = audit(df, TableSpec(target=spec.pop("target", "y"), **spec), checks=[code])
    return report.by_code(code), report


@pytest.fixture
def make():
    return table


@pytest.fixture
def check():
    return findings


def model_context(**overrides):
    """A ModelContext of a binary classifier whose numbers raise no MODEL finding."""
    from groupwise.audit import ModelContext

    folds = pd.DataFrame(
        {
            "candidate": ["dummy"] * 3 + ["linear"] * 3,
            "fold": [0, 1, 2] * 2,
            "roc_auc": [0.5, 0.5, 0.5, 0.80, 0.82, 0.81],
            "train_roc_auc": [0.5, 0.5, 0.5, 0.84, 0.85, 0.83],
        }
    )
    ctx = dict(
        task="classification", metric="roc_auc", selected="linear",
        cv={"linear": 0.81, "dummy": 0.5}, folds=folds,
        holdout={"roc_auc": {"estimate": 0.80, "ci_low": 0.74, "ci_high": 0.86}},
        improvement_over_dummy={"estimate": 0.3, "ci_low": 0.2, "ci_high": 0.4},
        holdout_groups=None, naive_vs_grouped=None,
        importance=pd.DataFrame({"feature": ["a", "b", "c"], "importance_mean": [0.05, 0.04, 0.03]}),
        calibration={"ece": 0.02, "brier": 0.15},
    )  # fmt: skip
    ctx.update(overrides)
    return ModelContext(**ctx)


def run_model_check(code, ctx):
    from groupwise.audit import MODEL_CHECKS, run_checks

    check = next(c for c in MODEL_CHECKS if c.code == code)
    return run_checks([check()], ctx)


@pytest.fixture
def model_ctx():
    return model_context


@pytest.fixture
def model_check():
    return run_model_check
