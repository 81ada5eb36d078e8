"""The post-incident report as Markdown: readable as plain text in a mail, rendered by any
Markdown viewer. Every text that came from a person or a webhook is escaped, so it stays text:
no raw HTML, no links or images, no table or heading it was not meant to be."""

from __future__ import annotations

import re

from calmops.reports import text as t

# Characters that start Markdown syntax inline. `_` only at a word's edge (inside a word it is not
# emphasis, so `wait_and_watch` stays readable); `<` only where it could open a tag or an autolink,
# `&` only where it could start an entity: "p95 < 800" reads as written.
_INLINE = re.compile(r"([\\`*{}\[\]#!|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_LINE_START = re.compile(r"^(\s*)([-+=>]|\d+[.)])", re.MULTILINE)
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY = re.compile(r"&(?=[A-Za-z#])")


def escape(value: object) -> str:
    """One line of untrusted text, inert in Markdown (and in the HTML a renderer makes of it)."""
    text = " ".join(str(value if value is not None else "").split())
    text = _TAG_OPEN.sub("&lt;", _ENTITY.sub("&amp;", text))
    text = _INLINE.sub(r"\\\1", text)
    text = text.replace("://", "\\:\\/\\/").replace("www.", "www\\.")  # no bare autolinks
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def escape_block(value: object) -> str:
    """Several lines of untrusted text as a quote, each line escaped on its own."""
    lines = [escape(line) for line in str(value or "").splitlines()] or [""]
    return "\n".join(f"> {line}" if line else ">" for line in lines)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return ["_None._", ""]
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(cell or "—" for cell in row) + " |" for row in rows]
    return [*out, ""]


def _brief(title: str, brief: dict | None) -> list[str]:
    out = [f"## {title}", ""]
    if not brief:
        return [*out, "_No brief._" if "detection" in title else "_Not resolved yet._", ""]
    out += [escape(brief.get("summary")), ""]
    facts = [
        f"- **Pattern:** {escape(brief.get('pattern'))}",
        f"- **Confidence:** {escape(brief.get('confidence'))}",
        f"- **Brief version:** {escape(brief.get('version'))}",
    ]
    rec = brief.get("recommendation") or {}
    if rec:
        facts.append(
            f"- **Recommendation:** {escape(rec.get('action'))} ({escape(rec.get('risk'))} risk, "
            f"{escape(rec.get('status'))}) — {escape(rec.get('reason'))}"
        )
    risk = (brief.get("risk_if_no_action") or {}).get("text")
    if risk:
        facts.append(f"- **Risk if no action:** {escape(risk)}")
    facts.append(f"- **Customer impact:** {'yes' if brief.get('customer_impact') else 'no'}")
    return [*out, *facts, ""]


