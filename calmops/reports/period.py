"""The period report of one company: what happened between ``since`` and ``until``, and what to fix.

``period_data`` reads the store (every query scoped by company, values bound) into a dict with a
stable schema (``calmops.period-report/1``); ``to_markdown``, ``to_html`` (self-contained: plotly.js
inline, every piece of stored text escaped) and ``to_pdf`` (fpdf2 + matplotlib, offline) render it.

Schema: ``{"schema", "generated_at", "company": {company, name}, "period": {since, until, bucket},
"totals": {incidents, resolved, open, escalated, median_tta_s, median_ttr_s}, "by_pattern",
"by_service", "by_severity": [{key, count}], "trend": [{bucket, incidents, median_tta_s,
median_ttr_s}], "actions": [{action, attempts, succeeded, failed, skipped, effective, no_effect,
worse, pending}], "escalations": {count, reasons: [{reason, count}]}, "proposals": [{incident_id,
incident_title, id, rule, metric, service, text, current, proposed}], "incidents": [{id, title,
service, severity, status, pattern, started_at, time_to_acknowledge_s, time_to_resolve_s}]}``.
Incidents count when they *started* in ``[since, until)``; actions and escalations when they happened
in it; proposals come from the reviews of the period's resolved incidents, minus those applied.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from calmops import clock, companies
from calmops.reports import Progress, quiet
from calmops.reports.fmt import duration, when, words
from calmops.reports.markdown import escape
from calmops.store.db import Cursor
from calmops.timeio import to_iso

SCHEMA = "calmops.period-report/1"
DAILY_UP_TO = timedelta(days=31)  # longer periods trend per week
CONTENT_TYPES = {
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}
FORMATS = tuple(CONTENT_TYPES)


class PeriodError(ValueError):
    """Dates that make no period (until not after since)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message, self.field = message, field


def _counts(cur: Cursor, column: str, company: str, since: datetime, until: datetime) -> list[dict]:
    rows = cur.execute(
        f"""SELECT {column} AS k, count(*) FROM incidents
            WHERE company = ? AND started_at >= ? AND started_at < ? GROUP BY k ORDER BY count(*) DESC, k""",
        [company, since, until],
    ).fetchall()
    return [{"key": k, "count": n} for k, n in rows]


def _seconds(value: object) -> float | None:
    return None if value is None else round(float(value), 1)


def _proposals(cur: Cursor, *, company: str, resolved: list[tuple[int, str]]) -> list[dict]:
    """Threshold proposals of the period's reviews that no rule change has applied yet."""
    from calmops.review import backtest, prefill
    from calmops.workflow import common
    from calmops.workflow.errors import NotFound

    applied = {
        r[0]
        for r in cur.execute(
            "SELECT proposal_id FROM rule_changes WHERE company = ? AND proposal_id IS NOT NULL", [company]
        ).fetchall()
    }
    saved = {
        incident_id: json.loads(body).get("alert_improvements") or []
        for incident_id, body in cur.execute(
            """SELECT incident_id, arg_max(body, version) FROM reviews WHERE company = ?
               GROUP BY incident_id""",
            [company],
        ).fetchall()
    }
    out: list[dict] = []
    seen: set[str] = set()
    drafts = {}
    for incident_id, _ in resolved:
        if incident_id not in saved:
            try:
                drafts[incident_id] = common.load(cur, company=company, incident_id=incident_id)
            except NotFound:
                continue
    ends = [d.summary.resolved_at for d in drafts.values() if d.summary.resolved_at is not None]
    cache: dict[str, backtest.Series] = {}

    def series_of(metric: str) -> backtest.Series:
        """Each metric read once, over every draft's 14 days (the backtest slices its own window)."""
        if metric not in cache:
            cache[metric] = backtest.load_series(
                cur, company=company, metric=metric, since=min(ends) - backtest.HISTORY, until=max(ends)
            )
        return cache[metric]

    for incident_id, title in resolved:
        if incident_id in saved:  # the review a person saved (what get_review answers)
            items = saved[incident_id]
        elif incident_id in drafts:  # the pre-filled draft's proposals, without the rest of the draft
            items = prefill.alert_improvements(cur, detail=drafts[incident_id], series_of=series_of)
        else:
            continue
        review = {"alert_improvements": items}
        for item in review.get("alert_improvements") or []:
            pid = item.get("id")
            if item.get("kind") != "threshold" or item.get("applied") or pid in applied or pid in seen:
                continue
            seen.add(pid)
            out.append(
                {
                    "incident_id": incident_id,
                    "incident_title": title,
                    "id": pid,
                    "rule": item.get("rule"),
                    "metric": item.get("metric"),
                    "service": item.get("service"),
                    "text": item.get("text"),
                    "current": item.get("current"),
                    "proposed": item.get("proposed"),
                }
            )
    return out


