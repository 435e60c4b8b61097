"""End-to-end training time and holdout quality: groupwise train vs PyCaret 3.3.2, and
against a hand-written scikit-learn script that does the same statistical work.

Two tables, each 20,000 rows split once 80/20 (stratified): both tools train on the same
80% (with their own internal validation) and are scored on the same untouched 20% by
this script, from P(positive).

- ``first`` (groupwise's generator): 20 numeric features of which 8 informative, 3 string
  categoricals with 50/5/8 levels, 5% missing values in 4 numeric columns, an id column,
  15% positives.
- ``second`` (a different recipe, written for this benchmark, not from the generator):
  skewed, heavy-tailed, bounded, count and bimodal numeric columns, a 300-level Zipf
  categorical with its own effects, a 30-level and a binary one, 10% missing values that
  depend on the value in 3 columns, an interaction and a threshold effect, 8% positives.

- groupwise: ``groupwise train train.parquet --target y --id record_id`` with every
  default (5 candidates, 25 tuning trials, bootstrap, naive CV, plots, report).
- PyCaret 3.3.2 (own venv: Python 3.11, ``pycaret==3.3.2 six "pyarrow<24"``):
  setup(ignore_features=[id]) → compare_models(sort="AUC") → tune_model →
  finalize_model → save_model.

- the limit: a hand-written script (``LIMIT_SCRIPT``) that, from the groupwise run's own
  files, refits the same pipelines on the same folds — every candidate that finished, the
  raced-out ones on their raced folds, every tuning trial's parameters, the development
  fit and the final fit (of each member, for a selected blend or stack), and the five
  refits behind the intervals' model-variation term — on 2 worker processes, with no
  audit, interval arithmetic, plots, report or explanation. groupwise's wall over it is
  the cost of everything else.

With ``--repeats R`` the runs alternate (groupwise, PyCaret, groupwise, ...) and the table
reports the medians.

Goals (issue): groupwise wall time ≤ 1/5 of PyCaret's on both tables, external ROC-AUC ≥
PyCaret's − 0.005, groupwise ≤ 1.5× the hand-written same-work script.

    python benchmarks/bench_train.py [--peers] [--repeats 3] [--tables first,second] [--quick]
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


def make_second_table(n: int) -> tuple[Path, Path]:
    """A table built by another recipe than groupwise's generator (see the module doc)."""
    import numpy as np
    import pandas as pd

    WORK.mkdir(parents=True, exist_ok=True)
    train_path, test_path = WORK / f"second_train_{n}.parquet", WORK / f"second_test_{n}.parquet"
    if train_path.exists() and test_path.exists():
        return train_path, test_path
    rng = np.random.default_rng(99)
    income = rng.lognormal(mean=10.0, sigma=0.8, size=n)
    shock = rng.standard_t(df=3, size=n)
    share = rng.uniform(0, 1, size=n)
    visits = rng.poisson(lam=2.5, size=n)
    mode = np.where(rng.random(n) < 0.4, rng.normal(-2, 0.5, n), rng.normal(1.5, 1.0, n))
    noise = rng.normal(size=(n, 7))
    zip_rank = np.minimum(rng.zipf(1.3, size=n), 300) - 1
    zip_effect = rng.normal(0, 0.6, size=300)
    region = rng.integers(0, 30, size=n)
    region_effect = rng.normal(0, 0.3, size=30)
    member = rng.random(n) < 0.35
    logit = (
        0.9 * (np.log(income) - 10.0)
        - 0.35 * np.clip(shock, -4, 4)
        + 1.2 * np.sin(3 * share)
        + 0.25 * np.minimum(visits, 6)
        + 0.8 * (mode > 0) * share
        + zip_effect[zip_rank]
        + region_effect[region]
        + 0.5 * member
        + 0.4 * noise[:, 0] * noise[:, 1]
    )
    logit = 1.4 * logit
    lo, hi = -30.0, 30.0  # the intercept that gives 8% positives on average
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.mean(1 / (1 + np.exp(-(logit + mid)))) < 0.08 else (lo, mid)
    y = (rng.random(n) < 1 / (1 + np.exp(-(logit + lo)))).astype(int)
    df = pd.DataFrame({
        "income": income, "shock": shock, "share": share, "visits": visits, "mode": mode,
        **{f"z{i}": noise[:, i] for i in range(7)},
        "zip": [f"Z{r:03d}" for r in zip_rank], "region": [f"R{r:02d}" for r in region],
        "member": np.where(member, "yes", "no"),
    })  # fmt: skip
    for col, driver in (("income", income), ("visits", visits.astype(float)), ("z2", noise[:, 2])):
        p = 0.2 / (1 + np.exp(-(driver - np.median(driver)) / (np.std(driver) + 1e-9)))
        df.loc[rng.random(n) < p, col] = np.nan
    df["visits"] = df["visits"].astype("Int64")
    df["y"] = y
    df.insert(0, "record_id", rng.permutation(n) + 5_000_000)
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
    racing = run.metrics.racing()
    pred = run.predict(test.drop(columns="y"))
    pos = run.classes[run.meta["positive_code"]]
    return {
        "wall_s": proc["wall_s"],
        "cpu_s": proc["cpu_s"],
        "peak_rss": proc["rss_peak"],
        "selected": run.meta["selected_model"]["label"],
        "internal_holdout_roc_auc": run.meta["metrics"]["holdout"]["roc_auc"],
        "timings": run.meta["timings"],
        "run_path": str(run.path),
        "raced_out": sorted(racing.get("raced_out") or {}),
        **score((test["y"] == pos).to_numpy(), pred["score"].to_numpy()),
    }


