"""Nested partial pooling: speed, accuracy by training support, interval coverage.

Table: ``make_nested_regression`` with 20 clusters, 400 species, 300 compounds,
4 covariates, σ = 0.2, cluster scales log-uniform in [0.05, 1.5] (~200k rows), 20% of
the rows held out at random. Each model is fitted in a fresh process (fit wall time,
peak RSS of the process) and scored on the holdout, binned by the training rows of
each row's (species, compound) pair.

- groupwise PartialPoolingRegressor (compound → cluster → species, scale_by cluster)
- GroupedRidge per (cluster, compound)             ("ridge per supercategory")
- GroupedRidge per (species, compound)             ("no pooling")
- statsmodels MixedLM: random intercept and slopes per compound, with nested random
  intercepts for cluster and species within compound (variance components); in its
  own venv (``--peers``). It has no way to give clusters their own scales.

Covariate-shift study (``--study``): 5 seeds, cluster labels inferred by KMeans on
per-species mean covariates; MAE per support bin ± 95% CI across seeds.

Goals (issue): fit ≤ 10 s; MAE in the 1–2 bin ≤ 0.55× ridge per (cluster, compound);
95% coverage in [0.93, 0.97] overall and in the 1–2 bin; ≥ 5× faster than MixedLM at
lower MAE.

    python benchmarks/bench_pooling.py [--peers] [--study] [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as h

WORK = h.WORK / "pooling"
HIER = ["compound", "cluster", "species"]
COVS = ["x1", "x2", "x3", "x4"]
BINS = ["unseen", "1-2", "3-5", "6-20", ">20", "overall"]


def make(seed: int, quick: bool) -> tuple[Path, Path]:
    import numpy as np

    from groupwise.datasets import make_nested_regression

    WORK.mkdir(parents=True, exist_ok=True)
    tag = f"{seed}{'_quick' if quick else ''}"
    tr, te = WORK / f"train_{tag}.parquet", WORK / f"test_{tag}.parquet"
    if tr.exists() and te.exists():
        return tr, te
    kw = dict(
        n_clusters=20,
        n_species=400,
        n_compounds=300,
        n_covariates=4,
        sigma=0.2,
        scale_range=(0.05, 1.5),
        pair_fraction=0.47,
    )
    if quick:
        kw.update(n_species=100, n_compounds=60)
    df, _ = make_nested_regression(**kw, random_state=seed)
    test = np.random.default_rng(seed).random(len(df)) < 0.2
    df[~test].reset_index(drop=True).to_parquet(tr)
    df[test].reset_index(drop=True).to_parquet(te)
    return tr, te


# ------------------------------------------------------------------ children
def child(model: str, train: str, test: str, out: str, cluster_col: str) -> None:
    import numpy as np
    import pandas as pd

    tr, te = pd.read_parquet(train), pd.read_parquet(test)
    box = {}

    def fit():
        if model == "pooling":
            from groupwise.estimators import PartialPoolingRegressor

            m = PartialPoolingRegressor(
                hierarchy=["compound", cluster_col, "species"],
                covariates=COVS,
                scale_by=cluster_col,
                unknown="global",
            )
            m.fit(tr, tr["y"])
            box.update(model=m, extra={"n_iter": m.n_iter_, "converged": m.converged_})
        elif model in ("ridge_cluster", "no_pooling"):
            from groupwise.estimators import GroupedRidge

            groups = (
                ["compound", cluster_col]
                if model == "ridge_cluster"
                else ["compound", cluster_col, "species"]
            )
            box.update(
                model=GroupedRidge(groups=groups, covariates=COVS, alpha=1.0).fit(tr, tr["y"]),
                extra={},
            )
        return box["extra"]

    result = h.measure(fit)
    m = box["model"]
    if model == "pooling":
        mu, sd = m.predict(te, return_std=True)
    else:
        mu, sd = m.predict(te), np.full(len(te), np.nan)
    pair_rows = tr.groupby(["species", "compound"]).size()
    support = (
        pd.MultiIndex.from_frame(te[["species", "compound"]]).map(pair_rows).fillna(0).to_numpy()
    )
    pd.DataFrame({"y": te["y"], "mu": mu, "sd": sd, "support": support}).to_parquet(out)
    h.emit(result)


MIXEDLM = r"""
import sys, json, time, resource, warnings
warnings.filterwarnings("ignore")
import numpy as np, pandas as pd, statsmodels.formula.api as smf
tr, te = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
t0 = time.perf_counter(); c0 = time.process_time()
model = smf.mixedlm("y ~ x1 + x2 + x3 + x4", tr, groups="compound", re_formula="~ x1 + x2 + x3 + x4",
                    vc_formula={"cluster": "0 + C(cluster)", "species": "0 + C(species)"})
