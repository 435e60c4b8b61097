"""``groupwise runs list`` and ``groupwise runs show``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from groupwise.cli._common import (
    ModelsDirOption,
    err,
    escape,
    fmt,
    frame_table,
    handle_errors,
    kv_table,
    out,
)

app = typer.Typer(help="The runs registry.", no_args_is_help=True, add_completion=False)


_FIELDS = ("run_id", "created_at", "task", "target", "primary_metric", "holdout", "cv",
           "selected_model")  # fmt: skip


def _summary(run) -> dict:
    meta = run.run_meta
    primary = meta.metric
    return {
        "run_id": run.path.name,
        "created_at": meta.created_at,
        "task": run.task,
        "target": meta.spec["target"],
        "primary_metric": primary,
        "holdout": meta.metrics["holdout"].get(primary),
        "cv": meta.metrics["cv"].get(primary),
        "selected_model": run.selected_model,
    }


@app.command("list")
@handle_errors
def list_runs(
    models_dir: ModelsDirOption = Path("models"),
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a table.")
    ] = False,
) -> None:
    """All complete runs, newest last; * marks latest."""
    from groupwise.exceptions import GroupwiseError
    from groupwise.runs import Run, latest_run_id, run_dirs

    notes = []
    try:
        latest = latest_run_id(models_dir)
    except GroupwiseError as exc:
        latest = None
        notes.append(str(exc))
    rows = []
    for path in run_dirs(models_dir):
        try:
            s = _summary(Run(path))
            s["broken"] = None
        except GroupwiseError as exc:
            s = dict.fromkeys(_FIELDS)
            s.update(run_id=path.name, broken=str(exc))
        except (KeyError, TypeError, AttributeError) as exc:
            s = dict.fromkeys(_FIELDS)
            s.update(run_id=path.name, broken=f"run_meta.json lacks {exc}")
        s["latest"] = path.name == latest
        rows.append(s)
    broken = [r for r in rows if r["broken"]]
    if json_output:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        out().print(
            f"No runs in {str(models_dir)!r}. Train one with 'groupwise train TABLE --target Y'."
        )
        return
    out().print(
        frame_table(
            f"Runs in {models_dir}",
            [
                "",
                "run id",
                "task",
                "target",
                "metric",
                "holdout",
                "CV",
                "model",
            ],
            [
                [
                    "*" if r["latest"] else "",
                    r["run_id"],
                    "clf" if r["task"] == "classification" else "reg",
                    r["target"],
                    r["primary_metric"],
                    fmt(r["holdout"]),
                    fmt(r["cv"]),
                    r["selected_model"],
                ]
                if not r["broken"]
                else ["", r["run_id"], "[red]broken[/]", "", "", "", "", "see below"]
                for r in rows
            ],
            no_wrap=["run id"],
        )
    )
    for r in broken:
        err().print(f"[yellow]broken:[/] {escape(r['broken'])}")
    for n in notes:
        err().print(f"[yellow]registry:[/] {escape(n)}")


@app.command("show")
@handle_errors
def show_run(
    run: Annotated[
        str, typer.Argument(help="latest, a run id (or unique prefix), or a run directory.")
    ] = "latest",
    models_dir: ModelsDirOption = Path("models"),
) -> None:
    """Key facts and paths of one run."""
    from groupwise.runs import load_run

    r = load_run(run, models_dir)
    m = r.meta
    s = _summary(r)
    plan = m["split_plan"]
    facts = {
        "run id": r.run_id,
        "created": m["created_at"],
        "task / target": f"{s['task']} / {s['target']}",
        "dataset": f"{m['dataset']['path'] or '(DataFrame)'} (sha256 {m['dataset']['sha256'][:12]}…, {m['dataset']['rows_used']} rows)",
        "split": f"holdout: {plan['holdout_strategy']}; CV: {plan['cv_strategy']}",
        "selected model": s["selected_model"],
        f"{s['primary_metric']} (holdout)": fmt(s["holdout"]),
        f"{s['primary_metric']} (CV, pooled)": fmt(s["cv"]),
        "threshold": "—"
        if r.threshold_choice is None
        else f"{r.threshold:.4g} ({r.threshold_choice.strategy})",
        "naive − grouped": "—"
        if not m["metrics"]["naive_minus_grouped"]
        else fmt(m["metrics"]["naive_minus_grouped"]["estimate"]),
        "model checks": ", ".join(f"{k}: {v}" for k, v in m["model_checks_summary"].items()),
        "report": str(r.layout.report),
        "model card": str(r.layout.model_card),
        "model file": f"{r.layout.model} (sha256 {m['model']['sha256'][:12]}…)",
    }
    out().print(kv_table(f"Run {r.run_id}", facts))
