"""Read a run into one plain, JSON-able dict for the templates.

Only the run's files are read (through :class:`~groupwise.runs.Run`), so
``groupwise report`` can re-render any run.
"""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Any

import pandas as pd

from groupwise.evaluation._bootstrap import few_groups_warning
from groupwise.io import read_json
from groupwise.report._figures import PLOT_TITLES, learning_curve_title

__all__ = ["summarize_run"]


def _csv(path: Path, n: int | None = None) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    df = pd.read_csv(path)
    if n:
        df = df.head(n)
    return [{k: _clean(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def _clean(v):
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def summarize_run(run, *, embed_images: bool = True) -> dict[str, Any]:
    """The dict the report and model-card templates render (``run``: a Run)."""
    meta = run.meta
    layout = run.layout
    primary = run.metric
    holdout = run.metrics.holdout()
    checks = (
        run.read_metrics("model_checks")
        if layout.model_checks.exists()
        else {"findings": [], "passed": [], "not_applicable": []}
    )
    audit = run.audit
    env = read_json(layout.env_meta) if layout.env_meta.exists() else {}
    images = []
    for name in run.plots:
        p = layout.plot(name)
        rel = str(p.relative_to(layout.root))
        src = (
            "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode()
            if embed_images
            else rel
        )
        title = PLOT_TITLES.get(name, name)
        if name == "learning_curve":
            title = learning_curve_title(run, run.table("learning_curve"))
        if run.scheme == "nested":
            title = title.replace("(holdout)", "(nested CV over all groups)")
        images.append({"name": name, "title": title, "src": src, "file": rel})

    def open_(findings):
        return [
            f for f in findings if f["severity"] in ("error", "warning") and not f.get("accepted")
        ]

    serious = open_(checks["findings"])
    audit_findings = (audit or {}).get("findings", [])
    accepted = [f for f in [*audit_findings, *checks["findings"]] if f.get("accepted")]
    ev = run.metrics.evaluation()
    scheme = ev.get("scheme", "holdout")
    evaluation = {
        "scheme": scheme,
        "label": "holdout" if scheme == "holdout" else "nested CV",
        "title": "Holdout" if scheme == "holdout" else "Nested cross-validation over all groups",
        "method": ev.get("method") or run.metrics.bootstrap().get("method", "percentile bootstrap"),
        "rows": ev.get("rows", meta["split_plan"]["holdout"]["rows"]),
        "groups": ev.get("groups"),
        "outer": ev.get("outer", []),
        "models": (ev.get("models") or "model fitted on the development rows only").capitalize(),
        "models_short": "the development fit"
        if scheme == "holdout"
        else "each outer fold's own selection",
    }
    choice = run.threshold_choice
    threshold = {**run.metrics.threshold_analysis(), **({} if choice is None else choice.to_dict())}
    return {
        "meta": meta,
        "run_id": run.run_id,
        "models_dir": str(meta["config"].get("models_dir", run.models_dir)),
        "models_dir_absolute": Path(
            str(meta["config"].get("models_dir", run.models_dir))
        ).is_absolute(),
        "task": run.task,
        "target": meta["spec"]["target"],
        "primary": primary,
        "primary_reason": meta["primary_metric"]["reason"],
        "greater": meta["primary_metric"]["greater_is_better"],
        "headline": holdout.get(primary, {}),
        "selected": meta["selected_model"],
        "plan": meta["split_plan"],
        "leaderboard": run.metrics.leaderboard()["rows"],
        "metric_columns": _metric_columns(run.task),
        "holdout": holdout,
        "baselines": run.metrics.baselines(),
        "holdout_warning": few_groups_warning(run.metrics.bootstrap().get("groups"))
        if scheme == "holdout"
        else None,
        "evaluation": evaluation,
        "threshold": threshold,
        "naive_vs_grouped": run.metrics.naive_vs_grouped(),
        "tuning": run.metrics.tuning(),
        "ensembles": run.metrics.ensembles(),
        "racing": run.metrics.racing(),
        "calibration": run.metrics.calibration(),
        "imbalance": run.metrics.imbalance(),
        "model_checks": checks,
        "serious_checks": serious,
        "gap_check": next((f for f in checks["findings"] if f["code"] == "MODEL002"), None),
        "audit": audit,
        "audit_serious": open_(audit_findings),
        "accepted": accepted,
        "slices": _csv(layout.error_slices, 15),
        "importance": _csv(layout.feature_importance, 15),
        "shap": _shap(run),
        "images": images,
        "env": env,
        "monitoring": _monitoring(run),
    }


def _shap(run) -> dict[str, Any]:
    doc = dict(run.metrics.shap())
    if doc.get("computed"):
        doc["top"] = doc.get("mean_abs", [])[:15]
    return doc


#: Chunk sizes the model card lists drift thresholds for.
MONITOR_SIZES = (1_000, 10_000, 100_000)
MONITOR_FEATURES = 12


def _monitoring(run) -> dict[str, Any] | None:
    """What ``groupwise monitor`` will compare against: per feature, how far training groups
    were from each other and the divergence that flags one new chunk at a few sizes."""
    from groupwise.drift import threshold_at

    ref = run.monitor_reference
    if ref is None:
        return None
    order = list(ref.features)
    imp = _csv(run.layout.feature_importance, 1000)
    if imp:
        ranked = [r.get("feature") for r in imp]
        order = sorted(order, key=lambda f: ranked.index(f) if f in ranked else len(ranked))
    rows = []
    for k, name in enumerate(order[:MONITOR_FEATURES]):
        b = ref.features[name]
        rows.append({
            "feature": name, "kind": b.kind, "bins": b.K, "between_group_share": b.rho,
            "thresholds": [threshold_at(b, n, reference_groups=ref.effective_groups, rng=k) for n in MONITOR_SIZES],
        })  # fmt: skip
    return {"sizes": list(MONITOR_SIZES), "features": rows, "more": max(0, len(order) - MONITOR_FEATURES),
            "group_col": ref.group_col, "groups": ref.groups, "expected": ref.expected,
            "output_kind": ref.output_kind, "skipped": ref.skipped}  # fmt: skip


def _metric_columns(task: str) -> list[str]:
    from groupwise.evaluation._metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS

    return list(CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS)
