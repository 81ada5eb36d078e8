"""The Reports page's pieces: the period picker, the period summary, and the download on demand."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

import pandas as pd
import streamlit as st

from calmops.reports import period
from calmops.reports.fmt import duration
from calmops.store import cursor
from calmops.ui.charts import PLOTLY_CONFIG
from calmops.ui.report import progress_to

FORMAT_LABELS = {"pdf": "PDF", "html": "HTML (self-contained)", "md": "Markdown", "json": "JSON"}


def choose_period(company: str, *, tz: tzinfo, now: datetime) -> tuple[datetime, datetime] | None:
    """A date range in the viewer's zone (default: the last 7 days, today included) → [since, until)."""
    today = now.astimezone(tz).date()
    picked = st.date_input(
        "Period", value=(today - timedelta(days=6), today), max_value=today, key=f"reports_period_{company}"
    )
    if not isinstance(picked, tuple | list) or len(picked) != 2:
        st.info("Pick the last day of the period too.", icon=":material/date_range:")
        return None
    first, last = picked
    return _start(first, tz), _start(last + timedelta(days=1), tz)


def _start(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _counts(title: str, rows: list[dict], column) -> None:
    column.markdown(f"**{title}**")
    if not rows:
        column.caption("None.")
        return
    frame = pd.DataFrame({"": [str(r["key"]) for r in rows], "Incidents": [r["count"] for r in rows]})
    column.dataframe(frame, hide_index=True, width="stretch")


def summary(data: dict) -> None:
    t = data["totals"]
    tiles = [*st.columns(4), *st.columns([1, 1, 2])]  # two rows: the medians' labels stay whole
    for col, (label, value) in zip(
        tiles[:6],
        (
            ("Incidents", t["incidents"]),
            ("Resolved", t["resolved"]),
            ("Open", t["open"]),
            ("Escalated", t["escalated"]),
            ("Median time to acknowledge", duration(t["median_tta_s"])),
            ("Median time to resolve", duration(t["median_ttr_s"])),
        ),
        strict=True,
    ):
        col.metric(label, value)
    left, middle, right = st.columns(3)
    _counts("By pattern", data["by_pattern"], left)
    _counts("By service", data["by_service"], middle)
    _counts("By severity", data["by_severity"], right)
    trend = period.trend_figure(data)
    if trend is not None:
        st.plotly_chart(trend, config=PLOTLY_CONFIG, width="stretch")
    st.markdown("**Automatic actions**")
    if data["actions"]:
        st.dataframe(pd.DataFrame(data["actions"]), hide_index=True, width="stretch")
    else:
        st.caption("No automatic action ran in this period.")
    esc = data["escalations"]
    st.markdown(f"**Escalations: {esc['count']}**")
    if esc["reasons"]:
        st.dataframe(pd.DataFrame(esc["reasons"]), hide_index=True, width="stretch")
    st.markdown(f"**Open threshold proposals: {len(data['proposals'])}**")
    if data["proposals"]:
        st.dataframe(
            pd.DataFrame(
                {
                    "Incident": [f"#{p['incident_id']}" for p in data["proposals"]],
                    "Rule": [p["rule"] for p in data["proposals"]],
                    "Proposal": [p["text"] for p in data["proposals"]],
                }
            ),
            column_config={
                "Incident": st.column_config.TextColumn(width="small"),
                "Rule": st.column_config.TextColumn(width="medium"),
                "Proposal": st.column_config.TextColumn(width="large"),
            },
            hide_index=True,
            width="stretch",
        )


def download(company: str, data: dict) -> None:
    """Format picker, then the file generated on demand (a progress bar while it renders)."""
    pick, go = st.columns([3, 2], vertical_alignment="bottom")
    fmt = pick.selectbox(
        "Format", list(FORMAT_LABELS), format_func=FORMAT_LABELS.get, key=f"reports_format_{company}"
    )
    key = f"reports_file_{company}"
    wanted = (fmt, data["period"]["since"], data["period"]["until"])
    if go.button("Generate report", key=f"reports_generate_{company}", icon=":material/description:"):
        bar = st.progress(0.0, text=f"Rendering the {FORMAT_LABELS[fmt]} report…")
        body = period.render(data, fmt, progress_to(bar))
        st.session_state[key] = (wanted, body, period.file_name(data, fmt))
        bar.empty()
    made = st.session_state.get(key)
    if made and made[0] == wanted:
        st.download_button(
            f"Download {made[2]}",
            made[1],
            file_name=made[2],
            mime=period.CONTENT_TYPES[fmt],
            key=f"reports_download_{company}",
            icon=":material/download:",
        )


def page(company: str, *, tz: tzinfo, now: datetime) -> None:
    chosen = choose_period(company, tz=tz, now=now)
    if chosen is None:
        return
    since, until = chosen
    data = period.period_data(cursor(), company=company, since=since, until=until)
    download(company, data)
    if not data["totals"]["incidents"]:
        st.info("**No incident started in this period.** Pick a wider range.", icon=":material/search_off:")
    summary(data)
