"""One way to read dates, for every stage: the audit, training's pipelines and splits, and
the prediction schema.

Text is read as dates only when it looks like dates (a strict pattern, not a lenient
parser: "May", "-0" or "1,5" are not dates), with one format inferred from the column
and recorded, so that the same text gives the same time stamp in CSV and Parquet, at
training and at prediction. Time stamps with a UTC offset become naive UTC.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["DATE_RE", "infer_date_format", "looks_like_dates", "parse_dates", "sample_present"]

DATE_RE = re.compile(
    r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?"
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?"
    r"|\d{1,2} [A-Za-z]{3,9} \d{4})\s*$"
)
#: Formats tried in order; the first that reads (almost) every sampled value wins.
_FORMATS = (
    "ISO8601",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%d %b %Y",
    "%d %B %Y",
)
_SAMPLE = 500


def sample_present(s: pd.Series, n: int, seed: int = 0) -> pd.Series:
    """Up to ``n`` of the non-missing values of ``s`` (a seeded sample, in row order).

    Draws positions without touching the other rows: on a long column this costs the
    missing-value mask and ``n`` draws, not a shuffle of the column."""
    present = np.flatnonzero(s.notna().to_numpy())
    if len(present) > n:
        present = np.sort(np.random.default_rng(seed).choice(present, n, replace=False))
    return s.iloc[present]


def _text_sample(s: pd.Series, n: int = _SAMPLE) -> pd.Series:
    return sample_present(s, n).astype(str).str.strip()


def _parse(text: pd.Series, fmt: str) -> pd.Series:
    """Parse with ``fmt``; time stamps with offsets become naive UTC; failures NaT."""
    utc = fmt == "ISO8601" and bool(text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True).any())
    out = pd.to_datetime(text, format=fmt, errors="coerce", utc=utc)
    if utc:
        out = out.dt.tz_convert(None)
    return out


def infer_date_format(s: pd.Series) -> str | None:
    """The format that reads ≥ 99% of a sample of ``s`` as dates, or None."""
    text = _text_sample(s)
    if not len(text):
        return None
    for fmt in _FORMATS:
        with np.errstate(all="ignore"):
            ok = _parse(text, fmt).notna().mean()
        if ok >= 0.99:
            return fmt
    return None


def looks_like_dates(s: pd.Series) -> bool:
    """True for a text column whose values (a sample) match a date pattern and read as dates."""
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return False
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return True
    text = _text_sample(s)
    if len(text) < 3 or text.str.match(DATE_RE).mean() < 0.9:
        return False
    return infer_date_format(s) is not None


def parse_dates(s: pd.Series, fmt: str | None = None) -> tuple[pd.Series, np.ndarray, str | None]:
    """``(datetime64[ns] values, mask of values that are not dates, format used)``.

    Datetime columns pass through (offsets converted to naive UTC). Text is read with
    ``fmt`` (inferred from the column when None); missing values stay missing and are
    not counted as bad.
    """
    missing = s.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s
        if getattr(s.dt, "tz", None) is not None:
            out = s.dt.tz_convert(None)
        return out.astype("datetime64[ns]"), np.zeros(len(s), dtype=bool), None
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]"), ~missing, fmt
    fmt = fmt or infer_date_format(s) or "ISO8601"
    # dates repeat (a few thousand days cover years of rows): each distinct text is read
    # once and the result mapped back to the rows
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    values = [str(v).strip() for v in np.asarray(uniques, dtype=object)]
    matches = np.array([bool(DATE_RE.match(v)) for v in values], dtype=bool)
    text = pd.Series(values, dtype=object).where(matches, None)
    read = _parse(text, fmt).astype("datetime64[ns]").to_numpy()
    unreadable = np.isnat(read) | ~matches
    present = codes >= 0
    stamps = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[ns]")
    stamps[present] = read[codes[present]]
    bad = np.zeros(len(s), dtype=bool)
    bad[present] = unreadable[codes[present]]
    return pd.Series(stamps, index=s.index), bad, fmt
