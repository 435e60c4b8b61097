"""``groupwise demo``: the main job on embedded synthetic data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from groupwise.cli._common import handle_errors, out

#: The demo table: grouped, with batch × class confounding and a little missingness.
DEMO_CONFIG = dict(
    n_samples=1200,
    n_informative=8,
    n_pseudo=2,
    n_noise=6,
    class_sep=1.6,
    n_batches=6,
    batch_sd=1.2,
    confounding=0.5,
    missing_rate=0.03,
    n_categorical=2,
    random_state=7,
)


@handle_errors
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Working directory for the demo's files.")
    ] = Path("groupwise-demo"),
) -> None:
    """Generate a grouped, confounded table and summarise it."""
    from groupwise.cli.generate import print_summary
    from groupwise.datasets import DatasetConfig, generate_dataset, summarize_dataset
    from groupwise.io import write_json, write_table

    directory.mkdir(parents=True, exist_ok=True)
    X, y, meta = generate_dataset(DatasetConfig(**DEMO_CONFIG))
    table_path = directory / "train.parquet"
    write_table(X.assign(y=y), table_path)
    write_json(meta.to_dict(), directory / "train.meta.json")
    print_summary(summarize_dataset(X, y, meta))
    out().print(f"wrote [bold]{table_path}[/]")
