"""End-to-end training time and holdout quality: groupwise train vs PyCaret 3.3.2.

Table (seeded, 20,000 rows): 20 numeric features of which 8 informative, 3 string
categoricals with 50/5/8 levels, 5% missing values in 4 numeric columns, an id
column, 15% positives. One stratified 80/20 split: both tools train on the same
80% (with their own internal validation) and are scored on the same untouched 20%
by this script, from P(positive).

- groupwise: ``groupwise train train.parquet --target y --id record_id`` with every
  default (5 candidates, 25 tuning trials, bootstrap, naive CV, plots, report).
- PyCaret 3.3.2 (own venv: Python 3.11, ``pycaret==3.3.2 six "pyarrow<24"``):
  setup(ignore_features=[id]) → compare_models(sort="AUC") → tune_model →
  finalize_model → save_model.

Goal (issue): groupwise wall time ≤ 1/5 of PyCaret's, holdout ROC-AUC ≥ PyCaret's − 0.005.

    python benchmarks/bench_train.py [--peers] [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as h

PYCARET = ["pycaret==3.3.2", "six", "pyarrow<24"]
WORK = h.WORK / "train"


def make_tables(n: int) -> tuple[Path, Path]:
    import numpy as np

    from groupwise.datasets import DatasetConfig, generate_dataset

    WORK.mkdir(parents=True, exist_ok=True)
    train_path, test_path = WORK / f"train_{n}.parquet", WORK / f"test_{n}.parquet"
    if train_path.exists() and test_path.exists():
        return train_path, test_path
    cfg = DatasetConfig(
        n_samples=n, n_informative=8, n_noise=12, class_sep=1.5, weights=(0.85, 0.15),
        n_categorical=3, categorical_levels=(50, 5, 8), missing_rate=0.05,
        missing_columns=("i1", "i3", "n2", "n5"), random_state=2024,
    )  # fmt: skip
    X, y, _ = generate_dataset(cfg)
    for c in ("cat1", "cat2", "cat3"):
        X[c] = X[c].astype(str).where(X[c].notna(), None)
    df = X.assign(y=y)
    df.insert(0, "record_id", np.random.default_rng(0).permutation(n) + 1_000_000)
    from sklearn.model_selection import train_test_split

    tr, te = train_test_split(df, test_size=0.2, stratify=df["y"], random_state=0)
    tr.reset_index(drop=True).to_parquet(train_path)
    te.reset_index(drop=True).to_parquet(test_path)
    return train_path, test_path


def score(y, p):
    from sklearn.metrics import average_precision_score, roc_auc_score

    return {"roc_auc": float(roc_auc_score(y, p)), "pr_auc": float(average_precision_score(y, p))}


def run_groupwise(train_path: Path, test_path: Path, quick: bool) -> dict:
    import pandas as pd

    from groupwise import load_run

    models = WORK / "models"
    cmd = [
        sys.executable,
        "-m",
        "groupwise",
        "train",
        str(train_path),
        "--target",
        "y",
        "--id",
        "record_id",
        "--models-dir",
        str(models),
    ]
    if quick:
        cmd += ["--tune-trials", "3", "--models", "dummy,linear,hist_gb"]
    proc = h.run_process(cmd)
    if proc["returncode"] != 0:
        return {
            "error": proc["stderr"].strip().splitlines()[-1]
            if proc["stderr"].strip()
            else f"exit {proc['returncode']}"
        }
    run = load_run("latest", models)
    test = pd.read_parquet(test_path)
    pred = run.predict(test.drop(columns="y"))
    pos = run.classes[run.meta["positive_code"]]
    return {
        "wall_s": proc["wall_s"],
        "cpu_s": proc["cpu_s"],
        "peak_rss": proc["rss_peak"],
        "selected": run.meta["selected_model"]["label"],
        "internal_holdout_roc_auc": run.meta["metrics"]["holdout"]["roc_auc"],
        "timings": run.meta["timings"],
        **score((test["y"] == pos).to_numpy(), pred["score"].to_numpy()),
    }


PYCARET_SCRIPT = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from pycaret.classification import setup, compare_models, tune_model, finalize_model, save_model, predict_model, pull
train = pd.read_parquet(sys.argv[1]); test = pd.read_parquet(sys.argv[2]); out = sys.argv[3]
t0 = time.perf_counter()
setup(data=train, target="y", session_id=42, ignore_features=["record_id"], categorical_features=["cat1", "cat2", "cat3"], verbose=False, html=False)
best = compare_models(sort="AUC", verbose=False)
board = pull()
tuned = tune_model(best, optimize="AUC", verbose=False)
final = finalize_model(tuned)
save_model(final, out, verbose=False)
wall = time.perf_counter() - t0
pred = predict_model(final, data=test.drop(columns="y"), raw_score=True, verbose=False)
cols = [c for c in pred.columns if c.startswith("prediction_score_")]
if "prediction_score_1" in cols:
    p = pred["prediction_score_1"].to_numpy()
else:  # a model without probabilities: only the label is available
    p = pred["prediction_label"].astype(float).to_numpy()
print("RESULT " + json.dumps({"wall_s": wall, "selected": type(best).__name__, "cv_auc_reported": float(board["AUC"].iloc[0]), "p": p.tolist()}))
"""


