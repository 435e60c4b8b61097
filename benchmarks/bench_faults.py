"""Fault campaign: bad input, damaged runs, hostile paths, full and read-only disks, signals,
hard kills and concurrent commands against the command line.

Every case runs a real command and is judged on what a user sees and keeps:

- *clean exit 2*: refused with exit 2, a message and no traceback;
- *correct success*: exit 0 (or 1 for findings) and the expected output is there, whole;
- *crashes / tracebacks*: any other exit code, or a traceback printed;
- *partial files*: a temporary file or directory, or an output of a failed command, left;
- *data lost*: an input file changed or removed;
- *unchecked models*: a run whose files were changed was loaded and predicted with.

Inputs, configs, damaged runs and output paths run in-process (the command line through
typer's runner, thousands of cases in minutes); disks, signals, kills and concurrency run
``python -m groupwise`` in subprocesses. Full and read-only disks use a real tmpfs when
this process may mount one (root), and the kernel's file-size limit (RLIMIT_FSIZE, EFBIG)
otherwise. Goal: 0 crashes, 0 tracebacks, 0 partial files, 0 inputs lost and 0 unchecked
models in every category.

    python benchmarks/bench_faults.py [--scale 1.0] [--seed 0] [--no-record]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as h

NASTY = [None, float("nan"), "", " ", "abc", "1,5", "May", "-0", "１２", "1e309", "inf", "true",
         "2024-01-01T00:00:00+05:30", "2024-13-45", "\x00", "é" * 200, 0, -1, 1e308,
         float("inf"), True, b"raw", [1, 2], {"a": 1}]  # fmt: skip
FAST = ["--models", "dummy,linear", "--tune-trials", "0", "--no-audit", "--bootstrap", "100",
        "--no-learning-curve", "--no-naive-cv", "--permutation-repeats", "0"]  # fmt: skip


def sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def table(n: int, seed: int):
    """A generated grouped table plus every feature kind the schema knows: a boolean, a
    category and a date stored as text, and an id."""
    import numpy as np
    import pandas as pd

    from groupwise.datasets import generate_dataset

    X, y, _ = generate_dataset(n_samples=n, n_informative=3, n_noise=1, n_batches=8,
                               n_categorical=1, missing_rate=0.02, random_state=seed)  # fmt: skip
    rng = np.random.default_rng(seed)
    df = X.assign(
        flag=rng.random(n) < 0.5,
        visit=pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 400, n), unit="D"),
    )
    df["visit"] = df["visit"].dt.strftime("%Y-%m-%d")
    df.insert(0, "sample_id", [f"s{i:05d}" for i in range(n)])
    return df.assign(y=np.asarray(y))


class Campaign:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.examples: dict[str, list[str]] = defaultdict(list)

    def judge(self, category, *, code, output, left=(), lost=False, unchecked=False,
              success_ok=True, label=""):  # fmt: skip
        r = self.rows[category]
        r["cases"] += 1
        crashed = code not in (0, 1, 2) or "Traceback" in output
        if crashed:
            r["crashes"] += 1
        elif code == 2:
            r["clean exit 2"] += 1
        elif success_ok:
            r["correct success"] += 1
        else:
            r["wrong success"] += 1
        r["partial files"] += bool(left)
        r["data lost"] += bool(lost)
        r["unchecked models"] += bool(unchecked)
        bad = crashed or left or lost or unchecked or (code in (0, 1) and not success_ok)
        if bad and len(self.examples[category]) < 3:
            self.examples[category].append(f"{label}: exit {code}, left {list(left)[:2]}; "
                                           + " ".join(output.split())[-160:])  # fmt: skip


def leftovers(root: Path, keep: set[str]) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and p.name not in keep]  # fmt: skip


# ---------------------------------------------------------------- in-process categories
def invoke(args):
    from typer.testing import CliRunner

    from groupwise.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    out = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        out += "\nTraceback (uncaught " + type(result.exception).__name__ + ")"
    return result.exit_code, out


def mutate(rng: random.Random, base):
    df = base.head(rng.randint(0, 30)).astype(object).copy()
    for _ in range(rng.randint(0, 8)):
        if len(df):
            df.iat[rng.randrange(len(df)), rng.randrange(df.shape[1])] = rng.choice(NASTY)
    edit = rng.choice(["none", "none", "drop", "extra", "rename", "dup", "typed"])
    cols = list(df.columns)
    if edit == "drop":
        df = df.drop(columns=rng.choice(cols))
    elif edit == "extra":
        df["unexpected"] = [rng.choice(NASTY)] * len(df)
    elif edit == "rename":
        df = df.rename(columns={rng.choice(cols): rng.choice(["", " x1", "X1", "y", "prediction"])})
    elif edit == "dup":
        df.columns = [cols[1], *cols[1:]]
    elif edit == "typed":
        df = df.infer_objects()
    return df


def predict_inputs(c: Campaign, rng, n, models, base, root):
    for _i in range(n):
        case = Path(tempfile.mkdtemp(dir=root))
        df = mutate(rng, base)
        kind = rng.choice(["csv", "parquet", "csv.gz", "bytes"])
        src = case / ("in." + ("csv" if kind == "bytes" else kind))
        if kind == "bytes":
            src.write_bytes(rng.randbytes(rng.randint(0, 300)))
        else:
            try:
                df.to_parquet(src, index=False) if kind == "parquet" else df.to_csv(
                    src, index=False
                )
            except Exception:
                src.write_text("sample_id,x1\n")
            if rng.random() < 0.4:
                raw = bytearray(src.read_bytes())
                if raw:
                    if rng.random() < 0.5:
                        raw = raw[: rng.randrange(len(raw))]
                    else:
                        raw[rng.randrange(len(raw))] ^= rng.randint(1, 255)
                src.write_bytes(bytes(raw))
        before = sha(src)
        out = case / rng.choice(["p.parquet", "p.csv", "p.csv.gz"])
        mode = rng.choice(["error", "null"])
        code, text = invoke(["predict", src, "--out", out, "--models-dir", models,
                             "--on-bad-values", mode])  # fmt: skip
        keep = {src.name, out.name, out.name + ".violations.csv"}
        left = leftovers(case, keep)
        if code != 0 and out.exists():
            left.append(out.name)
        ok = code != 0 or _whole(out, expect_rows=None)
        c.judge("predict: inputs", code=code, output=text, left=left, lost=sha(src) != before,
                success_ok=ok, label=f"{kind}/{mode}")  # fmt: skip
        shutil.rmtree(case, ignore_errors=True)


def _whole(out: Path, expect_rows: int | None) -> bool:
    from groupwise.io import read_table

    try:
        df = read_table(out)
    except Exception:
        return False
    return "prediction" in df.columns and (expect_rows is None or len(df) == expect_rows)


KEYS = ["target", "group", "id", "drop", "models", "threshold", "seed", "holdout", "folds",
        "tune_trials", "models_dir", "metric", "time", "audit", "bootstrap", "nonsense"]  # fmt: skip
TOML_VALUES = ["5", "-1", "0", "1.5", "nan", "inf", "true", '"x"', '"y"', '"batch"', '""',
               '"fixed:1..2"', '"min_recall:e"', '"cost:fp=+-1,fn=2"', '"max_f1"', "[1, 2]",
               '["linear", "forest"]', '["dummy"]', "18446744073709551616", '"1e-3"',
               "{a = 1}", '"2024-01-01"']  # fmt: skip


def configs(c: Campaign, rng, n, csv_path, root):
    import groupwise.training._train as t
    from groupwise.exceptions import DataError

    real = t.prepare

    def started(*a, **k):
        raise DataError("MARKER: training was about to start")

    t.prepare = started
    try:
        for _i in range(n):
            case = Path(tempfile.mkdtemp(dir=root))
            cfg = case / "c.toml"
            if rng.random() < 0.15:
                cfg.write_bytes(rng.randbytes(rng.randint(0, 60)))
            else:
                keys = rng.sample(KEYS, rng.randint(0, 5))
                cfg.write_text(
                    "[train]\n" + "".join(f"{k} = {rng.choice(TOML_VALUES)}\n" for k in keys)
                )
            extra = []
            if rng.random() < 0.3:
                extra = [rng.choice(["--seed", "--threshold", "--holdout", "--folds"]),
                         rng.choice(["18446744073709551616", "-1", "fixed:1..2", "0.5", "x", "3"])]  # fmt: skip
            models = case / "m"
            code, text = invoke(["train", csv_path, "--target", "y", "--config", cfg,
                                 "--models-dir", models, *extra])  # fmt: skip
            reached = "MARKER" in text
            left = [str(p) for p in models.rglob("*")] if models.exists() else []
            c.judge("train: configs and flags", code=0 if reached else code, output=text,
                    left=left, label=cfg.read_bytes()[:60].decode("utf-8", "replace"))  # fmt: skip
            shutil.rmtree(case, ignore_errors=True)
    finally:
        t.prepare = real


def tampering(c: Campaign, rng, n, models, run_id, src, root):
    from groupwise.runs import RunLayout

    for _i in range(n):
        case = Path(tempfile.mkdtemp(dir=root))
        m = case / "models"
        shutil.copytree(models, m)
        path = m / "runs" / run_id
        layout = RunLayout(path)
        target = rng.choice([layout.meta, layout.model, layout.schema, path / "manifest.json",
                             m / "registry" / "latest.txt"])  # fmt: skip
        original = target.read_bytes()
        raw = bytearray(original)
        how = rng.choice(["flip", "truncate", "append", "empty", "edit"])
        if how == "flip" and raw:
            raw[rng.randrange(len(raw))] ^= rng.randint(1, 255)
        elif how == "truncate":
            raw = raw[: rng.randrange(max(len(raw), 1))]
        elif how == "append":
            raw += rng.randbytes(rng.randint(1, 16))
        elif how == "empty":
            raw = bytearray()
        elif how == "edit" and target.suffix == ".json":
            try:
                doc = json.loads(original)
                doc[rng.choice(list(doc) or ["x"])] = rng.choice([None, 0, "x", [], {}])
                raw = bytearray(json.dumps(doc).encode())
            except ValueError:
                pass
        target.write_bytes(bytes(raw))
        changed = bytes(raw) != original
        if target.name == "manifest.json" or target.name == "latest.txt":
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                same = (json.loads(raw) == json.loads(original)) if target.suffix == ".json" else (
                    bytes(raw).decode().strip() == original.decode().strip())  # fmt: skip
                changed = changed and not same
        out = case / "p.csv"
        code, text = invoke(["predict", src, "--out", out, "--models-dir", m])
        covered = target.name not in ("latest.txt", "manifest.json")
        if target.name == "manifest.json":  # harmless unless the checksums themselves changed
            with contextlib.suppress(ValueError, UnicodeDecodeError, AttributeError, TypeError):
                changed = json.loads(raw).get("files") != json.loads(original).get("files")
        unchecked = changed and code == 0 and covered
        left = [p for p in leftovers(case, {"p.csv"}) if not p.startswith("models/")]
        c.judge("runs: tampered files", code=code, output=text, left=left, unchecked=unchecked,
                success_ok=not changed or not covered, label=f"{target.name}/{how}")  # fmt: skip
        shutil.rmtree(case, ignore_errors=True)
    # an untrusted type inside a model whose hashes were recomputed: the allow-list decides
    untrusted(c, models, run_id, src, root)


def untrusted(c: Campaign, models, run_id, src, root):
    import numpy as np
    import skops.io as sio

    from groupwise.runs import RunLayout
    from groupwise.runs._manifest import COVERED, write_manifest

    for obj in (
        np.nan_to_num,
        {"a": __import__("collections").Counter()},
        np.random.default_rng(0),
    ):
        case = Path(tempfile.mkdtemp(dir=root))
        m = case / "models"
        shutil.copytree(models, m)
        run_dir = m / "runs" / run_id
        layout = RunLayout(run_dir)
        try:
            layout.model.write_bytes(sio.dumps(obj))
        except Exception:
            continue
        # a careful forger: every checksum recomputed, so only the allow-list stands
        meta = json.loads(layout.meta.read_text())
        meta["model"]["sha256"] = hashlib.sha256(layout.model.read_bytes()).hexdigest()
        layout.meta.write_text(json.dumps(meta))
        write_manifest(run_dir, {
            rel: hashlib.sha256((run_dir / rel).read_bytes()).hexdigest() for rel in COVERED
        })  # fmt: skip
        code, text = invoke(["predict", src, "--out", case / "p.csv", "--models-dir", m])
        c.judge("runs: tampered files", code=code, output=text, unchecked=code == 0,
                success_ok=False, label=f"untrusted {type(obj).__name__}")  # fmt: skip
        shutil.rmtree(case, ignore_errors=True)


PARTS = ["adir", "afile", "new", "in.csv", "link.csv", "x" * 300, ".", "..", "models"]


def paths(c: Campaign, rng, n, models, base):
    for _i in range(n):
        base_dir = Path(tempfile.mkdtemp())
        case = base_dir / "w"  # ".." and "." may lead one level up: still inside base_dir
        case.mkdir()
        src = case / "in.csv"
        base.head(5).to_csv(src, index=False)
        (case / "afile").write_text("x")
        (case / "adir").mkdir()
        os.symlink(src, case / "link.csv")
        before = sha(src)
        out = case.joinpath(*rng.sample(PARTS, rng.randint(1, 3)))
        if out.name not in (".", ".."):
            out = out.with_name(out.name + rng.choice(["", ".csv", ".parquet", ".csv.gz", ".txt"]))
        code, text = invoke(["predict", src, "--out", out, "--models-dir", models])
        left = [p for p in base_dir.rglob(".*.tmp")]
        ok = code != 0 or out.is_file()
        c.judge("predict: output paths", code=code, output=text, left=left,
                lost=sha(src) != before or (case / "afile").read_text() != "x",
                success_ok=ok, label=str(out)[len(str(base_dir)):][:40])  # fmt: skip
        shutil.rmtree(base_dir, ignore_errors=True)


# ------------------------------------------------------------------ subprocess categories
def cmd(*args) -> list[str]:
    return [sys.executable, "-m", "groupwise", *map(str, args)]


def env() -> dict:
    return dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="120", PYTHONWARNINGS="ignore")


@contextlib.contextmanager
def small_disk(size_kb: int):
    """A tmpfs of ``size_kb`` (root only); yields its path or None."""
    d = Path(tempfile.mkdtemp(prefix="gw-disk-"))
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(d)],
                        capture_output=True).returncode == 0  # fmt: skip
    try:
        yield d if ok else None
    finally:
        if ok:
            subprocess.run(["umount", "-l", str(d)], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


def fsize_limit(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def disks(c: Campaign, rng, n, models, big, csv_path, notes):
    mounted = 0
    for i in range(n):
        which = ["predict", "audit", "generate", "train"][i % 4]
        size = rng.choice([8, 64, 256, 1024])
        with small_disk(size) as disk:
            root = disk or Path(tempfile.mkdtemp())
            mounted += disk is not None
            argv = {
                "predict": cmd("predict", big, "--out", root / "p.csv", "--models-dir", models),
                "audit": cmd("audit", csv_path, "--target", "y", "--out", root / "audit"),
                "generate": cmd("generate", root / "g.csv", "--n-samples", "20000", "--seed", "1"),
                "train": cmd("train", csv_path, "--target", "y", *FAST, "--models-dir", root / "m"),
            }[which]
            limit = None if disk else size * 1024
            p = subprocess.run(argv, capture_output=True, text=True, env=env(), timeout=600,
                               preexec_fn=fsize_limit(limit) if limit else None)  # fmt: skip
            left = []
            if p.returncode != 0:
                left = [str(x) for x in root.rglob("*") if x.is_file()]
            else:
                left = [str(x) for x in root.rglob("*.tmp")] + [
                    str(x) for x in root.rglob(".tmp-*")
                ]
            c.judge("disk full", code=p.returncode, output=p.stderr + p.stdout, left=left,
                    label=f"{which} {size}k {'tmpfs' if disk else 'rlimit'}")  # fmt: skip
            if not disk:
                shutil.rmtree(root, ignore_errors=True)
    notes.append(f"disk full: {mounted} of {n} cases on a real tmpfs, the rest under RLIMIT_FSIZE")

    with small_disk(4096) as disk:
        if disk is None:
            notes.append("read-only: skipped (mounting a tmpfs needs root)")
            return
        (disk / "m").mkdir()
        shutil.copy(csv_path, disk / "t.csv")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        for which in ("predict", "audit", "generate", "train", "train-existing"):
            argv = {
                "predict": cmd("predict", disk / "t.csv", "--out", disk / "p.csv", "--models-dir", models),
                "audit": cmd("audit", disk / "t.csv", "--target", "y", "--out", disk / "a"),
                "generate": cmd("generate", disk / "g.csv", "--n-samples", "100"),
                "train": cmd("train", disk / "t.csv", "--target", "y", *FAST, "--models-dir", disk / "new"),
                "train-existing": cmd("train", disk / "t.csv", "--target", "y", *FAST,
                                      "--models-dir", disk / "m"),
            }[which]  # fmt: skip
            before = sha(disk / "t.csv")
            p = subprocess.run(argv, capture_output=True, text=True, env=env(), timeout=600)
            c.judge("read-only disk", code=p.returncode, output=p.stderr + p.stdout,
                    lost=sha(disk / "t.csv") != before, label=which)  # fmt: skip


def signals(c: Campaign, rng, n, models, big, csv_path, root):
    for _i in range(n):
        case = Path(tempfile.mkdtemp(dir=root))
        sig = rng.choice([signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGKILL])
        which = rng.choice(["train", "predict"])
        m = case / "m"
        if which == "train":
            argv = cmd("train", csv_path, "--target", "y", "--group", "batch", "--models",
                       "dummy,linear", "--tune-trials", "0", "--no-audit", "--bootstrap", "100",
                       "--models-dir", m, "--n-jobs", "2")  # fmt: skip
        else:
            argv = cmd("predict", big, "--out", case / "p.csv", "--models-dir", models)
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env())  # fmt: skip
        time.sleep(rng.uniform(2.5, 9.0))
        kids = _children(p.pid)
        p.send_signal(sig)
        try:
            out, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        code = p.returncode
        expected = {signal.SIGTERM: 143, signal.SIGHUP: 129, signal.SIGINT: 130, signal.SIGKILL: -9}
        finished = code in (0, 1)
        clean = finished or code == expected[sig]
        # workers must exit with their parent, even after kill -9
        deadline = time.monotonic() + 30
        while any(_alive(k) for k in kids) and time.monotonic() < deadline:
            time.sleep(0.2)
        orphans = [k for k in kids if _alive(k)]
        if sig == signal.SIGKILL:  # the next command removes what the dead one left
            past = time.time() - 3600
            for t in case.glob(".*.tmp"):
                os.utime(t, (past, past))
            again = cmd("train", csv_path, "--target", "y", *FAST, "--models-dir", m) if which == "train" else \
                cmd("predict", root / "in.csv", "--out", case / "p.csv", "--models-dir", models)  # fmt: skip
            subprocess.run(again, capture_output=True, env=env(), timeout=600)
        left = [str(x) for x in case.rglob("*") if x.name.startswith((".tmp-", ".p.csv."))]
        if not finished and sig != signal.SIGKILL:
            left += [str(x) for x in case.glob("p.csv")]
            if (m / "registry" / "latest.txt").exists():
                left.append("latest.txt")
        left += [f"worker {k}" for k in orphans]
        c.judge("signals and kills", code=0 if clean else code, output=err if code != -9 else "",
                left=left, label=f"{which} {signal.Signals(sig).name} exit {code}")  # fmt: skip
        shutil.rmtree(case, ignore_errors=True)


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def concurrency(c: Campaign, n, csv_path, root):
    for _i in range(n):
        m = Path(tempfile.mkdtemp(dir=root)) / "m"
        procs = [subprocess.Popen(cmd("train", csv_path, "--target", "y", *FAST, "--seed", s,
                                      "--models-dir", m), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env()) for s in (1, 2, 3)]  # fmt: skip
        results = [p.communicate(timeout=900) for p in procs]
        ids = sorted(p.name for p in (m / "runs").iterdir()) if (m / "runs").exists() else []
        latest = (m / "registry" / "latest.txt").read_text().strip() if ids else ""
        for p, (_out, err) in zip(procs, results, strict=True):
            c.judge("concurrent trains", code=p.returncode, output=err,
                    left=[str(x) for x in (m / "runs").glob(".tmp-*")],
                    success_ok=len(ids) == 3 and latest == ids[-1], label=f"latest {latest}")  # fmt: skip


# --------------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every case count")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-record", action="store_true", help="print only; RESULTS.md untouched")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    os.environ.setdefault("MPLBACKEND", "Agg")
    rng = random.Random(args.seed)

    def count(k):
        return max(1, round(k * args.scale))

    from groupwise.spec import TableSpec
    from groupwise.training import TrainConfig, train

    root = Path(tempfile.mkdtemp(prefix="gw-faults-"))
    df = table(300, args.seed)
    csv_path = root / "t.csv"
    df.to_csv(csv_path, index=False)
    models = root / "models"
    print("[faults] training the reference run", flush=True)
    run = train(df, TableSpec(target="y", group_col="batch", id_cols=["sample_id"]),
                TrainConfig(models_dir=str(models), models=("dummy", "linear"), tune_trials=0,
                            bootstrap=100, permutation_repeats=0, learning_curve=False,
                            naive_cv=False, audit=False))  # fmt: skip
    features = df.drop(columns="y")
    src = root / "in.csv"
    features.head(20).to_csv(src, index=False)
    big = root / "big.parquet"
    features.sample(400_000, replace=True, random_state=0).to_parquet(big, index=False)

    c = Campaign()
    notes: list[str] = []
    steps = [
        ("predict inputs", lambda: predict_inputs(c, rng, count(800), models, features, root)),
        ("configs", lambda: configs(c, rng, count(400), csv_path, root)),
        ("tampering", lambda: tampering(c, rng, count(300), models, run.run_id, src, root)),
        ("paths", lambda: paths(c, rng, count(200), models, features)),
        ("disks", lambda: disks(c, rng, count(12), models, big, csv_path, notes)),
        ("signals", lambda: signals(c, rng, count(16), models, big, csv_path, root)),
        ("concurrency", lambda: concurrency(c, count(2), csv_path, root)),
    ]
    for name, step in steps:
        t0 = time.perf_counter()
        step()
        print(f"[faults] {name}: done in {time.perf_counter() - t0:.0f} s", flush=True)
    shutil.rmtree(root, ignore_errors=True)

    cols = ["cases", "clean exit 2", "correct success", "wrong success", "crashes", "partial files",
            "data lost", "unchecked models"]  # fmt: skip
    rows = [[cat, *(r[k] for k in cols)] for cat, r in c.rows.items()]
    total = {k: sum(r[k] for r in c.rows.values()) for k in cols}
    rows.append(["**all**", *(total[k] for k in cols)])
    misses = [f"{cat}: " + "; ".join(ex) for cat, ex in c.examples.items() if ex]
    notes += [
        f"code {h.code_version()}; seed {args.seed}; scale {args.scale}; crashes = exit not in "
        "0/1/2 or a traceback; a signal counts as clean when the exit is 128 + signal and "
        "nothing is left; partial files include workers alive 30 s after their parent died.",
        "Goal: 0 crashes, 0 wrong successes, 0 partial files, 0 data lost, 0 unchecked models in "
        "every category — " + ("met." if not misses else "misses: " + " | ".join(misses)),
    ]
    h.report("bench_faults", ["category", *cols], rows, notes, record=not args.no_record)


if __name__ == "__main__":
    main()
