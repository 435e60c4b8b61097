"""Defects in predicting files (issue 13, items 1, 2, 5, 6): each was a crash, a lost
input or a silent wrong answer."""

import gzip

import numpy as np
import pandas as pd
import pytest

from .conftest import assert_refused


def _predict(cli, run_copy, src, out, *extra):
    models, _ = run_copy
    return cli("predict", src, "--out", out, "--models-dir", models, *extra)


# ---------------------------------------------------------------- 1. missing booleans
@pytest.mark.parametrize("how", ["object_none", "nullable_na"])
def test_a_missing_boolean_in_parquet_is_predicted_as_missing(cli, run_copy, inputs, tmp_path, how):
    df = inputs.copy()
    df["flag"] = df["flag"].astype(object if how == "object_none" else "boolean")
    df.loc[3, "flag"] = None if how == "object_none" else pd.NA
    src = tmp_path / "in.parquet"
    df.to_parquet(src)
    result = _predict(cli, run_copy, src, tmp_path / "out.parquet", "--chunk-rows", "10")
    assert result.exit_code == 0, result.output
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert len(out) == len(df) and out["score"].notna().all()


def test_a_missing_boolean_in_a_frame_is_predicted_like_training_does(run_copy, inputs):
    _, run = run_copy
    df = inputs.copy()
    df["flag"] = df["flag"].astype(object)
    df.loc[[1, 4], "flag"] = None
    pred = run.predict(df)
    assert pred["score"].notna().all()
    # the shipped pipeline itself treats a missing bool as missing: same score as
    # scoring the row with the training dtypes (float with NaN)
    X = inputs.copy()
    X["flag"] = X["flag"].astype(float)
    X.loc[[1, 4], "flag"] = np.nan
    raw = run.pipeline.predict_proba(X[run.schema.feature_names])[:, run.positive_code]
    np.testing.assert_allclose(pred["score"].to_numpy(), raw)


def test_a_bad_boolean_with_on_bad_values_null_is_predicted_as_missing(
    cli, run_copy, inputs, tmp_path
):
    df = inputs.astype({"flag": object})
    df.loc[2, "flag"] = "maybe"
    src = tmp_path / "in.csv"
    df.to_csv(src, index=False)
    result = _predict(cli, run_copy, src, tmp_path / "out.csv", "--on-bad-values", "null")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "out.csv")) == len(df)


def test_a_short_csv_row_reads_its_missing_cells_as_missing(cli, run_copy, inputs, tmp_path):
    src = tmp_path / "in.csv"
    inputs[["sample_id", "x1", "x2", "site", "visit", "flag"]].to_csv(src, index=False)
    lines = src.read_text().splitlines()
    lines[4] = ",".join(lines[4].split(",")[:-1])  # the row ends before its flag
    src.write_text("\n".join(lines) + "\n")
    result = _predict(cli, run_copy, src, tmp_path / "out.parquet")
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------------- 2. no aliasing
def test_predict_refuses_an_input_that_is_its_own_violations_report(
    cli, run_copy, inputs, tmp_path
):
    src = tmp_path / "out.parquet.violations.csv"
    inputs.to_csv(src, index=False)
    before = src.read_bytes()
    result = _predict(cli, run_copy, src, tmp_path / "out.parquet")
    assert_refused(result, "violations report", "is the input")
    assert src.read_bytes() == before
    bad = inputs.astype({"x1": object})
    bad.loc[0, "x1"] = "oops"
    bad.to_csv(src, index=False)
    before = src.read_bytes()
    result = _predict(cli, run_copy, src, tmp_path / "out.parquet")
    assert_refused(result, "is the input")
    assert src.read_bytes() == before


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_predict_refuses_an_output_that_is_a_link_to_the_input(
    cli, run_copy, inputs, tmp_path, link
):
    src = tmp_path / "in.csv"
    inputs.to_csv(src, index=False)
    before = src.read_bytes()
    alias = tmp_path / "alias.csv"
    (alias.symlink_to if link == "symlink" else alias.hardlink_to)(src)
    result = _predict(cli, run_copy, src, alias)
    assert_refused(result, "is the input")
    assert src.read_bytes() == before


# ---------------------------------------------------------- 5. ids, offsets, columns
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_id_column_empty_in_the_first_chunk_is_written(cli, run_copy, inputs, tmp_path, fmt):
    df = inputs.astype({"sample_id": object})
    df.loc[:19, "sample_id"] = None
    src = tmp_path / f"in.{fmt}"
    df.to_csv(src, index=False) if fmt == "csv" else df.to_parquet(src)
    result = _predict(cli, run_copy, src, tmp_path / "out.parquet", "--chunk-rows", "10")
    assert result.exit_code == 0, result.output
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out["sample_id"].isna().sum() == 20
    assert out["sample_id"].iloc[20:].tolist() == df["sample_id"].iloc[20:].tolist()