def run_pycaret(train_path: Path, test_path: Path) -> dict:
    import numpy as np
    import pandas as pd

    py = h.peer_python("pycaret-3.3.2", PYCARET, python=_python311())
    if py is None:
        return {"error": "could not build the PyCaret venv"}
    script = WORK / "pycaret_flow.py"
    script.write_text(PYCARET_SCRIPT)
    proc = h.run_process(
        [str(py), str(script), str(train_path), str(test_path), str(WORK / "pycaret_model")]
    )
    lines = [ln for ln in proc["stdout"].splitlines() if ln.startswith("RESULT ")]
    if proc["returncode"] != 0 or not lines:
        return {
            "error": (proc["stderr"].strip().splitlines() or [f"exit {proc['returncode']}"])[-1]
        }
    res = json.loads(lines[-1][len("RESULT ") :])
    test = pd.read_parquet(test_path)
    res.update(score(test["y"].to_numpy() == 1, np.asarray(res.pop("p"))))
    res["process_wall_s"] = proc["wall_s"]
    res["cpu_s"] = proc["cpu_s"]
    res["peak_rss"] = proc["rss_peak"]
    return res


def _python311() -> str:
    import shutil

    for name in ("python3.11", "python3"):
        path = shutil.which(name)
        if path:
            out = subprocess.run(
                [path, "-c", "import sys; print(sys.version_info[:2] == (3, 11))"],
                capture_output=True,
                text=True,
            )
            if out.stdout.strip() == "True":
                return path
    return sys.executable


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--peers", action="store_true", help="also run PyCaret 3.3.2 in its own venv")
    ap.add_argument(
        "--quick", action="store_true", help="2,000 rows and a tiny budget, not recorded"
    )
    args = ap.parse_args()
    n = 2_000 if args.quick else 20_000
    train_path, test_path = make_tables(n)
    rows, notes = [], []
    ours = run_groupwise(train_path, test_path, args.quick)
    peer = run_pycaret(train_path, test_path) if args.peers and not args.quick else None

    def row(tool, r):
        if "error" in r:
            return [tool, "error", r["error"][:90], "", "", "", "", ""]
        return [
            tool,
            f"{r['wall_s']:.1f}",
            f"{r['cpu_s']:.1f}",
            h.fmt_bytes(r.get("peak_rss")),
            r["selected"],
            f"{r['roc_auc']:.4f}",
            f"{r['pr_auc']:.4f}",
            "",
        ]

    rows.append(row("groupwise", ours))
    if peer is not None:
        rows.append(row("PyCaret 3.3.2", peer))
        if "error" not in ours and "error" not in peer:
            ratio = peer["wall_s"] / ours["wall_s"]
            auc_ok = ours["roc_auc"] >= peer["roc_auc"] - 0.005
            rows[0][-1] = (
                f"{ratio:.1f}× faster (goal ≥ 5×): {'yes' if ratio >= 5 else '**no**'}; AUC goal: {'yes' if auc_ok else '**no**'}"
            )
            notes.append(
                f"PyCaret's own CV AUC for its selected model: {peer['cv_auc_reported']:.4f}."
            )
    if "error" not in ours:
        notes.append(
            f"groupwise's internal holdout ROC-AUC (its own 20% of the training table): {ours['internal_holdout_roc_auc']:.4f}."
        )
    notes.append(
        f"Table: {n} rows (80% train / 20% external test, stratified, seed 0); 15% positives; id column ignored by both."
    )
    notes.append("ROC-AUC and PR-AUC on the external test set, computed by this script from P(positive) "
                 "(for a model without probabilities, from its 0/1 label).")  # fmt: skip
    notes.append("groupwise: wall of the whole `groupwise train` process; PyCaret: wall of setup → save_model "
                 "(its process, with imports and prediction, took longer). CPU s and peak RSS: the process and its workers.")  # fmt: skip
    if "error" not in ours:
        notes.append(
            "groupwise stages (s): "
            + ", ".join(f"{k} {v:.1f}" for k, v in ours["timings"].items() if v >= 0.05)
        )
    h.report(
        "bench_train" + (" (quick)" if args.quick else ""),
        [
            "tool",
            "wall s",
            "CPU s",
            "peak RSS",
            "selected model",
            "test ROC-AUC",
            "test PR-AUC",
            "goal",
        ],
        rows,
        notes,
        record=not args.quick,
    )
    print(json.dumps({"groupwise": ours, "pycaret": peer}, default=str)[:2000])


if __name__ == "__main__":
    main()