LIMIT_SCRIPT = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
t0 = time.perf_counter()
import numpy as np, pandas as pd
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits
from groupwise import load_run
from groupwise.estimators._zoo import CANDIDATES, build_candidate
from groupwise.spec import TableSpec
run = load_run(sys.argv[2]); train = pd.read_parquet(sys.argv[1])
meta = run.meta
table = TableSpec.from_dict(meta["spec"]).resolve(train)
X, y, kinds, seed = table.X, table.y, table.kinds, meta["config"]["seed"]
ids = table.frame[table.id_cols[0]].to_numpy()
where = {v: i for i, v in enumerate(ids)}
oof = run.table("oof_predictions")
dev = np.array([where[v] for v in oof[table.id_cols[0]]])
fold = oof["fold"].to_numpy()
folds = [(dev[fold != f], dev[fold == f]) for f in sorted(set(fold))]
racing = run.metrics.racing()
work = []  # (name, params, train rows, test rows)
board = run.metrics.leaderboard()["rows"]
for r in board:
    name = r["candidate"]
    if name in CANDIDATES:
        work += [(name, {}, tr, te) for tr, te in folds]
for name, v in (racing.get("raced_out") or {}).items():
    work += [(name, {}, folds[f - 1][0], folds[f - 1][1]) for f in v.get("folds", racing["folds"])]
for t in run.metrics.tuning():
    for trial in t["history"]:
        work += [(t["candidate"], trial["params"], tr, te) for tr, te in folds]
    if t["kept"] == "tuned":
        work += [(t["candidate"], t["best_params"], tr, te) for tr, te in folds]
sel = meta["selected_model"]
if sel["candidate"] in ("blend", "stack"):  # an ensemble: each member on dev and on all rows
    best = {t["candidate"]: t["best_params"] for t in run.metrics.tuning() if t["kept"] == "tuned"}
    finals = [
        (lab.removesuffix(" (tuned)"), best.get(lab.removesuffix(" (tuned)"), {}) if lab.endswith(" (tuned)") else {})
        for lab in run.metrics.ensembles()["members"] if lab.removesuffix(" (tuned)") in CANDIDATES
    ]
else:
    finals = [(sel["candidate"] if sel["candidate"] in CANDIDATES else "linear", sel["params"])]
for name, params in finals:
    work += [(name, params, dev, None), (name, params, np.arange(len(y)), None)]
