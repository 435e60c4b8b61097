"""``groupwise report``: re-render report.html and model_card.md from a run's files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from groupwise.cli._common import handle_errors, out


@handle_errors
def report(
    run: Annotated[
        str, typer.Option("--run", help="latest, a run id (or unique prefix), or a run directory.")
    ] = "latest",
    models_dir: Annotated[Path, typer.Option(help="Where runs live.")] = Path("models"),
) -> None:
    """Redraw the plots and re-render the HTML report and the model card of a run."""
    from groupwise.report import render_run
    from groupwise.runs import load_run

    written = render_run(load_run(run, models_dir), plots=True)
    out().print(
        f"report:     [bold]{written['report']}[/]\nmodel card: [bold]{written['model_card']}[/]"
    )
