"""``groupwise serve``: online predictions and a predictor page, on the batch code path.

Needs the ``[serve]`` extra (FastAPI and uvicorn): ``pip install 'groupwise[serve]'``.

- :func:`create_app` returns the FastAPI application for one run (mount it in your own
  service if you like); :func:`serve` runs it with uvicorn on loopback by default.
- Every request goes through the run's :class:`~groupwise.predict.Predictor`: the same
  schema validation and the same prediction function as ``groupwise predict``.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from groupwise.exceptions import ConfigError, MissingDependencyError

__all__ = ["DEFAULT_MAX_REQUEST_BYTES", "bind_socket", "create_app", "serve"]

#: The largest request body accepted by default (32 MiB).
DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _need(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(
            f"groupwise serve needs FastAPI and uvicorn ({module!r} is not installed): "
            "pip install 'groupwise[serve]'."
        ) from None


def _open(run, models_dir):
    from groupwise.runs import Run, load_run

    opened = run if isinstance(run, Run) else load_run(run, models_dir)
    opened.require_supervised("'groupwise serve'")
    return opened


def create_app(
    run: Any = "latest",
    *,
    models_dir: str | os.PathLike = "models",
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    max_concurrency: int | None = None,
):
    """The FastAPI application serving one run.

    Parameters
    ----------
    run : Run, str or path, default="latest"
        A loaded :class:`~groupwise.runs.Run`, or what ``load_run`` accepts.
    models_dir : path, default="models"
        Where runs live (when ``run`` is not a loaded Run).
    max_request_bytes : int
        Larger request bodies are refused with 413.
    max_concurrency : int, default=None
        Predictions computed at the same time (default: the cores this process may use);
        each uses one native thread.

    The model file is verified (SHA-256, trusted types) and the schema read before the
    app is returned, so a broken run fails here, not at the first request. Each
    prediction runs with one OpenMP thread; BLAS pools are process-wide and left to the
    host process (:func:`serve` caps them at one thread).
    """
    from groupwise._parallel import available_cores

    _need("fastapi")
    from groupwise.serve._app import build_app

    if max_request_bytes < 1:
        raise ConfigError(f"max_request_bytes must be at least 1. Got {max_request_bytes!r} instead.")  # fmt: skip
    r = _open(run, models_dir)
    _ = r.pipeline, r.schema
    return build_app(
        r, max_request_bytes=max_request_bytes,
        max_concurrency=max_concurrency or available_cores(),
    )  # fmt: skip


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port), or a ConfigError that
    says why the address cannot be used."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535. Got {port} instead.")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigError(
            f"Cannot listen on host {host!r}: {exc.strerror}. Give an address of this "
            "machine, such as 127.0.0.1 (the default) or 0.0.0.0 for every interface."
        ) from None
    family, kind, proto, _, addr = infos[0]
    # proto must say TCP: asyncio turns Nagle's algorithm off (TCP_NODELAY) only for sockets
    # that say so, and with it on every response waits ~40 ms for a delayed ACK
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"Cannot listen on {host}:{port}: {exc.strerror}. Choose another --port (or stop "
            "the program using this one)."
        ) from None
    sock.set_inheritable(True)
    return sock


def is_loopback(host: str) -> bool:
    return host in _LOOPBACK or host.startswith("127.")


def serve(
    run: Any = "latest",
    *,
    models_dir: str | os.PathLike = "models",
    host: str = "127.0.0.1",
    port: int = 8000,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    access_log: bool = False,
    on_ready=None,
) -> None:
    """Serve ``run`` with uvicorn until interrupted (Ctrl-C or SIGTERM stop it cleanly).

    ``on_ready(url, app)`` is called once the socket listens, before requests are served.
    """
    _need("uvicorn")
    import uvicorn

    app = create_app(run, models_dir=models_dir, max_request_bytes=max_request_bytes)
    sock = bind_socket(host, port)
    bound = sock.getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    if on_ready is not None:
        on_ready(f"http://{shown}:{bound[1]}", app)
    config = uvicorn.Config(
        app,
        log_level="info" if access_log else "warning",  # access lines are logged at INFO
        access_log=access_log,
        lifespan="off",
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    from threadpoolctl import threadpool_limits

    # this process is the server's own: BLAS pools get one thread, as requests already
    # run side by side on the cores
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
