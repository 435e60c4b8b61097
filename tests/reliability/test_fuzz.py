"""Fault and fuzz: generated inputs, configs, tampered runs and output paths (issue 13).

Each property says what every one of the generated cases must do: succeed with the right
shape, or be refused with a :class:`GroupwiseError` (exit 2 on the command line) — never
another exception, never a traceback, never a file left behind or an input changed. The
example counts add up to more than 1,000 cases; ``derandomize`` keeps them the same from one
run to the next, so a failure here is reproducible.
"""

import hashlib
import math
import os
import shutil
import string
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groupwise.exceptions import GroupwiseError
from groupwise.runs import Run, RunLayout

from .conftest import assert_refused

pytestmark = pytest.mark.filterwarnings("ignore")


def fuzz(n: int):
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


NASTY = [
    None, np.nan, "", " ", "\t", "abc", "1,5", "May", "-0", "0x10", "１２", "1e309", "nan",
    "NaN", "inf", "-inf", "true", "FALSE", "yes", "2024-01-01T00:00:00+05:30", "2024-13-45",
    "31/12/2024", "\x00", "é" * 300, 0, -1, 1e308, -1e308, math.inf, -math.inf, True, False,
    b"bytes", [1, 2], {"a": 1}, pd.NaT, pd.Timestamp("1700-01-01"),
]  # fmt: skip
MODES = ["error", "null"]


def _hash(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@st.composite
def mutated_frames(draw, base: pd.DataFrame):
    df = base.head(draw(st.integers(0, 12))).astype(object).copy()
    for _ in range(draw(st.integers(0, 6))):
        if len(df) == 0:
            break
        col = draw(st.sampled_from(list(df.columns)))
        row = draw(st.integers(0, len(df) - 1))
        df.iat[row, df.columns.get_loc(col)] = draw(st.sampled_from(NASTY))
    edit = draw(st.sampled_from(["none", "drop", "extra", "rename", "reorder", "dup", "typed"]))
    if edit == "drop" and len(df.columns):
        df = df.drop(columns=draw(st.sampled_from(list(df.columns))))
    elif edit == "extra":
        df["unexpected"] = [draw(st.sampled_from(NASTY))] * len(df)
    elif edit == "rename" and len(df.columns):
        col = draw(st.sampled_from(list(df.columns)))
        df = df.rename(columns={col: draw(st.text(string.printable, max_size=8))})
    elif edit == "reorder":
        df = df[list(reversed(df.columns))]
    elif edit == "dup" and len(df.columns) > 1:
        df.columns = [df.columns[1], *df.columns[1:]]
    elif edit == "typed":
        df = df.infer_objects()
    return df


# ------------------------------------------------------------ 400 frames through predict
@pytest.fixture(scope="module")
def loaded(kinds_run):
    run, df = kinds_run
    fresh = Run(run.path)
    return fresh, df.drop(columns="y")


@fuzz(400)
@given(data=st.data())
def test_any_frame_is_predicted_or_refused(loaded, data):
    run, base = loaded
    df = data.draw(mutated_frames(base))
    mode = data.draw(st.sampled_from(MODES))
    try:
        out = run.predict(df, on_bad_values=mode)
    except GroupwiseError:
        return
    assert len(out) == len(df)
    assert out["prediction"].notna().all()
    probas = out.filter(like="proba_")
    assert np.isfinite(probas.to_numpy(dtype=float)).all()


# --------------------------------------------------- 150 files through the command line
@fuzz(150)
@given(data=st.data())
def test_any_file_is_predicted_or_refused_and_nothing_is_left(cli, run_copy_m, tmp_path, data):
    models, base = run_copy_m
    case = Path(tempfile.mkdtemp(dir=tmp_path))
    df = data.draw(mutated_frames(base))
    kind = data.draw(st.sampled_from(["csv", "parquet", "csv.gz", "bytes"]))
    src = case / f"in.{kind if kind != 'bytes' else 'csv'}"
    if kind == "bytes":
        src.write_bytes(data.draw(st.binary(max_size=200)))
    else:
        try:
            if kind == "parquet":
                df.to_parquet(src, index=False)
            else:
                df.to_csv(src, index=False)
        except Exception:  # the frame itself cannot be written in that format
            return
        if data.draw(st.booleans()):  # damage the file
            raw = bytearray(src.read_bytes())
            cut = data.draw(st.integers(0, max(len(raw) - 1, 0)))
            raw = raw[:cut] if data.draw(st.booleans()) else raw
            if raw and data.draw(st.booleans()):
                raw[data.draw(st.integers(0, len(raw) - 1))] ^= 0xFF
            src.write_bytes(bytes(raw))
    before = _hash(src)
    out = case / data.draw(st.sampled_from(["p.parquet", "p.csv", "p.csv.gz"]))
    mode = data.draw(st.sampled_from(MODES))
    result = cli("predict", src, "--out", out, "--models-dir", models, "--on-bad-values", mode)
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    assert _hash(src) == before
    left = {p.name for p in case.iterdir()} - {src.name, out.name}
    left -= {out.name + ".violations.csv"}
    assert not left, left
    assert out.exists() == (result.exit_code == 0)


@pytest.fixture(scope="module")
def run_copy_m(kinds_run, tmp_path_factory):
    run, df = kinds_run
    models = tmp_path_factory.mktemp("fuzz_models")
    shutil.copytree(run.models_dir, models, dirs_exist_ok=True)
    return models, df.drop(columns="y")


# ------------------------------------------------------------- 200 threshold strings
TOKENS = ["fixed", "min_precision", "min_recall", "cost", "max_f1", ":", "fp=", "fn=", ",",
          " ", "0", "1", ".", "..", "e", "-", "+", "5", "9", "inf", "nan", "1e-3", "0.5"]  # fmt: skip


@fuzz(200)
@given(st.lists(st.sampled_from(TOKENS), max_size=8).map("".join) | st.text(max_size=20))
def test_any_threshold_text_is_parsed_or_refused(text):
    from groupwise.evaluation._threshold import parse_threshold_strategy
    from groupwise.exceptions import ConfigError

    try:
        name, params = parse_threshold_strategy(text)
    except ConfigError:
        return
    assert name in ("max_f1", "fixed", "min_precision", "min_recall", "cost")
    assert all(math.isfinite(v) and v >= 0 for v in params.values())


# -------------------------------------------------------------- 150 generated configs
KEYS = ["target", "group", "id", "drop", "models", "threshold", "seed", "holdout", "folds",
        "tune_trials", "models_dir", "metric", "time", "audit", "bootstrap", "unknown_key"]  # fmt: skip
VALUES = st.one_of(
    st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.booleans(),
    st.text(string.ascii_letters + "_:,.=", max_size=12),
    st.lists(st.text(string.ascii_letters, max_size=5), max_size=3),
    st.lists(st.integers(0, 9), max_size=3),
)  # fmt: skip


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)  # fmt: skip
    if isinstance(value, int):
        return str(value) if abs(value) < 2**63 else f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture(scope="module")
