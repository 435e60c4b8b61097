"""The Dask executor against the local one on this 2-core machine.

1. **Predict over partitions:** a run trained on bench_train's 16,000-row table scores a
   5,000,000-row dataset in 20 Parquet partitions (rows of the external test table,
   resampled, with fresh ids) with ``groupwise predict DIR --out OUT --executor
   local|dask``, alternately, ``--repeat`` times each: median throughput, peak RSS of the
   largest process (a worker holds one partition at a time), and whether both executors
   wrote identical files (the manifests' SHA-256 lists).
2. **CV on the cluster:** ``groupwise train`` on the 16,000-row table with 5 candidates
   (dummy, linear, hist_gb, random_forest, extra_trees) × 5 folds and no tuning, on each
   executor: the candidates stage's time, and whether the per-fold scores are identical.

Goals (issue): Dask predict throughput ≥ 0.9× the local executor here (it cannot be faster
on one machine; the point is that it scales out), peak memory per worker bounded by the
partition size, identical outputs.

    python benchmarks/bench_dask.py [--repeat 3] [--quick]
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

WORK = h.WORK / "dask"


def groupwise(*args: str) -> dict:
    proc = h.run_process([sys.executable, "-m", "groupwise", *args])
    if proc["returncode"] != 0:
        raise SystemExit(f"groupwise {' '.join(args[:2])} failed: {proc['stderr'][-800:]}")
    return proc


def make_dataset(test_path: Path, rows: int, parts: int) -> Path:
    import numpy as np
    import pandas as pd

    root = WORK / f"lake_{rows}_{parts}"
    if root.exists() and len(list(root.glob("*.parquet"))) == parts:
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    test = pd.read_parquet(test_path).drop(columns="y")
    rng = np.random.default_rng(0)
    per = rows // parts
    for k in range(parts):
        part = test.iloc[rng.integers(0, len(test), per)].reset_index(drop=True)
        part["record_id"] = np.arange(k * per, (k + 1) * per) + 10_000_000
        part.to_parquet(root / f"part-{k:03d}.parquet")
    return root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="200,000 rows, 1 run, not recorded")
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--parts", type=int, default=20, help="partitions of the dataset")
    ap.add_argument("--no-cv", action="store_true", help="predict only")
    args = ap.parse_args()
    rows, parts, repeat = (200_000, 20, 1) if args.quick else (args.rows, args.parts, args.repeat)
    train_path, test_path = bench_train.make_tables(20_000)
    models = WORK / "models"
    shutil.rmtree(models, ignore_errors=True)
    groupwise("train", str(train_path), "--target", "y", "--id", "record_id", "--models-dir",
              str(models), "--models", "dummy,linear,hist_gb", "--tune-trials", "5", "--no-shap")  # fmt: skip
    lake = make_dataset(test_path, rows, parts)
    part_mb = sum(p.stat().st_size for p in lake.glob("*.parquet")) / parts / 1e6
    results: dict[str, list[dict]] = {"local": [], "dask": []}
    for i in range(repeat):
        for ex in ("local", "dask"):
            out = WORK / f"out_{ex}"
            shutil.rmtree(out, ignore_errors=True)
            proc = groupwise("predict", str(lake), "--out", str(out), "--models-dir", str(models), "--executor", ex)  # fmt: skip
            manifest = json.loads((out / "_manifest.json").read_text())
            results[ex].append({"wall_s": proc["wall_s"], "rss": proc["rss_peak"],
                                "sha": [e["sha256"] for e in manifest["partitions"]]})  # fmt: skip
            print(f"predict {i + 1} {ex}: {proc['wall_s']:.1f} s", flush=True)
    med = {ex: statistics.median(r["wall_s"] for r in rs) for ex, rs in results.items()}
    rate = {ex: rows / med[ex] for ex in med}
    ratio = rate["dask"] / rate["local"]
    identical = results["local"][0]["sha"] == results["dask"][0]["sha"]
    table = [
        ["predict, local", f"{med['local']:.1f}", f"{rate['local']:,.0f}",
         h.fmt_bytes(max(r["rss"] for r in results["local"])), "", ""],
        ["predict, dask (2 × 1 thread)", f"{med['dask']:.1f}", f"{rate['dask']:,.0f}",
         h.fmt_bytes(max(r["rss"] for r in results["dask"])), f"{ratio:.2f}× local",
         f"≥ 0.9×: {'yes' if ratio >= 0.9 else '**no**'}; identical files: {'yes' if identical else '**no**'}"],
    ]  # fmt: skip
    cv = {}
    if not args.quick and not args.no_cv:
        for ex in ("local", "dask"):
            d = WORK / f"cv_{ex}"
            shutil.rmtree(d, ignore_errors=True)
            proc = groupwise("train", str(train_path), "--target", "y", "--id", "record_id",
                             "--models-dir", str(d), "--models",
                             "dummy,linear,hist_gb,random_forest,extra_trees", "--tune-trials", "0",
                             "--no-naive-cv", "--no-learning-curve", "--no-shap", "--executor", ex)  # fmt: skip
            from groupwise import load_run

            run = load_run("latest", d)
            folds = run.metrics.folds()
            cv[ex] = {"wall": proc["wall_s"], "candidates": run.meta["timings"]["candidates"],
                      "folds": folds[[c for c in folds.columns if "time" not in c]]}  # fmt: skip
        same = cv["local"]["folds"].equals(cv["dask"]["folds"])
        for ex in ("local", "dask"):
            table.append([f"CV 5 candidates × 5 folds, {ex}", f"{cv[ex]['wall']:.1f}", "",
                          "", f"candidates stage {cv[ex]['candidates']:.1f} s",
                          f"identical fold scores: {'yes' if same else '**no**'}" if ex == "dask" else ""])  # fmt: skip
    notes = [
        f"{rows:,} rows in {parts} partitions of {rows // parts:,} rows ({part_mb:.1f} MB each on "
        f"disk); median of {repeat} alternating runs of the whole `groupwise predict` process "
        "(the dask runs include starting and stopping the local cluster).",
        "Peak RSS: the largest single process of the command (the CLI or one worker).",
        "Model: dummy/linear/hist_gb with 5 tuning trials on bench_train's table.",
    ]
    h.report("bench_dask" + (" (quick)" if args.quick else ""),
             ["job", "wall s", "rows/s", "peak RSS", "vs local", "goal"], table, notes,
             record=not args.quick)  # fmt: skip


if __name__ == "__main__":
    main()