if (run.read_metrics("bootstrap_ci").get("model_variation") or {}).get("refits"):
    # the intervals' refits: the selected pipeline (an ensemble's strongest member) on each
    # fold's training part, scoring the holdout
    hold = np.setdiff1d(np.arange(len(y)), dev)
    work += [(finals[0][0], finals[0][1], tr, hold) for tr, _ in folds]
work += [(b, {}, dev, None) for b in ("dummy", "linear")]
def fit(name, params, tr, te):
    with threadpool_limits(1):
        est = build_candidate(name, table.task, kinds, seed, params).fit(X.iloc[tr], y[tr])
        if te is not None:
            est.predict_proba(X.iloc[te])
    return name
order = sorted(work, key=lambda w: -{"random_forest": 10, "extra_trees": 4, "lightgbm": 2, "xgboost": 2}.get(w[0], 1))
Parallel(n_jobs=2, backend="loky")(delayed(fit)(*w) for w in order)
print("RESULT " + json.dumps({"wall_s": time.perf_counter() - t0, "fits": len(work)}))
"""


def run_limit(train_path: Path, run_path: Path) -> dict:
    """The hand-written same-work script on the groupwise run's folds, candidates and trials."""
    script = WORK / "limit_flow.py"
    script.write_text(LIMIT_SCRIPT)
    proc = h.run_process([sys.executable, str(script), str(train_path), str(run_path)])
    lines = [ln for ln in proc["stdout"].splitlines() if ln.startswith("RESULT ")]
    if proc["returncode"] != 0 or not lines:
        return {
            "error": (proc["stderr"].strip().splitlines() or [f"exit {proc['returncode']}"])[-1]
        }
    res = json.loads(lines[-1][len("RESULT ") :])
    res["process_wall_s"] = proc["wall_s"]
    return res


