"""Parameter checks with one message format.

Messages follow scikit-learn's wording so users recognise them::

    The 'confounding' parameter of DatasetConfig must be a float in the range [0, 1]. Got 1.5 instead.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence

from groupwise.exceptions import ConfigError, did_you_mean


def _interval(low, high, closed: str) -> str:
    left = "[" if closed in ("both", "left") else "("
    right = "]" if closed in ("both", "right") else ")"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    if high is None:
        right = ")"
    if low is None:
        left = "("
    return f"{left}{lo}, {hi}{right}"


def _fail(owner: str, name: str, expected: str, value) -> ConfigError:
    return ConfigError(
        f"The {name!r} parameter of {owner} must be {expected}. Got {value!r} instead.",
        parameter=name,
        value=value,
    )


def check_number(
    value,
    name: str,
    owner: str,
    *,
    low=None,
    high=None,
    closed: str = "both",
    integer: bool = False,
):
    """Return ``value`` if it is a real (or integral) number inside the interval."""
    kind = "an int" if integer else "a float"
    expected = f"{kind} in the range {_interval(low, high, closed)}"
    ok_type = isinstance(value, numbers.Integral) if integer else isinstance(value, numbers.Real)
    if not ok_type or isinstance(value, bool):
        raise _fail(owner, name, expected, value)
    if not integer and not math.isfinite(value):
        raise _fail(owner, name, expected, value)
    below = low is not None and (value < low or (value == low and closed in ("neither", "right")))
    above = high is not None and (value > high or (value == high and closed in ("neither", "left")))
    if below or above:
        raise _fail(owner, name, expected, value)
    return int(value) if integer else float(value)


def check_choice(value, name: str, owner: str, options: Sequence):
    """Return ``value`` if it is one of ``options``; otherwise say which are allowed."""
    if value in options:
        return value
    listed = ", ".join(repr(o) for o in options)
    hint = did_you_mean(value, [str(o) for o in options]) if isinstance(value, str) else ""
    raise ConfigError(
        f"The {name!r} parameter of {owner} must be one of {listed}. Got {value!r} instead.{hint}",
        parameter=name,
        value=value,
    )


def check_known_keys(keys: Iterable[str], allowed: Iterable[str], owner: str) -> None:
    """Fail on keys that ``owner`` does not know, with a did-you-mean hint per key."""
    allowed = list(allowed)
    unknown = [k for k in keys if k not in allowed]
    if not unknown:
        return
    parts = [f"{k!r}{did_you_mean(k, allowed)}" for k in unknown]
    raise ConfigError(
        f"{owner} got unknown option(s): {'; '.join(parts)} "
        f"Known options: {', '.join(sorted(allowed))}."
    )
