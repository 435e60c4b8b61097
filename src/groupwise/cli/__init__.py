"""The ``groupwise`` command line (Typer). One module per command; thin over the library."""

from __future__ import annotations

from typing import Annotated

import typer

from groupwise._version import __version__
from groupwise.cli import audit as _audit
from groupwise.cli import cluster as _cluster
from groupwise.cli import demo as _demo
from groupwise.cli import evaluate as _evaluate
from groupwise.cli import generate as _generate
from groupwise.cli import monitor as _monitor
from groupwise.cli import predict as _predict
from groupwise.cli import report as _report
from groupwise.cli import runs as _runs
from groupwise.cli import serve as _serve
from groupwise.cli import train as _train
from groupwise.cli._common import configure_logging, install_signal_handlers


def _flags_show_no_value_type() -> None:
    """Help lists ``--audit/--no-audit`` and ``--help`` without a ``<bool>`` value column:
    a flag takes no value. (Typer prints the annotation's type for every option.)"""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "_groupwise", False):
        return

    def display_type_rich(self, ctx):
        if getattr(self, "is_flag", False) and self.metavar is None:
            return None
        return shown(self, ctx)

    display_type_rich._groupwise = True
    TyperOption.display_type_rich = display_type_rich


def _option_names_never_truncated() -> None:
    """Help at 80 columns shows every option name whole (``--no-learning-curve``, not
    ``--no-learning-cur…``): a flag's negative form goes under its positive one instead of
    into a column of its own, the name and type columns keep their width, and the help text
    wraps (long words fold). (Typer's tables let rich shorten any column.)"""
    import typer.rich_utils as rich_utils
    from rich.text import Text

    base = rich_utils.Table
    if getattr(base, "_groupwise", False):
        return

    class HelpTable(base):
        _groupwise = True

        def add_row(self, *renderables, **kwargs):
            cells = list(renderables)
            if len(cells) in (6, 7):  # an options row: [required], long, short, --no-long, ...
                first = len(cells) - 6
                positive, negative = cells[first], cells[first + 2]
                if isinstance(positive, Text) and isinstance(negative, Text) and negative.plain:
                    cells[first] = Text.assemble(positive, "\n", negative)
                    cells[first + 2] = Text("")
            super().add_row(*cells, **kwargs)
            for column in self.columns[:-1]:
                column.no_wrap = True
            self.columns[-1].overflow = "fold"

    rich_utils.Table = HelpTable


_flags_show_no_value_type()
_option_names_never_truncated()

app = typer.Typer(
    name="groupwise",
    help="Honest, ship-ready models for grouped and temporal tabular data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"groupwise {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log output (-vv for debug).")
    ] = 0,
) -> None:
    configure_logging(verbose)


app.command("generate")(_generate.generate)
app.command("audit")(_audit.audit)
app.command("train")(_train.train)
app.command("cluster")(_cluster.cluster)
app.command("report")(_report.report)
app.command("predict")(_predict.predict)
app.command("skew-check")(_predict.skew_check)
app.command("serve")(_serve.serve)
app.command("evaluate")(_evaluate.evaluate)
app.command("monitor")(_monitor.monitor)
app.add_typer(_runs.app, name="runs")
app.command("demo")(_demo.demo)


def main() -> None:
    """Console-script entry point."""
    install_signal_handlers()
    app()
