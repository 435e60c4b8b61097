"""What ``train --track`` costs: the 20,000-row train benchmark with and without tracking.

The table is bench_train's (20 numeric + 3 categorical features, 16,000 training rows).
``groupwise train`` runs with every default, alternately without and with ``--track``
(embedded SQLite store in a models directory of its own, created by the first tracked run,
so the first one also pays for creating the store), ``--repeat`` times each; the overhead
is the median tracked wall time minus the median untracked one, as a share of the
untracked one. Also timed: ``mlflow.pyfunc.load_model`` + ``predict`` of the logged model
on the external test rows, checked against ``Run.predict``.

Goal (issue): tracking overhead ≤ 5% of the wall time.

    python benchmarks/bench_tracking.py [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as h
import bench_train

WORK = h.WORK / "tracking"

CHECK = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
t0 = time.perf_counter()
import mlflow
from groupwise import load_run
uri, mlflow_id, run_dir, test = sys.argv[1:5]
mlflow.set_tracking_uri(uri)
model = mlflow.pyfunc.load_model(f"runs:/{mlflow_id}/model")
rows = pd.read_parquet(test).drop(columns="y")
got = model.predict(rows)
wall = time.perf_counter() - t0
want = load_run(run_dir).predict(rows)
same = bool((got["score"].to_numpy() == want["score"].to_numpy()).all()
            and (got["prediction"].astype(str) == want["prediction"].astype(str)).all())
print("RESULT " + json.dumps({"wall_s": wall, "identical": same, "rows": len(rows)}))
"""


def train(train_path: Path, models: Path, track: bool, quick: bool) -> dict:
    cmd = [sys.executable, "-m", "groupwise", "train", str(train_path), "--target", "y",
           "--id", "record_id", "--models-dir", str(models)]  # fmt: skip
    if quick:
        cmd += ["--tune-trials", "3", "--models", "dummy,linear,hist_gb"]
    if track:
        cmd += ["--track"]
    proc = h.run_process(cmd)
    if proc["returncode"] != 0:
        return {"error": (proc["stderr"].strip().splitlines() or [f"exit {proc['returncode']}"])[-1]}  # fmt: skip
    import re

    text = " ".join(proc.get("stdout", "").split())  # the console wraps long lines
    m = re.search(r"tracked in MLflow: run (\w+) .*? \(([\d.]+) s\)", text)
    return {"wall_s": proc["wall_s"], "mlflow_run_id": m and m.group(1),
            "tracking_s": m and float(m.group(2))}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="2,000 rows, not recorded")
    args = ap.parse_args()
    n = 2_000 if args.quick else 20_000
    train_path, test_path = bench_train.make_tables(n)
    shutil.rmtree(WORK, ignore_errors=True)
    plain_dir, tracked_dir = WORK / "plain", WORK / "tracked"
    walls: dict[bool, list[float]] = {False: [], True: []}
    lines = []
    for i in range(args.repeat):
        for track in (False, True):
            r = train(train_path, tracked_dir if track else plain_dir, track, args.quick)
            if "error" in r:
                raise SystemExit(f"train {'--track ' if track else ''}failed: {r['error']}")
            walls[track].append(r["wall_s"])
            if track:
                lines.append(r["tracking_s"])
            print(f"run {i + 1} {'tracked' if track else 'plain  '}: {r['wall_s']:.1f} s", flush=True)  # fmt: skip
    plain, tracked = statistics.median(walls[False]), statistics.median(walls[True])
    overhead = tracked - plain
    share = overhead / plain
    from groupwise import load_run

    run = load_run("latest", tracked_dir)
    import sqlite3

    db = tracked_dir / "mlflow.db"
    with sqlite3.connect(db) as con:
        (mlflow_id,) = con.execute(
            "select run_uuid from runs r join tags t using (run_uuid) where t.key = "
            "'groupwise.run_id' and t.value = ? and r.run_uuid not in (select run_uuid from "
            "tags where key = 'mlflow.parentRunId')",
            (run.run_id,),
        ).fetchone()
    check = h.run_child([sys.executable, "-c", CHECK, f"sqlite:///{db.resolve()}", mlflow_id,
                         str(run.path), str(test_path)])  # fmt: skip
    rows = [
        ["without --track", f"{plain:.1f}", " / ".join(f"{w:.1f}" for w in walls[False]), "", ""],
        ["with --track", f"{tracked:.1f}", " / ".join(f"{w:.1f}" for w in walls[True]),
         f"{overhead:+.1f} s ({100 * share:+.1f}%)",
         f"≤ 5%: {'yes' if share <= 0.05 else '**no**'}"],
    ]  # fmt: skip
    notes = [
        f"{n} rows (bench_train's table, 80% for training); every default; alternating, "
        f"{args.repeat} runs each, median; whole `groupwise train` processes.",
        "The first tracked run created the SQLite store (about 4 s of table creation, in the "
        "background while training runs); MLflow is imported in the background too.",
        "The tracking step after the run was written, as `train` reports it (s): "
        + " / ".join(f"{s:.1f}" for s in lines if s is not None),
        f"Logged model: `mlflow.pyfunc.load_model` + predict on {check.get('rows')} external rows "
        f"in {check.get('wall_s', float('nan')):.1f} s (fresh process, imports included); "
        f"identical to `Run.predict`: {check.get('identical', check.get('error'))}.",
        f"Store: {db.stat().st_size / 1e6:.1f} MB after {args.repeat} runs.",
    ]
    h.report("bench_tracking" + (" (quick)" if args.quick else ""),
             ["train", "median wall s", "runs (s)", "overhead", "goal"], rows, notes,
             record=not args.quick)  # fmt: skip
    print(json.dumps({"plain": walls[False], "tracked": walls[True], "check": check}))


if __name__ == "__main__":
    main()