def fuzz_table(tmp_path_factory):
    from .conftest import make_table

    path = tmp_path_factory.mktemp("cfg") / "t.csv"
    make_table(60).to_csv(path, index=False)
    return path


@fuzz(150)
@given(
    entries=st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=5),
    raw=st.none() | st.binary(max_size=40),
)
def test_any_config_file_is_used_or_refused_before_training(
    cli, fuzz_table, tmp_path, monkeypatch, entries, raw
):
    import groupwise.training._train as t
    from groupwise.exceptions import DataError

    def started(*a, **k):
        raise DataError("MARKER: training was about to start")

    monkeypatch.setattr(t, "prepare", started)
    case = Path(tempfile.mkdtemp(dir=tmp_path))
    cfg = case / "c.toml"
    body = "[train]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in entries.items())
    cfg.write_bytes(raw if raw is not None else body.encode())
    models = case / "m"
    result = cli("train", fuzz_table, "--target", "y", "--config", cfg, "--models-dir", models)
    assert_refused(result)
    if "MARKER" in result.output:
        return  # everything was accepted and training was about to start
    assert not (models / "runs").exists() or not any((models / "runs").iterdir())


# ------------------------------------------------------------ 150 tampered run files
@fuzz(150)
@given(data=st.data())
def test_a_changed_run_file_is_never_loaded(kinds_run, tmp_path_factory, data):
    run, df = kinds_run
    models = tmp_path_factory.mktemp("tamper")
    shutil.copytree(run.models_dir, models, dirs_exist_ok=True)
    path = models / "runs" / run.run_id
    layout = RunLayout(path)
    target = data.draw(
        st.sampled_from([layout.meta, layout.model, layout.schema, path / "manifest.json"])
    )
    original = target.read_bytes()
    raw = bytearray(original)
    how = data.draw(st.sampled_from(["flip", "truncate", "append", "empty"]))
    if how == "flip":
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] ^= data.draw(st.integers(1, 255))
    elif how == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif how == "append":
        raw += data.draw(st.binary(min_size=1, max_size=16))
    else:
        raw = bytearray()
    target.write_bytes(bytes(raw))
    if target.name == "manifest.json" and _same_json(raw, original):
        return  # e.g. the final newline removed: the manifest says the same
    with pytest.raises(GroupwiseError):
        Run(path).predict(df.drop(columns="y").head(5))


def _same_json(a: bytes, b: bytes) -> bool:
    import json

    try:
        return json.loads(a) == json.loads(b)
    except ValueError:
        return False


# ---------------------------------------------------------------- 100 output paths
@fuzz(100)
@given(data=st.data())
def test_any_output_path_is_written_or_refused(cli, run_copy_m, tmp_path, data):
    models, base = run_copy_m
    case = Path(tempfile.mkdtemp(dir=tmp_path))
    src = case / "in.csv"
    base.head(5).to_csv(src, index=False)
    (case / "afile").write_text("x")
    (case / "adir").mkdir()
    os.symlink(src, case / "link.csv")
    before = _hash(src)
    parts = data.draw(
        st.lists(
            st.sampled_from(["adir", "afile", "new", "in.csv", "link.csv", "x" * 300, ".", ".."]),
            min_size=1,
            max_size=3,
        )
    )
    suffix = data.draw(st.sampled_from(["", ".csv", ".parquet", ".csv.gz", ".txt"]))
    out = case.joinpath(*parts)
    out = out.with_name(out.name + suffix) if out.name not in (".", "..") else out
    result = cli("predict", src, "--out", out, "--models-dir", models)
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    assert _hash(src) == before
    assert not [p for p in case.rglob(".*.tmp")]
    if result.exit_code == 0:
        assert out.is_file()
    else:
        assert_refused(result)
