"""Progress reporting without a UI dependency.

Library functions accept a ``progress`` object and call ``progress.stage(name, total)``
as a context manager whose handle has ``advance(n=1)``. The default does nothing;
the command line passes a rich-based implementation (``groupwise.cli._progress``).
The library never prints.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Protocol

logger = logging.getLogger("groupwise.progress")

__all__ = ["NullProgress", "Progress", "StageHandle"]


class StageHandle(Protocol):
    def advance(self, n: int = 1) -> None: ...

    def update(self, *, total: int | None = None, description: str | None = None) -> None: ...


class Progress(Protocol):
    def stage(
        self, name: str, total: int | None = None
    ) -> contextlib.AbstractContextManager[StageHandle]: ...


class _NullHandle:
    def advance(self, n: int = 1) -> None:
        pass

    def update(self, *, total: int | None = None, description: str | None = None) -> None:
        pass


class NullProgress:
    """Reports nothing to the screen; logs each stage's duration at DEBUG level."""

    @contextlib.contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[StageHandle]:
        start = time.perf_counter()
        try:
            yield _NullHandle()
        finally:
            logger.debug("%s took %.2f s", name, time.perf_counter() - start)
