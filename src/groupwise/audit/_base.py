"""The check framework shared by the data audit and the MODEL checks of ``train``.

A check is a small class with a stable ``code``, a ``title``, a ``cost`` class and a
``run(ctx)`` method that returns findings (an empty list when the check passes) or
raises :class:`NotApplicable` with the reason it cannot apply. Checks never pass
silently: every check ends up in exactly one of *findings*, *passed* or
*not applicable*.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from groupwise.io import to_jsonable

__all__ = [
    "Acceptances",
    "Check",
    "CheckOutcome",
    "Finding",
    "NotApplicable",
    "SEVERITIES",
    "run_checks",
]

logger = logging.getLogger(__name__)

#: Severities from most to least serious.
SEVERITIES = ("error", "warning", "info")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}
COSTS = ("cheap", "moderate", "expensive")


class NotApplicable(Exception):
    """Raised by a check that cannot apply to this table; the message says why."""


@dataclasses.dataclass(frozen=True)
class Finding:
    """One problem found by a check.

    Attributes
    ----------
    code : str
        Stable code of the check, e.g. ``"GROUP001"``.
    severity : {"error", "warning", "info"}
    title : str
        The check's title.
    message : str
        One line: what was found.
    columns : tuple of str
        Columns involved.
    evidence : dict
        Numbers behind the finding (JSON-safe).
    fix : str
        What to do about it.
    accepted : str or None
        Why the user accepted the finding (``--accept CODE:COLUMN``); accepted findings
        are kept and shown, but no longer count for ``fail_on``.
    """

    code: str
    severity: str
    title: str
    message: str
    columns: tuple[str, ...] = ()
    evidence: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    fix: str = ""
    accepted: str | None = None

    def __post_init__(self):
        if self.severity not in _RANK:
            raise ValueError(f"severity must be one of {SEVERITIES}; got {self.severity!r}")
        object.__setattr__(self, "columns", tuple(str(c) for c in self.columns))
        object.__setattr__(self, "evidence", to_jsonable(dict(self.evidence)))

    def to_dict(self) -> dict[str, Any]:
        d = {
            "code": self.code,
            "severity": self.severity,
            "title": self.title,
            "message": self.message,
            "columns": list(self.columns),
            "evidence": dict(self.evidence),
            "fix": self.fix,
        }
        if self.accepted is not None:
            d["accepted"] = self.accepted
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Finding:
        keys = ("code", "severity", "title", "message", "columns", "evidence", "fix")
        return cls(**{k: d[k] for k in keys}, accepted=d.get("accepted"))

    def at_least(self, severity: str) -> bool:
        """True if this finding is at least as serious as ``severity``."""
        return _RANK[self.severity] <= _RANK[severity]

    def counts_for(self, severity: str) -> bool:
        """True if the finding is at least ``severity`` and not accepted (it fails ``fail_on``)."""
        return self.accepted is None and self.at_least(severity)


class Check:
    """Base class of all checks. Subclasses set ``code``, ``title``, ``cost`` and ``run``."""

    code: ClassVar[str] = ""
    title: ClassVar[str] = ""
    cost: ClassVar[str] = "cheap"
    family: ClassVar[str] = ""

    def run(self, ctx) -> list[Finding]:  # pragma: no cover - abstract
        raise NotImplementedError

    def finding(
        self,
        severity: str,
        message: str,
        *,
        columns: Iterable[str] = (),
        evidence: Mapping[str, Any] | None = None,
        fix: str = "",
    ) -> Finding:
        """Build a finding of this check."""
        return Finding(
            code=self.code,
            severity=severity,
            title=self.title,
            message=message,
            columns=tuple(columns),
            evidence=evidence or {},
            fix=fix,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r})"


@dataclasses.dataclass(frozen=True)
class CheckOutcome:
    findings: tuple[Finding, ...]
    passed: tuple[str, ...]
    not_applicable: tuple[dict[str, str], ...]
    timings: dict[str, float]


def run_checks(checks: Sequence[Check], ctx, *, progress=None) -> CheckOutcome:
    """Run ``checks`` against ``ctx``; each check lands in findings, passed or not applicable.

    A check that crashes becomes an error finding of its own ("check could not run"), so
    one broken check never hides the others and the exit code reflects it; the exception
    is logged with its traceback (shown with ``-v``).
    """
    findings: list[Finding] = []
    passed: list[str] = []
    not_applicable: list[dict[str, str]] = []
    timings: dict[str, float] = {}
    for check in checks:
        start = time.perf_counter()
        try:
            result = check.run(ctx) or []
        except NotApplicable as exc:
            not_applicable.append({"code": check.code, "reason": str(exc)})
            result = None
        except Exception as exc:  # one broken check must not hide the others
            logger.debug("check %s failed", check.code, exc_info=True)
            result = [
                check.finding(
                    "error",
                    f"The check could not run: {type(exc).__name__}: {exc}",
                    evidence={"exception": type(exc).__name__},
                    fix="This is a bug in groupwise or an input it does not handle; the other checks "
                    "ran. Run with -v for the traceback and report it, or skip the check with --ignore "
                    f"{check.code}.",
                )
            ]
        timings[check.code] = time.perf_counter() - start
        if result is not None:
            if result:
                findings.extend(result)
            else:
                passed.append(check.code)
        if progress is not None:
            progress.advance()
    findings.sort(key=lambda f: (_RANK[f.severity], f.code))
    return CheckOutcome(tuple(findings), tuple(passed), tuple(not_applicable), timings)


class Acceptances:
    """Findings a user has acknowledged: ``CODE:COLUMN`` (or ``CODE:*``) with a reason.

    A finding is accepted when its code matches and every column it names is accepted
    (``*`` accepts the code whatever the columns).

    Examples
    --------
    >>> acc = Acceptances({"LEAK001:worst_radius": "measured before diagnosis"})
    >>> f = Finding("LEAK001", "warning", "t", "m", columns=("worst_radius",))
    >>> acc.apply([f])[0].accepted
    'measured before diagnosis'
    """

    def __init__(self, specs=None):
        self.rules: dict[tuple[str, str], str] = {}
        if specs is None:
            return
        items = specs.items() if isinstance(specs, Mapping) else ((s, None) for s in specs)
        for spec, reason in items:
            code, column = self.parse(spec)
            self.rules[(code, column)] = reason or "accepted by the user"

    @staticmethod
    def parse(spec: str) -> tuple[str, str]:
        """``"LEAK001:worst radius"`` → ``("LEAK001", "worst radius")``."""
        from groupwise.exceptions import ConfigError

        text = str(spec).strip()
        code, sep, column = text.partition(":")
        if not sep or not code.strip() or not column.strip():
            raise ConfigError(
                f"An accepted finding must be written CODE:COLUMN (for example LEAK001:worst_radius, "
                f"or LEAK001:* for every column). Got {spec!r} instead.",
                parameter="accept",
                value=spec,
            )
        return code.strip().upper(), column.strip()

    def __bool__(self) -> bool:
        return bool(self.rules)

    def codes(self) -> set[str]:
        return {code for code, _ in self.rules}

    def columns(self) -> set[str]:
        return {col for _, col in self.rules if col != "*"}

    def reason(self, finding: Finding) -> str | None:
        if (finding.code, "*") in self.rules:
            return self.rules[(finding.code, "*")]
        if not finding.columns:
            return None
        reasons = [self.rules.get((finding.code, c)) for c in finding.columns]
        if any(r is None for r in reasons):
            return None
        return "; ".join(dict.fromkeys(reasons))

    def apply(self, findings: Iterable[Finding]) -> list[Finding]:
        """The findings, with ``accepted`` set on those the rules cover."""
        out = []
        for f in findings:
            reason = self.reason(f)
            out.append(f if reason is None else dataclasses.replace(f, accepted=reason))
        return out

    def to_dict(self) -> dict[str, str]:
        return {f"{code}:{col}": reason for (code, col), reason in self.rules.items()}
