"""Online serving: latency, throughput, errors and memory of ``groupwise serve``.

For each model (trained by ``groupwise train`` with its defaults, one on a generated
grouped table and one on a real corpus table, ``titanic``), the server runs in its own
process on loopback (``--port 0``) and this script measures, in one run:

1. **Latency overhead**, one client at a time, alternating 3 rounds of: 300 single-row
   ``POST /predict`` requests, then 300 calls of ``Run.predict`` on one row in this
   process. Goal: server p50 ≤ in-process p50 + 2 ms (median over the rounds).
2. **Load**: 50 concurrent clients (threads, keep-alive connections) send 10,000
   single-row requests, then 100 requests of 1,000 rows. Throughput, p50/p99 latency,
   error count (any status but 200, any connection error), and the server's RSS after
   warm-up and at the end. Goals: 0 errors; RSS growth ≤ 50 MiB.

Bounded: every request has a 60 s timeout and each phase a 15-minute deadline. The
clients run on the same 2 cores as the server, so loaded latencies include them.

    python benchmarks/bench_serve.py [--quick]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _corpus
import _harness as h

WORK = h.WORK / "serve"
PHASE_DEADLINE_S = 900


def _table_generated(n: int = 10_000):
    import numpy as np

    from groupwise.datasets import DatasetConfig, generate_dataset

    cfg = DatasetConfig(
        n_samples=n, n_informative=8, n_noise=12, class_sep=1.5, weights=(0.85, 0.15), n_categorical=3,
        categorical_levels=(50, 5, 8), missing_rate=0.05, missing_columns=("i1", "i3", "n2", "n5"),
        n_batches=20, random_state=7,
    )  # fmt: skip
    X, y, _ = generate_dataset(cfg)
    for c in ("cat1", "cat2", "cat3"):
        X[c] = X[c].astype(str).where(X[c].notna(), None)
    X.insert(0, "record_id", np.arange(n))
    return X.assign(y=y), ["--target", "y", "--group", "batch", "--id", "record_id"]


def _table_titanic():
    import pandas as pd

    path = _corpus.export()["titanic"]
    return pd.read_parquet(path), ["--target", "survived"]


TABLES = {"generated (10k rows, 20 batches)": _table_generated, "titanic (real, 1,309 rows)": _table_titanic}  # fmt: skip


def train(name: str, make) -> tuple[Path, object]:
    """The models directory of a run trained on the table (trained once per code version)."""
    df, roles = make()
    slug = name.split()[0]
    models = WORK / f"models_{slug}_{h.code_version()}"
    src = WORK / f"{slug}.parquet"
    WORK.mkdir(parents=True, exist_ok=True)
    df.to_parquet(src, index=False)
    if not (models / "registry" / "latest.txt").exists():
        r = h.run_process([sys.executable, "-m", "groupwise", "train", str(src), *roles, "--models-dir", str(models)])  # fmt: skip
        if r["returncode"] != 0:
            raise SystemExit(f"training on {name} failed:\n{r['stderr'][-2000:]}")
    target = roles[1]
    return models, df.drop(columns=[target])


class Server:
    def __init__(self, models: Path):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "groupwise", "serve", "--models-dir", str(models), "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            line = ""
            while "serving run" not in line:
                line = self.proc.stdout.readline()
                if not line and self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the server did not start: {self.proc.stderr.read()[-2000:]}")  # fmt: skip
            url = line.split(" at ")[1].split()[0].rstrip("/")
            self.host, port = url.removeprefix("http://").rsplit(":", 1)
            self.port = int(port)
        except BaseException:
            self.stop()
            raise

    def rss(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _post(
    conn: http.client.HTTPConnection, body: bytes, timing: list | None = None
) -> tuple[int, float]:
    t0 = time.perf_counter()
    conn.request("POST", "/predict", body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    elapsed = time.perf_counter() - t0
    if timing is not None:  # the server's own predict time (Server-Timing header)
        parts = dict(p.split(";dur=") for p in (resp.getheader("server-timing") or "").split(", ") if ";dur=" in p)  # fmt: skip
        timing.append(float(parts.get("predict", "nan")) / 1000)
    return resp.status, elapsed


def _bodies(rows, n_rows: int, count: int) -> list[bytes]:
    from groupwise.io import to_jsonable

    recs = to_jsonable(rows.astype(object).to_dict("records"))
    out = []
    for k in range(count):
        start = (k * n_rows) % max(1, len(recs) - n_rows)
        out.append(json.dumps(recs[start : start + n_rows]).encode())
    return out


def sequential(server: Server, bodies: list[bytes]) -> list[float]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
    lat = []
    for b in bodies:
        status, s = _post(conn, b)
        if status != 200:
            raise SystemExit(f"sequential request failed with {status}")
        lat.append(s)
    conn.close()
    return lat


def load(server: Server, bodies: list[bytes], clients: int = 50) -> dict:
    todo: queue.Queue = queue.Queue()
    for b in bodies:
        todo.put(b)
    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + PHASE_DEADLINE_S

    def client():
        conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
        while time.monotonic() < deadline:
            try:
                b = todo.get_nowait()
            except queue.Empty:
                break
            try:
                status, s = _post(conn, b)
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(type(exc).__name__)
                conn.close()
                conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
                continue
            with lock:
                lat.append(s)
                if status != 200:
                    errors.append(str(status))
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=PHASE_DEADLINE_S + 60)
    wall = time.perf_counter() - t0
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")  # noqa: E731
    return {"done": len(lat), "sent": len(bodies), "errors": errors, "wall_s": wall,
            "rps": len(lat) / wall, "p50": q(0.5), "p99": q(0.99)}  # fmt: skip


def _load(models: Path):
    from groupwise.runs import load_run

    return load_run("latest", models)


def paired(
    server: Server, run, rows, bodies: list[bytes], inside: list
) -> tuple[list[float], list[float]]:
    """Alternate one request to the server and one ``Run.predict`` of the same row here,
    so that the machine's drift affects both alike. ``inside`` receives the server's own
    time in ``Run.predict``'s code (its Server-Timing header) per request."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
    served, local = [], []
    for k, b in enumerate(bodies):
        status, s = _post(conn, b, inside)
        if status != 200:
            raise SystemExit(f"a single-row request failed with {status}")
        served.append(s)
        one = rows.iloc[[k % max(1, len(rows) - 1)]]
        t0 = time.perf_counter()
        run.predict(one)
        local.append(time.perf_counter() - t0)
    conn.close()
    return served, local


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--quick", action="store_true", help="1,000 + 10 requests, not recorded")
    args = ap.parse_args()
    n_single, n_big, per_round = (1_000, 10, 100) if args.quick else (10_000, 100, 500)
    rows_out, notes = [], []
    from threadpoolctl import threadpool_limits

    for name, make in TABLES.items():
        models, rows = train(name, make)
        meta = json.loads(next((models / "runs").glob("*/run_meta.json")).read_text())
        server = Server(models)
        try:
            singles = _bodies(rows, 1, n_single)
            sequential(server, singles[:200])  # warm-up
            rss_warm = server.rss()
            served, local, extra = [], [], []
            with threadpool_limits(1):  # the server runs one native thread per request too
                run = _load(models)
                for _ in range(3):  # request and in-process call alternate one by one
                    inside: list[float] = []
                    s_lat, l_lat = paired(server, run, rows, singles[:per_round], inside)
                    served.append(statistics.median(s_lat))
                    local.append(statistics.median(l_lat))
                    extra.append(
                        statistics.median(a - b for a, b in zip(s_lat, inside, strict=True))
                    )
            s_p50, l_p50 = statistics.median(served), statistics.median(local)
            over = (s_p50 - l_p50) * 1000
            serving = statistics.median(extra) * 1000
            one = load(server, singles)
            big = load(server, _bodies(rows, 1_000, n_big))
            rss_end = server.rss()
        finally:
            server.stop()
        growth = rss_end - rss_warm
        label = f"{name}: {meta['selected_model']['label']}"
        rows_out += [
            [label, "1 row, 1 client", f"{s_p50 * 1000:.2f} ms", f"{l_p50 * 1000:.2f} ms in-process",
             "", f"+{over:.2f} ms (goal ≤ +2 ms) {'met' if over <= 2 else 'MISSED'}"],
            [label, "1 row, 1 client: time outside prediction", f"{serving:.2f} ms", "", "",
             "request − the server's own predict time (Server-Timing), median per request"],
            [label, f"1 row × {one['sent']:,}, 50 clients", f"{one['p50'] * 1000:.1f} / {one['p99'] * 1000:.1f} ms",
             f"{one['rps']:,.0f} req/s", str(len(one["errors"])), f"errors goal 0 {'met' if not one['errors'] and one['done'] == one['sent'] else 'MISSED'}"],
            [label, f"1,000 rows × {big['sent']}, 50 clients", f"{big['p50'] * 1000:.0f} / {big['p99'] * 1000:.0f} ms",
             f"{big['rps'] * 1000:,.0f} rows/s", str(len(big["errors"])), f"errors goal 0 {'met' if not big['errors'] and big['done'] == big['sent'] else 'MISSED'}"],
            [label, "server RSS", f"{h.fmt_bytes(rss_warm)} → {h.fmt_bytes(rss_end)}", "", "",
             f"+{h.fmt_bytes(growth)} (goal ≤ 50 MiB) {'met' if growth <= 50 * 2**20 else 'MISSED'}"],
        ]  # fmt: skip
        if one["errors"] or big["errors"]:
            notes.append(f"{name}: error kinds {sorted(set(one['errors'] + big['errors']))[:5]}")
    notes.append("Latency columns: p50 / p99 of the request as the client sees it. In-process = "
                 "Run.predict on one row in the benchmark's process (validation + prediction), "
                 "one native thread, median of 3 alternating rounds.")  # fmt: skip
    notes.append(f"Server: groupwise serve (uvicorn, one process, predictions on {os.cpu_count()} "
                 "worker threads, one native thread each); clients: Python threads with "
                 "keep-alive connections on the same machine.")  # fmt: skip
    h.report(
        "bench_serve" + (" (quick)" if args.quick else ""),
        ["model", "requests", "latency", "throughput", "errors", "goal"],
        rows_out,
        notes,
        record=not args.quick,
    )


if __name__ == "__main__":
    main()
