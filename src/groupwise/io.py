"""Reading and writing tables and files, safely.

- Tables are Parquet (``.parquet``, ``.pq``) or CSV (``.csv``, ``.tsv``, ``.csv.gz``),
  chosen by extension.
- Every write goes to a temporary file in the destination's directory and is
  renamed into place when complete, so a crash never leaves a half-written file.
- Large inputs can be read in chunks of rows (:func:`iter_table_chunks`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from groupwise.exceptions import (
    DataError,
    EnvironmentFault,
    FileFormatError,
    GroupwiseError,
    InputFileNotFoundError,
    environment_errno,
)

__all__ = [
    "atomic_path",
    "count_rows",
    "read_json",
    "read_parquet_metadata",
    "read_table",
    "read_table_bytes",
    "same_file",
    "check_outputs",
    "check_writable",
    "sha256_file",
    "table_fingerprint",
    "table_columns",
    "table_format",
    "iter_table_chunks",
    "json_bytes",
    "to_jsonable",
    "write_bytes",
    "write_json",
    "write_table",
    "write_text",
]

_FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".csv.gz": "csv",
    ".tsv": "tsv",
}


def table_format(path: str | os.PathLike) -> str:
    """Return ``"parquet"``, ``"csv"`` or ``"tsv"`` from the file name's extension."""
    name = Path(path).name.lower()
    for ext in sorted(_FORMATS, key=len, reverse=True):
        if name.endswith(ext):
            return _FORMATS[ext]
    raise FileFormatError(
        f"Cannot tell the table format of {str(path)!r} from its extension. "
        f"Expected one of {', '.join(sorted(_FORMATS))}; rename the file or convert it "
        "(for example with pandas: pd.read_excel(...).to_parquet('table.parquet'))."
    )


