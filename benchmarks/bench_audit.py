"""Speed of the full data audit, with per-check timings; Deepchecks as the peer.

Goals (issues): 100,000 × 30 in ≤ 10 s and 1,000,000 × 50 in ≤ 10 s (≤ 60 s before the
speed issue) on this 2-core machine, and ≥ 10× faster than Deepchecks' data_integrity() +
train_test_validation() on the same 100k table. Deepchecks 0.19.1 runs in its own venv (numpy 1.26.4,
pandas 2.2.3, scikit-learn 1.7.2), created by this script with --peers.

    python benchmarks/bench_audit.py [--peers] [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as h

SHAPES = {"100k x 30": (100_000, 30), "1M x 50": (1_000_000, 50)}
QUICK = {"5k x 30 (quick)": (5_000, 30)}
GOALS = {"100k x 30": 10.0, "1M x 50": 10.0}
DEEPCHECKS = [
    "deepchecks==0.19.1",
    "numpy==1.26.4",
    "pandas==2.2.3",
    "scikit-learn==1.7.2",
    "pyarrow==17.0.0",
    "setuptools<81",
]


def table_path(n: int, p: int) -> Path:
    return h.WORK / f"audit_{n}x{p}.parquet"


def make_table(n: int, p: int) -> Path:
    """A grouped table with mild confounding, missingness, categoricals and one proxy."""
    path = table_path(n, p)
    if path.exists():
        return path
    from groupwise.datasets import generate_dataset

    n_inf = p // 3
    X, y, _ = generate_dataset(
        n_samples=n, n_informative=n_inf, n_noise=p - n_inf - 3 - 1, n_categorical=3, n_batches=8,
        confounding=0.3, missing_rate=0.05, leak_target_proxy=True, random_state=0,
    )  # fmt: skip
    h.WORK.mkdir(parents=True, exist_ok=True)
    X.assign(y=y).to_parquet(path)
    return path


def child_groupwise(path: str) -> None:
    import pandas as pd

    from groupwise.audit import audit
    from groupwise.spec import TableSpec

    df = pd.read_parquet(path)
    box = {}

    def run():
        report = audit(df, TableSpec(target="y", group_col="batch"))
        box["timings"] = report.timings
        return {"findings": len(report.findings)}

    result = h.measure(run)
    result["timings"] = box["timings"]
    h.emit(result)


def child_deepchecks(path: str) -> None:
    import warnings

    import pandas as pd

    warnings.filterwarnings("ignore")
    from deepchecks.tabular import Dataset
    from deepchecks.tabular.suites import data_integrity, train_test_validation

    df = pd.read_parquet(path)
    df["batch"] = df["batch"].astype(str)
    cats = [c for c in df.columns if c.startswith("cat")] + ["batch"]
    train = df.sample(frac=0.8, random_state=0)
    test = df.drop(train.index)

    def run():
        full = Dataset(df, label="y", cat_features=cats)
        data_integrity().run(full)
        train_test_validation().run(
            Dataset(train, label="y", cat_features=cats),
            Dataset(test, label="y", cat_features=cats),
        )

    h.emit(h.measure(run))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--peers", action="store_true", help="also run Deepchecks 0.19.1 on the 100k table"
    )
    ap.add_argument("--quick", action="store_true", help="one small table, not recorded")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, path = args.child
        (child_groupwise if kind == "groupwise" else child_deepchecks)(path)
        return
    shapes = QUICK if args.quick else SHAPES
    rows, notes = [], []
    ours_100k = None
    for name, (n, p) in shapes.items():
        path = make_table(n, p)
        r = h.run_child([sys.executable, __file__, "--child", "groupwise", str(path)])
        if "error" in r:
            rows.append([name, "groupwise", "error", r["error"][:80], "", ""])
            continue
        goal = GOALS.get(name)
        ok = "" if goal is None else ("yes" if r["wall_s"] <= goal else "**no**")
        rows.append(
            [
                name,
                "groupwise",
                f"{r['wall_s']:.1f}",
                f"{r['cpu_s']:.1f}",
                h.fmt_bytes(r["rss_peak"]),
                ok,
            ]
        )
        slowest = sorted(r["timings"].items(), key=lambda kv: -kv[1])[:6]
        notes.append(f"{name} slowest checks: " + ", ".join(f"{k} {v:.2f} s" for k, v in slowest))
        if name == "100k x 30":
            ours_100k = r["wall_s"]
    if args.peers and not args.quick:
        py = h.peer_python("deepchecks-0.19.1", DEEPCHECKS)
        if py is None:
            rows.append(["100k x 30", "Deepchecks 0.19.1", "venv failed", "", "", ""])
        else:
            r = h.run_child(
                [str(py), __file__, "--child", "deepchecks", str(table_path(*SHAPES["100k x 30"]))],
                timeout=7200,
            )
            if "error" in r:
                rows.append(["100k x 30", "Deepchecks 0.19.1", "error", r["error"][:100], "", ""])
            else:
                speedup = r["wall_s"] / ours_100k if ours_100k else float("nan")
                rows.append([
                    "100k x 30", "Deepchecks 0.19.1", f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}", h.fmt_bytes(r["rss_peak"]),
                    f"groupwise {speedup:.0f}× faster (goal ≥ 10×)",
                ])  # fmt: skip
    notes.append(
        "Table: generated, 1/3 informative, 3 categoricals, 8 batches (confounding 0.3), 5% MCAR missing, one target proxy."
    )
    notes.append(
        "groupwise: groupwise.audit() with group=batch, all data checks, after reading the Parquet file."
    )
    notes.append(
        "Deepchecks: data_integrity() on the table + train_test_validation() on an 80/20 random split."
    )
    h.report(
        "bench_audit" + (" (quick)" if args.quick else ""),
        ["table", "tool", "wall s", "CPU s", "peak RSS", "goal met"],
        rows,
        notes,
        record=not args.quick,
    )


if __name__ == "__main__":
    main()
