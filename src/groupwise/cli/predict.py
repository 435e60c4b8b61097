"""``groupwise predict`` and ``groupwise skew-check``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from groupwise.cli._common import (
    ExecutorOption,
    ModelsDirOption,
    RunOption,
    check_option,
    err,
    escape,
    frame_table,
    handle_errors,
    out,
)

_LEVEL_STYLE = {"error": "bold red", "warning": "yellow", "notice": "dim"}


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else repr(value)


def _print_violations(report) -> None:
    if not report.violations:
        return
    rows = []
    for v in report.violations:
        level = report.level_of(v)
        ex = "; ".join(f"row {e['row']}: {_short(e['value'])}" for e in v.examples[:2])
        rows.append(
            [f"[{_LEVEL_STYLE[level]}]{level}[/]", v.code, v.column or "—", v.count, escape(ex)]
        )
    err().print(frame_table("Input check", ["level", "code", "column", "count", "examples"], rows))


def _predict_dataset(r, source: str, out_dir: Path, on_bad_values: str, keep, spec: str) -> None:
    from groupwise._parallel import make_executor
    from groupwise.cli._progress import RichProgress
    from groupwise.exceptions import SchemaViolationError
    from groupwise.predict import predict_partitions

    group = r.meta["spec"].get("group_col")
    if group and group not in keep:
        keep.append(group)  # copied whenever a partition has it
    t0 = time.perf_counter()
    executor = make_executor(spec)
    try:
        result = predict_partitions(
            r.predictor, source, out_dir, executor=executor, on_bad_values=on_bad_values,
            keep=keep, progress=RichProgress(), run_id=r.run_id,
        )  # fmt: skip
    except SchemaViolationError as exc:
        if exc.violations is not None:
            _print_violations(exc.violations)
        raise
    finally:
        executor.close()
    _print_violations(result["report"])
    m = result["manifest"]
    elapsed = time.perf_counter() - t0
    out().print(
        f"predicted {m['rows']} rows in {len(m['partitions'])} partitions with run {r.run_id} "
        f"in {elapsed:.1f} s ({m['rows'] / max(elapsed, 1e-9):,.0f} rows/s, executor {spec})"
    )
    out().print(f"wrote [bold]{out_dir}[/] (manifest: {result['path']})")


@handle_errors
def predict(
    input_path: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT",
            help="Rows to score (.parquet or .csv), or a partitioned Parquet dataset: a "
            "directory (hive key=value subdirectories allowed) or a quoted glob.",
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Output file (.parquet or .csv); a directory for a dataset."
        ),
    ],
    run: RunOption = "latest",
    models_dir: ModelsDirOption = Path("models"),
    chunk_rows: Annotated[
        int, typer.Option(help="Rows per chunk (memory stays proportional to it).", min=1)
    ] = 100_000,
    on_bad_values: Annotated[
        str,
        typer.Option(
            help="error: refuse values that cannot be read; null: predict them as missing."
        ),
    ] = "error",
    keep: Annotated[
        list[str] | None,
        typer.Option(
            "--keep",
            metavar="COL",
            help="Input column to copy to the output after the ids (repeatable). The run's "
            "group column is copied whenever the input has it.",
        ),
    ] = None,
    explain: Annotated[
        int,
        typer.Option(
            "--explain",
            metavar="K",
            min=0,
            help="Add each row's K largest SHAP contributions (explain_<i>_feature, "
            "explain_<i>_contribution; needs the [shap] extra for tree and linear models).",
        ),
    ] = 0,
    executor: ExecutorOption = "local",
) -> None:
    """Validate INPUT against the run's schema, then predict it chunk by chunk into --out.

    Nothing is written unless the whole input passes; violations are listed on screen
    and in OUTPUT.violations.csv. Exit codes: 0 success; 2 bad input or run.
    """
    from groupwise.cli._progress import RichProgress
    from groupwise.exceptions import SchemaViolationError
    from groupwise.runs import load_run

    check_option("--on-bad-values", on_bad_values, ("error", "null"))
    r = load_run(run, models_dir)
    _ = r.pipeline  # verify the model file before reading any input
    text = str(input_path)
    if input_path.is_dir() or any(ch in text for ch in "*?["):
        if explain:
            from groupwise.exceptions import ConfigError

            raise ConfigError("--explain works on a single input file, not on a dataset.")
        return _predict_dataset(r, text, output, on_bad_values, list(keep or []), executor)
    if executor != "local":
        from groupwise.exceptions import ConfigError

        raise ConfigError(
            f"--executor {executor} spreads a partitioned dataset (a directory or a glob of "
            "Parquet files) over workers; a single file is streamed here. Drop --executor, or "
            "give the dataset."
        )
    augment = r.explain_columns(explain) if explain else None
    passed = list(keep or [])
    group = r.meta["spec"].get("group_col")
    if group and group not in passed:
        from groupwise.io import table_columns

        if group in table_columns(input_path):
            passed.append(group)  # evaluate and monitor read predictions per group
    t0 = time.perf_counter()
    try:
        result = r.predictor.predict_file(
            input_path,
            output,
            chunk_rows=chunk_rows,
            on_bad_values=on_bad_values,
            keep=passed,
            progress=RichProgress(),
            augment=augment,
        )
    except SchemaViolationError as exc:
        if exc.violations is not None:
            _print_violations(exc.violations)
        raise
    _print_violations(result["report"])
    elapsed = time.perf_counter() - t0
    rate = result["rows"] / elapsed if elapsed > 0 else float("inf")
    out().print(
        f"predicted {result['rows']} rows with run {r.run_id} in {elapsed:.1f} s ({rate:,.0f} rows/s)"
    )
    out().print(
        f"wrote [bold]{output}[/]"
        + (f" (violations: {result['violations']})" if result["violations"] else "")
    )


@handle_errors
def skew_check(
    run: RunOption = "latest",
    models_dir: ModelsDirOption = Path("models"),
    tolerance: Annotated[float, typer.Option(help="Largest allowed score difference.")] = 1e-9,
) -> None:
    """Predict the run's holdout input through the serving path and compare with training.

    Exit codes: 0 identical; 1 labels or scores differ (a diff summary is printed); 2 bad run.
    """
    from groupwise.predict import skew_check as check
    from groupwise.runs import load_run

    r = load_run(run, models_dir)
    r.require_supervised("'groupwise skew-check'")
    result = check(r, tolerance=tolerance)
    if result["ok"]:
        worst = max(result["max_abs_diff"].values(), default=0.0)
        out().print(
            f"[green]skew-check passed[/]: {result['rows']} rows, labels equal, largest score difference {worst:.2e} (≤ {tolerance:g})."
        )
        return
    if "reason" in result:
        err().print(f"[bold red]skew-check failed:[/] {result['reason']}.")
        raise typer.Exit(1)
    err().print(
        f"[bold red]skew-check failed:[/] {result['rows_differing']} of {result['rows']} rows differ "
        f"({result['label_mismatches']} label mismatch(es))."
    )
    rows = [[c, f"{d:.3g}"] for c, d in result["max_abs_diff"].items()]
    err().print(
        frame_table("largest difference per column", ["column", "max |served − recorded|"], rows)
    )
    for ex in result["examples"]:
        err().print("  " + ", ".join(f"{k}={v}" for k, v in ex.items()))
    err().print(
        "The serving path does not reproduce training: check the input dtypes, the library versions (env/env_meta.json) and the model file."
    )
    raise typer.Exit(1)
