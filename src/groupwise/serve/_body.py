"""Request bodies → DataFrames, with no web framework involved (so it is testable alone).

A body is JSON (a list of records, or ``{"columns": [...], "data": [[...], ...]}``), a
CSV/TSV/Parquet file sent as the body, or a ``multipart/form-data`` upload with the file
in a field named ``file``. Nothing here touches the filesystem: uploads are parsed in
memory. Every refusal is a :class:`BadRequest` with an HTTP status, a reason code and a
message that says what was expected.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from groupwise.exceptions import DataError, FileFormatError
from groupwise.io import read_table_bytes

__all__ = ["BadRequest", "frame_from_body", "table_format_of"]

#: Content types (without parameters) and the table format they carry.
_TABLE_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    "application/parquet": "parquet",
}
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
_PARQUET_MAGIC = b"PAR1"


class BadRequest(Exception):
    """A request the server refuses: ``status`` (400, 413, 415 or 422), ``code``, ``message``."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message}


def _media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    if not content_type:
        return "", {}
    head, *params = content_type.split(";")
    parsed = {}
    for p in params:
        k, _, v = p.strip().partition("=")
        parsed[k.strip().lower()] = v.strip().strip('"')
    return head.strip().lower(), parsed


def table_format_of(filename: str | None, media_type: str, data: bytes) -> str | None:
    """The table format of an upload: its file extension, else its content type, else the
    Parquet magic bytes; None when none of them says."""
    if filename:
        name = filename.lower()
        for ext, fmt in _EXTENSIONS.items():
            if name.endswith(ext):
                return fmt
    if media_type in _TABLE_TYPES:
        return _TABLE_TYPES[media_type]
    if data[:4] == _PARQUET_MAGIC:
        return "parquet"
    return None


def frame_from_body(body: bytes, content_type: str | None) -> pd.DataFrame:
    """The rows a ``POST /predict`` body carries, as a DataFrame (see the module doc)."""
    media, _ = _media_type(content_type)
    if media == "application/json" or (not media and body.lstrip()[:1] in (b"[", b"{")):
        return _frame_from_json(body)
    if media == "multipart/form-data":
        return _frame_from_multipart(body, content_type or "")
    fmt = table_format_of(None, media, body)
    if fmt is None:
        raise BadRequest(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"Expected a JSON body (Content-Type: application/json), a CSV/TSV/Parquet file "
            f"(text/csv, text/tab-separated-values, application/vnd.apache.parquet) or a "
            f"multipart/form-data upload with a field 'file'. Got Content-Type "
            f"{content_type or '(none)'!r} instead.",
        )
    return _read_table(body, fmt, "the request body")


def _read_table(data: bytes, fmt: str, what: str) -> pd.DataFrame:
    try:
        return read_table_bytes(data, fmt, what=what)
    except (DataError, FileFormatError) as exc:
        raise BadRequest(
            400 if isinstance(exc, FileFormatError) else 422, "BAD_TABLE", str(exc)
        ) from None


# ----------------------------------------------------------------------------- JSON
_SHAPES = (
    'Expected a JSON list of records ([{"column": value, ...}, ...]) or an object '
    '{"columns": [names], "data": [[row values], ...]}'
)


def _frame_from_json(body: bytes) -> pd.DataFrame:
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(
            400, "MALFORMED_JSON", f"The request body is not valid JSON: {exc}. {_SHAPES}."
        ) from None
    if isinstance(doc, list):
        return _records(doc)
    if isinstance(doc, dict) and set(doc) >= {"columns", "data"}:
        return _split(doc["columns"], doc["data"])
    got = (
        type(doc).__name__
        if not isinstance(doc, dict)
        else f"an object with keys {sorted(doc)[:5]}"
    )
    raise BadRequest(422, "BAD_REQUEST_SHAPE", f"{_SHAPES}. Got {got} instead.")


def _scalar_ok(v: Any) -> bool:
    return v is None or isinstance(v, (str, bool, int, float))


def _bad_value(where: str, v: Any) -> BadRequest:
    return BadRequest(
        422,
        "BAD_REQUEST_SHAPE",
        f"{where} holds a {type(v).__name__}; every value must be a string, number, boolean "
        "or null (one value per cell).",
    )


