"""Monitoring: false alarms, detection, performance estimation and speed of ``groupwise monitor``.

A linear binary run is trained on 20,000 rows of a generated table (30 numeric features,
2 categoricals, 40 batches with per-feature batch offsets; 10,000 more rows of the same
batches are kept aside). New data comes from the same process with **new batches** (the
situation a grouped monitor must not alarm on):

a. share of unshifted features flagged on one new chunk of 10k / 100k / 1M rows
   (goal ≤ 5 % at every size);
b. detection of planted shifts on 10k rows: a 0.2 SD mean shift in 3 of 30 features (in
   new batches, and in the kept rows of the training batches), and a prior shift
   (positives over-sampled to 80 %) on the model's output;
c. median |estimated − realised| ROC-AUC over 20 chunks of 2,000 rows selected on a
   feature's quantiles (covariate shift; goal ≤ 0.02);
d. wall time and peak memory of ``groupwise monitor`` on a 1M × 50 table (the 32
   features plus 18 copies of numeric features; goal ≤ 10 s and ≥ 5× faster than
   Evidently).

Peers run side by side on the same files, each in its own virtual environment built by
this script: Evidently 0.7 (DataDriftPreset) for (a), (b) and (d); NannyML (univariate
drift for (a) and (b), CBPE for (c)).

    python benchmarks/bench_monitor.py [--quick] [--no-peers]
    python benchmarks/bench_monitor.py --real     # real public tables (benchmarks/_corpus.py)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as h

WORK = h.WORK / "monitor"
EVIDENTLY = ["evidently>=0.7,<0.8", "pandas>=2.2,<3", "pyarrow"]  # 0.7 imports pandas-2-only names
NANNYML = ["nannyml", "pandas>=2.2,<3", "statsmodels", "pyarrow"]

# Evidently 0.7: the DataDriftPreset's per-column decision (its default method per column
# type and size; p-value methods drift below their threshold, distances at or above it).
EVIDENTLY_DRIFT = """
import json, sys, time
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
ref, cur, cols = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2]), json.loads(sys.argv[3])
t = time.perf_counter()
snap = Report([DataDriftPreset()]).run(cur[cols], ref[cols])
drifted = []
for m in snap.dict()["metrics"]:
    cfg = m["config"]
    if cfg.get("type", "").endswith("ValueDrift"):
        pvalue = "p_value" in cfg["method"].lower()
        v = m["value"]
        if (v < cfg["threshold"]) if pvalue else (v >= cfg["threshold"]):
            drifted.append(cfg["column"])
print(json.dumps({"drifted": drifted, "seconds": time.perf_counter() - t}))
"""

# NannyML: univariate drift with its default methods. Its thresholds come from the
# reference cut into chunks of the analysis' chunk size, so both are cut into 2,000-row
# chunks; a feature is drifted when it alerts in at least half the analysis chunks, and
# "alert_share" is the share of (feature, chunk) alerts.
NANNYML_DRIFT = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import pandas as pd
import nannyml as nml
ref, cur, cols = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2]), json.loads(sys.argv[3])
t = time.perf_counter()
calc = nml.UnivariateDriftCalculator(column_names=cols, chunk_size=2000)
calc.fit(ref[cols])
df = calc.calculate(cur[cols]).filter(period="analysis").to_df()
alerts = {c: df[[k for k in df.columns if k[0] == c and k[-1] == "alert"]].any(axis=1).mean() for c in cols}
print(json.dumps({"drifted": [c for c, a in alerts.items() if a >= 0.5],
                  "alert_share": float(sum(alerts.values()) / len(cols)), "chunks": len(df),
                  "seconds": time.perf_counter() - t}))
"""

# NannyML CBPE: calibrated on the reference's scores and labels, estimated per 2,000-row chunk.
NANNYML_CBPE = """
import json, sys, warnings
warnings.simplefilter("ignore")
import pandas as pd
import nannyml as nml
ref, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
est = nml.CBPE(y_pred_proba="score", y_pred="pred", y_true="y", metrics=["roc_auc"],
               chunk_size=int(sys.argv[3]), problem_type="classification_binary")
est.fit(ref)
df = est.estimate(cur[["score", "pred"]]).filter(period="analysis").to_df()
print(json.dumps({"roc_auc": [float(v) for v in df[("roc_auc", "value")]]}))
"""