res = model.fit(method="lbfgs")
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
fe = res.fe_params
re = res.random_effects
mu = fe["Intercept"] + sum(fe[c] * te[c] for c in ["x1", "x2", "x3", "x4"])
extra = np.zeros(len(te))
X = te[["x1", "x2", "x3", "x4"]].to_numpy()
for i, (c, k, s) in enumerate(zip(te["compound"], te["cluster"], te["species"])):
    r = re.get(c)
    if r is None:
        continue
    extra[i] = r.get("compound", 0.0) + r.get(f"cluster[C(cluster)[{k}]]", 0.0) + r.get(f"species[C(species)[{s}]]", 0.0)
    extra[i] += sum(r.get(v, 0.0) * X[i, j] for j, v in enumerate(["x1", "x2", "x3", "x4"]))
pair_rows = tr.groupby(["species", "compound"]).size()
support = pd.MultiIndex.from_frame(te[["species", "compound"]]).map(pair_rows).fillna(0).to_numpy()
pd.DataFrame({"y": te["y"], "mu": mu + extra, "sd": np.nan, "support": support}).to_parquet(sys.argv[3])
print("RESULT " + json.dumps({"wall_s": wall, "cpu_s": cpu, "rss_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def kmeans_clusters(train: Path, test: Path, seed: int) -> tuple[Path, Path]:
    """Add ``kcluster``: KMeans (20) on each species' mean training covariates."""
    import pandas as pd
    from sklearn.cluster import KMeans

    tr, te = pd.read_parquet(train), pd.read_parquet(test)
    means = tr.groupby("species")[COVS].mean()
    labels = KMeans(n_clusters=20, n_init=10, random_state=seed).fit_predict(means)
    lookup = pd.Series([f"k{v:02d}" for v in labels], index=means.index)
    tr["kcluster"] = tr["species"].map(lookup)
    te["kcluster"] = te["species"].map(lookup).fillna("k-unseen")
    a, b = train.with_name(train.stem + "_k.parquet"), test.with_name(test.stem + "_k.parquet")
    tr.to_parquet(a)
    te.to_parquet(b)
    return a, b


def score(pred_path: Path):
    import pandas as pd

    from groupwise.evaluation import evaluate_by_support

    p = pd.read_parquet(pred_path)
    sd = None if p["sd"].isna().all() else p["sd"]
    return evaluate_by_support(p["y"], p["mu"], p["support"], sd).set_index("support")


def run_model(name: str, tr: Path, te: Path, cluster_col: str = "cluster") -> tuple[dict, object]:
    out = WORK / f"pred_{name}_{tr.stem}.parquet"
    r = h.run_child(
        [sys.executable, __file__, "--child", name, str(tr), str(te), str(out), cluster_col]
    )
    return r, (score(out) if "error" not in r else None)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--peers", action="store_true", help="also fit statsmodels MixedLM in its own venv"
    )
    ap.add_argument("--study", action="store_true", help="covariate-shift study over 5 seeds")
    ap.add_argument("--quick", action="store_true", help="a small table, not recorded")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    tr, te = make(0, args.quick)
    import pandas as pd

    n_train = len(pd.read_parquet(tr, columns=["y"]))
    results = {}
    for name in ("pooling", "ridge_cluster", "no_pooling"):
        results[name] = run_model(name, tr, te)
    if args.peers:
        py = h.peer_python("statsmodels", ["statsmodels", "pandas", "pyarrow"])
        script = WORK / "mixedlm.py"
        script.write_text(MIXEDLM)
        out = WORK / f"pred_mixedlm_{tr.stem}.parquet"
        r = (
            h.run_child([str(py), str(script), str(tr), str(te), str(out)], timeout=7200)
            if py
            else {"error": "no venv"}
        )
        results["mixedlm"] = (r, score(out) if "error" not in r else None)
    labels = {
        "pooling": "PartialPoolingRegressor",
        "ridge_cluster": "ridge per (cluster, compound)",
        "no_pooling": "ridge per (species, compound)",
        "mixedlm": "statsmodels MixedLM",
    }
    rows = []
    for name, (r, table) in results.items():
        if table is None:
            rows.append([labels[name], "error", r.get("error", "")[:80], *[""] * 8])
            continue
        cov = table.get("coverage95")
        rows.append([
            labels[name], f"{r['wall_s']:.1f}", h.fmt_bytes(r.get("rss_peak")),
            *[f"{table.loc[b, 'mae']:.3f}" for b in BINS],
            "—" if cov is None else f"{cov['overall']:.3f} / {cov['1-2']:.3f}",
        ])  # fmt: skip
    notes = [f"{n_train:,} training rows; MAE per bin of training rows of the (species, compound) pair; "
             "coverage: share of holdout rows inside ±1.96 predictive SD (overall / 1–2 bin)."]  # fmt: skip
    pool_r, pool_t = results["pooling"]
    if pool_t is not None:
        ridge_t = results["ridge_cluster"][1]
        ratio = pool_t.loc["1-2", "mae"] / ridge_t.loc["1-2", "mae"]
        cov = pool_t["coverage95"]
        notes.append(
            f"Goals: fit {pool_r['wall_s']:.1f} s (≤ 10: {'yes' if pool_r['wall_s'] <= 10 else '**no**'}); "
            f"1–2 bin MAE {ratio:.2f}× ridge per (cluster, compound) (≤ 0.55: {'yes' if ratio <= 0.55 else '**no**'}); "
            f"coverage {cov['overall']:.3f} / {cov['1-2']:.3f} (in [0.93, 0.97]: "
            f"{'yes' if all(0.93 <= cov[b] <= 0.97 for b in ('overall', '1-2')) else '**no**'}); "
            f"{pool_r.get('n_iter')} likelihood evaluations."
        )
        if "mixedlm" in results and results["mixedlm"][1] is not None:
            mr, mt = results["mixedlm"]
            speed = mr["wall_s"] / pool_r["wall_s"]
            lower = pool_t.loc["overall", "mae"] < mt.loc["overall", "mae"]
            notes.append(f"vs MixedLM: {speed:.1f}× faster (goal ≥ 5×: {'yes' if speed >= 5 else '**no**'}), "
                         f"overall MAE {'lower' if lower else '**not lower**'} ({pool_t.loc['overall', 'mae']:.3f} vs {mt.loc['overall', 'mae']:.3f}); "
                         f"MixedLM CPU {mr['cpu_s']:.1f} s.")  # fmt: skip
    h.report(
        "bench_pooling" + (" (quick)" if args.quick else ""),
        ["model", "fit s", "peak RSS", *[f"MAE {b}" for b in BINS], "coverage95"],
        rows,
        notes,
        record=not args.quick,
    )
    if args.study:
        study(args.quick)


def study(quick: bool) -> None:
    """Cluster labels inferred by KMeans; MAE per bin ± 95% CI over 5 seeds."""
    import numpy as np
    import pandas as pd

    tables = {
        "pooling (true clusters)": [],
        "pooling (KMeans clusters)": [],
        "ridge per (KMeans cluster, compound)": [],
    }
    for seed in range(5):
        tr, te = make(seed, quick)
        trk, tek = kmeans_clusters(tr, te, seed)
        tables["pooling (true clusters)"].append(run_model("pooling", tr, te)[1])
        tables["pooling (KMeans clusters)"].append(run_model("pooling", trk, tek, "kcluster")[1])
        tables["ridge per (KMeans cluster, compound)"].append(
            run_model("ridge_cluster", trk, tek, "kcluster")[1]
        )
    rows = []
    for name, ts in tables.items():
        mae = pd.concat([t["mae"] for t in ts], axis=1)
        m, half = mae.mean(axis=1), 1.96 * mae.std(axis=1, ddof=1) / np.sqrt(mae.shape[1])
        rows.append([name, *[f"{m[b]:.3f} ± {half[b]:.3f}" for b in BINS]])
    h.report(
        "bench_pooling covariate-shift study" + (" (quick)" if quick else ""),
        ["model", *[f"MAE {b}" for b in BINS]],
        rows,
        [
            "5 seeds; clusters inferred by KMeans (k = 20) on each species' mean training covariates; ± half-width of the 95% CI of the mean across seeds."
        ],
        record=not quick,
    )


if __name__ == "__main__":
    main()