def period_data(cur: Cursor, *, company: str, since: datetime, until: datetime) -> dict:
    """The period report's data for ``company`` over ``[since, until)``."""
    if until <= since:
        raise PeriodError("until must be after since", "until")
    found = companies.get_company(cur, company=company)  # UnknownCompanyError → 404
    args = [company, since, until]
    bucket = "day" if until - since <= DAILY_UP_TO else "week"
    totals = cur.execute(
        """SELECT count(*), count(resolved_at), count(*) - count(resolved_at), count(escalated_at),
                  median(epoch(acknowledged_at) - epoch(detected_at)),
                  median(epoch(resolved_at) - epoch(started_at))
           FROM incidents WHERE company = ? AND started_at >= ? AND started_at < ?""",
        args,
    ).fetchall()[0]
    trend = cur.execute(
        f"""SELECT date_trunc('{bucket}', started_at AT TIME ZONE 'UTC') AS b, count(*),
                   median(epoch(acknowledged_at) - epoch(detected_at)),
                   median(epoch(resolved_at) - epoch(started_at))
            FROM incidents WHERE company = ? AND started_at >= ? AND started_at < ?
            GROUP BY b ORDER BY b""",
        args,
    ).fetchall()
    actions = cur.execute(
        """SELECT action, count(*) FILTER (WHERE outcome <> 'skipped'),
                  count(*) FILTER (WHERE outcome = 'succeeded'), count(*) FILTER (WHERE outcome = 'failed'),
                  count(*) FILTER (WHERE outcome = 'skipped'), count(*) FILTER (WHERE verdict = 'effective'),
                  count(*) FILTER (WHERE verdict = 'no_effect'), count(*) FILTER (WHERE verdict = 'worse'),
                  count(*) FILTER (WHERE verdict = 'pending')
           FROM action_attempts WHERE company = ? AND kind = 'auto' AND requested_at >= ? AND requested_at < ?
           GROUP BY action ORDER BY count(*) DESC, action""",
        args,
    ).fetchall()
    escalations = cur.execute(
        """SELECT coalesce(nullif(json_extract_string(data, '$.reason'), ''), message) AS reason, count(*)
           FROM incident_events WHERE company = ? AND kind = 'escalated' AND ts >= ? AND ts < ?
           GROUP BY reason ORDER BY count(*) DESC, reason""",
        args,
    ).fetchall()
    listed = cur.execute(
        """SELECT id, title, service, severity, status, coalesce(pattern, 'unknown'), started_at,
                  epoch(acknowledged_at) - epoch(detected_at), epoch(resolved_at) - epoch(started_at)
           FROM incidents WHERE company = ? AND started_at >= ? AND started_at < ? ORDER BY started_at, id""",
        args,
    ).fetchall()
    resolved = [(r[0], r[1]) for r in listed if r[4] == "resolved"]
    return {
        "schema": SCHEMA,
        "generated_at": to_iso(clock.now()),
        "company": {"company": found.company, "name": found.name},
        "period": {"since": to_iso(since), "until": to_iso(until), "bucket": bucket},
        "totals": {
            "incidents": totals[0],
            "resolved": totals[1],
            "open": totals[2],
            "escalated": totals[3],
            "median_tta_s": _seconds(totals[4]),
            "median_ttr_s": _seconds(totals[5]),
        },
        "by_pattern": _counts(cur, "coalesce(pattern, 'unknown')", company, since, until),
        "by_service": _counts(cur, "service", company, since, until),
        "by_severity": _counts(cur, "severity", company, since, until),
        "trend": [
            {
                "bucket": b.strftime("%Y-%m-%d"),
                "incidents": n,
                "median_tta_s": _seconds(tta),
                "median_ttr_s": _seconds(ttr),
            }
            for b, n, tta, ttr in trend
        ],
        "actions": [
            dict(
                zip(
                    (
                        "action",
                        "attempts",
                        "succeeded",
                        "failed",
                        "skipped",
                        "effective",
                        "no_effect",
                        "worse",
                        "pending",
                    ),
                    row,
                    strict=True,
                )
            )
            for row in actions
        ],
        "escalations": {
            "count": sum(n for _, n in escalations),
            "reasons": [{"reason": r, "count": n} for r, n in escalations],
        },
        "proposals": _proposals(cur, company=company, resolved=resolved),
        "incidents": [
            {
                "id": r[0],
                "title": r[1],
                "service": r[2],
                "severity": r[3],
                "status": r[4],
                "pattern": r[5],
                "started_at": to_iso(r[6]),
                "time_to_acknowledge_s": _seconds(r[7]),
                "time_to_resolve_s": _seconds(r[8]),
            }
            for r in listed
        ],
    }