def peer(name: str, requirements, script: str, *args) -> dict:
    """Run a peer script in its own venv; its JSON output plus wall time and peak RSS."""
    py = h.peer_python(name, requirements)
    if py is None:
        return {"error": f"the {name} venv could not be built"}
    path = WORK / f"peer_{name}_{abs(hash(script)) % 10**8}.py"
    path.write_text(script)
    p = h.run_process([str(py), str(path), *map(str, args)], timeout=3600)
    if p["returncode"] != 0:
        return {"error": p["stderr"].strip().splitlines()[-1][:200] if p["stderr"].strip() else f"exit {p['returncode']}"}  # fmt: skip
    return {
        **json.loads(p["stdout"].strip().splitlines()[-1]),
        "wall_s": p["wall_s"],
        "rss_peak": p["rss_peak"],
    }


def table(n, batches, seed):
    from groupwise.datasets import generate_dataset

    X, y, _ = generate_dataset(n_samples=n, n_informative=10, n_noise=20, n_batches=batches,
                               n_categorical=2, missing_rate=0.02, random_state=seed)  # fmt: skip
    X["batch"] = f"s{seed}-" + X["batch"].astype(str)
    return X.assign(y=y)


def split_table():
    """30,000 rows of 40 batches: 20,000 to train on, 10,000 more rows of the same batches."""
    full = table(30_000, 40, 1)
    spare = full.sample(10_000, random_state=0).index
    return full.drop(index=spare).reset_index(drop=True), full.loc[spare].reset_index(drop=True)


def train_run(models: Path, rows: pd.DataFrame):
    from groupwise.spec import TableSpec
    from groupwise.training import TrainConfig, train

    cfg = TrainConfig(models_dir=str(models), tune_trials=0, bootstrap=200, permutation_repeats=1,
                      learning_curve=False, models=("dummy", "linear"), naive_cv=False)  # fmt: skip
    return train(rows, TableSpec(target="y", group_col="batch"), cfg)


#: Real tables (benchmarks/_corpus.py) for the check on data this project did not design.
REAL = ("exam", "wage_panel", "ohio", "chickweight", "default", "titanic", "breast_cancer", "pima")


def real_tables(record: bool) -> None:
    """groupwise monitor on real public tables: a run trained on 70 % of the groups (or
    rows, without groups); the held-out part monitored as it is (one chunk, and one chunk
    per group) and with a planted 0.5 SD shift in the 3 numeric features of largest spread."""
    import _corpus

    from groupwise.monitor import monitor_frames
    from groupwise.spec import TableSpec
    from groupwise.training import TrainConfig, train

    paths = _corpus.export()
    tables = {t.name: t for t in _corpus.CORPUS}
    rows_out = []
    for name in REAL:
        t = tables[name]
        df = pd.read_parquet(paths[name])
        rng = np.random.default_rng(0)
        if t.group:
            groups = df[t.group].unique()
            held = set(rng.choice(groups, max(1, int(0.3 * len(groups))), replace=False))
            out_mask = df[t.group].isin(held).to_numpy()
        else:
            out_mask = rng.random(len(df)) < 0.3
        spec = TableSpec(target=t.target, group_col=t.group, time_col=t.time, id_cols=list(t.ids),
                         drop_cols=list(t.drop), group_kind=t.group_kind)  # fmt: skip
        cfg = TrainConfig(models_dir=str(WORK / f"real-{h.code_version()}"), tune_trials=0, bootstrap=200,
                          permutation_repeats=1, learning_curve=False, models=("dummy", "linear"),
                          naive_cv=False, audit=False)  # fmt: skip
        run = train(df[~out_mask].reset_index(drop=True), spec, cfg)
        rest = df[out_mask].drop(columns=[t.target]).reset_index(drop=True)
        one = monitor_frames(run, [("held-out", rest)]).chunks[0]
        per = monitor_frames(run, [("held-out", rest)], by=t.group).chunks if t.group else []
        tested = [c for c in per if len(c.features)]
        num = [f.name for f in run.schema.features if f.kind == "numeric" and f.name in rest]
        top = sorted(num, key=lambda c: -float(pd.to_numeric(rest[c], errors="coerce").std()))[:3]
        moved = rest.copy()
        for c in top:
            x = pd.to_numeric(moved[c], errors="coerce")
            moved[c] = x + 0.5 * x.std()
        shifted = monitor_frames(run, [("shifted", moved)]).chunks[0] if top else None
        rows_out.append([
            name, f"{len(df):,} rows" + (f", {df[t.group].nunique()} groups of {t.group}" if t.group else ""),
            f"{len(rest):,}", f"{len(one.drifted)}/{len(one.features)}",
            "—" if not t.group else f"{sum(bool(c.drifted) for c in tested)}/{len(tested)}"
            + (f" ({len(per) - len(tested)} groups under 30 rows not tested)" if len(per) > len(tested) else ""),
            "—" if shifted is None else f"{len(set(top) & set(shifted.drifted))}/{len(top)} (+{len(set(shifted.drifted) - set(top))})",
            one.estimated.get(run.metric) and f"{one.estimated[run.metric]:.3f}",
        ])  # fmt: skip
    h.report("bench_monitor --real", ["table", "size", "held-out rows", "features flagged (one chunk)",
             "groups with any drift (per-group chunks)", "0.5 SD shift in 3 numeric found (+others)",
             "estimated primary metric"], rows_out,
             ["A linear run on 70 % of the groups (rows without groups); the rest monitored. "
              "The held-out groups are new groups from the same source: drift there is a false alarm "
              "unless the groups really differ more than training's did."], record=record)  # fmt: skip


