"""One human formatting of values, for the terminal and the reports."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["fmt"]


def fmt(value: Any, digits: int = 3) -> str:
    """Floats to ``digits`` decimals (3 significant digits when large), missing as "—",
    booleans as yes/no, lists and mappings joined.

    Examples
    --------
    >>> fmt(0.12345), fmt(None), fmt(float("nan")), fmt([1.0, 2]), fmt(123456.0)
    ('0.123', '—', '—', '1.000, 2', '1.23e+05')
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        return f"{value:.{digits}f}" if abs(value) < 1e5 else f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v, digits) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {fmt(v, digits)}" for k, v in value.items())
    return str(value)
