"""Batch prediction: throughput, memory and latency of ``groupwise predict``.

Uses the run written by ``bench_train.py`` (run it first). Measures, in one run:

- ``groupwise predict`` on 1,000,000 and 5,000,000-row Parquet files (whole CLI
  process: model check, validation pass, chunked prediction, atomic write);
- a hand-written baseline in its own process: read the Parquet file, call the
  pipeline's ``predict_proba``, write Parquet (no validation, whole file in memory);
- 1,000-row latency in one warm process: ``Run.predict`` (validation + prediction)
  vs the pipeline's own ``predict_proba``.

Goals (issue): throughput ≥ 0.9× the baseline; peak RSS flat from 1M to 5M rows;
1,000-row latency ≤ 2× the pipeline's own predict time.

    python benchmarks/bench_predict.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as h

WORK = h.WORK / "predict"
MODELS = h.WORK / "train" / "models"


def make_input(n: int) -> Path:
    """``n`` new rows in the training table's format (no target), written in row groups."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from groupwise.datasets import DatasetConfig, generate_dataset

    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"new_{n}.parquet"
    if path.exists():
        return path
    writer = None
    step = 500_000
    for start in range(0, n, step):
        m = min(step, n - start)
        cfg = DatasetConfig(
            n_samples=m, n_informative=8, n_noise=12, class_sep=1.5, weights=(0.85, 0.15), n_categorical=3,
            categorical_levels=(50, 5, 8), missing_rate=0.05, missing_columns=("i1", "i3", "n2", "n5"),
            random_state=10_000 + start,
        )  # fmt: skip
        X, _, _ = generate_dataset(cfg)
        for c in ("cat1", "cat2", "cat3"):
            X[c] = X[c].astype(str).where(X[c].notna(), None)
        X.insert(0, "record_id", np.arange(start, start + m) + 5_000_000)
        table = pa.Table.from_pandas(X, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=100_000)
    writer.close()
    return path


BASELINE = r"""
import sys, json, pandas as pd
from groupwise import load_run
run = load_run(sys.argv[4], sys.argv[1])
model = run.pipeline
df = pd.read_parquet(sys.argv[2])
proba = model.predict_proba(df[run.schema.feature_names])
pd.DataFrame({"record_id": df["record_id"], "proba_1": proba[:, 1]}).to_parquet(sys.argv[3])
"""

LATENCY = r"""
import sys, json, time, statistics, pandas as pd
from threadpoolctl import threadpool_limits
from groupwise import load_run
from groupwise._parallel import available_cores
run = load_run(sys.argv[3], sys.argv[1])
rows = pd.read_parquet(sys.argv[2]).iloc[:1000]
X = rows[run.schema.feature_names]
model = run.pipeline
run.predict(rows); model.predict_proba(X)  # warm up
def t(fn, k=30):
    out = []
    for _ in range(k):
        s = time.perf_counter(); fn(); out.append(time.perf_counter() - s)
    return statistics.median(out)
with threadpool_limits(available_cores()):
    ours = t(lambda: run.predict(rows))
    raw = t(lambda: model.predict_proba(X))
print("RESULT " + json.dumps({"run_predict_s": ours, "pipeline_s": raw}))
"""