def _share(result: dict, cols) -> str:
    if "error" in result:
        return f"error: {result['error'][:60]}"
    if "alert_share" in result:
        return f"{result['alert_share']:.1%} of feature × 2k-row chunks ({result['chunks']} chunks)"
    hit = [c for c in result["drifted"] if c in cols]
    return f"{len(hit)}/{len(cols)} = {len(hit) / len(cols):.1%}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller tables, not recorded")
    ap.add_argument("--no-peers", action="store_true", help="groupwise only")
    ap.add_argument("--real", action="store_true", help="only the real-table check")
    args = ap.parse_args()
    if args.real:
        real_tables(record=not args.quick)
        return
    from groupwise.monitor import monitor_frames

    WORK.mkdir(parents=True, exist_ok=True)
    peers = not args.no_peers
    t0 = time.perf_counter()
    train_table, same_batches = split_table()
    run = train_run(WORK / f"models-{h.code_version()}", train_table)
    print(f"[bench] trained in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    feats = run.schema.feature_names
    ref_path = WORK / "reference.parquet"
    train_table[feats].to_parquet(ref_path)
    rows_out, notes = [], []
    sizes = (10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000)

    def versus(path, cols):
        if not peers:
            return "—", "—"
        ev = peer("evidently", EVIDENTLY, EVIDENTLY_DRIFT, ref_path, path, json.dumps(cols))
        nm = peer("nannyml", NANNYML, NANNYML_DRIFT, ref_path, path, json.dumps(cols))
        return ev, nm

    # (a) unshifted features flagged on new batches
    for n in sizes:
        fresh = table(n, max(4, n // 2_500), 7 + n % 97).drop(columns=["y"])
        c = monitor_frames(run, [(f"n{n}", fresh)]).chunks[0]
        share = len(c.drifted) / len(c.features)
        path = WORK / f"fresh-{n}.parquet"
        fresh[feats].to_parquet(path)
        ev, nm = versus(path, feats)
        rows_out.append(["a: unshifted features flagged", f"{n:,} rows, {fresh['batch'].nunique()} new batches",
                         f"{len(c.drifted)}/{len(c.features)} = {share:.1%}",
                         ev if isinstance(ev, str) else _share(ev, feats), nm if isinstance(nm, str) else _share(nm, feats),
                         "≤ 5%", "met" if share <= 0.05 else "MISSED"])  # fmt: skip

    # (b) planted shifts: in new batches, and in rows of the training batches (no batch
    # offset to hide it)
    fresh = table(10_000, 4, 31)
    planted = ["n1", "n2", "n3"]

    def hits(drifted):
        return len(set(planted) & set(drifted))

    def found(drifted):
        return f"{hits(drifted)}/3 found, {len(set(drifted) - set(planted))} others"

    for where, base, stem in (("10,000 rows, 4 new batches", fresh, "planted"),
                              ("10,000 more rows of the 40 training batches", same_batches, "planted_same")):  # fmt: skip
        moved = base.drop(columns=["y"]).copy()
        for col in planted:
            moved[col] = moved[col] + 0.2 * base[col].std()
        c = monitor_frames(run, [("shifted", moved)]).chunks[0]
        path = WORK / f"{stem}.parquet"
        moved[feats].to_parquet(path)
        ev, nm = versus(path, feats)
        theirs = [
            hits(r.get("drifted", [])) for r in (ev, nm) if isinstance(r, dict) and "error" not in r
        ]
        verdict = "—" if not theirs else ("met" if hits(c.drifted) >= max(theirs) else "MISSED")
        rows_out.append(["b: 0.2 SD shift in 3 of 30 numeric features", where, found(c.drifted),
                         ev if isinstance(ev, str) else found(ev.get("drifted", [])),
                         nm if isinstance(nm, str) else found(nm.get("drifted", [])), "≥ every peer", verdict])  # fmt: skip
    pos = fresh[fresh["y"] == 1]
    skew = pd.concat([pos, fresh[fresh["y"] == 0].sample(len(pos) // 4, random_state=0)])
    c = monitor_frames(run, [("prior", skew.drop(columns=["y"]))]).chunks[0]
    # the peers see the model's score as a column: out-of-fold scores as the reference
    oof = run.table("oof_predictions")
    pd.DataFrame({"score": oof["score"].to_numpy()}).to_parquet(WORK / "ref_score.parquet")
    scores = run.predict(skew.drop(columns=["y"]))["score"].to_numpy()
    pd.DataFrame({"score": scores}).to_parquet(WORK / "prior_score.parquet")
    ev = nm = "—"
    if peers:
        ev = peer("evidently", EVIDENTLY, EVIDENTLY_DRIFT, WORK / "ref_score.parquet", WORK / "prior_score.parquet", '["score"]')  # fmt: skip
        nm = peer("nannyml", NANNYML, NANNYML_DRIFT, WORK / "ref_score.parquet", WORK / "prior_score.parquet", '["score"]')  # fmt: skip
        ev, nm = (
            ("found" if "score" in r.get("drifted", []) else r.get("error", "missed"))
            for r in (ev, nm)
        )
    rows_out.append(["b: prior shift (80% positives) on the model's output", f"{len(skew):,} rows",
                     f"{'found' if c.output['drifted'] else 'missed'} (p {c.output['p_value']:.2g})", ev, nm,
                     "found", "met" if c.output["drifted"] else "MISSED"])  # fmt: skip

    # (c) estimated vs realised ROC-AUC under covariate shift, 20 chunks of 2,000 rows
    fresh = table(40_000, 16, 41)
    key = fresh["i1"].rank(pct=True, method="first").to_numpy()
    frames = [(f"q{k:02d}", fresh[(key > k / 20) & (key <= (k + 1) / 20)]) for k in range(20)]
    res = monitor_frames(run, frames)
    real = np.array([c.realised["roc_auc"] for c in res.chunks])
    ours = np.array([c.estimated["roc_auc"] for c in res.chunks])
    nm_cell = "—"
    if peers:
        thr = run.threshold
        ref_pred = pd.DataFrame({"score": oof["score"].to_numpy(), "y": (oof["y_true"].astype(str) == str(run.classes[run.positive_code])).astype(int)})  # fmt: skip
        ref_pred["pred"] = (ref_pred["score"] >= thr).astype(int)
        ref_pred.to_parquet(WORK / "cbpe_ref.parquet")
        cur = pd.concat([f for _, f in frames])
        sc = run.predict(cur.drop(columns=["y"]))["score"].to_numpy()
        pd.DataFrame({"score": sc, "pred": (sc >= thr).astype(int)}).to_parquet(
            WORK / "cbpe_cur.parquet"
        )
        r = peer(
            "nannyml",
            NANNYML,
            NANNYML_CBPE,
            WORK / "cbpe_ref.parquet",
            WORK / "cbpe_cur.parquet",
            2_000,
        )
        if "error" in r:
            nm_cell = f"error: {r['error'][:60]}"
        else:
            theirs = np.asarray(r["roc_auc"][: len(real)])
            g = np.abs(theirs - real)
            nm_cell = f"CBPE median {np.median(g):.4f}, max {g.max():.4f}"
    gaps = np.abs(ours - real)
    rows_out.append(["c: abs(estimated − realised) ROC-AUC", "20 chunks of 2,000 rows on i1's quantiles",
                     f"median {np.median(gaps):.4f}, max {gaps.max():.4f} (realised {real.min():.3f}–{real.max():.3f})",
                     "—", nm_cell, "≤ 0.02", "met" if np.median(gaps) <= 0.02 else "MISSED"])  # fmt: skip

    # (d) wall time and memory on 1M x 50
    n = 200_000 if args.quick else 1_000_000
    big = table(n, 100, 51).drop(columns=["y"])
    copies = {f"copy{j}": f"n{j + 1}" for j in range(18)}
    for new, old in copies.items():
        big[new] = big[old]
        train_table[new] = train_table[old]
    cols50 = feats + list(copies)
    path = WORK / f"current-{n}.parquet"
    big.to_parquet(path)
    train_table[cols50].to_parquet(WORK / "reference50.parquet")
    out = WORK / "out"
    p = h.run_process([sys.executable, "-m", "groupwise", "monitor", str(path), "--run", str(run.path),
                       "--out", str(out), "--fail-on", "never"])  # fmt: skip
    ok = p["returncode"] == 0
    ours_cell = f"{p['wall_s']:.1f} s, {p['rss_peak'] / 2**20:.0f} MiB" + ("" if ok else f" (exit {p['returncode']})")  # fmt: skip
    ev_cell, ratio = "—", None
    if peers:
        ev = peer("evidently", EVIDENTLY, EVIDENTLY_DRIFT, WORK / "reference50.parquet", path, json.dumps(cols50))  # fmt: skip
        if "error" in ev:
            ev_cell = f"error: {ev['error'][:60]}"
        else:
            ev_cell = f"{ev['wall_s']:.1f} s, {ev['rss_peak'] / 2**20:.0f} MiB"
            ratio = ev["wall_s"] / p["wall_s"] if ok else None
    verdict = "met" if ok and p["wall_s"] <= 10 else "MISSED"
    if ratio is not None:
        verdict += f"; {ratio:.1f}× Evidently ({'met' if ratio >= 5 else 'MISSED'})"
    rows_out.append(["d: wall / peak RSS (whole process)", f"{n:,} rows × {len(cols50)} columns (Parquet)",
                     ours_cell, ev_cell, "—", "≤ 10 s, ≥ 5× faster than Evidently", verdict])  # fmt: skip
    if not ok:
        notes.append("monitor failed: " + p["stderr"][-400:])
    notes += [
        f"code {h.code_version()}; the run: linear on 20,000 rows, 40 batches of per-feature batch offsets "
        "(the generator's); new data: the same process with new batches. groupwise judges a chunk against "
        "how far training batches were from each other; Evidently (DataDriftPreset defaults) and NannyML "
        "(UnivariateDriftCalculator defaults, thresholds from the reference's own 2,000-row chunks, so "
        "its chunks are 2,000 rows: a feature counts as drifted when it alerts in half of them) compare "
        "with the training rows as one sample.",
        "(d): groupwise is the `groupwise monitor` command (reading, validation, prediction, every test, the "
        "HTML page); Evidently is its DataDriftPreset on the same 50 columns (the 32 features + 18 copies; "
        "groupwise ignores the copies as extra columns, so it tests 32 + output + multivariate).",
        "(c): NannyML's CBPE is fit on the run's out-of-fold scores and labels, the same information "
        "groupwise's calibration map uses; both estimate from the shipped model's scores.",
    ]
    h.report("bench_monitor" + (" (quick)" if args.quick else ""),
             ["measure", "data", "groupwise", "Evidently 0.7", "NannyML", "goal", "verdict"],
             rows_out, notes, record=not args.quick)  # fmt: skip


if __name__ == "__main__":
    main()