def file_name(data: dict, fmt: str) -> str:
    """``calmops-period-<company>-<since>-<until>.<ext>`` with the dates as ``YYYYMMDDTHHMMZ``."""

    def stamp(iso: str) -> str:
        return re.sub(r"[^0-9TZ]", "", iso)[:13] + "Z"

    p = data["period"]
    return f"calmops-period-{data['company']['company']}-{stamp(p['since'])}-{stamp(p['until'])}.{fmt}"


# --- the tables every format shows


BREAKDOWNS = (("by_pattern", "By pattern"), ("by_service", "By service"), ("by_severity", "By severity"))


@dataclass(frozen=True)
class Table:
    """One table of the period report, the same in Markdown, HTML and PDF."""

    key: str  # what it shows: a breakdown, "trend", "actions", "escalations", "proposals", "incidents"
    title: str
    head: list[str]
    rows: list[list[object]]
    widths: tuple[float, ...]  # the PDF's relative column widths


def tables(data: dict) -> list[Table]:
    """The report's tables in order: the breakdowns, the trend, actions, escalations, proposals and
    the incidents themselves."""
    bucket = data["period"]["bucket"]
    out = [
        Table(
            key,
            f"Incidents {title.lower()}",
            ["", "Incidents"],
            [[r["key"], r["count"]] for r in data[key]],
            (3, 1),
        )
        for key, title in BREAKDOWNS
    ]
    out.append(
        Table(
            "trend",
            f"Trend (per {bucket})",
            [bucket.capitalize(), "Incidents", "Median time to acknowledge", "Median time to resolve"],
            [
                [r["bucket"], r["incidents"], duration(r["median_tta_s"]), duration(r["median_ttr_s"])]
                for r in data["trend"]
            ],
            (1, 1, 1, 1),
        )
    )
    out.append(
        Table(
            "actions",
            "Automatic actions",
            ["Action", "Attempts", "Succeeded", "Failed", "Skipped", "Effective", "No effect", "Worse"],
            [
                [
                    a["action"],
                    a["attempts"],
                    a["succeeded"],
                    a["failed"],
                    a["skipped"],
                    a["effective"],
                    a["no_effect"],
                    a["worse"],
                ]
                for a in data["actions"]
            ],
            (2.4, 1, 1, 1, 1, 1, 1, 1),
        )
    )
    out.append(
        Table(
            "escalations",
            f"Escalations ({data['escalations']['count']})",
            ["Reason", "Count"],
            [[r["reason"], r["count"]] for r in data["escalations"]["reasons"]],
            (6, 1),
        )
    )
    out.append(
        Table(
            "proposals",
            "Open threshold proposals",
            ["Incident", "Rule", "Proposal"],
            [
                [f"#{x['incident_id']} {words(x['incident_title'])}", x["rule"], x["text"]]
                for x in data["proposals"]
            ],
            (2, 2, 5),
        )
    )
    out.append(
        Table(
            "incidents",
            "Incidents",
            ["#", "Title", "Service", "Severity", "Status", "Pattern", "Started", "TTA", "TTR"],
            [
                [
                    i["id"],
                    i["title"],
                    i["service"],
                    i["severity"],
                    i["status"],
                    i["pattern"],
                    when(i["started_at"]),
                    duration(i["time_to_acknowledge_s"]),
                    duration(i["time_to_resolve_s"]),
                ]
                for i in data["incidents"]
            ],
            (0.7, 3, 1.4, 1.1, 1.2, 1.6, 1.8, 1, 1),
        )
    )
    return out


# --- Markdown


def md(value: object) -> str:
    """Stored text as Markdown that shows it literally (one line, so a table cell stays one cell)."""
    return escape(words(value))


