"""``groupwise monitor``: drift that does not cry wolf, and performance estimated before labels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from groupwise.cli._common import (
    ExecutorOption,
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

_STATUS_STYLE = {"alert": "bold red", "warning": "yellow", "ok": "green", "too few rows": "dim"}
#: Chunks listed on screen (the worst first); every chunk is in monitor.json and .html.
SHOWN_CHUNKS = 20


@handle_errors
def monitor(
    current: Annotated[
        list[Path],
        typer.Argument(
            metavar="CURRENT",
            help="New rows (.parquet or .csv); one chunk per file unless --by/--window.",
        ),  # fmt: skip
    ],
    run: RunOption = "latest",
    models_dir: ModelsDirOption = Path("models"),
    reference: Annotated[
        Path | None,
        typer.Option(
            metavar="TABLE",
            help="Compare with this table instead of the reference the run keeps (needed "
            "for runs trained before runs kept one).",
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            metavar="COL", help="One chunk per value of this column (e.g. the batch)."
        ),  # fmt: skip
    ] = None,
    window: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION",
            help="Chunks of this duration on the run's time column (7d, 12h, 2w).",
        ),  # fmt: skip
    ] = None,
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Where monitor.json, monitor.html and monitor_features.csv go.",
        ),  # fmt: skip
    ] = Path("monitoring"),
    fail_on: Annotated[
        str,
        typer.Option(
            metavar="alert|warning|never", help="Exit 1 when a chunk's status is at or above this."
        ),  # fmt: skip
    ] = "alert",
    alpha: Annotated[
        float,
        typer.Option(
            help="False-discovery rate across features, and the level of the output and multivariate tests."
        ),  # fmt: skip
    ] = 0.05,
    on_bad_values: OnBadValuesOption = "error",
    seed: Annotated[int, typer.Option(help="Seed of the no-drift simulations.")] = 0,
    executor: ExecutorOption = "local",
) -> None:
    """Compare CURRENT with the run's training data chunk by chunk: drift per feature, of
    the model's output and of the rows as a whole, with thresholds calibrated on the
    training data's own variation (between its groups too); data quality; performance
    estimated without labels (and measured when the target is present).

    Exit codes: 0 done; 1 a chunk at or above --fail-on; 2 bad input or run.
    """
    from groupwise._parallel import check_executor, make_executor
    from groupwise.cli._progress import RichProgress
    from groupwise.exceptions import SchemaViolationError
    from groupwise.io import atomic_path, check_outputs, json_bytes, read_table, table_format
    from groupwise.monitor import monitor_frames
    from groupwise.monitor._html import render_html
    from groupwise.monitor._monitor import reference_from_table
    from groupwise.runs import load_run

    check_option("--fail-on", fail_on, ("alert", "warning", "never"))
    check_executor(executor)
    check_option("--on-bad-values", on_bad_values, ("error", "null"))
    check_out_dir(out_dir, "the monitoring files")
    files = {
        "the monitoring result": out_dir / "monitor.json",
        "the monitoring page": out_dir / "monitor.html",
        "the per-feature table": out_dir / "monitor_features.csv",
    }
    inputs = {f"to monitor ({p})": p for p in current}
    if reference is not None:
        inputs["as the reference"] = reference
    check_outputs(inputs, files)
    r = load_run(run, models_dir)
    r.require_supervised("'groupwise monitor'")
    _ = r.pipeline  # verify the model before reading any table

    def read(path: Path):
        return read_table(path, dtype=str if table_format(path) != "parquet" else None)

    try:
        ref = None
        if reference is not None:
            ref = reference_from_table(r, read(reference), on_bad_values=on_bad_values, seed=seed)
        frames = [(p.stem, read(p)) for p in current]
        pool = None if executor == "local" else make_executor(executor)
        try:
            result = monitor_frames(r, frames, by=by, window=window, reference=ref, alpha=alpha,
                                    on_bad_values=on_bad_values, seed=seed, progress=RichProgress(),
                                    executor=pool)  # fmt: skip
        finally:
            if pool is not None:
                pool.close()
    except SchemaViolationError as exc:
        if exc.violations is not None:
            from groupwise.cli.predict import _print_violations

            _print_violations(exc.violations)
        raise
    import pandas as pd

    features = pd.concat(
        [c.features.assign(chunk=c.chunk)[["chunk", *c.features.columns]] for c in result.chunks if len(c.features)],
        ignore_index=True,
    ) if any(len(c.features) for c in result.chunks) else pd.DataFrame({"chunk": []})  # fmt: skip
    html = render_html(result)
    with (
        atomic_path(files["the monitoring result"]) as tj,
        atomic_path(files["the monitoring page"]) as th,
        atomic_path(files["the per-feature table"]) as tc,
    ):
        tj.write_bytes(json_bytes(result.to_dict()))
        th.write_text(html, encoding="utf-8")
        features.to_csv(tc, index=False)
    print_monitor(result)
    out().print(f"wrote {files['the monitoring result']}, monitor.html and monitor_features.csv")
    code = result.exit_code(fail_on)
    if code:
        err().print(
            f"[bold red]monitor failed:[/] status {result.status} is at or above --fail-on {fail_on}."
        )
        raise typer.Exit(code)


def _status(s: str) -> str:
    style = _STATUS_STYLE.get(s)
    return f"[{style}]{s}[/]" if style else s


def print_monitor(result) -> None:
    from groupwise.monitor._monitor import STATUS_ORDER

    console = out()
    ref = result.reference
    grouped = f", {ref['groups']} groups of {ref['group_col']!r}" if ref.get("group_col") else ""
    console.print(
        f"[bold]Monitoring[/] run {result.run_id}: {len(result.chunks)} chunk(s), {result.chunking}; "
        f"reference {ref['rows']} training rows{grouped} · status {_status(result.status)}"
    )
    m = result.metric
    worst = sorted(result.chunks, key=lambda c: -STATUS_ORDER.get(c.status, 0))[:SHOWN_CHUNKS]
    rows = []
    for c in worst:
        drifted = c.drifted
        rows.append([
            escape(c.chunk), c.rows, _status(c.status),
            f"{len(drifted)}" + (f" ({escape(', '.join(drifted[:3]))}{' …' if len(drifted) > 3 else ''})" if drifted else ""),
            "—" if not c.output else ("drifted" if c.output["drifted"] else "stable"),
            "—" if not c.multivariate else ("drifted" if c.multivariate["drifted"] else "stable"),
            c.estimated.get(m), c.realised.get(m),
        ])  # fmt: skip
    console.print(
        frame_table(
            None
            if len(result.chunks) <= SHOWN_CHUNKS
            else f"The {SHOWN_CHUNKS} worst of {len(result.chunks)} chunks",  # fmt: skip
            [
                "chunk",
                "rows",
                "status",
                "drifted features",
                "output",
                "rows as a whole",
                f"est. {m}",
                f"measured {m}",
            ],  # fmt: skip
            rows,
            no_wrap=["status"],
        )
    )
    p = result.promised.get(m)
    if p:
        console.print(
            f"[dim]promised {m}: {fmt(p['estimate'])} [{fmt(p['ci_low'])}, {fmt(p['ci_high'])}][/]"
        )
    for c in worst:
        if c.status in ("alert", "warning"):
            err().print(f"[{_STATUS_STYLE[c.status]}]{c.status}:[/] {escape(c.chunk)}: {escape('; '.join(c.reasons))}")  # fmt: skip
    for n in result.notes:
        console.print(f"[dim]note: {escape(n)}[/]")
