"""``groupwise serve``."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from groupwise.cli._common import ModelsDirOption, RunOption, err, handle_errors, out


@handle_errors
def serve(
    run: RunOption = "latest",
    models_dir: ModelsDirOption = Path("models"),
    host: Annotated[
        str,
        typer.Option(
            metavar="ADDRESS",
            help="Address to listen on. The default is this machine only; 0.0.0.0 opens the "
            "server to the network (there is no authentication).",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(metavar="PORT", help="TCP port (0: any free port).", min=0, max=65535)
    ] = 8000,
    max_request_mb: Annotated[
        float,
        typer.Option(metavar="MB", help="Largest request body accepted (413 above it).", min=0.001),
    ] = 32.0,
    access_log: Annotated[
        bool, typer.Option("--access-log", help="Log every request on stderr.")
    ] = False,
) -> None:
    """Serve a run's model over HTTP: POST /predict, a predictor page at /, the report.

    Requests go through the same schema validation and prediction code as predict;
    the model is verified once at start. Needs the \\[serve] extra. Ctrl-C stops it.
    Exit codes: 0 stopped; 2 bad run, missing extra or unusable address.
    """
    from groupwise.serve import is_loopback
    from groupwise.serve import serve as run_server

    def ready(url: str, app) -> None:
        r = app.state.run
        out().print(
            f"serving run [bold]{r.run_id}[/] ({r.task}, {r.selected_model}) at [bold]{url}/[/]",
            soft_wrap=True,  # the address stays on one line in any log
        )
        out().print(
            f"  POST {url}/predict (JSON records or a CSV/Parquet body) · GET /schema /health "
            "/metrics /report · Ctrl-C stops",
            soft_wrap=True,
        )
        sys.stdout.flush()  # the address must reach a piped log before the server blocks
        if not is_loopback(host):
            err().print(
                f"[yellow]warning:[/] listening on {host}: reachable from other machines, "
                "with no authentication. Put it behind a proxy that authenticates."
            )

    # Ctrl-C or SIGTERM arrive as an interrupt after uvicorn's graceful shutdown
    with contextlib.suppress(KeyboardInterrupt):
        run_server(
            run,
            models_dir=models_dir,
            host=host,
            port=port,
            max_request_bytes=max(1, int(max_request_mb * 1024 * 1024)),
            access_log=access_log,
            on_ready=ready,
        )
    out().print("server stopped")
