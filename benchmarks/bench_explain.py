"""SHAP values of the shipped candidates: time and additivity, synthetic and real tables.

1. 1,000 rows × 30 features (the issue's size): each tree candidate fitted on 20,000 rows
   of the bench_train generator (30 numeric features, 15% positives), then
   ``PipelineExplainer.explain`` on 1,000 rows, timed in a fresh process **including
   ``import shap``** (median of 3 runs per candidate). ``hist_gb_categorical`` adds a
   categorical column, which sends scikit-learn's gradient boosting to the permutation
   fallback (200 rows, as a run does).
2. Real tables (the corpus in ``benchmarks/_corpus.py``): the linear, hist_gb and, when
   installed, lightgbm pipelines fitted on the table's rows, explained on up to 1,000 of
   them; the largest additivity error |Σ values + base − model output| and the share of
   the mean |SHAP| held by the top column.

Goal (issue): ≤ 5 s for 1,000 rows × 30 features with the default tree model.

    python benchmarks/bench_explain.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as h

CHILD = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np, pandas as pd
from groupwise.datasets import DatasetConfig, generate_dataset
from groupwise.estimators._zoo import CANDIDATES, build_candidate
from groupwise.spec import ColumnKinds
name, n_fit, n_explain = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cats = name.endswith("_categorical")
cand = name.replace("_categorical", "")
cfg = DatasetConfig(n_samples=n_fit, n_informative=8, n_noise=22 - (1 if cats else 0),
                    weights=(0.85, 0.15), n_categorical=1 if cats else 0, random_state=7)
X, y, _ = generate_dataset(cfg)
X = X.drop(columns=[c for c in X.columns if c == "batch"])
model = build_candidate(cand, "classification", ColumnKinds.of(X), 0).fit(X, y)
t0 = time.perf_counter()
import shap  # part of the cost a run pays
from groupwise.explain import FALLBACK_ROWS, PipelineExplainer
exp = PipelineExplainer(model, X.iloc[:100], task="classification", n_classes=2, pos=1)
rows = X.iloc[:n_explain if exp.kind != "permutation" else min(n_explain, FALLBACK_ROWS)]
values, base = exp.explain(rows)
wall = time.perf_counter() - t0
print("RESULT " + json.dumps({"wall_s": wall, "kind": exp.kind, "rows": len(rows),
      "features": X.shape[1], "additivity": exp.check(rows, values, base)}))
"""

REAL = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np, pandas as pd
from groupwise.estimators._zoo import CANDIDATES, build_candidate
from groupwise.explain import FALLBACK_ROWS, PipelineExplainer
from groupwise.spec import TableSpec
path, target, group, time_col, ids, drop = sys.argv[1:7]
df = pd.read_parquet(path)
spec = TableSpec(target=target, group_col=group or None, time_col=time_col or None,
                 id_cols=[c for c in ids.split(",") if c], drop_cols=[c for c in drop.split(",") if c])
t = spec.resolve(df)
out = []
for cand in ("linear", "hist_gb", "lightgbm"):
    if not CANDIDATES[cand].available():
        continue
    if t.task == "classification" and t.n_classes != 2:
        break
    y = t.y
    model = build_candidate(cand, t.task, t.kinds, 0).fit(t.X, y)
    t0 = time.perf_counter()
    exp = PipelineExplainer(model, t.X.sample(min(100, len(t.X)), random_state=0),
                            task=t.task, n_classes=t.n_classes, pos=t.pos)
    n = min(len(t.X), 1000 if exp.kind != "permutation" else FALLBACK_ROWS)
    rows = t.X.sample(n, random_state=1)
    values, base = exp.explain(rows)
    wall = time.perf_counter() - t0
    mean_abs = np.abs(values).mean(axis=0)
    top = int(np.argmax(mean_abs))
    out.append({"candidate": cand, "kind": exp.kind, "rows": n, "features": len(exp.names),
                "wall_s": wall, "additivity": exp.check(rows, values, base),
                "top": exp.names[top], "top_share": float(mean_abs[top] / max(mean_abs.sum(), 1e-300)),
                "output": exp.output})
