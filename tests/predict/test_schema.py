import numpy as np
import pandas as pd
import pytest

from groupwise.predict import InputSchema, ValidationReport
from groupwise.spec import TableSpec


def _schema():
    df = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "x": [1.5, 2.0, 3.0],
            "n": np.array([1, 2, 3], dtype=np.int64),
            "flag": [True, False, True],
            "when": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
            "cat": pd.Categorical(["u", "v", "u"]),
            "g": ["p", "p", "q"],
            "y": [0, 1, 0],
        }
    )
    return InputSchema.capture(df, TableSpec(target="y", id_cols=["id"], group_col="g"))


def test_capture_records_kinds_ranges_and_categories():
    s = _schema()
    kinds = {f.name: f.kind for f in s.features}
    assert kinds == {
        "x": "numeric",
        "n": "numeric",
        "flag": "bool",
        "when": "datetime",
        "cat": "categorical",
    }
    x = next(f for f in s.features if f.name == "x")
    assert (x.min, x.max) == (1.5, 3.0)
    assert next(f for f in s.features if f.name == "cat").categories == ("u", "v")
    assert s.forbidden == ("y",) and s.ignored == ("g",) and s.id_cols == ("id",)
    assert InputSchema.from_dict(s.to_dict()) == s


def test_coerce_reads_text_and_reports_every_bad_value():
    s = _schema()
    chunk = pd.DataFrame(
        {
            "x": [" 2.5", "abc", "inf", None],
            "n": ["1", "2", "3.5", "4"],
            "flag": ["yes", "0", "maybe", None],
            "when": ["2024-05-01", "not a date", None, "2024-01-03"],
            "cat": ["u", "w", None, "v"],
            "extra": [1, 2, 3, 4],
        }
    )
    report = ValidationReport()
    s.check_columns(chunk.columns, report)
    X = s.coerce(chunk, report, row_offset=10)
    assert X["x"].tolist()[0] == 2.5 and np.isnan(X["x"].iloc[1]) and np.isnan(X["x"].iloc[3])
    codes = {(v.code, v.column): v for v in report.violations}
    assert codes[("UNCOERCIBLE_VALUE", "x")].count == 2
    assert [e["row"] for e in codes[("UNCOERCIBLE_VALUE", "x")].examples] == [11, 12]
    assert codes[("UNCOERCIBLE_VALUE", "flag")].examples[0]["value"] == "maybe"
    assert codes[("UNCOERCIBLE_VALUE", "when")].count == 1
    assert codes[("UNSEEN_CATEGORY", "cat")].count == 1
    assert codes[("OUT_OF_RANGE", "n")].count == 2  # 3.5 and 4 exceed the training max 3
    assert ("EXTRA_COLUMN", "extra") in codes
    assert not report.ok


def test_missing_and_forbidden_columns_are_errors_and_null_mode_downgrades_bad_values():
    s = _schema()
    report = ValidationReport(on_bad_values="null")
    s.check_columns(["x", "y", "g", "id"], report)
    errors = {(v.code, v.column) for v in report.errors}
    assert ("FORBIDDEN_COLUMN", "y") in errors and ("MISSING_COLUMN", "cat") in errors
    assert ("EXTRA_COLUMN", "g") not in {(v.code, v.column) for v in report.violations}
    report = ValidationReport(on_bad_values="null")
    s.coerce(pd.DataFrame({"x": ["bad"]}), report)
    assert report.ok and report.level_of(report.violations[0]) == "warning"


def test_text_dates_are_recorded_with_their_format_and_read_the_same_way():
    import pandas as pd

    from groupwise.predict import InputSchema, ValidationReport
    from groupwise.spec import TableSpec

    train = pd.DataFrame(
        {
            "visit": ["05/01/2024", "17/02/2024", "28/03/2024"] * 5,
            "x": range(15),
            "y": [0, 1, 0] * 5,
        }
    )
    schema = InputSchema.capture(train, TableSpec(target="y"))
    f = next(f for f in schema.features if f.name == "visit")
    assert f.kind == "datetime" and f.date_format == "%d/%m/%Y"
    report = ValidationReport()
    new = pd.DataFrame({"visit": ["05/01/2024", "2024-01-05", "May"], "x": [1, 2, 3]})
    out = schema.coerce(new, report)
    assert out["visit"].iloc[0] == pd.Timestamp("2024-01-05")
    bad = {v.code: v.count for v in report.violations}
    assert bad["UNCOERCIBLE_VALUE"] == 2  # another format and a month name are not dates here


@pytest.mark.parametrize("dtype", [object, "str", "string[python]"])
def test_blank_text_is_missing_in_every_string_storage_and_unseen_counts_at_any_size(dtype):
    # Arrow-backed text is trimmed in Arrow; the result must be Python's str.strip() rule
    s = _schema()
    texts = ["", " ", "\t\n", "\u00a0", "\u3000", "\x1c", "u", " u ", None, "\u200b", "w"]
    rows = texts * 10  # over the size at which the unseen-category check switches method
    chunk = pd.DataFrame({"cat": pd.Series(rows, dtype=dtype)})
    report = ValidationReport()
    X = s.coerce(chunk, report)
    blank = [v is None or not v.strip() for v in rows]
    assert X["cat"].isna().tolist() == blank
    unseen = [not b and v not in ("u", "v") for v, b in zip(rows, blank, strict=True)]
    (violation,) = [v for v in report.violations if v.code == "UNSEEN_CATEGORY"]
    assert violation.count == sum(unseen)  # " u ", "\u200b" and "w" in each copy