def _records(rows: list) -> pd.DataFrame:
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            raise BadRequest(
                422, "BAD_REQUEST_SHAPE",
                f"{_SHAPES}. Record {i} is a {type(r).__name__}, not an object.",
            )  # fmt: skip
        for k, v in r.items():
            if not _scalar_ok(v):
                raise _bad_value(f"Record {i}, field {k!r},", v)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    return _frame(columns, [[r.get(c) for r in rows] for c in columns]) if rows else pd.DataFrame()


def _split(columns: Any, data: Any) -> pd.DataFrame:
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise BadRequest(
            422, "BAD_REQUEST_SHAPE", f"{_SHAPES}. 'columns' must be a list of strings."
        )
    dup = sorted({c for c in columns if columns.count(c) > 1})
    if dup:
        raise BadRequest(
            422, "BAD_REQUEST_SHAPE",
            f"Expected each name once in 'columns'; {', '.join(map(repr, dup))} appear(s) more "
            "than once. Rename or drop the duplicates.",
        )  # fmt: skip
    if not isinstance(data, list):
        raise BadRequest(422, "BAD_REQUEST_SHAPE", f"{_SHAPES}. 'data' must be a list of rows.")
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            size = len(row) if isinstance(row, list) else type(row).__name__
            raise BadRequest(
                422, "BAD_REQUEST_SHAPE",
                f"Row {i} of 'data' must be a list of {len(columns)} values (one per column); "
                f"got {size}.",
            )  # fmt: skip
        for c, v in zip(columns, row, strict=True):
            if not _scalar_ok(v):
                raise _bad_value(f"Row {i}, column {c!r},", v)
    if not data:
        return pd.DataFrame(columns=columns)
    return _frame(columns, [list(col) for col in zip(*data, strict=True)])


def _column(values: list) -> np.ndarray:
    """One column's JSON values as an array the schema's coercion reads like a file's:
    numbers as float64 (int64 when every value is an integer), anything else as objects.
    No dtype is guessed from text; a column of integers and nulls stays objects, so that
    category codes keep their spelling (``1``, not ``1.0``)."""
    kinds = {type(v) for v in values}
    if kinds <= {int}:
        try:
            return np.asarray(values, dtype=np.int64)
        except OverflowError:
            return np.asarray(values, dtype=object)
    if kinds <= {int, float, type(None)} and float in kinds:
        return np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _frame(columns: list[str], values: list[list]) -> pd.DataFrame:
    return pd.DataFrame({c: _column(v) for c, v in zip(columns, values, strict=True)}, copy=False)


# ------------------------------------------------------------------------ multipart
def _frame_from_multipart(body: bytes, content_type: str) -> pd.DataFrame:
    """The table in the form field ``file`` (or the only file part) of a multipart body,
    parsed with the standard library's MIME parser, in memory."""
    from email.parser import BytesParser
    from email.policy import HTTP

    _, params = _media_type(content_type)
    if not params.get("boundary"):
        raise BadRequest(
            400, "MALFORMED_MULTIPART",
            "Expected a boundary parameter in the multipart/form-data Content-Type; it has "
            "none. Let the HTTP client build the upload (e.g. curl -F file=@rows.csv).",
        )  # fmt: skip
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    msg = BytesParser(policy=HTTP).parsebytes(head + body)
    parts = list(msg.iter_parts()) if msg.is_multipart() else []
    files = [
        p
        for p in parts
        if p.get_filename() is not None
        or p.get_param("name", header="content-disposition") == "file"
    ]
    chosen = [
        p for p in files if p.get_param("name", header="content-disposition") == "file"
    ] or files
    if not chosen:
        raise BadRequest(
            422, "MISSING_FILE",
            "The multipart/form-data upload has no file field; send the table in a field "
            "named 'file' (e.g. curl -F file=@rows.csv).",
        )  # fmt: skip
    part = chosen[0]
    data = part.get_payload(decode=True) or b""
    filename = part.get_filename()
    fmt = table_format_of(filename, part.get_content_type(), data)
    if fmt is None:
        raise BadRequest(
            415, "UNSUPPORTED_MEDIA_TYPE",
            f"The uploaded file {filename!r} is not a table groupwise reads: expected a name "
            "ending .csv, .tsv or .parquet (or a Parquet file).",
        )  # fmt: skip
    return _read_table(data, fmt, f"the uploaded file {filename or 'file'!r}")
