"""``groupwise runs list``, ``runs show`` and ``runs compare``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from groupwise.cli._common import (
    ModelsDirOption,
    check_out_dir,
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
    if run.task == "clustering":  # no target, no holdout: the silhouette of its k
        return {
            "run_id": run.path.name, "created_at": meta.created_at, "task": run.task,
            "target": None, "primary_metric": primary, "holdout": None,
            "cv": meta.metrics.get("silhouette"), "selected_model": run.selected_model,
        }  # fmt: skip
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
                    {"classification": "clf", "clustering": "clu"}.get(r["task"], "reg"),
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
    if r.task == "clustering":
        facts = {
            "run id": r.run_id, "created": m["created_at"], "task": "clustering (no target)",
            "dataset": f"{m['dataset']['path'] or '(DataFrame)'} (sha256 {m['dataset']['sha256'][:12]}…, {m['dataset']['rows_used']} rows)",
            "model": s["selected_model"], "silhouette": fmt(s["cv"]),
            "report": str(r.layout.report), "model card": str(r.layout.model_card),
            "model file": f"{r.layout.model} (sha256 {m['model']['sha256'][:12]}…)",
        }  # fmt: skip
        out().print(kv_table(f"Run {r.run_id}", facts))
        return
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


@app.command("compare")
@handle_errors
def compare_runs(
    runs: Annotated[
        list[str],
        typer.Argument(
            metavar="RUN...",
            help="Two or more runs: latest, run ids (or unique prefixes), or run directories. "
            "The first is the base the others are compared with.",
        ),
    ],
    models_dir: ModelsDirOption = Path("models"),
    out_dir: Annotated[
        Path, typer.Option("--out", help="Directory for compare.json and compare.html.")
    ] = Path("comparison"),
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the comparison as JSON instead of tables.")
    ] = False,
) -> None:
    """Metrics side by side, with paired difference intervals when the runs were evaluated
    on the same rows; configuration and column-role differences; the leaderboards."""
    from groupwise.report._compare import compare_runs as compare
    from groupwise.report._compare import write_comparison
    from groupwise.runs import load_run

    check_out_dir(out_dir, "the comparison")
    loaded = [load_run(r, models_dir) for r in runs]
    for r in loaded:
        r.require_supervised("'groupwise runs compare'")
    doc = compare(loaded)
    paths = write_comparison(doc, out_dir)
    if json_output:
        typer.echo(json.dumps(doc, indent=2))
        return
    ids = [r["run_id"] for r in doc["runs"]]
    short = [i[-6:] for i in ids]
    out().print(
        frame_table(
            "Runs",
            ["", "run id", "model", "evaluation", "data sha256", "paired with the base"],
            [
                [
                    short[k],
                    r["run_id"],
                    r["selected_model"],
                    f"{r['scheme']}: {r['evaluation_rows']} rows"
                    + (f", {r['evaluation_groups']} groups" if r["evaluation_groups"] else ""),
                    r["dataset_sha256"][:12] + "…",
                    "base"
                    if k == 0
                    else ("yes" if r["paired_with_base"] else "no: " + r["pairing"]),
                ]
                for k, r in enumerate(doc["runs"])
            ],
            no_wrap=["run id"],
        )
    )
    rows = []
    for m in doc["metrics"]:
        cells = [m["metric"] + (" *" if m["metric"] == doc["primary_metric"] else "")]
        cells += [f"{fmt(v.get('estimate'))} [{fmt(v.get('ci_low'))}, {fmt(v.get('ci_high'))}]"
                  for v in m["runs"]]  # fmt: skip
        for d in m["differences"]:
            if d["paired"]:
                flag = " [bold]≠0[/]" if d["significant"] else ""
                cells.append(
                    f"{fmt(d['estimate'])} [{fmt(d['ci_low'])}, {fmt(d['ci_high'])}]{flag}"
                )
            else:
                cells.append(f"{fmt(d['estimate'])} (unpaired)")
        rows.append(cells)
    out().print(
        frame_table(
            "Metrics: estimate [95% interval]; Δ = run − base (* primary metric)",
            ["metric", *short, *[f"Δ {s}" for s in short[1:]]],
            rows,
        )
    )
    diffs = [(f"spec.{d['key']}", d["values"]) for d in doc["spec_diff"]] + [
        (d["key"], d["values"]) for d in doc["config_diff"]
    ]
    if diffs:
        out().print(
            frame_table(
                "Settings that differ",
                ["setting", *short],
                [[k, *[escape(json.dumps(v)) for v in values]] for k, values in diffs],
            )
        )
    else:
        out().print("Same configuration and column roles.")
    out().print(f"wrote [bold]{paths['html']}[/] and {paths['json']}")