def test_dates_with_utc_offsets_are_read_as_utc(cli, run_copy, inputs, tmp_path):
    df = inputs.copy()
    df["visit"] = df["visit"] + "T02:00:00+02:00"
    src = tmp_path / "in.csv"
    df.to_csv(src, index=False)
    result = _predict(cli, run_copy, src, tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    mixed = df.copy()
    mixed.loc[::2, "visit"] = inputs.loc[::2, "visit"] + "T00:00:00Z"
    mixed.to_csv(src, index=False)
    result = _predict(cli, run_copy, src, tmp_path / "out2.csv")
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(
        pd.read_csv(tmp_path / "out.csv")["score"], pd.read_csv(tmp_path / "out2.csv")["score"]
    )


def test_a_parquet_input_with_a_duplicated_column_name_is_refused(cli, run_copy, inputs, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(inputs, preserve_index=False)
    table = table.append_column("x1", table.column("x2"))
    src = tmp_path / "dup.parquet"
    pq.write_table(table, src)
    result = _predict(cli, run_copy, src, tmp_path / "out.parquet")
    assert_refused(result, "x1", "more than once")
    assert not (tmp_path / "out.parquet").exists()


# ------------------------------------------------------------ 6. silent wrong answers
def test_csv_gz_output_is_gzip(cli, run_copy, inputs, tmp_path):
    src = tmp_path / "in.csv"
    inputs.to_csv(src, index=False)
    result = _predict(cli, run_copy, src, tmp_path / "out.csv.gz", "--chunk-rows", "7")
    assert result.exit_code == 0, result.output
    with gzip.open(tmp_path / "out.csv.gz", "rt") as fh:
        out = pd.read_csv(fh)
    assert len(out) == len(inputs) and out["sample_id"].tolist() == inputs["sample_id"].tolist()


@pytest.mark.parametrize("garbage", ["May", "-0", "1,5", "２０２４-０１-０１", "20240101", "12"])
def test_garbage_in_a_date_column_is_not_a_date(run_copy, inputs, garbage):
    from groupwise.exceptions import SchemaViolationError

    _, run = run_copy
    df = inputs.copy()
    df.loc[5, "visit"] = garbage
    with pytest.raises(SchemaViolationError, match="visit"):
        run.predict(df)


@pytest.mark.parametrize("column", ["x1", "flag", "visit"])
def test_an_empty_string_is_missing_in_parquet_as_in_csv(run_copy, inputs, tmp_path, column):
    _, run = run_copy
    df = inputs.copy()
    df[column] = df[column].astype(str)
    df.loc[[2, 7], column] = ["", "  "]
    csv = tmp_path / "in.csv"
    df.to_csv(csv, index=False)
    pq_path = tmp_path / "in.parquet"
    df.to_parquet(pq_path)
    a = run.predictor.predict_file(csv, tmp_path / "a.csv")
    b = run.predictor.predict_file(pq_path, tmp_path / "b.csv")
    assert a["rows"] == b["rows"] == len(df)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv"))


def test_zeroed_bytes_in_a_checksummed_parquet_file_are_detected(cli, run_copy, inputs, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "in.parquet"
    table = pa.Table.from_pandas(inputs, preserve_index=False)
    pq.write_table(table, src, compression="none", write_page_checksum=True)
    data = bytearray(src.read_bytes())
    # zero a stretch inside x1's values (a float column, uncompressed: plain bytes)
    needle = np.float64(inputs["x1"].iloc[10]).tobytes()
    at = bytes(data).index(needle)
    data[at : at + 16] = bytes(16)
    src.write_bytes(bytes(data))
    result = _predict(cli, run_copy, src, tmp_path / "out.parquet")
    assert_refused(result, "checksum")
    assert not (tmp_path / "out.parquet").exists()


def test_damaged_pandas_metadata_in_parquet_is_a_parse_error(cli, run_copy, inputs, tmp_path):
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(inputs, preserve_index=False)
    meta = json.loads(table.schema.metadata[b"pandas"])
    for col in meta["columns"]:
        col.pop("pandas_type", None)
    table = table.replace_schema_metadata({b"pandas": json.dumps(meta).encode()})
    src = tmp_path / "in.parquet"
    pq.write_table(table, src)
    result = _predict(cli, run_copy, src, tmp_path / "p.csv")
    assert_refused(result, "in.parquet")
    assert not (tmp_path / "p.csv").exists()
