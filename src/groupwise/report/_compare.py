"""``groupwise runs compare``: runs side by side, with paired intervals where they can be had.

Two runs are *paired* when they were evaluated on the same rows: the same data (SHA-256),
the same evaluation scheme, and the same evaluated rows in the same order (their
``holdout_input`` tables are equal). Their difference in each metric then gets an
interval from the same leave-one-group-out (or bootstrap) resamples applied to both, which
is much narrower than comparing two separate intervals. Runs that are not paired are shown
side by side with their own intervals, and the reason they are not paired.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from groupwise.evaluation._intervals import paired_interval
from groupwise.evaluation._metrics import GREATER_IS_BETTER, MetricSet, metric_names
from groupwise.exceptions import ConfigError
from groupwise.io import write_json, write_text

__all__ = ["compare_runs", "write_comparison"]


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: d}


def _diff(dicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keys whose values differ between the dicts (flattened), with every run's value."""
    flat = [_flatten(d) for d in dicts]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    missing = object()
    rows = []
    for k in keys:
        values = [f.get(k, missing) for f in flat]
        if any(v != values[0] for v in values[1:]):
            rows.append({"key": k, "values": [None if v is missing else v for v in values]})
    return rows


def _metricset(run, honest: pd.DataFrame) -> MetricSet:
    if run.task != "classification":
        return MetricSet("regression", honest["y_true"].to_numpy(float),
                         pred=honest["prediction"].to_numpy(float))  # fmt: skip
    classes = run.classes
    code = {str(c): k for k, c in enumerate(classes)}
    y = honest["y_true"].astype(str).map(code).to_numpy()
    pred = honest["prediction"].astype(str).map(code).to_numpy()
    proba = np.column_stack([honest[f"proba_{c}"].to_numpy(float) for c in classes])
    return MetricSet("classification", y, proba=proba, pred=pred, pos=run.positive_code or 0)


def _pairing(base, other) -> tuple[bool, str]:
    """Whether ``other`` was evaluated on exactly ``base``'s rows, and why (not)."""
    if base.meta["dataset"]["sha256"] != other.meta["dataset"]["sha256"]:
        return False, "different data (SHA-256 differs)"
    if base.scheme != other.scheme:
        return False, f"different evaluation schemes ({base.scheme} vs {other.scheme})"
    if base.spec.target != other.spec.target or base.task != other.task:
        return False, "different targets"
    a, b = base.table("holdout_input"), other.table("holdout_input")
    if a.shape != b.shape or list(a.columns) != list(b.columns) or not a.equals(b):
        return False, "different evaluation rows (another split: seed, holdout share or groups)"
    ya, yb = base.honest_predictions()["y_true"], other.honest_predictions()["y_true"]
    if not ya.astype(str).equals(yb.astype(str)):
        return False, "different evaluation rows (targets differ)"
    return True, f"same data and the same {len(a)} evaluation rows"


def _leaderboard(run) -> list[dict[str, Any]]:
    board = run.metrics.leaderboard()
    metric = board.get("metric", run.metric)
    rows = []
    for r in board.get("rows", []):
        rows.append({
            "candidate": r.get("candidate"),
            "cv": r.get(metric, r.get(f"{metric}_mean")),
            "sd": r.get(f"{metric}_sd", r.get(f"{metric}_std")),
        })  # fmt: skip
    return rows


def compare_runs(runs: list, *, seed: int = 0) -> dict[str, Any]:
    """Everything ``runs compare`` shows, as a JSON-able dict; the first run is the base
    that every other run's differences are measured against (other − base)."""
    if len(runs) < 2:
        raise ConfigError(
            f"runs compare needs at least two runs; got {len(runs)}. Name the base run and "
            "one or more others: groupwise runs compare BASE OTHER [...]."
        )
    tasks = {r.task for r in runs}
    if len(tasks) > 1:
        raise ConfigError(
            "runs compare needs runs of one task; got "
            + ", ".join(f"{r.run_id} ({r.task})" for r in runs)
            + ". Compare classification runs with each other and regression runs with each other."
        )
    base = runs[0]
    names = metric_names(base.task)
    if base.task == "classification" and len({len(r.classes) for r in runs}) > 1:
        raise ConfigError("runs compare needs runs with the same classes.")
    holdouts = [r.metrics.holdout() for r in runs]
    pairing = [(True, "the base run")] + [_pairing(base, r) for r in runs[1:]]
    base_honest = base.honest_predictions()
    base_ms = _metricset(base, base_honest)
    group = base.spec.group_col
    groups = base_honest[group].to_numpy() if group and group in base_honest else None
    metrics = []
    for m in names:
        row = {
            "metric": m,
            "greater_is_better": GREATER_IS_BETTER[m],
            "runs": [],
            "differences": [],
        }
        for r, h in zip(runs, holdouts, strict=True):
            row["runs"].append({"run_id": r.run_id, **h.get(m, {})})
        for r, (paired, why) in zip(runs[1:], pairing[1:], strict=True):
            diff: dict[str, Any] = {"run_id": r.run_id, "paired": paired}
            est = _minus(holdouts[runs.index(r)].get(m), holdouts[0].get(m))
            diff["estimate"] = est
            if paired:
                ms = _metricset(r, r.honest_predictions())
                iv = paired_interval(ms, base_ms, m, groups=groups, seed=seed)
                diff.update(ci_low=iv["ci_low"], ci_high=iv["ci_high"], estimate=iv["estimate"])
                diff["significant"] = bool(iv["ci_low"] > 0 or iv["ci_high"] < 0)
            else:
                diff["why_unpaired"] = why
            row["differences"].append(diff)
        metrics.append(row)
    return {
        "format_version": 1,
        "base": base.run_id,
        "primary_metric": base.metric,
        "interval": (
            "95%: delete-one-group jackknife-t of the paired difference over the evaluation groups"
            if groups is not None
            else "95%: percentile bootstrap of the paired difference over the evaluation rows"
        ),
        "runs": [_identity(r, p) for r, p in zip(runs, pairing, strict=True)],
        "metrics": metrics,
        "config_diff": _diff([r.meta["config"] for r in runs]),
        "spec_diff": _diff([r.meta["spec"] for r in runs]),
        "leaderboards": {r.run_id: _leaderboard(r) for r in runs},
    }


def _minus(a: dict | None, b: dict | None) -> float | None:
    if not a or not b or a.get("estimate") is None or b.get("estimate") is None:
        return None
    return float(a["estimate"]) - float(b["estimate"])


def _identity(run, pairing: tuple[bool, str]) -> dict[str, Any]:
    m = run.meta
    ev = run.metrics.evaluation()
    return {
        "run_id": run.run_id,
        "created_at": m["created_at"],
        "task": run.task,
        "target": m["spec"]["target"],
        "selected_model": run.selected_model,
        "scheme": run.scheme,
        "evaluation_rows": ev.get("rows"),
        "evaluation_groups": ev.get("groups"),
        "dataset_path": m["dataset"]["path"],
        "dataset_sha256": m["dataset"]["sha256"],
        "rows_used": m["dataset"]["rows_used"],
        "threshold": run.threshold,
        "paired_with_base": pairing[0],
        "pairing": pairing[1],
        "report": str(run.layout.report),
    }


def write_comparison(doc: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """Write ``compare.json`` and a self-contained ``compare.html`` into ``out_dir``."""
    from groupwise.report._render import _env

    out_dir = Path(out_dir)
    html = _env(True).get_template("compare.html.j2").render(**doc)
    return {
        "json": write_json(doc, out_dir / "compare.json"),
        "html": write_text(html, out_dir / "compare.html"),
    }
