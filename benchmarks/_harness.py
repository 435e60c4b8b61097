"""Measurement helpers shared by the benchmark scripts (not part of the package).

Each measured case runs in a fresh Python process so that peak RSS belongs to that
case alone. Peers run in their own virtual environments under ``benchmarks/_venvs``,
created on first use; they are never dependencies of groupwise.

Children run with Python's default bytecode cache: an environment that sets
``PYTHONDONTWRITEBYTECODE`` would make every child compile groupwise's modules from source
(an editable install has no compiled files; 0.15 s per start), while the peers' packages
were compiled when pip installed them.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
VENVS = HERE / "_venvs"
WORK = HERE / "_work"


def child_env(extra: dict | None = None) -> dict:
    """The environment of a measured child: this one, with the bytecode cache on."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **(extra or {})}


# ---------------------------------------------------------------- in the child
def rss_now() -> int:
    """Resident set size of this process in bytes (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(fn: Callable[[], dict | None]) -> dict:
    """Run ``fn`` once; wall and CPU seconds, RSS before and peak RSS in bytes."""
    base = rss_now()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    extra = fn() or {}
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    peak = r1.ru_maxrss * 1024
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "rss_base": base,
        "rss_peak": peak,
        "rss_added": peak - base,
        **extra,
    }


def emit(result: dict) -> None:
    """Print the result as the last stdout line for the parent to parse."""
    print("RESULT " + json.dumps(result), flush=True)


# --------------------------------------------------------------- in the parent
def run_child(argv: Sequence[str], *, env: dict | None = None, timeout: float = 3600) -> dict:
    """Run a child process and return its ``RESULT`` JSON (or an ``error`` entry)."""
    proc = subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(env),
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
    return {"error": " | ".join(tail) or f"exit {proc.returncode}"}


def run_process(argv: Sequence[str], *, env: dict | None = None, timeout: float = 7200) -> dict:
    """Run a command; wall and CPU seconds and peak RSS of it and its descendants (``os.wait4``).

    Returns ``{"returncode", "stdout", "stderr", "wall_s", "cpu_s", "rss_peak"}``.
    """
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, env=child_env(env))
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "returncode": proc.returncode,
            "stdout": out.read(),
            "stderr": err.read(),
            "wall_s": wall,
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "rss_peak": usage.ru_maxrss * 1024,
        }


def run_child_median(argv: Sequence[str], *, repeat: int = 3, **kwargs) -> dict:
    """Run the child ``repeat`` times; per key the median (errors win)."""
    import statistics

    results = [run_child(argv, **kwargs) for _ in range(repeat)]
    errors = [r for r in results if "error" in r]
    if errors:
        return errors[0]
    return {k: statistics.median(r[k] for r in results) for k in results[0]}


def peer_python(
    name: str, requirements: Sequence[str], *, python: str = sys.executable
) -> Path | None:
    """A virtual environment with ``requirements`` installed; None if it cannot be built."""
    venv = VENVS / name
    marker = venv / ".requirements"
    wanted = "\n".join(requirements)
    py = venv / "bin" / "python"
    if py.exists() and marker.exists() and marker.read_text() == wanted:
        return py
    VENVS.mkdir(parents=True, exist_ok=True)
    print(f"[bench] creating peer venv {venv} with {', '.join(requirements)} ...", file=sys.stderr)
    try:
        subprocess.run(
            [python, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True
        )
        subprocess.run(
            [
                str(py),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *requirements,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=1800,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        msg = getattr(exc, "stderr", "") or str(exc)
        print(f"[bench] could not build {name}: {msg.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    marker.write_text(wanted)
    return py


# -------------------------------------------------------------------- reporting
def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def code_version() -> str:
    """A short hash of groupwise's source files: a cache key that changes with the code."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((HERE.parent / "src" / "groupwise").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit in ("B", "KiB") else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} GiB"


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def report(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence],
    notes: Sequence[str] = (),
    *,
    record: bool = True,
) -> str:
    """Print the table and (if ``record``) append it, with the machine and date, to RESULTS.md."""
    m = machine()
    table = markdown_table(columns, rows)
    text = (
        f"\n## {title} — {m['date']}\n\n"
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}; Python {m['python']}; {m['platform']}\n\n"
        f"{table}\n"
    )
    if notes:
        text += "\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    print(text)
    if not record:
        return text
    if not RESULTS.exists():
        RESULTS.write_text(
            "# Benchmark results\n\nAppended by the scripts in this folder; newest last.\n"
        )
    with RESULTS.open("a") as fh:
        fh.write(text)
    return text
