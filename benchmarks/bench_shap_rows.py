"""SHAP sample size: how much the mean |SHAP| table of a run moves with 500 rows vs 1,000.

A run explains its final model on a seeded sample of rows (``explain/_shap.py``): 1,000 for
one model, 500 for a stack or blend with two or more tree members, whose every member
is explained (so the stack costs what one tree model costs). This benchmark checks what
the smaller sample costs in precision, on the tables of ``bench_importance.py`` (the larger
real tables of the corpus and the two bench_train tables).

Per table: a LightGBM candidate (hist_gb without the [lgbm] extra) as groupwise builds it,
fitted on every row; exact tree SHAP of the rows:

- **reference**: 5,000 rows (seed 0);
- **1,000 rows** and **500 rows**, each drawn with seeds 1–20 from the other rows.

Reported per table and sample: the wall time of the explanation (two threads), the median
over seeds of the Spearman correlation of the columns' mean |SHAP| with the reference,
whether the top 3 columns are the reference's (share of seeds), and the median largest
error |mean |SHAP| − reference| as a share of the reference's top column.

Goal: with 500 rows, the top 3 agree with the reference as often as with 1,000 rows,
Spearman ≥ 0.9, and the largest error ≤ 10% of the top column.

    python benchmarks/bench_shap_rows.py [--no-record] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as h
import bench_importance

SEEDS = tuple(range(1, 21))
REFERENCE_ROWS = 5_000


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
    from groupwise.explain import PipelineExplainer

    cand = "lightgbm" if "lightgbm" in CANDIDATES else "hist_gb"
    rows, misses = [], []
    scored = bench_importance.tables(args.quick)
    for name, _source, table in scored:
        if table.task == "classification" and table.n_classes != 2:
            continue
        X = table.X
        rng = np.random.default_rng(0)
        order = rng.permutation(len(X))
        ref_rows, rest = order[:REFERENCE_ROWS], order[REFERENCE_ROWS:]
        with threadpool_limits(2):
            model = build_candidate(cand, table.task, table.kinds, 0).fit(X, table.y)
            exp = PipelineExplainer(
                model, X.iloc[rest[:100]].reset_index(drop=True), task=table.task,
                n_classes=table.n_classes, pos=table.pos if table.pos is not None else 1, seed=0,
            )  # fmt: skip
            values, _ = exp.explain(X.iloc[ref_rows])
            ref = np.abs(values).mean(axis=0)
            top3 = set(np.argsort(-ref)[:3])
            found = {}
            for size in (1_000, 500):
                rhos, tops, errs, secs = [], [], [], []
                for seed in SEEDS:
                    pick = np.random.default_rng(seed).choice(rest, size, replace=False)
                    start = time.perf_counter()
                    v, _ = exp.explain(X.iloc[pick])
                    secs.append(time.perf_counter() - start)
                    m = np.abs(v).mean(axis=0)
                    rhos.append(spearmanr(m, ref).statistic)
                    tops.append(set(np.argsort(-m)[:3]) == top3)
                    errs.append(float(np.max(np.abs(m - ref)) / ref.max()))
                found[size] = dict(rho=statistics.median(rhos), top=float(np.mean(tops)), err=statistics.median(errs), s=statistics.median(secs))  # fmt: skip
                f = found[size]
                rows.append([
                    name, f"{table.n:,} × {X.shape[1]}", f"{size:,}", f"{f['s']:.2f}",
                    f"{f['rho']:.3f}", f"{f['top']:.0%}", f"{f['err']:.1%}",
                ])  # fmt: skip
                print(f"[shap rows] {name} {size}: {rows[-1][3:]}", flush=True)
        small = found[500]
        if not (small["top"] >= found[1_000]["top"] and small["rho"] >= 0.9 and small["err"] <= 0.10):  # fmt: skip
            misses.append(f"{name} (Spearman {small['rho']:.3f}, top 3 {small['top']:.0%}, error {small['err']:.1%})")  # fmt: skip
    h.report(
        "bench_shap_rows",
        ["table", "rows × columns", "rows explained", "seconds", "Spearman vs reference (median)",
         "top 3 as reference", "largest error / top column (median)"],
        rows,
        [f"code {h.code_version()}; {cand} as groupwise builds it, fitted on every row; exact tree "
         f"SHAP; reference: {REFERENCE_ROWS:,} rows (seed 0); samples from the other rows, seeds "
         f"{SEEDS[0]}–{SEEDS[-1]}; two threads.",
         "Tables: " + "; ".join(f"{n} ({s})" for n, s, _ in scored),
         "Goal: with 500 rows, top 3 as often as with 1,000, Spearman ≥ 0.9, largest error ≤ 10% "
         "of the top column — " + ("met." if not misses else "misses: " + "; ".join(misses))],
        record=not args.no_record,
    )  # fmt: skip


if __name__ == "__main__":
    main()
