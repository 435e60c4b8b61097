"""Shared pieces of the command line: consoles, the error boundary, rendering helpers."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import traceback
import typing
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from groupwise._format import fmt
from groupwise.exceptions import GroupwiseError, GroupwiseWarning, environment_errno

__all__ = ["EXIT_BUG", "err", "fmt", "frame_table", "handle_errors", "kv_table", "out"]

#: Exit code for an unexpected exception (a bug): EX_SOFTWARE from sysexits.h.
EXIT_BUG = 70

_out: Console | None = None
_err: Console | None = None


def out() -> Console:
    """Console for results (stdout)."""
    global _out
    if _out is None or _out.file is not sys.stdout:
        _out = Console(file=sys.stdout, highlight=False, soft_wrap=False)
    return _out


def err() -> Console:
    """Console for errors, warnings and progress (stderr)."""
    global _err
    if _err is None or _err.file is not sys.stderr:
        _err = Console(file=sys.stderr, highlight=False)
    return _err


def _show_warning(message, category, filename, lineno, file=None, line=None):
    if issubclass(category, GroupwiseWarning):
        err().print(f"[yellow]warning:[/] {message}", markup=True, highlight=False)
    else:
        logging.getLogger("groupwise").debug("%s: %s", category.__name__, message)


@contextlib.contextmanager
def _cli_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("always", GroupwiseWarning)
        warnings.showwarning = _show_warning
        yield


def handle_errors(fn: Callable) -> Callable:
    """Turn groupwise errors into a short message on stderr and the documented exit code.

    - :class:`~groupwise.exceptions.GroupwiseError`: message, exit 2 (no traceback).
    - ``KeyboardInterrupt``: exit 130.
    - anything else is a bug: traceback and exit 70.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with _cli_warnings():
                return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except GroupwiseError as exc:
            err().print(f"[bold red]error:[/] {escape(str(exc))}", markup=True)
            raise typer.Exit(exc.exit_code) from None
        except Terminated as exc:
            err().print(f"terminated by {exc.name}; nothing half-written was left behind")
            raise typer.Exit(128 + exc.signum) from None
        except KeyboardInterrupt:
            signum = _RECEIVED.get("signum")
            if signum is not None:  # a library re-raised our Terminated as a bare interrupt
                err().print(f"terminated by {_signal_name(signum)}; nothing half-written was left behind")  # fmt: skip
                raise typer.Exit(128 + signum) from None
            err().print("interrupted")
            raise typer.Exit(130) from None
        except OSError as exc:
            if environment_errno(exc) is None:
                _bug()
            where = f" ({exc.filename!r})" if exc.filename else ""
            err().print(
                f"[bold red]error:[/] the system refused a file operation{escape(where)}: "
                f"{escape(exc.strerror or str(exc))}. Check the paths, the free disk space and "
                "the permissions; nothing half-written was left behind.",
                markup=True,
            )
            raise typer.Exit(2) from None
        except Exception:
            _bug()

    return wrapper


def _bug() -> typing.NoReturn:
    err().print(
        "[bold red]internal error:[/] this is a bug in groupwise, please report it "
        "with the traceback below.",
        markup=True,
    )
    print(traceback.format_exc(), file=sys.stderr)
    raise typer.Exit(EXIT_BUG) from None


#: The SIGTERM/SIGHUP received, kept in case a library turns Terminated into a plain interrupt.
_RECEIVED: dict[str, int] = {}


def _signal_name(signum: int) -> str:
    import signal

    return signal.Signals(signum).name


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: unwinds like Ctrl-C, so every temporary file and run
    directory is removed on the way out."""

    def __init__(self, signum: int):
        import signal

        super().__init__(signum)
        self.signum = signum
        self.name = signal.Signals(signum).name


def install_signal_handlers() -> None:
    """Handle SIGTERM and SIGHUP like SIGINT (main thread only)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum, frame):
        _RECEIVED["signum"] = signum
        raise Terminated(signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def escape(text: str) -> str:
    from rich.markup import escape as _escape

    return _escape(text)


def configure_logging(verbose: int) -> None:
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logger = logging.getLogger("groupwise")
    logger.setLevel(level)
    if not any(getattr(h, "_groupwise", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._groupwise = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


def is_interactive() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def kv_table(title: str, rows: Mapping[str, Any]) -> Table:
    """Two-column table of key → value."""
    table = Table(title=title, show_header=False, title_justify="left", box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for k, v in rows.items():
        table.add_row(str(k), fmt(v))
    return table


def frame_table(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    styles: Sequence[str | None] | None = None,
    no_wrap: Sequence[str] = (),
) -> Table:
    """A compact table from column names and row values (``no_wrap`` columns stay on one line)."""
    table = Table(title=title, title_justify="left", header_style="bold", pad_edge=False)
    for i, c in enumerate(columns):
        table.add_column(
            str(c),
            style=(styles[i] if styles else None),
            overflow="fold",
            no_wrap=str(c) in no_wrap,
        )
    for row in rows:
        table.add_row(*(fmt(v) for v in row))
    return table


# options that several commands share, declared once
RunOption = Annotated[
    str, typer.Option("--run", help="latest, a run id (or unique prefix), or a run directory.")
]
ModelsDirOption = Annotated[Path, typer.Option(help="Where runs live.")]
ExecutorOption = Annotated[
    str,
    typer.Option(
        help="local: worker processes on this machine; dask: a Dask cluster on loopback "
        "([dask] extra); dask://HOST:PORT: a running Dask scheduler."
    ),
]
OnBadValuesOption = Annotated[
    str, typer.Option(help="error: refuse values that cannot be read; null: treat them as missing.")
]


def check_option(flag: str, value: str, choices: Sequence[str]) -> None:
    """A ConfigError naming ``flag`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        from groupwise.exceptions import ConfigError

        *head, last = [repr(c) for c in choices]
        allowed = f"{', '.join(head)} or {last}" if head else last
        raise ConfigError(f"{flag} must be {allowed}. Got {value!r} instead.")


def check_out_dir(path: Path, what: str) -> None:
    """A ConfigError when ``--out`` names an existing file instead of a directory."""
    if path.exists() and not path.is_dir():
        from groupwise.exceptions import ConfigError

        raise ConfigError(
            f"--out names the directory for {what}, but {str(path)!r} is a file. Give a "
            "directory (it is created when missing)."
        )