def to_markdown(data: dict) -> str:
    """The whole report (schema ``calmops.incident-report/1``) as one Markdown document."""
    i = data["incident"]
    out = [
        f"# Post-incident report: {escape(i['title'])}",
        "",
        f"**{escape(i['company_name'])}** ({escape(i['company'])}) · incident #{i['id']} · "
        f"{t.SEVERITY_WORDS.get(i['severity'], escape(i['severity']))} · {escape(i['status'])}",
        "",
        f"- **Service:** {escape(i['service'])}"
        + (
            f" (affected: {', '.join(escape(s) for s in i['services'][1:])})"
            if len(i["services"]) > 1
            else ""
        ),
        f"- **Started:** {t.when(i['started_at'])}",
        f"- **Detected:** {t.when(i['detected_at'])}",
        f"- **Acknowledged:** {t.when(i['acknowledged_at'])} (time to acknowledge: "
        f"{t.took(i['time_to_acknowledge_s'])})",
        f"- **Resolved:** {t.when(i['resolved_at'])} (time to resolve: {t.took(i['time_to_resolve_s'])})",
        f"- **Assignee:** {escape(i['assignee']) if i['assignee'] else 'nobody'}",
        f"- **Flags:** {', '.join(escape(f) for f in i['flags']) or 'none'}",
        "",
    ]
    out += _brief("Brief at detection", data["brief_at_detection"])
    out += _brief("Brief at resolution", data["brief_at_resolution"])
    out += ["## Timeline", ""]
    out += _table(
        ["Time", "Kind", "Who", "What", "Outcome"],
        [[t.when(e["ts"]), escape(e["kind"]), escape(e["actor"]), escape(e["message"]),
          escape(e["outcome"] or "")] for e in data["timeline"]],
    )  # fmt: skip
    out += ["## Decisions", ""]
    out += _table(
        ["When", "Who", "Decision", "Action", "Risk", "Note"],
        [[t.when(d["decided_at"]), escape(d["decided_by"]), escape(d["status"]), escape(d["action"]),
          escape(d["risk"]), escape(d["note"] or "")] for d in data["decisions"]],
    )  # fmt: skip
    out += ["## Actions", ""]
    out += _table(
        ["When", "Action", "Kind", "Service", "Outcome", "Verdict", "Before", "After", "Requested by"],
        [[t.when(a["at"]), escape(a["action"]), escape(a["kind"]), escape(a["service"]), escape(a["outcome"]),
          escape(a["verdict"] or ""), t.value(a["metric"], a["before_value"]),
          t.value(a["metric"], a["after_value"]), escape(a["requested_by"])] for a in data["actions"]],
    )  # fmt: skip
    out += ["## Escalations", ""]
    out += _table(
        ["When", "By", "Reason", "Note"],
        [[t.when(e["at"]), escape(e["by"] or ""), escape(e["reason"] or ""), escape(e["note"] or "")]
         for e in data["escalations"]],
    )  # fmt: skip
    out += ["## Customer messages sent", ""]
    sent = [m for m in data["customer_messages"] if m["sent"]]
    if not sent:
        out += ["_None sent._", ""]
    for m in sent:
        out += [
            f"**Version {m['version']}** · {escape(m['state'])} · sent {t.when(m['sent_at'])} · "
            f"approved by {escape(m['approved_by'] or '—')}",
            "",
            escape_block(m["text"]),
            "",
        ]
    out += ["## Metrics", ""]
    if not data["charts"]:
        out += ["_No chart data._", ""]
    for chart in data["charts"]:
        unit = f" ({escape(chart['unit'])})" if chart["unit"] else ""
        out += [
            f"### {escape(chart['label'])}{unit}",
            "",
            f"{t.when(chart['window']['start'])} to {t.when(chart['window']['end'])}; incident "
            f"{t.when(chart['incident']['start'])} to {t.when(chart['incident']['end'])}. Thresholds: "
            + (", ".join(f"{escape(x['severity'])} {escape(x.get('comparison', ''))} "
                         f"{t.value(chart['metric'], x['value'])}" for x in chart["thresholds"]) or "none")
            + ".",
            "",
        ]  # fmt: skip
        out += _table(
            ["Service", "Min", "Avg", "Max"],
            [[escape(s["service"]), t.value(chart["metric"], s["min"]), t.value(chart["metric"], s["avg"]),
              t.value(chart["metric"], s["max"])] for s in t.chart_stats(chart)],
        )  # fmt: skip
    out += ["## Review", ""]
    review = data["review"]
    if not review:
        out += ["_No review: the incident is not resolved._", ""]
    else:
        state = (
            f"Saved version {review.get('version')} by {escape(review.get('author'))}, "
            f"{t.when(review.get('created_at'))}"
            if review.get("saved")
            else "Draft, pre-filled from the timeline (not saved yet)"
        )
        out += [f"_{state}._", "", "**Root cause:**", "", escape_block(t.root_cause(review)), ""]
        for title, items in t.review_sections(review):
            out += [f"**{title}:**", ""]
            out += [f"- {escape(x)}" for x in items if x] or ["- none"]
            out += [""]
        if review.get("notes"):
            out += ["**Notes:**", "", escape_block(review["notes"]), ""]
    out += [
        "---",
        "",
        f"Open the incident in CalmOps: <{data['link']}>",
        "",
        f"_Generated {t.when(data['generated_at'])} · {data['schema']}_",
        "",
    ]
    return "\n".join(out)
