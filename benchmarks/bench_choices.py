"""Class weights, resampling, ensembles and calibration: what each does, and what it costs.

1. **Imbalance at 5% positives.** Every binary table of the real corpus with at least 150
   negatives (positives subsampled, seeded, to 5% of the rows where they are more) and the
   bench_train table (20,000 rows, positives subsampled to 5%): one run per option —
   none, ``--class-weight balanced``, ``--resample under|over|smote`` — with dummy,
   linear and hist_gb, no tuning. From each rebalanced run's ``metrics/imbalance.json``:
   pooled out-of-fold PR-AUC, recall, balanced accuracy (each at its own threshold) and
   Brier of the best rebalanced candidate next to the same candidate without it, on the
   same folds.
2. **Ensembles.** Every table of the corpus (and the bench_train table) with the default
   candidates and no tuning: the blend and the stack against the best single candidate,
   mean ± SD over the folds, and whether the rule made them selectable.
3. **Cost.** On the bench_train table (16,000 training rows, 15% positives) with every default:
   the wall time of one run per option against the run with none.

    python benchmarks/bench_choices.py [--quick] [--no-cost]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _corpus
import _harness as h
import pandas as pd

OPTIONS = {
    "balanced": dict(class_weight="balanced"),
    "under": dict(resample="under"),
    "over": dict(resample="over"),
    "smote": dict(resample="smote"),
}
CHEAP = dict(models=("dummy", "linear", "hist_gb"), tune_trials=0, bootstrap=200,
             permutation_repeats=0, shap=False, learning_curve=False, naive_cv=False)  # fmt: skip


def _spec(t, df):
    from groupwise.spec import TableSpec

    drop = [c for c in t.drop if c in df] + [c for kind, c in t.known if kind == "LEAK" and c in df]
    return TableSpec(target=t.target, group_col=t.group, time_col=t.time, id_cols=t.ids,
                     drop_cols=tuple(drop), task=t.task, group_kind=t.group_kind)  # fmt: skip


def _at_share(df: pd.DataFrame, target: str, share: float, seed: int = 0) -> pd.DataFrame | None:
    """``df`` with the minority class subsampled to ``share`` of the rows (None if too small)."""
    counts = df[target].value_counts()
    if len(counts) != 2:
        return None
    minority, majority = counts.idxmin(), counts.idxmax()
    neg = df[df[target] == majority]
    want = int(round(share / (1 - share) * len(neg)))
    pos = df[df[target] == minority]
    if len(neg) < 150 or want < 8:
        return None
    if len(pos) > want:
        pos = pos.sample(want, random_state=seed)
    return pd.concat([neg, pos]).sample(frac=1, random_state=seed).reset_index(drop=True)


def _train(df, spec, **kw):
    from groupwise.training import TrainConfig, train

    with tempfile.TemporaryDirectory() as d, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        run = train(df, spec, TrainConfig(models_dir=d, **kw))
        wall = time.perf_counter() - t0
        return wall, {n: run.read_metrics(n) for n in ("imbalance", "ensembles", "calibration")}, dict(run.meta["metrics"])  # fmt: skip


def _tables(quick: bool):
    paths = _corpus.export()
    for t in _corpus.CORPUS:
        if t.name == "schooling_leak":
            continue
        yield t, pd.read_parquet(paths[t.name])
        if quick and t.name == "pima":
            return


def _bench_table(share: float | None):
    import bench_train

    from groupwise.spec import TableSpec

    train_path, _ = bench_train.make_tables(20_000)
    df = pd.read_parquet(train_path)
    if share is not None:
        df = _at_share(df, "y", share)
    return df, TableSpec(target="y", id_cols=("record_id",))


def imbalance(quick: bool):
    rows = []
    tables = [(t.name, _at_share(df, t.target, 0.05), _spec(t, df)) for t, df in _tables(quick)]
    bt, bspec = _bench_table(0.05)
    tables.append(("bench_train", bt, bspec))
    for name, df, spec in tables:
        if df is None:
            continue
        print(f"[imbalance] {name}: {len(df)} rows", flush=True)
        for opt, kw in OPTIONS.items():
            try:
                _, docs, _ = _train(df, spec, **CHEAP, **kw)
            except Exception as exc:  # a table the option cannot handle is reported, not fatal
                rows.append(
                    [
                        name,
                        len(df),
                        opt,
                        f"failed: {type(exc).__name__}: {exc}"[:80],
                        "",
                        "",
                        "",
                        "",
                        "",
                    ]
                )
                continue
            imb = docs["imbalance"]
            if not imb.get("applies"):
                continue
            withr, without = imb["table"]
            d = lambda k, a=withr, b=without: f"{a[k]:.3f} vs {b[k]:.3f}"  # noqa: E731
            rows.append([name, len(df), opt, withr["candidate"], d("pr_auc"), d("recall"), d("balanced_accuracy"), d("brier"),
                         f"{withr['pr_auc'] - without['pr_auc']:+.3f}"])  # fmt: skip
    deltas = {opt: [float(r[-1]) for r in rows if r[2] == opt and r[-1]] for opt in OPTIONS}
    notes = [
        f"{opt}: median PR-AUC change {statistics.median(v):+.3f} over {len(v)} tables "
        f"(better on {sum(x > 0.005 for x in v)}, worse on {sum(x < -0.005 for x in v)})"
        for opt, v in deltas.items() if v
    ]  # fmt: skip
    h.report(
        "bench_choices: class weights and resampling at 5% positives (pooled out-of-fold, same folds)",
        ["table", "rows", "option", "candidate", "PR-AUC with vs without", "recall", "balanced acc.", "Brier", "Δ PR-AUC"],
        rows,
        [
            *notes,
            "Positives subsampled (seeded) to 5% where they were more; threshold metrics at each variant's own "
            "max_f1 threshold; candidates dummy, linear, hist_gb, no tuning.",
        ],
    )  # fmt: skip


def ensembles(quick: bool):
    rows = []
    tables = [(t.name, df, _spec(t, df)) for t, df in _tables(quick)]
    bt, bspec = _bench_table(None)
    tables.append(("bench_train", bt, bspec))
    kw = dict(tune_trials=0, bootstrap=200, permutation_repeats=0, shap=False, learning_curve=False, naive_cv=False)  # fmt: skip
    selected = 0
    for name, df, spec in tables:
        print(f"[ensembles] {name}: {len(df)} rows", flush=True)
        try:
            _, docs, _ = _train(df, spec, **kw)
        except Exception as exc:
            rows.append([name, "", f"failed: {type(exc).__name__}: {exc}"[:80], "", "", "", ""])
            continue
        ens = docs["ensembles"]
        if not ens.get("applies"):
            rows.append([name, "", ens.get("reason", ""), "", "", "", ""])
            continue
        selected += bool(ens.get("selected"))
        for kind, v in ens["verdicts"].items():
            rows.append([name, kind, v["versus"], f"{v['fold_mean']:.3f} ± {v['fold_sd']:.3f}",
                         f"{v['best_fold_mean']:.3f} ± {v['best_fold_sd']:.3f}",
                         f"{v['gain_mean']:+.4f} ± {v['gain_sd']:.4f}", "yes" if v["selectable"] else "no"])  # fmt: skip
        for kind, why in ens.get("not_compared", {}).items():
            rows.append([name, kind, "", "", "", why, ""])
    gains = [float(r[5].split(" ")[0]) for r in rows if r[6] in ("yes", "no")]
    h.report(
        "bench_choices: blend and stack vs the best single candidate (primary metric per fold)",
        ["table", "ensemble", "best single", "ensemble mean ± SD", "best single mean ± SD", "paired gain ± SD", "selectable"],
        rows,
        [
            f"{sum(r[6] == 'yes' for r in rows)} of {len(gains)} ensembles selectable; an ensemble shipped on {selected} tables; "
            f"median paired gain {statistics.median(gains):+.4f}" if gains else "no ensemble compared",
            "Default candidates (with lightgbm/xgboost when installed), no tuning; members = the 3 best distinct candidates.",
        ],
    )  # fmt: skip


def cost():
    import bench_train

    from groupwise.spec import TableSpec

    train_path, _ = bench_train.make_tables(20_000)
    df = pd.read_parquet(train_path)
    spec = TableSpec(target="y", id_cols=("record_id",))
    runs = [("none (ensemble=auto, the default)", {}), ("ensemble=none", dict(ensemble="none")),
            ("class_weight=balanced", dict(class_weight="balanced")), ("resample=under", dict(resample="under")),
            ("resample=over", dict(resample="over")), ("resample=smote", dict(resample="smote")),
            ("calibrate=sigmoid", dict(calibrate="sigmoid"))]  # fmt: skip
    rows, base = [], None
    for label, kw in runs:
        print(f"[cost] {label}", flush=True)
        wall, docs, metrics = _train(df, spec, **kw)
        base = wall if base is None else base
        rows.append([label, f"{wall:.1f}", f"{wall - base:+.1f}", f"{metrics['holdout']['roc_auc']:.4f}",
                     f"{metrics['holdout']['pr_auc']:.4f}", f"{metrics['holdout']['brier']:.4f}"])  # fmt: skip
    h.report(
        "bench_choices: wall time added by each option (bench_train table, 16,000 training rows, every default)",
        ["option", "wall s", "added s", "holdout ROC-AUC", "holdout PR-AUC", "holdout Brier"],
        rows,
        ["One run each, in process, one after the other on an otherwise idle machine; the first row is the reference."],
    )  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a few corpus tables only")
    ap.add_argument("--no-cost", action="store_true")
    args = ap.parse_args()
    imbalance(args.quick)
    ensembles(args.quick)
    if not args.no_cost:
        cost()


if __name__ == "__main__":
    main()
