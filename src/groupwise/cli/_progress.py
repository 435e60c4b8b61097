"""Progress for the library's progress protocol: live bars on a terminal; in piped or CI
logs one line when a stage starts, one when it ends (with its time) and a heartbeat line
every :data:`HEARTBEAT_S` seconds on long stages."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from groupwise.cli._common import err, is_interactive

#: Seconds between "still working" lines in a non-interactive log.
HEARTBEAT_S = 30.0


class _Handle:
    def __init__(self, progress: Progress | None, task):
        self._progress = progress
        self._task = task
        self.done = 0
        self.total: int | None = None

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def update(self, *, total: int | None = None, description: str | None = None) -> None:
        if total is not None:
            self.total = total
        if self._progress is not None:
            kwargs = {}
            if total is not None:
                kwargs["total"] = total
            if description is not None:
                kwargs["description"] = description
            self._progress.update(self._task, **kwargs)


class RichProgress:
    """One live bar per stage; prints a one-line summary per finished stage when asked."""

    def __init__(
        self,
        *,
        enabled: bool | None = None,
        echo_stages: bool = False,
        log_lines: bool | None = None,
        heartbeat_s: float = HEARTBEAT_S,
    ):
        self.enabled = is_interactive() if enabled is None else enabled
        self.echo_stages = echo_stages
        self.log_lines = (not self.enabled) if log_lines is None else log_lines
        self.heartbeat_s = heartbeat_s

    @contextlib.contextmanager
    def _logged(self, name: str, total: int | None) -> Iterator[_Handle]:
        handle = _Handle(None, None)
        handle.total = total
        start = time.perf_counter()
        stop = threading.Event()
        err().print(f"→ {name} …", highlight=False)

        def beat():
            while not stop.wait(self.heartbeat_s):
                count = f" {handle.done}/{handle.total}" if handle.total else ""
                err().print(
                    f"  … {name}:{count} {time.perf_counter() - start:.0f} s", highlight=False
                )

        thread = threading.Thread(target=beat, name="groupwise-heartbeat", daemon=True)
        thread.start()
        try:
            yield handle
        finally:
            stop.set()
            thread.join()
        if not self.echo_stages:  # the summary line below says the same
            err().print(f"✓ {name} ({time.perf_counter() - start:.1f} s)", highlight=False)

    @contextlib.contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[_Handle]:
        start = time.perf_counter()
        if not self.enabled and self.log_lines:
            with self._logged(name, total) as handle:
                yield handle
        elif not self.enabled:
            yield _Handle(None, None)
        else:
            columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn()]
            if total is not None:
                columns.append(MofNCompleteColumn())
            columns.append(TimeElapsedColumn())
            with Progress(*columns, console=err(), transient=True) as progress:
                task = progress.add_task(name, total=total)
                yield _Handle(progress, task)
        if self.echo_stages:
            err().print(f"[dim]✓ {name} ({time.perf_counter() - start:.1f} s)[/]")
