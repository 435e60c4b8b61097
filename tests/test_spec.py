import numpy as np
import pandas as pd
import pytest

from groupwise.exceptions import (
    ColumnNotFoundError,
    ConfigError,
    DataError,
    GroupwiseWarning,
    SpecError,
)
from groupwise.spec import TableSpec, infer_task


@pytest.fixture
def df():
    return pd.DataFrame(
        {
            "id": range(8),
            "batch": list("aabbccdd"),
            "x1": np.arange(8.0) * 0.5,
            "x2": list("uvuvuvuv"),
            "y": [0, 1, 0, 1, 0, 1, 0, 1],
        }
    )


def test_tablespec_features_exclude_every_role(df):
    spec = TableSpec(target="y", id_cols=["id"], group_col="batch")
    assert spec.features(df) == ["x1", "x2"]


def test_tablespec_unknown_column_lists_available_with_hint(df):
    with pytest.raises(ColumnNotFoundError, match=r"group_col 'btach' Did you mean 'batch'\?") as e:
        TableSpec(target="y", group_col="btach").resolve(df)
    assert "Available columns" in str(e.value)


def test_tablespec_rejects_a_column_with_two_roles():
    with pytest.raises(SpecError, match="two roles"):
        TableSpec(target="y", id_cols=["y"])


def test_tablespec_rejects_bad_task():
    with pytest.raises(ConfigError, match="Did you mean 'regression'"):
        TableSpec(target="y", task="regresion")


def test_tablespec_resolve_infers_task_and_pos_label(df):
    spec = TableSpec(target="y").resolve(df)
    assert spec.task == "classification"
    assert spec.pos_label == 1
    reg = TableSpec(target="x1", drop_cols=["x2"]).resolve(df)
    assert reg.task == "regression" and reg.pos_label is None


def test_tablespec_string_target_positive_is_minority():
    df = pd.DataFrame({"x": range(10), "y": ["control"] * 7 + ["case"] * 3})
    assert TableSpec(target="y").resolve(df).pos_label == "case"
    assert TableSpec(target="y", pos_label="control").resolve(df).pos_label == "control"
    with pytest.raises(SpecError, match="not a class"):
        TableSpec(target="y", pos_label="sick").resolve(df)


def test_tablespec_warns_with_count_of_rows_with_missing_target(df):
    df.loc[[1, 4], "y"] = np.nan
    with pytest.warns(GroupwiseWarning, match="missing in 2 of 8 rows"):
        spec = TableSpec(target="y").resolve(df)
    assert spec.task == "classification"  # integral floats with two values


def test_tablespec_errors_on_empty_and_all_missing_targets(df):
    with pytest.raises(DataError, match="no rows"):
        TableSpec(target="y").resolve(df.iloc[:0])
    df["y"] = np.nan
    with pytest.raises(DataError, match="has no values"):
        TableSpec(target="y").resolve(df)


def test_tablespec_single_class_is_an_error(df):
    df["y"] = 1
    with pytest.raises(DataError, match="single class"):
        TableSpec(target="y").resolve(df)


def test_tablespec_round_trips_through_dict():
    spec = TableSpec(target="y", id_cols=("a", "b"), group_col="g", time_col="t", pos_label=1)
    assert TableSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ConfigError, match="unknown option"):
        TableSpec.from_dict({"target": "y", "grup_col": "g"})


@pytest.mark.parametrize(
    ("values", "task"),
    [
        ([0, 1, 1, 0], "classification"),
        ([True, False, True, True], "classification"),
        (["a", "b", "a", "c"], "classification"),
        (list(range(50)), "regression"),
        ([0.5, 1.5, 2.0, 3.25], "regression"),
    ],
)
def test_infer_task(values, task):
    assert infer_task(pd.Series(values))[0] == task


@pytest.mark.parametrize(
    ("labels", "positive"),
    [
        (
            ["Democracy"] * 30 + ["Non-democracy"] * 70,
            "Democracy",
        ),  # the minority would say otherwise
        (["yes"] * 80 + ["no"] * 20, "yes"),
        (["control"] * 20 + ["tumour"] * 80, "tumour"),
        (["Healthy"] * 10 + ["Sick"] * 90, "Sick"),
        (["a"] * 70 + ["b"] * 30, "b"),  # no name says anything: the less frequent class
    ],
)
def test_the_positive_class_follows_the_naming_rule_then_the_minority(labels, positive):
    from groupwise.spec import resolve_pos_label

    assert resolve_pos_label(pd.Series(labels)) == positive


def test_pos_label_overrides_the_naming_rule():
    from groupwise.spec import resolve_pos_label

    assert resolve_pos_label(pd.Series(["yes", "no", "no"]), "no") == "no"
