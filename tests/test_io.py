import hashlib

import numpy as np
import pandas as pd
import pytest

from groupwise import io
from groupwise.exceptions import DataError, FileFormatError, InputFileNotFoundError


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=50), "b": list("xy" * 25), "c": range(50)})


@pytest.mark.parametrize("name", ["t.parquet", "t.csv", "t.tsv", "t.csv.gz"])
def test_write_then_read_round_trips(tmp_path, table, name):
    path = io.write_table(table, tmp_path / name)
    back = io.read_table(path)
    pd.testing.assert_frame_equal(back, table, check_dtype=False)
    assert io.count_rows(path) == 50
    assert io.table_columns(path) == ["a", "b", "c"]


def test_write_table_failure_leaves_no_file(tmp_path):
    class Boom:
        pass

    bad = pd.DataFrame({"a": [Boom()]})  # pyarrow cannot convert an arbitrary object
    with pytest.raises(Exception):  # noqa: B017
        io.write_table(bad, tmp_path / "out.parquet")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_keeps_previous_file_on_error(tmp_path):
    dest = tmp_path / "keep.txt"
    dest.write_text("old")
    with pytest.raises(RuntimeError), io.atomic_path(dest) as tmp:
        tmp.write_text("new, half written")
        raise RuntimeError("crash")
    assert dest.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_sha256_matches_hashlib(tmp_path):
    p = tmp_path / "blob.bin"
    data = np.random.default_rng(1).bytes(3_000_000)
    p.write_bytes(data)
    assert io.sha256_file(p, chunk_size=1 << 16) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("name", ["t.parquet", "t.csv"])
def test_iter_table_chunks_covers_all_rows_in_order(tmp_path, table, name):
    path = io.write_table(table, tmp_path / name)
    chunks = list(io.iter_table_chunks(path, chunk_rows=7))
    assert [len(c) for c in chunks] == [7] * 7 + [1]
    pd.testing.assert_frame_equal(
        pd.concat(chunks, ignore_index=True), io.read_table(path), check_dtype=False
    )


def test_read_errors_are_clear(tmp_path):
    with pytest.raises(InputFileNotFoundError, match="does not exist"):
        io.read_table(tmp_path / "nope.parquet")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        io.read_table(tmp_path / "empty.csv")
    (tmp_path / "bad.parquet").write_text("this is not parquet")
    with pytest.raises(FileFormatError, match="Cannot read"):
        io.read_table(tmp_path / "bad.parquet")
    with pytest.raises(FileFormatError, match="extension"):
        io.read_table(tmp_path / "table.xlsx")


def test_missing_file_suggests_sibling(tmp_path, table):
    io.write_table(table, tmp_path / "train.parquet")
    with pytest.raises(InputFileNotFoundError, match="Did you mean 'train.parquet'"):
        io.read_table(tmp_path / "trian.parquet")


def test_parquet_metadata_round_trips(tmp_path, table):
    path = io.write_table(table, tmp_path / "m.parquet", metadata={"threshold": 0.37, "run": "x"})
    assert io.read_parquet_metadata(path) == {"threshold": 0.37, "run": "x"}


def test_to_jsonable_handles_numpy_and_nan():
    out = io.to_jsonable(
        {"a": np.float32(1.5), "b": np.int64(2), "c": float("nan"), 1: np.arange(2)}
    )
    assert out == {"a": 1.5, "b": 2, "c": None, "1": [0, 1]}


def test_atomic_writes_get_normal_file_permissions(tmp_path, table):
    import os

    umask = os.umask(0o022)
    try:
        path = io.write_table(table, tmp_path / "p.parquet")
    finally:
        os.umask(umask)
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)


def test_chunked_parquet_reading_keeps_memory_flat(tmp_path):
    """Pre-buffering made the reader keep every row group; memory must not grow with the file."""
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "big.parquet"
    rng = np.random.default_rng(0)
    with pq.ParquetWriter(path, pa.schema([(f"c{i}", pa.float64()) for i in range(20)])) as w:
        for _ in range(30):
            w.write_table(pa.table({f"c{i}": rng.normal(size=50_000) for i in range(20)}))

    def rss():
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    sizes = []
    for i, chunk in enumerate(io.iter_table_chunks(path, chunk_rows=50_000)):
        del chunk
        if i in (5, 29):
            sizes.append(rss())
    # 24 more chunks of 8 MB each: with pre-buffering RSS grows by ~190 MB
    assert sizes[1] - sizes[0] < 60 * 2**20
