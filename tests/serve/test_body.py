"""Request bodies become the frames a file would: dtypes that coerce like a file's."""

import numpy as np
import pandas as pd
import pytest

from groupwise.serve._body import BadRequest, _column, frame_from_body, table_format_of


def test_json_columns_keep_what_the_schema_needs():
    assert _column([1, 2]).dtype == np.int64
    ints_and_nulls = _column([1, None])  # category codes keep their spelling: 1, not 1.0
    assert ints_and_nulls.dtype == object and ints_and_nulls.tolist() == [1, None]
    floats = _column([1.5, None, 2])
    assert floats.dtype == np.float64 and np.isnan(floats[1]) and floats[2] == 2.0
    assert _column(["a", 1]).dtype == object
    assert _column([True, False]).dtype == object  # booleans are not numbers here
    assert _column([2**70]).dtype == object  # beyond int64


def test_records_and_split_bodies_give_the_same_frame():
    a = frame_from_body(b'[{"x": 1.5, "c": "u"}, {"x": null, "c": null}]', "application/json")
    b = frame_from_body(b'{"columns": ["x", "c"], "data": [[1.5, "u"], [null, null]]}', None)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["x", "c"] and len(a) == 2


def test_csv_is_read_as_text_like_the_cli_reads_a_file():
    df = frame_from_body(b"x,c\n1.50,007\n,\n", "text/csv; charset=utf-8")
    assert df["c"].tolist()[0] == "007" and df["x"].tolist()[0] == "1.50"
    assert df.isna().iloc[1].all()


@pytest.mark.parametrize(
    ("name", "ctype", "data", "fmt"),
    [("a.CSV", "", b"", "csv"), ("a.parquet", "text/csv", b"", "parquet"), (None, "text/tab-separated-values", b"", "tsv"),
     (None, "application/octet-stream", b"PAR1...", "parquet"), (None, "application/octet-stream", b"x", None)],
)  # fmt: skip
def test_the_table_format_comes_from_the_name_then_the_type_then_the_bytes(name, ctype, data, fmt):
    assert table_format_of(name, ctype, data) == fmt


def test_a_body_without_a_type_that_is_not_json_is_refused_with_415():
    with pytest.raises(BadRequest) as e:
        frame_from_body(b"x,y\n1,2\n", None)
    assert e.value.status == 415 and "Content-Type" in e.value.message
