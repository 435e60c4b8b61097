"""The clustering run directory: the same files and safety as a training run's where they
apply (model, schema, manifest, run_meta, environment), clustering tables and a report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from groupwise._version import __version__

__all__ = ["write_cluster_run"]


def write_cluster_run(
    *, model, df, cols, kinds, config, started, dataset_path, doc, sizes, profiles, projection,
    assignments, timings, progress,
):  # fmt: skip
    from groupwise.io import sha256_file, table_fingerprint
    from groupwise.predict import InputSchema
    from groupwise.report import render_cluster_report
    from groupwise.runs import Run, RunMeta, RunRecord, new_run_id, write_run, writing_run
    from groupwise.runs._env import git_commit

    run_id = new_run_id("clustering", config.seed, started)
    if dataset_path:
        dataset = {"path": str(dataset_path), "sha256": sha256_file(dataset_path)}
    else:
        dataset = {"path": None, "sha256": table_fingerprint(df)}
    dataset.update(rows=len(df), columns=int(df.shape[1]), rows_used=len(df), rows_dropped_missing_target=0)  # fmt: skip
    km = model.steps[-1][1]
    spec = {
        "target": None, "task": "clustering", "pos_label": None, "id_cols": list(cols.id_cols),
        "group_col": None, "time_col": None, "drop_cols": list(cols.drop_cols), "group_kind": "batch",
    }  # fmt: skip
    meta = RunMeta(
        run_id=run_id, created_at=started.isoformat(), finished_at=dt.datetime.now(dt.UTC).isoformat(),
        duration_s=round(timings["total"], 3), groupwise_version=__version__, git_commit=git_commit(),
        dataset=dataset, spec=spec, features=cols.features, feature_kinds=kinds.to_dict(), classes=(),
        positive_code=None, config=config.to_dict(),
        primary_metric={"name": "silhouette", "reason": "no target: separation of the clusters", "greater_is_better": True},
        split_plan={"kind": "none", "note": "clustering has no target and no split"},
        selected_model={"label": f"kmeans (k={doc['k']})", "candidate": "kmeans", "params": {"n_clusters": int(km.n_clusters)}, "tuned": False, "pipeline": repr(model)},
        threshold=None,
        metrics={"silhouette": next(s["silhouette"] for s in doc["scores"] if s["k"] == doc["k"]), "k": doc["k"]},
        audit_summary=None, model_checks_summary={"error": 0, "warning": len(doc["warnings"]), "info": 0, "accepted": 0},
        failed_candidates={}, timings={k: round(v, 3) for k, v in timings.items()},
    )  # fmt: skip
    schema = InputSchema.of_columns(df, cols.features, cols.id_cols, cols.drop_cols)
    record = RunRecord(
        meta=meta,
        model=model,
        schema=schema,
        tables={
            "cluster_sizes": sizes,
            "cluster_profiles": profiles,
            "cluster_assignments": assignments,
            "cluster_projection": projection,
        },  # fmt: skip
        documents={"clustering": doc},
    )
    models_dir = Path(config.models_dir)
    with (
        progress.stage("Writing the run", total=2) as bar,
        writing_run(models_dir, run_id, latest=False) as layout,
    ):
        write_run(record, layout)
        bar.advance()
        render_cluster_report(layout.root)
        bar.advance()
    return Run(models_dir / "runs" / run_id)
