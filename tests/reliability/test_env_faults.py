"""Environment faults and parser holes are user-facing conditions: exit 2 with one paragraph,
no traceback, no partial file (issue 13, items 10, 11, 12)."""

import errno
import gzip
import os
import resource
import signal
import subprocess
import sys
import tempfile

import pytest

from .conftest import assert_refused, make_table


@pytest.fixture(scope="module")
def table_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("env") / "t.csv"
    make_table(120).to_csv(path, index=False)
    return path


def refuse_writes_under(monkeypatch, root, code):
    """The machine refuses every new file under ``root`` with ``code`` (EROFS, ENOSPC, ...)."""
    real = tempfile.mkstemp

    def refuse(*a, **k):
        if str(k.get("dir", "")).startswith(str(root)):
            raise OSError(code, os.strerror(code))
        return real(*a, **k)

    monkeypatch.setattr(tempfile, "mkstemp", refuse)


def only(path, *names):
    return sorted(p.name for p in path.iterdir()) == sorted(names)


@pytest.mark.parametrize("code", [errno.EROFS, errno.ENOSPC, errno.EDQUOT])
def test_predict_output_the_disk_refuses(cli, run_copy, inputs, tmp_path, monkeypatch, code):
    models, _ = run_copy
    work = tmp_path / "w"
    work.mkdir()
    src = work / "in.csv"
    inputs.to_csv(src, index=False)
    refuse_writes_under(monkeypatch, work, code)
    result = cli("predict", src, "--out", work / "p.parquet", "--models-dir", models)
    assert_refused(result, os.strerror(code))
    assert only(work, "in.csv")


@pytest.mark.parametrize("code", [errno.EROFS, errno.ENOSPC])
def test_audit_and_generate_outputs_the_disk_refuses(cli, table_csv, tmp_path, monkeypatch, code):
    refuse_writes_under(monkeypatch, tmp_path, code)
    audit = cli("audit", table_csv, "--target", "y", "--group", "batch", "--out", tmp_path / "a")
    assert_refused(audit, os.strerror(code))
    generated = cli("generate", tmp_path / "g.csv", "--n-samples", "50", "--seed", "1")
    assert_refused(generated, os.strerror(code))
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def _limited(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_file_size_limit_hit_mid_write_leaves_nothing(kinds_run, tmp_path):
    """A real kernel refusal in the middle of the output (EFBIG from RLIMIT_FSIZE)."""
    run, df = kinds_run
    src = tmp_path / "in.parquet"
    df.drop(columns="y").sample(20_000, replace=True, random_state=0).to_parquet(src, index=False)
    out = tmp_path / "p.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "groupwise", "predict", str(src), "--out", str(out),
         "--models-dir", str(run.models_dir)],
        preexec_fn=_limited(200_000), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "File too large" in " ".join(proc.stderr.split())
    assert only(tmp_path, "in.parquet")


@pytest.mark.parametrize(
    "where", ["directory", "under_a_file", "too_long"], ids=["dir", "under-file", "long"]
)
def test_predict_output_paths_that_cannot_be_written(cli, run_copy, inputs, tmp_path, where):
    models, _ = run_copy
    tmp_path = tmp_path / "w"
    tmp_path.mkdir()
    src = tmp_path / "in.csv"
    inputs.to_csv(src, index=False)
    (tmp_path / "afile").write_text("x")
    out = {
        "directory": tmp_path,
        "under_a_file": tmp_path / "afile" / "p.csv",
        "too_long": tmp_path / ("x" * 300 + ".csv"),
    }[where]
    result = cli("predict", src, "--out", out, "--models-dir", models)
    assert_refused(result)
    assert only(tmp_path, "in.csv", "afile")
    assert (tmp_path / "afile").read_text() == "x"


def test_a_truncated_gzip_input_is_a_parse_error(cli, run_copy, inputs, tmp_path):
    models, _ = run_copy
    tmp_path = tmp_path / "w"
    tmp_path.mkdir()
    raw = gzip.compress(inputs.to_csv(index=False).encode())
    src = tmp_path / "in.csv.gz"
    src.write_bytes(raw[: len(raw) // 2])
    result = cli("predict", src, "--out", tmp_path / "p.csv", "--models-dir", models)
    assert_refused(result, "in.csv.gz")
    assert only(tmp_path, "in.csv.gz")


def test_audit_out_that_is_a_file_is_refused(cli, table_csv, tmp_path):
    (tmp_path / "report").write_text("keep")
    result = cli("audit", table_csv, "--target", "y", "--out", tmp_path / "report")
    assert_refused(result, "report")
    assert (tmp_path / "report").read_text() == "keep"


@pytest.mark.parametrize(
    "args",
    [
        ["--seed", str(2**64)],
        ["--seed", "-1"],
        ["--threshold", "fixed:1..2"],
        ["--threshold", "min_recall:e"],
        ["--threshold", "cost:fp=+-1,fn=2"],
        ["--threshold", "cost:fp=inf,fn=1"],
    ],
)
def test_train_parser_holes_are_refused_before_training(cli, table_csv, tmp_path, args):
    models = tmp_path / "m"
    result = cli("train", table_csv, "--target", "y", *args, "--models-dir", models)
    assert_refused(result, args[0])
    assert not models.exists()


@pytest.mark.parametrize(
    ("body", "word"),
    [
        (b"[train]\nid = 5\n", "id"),
        (b"[train]\ndrop = 5\n", "drop"),
        (b"[train]\nmodels = [1, 2]\n", "models"),
        (b"[train]\ntarget = \xff\xfe\n", "UTF-8"),
        (b"\xff\xfe\x00[train]", "UTF-8"),
        (b"[train\n", "c.toml"),
    ],
)
def test_config_holes_are_refused(cli, table_csv, tmp_path, body, word):
    cfg = tmp_path / "c.toml"
    cfg.write_bytes(body)
    result = cli(
        "train", table_csv, "--target", "y", "--config", cfg, "--models-dir", tmp_path / "m"
    )
    assert_refused(result, word)
    assert not (tmp_path / "m").exists()


def test_audit_writes_both_reports_or_neither(cli, table_csv, tmp_path, monkeypatch):
    """The disk fills up between audit.json and audit.md: neither is left."""
    import pathlib

    real = pathlib.Path.write_text

    def full(self, *a, **k):
        if "audit.md" in self.name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, *a, **k)

    monkeypatch.setattr(pathlib.Path, "write_text", full)
    out = tmp_path / "a"
    result = cli("audit", table_csv, "--target", "y", "--out", out)
    assert_refused(result, os.strerror(errno.ENOSPC))
    assert not out.exists() or not list(out.iterdir())
