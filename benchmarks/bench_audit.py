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

SHAPES = {
    "100k x 30": (100_000, 30, "generator"),
    "1M x 50": (1_000_000, 50, "generator"),
    "1M x 50, second recipe": (1_000_000, 50, "second"),
}
QUICK = {"5k x 30 (quick)": (5_000, 30, "generator"), "5k x 50, second recipe (quick)": (5_000, 50, "second")}  # fmt: skip
GOALS = {"100k x 30": 10.0, "1M x 50": 10.0, "1M x 50, second recipe": 10.0}
#: group and target column of each recipe
ROLES = {"generator": ("batch", "y"), "second": ("site", "outcome")}
DEEPCHECKS = [
    "deepchecks==0.19.1",
    "numpy==1.26.4",
    "pandas==2.2.3",
    "scikit-learn==1.7.2",
    "pyarrow==17.0.0",
    "setuptools<81",
]


def table_path(n: int, p: int, recipe: str = "generator") -> Path:
    return h.WORK / (f"audit_{n}x{p}.parquet" if recipe == "generator" else f"audit_{recipe}_{n}x{p}.parquet")  # fmt: skip


def make_table(n: int, p: int, recipe: str = "generator") -> Path:
    """A grouped table with mild confounding, missingness, categoricals and one proxy."""
    path = table_path(n, p, recipe)
    if path.exists():
        return path
    if recipe == "second":
        return make_second(n, p, path)
    from groupwise.datasets import generate_dataset

    n_inf = p // 3
    X, y, _ = generate_dataset(
        n_samples=n, n_informative=n_inf, n_noise=p - n_inf - 3 - 1, n_categorical=3, n_batches=8,
        confounding=0.3, missing_rate=0.05, leak_target_proxy=True, random_state=0,
    )  # fmt: skip
    h.WORK.mkdir(parents=True, exist_ok=True)
    X.assign(y=y).to_parquet(path)
    return path


def make_second(n: int, p: int, path: Path) -> Path:
    """A table written without groupwise's generator: 40 sites as strings, skewed
    measurements with site factors and value-dependent missingness, integer counts,
    Zipf-distributed categoricals of 3 to 2,000 levels, rare flags, dates as text, an
    id-like integer, a near-constant column and 3% copied rows; 30% positives."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    site = rng.integers(0, 40, n)
    cols: dict[str, object] = {"site": np.array([f"S{k:02d}" for k in range(40)])[site]}
    factor = rng.lognormal(0.0, 0.3, size=(40, 20))
    logit = -1.2 + rng.normal(0, 0.3, 40)[site]
    for j in range(20):
        x = rng.lognormal(1.0, 0.8, n) * factor[site, j]
        if j < 3:
            logit = logit + 0.6 * (np.log(x) - 1.0)
        if j % 3 == 0:  # larger values go missing more often
            x[rng.random(n) < 0.05 + 0.2 * (x > np.quantile(x, 0.8))] = np.nan
        cols[f"m{j:02d}"] = x
    for j in range(8):
        cols[f"count{j}"] = rng.poisson(rng.gamma(2.0, 2.0, 40)[site])
    for j, levels in enumerate((3, 12, 60, 400, 2000, 20)):
        names = np.array([f"L{j}_{k}" for k in range(levels)])
        pick = np.minimum(rng.zipf(1.6, n) - 1, levels - 1)
        cols[f"cat{j}"] = names[pick]
        if j == 1:
            logit = logit + 0.15 * (pick % 4)
    for j in range(4):
        cols[f"flag{j}"] = rng.random(n) < 0.02
    days = rng.integers(0, 3 * 365, n)
    start = np.datetime64("2021-01-01")
    cols["visit_date"] = (start + days).astype(str)
    cols["sample_date"] = (start + days + rng.integers(0, 30, n)).astype(str)
    cols["record_no"] = rng.permutation(n) + 100_000
    cols["almost_zero"] = np.where(rng.random(n) < 0.995, 0.0, rng.normal(size=n))
    made = len(cols) - 1
    for j in range(max(0, p - made)):
        cols[f"u{j}"] = rng.uniform(size=n)
    cols["outcome"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    copies = rng.choice(n, 2 * int(0.03 * n), replace=False)
    rows = np.arange(n)
    rows[copies[: len(copies) // 2]] = copies[len(copies) // 2 :]  # these rows become copies
    df = pd.DataFrame(cols).iloc[rows].reset_index(drop=True)
    h.WORK.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path)
    return path


def child_groupwise(path: str, group: str = "batch", target: str = "y") -> None:
    import pandas as pd

    from groupwise.audit import audit
    from groupwise.spec import TableSpec

    df = pd.read_parquet(path)
    box = {}

    def run():
        report = audit(df, TableSpec(target=target, group_col=group))
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
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, path, *roles = args.child
        if kind == "groupwise":
            child_groupwise(path, *roles)
        else:
            child_deepchecks(path)
        return
    shapes = QUICK if args.quick else SHAPES
    rows, notes = [], []
    ours_100k = None
    for name, (n, p, recipe) in shapes.items():
        path = make_table(n, p, recipe)
        r = h.run_child(
            [sys.executable, __file__, "--child", "groupwise", str(path), *ROLES[recipe]]
        )
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
        "Tables: generated (groupwise's generator), 1/3 informative, 3 categoricals, 8 batches (confounding 0.3), 5% MCAR missing, one target proxy; "
        "second recipe (written without the generator, make_second): 40 string sites, 20 skewed measurements with site factors and value-dependent "
        "missingness, 8 counts, 6 Zipf categoricals of 3-2000 levels, rare flags, two text dates, an id-like integer, 3% copied rows, 30% positives."
    )
    notes.append(
        "groupwise: groupwise.audit() with the table's group (batch, site), all data checks, after reading the Parquet file; the wall includes importing scikit-learn and SciPy on first use."
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
