"""``groupwise generate``: a synthetic table with known truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from groupwise.cli._common import err, frame_table, handle_errors, kv_table, out

_FLAG_FIELDS = (
    "n_samples", "n_informative", "n_pseudo", "n_noise", "n_classes", "class_sep", "weights",
    "signal_geometry", "n_batches", "batch_sd", "batch_effect", "batch_slope_sd", "confounding",
    "affected", "n_subjects", "subject_sd", "missing_rate", "missing_mechanism",
    "n_categorical", "categorical_levels", "label_noise", "task", "noise_sd", "dtype",
    "feature_naming", "leak_target_proxy", "leak_id_column", "leak_duplicates",
    "leak_time_column",
)  # fmt: skip


def meta_path_for(table: Path) -> Path:
    """``data/table.parquet`` → ``data/table.meta.json``."""
    name = table.name
    for ext in (".csv.gz", ".parquet", ".pq", ".csv", ".tsv"):
        if name.lower().endswith(ext):
            return table.with_name(name[: -len(ext)] + ".meta.json")
    return table.with_name(name + ".meta.json")


def _split_list(value: str | None, convert=str):
    if value is None:
        return None
    return [convert(v.strip()) for v in value.split(",") if v.strip()]


@handle_errors
def generate(
    out_path: Annotated[
        Path, typer.Argument(metavar="OUT", help="Output table (.parquet or .csv).")
    ],
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML or YAML file with DatasetConfig fields.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (random_state).")] = None,
    n_samples: Annotated[int | None, typer.Option(help="Rows.")] = None,
    n_informative: Annotated[int | None, typer.Option(help="Informative features.")] = None,
    n_pseudo: Annotated[int | None, typer.Option(help="Pseudo-class distractors.")] = None,
    n_noise: Annotated[int | None, typer.Option(help="Pure noise features.")] = None,
    n_classes: Annotated[int | None, typer.Option(help="Classes (classification).")] = None,
    class_sep: Annotated[
        float | None, typer.Option(help="Signal strength (Mahalanobis distance).")
    ] = None,
    weights: Annotated[
        str | None, typer.Option(help="Class proportions, e.g. '0.85,0.15'.")
    ] = None,
    signal_geometry: Annotated[
        str | None, typer.Option(help="alternating | same_sign | random.")
    ] = None,
    n_batches: Annotated[int | None, typer.Option(help="Batches (column 'batch').")] = None,
    batch_sd: Annotated[float | None, typer.Option(help="SD of batch intercepts.")] = None,
    batch_effect: Annotated[str | None, typer.Option(help="scalar | per_feature.")] = None,
    batch_slope_sd: Annotated[float | None, typer.Option(help="SD of log batch scale.")] = None,
    confounding: Annotated[
        float | None, typer.Option(help="Batch × class confounding in [0, 1].")
    ] = None,
    affected: Annotated[
        str | None, typer.Option(help="all | informative | comma-separated names.")
    ] = None,
    n_subjects: Annotated[int | None, typer.Option(help="Subjects with repeated measures.")] = None,
    subject_sd: Annotated[float | None, typer.Option(help="SD of subject intercepts.")] = None,
    missing_rate: Annotated[float | None, typer.Option(help="Share of missing cells.")] = None,
    missing_mechanism: Annotated[str | None, typer.Option(help="MCAR | MAR | MNAR.")] = None,
    n_categorical: Annotated[int | None, typer.Option(help="Categorical features.")] = None,
    categorical_levels: Annotated[int | None, typer.Option(help="Levels per categorical.")] = None,
    label_noise: Annotated[float | None, typer.Option(help="Share of flipped labels.")] = None,
    task: Annotated[str | None, typer.Option(help="classification | regression.")] = None,
    noise_sd: Annotated[float | None, typer.Option(help="Regression residual SD.")] = None,
    dtype: Annotated[str | None, typer.Option(help="float64 | float32.")] = None,
    feature_naming: Annotated[str | None, typer.Option(help="prefixed | simple.")] = None,
    leak_target_proxy: Annotated[
        bool | None, typer.Option(help="Plant a target proxy column.")
    ] = None,
    leak_id_column: Annotated[
        bool | None, typer.Option(help="Plant an ID assigned in target order.")
    ] = None,
    leak_duplicates: Annotated[float | None, typer.Option(help="Share of duplicated rows.")] = None,
    leak_time_column: Annotated[
        bool | None, typer.Option(help="Plant a date the target drifts along.")
    ] = None,
) -> None:
    """Generate a synthetic table with known truth and write OUT plus OUT.meta.json.

    Settings come from the defaults, then --config, then the flags given here.
    """
    from groupwise.datasets import DatasetConfig, generate_dataset, summarize_dataset
    from groupwise.io import table_format, write_json, write_table

    table_format(out_path)  # fail on a bad extension before any work
    values = dict(locals())
    fields = DatasetConfig.from_file(config).to_dict() if config else {}
    for name in _FLAG_FIELDS:
        v = values[name]
        if v is None:
            continue
        if name == "weights":
            v = _split_list(v, float)
        elif name == "affected" and v not in ("all", "informative"):
            v = _split_list(v)
        fields[name] = v
    if seed is not None:
        fields["random_state"] = seed
    cfg = DatasetConfig.from_dict(fields)
    with err().status("Generating...", spinner="dots") if err().is_terminal else _nullcontext():
        X, y, meta = generate_dataset(cfg)
        if "y" in X.columns:  # cannot happen with generated names; guard the contract
            raise AssertionError("generated features must not be named 'y'")
        table = X.assign(y=y)
        write_table(table, out_path)
        meta_file = meta_path_for(out_path)
        write_json(meta.to_dict(), meta_file)
    print_summary(summarize_dataset(X, y, meta))
    out().print(f"wrote [bold]{out_path}[/] and [bold]{meta_file}[/]")


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def print_summary(summary: dict) -> None:
    """Render :func:`groupwise.datasets.summarize_dataset` output."""
    console = out()
    head = {
        "rows": summary["rows"],
        "columns": summary["columns"],
        "task": summary["task"],
        "features": summary["features"],
    }
    if summary["class_counts"]:
        head["classes"] = summary["class_counts"]
    head["missing cells"] = f"{summary['missing_share']:.1%}"
    if summary["leaks"]:
        head["planted leaks"] = ", ".join(f"{k} ({v})" for k, v in summary["leaks"].items())
    if summary["duplicate_rows"]:
        head["duplicated rows"] = summary["duplicate_rows"]
    if "subjects" in summary:
        head["subjects"] = (
            f"{summary['subjects']['n']} (~{summary['subjects']['rows_per_subject']:.1f} rows each)"
        )
    console.print(kv_table("Generated table", head))
    if "batches" in summary:
        b = summary["batches"]
        classes = sorted({k for row in b["by_class"].values() for k in row})
        rows = [[batch, *(row.get(k, 0) for k in classes)] for batch, row in b["by_class"].items()]
        console.print(
            frame_table(
                f"Batch × target (Cramér's V = {b['cramers_v']:.2f})",
                ["batch", *[f"y={k}" for k in classes]],
                rows,
            )
        )
