"""Permutation importance: how precise the row budget leaves it, and what it saves.

A run's permutation importance shuffles each column ``repeats_for(rows, 5)`` times on the
holdout (``groupwise.explain._permutation``): 5 times on up to 2,400 rows, fewer on more
rows, so that about ``ROW_BUDGET`` (12,000) shuffled rows are scored per column. This
benchmark checks what that costs in precision on tables where the rule bites (holdouts of
more than 2,400 rows): the larger real tables of the corpus (``_corpus.LARGE``) and the two
bench_train tables.

Per table: a LightGBM candidate (hist_gb without the [lgbm] extra) as groupwise builds it,
fitted on 80% of the rows (grouped by the table's group column when it has one), and its
permutation importance on the other 20% (at most 10,000 rows, as in a run):

- **reference**: 20 shuffles per column (seed 0);
- **5 shuffles** (before the budget) and **budget** (the rule), each with seeds 1–4.

Reported per table and variant: the shuffles per column, the wall time of one table (two
threads), the median over seeds of the Spearman correlation with the reference over the
columns, whether the top 3 columns are the reference's (share of seeds), and the median
largest error |mean drop − reference| as a share of the reference's top drop.

Goal: with the budget, the top 3 agree with the reference as often as with 5 shuffles,
Spearman ≥ 0.9 where the reference has ≥ 5 columns with a drop above 0, and the largest
error ≤ 10% of the top drop.

    python benchmarks/bench_importance.py [--no-record] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _corpus
import _harness as h

SEEDS = (1, 2, 3, 4)
REFERENCE_REPEATS = 20


def tables(quick: bool):
    """(name, description, resolved table) of every table the benchmark scores."""
    import bench_train
    import pandas as pd

    from groupwise.spec import TableSpec

    out = []
    first, _ = bench_train.make_tables(20_000)
    second, _ = bench_train.make_second_table(20_000)
    for name, path in (("bench_train first", first), ("bench_train second", second)):
        df = pd.read_parquet(path)
        spec = TableSpec(target="y", id_cols=["record_id"])
        out.append(
            (
                name,
                "groupwise's generator" if "first" in name else "another recipe",
                spec.resolve(df),
            )
        )
    if quick:
        return out
    _corpus.export()
    for t in _corpus.LARGE:
        df = pd.read_parquet(_corpus.DIR / f"{t.name}.parquet").drop(
            columns=list(t.drop), errors="ignore"
        )
        df = df[df[t.target].notna()].reset_index(drop=True)
        spec = TableSpec(target=t.target, group_col=t.group, id_cols=list(t.ids), task=t.task,
                         group_kind=t.group_kind)  # fmt: skip
        out.append((t.name, t.source, spec.resolve(df)))
    return out


def split(table, seed: int = 0):
    import numpy as np
    from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit

    n = len(table.y)
    if table.groups is not None:
        return next(GroupShuffleSplit(1, test_size=0.2, random_state=seed).split(np.zeros(n), groups=table.groups))  # fmt: skip
    return next(ShuffleSplit(1, test_size=0.2, random_state=seed).split(np.zeros(n)))


def importance(model, X, y, table, metric, n_repeats, seed, budget):
    from groupwise.explain import _permutation

    saved = _permutation.ROW_BUDGET
    _permutation.ROW_BUDGET = budget
    try:
        start = time.perf_counter()
        t = _permutation.permutation_importance_table(
            model, X, y, task=table.task, metric=metric, n_classes=table.n_classes,
            pos=table.pos if table.pos is not None else 1, n_repeats=n_repeats, seed=seed,
        )  # fmt: skip
        return t.set_index("feature"), time.perf_counter() - start
    finally:
        _permutation.ROW_BUDGET = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-record", action="store_true")
    ap.add_argument("--quick", action="store_true", help="the two bench_train tables only")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import numpy as np
    from scipy.stats import spearmanr
    from threadpoolctl import threadpool_limits

    from groupwise.estimators._zoo import CANDIDATES, build_candidate
    from groupwise.explain._permutation import MIN_REPEATS, ROW_BUDGET

    cand = "lightgbm" if "lightgbm" in CANDIDATES else "hist_gb"
    rows, misses = [], []
    scored = tables(args.quick)
    for name, _source, table in scored:
        metric = "roc_auc" if table.task == "classification" and len(table.classes) == 2 else "mae"
        tr, te = split(table)
        X = table.X
        with threadpool_limits(2):
            model = build_candidate(cand, table.task, table.kinds, 0).fit(X.iloc[tr], table.y[tr])
            Xh, yh = X.iloc[te].reset_index(drop=True), table.y[te]
            ref, _ = importance(model, Xh, yh, table, metric, REFERENCE_REPEATS, 0, 10**12)
            top = float(ref["importance_mean"].max())
            positive = int((ref["importance_mean"] > 0).sum())
            found = {}
            for variant, budget in (("5 shuffles", 10**12), ("budget", ROW_BUDGET)):
                rhos, tops, errs, secs, reps = [], [], [], [], set()
                for seed in SEEDS:
                    t, s = importance(model, Xh, yh, table, metric, 5, seed, budget)
                    t = t.loc[ref.index]
                    rhos.append(spearmanr(t["importance_mean"], ref["importance_mean"]).statistic)
                    tops.append(set(t["importance_mean"].nlargest(3).index) == set(ref.index[:3]))
                    errs.append(float(np.max(np.abs(t["importance_mean"] - ref["importance_mean"]))) / top)  # fmt: skip
                    secs.append(s)
                    reps.add(int(t["repeats"].iloc[0]))
                found[variant] = dict(rho=statistics.median(rhos), top=np.mean(tops), err=statistics.median(errs), s=statistics.median(secs))  # fmt: skip
                rows.append([
                    name, f"{table.n:,}", f"{min(len(te), 10_000):,} × {X.shape[1]}", metric, variant,
                    "/".join(map(str, sorted(reps))), f"{found[variant]['s']:.2f}",
                    f"{found[variant]['rho']:.3f}", f"{found[variant]['top']:.0%}",
                    f"{found[variant]['err']:.1%}",
                ])  # fmt: skip
                print(f"[importance] {name} {variant}: {rows[-1][5:]}", flush=True)
        b = found["budget"]
        ok = (
            b["top"] >= found["5 shuffles"]["top"]
            and (positive < 5 or b["rho"] >= 0.9)
            and b["err"] <= 0.10
        )
        if not ok:
            misses.append(
                f"{name} (Spearman {b['rho']:.3f}, top 3 {b['top']:.0%}, error {b['err']:.1%})"
            )
    h.report(
        "bench_importance",
        ["table", "rows", "holdout rows × columns", "metric", "variant", "shuffles per column",
         "seconds", "Spearman vs reference (median)", "top 3 as reference", "largest error / top drop (median)"],
        rows,
        [f"code {h.code_version()}; {cand} as groupwise builds it on 80% of the rows (grouped when the "
         f"table has a group column), importance on the other 20% (≤ 10,000 rows); reference: "
         f"{REFERENCE_REPEATS} shuffles (seed 0); variants over seeds {', '.join(map(str, SEEDS))}; "
         f"budget: {ROW_BUDGET:,} shuffled rows per column, {MIN_REPEATS}–5 shuffles; two threads.",
         "Tables: " + "; ".join(f"{n} ({s})" for n, s, _ in scored),
         "Goal: top 3 as often as with 5 shuffles, Spearman ≥ 0.9 (tables with ≥ 5 columns that "
         "matter), largest error ≤ 10% of the top drop — "
         + ("met." if not misses else "misses: " + "; ".join(misses))],
        record=not args.no_record,
    )  # fmt: skip


if __name__ == "__main__":
    main()
