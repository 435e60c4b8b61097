"""Defects in what train and audit accept (issue 13, items 5, 6 and 7's reserved names)."""

import pandas as pd
import pytest

from groupwise.exceptions import DataError, SpecError
from groupwise.spec import TableSpec

from .conftest import FAST, assert_refused, make_table


@pytest.mark.parametrize(
    "values, kind",
    [
        ([b"ab", b"cd"], "bytes"),
        ([[1, 2], [3]], "list"),
        ([{"a": 1}, {"a": 2}], "dict"),
    ],
)
def test_nested_or_binary_feature_columns_are_refused_by_name(values, kind):
    df = make_table(40)
    df["odd"] = [values[i % 2] for i in range(len(df))]
    with pytest.raises(DataError, match=r"'odd'.*" + kind):
        TableSpec(target="y").resolve(df)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_train_refuses_a_struct_column_from_a_file_with_exit_2(cli, tmp_path, fmt):
    df = make_table(60)
    df["odd"] = [{"a": i} for i in range(len(df))]
    src = tmp_path / f"t.{fmt}"
    if fmt == "parquet":
        df.to_parquet(src)
        result = cli("train", src, "--target", "y", "--models-dir", tmp_path / "m")
        assert_refused(result, "'odd'")
        assert not (tmp_path / "m" / "runs").exists() or not any(
            (tmp_path / "m" / "runs").iterdir()
        )
    else:  # in CSV a struct is just text: a categorical column, not an error
        df.to_csv(src, index=False)
        cfg = ["--models", "dummy", "--tune-trials", "0", "--no-audit", "--bootstrap", "100"]
        result = cli("train", src, "--target", "y", "--models-dir", tmp_path / "m", *cfg)
        assert result.exit_code == 0, result.output


def test_a_frame_with_a_duplicated_column_name_is_refused():
    df = make_table(40)
    df.insert(2, "x1", 0.0, allow_duplicates=True)
    with pytest.raises(DataError, match="more than once"):
        TableSpec(target="y").resolve(df)


@pytest.mark.parametrize("name", ["prediction", "score", "proba_yes", "proba_"])
def test_id_columns_may_not_take_an_output_column_name(name):
    with pytest.raises(SpecError, match="prediction"):
        TableSpec(target="y", id_cols=[name])


def test_cli_refuses_a_reserved_id_before_training(cli, tmp_path):
    df = make_table(60).rename(columns={"sample_id": "prediction"})
    src = tmp_path / "t.csv"
    df.to_csv(src, index=False)
    result = cli("train", src, "--target", "y", "--id", "prediction", "--models-dir", tmp_path)
    assert_refused(result, "'prediction'")
    assert not (tmp_path / "runs").exists()


def _offset_table():
    df = make_table(160)
    stamps = pd.date_range("2024-01-01", periods=len(df), freq="D")
    text = stamps.strftime("%Y-%m-%dT%H:%M:%S").astype(str)
    # half in UTC ("Z"), half with a +02:00 offset: one instant per row, mixed spellings
    df["when"] = [t + ("Z" if i % 2 else "+02:00") for i, t in enumerate(text)]
    return df.drop(columns=["visit"])


def test_train_by_time_on_stamps_with_mixed_utc_offsets(tmp_path):
    from groupwise.training import TrainConfig, train

    df = _offset_table()
    run = train(
        df, TableSpec(target="y", time_col="when"), TrainConfig(models_dir=str(tmp_path), **FAST)
    )
    assert "by 'when'" in run.run_meta.split_plan["holdout_strategy"]


def test_audit_on_stamps_with_mixed_utc_offsets(cli, tmp_path):
    df = _offset_table()
    df["measured"] = df["when"]  # a date feature with offsets, too
    src = tmp_path / "t.csv"
    df.to_csv(src, index=False)
    result = cli("audit", src, "--target", "y", "--time", "when", "--out", tmp_path / "a")
    assert result.exit_code in (0, 1), result.output
    assert "could not run" not in result.output and "Traceback" not in result.output
