"""Rich progress bars for the library's progress protocol (transient; off when not a TTY)."""

from __future__ import annotations

import contextlib
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


class _Handle:
    def __init__(self, progress: Progress | None, task):
        self._progress = progress
        self._task = task

    def advance(self, n: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def update(self, *, total: int | None = None, description: str | None = None) -> None:
        if self._progress is not None:
            kwargs = {}
            if total is not None:
                kwargs["total"] = total
            if description is not None:
                kwargs["description"] = description
            self._progress.update(self._task, **kwargs)


class RichProgress:
    """One live bar per stage; prints a one-line summary per finished stage when asked."""

    def __init__(self, *, enabled: bool | None = None, echo_stages: bool = False):
        self.enabled = is_interactive() if enabled is None else enabled
        self.echo_stages = echo_stages

    @contextlib.contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[_Handle]:
        start = time.perf_counter()
        if not self.enabled:
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
