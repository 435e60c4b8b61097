"""``groupwise audit``: coded checks on a table before training."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from groupwise.cli._common import err, escape, frame_table, handle_errors, out
from groupwise.cli._config import (
    AcceptOption,
    ConfigOption,
    DropOption,
    GroupKindOption,
    GroupOption,
    IdOption,
    PosLabelOption,
    TargetOption,
    TaskOption,
    TimeOption,
    accepted,
    as_list,
    flag_names,
    load_options,
    merged,
    spec_from_options,
)

_OPTIONS = (
    "target",
    "id",
    "group",
    "group_kind",
    "time",
    "task",
    "pos_label",
    "drop",
    "out",
    "fail_on",
    "ignore",
    "accept",
    "sample_rows",
    "folds",
    "seed",
)
_DEFAULTS = {
    "task": "auto",
    "out": "audit",
    "fail_on": "error",
    "sample_rows": 200_000,
    "folds": 5,
    "seed": 0,
}
_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


@handle_errors
def audit(
    table: Annotated[Path, typer.Argument(help="Table to audit (.parquet or .csv).")],
    target: TargetOption = None,
    id_cols: IdOption = None,
    group: GroupOption = None,
    group_kind: GroupKindOption = None,
    time: TimeOption = None,
    task: TaskOption = None,
    pos_label: PosLabelOption = None,
    drop: DropOption = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Directory for audit.json and audit.md. \\[default: audit]"),
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            help="Exit 1 at findings of this severity or worse: error | warning | never. \\[default: error]"
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option("--ignore", metavar="CODE", help="Check code to skip (repeatable)."),
    ] = None,
    accept: AcceptOption = None,
    sample_rows: Annotated[
        int | None, typer.Option(help="Row budget of expensive checks. \\[default: 200000]")
    ] = None,
    folds: Annotated[
        int | None, typer.Option(help="CV folds training will use. \\[default: 5]")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of sampling and permutations. \\[default: 0]")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the JSON report to stdout instead of the table.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Check a table for the silent failure modes that make reported scores lie.

    Exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; 2 bad input.
    """
    from groupwise.audit import audit as run_audit
    from groupwise.cli._progress import RichProgress
    from groupwise.exceptions import ConfigError
    from groupwise.io import atomic_path, check_outputs, json_bytes, read_table, sha256_file

    opts = merged(
        {
            "target": target, "id": id_cols, "group": group, "group_kind": group_kind, "time": time, "task": task,
            "pos_label": pos_label, "drop": drop, "out": out_dir, "fail_on": fail_on,
            "ignore": ignore, "sample_rows": sample_rows, "folds": folds, "seed": seed,
        },
        config_opts := load_options(config, "audit", _OPTIONS),
        _DEFAULTS,
    )  # fmt: skip
    opts["accept"] = accepted(accept, config_opts.get("accept"))
    spec = spec_from_options(opts)
    if opts["fail_on"] not in ("error", "warning", "never"):
        raise ConfigError(
            f"--fail-on must be one of error, warning, never. Got {opts['fail_on']!r} instead."
        )
    out_path = Path(opts["out"])
    if out_path.exists() and not out_path.is_dir():
        raise ConfigError(
            f"--out names the directory for audit.json and audit.md, but {str(out_path)!r} is a "
            "file. Give a directory (it is created when missing)."
        )
    check_outputs(
        {"to audit": table},
        {"the audit report": out_path / "audit.json", "the Markdown report": out_path / "audit.md"},
    )
    df = read_table(table)
    with flag_names({"sample_rows": "--sample-rows", "folds": "--folds", "random_state": "--seed"}):
        report = run_audit(
            df,
            spec,
            ignore=as_list(opts.get("ignore"), "ignore"),
            sample_rows=opts["sample_rows"],
            folds=opts["folds"],
            random_state=opts["seed"],
            table_sha256=sha256_file(table),
            accept=opts["accept"],
            progress=RichProgress(),
        )
    # both files or neither: each is written to a temporary file, renamed only when both are
    with atomic_path(out_path / "audit.json") as tmp_json, atomic_path(out_path / "audit.md") as tmp_md:  # fmt: skip
        tmp_json.write_bytes(json_bytes(report.to_dict()))
        tmp_md.write_text(report.to_markdown(), encoding="utf-8")
    if json_output:
        typer.echo(report.to_json())
    else:
        print_report(report)
        out().print(f"wrote {out_path / 'audit.json'} and {out_path / 'audit.md'}")
    code = report.exit_code(opts["fail_on"])
    if code:
        err().print(f"[bold red]audit failed:[/] findings at or above --fail-on {opts['fail_on']}.")
    raise typer.Exit(code)


def print_report(report) -> None:
    """Compact terminal rendering of an AuditReport: findings, then one fix per code."""
    from groupwise.audit._report import evidence_text

    console = out()
    t = report.table
    console.print(
        f"[bold]Audit[/] of {t['rows']} rows × {t['columns']} columns ({report.spec['task']})"
    )
    if report.findings:
        rows = [
            [
                f"[{_STYLE[f.severity]}]{f.severity}[/]"
                if f.accepted is None
                else f"[dim]{f.severity} (accepted)[/]",
                f.code,
                escape(f.message) if f.accepted is None else f"[dim]{escape(f.message)}[/]",
                escape(evidence_text(f.evidence, 2)),
            ]
            for f in report.findings
        ]
        console.print(frame_table(None, ["severity", "code", "finding", "evidence"], rows))
        fixes = {}
        for f in report.findings:
            if f.severity != "info" and f.fix and f.accepted is None:
                fixes.setdefault(f.code, f.fix)
        if fixes:
            console.print("[bold]How to fix[/]")
            for code, fix in fixes.items():
                console.print(f"  {code}: {escape(fix)}")
    console.print(report.summary())
    if report.not_applicable:
        console.print(
            "[dim]not applicable: "
            + "; ".join(f"{d['code']} ({escape(d['reason'])})" for d in report.not_applicable)
            + "[/]"
        )
