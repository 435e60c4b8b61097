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
