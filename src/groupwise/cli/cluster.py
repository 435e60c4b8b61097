"""``groupwise cluster``: segments of a table in a run directory (no target, no accuracy)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from groupwise.cli._common import ModelsDirOption, escape, fmt, frame_table, handle_errors, out
from groupwise.cli._config import DropOption, IdOption


@handle_errors
def cluster(
    table: Annotated[Path, typer.Argument(help="Table to cluster (.parquet or .csv).")],
    k: Annotated[
        int | None,
        typer.Option("--k", min=2, help="Number of clusters (default: chosen by silhouette)."),
    ] = None,
    k_range: Annotated[
        str,
        typer.Option("--k-range", metavar="LO..HI", help="Range of k tried when --k is not given."),
    ] = "2..10",
    id_cols: IdOption = None,
    drop: DropOption = None,
    sample: Annotated[
        int,
        typer.Option(
            min=100, help="Rows (seeded sample) for silhouettes, HDBSCAN and the 2-D map."
        ),
    ] = 5000,
    density: Annotated[
        bool,
        typer.Option(
            "--density/--no-density", help="Also run the density-based alternative (HDBSCAN)."
        ),
    ] = True,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    models_dir: ModelsDirOption = Path("models"),
    json_output: Annotated[
        bool,
        typer.Option("--json", help="Print metrics/clustering.json to stdout instead of tables."),
    ] = False,
) -> None:
    """KMeans on the scaled, encoded features for every k of a range (silhouette per k), a
    density-based alternative, cluster sizes (tiny ones flagged) and per-cluster profiles,
    written as a run directory; `groupwise predict --run RUN_ID` assigns new rows.

    Exit codes: 0 success; 2 bad input.
    """
    from groupwise.cli._progress import RichProgress
    from groupwise.clustering import ClusterConfig, parse_k_range
    from groupwise.clustering import cluster as run_cluster
    from groupwise.io import read_table
    from groupwise.runs import check_models_dir

    lo, hi = parse_k_range(k_range)
    cfg = ClusterConfig(k=k, k_min=lo, k_max=hi, sample=sample, density=density, seed=seed, models_dir=str(models_dir))  # fmt: skip
    check_models_dir(cfg.models_dir)
    df = read_table(table)
    run = run_cluster(
        df, id_cols=list(id_cols or []), drop_cols=list(drop or []), config=cfg,
        dataset_path=str(table), progress=None if json_output else RichProgress(),
    )  # fmt: skip
    doc = run.read_metrics("clustering")
    if json_output:
        typer.echo(json.dumps({"run_id": run.run_id, "run": str(run.path), **doc}, indent=2))
        return
    rows = [
        [s["k"], fmt(s["silhouette"]), fmt(s["inertia"], 1), s["smallest_cluster"], "★" if s["k"] == doc["k"] else ""]
        for s in doc["scores"]
    ]  # fmt: skip
    out().print(frame_table("KMeans per k (silhouette on a seeded sample)", ["k", "silhouette", "inertia", "smallest", ""], rows))  # fmt: skip
    out().print(f"k = {doc['k']}: {escape(doc['why'])}.")
    if doc.get("density"):
        d = doc["density"]
        out().print(
            f"Density-based alternative: {d['clusters']} clusters, {d['noise_share']:.1%} noise, "
            f"adjusted Rand vs KMeans {fmt(d['adjusted_rand_vs_kmeans'])}."
        )
    sizes = run.table("cluster_sizes")
    out().print(frame_table("Cluster sizes", ["cluster", "rows", "share", ""],
        [[int(r.cluster), int(r.rows), f"{r.share:.1%}", "tiny" if r.tiny else ""] for r in sizes.itertuples()]))  # fmt: skip
    for w in doc["warnings"]:
        out().print(f"[yellow]warning:[/] {escape(w)}")
    out().print(f"\nrun:    {run.path}\nreport: {run.layout.report}")
    out().print(f"[dim]assign new rows: groupwise predict NEW_TABLE --run {run.run_id} --models-dir {escape(str(models_dir))} --out clusters.parquet[/]")  # fmt: skip