def first_table_run() -> str | None:
    """The newest bench_train run on its first table (the format ``make_input`` writes)."""
    runs = sorted((MODELS / "runs").glob("*"), reverse=True) if (MODELS / "runs").exists() else []
    for path in runs:
        meta = path / "run_meta.json"
        if meta.exists() and "cat1" in json.loads(meta.read_text()).get("features", []):
            return path.name
    return None


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="100k/200k rows, not recorded")
    ap.add_argument(
        "--repeats", type=int, default=5, help="alternating runs at the smaller size (medians)"
    )
    args = ap.parse_args()
    run_id = first_table_run()
    if run_id is None:
        sys.exit(
            "Run benchmarks/bench_train.py --tables first first: this benchmark scores with its run."
        )
    sizes = (100_000, 200_000) if args.quick else (1_000_000, 5_000_000)
    rows, notes = [], []
    scripts = WORK / "scripts"
    scripts.mkdir(parents=True, exist_ok=True)
    (scripts / "baseline.py").write_text(BASELINE)
    (scripts / "latency.py").write_text(LATENCY)
    results = {}
    import statistics

    walls: dict[int, tuple[list[float], list[float]]] = {}
    for n in sizes:
        src = make_input(n)
        out = WORK / f"pred_{n}.parquet"
        ours_cmd = [
            sys.executable, "-m", "groupwise", "predict", str(src), "--out", str(out),
            "--models-dir", str(MODELS), "--run", run_id,
        ]  # fmt: skip
        base_cmd = [
            sys.executable, str(scripts / "baseline.py"), str(MODELS), str(src),
            str(WORK / f"base_{n}.parquet"), run_id,
        ]  # fmt: skip
        pairs = [
            (h.run_process(ours_cmd), h.run_process(base_cmd))
            for _ in range(args.repeats if n == sizes[0] else 1)
        ]
        ok = [(o, b) for o, b in pairs if o["returncode"] == 0 and b["returncode"] == 0]
        ours, base = pairs[-1]
        if ok:  # the medians of the alternating runs, peak RSS of the last
            walls[n] = ([o["wall_s"] for o, _ in ok], [b["wall_s"] for _, b in ok])
            ours = {**ours, "wall_s": statistics.median(walls[n][0])}
            base = {**base, "wall_s": statistics.median(walls[n][1])}
        if ours["returncode"] != 0:
            rows.append(
                [f"{n:,}", "groupwise predict", "error", ours["stderr"].strip()[-120:], "", ""]
            )
            continue
        results[n] = (ours, base)
        ratio = (
            (n / ours["wall_s"]) / (n / base["wall_s"]) if base["returncode"] == 0 else float("nan")
        )
        rows.append(
            [
                f"{n:,}",
                "groupwise predict",
                f"{ours['wall_s']:.1f}",
                f"{n / ours['wall_s']:,.0f}",
                h.fmt_bytes(ours["rss_peak"]),
                f"{ratio:.2f}× baseline (goal ≥ 0.9)",
            ]
        )
        if base["returncode"] == 0:
            rows.append(
                [
                    f"{n:,}",
                    "baseline (read + predict_proba + write)",
                    f"{base['wall_s']:.1f}",
                    f"{n / base['wall_s']:,.0f}",
                    h.fmt_bytes(base["rss_peak"]),
                    "",
                ]
            )
        else:
            rows.append([f"{n:,}", "baseline", "error", base["stderr"].strip()[-120:], "", ""])
    if len(results) == 2:
        (a, _), (b, _) = results.values()
        growth = b["rss_peak"] / a["rss_peak"]
        notes.append(f"groupwise peak RSS from {sizes[0]:,} to {sizes[1]:,} rows: ×{growth:.2f} (goal: flat); "
                     f"the baseline grows ×{results[sizes[1]][1]['rss_peak'] / results[sizes[0]][1]['rss_peak']:.2f}.")  # fmt: skip
    lat = h.run_child(
        [
            sys.executable,
            str(scripts / "latency.py"),
            str(MODELS),
            str(make_input(sizes[0])),
            run_id,
        ]
    )
    if "error" not in lat:
        r = lat["run_predict_s"] / lat["pipeline_s"]
        rows.append(
            [
                "1,000",
                "Run.predict (validation + prediction)",
                f"{lat['run_predict_s'] * 1000:.1f} ms",
                "",
                "",
                f"{r:.2f}× the pipeline (goal ≤ 2×)",
            ]
        )
        rows.append(
            ["1,000", "pipeline.predict_proba", f"{lat['pipeline_s'] * 1000:.1f} ms", "", "", ""]
        )
    meta = json.loads((MODELS / "runs" / run_id / "run_meta.json").read_text())
    for n, (o, b) in walls.items():
        notes.append(
            f"{n:,} rows: wall medians of {len(o)} alternating runs; groupwise "
            f"{', '.join(f'{w:.2f}' for w in o)} s, baseline {', '.join(f'{w:.2f}' for w in b)} s."
        )
    notes.append(
        f"Model: the bench_train run ({meta['selected_model']['label']}), {len(meta['features'])} features incl. 3 categoricals."
    )
    notes.append(
        "groupwise predict: whole CLI process (imports, SHA-256 + skops load, one pass that validates and scores each chunk of 100,000 rows as it is read, atomic write)."
    )
    notes.append("1,000-row latency: median of 30 warm calls in one process.")
    h.report(
        "bench_predict" + (" (quick)" if args.quick else ""),
        ["rows", "path", "wall", "rows/s", "peak RSS", "goal"],
        rows,
        notes,
        record=not args.quick,
    )


if __name__ == "__main__":
    main()
