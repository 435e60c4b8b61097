"""``groupwise report``: re-render report.html and model_card.md from a run's files."""

from __future__ import annotations

from pathlib import Path

from groupwise.cli._common import ModelsDirOption, RunOption, handle_errors, out


@handle_errors
def report(
    run: RunOption = "latest",
    models_dir: ModelsDirOption = Path("models"),
) -> None:
    """Redraw the plots and re-render the HTML report and the model card of a run."""
    from groupwise.report import render_cluster_report, render_run
    from groupwise.runs import load_run

    r = load_run(run, models_dir)
    written = render_cluster_report(r.path) if r.task == "clustering" else render_run(r, plots=True)
    out().print(
        f"report:     [bold]{written['report']}[/]\nmodel card: [bold]{written['model_card']}[/]"
    )