def _existing_file(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.exists():
        hint = ""
        parent = p.parent if str(p.parent) else Path(".")
        if parent.is_dir():
            import difflib

            suffix = "".join(p.suffixes).lower()
            stems = {
                q.name[: len(q.name) - len(suffix)]: q.name
                for q in parent.iterdir()
                if q.is_file() and q.name.lower().endswith(suffix)
            }
            close = difflib.get_close_matches(
                p.name[: len(p.name) - len(suffix)], list(stems), n=1, cutoff=0.6
            )
            hint = f" Did you mean {stems[close[0]]!r}?" if close else ""
        raise InputFileNotFoundError(
            f"Input file {str(p)!r} does not exist.{hint} Check the path "
            f"(the current directory is {os.getcwd()!r})."
        )
    if p.is_dir():
        raise FileFormatError(f"Expected a table file, but {str(p)!r} is a directory.")
    return p


def read_table(
    path: str | os.PathLike, *, columns: Sequence[str] | None = None, dtype=None
) -> pd.DataFrame:
    """Read a Parquet or CSV table into a DataFrame.

    Parameters
    ----------
    path : str or path-like
        File to read; the format comes from its extension.
    columns : list of str, default=None
        Read only these columns (all when None).
    dtype : dtype or dict, default=None
        For CSV only: passed to :func:`pandas.read_csv` (``dtype=str`` reads every
        column as text so the caller can coerce values itself).

    Raises
    ------
    InputFileNotFoundError
        The file does not exist.
    FileFormatError
        Unknown extension, or the file cannot be parsed.
    DataError
        The file is empty.
    """
    fmt = table_format(path)
    p = _existing_file(path)
    if p.stat().st_size == 0:
        raise DataError(f"Input file {str(p)!r} is empty (0 bytes); expected a {fmt} table.")
    try:
        _check_unique(_header(p, fmt), p)
        if fmt == "parquet":
            return pd.read_parquet(
                p,
                columns=list(columns) if columns is not None else None,
                page_checksum_verification=True,
            )
        sep = "\t" if fmt == "tsv" else ","
        return pd.read_csv(p, sep=sep, usecols=columns, dtype=dtype, low_memory=False)
    except GroupwiseError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(
            f"Input file {str(p)!r} has no columns; expected a {fmt} table with a header row."
        ) from None
    except (KeyError, ValueError) as exc:
        if columns is not None and ("not in" in str(exc) or "do not match" in str(exc)):
            from groupwise.exceptions import ColumnNotFoundError

            raise ColumnNotFoundError(
                f"Some of the requested columns are not in {str(p)!r}: {exc}"
            ) from None
        raise FileFormatError(_parse_message(p, fmt, exc)) from None
    except Exception as exc:  # pyarrow and the csv parser raise many types
        if _is_parse_error(exc):
            raise FileFormatError(_parse_message(p, fmt, exc)) from None
        raise


def read_table_bytes(data: bytes, fmt: str, *, what: str = "the upload") -> pd.DataFrame:
    """Read a whole Parquet, CSV or TSV table held in memory (an upload), never touching
    the filesystem. CSV and TSV are read as text, as :func:`iter_table_chunks` reads them
    for prediction, so the caller coerces the values exactly as for a file.

    Raises
    ------
    DataError
        No bytes, no header row, or a column named twice.
    FileFormatError
        ``fmt`` is not a table format, or the bytes cannot be parsed as ``fmt``.
    """
    import io as _io

    if fmt not in ("parquet", "csv", "tsv"):
        raise FileFormatError(
            f"{what} must be parquet, csv or tsv. Got {fmt!r} instead; send one of those."
        )
    if not data:
        raise DataError(f"{what} is empty (0 bytes); expected a {fmt} table.")
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(_io.BytesIO(data), page_checksum_verification=True)
            names = list(table.schema.names)
            _check_unique(names, what)
            return table.to_pandas()
        import csv

        sep = "\t" if fmt == "tsv" else ","
        head = data[: 1 << 20].decode("utf-8", errors="replace").splitlines()[:1]
        _check_unique([c.strip() for c in next(csv.reader(head, delimiter=sep), [])], what)
        return pd.read_csv(_io.BytesIO(data), sep=sep, dtype=str, low_memory=False)
    except GroupwiseError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{what} has no header row; expected a {fmt} table.") from None
    except Exception as exc:
        if _is_parse_error(exc) or isinstance(exc, (ValueError, KeyError, TypeError)):
            raise FileFormatError(
                f"Cannot read {what} as {fmt}: {exc}. Send a complete {fmt} file (not "
                "truncated, not another format)."
            ) from None
        raise


def _is_parse_error(exc: Exception) -> bool:
    import gzip
    import zlib

    import pyarrow as pa

    return isinstance(
        exc,
        (
            pa.ArrowException, pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError,
            gzip.BadGzipFile, zlib.error,
        ),
    )  # fmt: skip


def _header(p: Path, fmt: str) -> list[str]:
    """The column names as the file spells them (duplicates kept)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(p).names)
    import csv
    import gzip

    opener = gzip.open if p.name.lower().endswith(".gz") else open
    with opener(p, "rt", encoding="utf-8", newline="") as fh:
        row = next(csv.reader(fh, delimiter="\t" if fmt == "tsv" else ","), [])
    return [c.strip() for c in row]


def _check_unique(names: Sequence[str], p: Path | str) -> None:
    from collections import Counter

    dup = [n for n, k in Counter(names).items() if k > 1]
    if dup:
        raise DataError(
            f"Column name(s) {', '.join(map(repr, dup))} appear more than once in {str(p)!r}; "
            "a column must be named once. Rename or drop the duplicates."
        )


def _parse_message(p: Path, fmt: str, exc: Exception) -> str:
    return (
        f"Cannot read {str(p)!r} as {fmt}: {exc}. Check that the file is a complete {fmt} "
        "file (not truncated, not another format with the wrong extension)."
    )


def table_columns(path: str | os.PathLike) -> list[str]:
    """Column names of a table file, read without loading the data."""
    fmt = table_format(path)
    p = _existing_file(path)
    if p.stat().st_size == 0:
        raise DataError(f"Input file {str(p)!r} is empty (0 bytes); expected a {fmt} table.")
    try:
        names = _header(p, fmt)
        if not names:
            raise pd.errors.EmptyDataError
        _check_unique(names, p)
        return names
    except pd.errors.EmptyDataError:
        raise DataError(f"Input file {str(p)!r} has no header row.") from None
    except DataError:
        raise
    except Exception as exc:
        if _is_parse_error(exc) or isinstance(exc, ValueError):
            raise FileFormatError(_parse_message(p, fmt, exc)) from None
        raise


def count_rows(path: str | os.PathLike) -> int:
    """Number of data rows (Parquet: from the footer; CSV: one streaming pass)."""
    fmt = table_format(path)
    p = _existing_file(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return int(pq.ParquetFile(p).metadata.num_rows)
        except Exception as exc:
            if _is_parse_error(exc):
                raise FileFormatError(_parse_message(p, fmt, exc)) from None
            raise
    return sum(len(c) for c in iter_table_chunks(p, chunk_rows=200_000, dtype=str))


def iter_table_chunks(
    path: str | os.PathLike,
    *,
    chunk_rows: int = 100_000,
    columns: Sequence[str] | None = None,
    dtype=None,
) -> Iterator[pd.DataFrame]:
    """Yield the table in consecutive chunks of at most ``chunk_rows`` rows.

    Memory stays proportional to ``chunk_rows``, whatever the file size. Parquet is
    read record batch by record batch; CSV with the parser's chunked reader.
    """
    if chunk_rows < 1:
        raise DataError(f"chunk_rows must be a positive integer. Got {chunk_rows!r} instead.")
    fmt = table_format(path)
    p = _existing_file(path)
    if p.stat().st_size == 0:
        raise DataError(f"Input file {str(p)!r} is empty (0 bytes); expected a {fmt} table.")
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            # pre_buffer=False keeps memory at one batch: with pre-buffering the
            # reader holds on to every row group it has read
            pf = pq.ParquetFile(p, pre_buffer=False, page_checksum_verification=True)
            for batch in pf.iter_batches(
                batch_size=chunk_rows, columns=list(columns) if columns is not None else None
            ):
                yield batch.to_pandas()
            return
        sep = "\t" if fmt == "tsv" else ","
        with pd.read_csv(
            p, sep=sep, chunksize=chunk_rows, usecols=columns, dtype=dtype, low_memory=False
        ) as reader:
            yield from reader
    except pd.errors.EmptyDataError:
        raise DataError(f"Input file {str(p)!r} has no header row.") from None
    except (KeyError, TypeError) as exc:  # damaged pandas metadata inside a Parquet file
        if fmt != "parquet":
            raise
        raise FileFormatError(_parse_message(p, fmt, exc)) from None
    except Exception as exc:
        if _is_parse_error(exc):
            raise FileFormatError(_parse_message(p, fmt, exc)) from None
        raise


#: The subset that can only be about the write itself (raised while writing a file).
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG, errno.EIO})
#: A temporary file whose writer holds no lock and that is older than this is abandoned.
_STALE_TEMP_SECONDS = 10.0


def write_fault(path: str | os.PathLike, exc: OSError) -> EnvironmentFault:
    """The one-paragraph message for a write the machine refused."""
    code = environment_errno(exc)
    advice = {
        errno.ENOSPC: "The disk is full: free some space or write somewhere else.",
        errno.EDQUOT: "The disk quota is used up: free some space or write somewhere else.",
        errno.EROFS: "The file system is read-only: write somewhere else.",
        errno.EACCES: "Permission denied: write somewhere you may write, or fix the permissions.",
        errno.EPERM: "Permission denied: write somewhere you may write, or fix the permissions.",
        errno.ENAMETOOLONG: "The path is too long for the file system: choose a shorter one.",
        errno.EISDIR: "The path is a directory: give a file name.",
        errno.ENOTDIR: "A part of the path is a file, not a directory: choose another path.",
        errno.EEXIST: "A part of the path is a file, not a directory: choose another path.",
    }.get(code, "Check the path and the disk.")
    what = exc.strerror or str(exc)
    return EnvironmentFault(
        f"Cannot write {str(path)!r}: {what}. {advice} Nothing was written there."
    )


def probe_write(directory: str | os.PathLike, prefix: str = ".probe-") -> None:
    """Write and remove a small file in ``directory``; raises the ``OSError`` the disk gives."""
    fd, probe = tempfile.mkstemp(prefix=prefix, suffix=".probe", dir=directory)
    try:
        os.write(fd, b"groupwise")
    finally:
        os.close(fd)
        os.unlink(probe)


def _beside(dest: Path, suffix: str) -> tuple[int, str]:
    """Create ``dest``'s directory, remove temporary files killed writers left next to it
    and open a new one (``.<name>.XXXX<suffix>``). A refusal of the machine is raised as
    :class:`EnvironmentFault`; a directory at ``dest`` as :class:`DataError`."""
    if dest.is_dir():
        raise DataError(
            f"The output path {str(dest)!r} is a directory; give a file name inside it."
        )
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _clean_stale_temps(dest)  # what a killed earlier write left, even if this one fails
        return tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix, dir=dest.parent)
    except OSError as exc:
        if environment_errno(exc) is None:
            raise
        raise write_fault(dest, exc) from None


def check_writable(path: str | os.PathLike) -> Path:
    """Fail early, before any work, when ``path`` cannot be written: it is a directory, a
    part of it is a file, or the disk refuses a probe file next to it. Creates missing
    parent directories."""
    dest = Path(path)
    fd, probe = _beside(dest, ".probe")
    try:
        os.write(fd, b"groupwise")
    except OSError as exc:
        if environment_errno(exc) is None:
            raise
        raise write_fault(dest, exc) from None
    finally:
        os.close(fd)
        os.unlink(probe)
    return dest


def _clean_stale_temps(dest: Path) -> None:
    """Remove ``.<name>.*.tmp`` siblings of ``dest`` left by writers that were killed."""
    import fcntl
    import glob
    import time

    now = time.time()
    for tmp in dest.parent.glob(f".{glob.escape(dest.name)}.*.tmp"):
        try:
            if now - tmp.stat().st_mtime < _STALE_TEMP_SECONDS:
                continue
            fd = os.open(tmp, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its writer is alive
            finally:
                os.close(fd)
            tmp.unlink()
        except OSError:
            continue


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left as it was. The
    temporary file is locked while it is written; temporary files of writers that were
    killed (no lock held) are removed the next time the same path is written. A write
    the machine refuses (disk full, read-only, ...) raises :class:`EnvironmentFault`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "out.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> (d / "out.txt").read_text()
    'done'
    """
    import fcntl

    dest = Path(path)
    fd, tmp_name = _beside(dest, ".tmp")
    tmp = Path(tmp_name)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield tmp
        # mkstemp creates 0600 files; give the result the permissions of a normal new file
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, dest)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if environment_errno(exc) in WRITE_ERRNOS and not isinstance(exc, GroupwiseError):
            raise write_fault(dest, exc) from None
        raise
    finally:
        os.close(fd)


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when ``a`` and ``b`` name the same file: equal after resolving symbolic links,
    or hard links to one inode."""
    pa_, pb = Path(a), Path(b)
    try:
        if pa_.resolve() == pb.resolve():
            return True
        return pa_.exists() and pb.exists() and os.path.samefile(pa_, pb)
    except OSError:
        return False


def check_outputs(
    inputs: Mapping[str, str | os.PathLike], outputs: Mapping[str, str | os.PathLike]
) -> None:
    """Refuse when a path a command will write is one of its inputs (or a link to one).

    ``inputs`` and ``outputs`` map a description ("the input", "the violations report")
    to a path. Raises :class:`DataError` naming both.
    """
    for out_name, out_path in outputs.items():
        for in_name, in_path in inputs.items():
            if same_file(out_path, in_path):
                raise DataError(
                    f"{out_name[0].upper()}{out_name[1:]} {str(out_path)!r} is the input "
                    f"{str(in_path)!r} ({in_name}); writing it would destroy the input. "
                    "Choose another output path."
                )


def write_table(
    df: pd.DataFrame,
    path: str | os.PathLike,
    *,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``df`` atomically as Parquet or CSV (by extension), without the index.

    ``metadata`` (Parquet only) is stored as JSON strings in the file's key-value
    metadata under ``groupwise.<key>``.
    """
    fmt = table_format(path)
    dest = Path(path)
    with atomic_path(dest) as tmp:
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False)
            if metadata:
                extra = {
                    f"groupwise.{k}".encode(): json.dumps(to_jsonable(v)).encode()
                    for k, v in metadata.items()
                }
                table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
            pq.write_table(table, tmp, write_page_checksum=True)
        else:
            sep = "\t" if fmt == "tsv" else ","
            compression = "gzip" if dest.name.lower().endswith(".gz") else None
            df.to_csv(tmp, sep=sep, index=False, compression=compression)
    return dest