def _md_table(head: list[str], rows: list[list[object]]) -> list[str]:
    if not rows:
        return ["None.", ""]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
    return [*out, ""]


def to_markdown(data: dict) -> str:
    c, p, t = data["company"], data["period"], data["totals"]
    lines = [
        f"# Period report: {md(c['name'])} ({md(c['company'])})",
        "",
        f"{when(p['since'])} to {when(p['until'])} · generated {when(data['generated_at'])}",
        "",
        "## Summary",
        "",
        *_md_table(
            [
                "Incidents",
                "Resolved",
                "Open",
                "Escalated",
                "Median time to acknowledge",
                "Median time to resolve",
            ],
            [
                [
                    t["incidents"],
                    t["resolved"],
                    t["open"],
                    t["escalated"],
                    duration(t["median_tta_s"]),
                    duration(t["median_ttr_s"]),
                ]
            ],
        ),
    ]
    for table in tables(data):
        lines += [f"## {md(table.title)}", "", *_md_table(table.head, table.rows)]
    return "\n".join(lines)


# --- HTML


def _esc(value: object) -> str:
    return html.escape(words(value), quote=True)


def _html_table(head: list[str], rows: list[list[object]]) -> str:
    if not rows:
        return "<p class='none'>None.</p>"
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _figures(data: dict) -> list[tuple[str, dict]]:
    """The charts (Plotly figures as JSON-able dicts): breakdowns and the TTA/TTR trend."""
    import plotly.graph_objects as go

    out = []
    for title, key in (
        ("Incidents by pattern", "by_pattern"),
        ("Incidents by service", "by_service"),
        ("Incidents by severity", "by_severity"),
    ):
        rows = data[key]
        if rows:
            fig = go.Figure(
                go.Bar(
                    x=[r["count"] for r in rows][::-1], y=[str(r["key"]) for r in rows][::-1], orientation="h"
                )
            )
            fig.update_layout(title=title, height=120 + 24 * len(rows), margin=dict(l=160, r=20, t=40, b=30))
            out.append((key, fig.to_plotly_json()))
    trend = trend_figure(data)
    if trend is not None:
        out.append(("trend", trend.to_plotly_json()))
    return out


def trend_figure(data: dict):
    """The median time to acknowledge and to resolve per bucket (a Plotly figure; None without
    incidents): the Reports page and the HTML report draw the same one."""
    import plotly.graph_objects as go

    if not data["trend"]:
        return None
    xs = [r["bucket"] for r in data["trend"]]
    fig = go.Figure()
    for name, key in (
        ("median time to acknowledge", "median_tta_s"),
        ("median time to resolve", "median_ttr_s"),
    ):
        ys = [None if r[key] is None else r[key] / 60 for r in data["trend"]]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=name, connectgaps=True))
    fig.update_layout(
        title=f"Time to acknowledge and to resolve (minutes, median per {data['period']['bucket']})",
        height=300,
        margin=dict(l=50, r=20, t=40, b=40),
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def _script_json(value: object) -> str:
    """JSON that is safe inside a <script> element."""
    from plotly.utils import PlotlyJSONEncoder

    text = json.dumps(value, cls=PlotlyJSONEncoder)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


CSS = """body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1100px;
color:#222;padding:0 1rem}h1{font-size:1.6rem}
h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;padding:4px 8px;
border-bottom:1px solid #eee;vertical-align:top}th{background:#f3f5f7}.none{color:#888}.meta{color:#666}
.tiles{display:flex;gap:1rem;flex-wrap:wrap}.tile{border:1px solid #ddd;border-radius:8px;padding:.6rem 1rem}
.tile b{display:block;font-size:1.4rem}"""


def to_html(data: dict) -> str:
    """One self-contained page: plotly.js inline (works offline), stored text escaped."""
    from plotly.offline import get_plotlyjs

    c, p, t = data["company"], data["period"], data["totals"]
    tiles = "".join(
        f"<div class='tile'><b>{_esc(v)}</b>{html.escape(k)}</div>"
        for k, v in (
            ("incidents", t["incidents"]),
            ("resolved", t["resolved"]),
            ("open", t["open"]),
            ("escalated", t["escalated"]),
            ("median time to acknowledge", duration(t["median_tta_s"])),
            ("median time to resolve", duration(t["median_ttr_s"])),
        )
    )
    figures = _figures(data)
    divs = {key: f"<div id='chart-{key}' class='chart'></div>" for key, _ in figures}
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Period report: {_esc(c['name'])}</title><style>{CSS}</style>",
        f"<script>{get_plotlyjs()}</script></head><body>",
        f"<h1>Period report: {_esc(c['name'])} ({_esc(c['company'])})</h1>",
        f"<p class='meta'>{_esc(when(p['since']))} to {_esc(when(p['until']))} · generated "
        f"{_esc(when(data['generated_at']))}</p>",
        f"<div class='tiles'>{tiles}</div>",
    ]
    for table in tables(data):
        parts += [
            f"<h2>{_esc(table.title)}</h2>",
            divs.get(table.key, ""),
            _html_table(table.head, table.rows),
        ]
    parts += [
        "<script>",
        *(
            f"Plotly.newPlot('chart-{key}', {_script_json(fig['data'])}, {_script_json(fig['layout'])},"
            " {displayModeBar: false, responsive: true});"
            for key, fig in figures
        ),
        "</script></body></html>",
    ]
    return "\n".join(parts)


