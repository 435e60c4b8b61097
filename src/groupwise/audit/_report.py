"""AuditReport: the immutable result of an audit, rendered to JSON and Markdown."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from groupwise._validation import check_choice
from groupwise.audit._base import SEVERITIES, Finding
from groupwise.io import to_jsonable

__all__ = ["AuditReport", "FORMAT_VERSION"]

FORMAT_VERSION = 1
FAIL_ON = ("error", "warning", "never")


@dataclasses.dataclass(frozen=True)
class AuditReport:
    """Findings of an audit, plus what passed and what could not apply.

    Attributes
    ----------
    table : dict
        ``rows``, ``columns`` and ``sha256`` of the audited table.
    spec : dict
        The resolved :class:`~groupwise.spec.TableSpec`.
    findings : tuple of Finding
        Sorted by severity (errors first), then code.
    passed : tuple of str
        Codes of checks that ran and found nothing.
    not_applicable : tuple of dict
        ``{"code", "reason"}`` for checks that could not apply.
    timings : dict
        Seconds per check code.
    settings : dict
        ``folds``, ``sample_rows``, ``random_state`` used.
    """

    table: Mapping[str, Any]
    spec: Mapping[str, Any]
    findings: tuple[Finding, ...]
    passed: tuple[str, ...]
    not_applicable: tuple[Mapping[str, str], ...]
    timings: Mapping[str, float]
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    # ---------------------------------------------------------------- queries
    def counts(self) -> dict[str, int]:
        """Number of findings per severity (accepted ones apart, under ``"accepted"``)."""
        open_ = [f for f in self.findings if f.accepted is None]
        out = {s: sum(f.severity == s for f in open_) for s in SEVERITIES}
        out["accepted"] = len(self.findings) - len(open_)
        return out

    def by_code(self, code: str) -> list[Finding]:
        """Findings of one check."""
        return [f for f in self.findings if f.code == code]

    @property
    def codes(self) -> set[str]:
        return {f.code for f in self.findings}

    def worst(self) -> str | None:
        """The most serious severity among findings not accepted, or None."""
        open_ = [f for f in self.findings if f.accepted is None]
        return open_[0].severity if open_ else None

    def exit_code(self, fail_on: str = "error") -> int:
        """1 if a finding not accepted is at or above ``fail_on`` (``"never"``: always 0)."""
        check_choice(fail_on, "fail_on", "audit", FAIL_ON)
        if fail_on == "never":
            return 0
        return int(any(f.counts_for(fail_on) for f in self.findings))

    def summary(self) -> str:
        c = self.counts()
        accepted = f", {c['accepted']} accepted" if c["accepted"] else ""
        return (
            f"{c['error']} error(s), {c['warning']} warning(s), {c['info']} info{accepted}; "
            f"{len(self.passed)} passed, {len(self.not_applicable)} not applicable"
        )

    # ---------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(
            {
                "format_version": self.format_version,
                "table": dict(self.table),
                "spec": dict(self.spec),
                "settings": dict(self.settings),
                "summary": self.counts(),
                "findings": [f.to_dict() for f in self.findings],
                "passed": list(self.passed),
                "not_applicable": [dict(d) for d in self.not_applicable],
                "timings": {k: round(v, 4) for k, v in self.timings.items()},
            }
        )

    def to_json(self, *, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AuditReport:
        return cls(
            table=d["table"],
            spec=d["spec"],
            findings=tuple(Finding.from_dict(f) for f in d["findings"]),
            passed=tuple(d["passed"]),
            not_applicable=tuple(d["not_applicable"]),
            timings=d.get("timings", {}),
            settings=d.get("settings", {}),
            format_version=d.get("format_version", FORMAT_VERSION),
        )

    def to_markdown(self) -> str:
        """A human-readable report (GitHub-flavoured Markdown)."""
        t = self.table
        lines = [
            "# Data audit",
            "",
            f"Table: {t.get('rows')} rows × {t.get('columns')} columns"
            + (f", sha256 `{t['sha256'][:16]}…`" if t.get("sha256") else "")
            + ".  ",
            "Roles: "
            + ", ".join(f"{k} = {_md(v)}" for k, v in self.spec.items() if v not in (None, [], ()))
            + ".",
            "",
            f"**{self.summary()}.**",
            "",
        ]
        if self.findings:
            lines += ["| severity | code | finding | evidence | fix |", "|---|---|---|---|---|"]
            for f in self.findings:
                severity = f.severity if f.accepted is None else f"{f.severity} (accepted)"
                fix = f.fix if f.accepted is None else f"accepted: {f.accepted}"
                lines.append(
                    f"| {severity} | {f.code} | {_md(f.message)} | {_md(evidence_text(f.evidence))} | {_md(fix)} |"
                )
            lines.append("")
        if self.passed:
            lines += ["## Passed", "", ", ".join(self.passed), ""]
        if self.not_applicable:
            lines += ["## Not applicable", ""]
            lines += [f"- {d['code']}: {d['reason']}" for d in self.not_applicable]
            lines.append("")
        if self.timings:
            slowest = sorted(self.timings.items(), key=lambda kv: -kv[1])[:5]
            lines += ["## Timings", "", ", ".join(f"{k} {v:.2f} s" for k, v in slowest), ""]
        return "\n".join(lines)


def evidence_text(evidence: Mapping[str, Any], limit: int = 4) -> str:
    """Compact ``key=value`` rendering of the first few evidence entries."""
    parts = []
    for k, v in list(evidence.items())[:limit]:
        if isinstance(v, float):
            parts.append(f"{k}={v:.3g}")
        elif isinstance(v, Mapping):
            inner = ", ".join(
                f"{ik}: {iv:.3g}" if isinstance(iv, float) else f"{ik}: {iv}"
                for ik, iv in list(v.items())[:3]
            )
            parts.append(f"{k}={{{inner}{', …' if len(v) > 3 else ''}}}")
        elif isinstance(v, list):
            parts.append(f"{k}=[{', '.join(str(x) for x in v[:3])}{', …' if len(v) > 3 else ''}]")
        else:
            parts.append(f"{k}={v}")
    return "; ".join(parts)


def _md(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    return str(value).replace("|", "\\|").replace("\n", " ")
