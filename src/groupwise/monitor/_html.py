"""``monitor.html``: one self-contained page (plots inlined as PNG, no external assets)."""

from __future__ import annotations

import base64
import io
import math

import numpy as np

from groupwise.drift import RECONSTRUCTION, SCORE

__all__ = ["render_html"]

_STATUS_COLOUR = {"ok": "#2e7d32", "warning": "#b26a00", "alert": "#c62828", "too few rows": "#777"}
#: Features drawn in the statistic-over-chunks plot (the most drifted ones).
PLOTTED_FEATURES = 4
#: Features in the one-chunk bar chart.
BARRED_FEATURES = 15


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _tested(result):
    return [c for c in result.chunks if len(c.features)]


def _ratio_plot(chunk) -> str:
    """One chunk: each column's divergence as a multiple of its calibrated threshold."""
    import matplotlib.pyplot as plt

    rows = [(r["feature"], r["statistic"] / r["threshold"] if r["threshold"] > 0 else np.nan, bool(r["drifted"]))
            for r in chunk.features.head(BARRED_FEATURES).to_dict("records")]  # fmt: skip
    for label, d in ((SCORE, chunk.output), (RECONSTRUCTION, chunk.multivariate)):
        if d:
            rows.append((label, d["statistic"] / d["threshold"] if d["threshold"] > 0 else np.nan, bool(d["drifted"])))  # fmt: skip
    rows = rows[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(rows) + 1))
    y = np.arange(len(rows))
    ax.barh(y, [r[1] for r in rows], color=["#c62828" if r[2] else "#6a8caf" for r in rows])
    ax.axvline(1.0, color="#333", lw=1, ls="--")
    ax.set_yticks(y, [r[0] for r in rows], fontsize=8)
    ax.set_xlabel(
        "divergence ÷ single-test threshold (dashed: the threshold; red: drifted after BH)",
        fontsize=8,
    )
    ax.set_title(f"{chunk.chunk}: the {len(chunk.features.head(BARRED_FEATURES))} least stable features", fontsize=9, loc="left")  # fmt: skip
    fig.tight_layout()
    return _png(fig)


def _statistic_plot(result) -> str | None:
    """Per feature: the divergence of each chunk next to its calibrated threshold (one
    chunk: a bar per feature)."""
    import matplotlib.pyplot as plt

    chunks = _tested(result)
    if not chunks:
        return None
    if len(chunks) == 1:
        return _ratio_plot(chunks[0])
    worst: dict[str, float] = {}
    for c in chunks:
        for row in c.features.itertuples():
            worst[row.feature] = min(worst.get(row.feature, 1.0), row.p_value)
    names = sorted(worst, key=worst.get)[:PLOTTED_FEATURES]
    extra = [n for n in (SCORE, RECONSTRUCTION) if any((c.output if n == SCORE else c.multivariate) for c in chunks)]  # fmt: skip
    panels = names + extra
    cols = 2
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(10, 2.4 * rows), squeeze=False)
    x = np.arange(len(chunks))
    for ax, name in zip(axes.ravel(), panels, strict=False):
        stat, thr, exp, flag = [], [], [], []
        for c in chunks:
            if name == SCORE:
                d = c.output or {}
            elif name == RECONSTRUCTION:
                d = c.multivariate or {}
            else:
                hit = c.features.loc[c.features["feature"] == name]
                d = hit.iloc[0].to_dict() if len(hit) else {}
            stat.append(d.get("statistic", np.nan))
            thr.append(d.get("threshold", np.nan))
            exp.append(d.get("expected", np.nan))
            flag.append(bool(d.get("drifted", False)))
        stat, thr, exp, flag = map(np.asarray, (stat, thr, exp, flag))
        ax.fill_between(x, 0, thr, color="#cfe3f5", step="mid", label="no-drift band (α per test)")
        ax.plot(x, exp, color="#6a8caf", lw=1, ls="--", label="expected without drift")
        ax.plot(x, stat, color="#333", lw=1)
        ax.scatter(x[~flag], stat[~flag], s=14, color="#333", zorder=3)
        ax.scatter(x[flag], stat[flag], s=28, color="#c62828", zorder=4, label="drifted")
        ax.set_title(name, fontsize=9, loc="left")
        ax.set_ylabel("JS divergence", fontsize=8)
        ax.tick_params(labelsize=7)
        if len(chunks) <= 20:
            ax.set_xticks(x, [c.chunk for c in chunks], rotation=45, ha="right", fontsize=7)
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return _png(fig)