print("RESULT " + json.dumps({"task": t.task, "n": len(t.X), "results": out}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--quick", action="store_true", help="fewer rows, one repeat, not recorded")
    ap.add_argument("--real-only", action="store_true", help="only the real-table part")
    args = ap.parse_args()
    from groupwise.estimators._zoo import CANDIDATES

    n_fit, n_explain, repeat = (4000, 300, 1) if args.quick else (20_000, 1000, 3)
    names = [n for n in ("lightgbm", "xgboost", "hist_gb", "random_forest", "extra_trees")
             if CANDIDATES[n].available()] + ["hist_gb_categorical"]  # fmt: skip
    rows = []
    default = "lightgbm" if CANDIDATES["lightgbm"].available() else "hist_gb"
    for name in [] if args.real_only else names:
        runs = []
        for _ in range(repeat):
            r = h.run_child([sys.executable, "-c", CHILD, name, str(n_fit), str(n_explain)])
            runs.append(r)
        failed = [r["error"] for r in runs if "error" in r]
        if failed:
            rows.append([name, "error", failed[0][:80], "", "", "", ""])
            continue
        wall = statistics.median(r["wall_s"] for r in runs)
        r = runs[0]
        goal = ""
        if name == default:
            goal = f"≤ 5 s: {'yes' if wall <= 5 else '**no**'}"
        rows.append([name, r["kind"], r["rows"], r["features"], f"{wall:.2f}",
                     f"{max(x['additivity'] for x in runs):.1e}", goal])  # fmt: skip
    notes = [
        f"{n_fit} training rows, {n_explain} explained (200 for the permutation fallback); "
        f"median of {repeat} fresh processes, each timing `import shap` + explainer + values.",
        f"The default tree model is {default} (the first boosting candidate installed).",
    ]
    real_rows = []
    real_notes = ["Each candidate fitted on the whole table (explanations, not evaluation)."]
    if not args.quick:
        import _corpus

        paths = _corpus.export()
        for t in _corpus.CORPUS:
            if t.name not in paths:
                continue
            r = h.run_child([sys.executable, "-c", REAL, str(paths[t.name]), t.target,
                             t.group or "", t.time or "", ",".join(t.ids), ",".join(t.drop)])  # fmt: skip
            if "results" not in r:
                real_rows.append(
                    [t.name, "error", str(r.get("error", ""))[:60], "", "", "", "", ""]
                )
                continue
            for x in r["results"]:
                real_rows.append([t.name, r["task"][:5], x["candidate"], x["kind"],
                                  f"{x['rows']}×{x['features']}", f"{x['wall_s']:.2f}",
                                  f"{x['additivity']:.1e}", f"{x['top']} {100 * x['top_share']:.0f}%"])  # fmt: skip
        errors = [float(r[6]) for r in real_rows if r[1] != "error"]
        if errors:
            real_notes.append(f"Real tables: largest additivity error over {len(errors)} explanations "
                         f"{max(errors):.1e} (goal: every row's values add up to its output).")  # fmt: skip
    if rows:
        h.report(
            "bench_explain" + (" (quick)" if args.quick else ""),
            ["model", "explainer", "rows", "features", "wall s", "max additivity error", "goal"],
            rows,
            notes,
            record=not args.quick,
        )
    if real_rows:
        h.report(
            "bench_explain — real tables",
            [
                "table",
                "task",
                "candidate",
                "explainer",
                "rows × columns",
                "wall s",
                "max additivity error",
                "top column (share of mean |SHAP|)",
            ],  # fmt: skip
            real_rows,
            real_notes,
        )
    print(json.dumps({"synthetic": rows, "real": real_rows})[:3000])


if __name__ == "__main__":
    main()
