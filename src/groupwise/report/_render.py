"""Render the run summary to report.html (self-contained) and model_card.md."""

from __future__ import annotations

import shlex
from pathlib import Path

from groupwise._format import fmt
from groupwise.io import write_text
from groupwise.report._figures import draw_plots
from groupwise.report._summarize import summarize_run

__all__ = ["render_run"]


def _ci(d: dict | None, digits: int = 3) -> str:
    if not d:
        return "—"
    return f"{fmt(d.get('estimate'), digits)} [{fmt(d.get('ci_low'), digits)}, {fmt(d.get('ci_high'), digits)}]"


def _env(autoescape: bool):
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("groupwise.report", "templates"),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    env.filters["ci"] = _ci
    env.filters["shell"] = shlex.quote
    return env


def render_run(root: str | Path, *, plots: bool = False) -> dict[str, Path]:
    """Write ``report.html`` and ``model_card.md`` into the run directory ``root``
    (a :class:`~groupwise.runs.Run` or its path); with ``plots=True`` redraw the plots first."""
    from jinja2 import UndefinedError

    from groupwise.exceptions import BrokenRunError
    from groupwise.runs import Run

    run = root if isinstance(root, Run) else Run(root)
    run.require()
    try:
        if plots:
            draw_plots(run)
        summary = summarize_run(run)
        html = _env(True).get_template("report.html.j2").render(**summary)
        images = [{**im, "src": im["file"]} for im in summary["images"]]
        card = _env(False).get_template("model_card.md.j2").render(**{**summary, "images": images})
    except (UndefinedError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise BrokenRunError(
            f"Run {run.path.name!r} cannot be reported: a metric file does not have the content "
            f"groupwise wrote ({type(exc).__name__}: {exc}). Restore the run directory from a "
            "backup or retrain."
        ) from None
    return {
        "report": write_text(html, run.layout.report),
        "model_card": write_text(card, run.layout.model_card),
    }
