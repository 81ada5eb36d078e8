"""The post-incident report as one self-contained HTML file: it opens offline, mailed to someone
with no access to the dashboard. plotly.js is inline (from the installed plotly package, no CDN);
the charts are the Incident page's figures (``calmops.health.figures``) drawn from the report's own
data. Every text is HTML-escaped; the chart JSON cannot close its ``<script>``.
"""

from __future__ import annotations

import functools
import html
from datetime import UTC, datetime

import pandas as pd
from plotly.io.json import to_json_plotly

from calmops.health.charts import ChangeEvent, ChartWindow, Threshold
from calmops.health.figures import PLOTLY_CONFIG, metric_figure
from calmops.reports import text as t
from calmops.vocabulary import Severity

STYLE = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9dee3; --accent: #c0392b; }
* { box-sizing: border-box; }
body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       max-width: 1100px; margin: 2rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; } h2 { font-size: 1.2rem; margin: 2rem 0 .5rem;
       border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
h3 { font-size: 1rem; margin: 1rem 0 .25rem; }
.meta, .muted { color: var(--muted); }
.badge { display: inline-block; padding: 0 .5rem; border-radius: .75rem;
       background: #eef1f4; font-size: .85rem; margin-right: .25rem; }
.sev-critical { background: #fdecea; color: #a61b0f; } .sev-high { background: #fff1e6; color: #a64b00; }
.sev-warning { background: #fff8e1; color: #7a5a00; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: .5rem 1rem;
       border: 1px solid var(--line); border-radius: .5rem; padding: .75rem 1rem; margin: 1rem 0; }
.facts div span { display: block; color: var(--muted); font-size: .8rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f5f7f9; } td.num, th.num { text-align: right; white-space: nowrap; }
td.ts { white-space: nowrap; }
blockquote { margin: .5rem 0; padding: .5rem 1rem; border-left: 3px solid var(--line); background: #fafbfc;
       white-space: pre-wrap; }
.chart { border: 1px solid var(--line); border-radius: .5rem; padding: .5rem; margin: .75rem 0;
       break-inside: avoid; }
.brief { border: 1px solid var(--line); border-radius: .5rem; padding: .25rem 1rem; }
footer { margin-top: 2rem; border-top: 1px solid var(--line); padding-top: .5rem; color: var(--muted); }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  h2 { break-after: avoid; } table, .chart, .brief, blockquote { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  a[href]::after { content: " (" attr(href) ")"; font-size: .8em; }
  .chart { border: none; }
}
"""


@functools.cache
def plotly_js() -> str:
    """plotly.js as the installed plotly ships it (~4.8 MB), read once per process."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def figure(chart: dict) -> dict | None:
    """A chart of the report as the Incident page draws it (UTC times), or None without data."""
    rows = [
        (s["service"], _iso(p[0]), p[1], p[2], p[3])
        for s in chart["series"]
        for p in s["points"]
    ]  # fmt: skip
    if not rows:
        return None
    frame = pd.DataFrame(rows, columns=["service", "bucket", "avg", "min", "max"])
    frame["bucket"] = pd.DatetimeIndex(frame["bucket"])
    for column in ("avg", "min", "max"):
        frame[column] = frame[column].astype("float64")
    frame["samples"] = (frame["max"] > frame["min"]).astype("float64") + 1.0  # a band where buckets vary
    window = chart["window"]
    win = ChartWindow(
        _iso(window["start"]), _iso(window["end"]), int(window.get("bucket_s") or 60), False, ""
    )
    lines = [
        Threshold(float(x["value"]), str(x.get("comparison") or ""), Severity(x["severity"]))
        for x in chart["thresholds"]
    ]
    events = [
        ChangeEvent(
            0, ev["service"], ev["kind"], _iso(ev["ts"]), ev.get("description") or "", ev.get("version")
        )
        for ev in chart.get("events") or []
    ]
    services = [s["service"] for s in chart["series"]]
    shade = (_iso(chart["incident"]["start"]), _iso(chart["incident"]["end"]))
    spec = metric_figure(
        chart["metric"], frame, services=services, win=win, tz=UTC, lines=lines, events=events, shade=shade
    )
    # Streamlit's theme makes room for the axes; a bare page must ask Plotly to. The <h3> is the title.
    layout = spec["layout"]
    layout.pop("title", None)
    layout["margin"] = {"l": 56, "r": 16, "t": 28, "b": 36}
    layout["xaxis"]["automargin"] = layout["yaxis"]["automargin"] = True
    return spec


def _script_json(value: object) -> str:
    """JSON safe inside a <script>: no ``</script>``, ``<!--`` or line separators can break out."""
    text = to_json_plotly(value)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _table(header: list[str], rows: list[list[str]], numeric: tuple[int, ...] = ()) -> str:
    """Cells are already-escaped HTML; columns in ``numeric`` align right."""
    if not rows:
        return '<p class="muted">None.</p>'
    head = "".join(f'<th class="{"num" if i in numeric else ""}">{h}</th>' for i, h in enumerate(header))
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"num" if i in numeric else ("ts" if i == 0 else "")}">{c}</td>'
            for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _brief(title: str, brief: dict | None, empty: str) -> str:
    if not brief:
        return f'<h2>{title}</h2><p class="muted">{empty}</p>'
    rec = brief.get("recommendation") or {}
    items = [
        f"<li><b>Pattern:</b> {e(brief.get('pattern'))} · <b>confidence:</b> {e(brief.get('confidence'))} · "
        f"<b>version:</b> {e(brief.get('version'))}</li>"
    ]
    if rec:
        items.append(
            f"<li><b>Recommendation:</b> {e(rec.get('action'))} ({e(rec.get('risk'))} risk, "
            f"{e(rec.get('status'))}): {e(rec.get('reason'))}</li>"
        )
    risk = (brief.get("risk_if_no_action") or {}).get("text")
    if risk:
        items.append(f"<li><b>Risk if no action:</b> {e(risk)}</li>")
    items.append(f"<li><b>Customer impact:</b> {'yes' if brief.get('customer_impact') else 'no'}</li>")
    return (
        f'<h2>{title}</h2><div class="brief"><p>{e(brief.get("summary"))}</p><ul>{"".join(items)}</ul></div>'
    )


def _fact(label: str, value: str) -> str:
    return f"<div><span>{label}</span>{value}</div>"


def to_html(data: dict) -> str:
    """The whole report (schema ``calmops.incident-report/1``) as one HTML document."""
    i = data["incident"]
    parts: list[str] = []
    add = parts.append
    add(f"<h1>{e(i['title'])}</h1>")
    affected = ", ".join(e(s) for s in i["services"][1:])
    add(
        f'<p class="meta"><span class="badge sev-{e(i["severity"])}">'
        f"{e(t.SEVERITY_WORDS.get(i['severity'], i['severity']))}</span>"
        f'<span class="badge">{e(i["status"])}</span>'
        + "".join(f'<span class="badge">{e(f)}</span>' for f in i["flags"])
        + f" <b>{e(i['company_name'])}</b> ({e(i['company'])}) · incident #{e(i['id'])} · "
        f"<b>{e(i['service'])}</b>" + (f" · affected: {affected}" if affected else "") + "</p>"
    )
    add(
        '<div class="facts">'
        + _fact("Started", t.when(i["started_at"]))
        + _fact("Detected", t.when(i["detected_at"]))
        + _fact("Acknowledged", f"{t.when(i['acknowledged_at'])}<br>TTA {t.took(i['time_to_acknowledge_s'])}")
        + _fact("Resolved", f"{t.when(i['resolved_at'])}<br>TTR {t.took(i['time_to_resolve_s'])}")
        + _fact("Assignee", e(i["assignee"]) if i["assignee"] else "nobody")
        + "</div>"
    )
    add(_brief("Brief at detection", data["brief_at_detection"], "No brief."))
    add(_brief("Brief at resolution", data["brief_at_resolution"], "Not resolved yet."))
    add("<h2>Metrics</h2>")
    figures: list[tuple[str, dict]] = []
    for n, chart in enumerate(data["charts"]):
        spec = figure(chart)
        stats = t.chart_stats(chart)
        metric = chart["metric"]
        thresholds = ", ".join(
            f"{e(x['severity'])} {e(x.get('comparison', ''))} {e(t.value(metric, x['value']))}"
            for x in chart["thresholds"]
        )
        add(f'<div class="chart"><h3>{e(chart["label"])}</h3>')
        if spec is None:
            add('<p class="muted">No data from the incident\'s services in this window.</p>')
        else:
            figures.append((f"chart-{n}", spec))
            add(f'<div id="chart-{n}" class="plot"></div>')
        add(
            f'<p class="muted">{t.when(chart["window"]["start"])} to {t.when(chart["window"]["end"])} · '
            f"shaded: the incident · dashed: thresholds ({thresholds or 'none'})</p>"
        )
        add(
            _table(
                ["Service", "Min", "Avg", "Max"],
                [
                    [
                        e(s["service"]),
                        e(t.value(metric, s["min"])),
                        e(t.value(metric, s["avg"])),
                        e(t.value(metric, s["max"])),
                    ]
                    for s in stats
                ],
                numeric=(1, 2, 3),
            )
        )
        add("</div>")
    if not data["charts"]:
        add('<p class="muted">No chart data.</p>')
    add("<h2>Timeline</h2>")
    add(
        _table(
            ["Time", "Kind", "Who", "What", "Outcome"],
            [
                [e(t.when(x["ts"])), e(x["kind"]), e(x["actor"]), e(x["message"]), e(x["outcome"] or "")]
                for x in data["timeline"]
            ],
        )
    )
    add("<h2>Decisions</h2>")
    add(
        _table(
            ["When", "Who", "Decision", "Action", "Risk", "Note"],
            [
                [
                    e(t.when(d["decided_at"])),
                    e(d["decided_by"]),
                    e(d["status"]),
                    e(d["action"]),
                    e(d["risk"]),
                    e(d["note"] or ""),
                ]
                for d in data["decisions"]
            ],
        )
    )
    add("<h2>Actions</h2>")
    add(
        _table(
            ["When", "Action", "Kind", "Service", "Outcome", "Verdict", "Before", "After", "Requested by"],
            [
                [
                    e(t.when(a["at"])),
                    e(a["action"]),
                    e(a["kind"]),
                    e(a["service"]),
                    e(a["outcome"]),
                    e(a["verdict"] or ""),
                    e(t.value(a["metric"], a["before_value"])),
                    e(t.value(a["metric"], a["after_value"])),
                    e(a["requested_by"]),
                ]
                for a in data["actions"]
            ],
            numeric=(6, 7),
        )
    )
    add("<h2>Escalations</h2>")
    add(
        _table(
            ["When", "By", "Reason", "Note"],
            [
                [e(t.when(x["at"])), e(x["by"] or ""), e(x["reason"] or ""), e(x["note"] or "")]
                for x in data["escalations"]
            ],
        )
    )
    add("<h2>Customer messages sent</h2>")
    sent = [m for m in data["customer_messages"] if m["sent"]]
    if not sent:
        add('<p class="muted">None sent.</p>')
    for m in sent:
        add(
            f'<p class="meta">Version {e(m["version"])} · {e(m["state"])} · sent {e(t.when(m["sent_at"]))} · '
            f"approved by {e(m['approved_by'] or '—')}</p><blockquote>{e(m['text'])}</blockquote>"
        )
    add("<h2>Review</h2>")
    review = data["review"]
    if not review:
        add('<p class="muted">No review: the incident is not resolved.</p>')
    else:
        state = (
            f"Saved version {e(review.get('version'))} by {e(review.get('author'))}, "
            f"{e(t.when(review.get('created_at')))}"
            if review.get("saved")
            else "Draft, pre-filled from the timeline (not saved yet)"
        )
        add(
            f'<p class="muted">{state}.</p><h3>Root cause</h3>'
            f"<blockquote>{e(t.root_cause(review))}</blockquote>"
        )
        for title, items in t.review_sections(review):
            lis = "".join(f"<li>{e(x)}</li>" for x in items if x) or "<li>none</li>"
            add(f"<h3>{title}</h3><ul>{lis}</ul>")
        if review.get("notes"):
            add(f"<h3>Notes</h3><blockquote>{e(review['notes'])}</blockquote>")
    add(
        f'<footer>Open the incident in CalmOps: <a href="{e(data["link"])}">{e(data["link"])}</a><br>'
        f"Generated {e(t.when(data['generated_at']))} · {e(data['schema'])}</footer>"
    )
    plots = "".join(
        f"Plotly.newPlot({_script_json(div)}, fig{n}.data, fig{n}.layout, config);"
        for n, (div, _) in enumerate(figures)
    )
    specs = "".join(f"var fig{n} = {_script_json(spec)};\n" for n, (_, spec) in enumerate(figures))
    config = _script_json({**PLOTLY_CONFIG, "staticPlot": False})
    title = f"Incident #{e(i['id'])}: {e(i['title'])} · {e(i['company_name'])}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{STYLE}</style></head><body>"
        + "".join(parts)
        + (
            f"<script>{plotly_js()}</script><script>var config = {config};\n{specs}{plots}</script>"
            if figures
            else ""
        )
        + "</body></html>\n"
    )