# --- PDF


def to_pdf(data: dict, progress: Progress = quiet) -> bytes:
    from calmops.reports.pdf import Document, bars_png, line_png

    c, p, t = data["company"], data["period"], data["totals"]
    title = f"Period report: {words(c['name'])}"
    doc = Document(title)
    doc.title_block(
        title,
        f"{words(c['company'])} · {when(p['since'])} to {when(p['until'])} · "
        f"generated {when(data['generated_at'])}",
    )
    doc.pairs(
        [
            ("Incidents", t["incidents"]),
            ("Resolved", t["resolved"]),
            ("Open", t["open"]),
            ("Escalated", t["escalated"]),
            ("Median time to acknowledge", duration(t["median_tta_s"])),
            ("Median time to resolve", duration(t["median_ttr_s"])),
        ],
        key_width=60,
    )
    progress(0.1, "drawing the charts")
    doc.heading("Incidents by pattern, service and severity")
    doc.picture(
        bars_png([(title.lower(), [(r["key"], r["count"]) for r in data[key]]) for key, title in BREAKDOWNS])
    )
    progress(0.6, "laying out the pages")
    breakdowns = {key for key, _ in BREAKDOWNS}
    for table in tables(data):
        if table.key in breakdowns:
            continue  # drawn above as bars
        doc.heading(table.title)
        if table.key == "trend" and data["trend"]:
            doc.picture(
                line_png(
                    "Median time to acknowledge and to resolve",
                    [r["bucket"] for r in data["trend"]],
                    {
                        "to acknowledge": [None if r["median_tta_s"] is None else r["median_tta_s"] / 60
                                           for r in data["trend"]],
                        "to resolve": [None if r["median_ttr_s"] is None else r["median_ttr_s"] / 60
                                       for r in data["trend"]],
                    },
                    unit="minutes",
                )
            )  # fmt: skip
        doc.table(table.head, table.rows, table.widths)
    return doc.output_bytes()


def render(data: dict, fmt: str, progress: Progress = quiet) -> bytes:
    """``data`` in ``fmt`` (json, md, html, pdf) as bytes."""
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False).encode()
    if fmt == "md":
        return to_markdown(data).encode()
    if fmt == "html":
        return to_html(data).encode()
    if fmt == "pdf":
        return to_pdf(data, progress)
    raise PeriodError(f"format must be one of {', '.join(FORMATS)}", "format")


def build(
    cur: Cursor, *, company: str, since: datetime, until: datetime, fmt: str, progress: Progress = quiet
) -> tuple[bytes, str]:
    """Read the period and render it (what the API and the CLI do): the bytes and the file name,
    telling ``progress`` as it goes."""
    if fmt not in FORMATS:
        raise PeriodError(f"format must be one of {', '.join(FORMATS)}", "format")
    progress(0.0, "reading the period's incidents")
    data = period_data(cur, company=company, since=since, until=until)
    progress(0.5, f"rendering {fmt}")
    body = render(data, fmt, lambda f, m: progress(0.5 + 0.5 * f, m))
    progress(1.0, "done")
    return body, file_name(data, fmt)


__all__ = [
    "CONTENT_TYPES",
    "FORMATS",
    "SCHEMA",
    "PeriodError",
    "build",
    "file_name",
    "period_data",
    "render",
    "to_html",
    "to_markdown",
    "to_pdf",
]
