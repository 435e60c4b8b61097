"""Tree candidates' defaults on real tables: groupwise's settings vs scikit-learn's own.

For every table of the real-data corpus (``_corpus.py``; exported Parquet files in
``_work/corpus``) with a target the candidates can take, the same 5 folds (grouped by the
table's group column when it has one, stratified for classification otherwise) score:

- ``hist_gb`` as groupwise builds it, and with scikit-learn's defaults for the booster
  (``max_iter=100``, ``early_stopping="auto"``);
- ``random_forest`` and ``extra_trees`` as groupwise builds them, and with scikit-learn's
  defaults for the forest.

Preprocessing (dates, categories, imputation) is groupwise's in every variant, so only the
model's settings differ. Metric: ROC-AUC (one-vs-rest for multiclass) for classification,
MAE for regression, pooled over the out-of-fold predictions. Goal (issue): groupwise's
small-data defaults do at least as well as scikit-learn's on every table (ties within
0.002 AUC or 0.5% MAE count as met).

With ``--large``, the corpus' larger tables (``_corpus.LARGE``, 15,000+ rows) score the
forests' size-aware defaults (each tree on a bootstrap of about ``FOREST_TREE_ROWS`` rows)
against the same forests on every row, with the fit time of each: the size-aware rule
must be at least as good (AUC within 0.002 / MAE within 0.5%) and faster.

    python benchmarks/bench_trees.py [--no-record] [--large]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _corpus
import _harness as h

CANDIDATES = ("hist_gb", "random_forest", "extra_trees")


def sklearn_defaults(name: str, task: str) -> dict:
    """scikit-learn's own defaults for the settings groupwise changes."""
    if name == "hist_gb":
        return {"model__max_iter": 100, "model__early_stopping": "auto"}
    params = {"model__n_estimators": 100, "model__min_samples_leaf": 1,
              "model__max_features": "sqrt" if task == "classification" else 1.0}  # fmt: skip
    if name == "random_forest":
        params["model__max_samples"] = None
    return params


def folds(table, seed=0):
    import numpy as np
    from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold

    n = len(table.y)
    if table.groups is not None and len(np.unique(table.groups)) >= 5:
        return list(GroupKFold(5).split(np.zeros(n), groups=table.groups))
    if table.task == "classification":
        return list(StratifiedKFold(5, shuffle=True, random_state=seed).split(np.zeros(n), table.y))
    return list(KFold(5, shuffle=True, random_state=seed).split(np.zeros(n)))


def score(table, model, splits):
    import numpy as np
    from sklearn.base import clone
    from sklearn.metrics import mean_absolute_error, roc_auc_score

    X = table.frame[list(table.features)]
    y = np.asarray(table.y)
    classification = table.task == "classification"
    k = len(table.classes) if classification else 0
    oof = np.zeros((len(y), k)) if classification else np.zeros(len(y))
    start = time.perf_counter()
    for train, test in splits:
        m = clone(model).fit(X.iloc[train], y[train])
        oof[test] = m.predict_proba(X.iloc[test]) if classification else m.predict(X.iloc[test])
    seconds = time.perf_counter() - start
    if not classification:
        return mean_absolute_error(y, oof), seconds
    if k == 2:
        return roc_auc_score(y, oof[:, 1]), seconds
    return roc_auc_score(y, oof, multi_class="ovr", labels=list(range(k))), seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-record", action="store_true")
    ap.add_argument(
        "--large", action="store_true", help="the size-aware forest defaults on the larger tables"
    )
    args = ap.parse_args()
    if args.large:
        return main_large(args)
    warnings.simplefilter("ignore")
    import pandas as pd
    from threadpoolctl import threadpool_limits

    from groupwise.estimators._zoo import build_candidate
    from groupwise.spec import TableSpec

    rows, misses = [], []
    for t in _corpus.CORPUS:
        path = _corpus.DIR / f"{t.name}.parquet"
        if not path.exists():
            print(f"[trees] {t.name}: not exported (run bench_realdata.py first)", flush=True)
            continue
        df = pd.read_parquet(path).drop(columns=list(t.drop), errors="ignore")
        df = df[df[t.target].notna()].reset_index(drop=True)
        spec = TableSpec(target=t.target, group_col=t.group, id_cols=list(t.ids), task=t.task,
                         group_kind=t.group_kind)  # fmt: skip
        table = spec.resolve(df)
        if table.task == "classification" and min(pd.Series(table.y).value_counts()) < 5:
            continue
        splits = folds(table)
        metric = "roc_auc" if table.task == "classification" else "mae"
        for name in CANDIDATES:
            ours = build_candidate(name, table.task, table.kinds, 0)
            theirs = build_candidate(name, table.task, table.kinds, 0).set_params(
                **sklearn_defaults(name, table.task)
            )
            with threadpool_limits(2):
                s_ours, t_ours = score(table, ours, splits)
                s_theirs, t_theirs = score(table, theirs, splits)
            ok = s_ours >= s_theirs - 0.002 if metric == "roc_auc" else s_ours <= s_theirs * 1.005
            if not ok:
                misses.append(f"{t.name} {name}: {s_ours:.4f} vs {s_theirs:.4f}")
            rows.append([t.name, len(df), table.task, name, metric, f"{s_ours:.4f}",
                         f"{s_theirs:.4f}", f"{t_ours:.1f}", f"{t_theirs:.1f}",
                         "yes" if ok else "**no**"])  # fmt: skip
            print(f"[trees] {t.name} {name}: ours {s_ours:.4f} sklearn {s_theirs:.4f}", flush=True)
    h.report(
        "bench_trees",
        ["table", "rows", "task", "candidate", "metric", "groupwise", "sklearn defaults",
         "fit s ours", "fit s sklearn", "as good"],
        rows,
        [f"code {h.code_version()}; 5 folds per table (grouped when the table has a group "
         "column with ≥ 5 groups); same preprocessing in both variants.",
         "Goal: at least as good as scikit-learn's defaults on every table (AUC within 0.002, "
         "MAE within 0.5%) — " + ("met." if not misses else "misses: " + "; ".join(misses))],
        record=not args.no_record,
    )  # fmt: skip


