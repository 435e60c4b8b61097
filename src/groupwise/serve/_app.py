"""The FastAPI application: one loaded run, the predict code path, a page for people."""

from __future__ import annotations

import collections
import logging
import threading
import time
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from groupwise._version import __version__
from groupwise.exceptions import GroupwiseError, SchemaViolationError
from groupwise.io import to_jsonable
from groupwise.predict import ValidationReport
from groupwise.serve._body import BadRequest, frame_from_body

__all__ = ["build_app"]

log = logging.getLogger("groupwise.serve")

#: Paths counted in ``GET /metrics`` (anything else is counted as ``other``).
ROUTES = ("/", "/predict", "/schema", "/health", "/report", "/metrics")
#: Bodies up to this size are parsed on the event loop; larger ones in a worker thread.
_INLINE_BYTES = 16 * 1024
#: Latencies kept per route for the quantiles (the most recent ones).
_WINDOW = 10_000


class ServeStats:
    """Request counts by route and status, and latency quantiles over a recent window."""

    def __init__(self):
        self._lock = threading.Lock()
        self.started = time.time()
        self.counts: dict[str, collections.Counter] = {}
        self.latency: dict[str, collections.deque] = {}
        self.rows_predicted = 0

    def record(self, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.counts.setdefault(route, collections.Counter())[str(status)] += 1
            self.latency.setdefault(route, collections.deque(maxlen=_WINDOW)).append(seconds)

    def add_rows(self, n: int) -> None:
        with self._lock:
            self.rows_predicted += n

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            routes = {}
            for route, counts in sorted(self.counts.items()):
                lat = np.asarray(self.latency.get(route, ()), dtype=float) * 1000.0
                q = np.quantile(lat, [0.5, 0.9, 0.99]) if len(lat) else [None] * 3
                routes[route] = {
                    "requests": int(sum(counts.values())),
                    "by_status": dict(sorted(counts.items())),
                    "latency_ms": {
                        "p50": q[0], "p90": q[1], "p99": q[2], "window": int(len(lat)),
                    },
                }  # fmt: skip
            return to_jsonable(
                {
                    "uptime_s": round(time.time() - self.started, 3),
                    "rows_predicted": self.rows_predicted,
                    "routes": routes,
                }
            )


class _Timing:
    """ASGI middleware: time every HTTP request and count it by route and status."""

    def __init__(self, app, stats: ServeStats):
        self.app, self.stats = app, stats

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        seen = {"status": 500}

        async def send_timed(message):
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            path = scope.get("path", "")
            route = path if path in ROUTES else "other"
            self.stats.record(route, seen["status"], time.perf_counter() - t0)


def violation_rows(report: ValidationReport) -> list[dict[str, Any]]:
    """The violations of ``report`` as JSON objects (the level as this input sees it)."""
    return [
        {
            "level": report.level_of(v),
            "code": v.code,
            "column": v.column,
            "count": int(v.count),
            "examples": to_jsonable(v.examples),
            "message": v.message,
        }
        for v in report.violations
    ]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    names = [str(c) for c in frame.columns]
    columns = [to_jsonable(frame[c].tolist()) for c in frame.columns]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _error(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status)


async def _read_limited(request: Request, limit: int) -> bytes:
    too_big = BadRequest(
        413, "REQUEST_TOO_LARGE",
        f"The request body is larger than the server's limit of {limit:,} bytes; send fewer "
        "rows per request, or start the server with a larger --max-request-mb.",
    )  # fmt: skip
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > limit:
            raise too_big
    return bytes(buf)


def _page() -> str:
    return resources.files("groupwise.serve").joinpath("static/index.html").read_text("utf-8")


def build_app(run, *, max_request_bytes: int, max_concurrency: int) -> FastAPI:
    """The app for a loaded, verified :class:`~groupwise.runs.Run` (see ``create_app``)."""
    import anyio
    from threadpoolctl import ThreadpoolController

    predictor = run.predictor  # verifies the model and the schema now, not at the 1st request
    stats = ServeStats()
    controller = ThreadpoolController()
    limiter = anyio.CapacityLimiter(max_concurrency)
    page = _page()
    model = run.run_meta.model or {}
    schema_doc = to_jsonable(
        {
            "run_id": run.run_id,
            "task": run.task,
            "model": run.selected_model,
            "target": run.spec.target,
            "classes": run.classes,
            "positive_class": predictor.metadata()["positive_class"],
            "threshold": run.threshold,
            "input": run.schema.to_dict(),
        }
    )

    app = FastAPI(
        title="groupwise",
        version=__version__,
        summary=f"Predictions of run {run.run_id}",
        docs_url=None,  # the interactive docs load assets from the internet; the page here works offline
        redoc_url=None,
    )
    app.state.run = run
    app.state.stats = stats
    app.add_middleware(_Timing, stats=stats)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):  # pragma: no cover - a bug by definition
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _error(500, {"error": "INTERNAL_ERROR", "message": "internal error (a bug in groupwise; see the server log)"})  # fmt: skip

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/health")
    def health() -> dict[str, Any]:
        """Liveness and identity: the run served, its model's SHA-256, the uptime."""
        return {
            "status": "ok",
            "run_id": run.run_id,
            "task": run.task,
            "model": run.selected_model,
            "model_sha256": model.get("sha256"),
            "groupwise_version": __version__,
            "uptime_s": round(time.time() - stats.started, 3),
        }

    @app.get("/schema")
    def schema() -> dict[str, Any]:
        """The input schema recorded at training, and what a prediction holds."""
        return schema_doc

    @app.get("/metrics")
    def metrics() -> dict[str, Any]:
        """Request counts by route and status, latency quantiles (ms), rows predicted."""
        return stats.snapshot()

    @app.get("/report", response_model=None)
    def report() -> Response:
        """The run's report.html."""
        path = run.layout.report
        if not path.is_file():
            return _error(404, {"error": "NO_REPORT", "message": f"run {run.run_id} has no report.html; run `groupwise report --run {run.run_id}` to write it"})  # fmt: skip
        return FileResponse(path, media_type="text/html")

    @app.post("/predict", response_model=None)
    async def predict(request: Request) -> Response:
        """Validate the rows against the input schema and predict them.

        Body: JSON records, ``{"columns": [...], "data": [[...]]}``, a CSV/TSV/Parquet
        file, or a multipart upload (field ``file``). Query: ``format=json|csv``,
        ``on_bad_values=error|null``. 422 lists every schema violation.
        """
        params = request.query_params
        fmt = params.get("format", "json")
        on_bad = params.get("on_bad_values", "error")
        try:
            if fmt not in ("json", "csv"):
                raise BadRequest(422, "BAD_PARAMETER", f"format must be 'json' or 'csv'. Got {fmt!r} instead.")  # fmt: skip
            if on_bad not in ("error", "null"):
                raise BadRequest(422, "BAD_PARAMETER", f"on_bad_values must be 'error' or 'null'. Got {on_bad!r} instead.")  # fmt: skip
            body = await _read_limited(request, max_request_bytes)
            t_parse = time.perf_counter()
            ctype = request.headers.get("content-type")
            if len(body) <= _INLINE_BYTES:  # a few rows: parsing costs less than a thread hop
                frame = frame_from_body(body, ctype)
            else:
                frame = await anyio.to_thread.run_sync(
                    frame_from_body, body, ctype, limiter=limiter
                )
            t_parse = time.perf_counter() - t_parse
            out, report, t_predict = await anyio.to_thread.run_sync(
                _score, predictor, frame, on_bad, controller, limiter=limiter
            )
        except BadRequest as exc:
            return _error(exc.status, exc.to_dict())
        except SchemaViolationError as exc:
            rows = violation_rows(exc.violations) if exc.violations is not None else []
            return _error(422, {"error": "SCHEMA_VIOLATION", "message": str(exc), "violations": rows})  # fmt: skip
        except GroupwiseError as exc:
            return _error(422, {"error": type(exc).__name__, "message": str(exc)})
        stats.add_rows(len(out))
        # where the time went, for the browser's network panel and for clients that ask
        timing = {"Server-Timing": f"parse;dur={t_parse * 1e3:.2f}, predict;dur={t_predict * 1e3:.2f}"}  # fmt: skip
        if fmt == "csv":
            return Response(
                out.to_csv(index=False),
                media_type="text/csv",
                headers={"Content-Disposition": 'attachment; filename="predictions.csv"', **timing},
            )
        return JSONResponse(
            {
                "run_id": run.run_id,
                "rows": len(out),
                "columns": [str(c) for c in out.columns],
                "predictions": _records(out),
                "violations": violation_rows(report),
            },
            headers=timing,
        )

    return app


def _score(predictor, frame: pd.DataFrame, on_bad_values: str, controller):
    # one OpenMP thread per request (the OpenMP setting belongs to the calling thread);
    # requests run side by side up to the core count instead
    t0 = time.perf_counter()
    with controller.limit(limits=1, user_api="openmp"):
        out, report = predictor.predict_checked(
            frame, on_bad_values=on_bad_values, what="the request"
        )
    return out, report, time.perf_counter() - t0
