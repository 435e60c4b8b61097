"""Errors and warnings raised by groupwise.

Every error groupwise raises on purpose derives from :class:`GroupwiseError`.
Specific errors also subclass the builtin exception they stand for, so callers
can catch either ``ColumnNotFoundError`` or plain ``KeyError``.

Each error carries an ``exit_code`` that the command line uses (the README's "Exit codes"):
``2`` for bad input or usage. The message is written for the person who made
the mistake: what was expected, what came in, and how to fix it.
"""

from __future__ import annotations

import difflib
import errno
from collections.abc import Iterable

__all__ = [
    "BrokenRunError",
    "ColumnNotFoundError",
    "ConfigError",
    "DataError",
    "EnvironmentFault",
    "FileFormatError",
    "GroupwiseError",
    "GroupwiseWarning",
    "InputFileNotFoundError",
    "MissingDependencyError",
    "ModelIntegrityError",
    "RegistryError",
    "RunNotFoundError",
    "SchemaViolationError",
    "SpecError",
    "did_you_mean",
    "environment_errno",
]


class GroupwiseError(Exception):
    """Base class of all errors raised by groupwise on purpose."""

    exit_code = 2

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return str(self.args[0]) if self.args else self.__class__.__name__


class ConfigError(GroupwiseError, ValueError):
    """A parameter or configuration value is invalid.

    ``parameter`` names the parameter in library terms (``"threshold"``) and ``value``
    holds what came in, so the command line can name its own flag (``--threshold``).
    """

    def __init__(self, message: str, *, parameter: str | None = None, value=None):
        super().__init__(message)
        self.parameter = parameter
        self.value = value


class SpecError(ConfigError):
    """The column roles of a :class:`~groupwise.spec.TableSpec` are inconsistent."""


class ColumnNotFoundError(GroupwiseError, KeyError):
    """A column named by the user is not in the table."""


class DataError(GroupwiseError, ValueError):
    """The table's contents cannot be used (empty, all-missing target, ...)."""


class FileFormatError(GroupwiseError, ValueError):
    """A file has an unsupported extension or cannot be parsed."""


class InputFileNotFoundError(GroupwiseError, FileNotFoundError):
    """An input file does not exist."""


class MissingDependencyError(GroupwiseError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""


class SchemaViolationError(GroupwiseError, ValueError):
    """Input for prediction does not match the schema recorded at training."""

    def __init__(self, message: str, violations=None):
        super().__init__(message)
        self.violations = violations


class ModelIntegrityError(GroupwiseError, ValueError):
    """A persisted model does not match the checksum recorded when it was saved."""


class RunNotFoundError(GroupwiseError, FileNotFoundError):
    """A run directory or the registry pointer cannot be found."""


class RegistryError(GroupwiseError):
    """The run was written, but ``registry/latest.txt`` could not be updated."""

    def __init__(self, message: str, *, run_id: str | None = None):
        super().__init__(message)
        self.run_id = run_id


class BrokenRunError(FileFormatError):
    """A run directory is incomplete or one of its files cannot be read."""


class EnvironmentFault(GroupwiseError, OSError):
    """The machine refused a read or write (disk full, read-only, permissions, path too long).

    Not a bug and not bad data: the message names the path and what to change.
    """


class GroupwiseWarning(UserWarning):
    """Something the user should know about that does not stop the work."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest candidate, or ``""``.

    Examples
    --------
    >>> did_you_mean("tagret", ["target", "batch"])
    " Did you mean 'target'?"
    >>> did_you_mean("zzz", ["target"])
    ''
    """
    candidates = [str(c) for c in candidates]
    lowered = {c.lower(): c for c in candidates}
    if str(name).lower() in lowered:
        return f" Did you mean {lowered[str(name).lower()]!r}?"
    close = difflib.get_close_matches(str(name), candidates, n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


#: errno values that are the machine refusing, not a bug: disk full, read-only, permissions,
#: quota, a path that is too long or has a file where a directory should be.
ENVIRONMENT_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.ENAMETOOLONG,
     errno.EISDIR, errno.ENOTDIR, errno.EFBIG, errno.EIO, errno.EEXIST, errno.ENOENT}
)  # fmt: skip


def environment_errno(exc: BaseException) -> int | None:
    """The errno of an OSError that is an environment fault, else None (pyarrow puts it in
    the message: ``[Errno 28] ...``)."""
    if not isinstance(exc, OSError):
        return None
    code = exc.errno
    if code is None:
        import re

        m = re.search(r"\[Errno (\d+)\]", str(exc))
        code = int(m.group(1)) if m else None
    return code if code in ENVIRONMENT_ERRNOS else None