def main_large(args) -> None:
    warnings.simplefilter("ignore")
    import pandas as pd
    from threadpoolctl import threadpool_limits

    from groupwise.estimators._zoo import FOREST_TREE_ROWS, build_candidate, size_aware_params
    from groupwise.spec import TableSpec

    _corpus.export()
    rows, misses = [], []
    for t in _corpus.LARGE:
        df = pd.read_parquet(_corpus.DIR / f"{t.name}.parquet").drop(
            columns=list(t.drop), errors="ignore"
        )
        df = df[df[t.target].notna()].reset_index(drop=True)
        spec = TableSpec(target=t.target, group_col=t.group, id_cols=list(t.ids), task=t.task,
                         group_kind=t.group_kind)  # fmt: skip
        table = spec.resolve(df)
        splits = folds(table)
        metric = "roc_auc" if table.task == "classification" else "mae"
        for name in ("random_forest", "extra_trees"):
            sized = build_candidate(
                name, table.task, table.kinds, 0, size_aware_params(name, table.n)
            )
            full = build_candidate(name, table.task, table.kinds, 0)
            with threadpool_limits(1):
                s_sized, t_sized = score(table, sized, splits)
                s_full, t_full = score(table, full, splits)
            ok = (s_sized >= s_full - 0.002 if metric == "roc_auc" else s_sized <= s_full * 1.005) and t_sized < t_full  # fmt: skip
            if not ok:
                misses.append(
                    f"{t.name} {name}: {s_sized:.4f} in {t_sized:.1f} s vs {s_full:.4f} in {t_full:.1f} s"
                )
            rows.append([t.name, len(df), name, metric, f"{s_sized:.4f}", f"{s_full:.4f}",
                         f"{t_sized:.1f}", f"{t_full:.1f}", "yes" if ok else "**no**"])  # fmt: skip
            print(f"[trees] {t.name} {name}: size-aware {s_sized:.4f} ({t_sized:.1f} s), every row {s_full:.4f} ({t_full:.1f} s)", flush=True)  # fmt: skip
    h.report(
        "bench_trees --large",
        ["table", "rows", "candidate", "metric", "size-aware", "every row", "fit s size-aware",
         "fit s every row", "as good and faster"],
        rows,
        [f"code {h.code_version()}; size-aware: each tree on a bootstrap of {FOREST_TREE_ROWS} / rows "
         "of the table (about 5,100 rows per tree in a 5-fold training part); every row: scikit-learn's "
         "bootstrap (random forest) / no bootstrap (extra trees). 5 folds, grouped when the table has a "
         "group column; one thread.",
         "Tables: " + "; ".join(f"{t.name} ({t.source}, target {t.target}; {t.note})" for t in _corpus.LARGE),
         "Goal: as good (AUC within 0.002) and faster on every table — "
         + ("met." if not misses else "misses: " + "; ".join(misses))],
        record=not args.no_record,
    )  # fmt: skip


if __name__ == "__main__":
    main()