def _performance_plot(result) -> str | None:
    """The estimated (and measured) primary metric per chunk against the promised interval."""
    import matplotlib.pyplot as plt

    chunks = _tested(result)
    m = result.metric
    est = np.asarray([c.estimated.get(m, np.nan) for c in chunks], dtype=float)
    real = np.asarray([c.realised.get(m, np.nan) for c in chunks], dtype=float)
    if not chunks or (np.isnan(est).all() and np.isnan(real).all()):
        return None
    fig, ax = plt.subplots(figsize=(10, 3))
    x = np.arange(len(chunks))
    p = result.promised.get(m)
    if p:
        ax.axhspan(p["ci_low"], p["ci_high"], color="#dff0d8", label="promised 95% CI")
        ax.axhline(p["estimate"], color="#2e7d32", lw=1)
    ax.plot(x, est, "o-", color="#1f4e79", label=f"estimated {m} (no labels)")
    if not np.isnan(real).all():
        ax.plot(x, real, "s--", color="#b26a00", label=f"measured {m} (labels)")
    if len(chunks) <= 20:
        ax.set_xticks(x, [c.chunk for c in chunks], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel(m)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Monitoring of run {{ r.run_id }}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
table{border-collapse:collapse;margin:0.5rem 0 1.5rem;font-size:0.88rem}
th,td{border-bottom:1px solid #ddd;padding:0.25rem 0.6rem;text-align:left;vertical-align:top}
th{background:#f4f4f4} td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:0.05rem 0.5rem;border-radius:0.6rem;color:#fff;font-size:0.8rem}
.note{color:#555;font-size:0.88rem} img{max-width:100%}
details{margin:0.3rem 0 1rem}
</style></head><body>
<h1>Monitoring of run {{ r.run_id }}</h1>
<p>Status: <span class="badge" style="background:{{ colour[r.status] }}">{{ r.status }}</span>
 — {{ r.chunks | length }} chunk(s), {{ r.chunking }}; reference: {{ r.reference.rows }} training rows{% if r.reference.group_col %}, {{ r.reference.groups }} groups of <code>{{ r.reference.group_col }}</code>{% endif %}.</p>
<h2>Chunks</h2>
<table><tr><th>chunk</th><th>rows</th><th>status</th><th>drifted features</th><th>model output</th><th>rows as a whole</th><th>estimated {{ r.metric }}</th><th>measured {{ r.metric }}</th><th>why</th></tr>
{% for c in r.chunks %}<tr><td>{{ c.chunk }}</td><td class="num">{{ c.rows }}</td>
<td><span class="badge" style="background:{{ colour[c.status] }}">{{ c.status }}</span></td>
<td>{{ c.drifted | length }}{% if c.drifted %}: {{ c.drifted[:4] | join(', ') }}{% if c.drifted | length > 4 %} …{% endif %}{% endif %}</td>
<td>{% if c.output %}{{ 'drifted' if c.output.drifted else 'stable' }} (p {{ '%.2g' % c.output.p_value }}){% else %}—{% endif %}</td>
<td>{% if c.multivariate %}{{ 'drifted' if c.multivariate.drifted else 'stable' }} (p {{ '%.2g' % c.multivariate.p_value }}){% else %}—{% endif %}</td>
<td class="num">{{ fmt(c.estimated.get(r.metric)) }}</td><td class="num">{{ fmt(c.realised.get(r.metric)) }}</td>
<td>{{ c.reasons | join('; ') }}</td></tr>
{% endfor %}</table>
{% if promised %}<p class="note">Promised {{ r.metric }}: {{ fmt(promised.estimate) }} [{{ fmt(promised.ci_low) }}, {{ fmt(promised.ci_high) }}] (the run's headline estimate and 95% interval). An estimate or measurement worse than the interval's end is an alert.</p>{% endif %}
{% if perf %}<h2>Performance over chunks</h2><img alt="estimated performance over chunks" src="data:image/png;base64,{{ perf }}">{% endif %}
{% if stat %}<h2>Drift statistic over chunks</h2>
<p class="note">Jensen–Shannon divergence of each chunk from the reference; the band is what a single test at α = {{ r.alpha }} lets through at that chunk's size, from the reference's own variation{% if r.reference.group_col %} (including how far training groups were from each other){% endif %}. Red: drifted after Benjamini–Hochberg across features.</p>
<img alt="drift statistic over chunks" src="data:image/png;base64,{{ stat }}">{% endif %}
<h2>Per chunk</h2>
{% for c in r.chunks if c.features | length %}
<details{% if c.status != 'ok' %} open{% endif %}><summary><b>{{ c.chunk }}</b> — {{ c.status }}, {{ c.rows }} rows</summary>
<table><tr><th>feature</th><th>divergence</th><th>expected</th><th>threshold</th><th>p</th><th>q (BH)</th><th>mean shift (SD)</th><th>missing ref → now</th><th>unseen</th><th>out of range</th></tr>
{% for f in c.features.to_dict('records') %}<tr{% if f.drifted %} style="background:#fdecea"{% endif %}><td>{{ f.feature }}</td>
<td class="num">{{ '%.4f' % f.statistic }}</td><td class="num">{{ '%.4f' % f.expected }}</td><td class="num">{{ '%.4f' % f.threshold }}</td>
<td class="num">{{ '%.2g' % f.p_value }}</td><td class="num">{{ '%.2g' % f.q_value }}</td><td class="num">{{ fmt(f.get('mean_shift_sd')) }}</td>
<td class="num">{{ '%.1f%%' % (100 * f.missing_reference) }} → {{ '%.1f%%' % (100 * f.missing_current) }}</td>
<td class="num">{{ pct(f.get('unseen_share')) }}</td><td class="num">{{ pct(f.get('out_of_range_share')) }}</td></tr>
{% endfor %}</table>
{% if c.estimated %}<p class="note">Estimated without labels: {% for k, v in c.estimated.items() %}{{ k }} {{ fmt(v) }}{% if not loop.last %} · {% endif %}{% endfor %}</p>{% endif %}
</details>
{% endfor %}
<h2>How to read this</h2>
<ul class="note">{% for a in r.assumptions %}<li>{{ a }}</li>{% endfor %}{% for n in r.notes %}<li>{{ n }}</li>{% endfor %}</ul>
</body></html>
"""


def _number(v, pattern: str = "{:.3f}", scale: float = 1.0) -> str:
    """A number for the page ("—" when missing or not finite; text shown as it is)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "—" if v is None else str(v)
    return pattern.format(scale * f) if math.isfinite(f) else "—"


def _fmt(v) -> str:
    return _number(v)


def _pct(v) -> str:
    return _number(v, "{:.1f}%", 100.0)


def render_html(result) -> str:
    import jinja2

    env = jinja2.Environment(autoescape=True)
    return env.from_string(_TEMPLATE).render(
        r=result, colour=_STATUS_COLOUR, fmt=_fmt, pct=_pct,
        promised=result.promised.get(result.metric),
        perf=_performance_plot(result), stat=_statistic_plot(result),
    )  # fmt: skip
