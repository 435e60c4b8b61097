"""Acknowledging one finding: --accept CODE:COLUMN keeps it, marked, out of fail_on."""

import pytest

from groupwise.audit import audit
from groupwise.exceptions import ConfigError
from groupwise.spec import TableSpec


def test_accepted_finding_stays_marked_and_no_longer_fails(make):
    df = make(leak_target_proxy=True, n_batches=4)
    spec = TableSpec(target="y", group_col="batch")
    plain = audit(df, spec, checks=["LEAK001"])
    assert plain.exit_code("error") == 1
    report = audit(
        df, spec, checks=["LEAK001"], accept={"LEAK001:leak_proxy": "measured at admission"}
    )
    f = report.by_code("LEAK001")[0]
    assert f.accepted == "measured at admission" and f.severity == "error"
    assert report.exit_code("error") == 0 and report.counts()["accepted"] == 1
    assert report.to_dict()["findings"][0]["accepted"] == "measured at admission"
    assert "accepted: measured at admission" in report.to_markdown()


def test_accepting_one_column_does_not_hide_another(make):
    import numpy as np

    df = make(n_samples=600, n_informative=2, class_sep=3.0)
    df["other_leak"] = df["y"] + np.random.default_rng(0).normal(0, 0.01, len(df))
    report = audit(df, TableSpec(target="y"), checks=["LEAK001"], accept=["LEAK001:i1"])
    open_ = [f for f in report.findings if f.accepted is None]
    assert any("other_leak" in f.columns for f in open_)
    assert report.exit_code("error") == 1


def test_bad_acceptances_are_config_errors_with_hints(make):
    df, spec = make(), TableSpec(target="y")
    with pytest.raises(ConfigError, match="Did you mean 'LEAK001'"):
        audit(df, spec, accept=["LEAK01:i1"])
    with pytest.raises(ConfigError, match="not in the table"):
        audit(df, spec, accept=["LEAK001:nope"])
    with pytest.raises(ConfigError, match="CODE:COLUMN"):
        audit(df, spec, accept=["LEAK001"])