PYCARET_SCRIPT = r"""
import json, os, sys, time, warnings
warnings.filterwarnings("ignore")
os.chdir(os.path.dirname(os.path.abspath(sys.argv[3])))  # PyCaret writes logs.log into the cwd
import pandas as pd
from pycaret.classification import setup, compare_models, tune_model, finalize_model, save_model, predict_model, pull
train = pd.read_parquet(sys.argv[1]); test = pd.read_parquet(sys.argv[2]); out = sys.argv[3]; cats = json.loads(sys.argv[4])
t0 = time.perf_counter()
setup(data=train, target="y", session_id=42, ignore_features=["record_id"], categorical_features=cats, verbose=False, html=False)
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


def run_pycaret(train_path: Path, test_path: Path, cats: list[str]) -> dict:
    import numpy as np
    import pandas as pd

    py = h.peer_python("pycaret-3.3.2", PYCARET, python=_python311())
    if py is None:
        return {"error": "could not build the PyCaret venv"}
    script = WORK / "pycaret_flow.py"
    script.write_text(PYCARET_SCRIPT)
    proc = h.run_process(
        [
            str(py),
            str(script),
            str(train_path),
            str(test_path),
            str(WORK / "pycaret_model"),
            json.dumps(cats),
        ]
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


TABLES = {
    "first": (make_tables, ["cat1", "cat2", "cat3"], "groupwise's generator, 15% positives"),
    "second": (make_second_table, ["zip", "region", "member"], "a different recipe, 8% positives"),
}


def _median(runs: list[dict], key: str) -> float:
    import statistics

    return statistics.median(r[key] for r in runs)


def _walls(runs: list[dict]) -> str:
    each = ", ".join(f"{r['wall_s']:.1f}" for r in runs)
    return f"{_median(runs, 'wall_s'):.1f} ({each})"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--peers", action="store_true", help="also run PyCaret 3.3.2 in its own venv")
    ap.add_argument("--repeats", type=int, default=1, help="alternating runs per tool (medians)")
    ap.add_argument("--tables", default="first,second", help="first, second or both")
    ap.add_argument(
        "--quick", action="store_true", help="2,000 rows and a tiny budget, not recorded"
    )
    args = ap.parse_args()
    n = 2_000 if args.quick else 20_000
    rows, notes = [], []
    for name in [t.strip() for t in args.tables.split(",") if t.strip()]:
        make, cats, what = TABLES[name]
        train_path, test_path = make(n)
        ours, peers, limits = [], [], []
        for i in range(args.repeats):
            print(f"[{name}] groupwise run {i + 1}/{args.repeats}", flush=True)
            ours.append(run_groupwise(train_path, test_path, args.quick))
            if "error" in ours[-1]:
                break
            limits.append(run_limit(train_path, Path(ours[-1]["run_path"])))
            if args.peers and not args.quick:
                print(f"[{name}] PyCaret run {i + 1}/{args.repeats}", flush=True)
                peers.append(run_pycaret(train_path, test_path, cats))
        ok = [r for r in ours if "error" not in r]
        if not ok:
            rows.append([name, "groupwise", "error", ours[-1]["error"][:90], "", "", "", "", ""])
            continue
        last = ok[-1]
        walls = ", ".join(f"{r['wall_s']:.1f}" for r in ok)
        goal = []
        good_limits = [r for r in limits if "error" not in r]
        if good_limits:
            lim = _median(good_limits, "wall_s")
            ratio = _median(ok, "wall_s") / lim
            goal.append(
                f"{ratio:.2f}× the same-work script (goal ≤ 1.5×): {'yes' if ratio <= 1.5 else '**no**'}"
            )
        good_peers = [r for r in peers if "error" not in r]
        if good_peers:
            speed = _median(good_peers, "wall_s") / _median(ok, "wall_s")
            auc_ok = last["roc_auc"] >= good_peers[-1]["roc_auc"] - 0.005
            goal.append(
                f"{speed:.1f}× faster than PyCaret (goal ≥ 5×): {'yes' if speed >= 5 else '**no**'}; AUC goal: {'yes' if auc_ok else '**no**'}"
            )
        rows.append([name, "groupwise", f"{_median(ok, 'wall_s'):.1f} ({walls})", f"{_median(ok, 'cpu_s'):.1f}",
                     h.fmt_bytes(last.get("peak_rss")), last["selected"], f"{last['roc_auc']:.4f}",
                     f"{last['pr_auc']:.4f}", "; ".join(goal)])  # fmt: skip
        if good_limits:
            rows.append([name, "same-work script", _walls(good_limits),
                         "", "", f"{good_limits[-1]['fits']} fits", "", "", ""])  # fmt: skip
        for r in peers:
            if "error" in r:
                rows.append([name, "PyCaret 3.3.2", "error", r["error"][:90], "", "", "", "", ""])
        if good_peers:
            p = good_peers[-1]
            rows.append([name, "PyCaret 3.3.2", _walls(good_peers),
                         f"{_median(good_peers, 'cpu_s'):.1f}", h.fmt_bytes(p.get("peak_rss")), p["selected"],
                         f"{p['roc_auc']:.4f}", f"{p['pr_auc']:.4f}", ""])  # fmt: skip
            notes.append(
                f"{name}: PyCaret's own CV AUC for its selected model: {p['cv_auc_reported']:.4f}."
            )
        notes.append(f"{name} ({what}): groupwise's internal holdout ROC-AUC {last['internal_holdout_roc_auc']:.4f}; raced out: {', '.join(last['raced_out']) or 'none'}; stages (s): "
                     + ", ".join(f"{k} {v:.1f}" for k, v in last["timings"].items() if v >= 0.05))  # fmt: skip
    notes.append(
        f"Tables: {n} rows each (80% train / 20% external test, stratified, seed 0); id column ignored by both tools."
    )
    notes.append("ROC-AUC and PR-AUC on the external test set, computed by this script from P(positive) "
                 "(for a model without probabilities, from its 0/1 label); wall: median (the runs in brackets, alternating).")  # fmt: skip
    notes.append("groupwise: wall of the whole `groupwise train` process with every default; PyCaret: wall of setup → save_model "
                 "(its process, with imports and prediction, took longer); same-work script: its whole process, imports included.")  # fmt: skip
    h.report(
        "bench_train" + (" (quick)" if args.quick else ""),
        [
            "table",
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


if __name__ == "__main__":
    main()