def read_parquet_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The ``groupwise.*`` key-value metadata written by :func:`write_table`."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(_existing_file(path)).metadata or {}
    out = {}
    for k, v in meta.items():
        key = k.decode()
        if key.startswith("groupwise."):
            out[key.removeprefix("groupwise.")] = json.loads(v.decode())
    return out


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/pandas scalars and containers to plain JSON types.

    Non-finite floats become ``None`` so the output is strict JSON.
    """
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(obj).isoformat())
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, str):
        return obj
    if hasattr(obj, "to_dict"):
        return to_jsonable(obj.to_dict())
    if obj is pd.NA or obj is pd.NaT:
        return None
    return str(obj)


def json_bytes(obj: Any, *, indent: int = 2) -> bytes:
    """``obj`` as strict JSON text in UTF-8 (what :func:`write_json` writes)."""
    text = json.dumps(to_jsonable(obj), indent=indent, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def write_json(obj: Any, path: str | os.PathLike, *, indent: int = 2) -> Path:
    """Write ``obj`` as strict JSON (sorted keys off, UTF-8), atomically."""
    return write_bytes(json_bytes(obj, indent=indent), path)


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file written by :func:`write_json`."""
    p = _existing_file(path)
    try:
        return json.loads(p.read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{str(p)!r} is not valid UTF-8 JSON: {exc}.") from None


def write_text(text: str, path: str | os.PathLike) -> Path:
    """Write text (UTF-8) atomically."""
    dest = Path(path)
    with atomic_path(dest) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return dest


def write_bytes(data: bytes, path: str | os.PathLike) -> Path:
    """Write bytes atomically."""
    dest = Path(path)
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)
    return dest


def sha256_file(path: str | os.PathLike, *, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks (constant memory)."""
    h = hashlib.sha256()
    with open(_existing_file(path), "rb") as fh:
        while block := fh.read(chunk_size):
            h.update(block)
    return h.hexdigest()


def table_fingerprint(df: pd.DataFrame) -> str:
    """SHA-256 of a DataFrame's column names, dtypes and cell values."""
    h = hashlib.sha256()
    h.update("\x1f".join(f"{c}:{df[c].dtype}" for c in df.columns).encode())
    if len(df.columns):
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()
