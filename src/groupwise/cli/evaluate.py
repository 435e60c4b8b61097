"""``groupwise evaluate``: realised performance on newly labelled data, next to the promise."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from groupwise.cli._common import (
    ModelsDirOption,
    OnBadValuesOption,
    RunOption,
    check_option,
    check_out_dir,
    err,
    escape,
    fmt,
    frame_table,
    handle_errors,
    out,
)

_VERDICT_STYLE = {"below": "bold red", "above": "green", "consistent": "", "no promise": "dim", "no interval": "dim"}  # fmt: skip


def _interval(d: dict | None) -> str:
    if not d:
        return "—"
    return f"{fmt(d.get('estimate'))} [{fmt(d.get('ci_low'))}, {fmt(d.get('ci_high'))}]"


@handle_errors
def evaluate(
    labelled: Annotated[
        Path,
        typer.Argument(metavar="LABELLED", help="New rows with their labels (.parquet or .csv)."),
    ],
    run: RunOption = "latest",
    models_dir: ModelsDirOption = Path("models"),
    by: Annotated[
        str | None,
        typer.Option(
            metavar="COL",
            help="Column of groups for the intervals and the per-group table (default: the "
            "run's group column when the table has it).",
        ),
    ] = None,
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out", metavar="DIR", help="Where evaluation.json, .md and evaluation_groups.csv go."
        ),
    ] = Path("evaluation"),
    fail_on: Annotated[
        str,
        typer.Option(
            metavar="below|never",
            help="below: exit 1 when the primary metric's interval lies entirely below the "
            "run's promise.",
        ),
    ] = "never",
    on_bad_values: OnBadValuesOption = "error",
) -> None:
    """Score LABELLED with the run's model and compare the realised performance with
    what the run promised: overall with intervals, and per group.

    The rows are validated like predict's input, the target allowed. Metrics are the
    training ones at the shipped threshold. Exit codes: 0 done; 1 below the promise with
    --fail-on below; 2 bad input or run.
    """
    from groupwise.io import atomic_path, check_outputs, json_bytes, read_table, table_format
    from groupwise.monitor import evaluate_labelled
    from groupwise.runs import load_run

    check_option("--fail-on", fail_on, ("below", "never"))
    check_option("--on-bad-values", on_bad_values, ("error", "null"))
    check_out_dir(out_dir, "the evaluation files")
    files = {
        "the evaluation": out_dir / "evaluation.json",
        "the Markdown summary": out_dir / "evaluation.md",
        "the per-group table": out_dir / "evaluation_groups.csv",
    }
    check_outputs({"to evaluate": labelled}, files)
    r = load_run(run, models_dir)
    r.require_supervised("'groupwise evaluate'")
    _ = r.pipeline  # verify the model before reading the table
    df = read_table(labelled, dtype=str if table_format(labelled) != "parquet" else None)
    try:
        result = evaluate_labelled(r, df, by=by, on_bad_values=on_bad_values)
    except Exception as exc:
        from groupwise.exceptions import SchemaViolationError

        if isinstance(exc, SchemaViolationError) and exc.violations is not None:
            from groupwise.cli.predict import _print_violations

            _print_violations(exc.violations)
        raise
    text = to_markdown(result)
    with (
        atomic_path(files["the evaluation"]) as tj,
        atomic_path(files["the Markdown summary"]) as tm,
        atomic_path(files["the per-group table"]) as tc,
    ):
        tj.write_bytes(json_bytes(result.to_dict()))
        tm.write_text(text, encoding="utf-8")
        result.per_group.to_csv(tc, index=False)
    print_evaluation(result)
    out().print(f"wrote {files['the evaluation']}, evaluation.md and evaluation_groups.csv")
    if fail_on == "below" and result.below_promise:
        err().print(
            f"[bold red]evaluate failed:[/] {result.metric} is below what run {result.run_id} "
            "promised (the intervals do not overlap)."
        )
        raise typer.Exit(1)


def _rows(result) -> list[list[str]]:
    return [
        [name, _interval(result.realised[name]), _interval(result.promised.get(name)), result.verdicts[name]]
        for name in result.realised
    ]  # fmt: skip


def print_evaluation(result) -> None:
    console = out()
    unit = f"{result.groups} groups of {result.by!r}" if result.by else "rows (no groups)"
    at = f" at threshold {result.threshold:.3f}" if result.threshold is not None else ""
    console.print(
        f"[bold]Evaluation[/] of run {result.run_id} on {result.rows} labelled rows, {unit}{at}"
    )
    rows = []
    for name, real, prom, verdict in _rows(result):
        style = _VERDICT_STYLE.get(verdict, "")
        shown = f"[{style}]{verdict}[/]" if style else verdict
        rows.append([f"[bold]{name}[/]" if name == result.metric else name, real, prom, shown])
    console.print(
        frame_table(
            None,
            ["metric", "realised [95% CI]", "promised [95% CI]", "verdict"],
            rows,
            no_wrap=["metric"],
        )  # fmt: skip
    )
    if len(result.per_group):
        worst = result.per_group.head(10)
        cols = [c for c in worst.columns]
        console.print(
            frame_table(
                f"Per group (worst {len(worst)} of {result.groups} by {result.metric})",
                cols, [[escape(str(v)) if c == "group" else v for c, v in zip(cols, row, strict=True)] for row in worst.itertuples(index=False)],
            )
        )  # fmt: skip
    console.print(f"[dim]intervals: {result.method}[/]")
    for w in result.warnings:
        err().print(f"[yellow]warning:[/] {escape(w)}")


def to_markdown(result) -> str:
    lines = [
        f"# Evaluation of run {result.run_id}",
        "",
        f"{result.rows} labelled rows"
        + (f" ({result.rows_without_label} without a label, not evaluated)" if result.rows_without_label else "")
        + (f"; {result.groups} groups of `{result.by}`" if result.by else "; rows treated as independent")
        + (f"; threshold {result.threshold:.4f}" if result.threshold is not None else "")
        + ".",
        "",
        "| metric | realised [95% CI] | promised [95% CI] | verdict |",
        "|---|---|---|---|",
    ]  # fmt: skip
    lines += [f"| {n} | {a} | {b} | {v} |" for n, a, b, v in _rows(result)]
    lines += [
        "",
        f"Intervals: {result.method}. Promised: the run's headline estimate and interval.",
    ]
    if result.warnings:
        lines += [""] + [f"- warning: {w}" for w in result.warnings]
    if len(result.per_group):
        cols = list(result.per_group.columns)
        lines += ["", f"## Per group (worst first by {result.metric})", "",
                  "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]  # fmt: skip
        for row in result.per_group.itertuples(index=False):
            lines.append("| " + " | ".join(fmt(v) for v in row) + " |")
    return "\n".join(lines) + "\n"
