"""PDF renderer: the incident report (and the period report's pages) as a PDF, charts as images.

Offline on a fresh machine: fpdf2 lays out the pages with the DejaVu Sans TTF that ships inside
matplotlib (so "Zürich", "→" and the like render), and matplotlib (Agg, no display, no browser)
draws the charts from the report's own ``charts[*]`` data — the same bucketed series the Plotly
charts of the HTML report and the dashboard draw — shading the incident window and dashing the
thresholds. Plotly's static export would need Kaleido and a Chrome, which `make run` does not
install. Every piece of user or webhook text is placed as plain text: nothing is parsed as markup.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos
from matplotlib.ticker import FuncFormatter

from calmops.reports.fmt import duration, when, window_words, words
from calmops.reports.text import value as metric_value

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT = "DejaVu"
SEVERITY_COLOURS = {"critical": "#c0392b", "high": "#e67e22", "warning": "#d4ac0d", "info": "#2e86c1"}
SERIES_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")


def _parse_ts(value: object) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


# --- charts


def chart_png(chart: dict, *, width_in: float = 7.2, height_in: float = 2.4) -> bytes:
    """One ``charts[*]`` item as a PNG: a line per service (with its min–max band), the incident
    window shaded, each threshold a dashed line in its severity's colour."""
    fig, ax = plt.subplots(figsize=(width_in, height_in), dpi=110)
    try:
        for i, series in enumerate(chart.get("series") or []):
            points = [p for p in series.get("points") or [] if p and _parse_ts(p[0]) is not None]
            if not points:
                continue
            xs = [_parse_ts(p[0]) for p in points]
            colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
            avg = [p[1] if len(p) > 1 else None for p in points]
            ax.plot(
                xs,
                [float("nan") if v is None else v for v in avg],
                color=colour,
                lw=1.3,
                label=str(series.get("service", "")),
            )
            if all(len(p) > 3 and p[2] is not None and p[3] is not None for p in points):
                ax.fill_between(
                    xs, [p[2] for p in points], [p[3] for p in points], color=colour, alpha=0.12, lw=0
                )
        incident = chart.get("incident") or {}
        start, end = _parse_ts(incident.get("start")), _parse_ts(incident.get("end"))
        if start is not None:
            ax.axvspan(
                start,
                end or _parse_ts((chart.get("window") or {}).get("end")) or start,
                color="#e74c3c",
                alpha=0.10,
                lw=0,
                label="incident",
            )
        for threshold in chart.get("thresholds") or []:
            value = threshold.get("value")
            if value is None:
                continue
            sev = str(threshold.get("severity", ""))
            ax.axhline(
                float(value),
                color=SEVERITY_COLOURS.get(sev, "#555555"),
                ls="--",
                lw=1,
                label=f"{sev} {metric_value(chart.get('metric'), float(value))}",
            )
        window = chart.get("window") or {}
        lo, hi = _parse_ts(window.get("start")), _parse_ts(window.get("end"))
        if lo is not None and hi is not None and lo < hi:
            ax.set_xlim(lo, hi)
        unit = chart.get("unit") or ""
        ax.set_title(
            f"{chart.get('label') or chart.get('metric', '')}" + (f" ({unit})" if unit else ""),
            fontsize=9,
            loc="left",
            pad=10,
        )
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
        metric = chart.get("metric")
        if metric and metric != "up":  # the axis in the metric's own unit (error rate in %)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: metric_value(metric, v)))
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.25)
        if ax.get_legend_handles_labels()[0]:  # above the plot, right of the title: never over a line
            ax.legend(fontsize=6, loc="lower right", bbox_to_anchor=(1, 1), ncols=6, frameon=False)
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(fig)


def bars_png(panels: Sequence[tuple[str, Sequence[tuple[str, float]]]], *, width_in: float = 7.2) -> bytes:
    """Horizontal bar charts of ``(label, value)`` pairs side by side in one picture (the period
    report's breakdowns): one figure and one rasterisation for all of them."""
    panels = [p for p in panels if p[1]] or [("", [("none", 0)])]
    height = max(1.4, 0.2 * max(len(counts) for _, counts in panels) + 0.7)
    fig, axes = plt.subplots(1, len(panels), figsize=(width_in, height), dpi=100, squeeze=False)
    try:
        for ax, (title, counts) in zip(axes[0], panels, strict=True):
            labels = [str(k)[:22] for k, _ in counts][::-1]
            ax.barh(labels, [v for _, v in counts][::-1], color="#2e86c1")
            ax.set_title(title, fontsize=8, loc="left")
            ax.tick_params(labelsize=6)
            ax.grid(axis="x", alpha=0.25)
        fig.subplots_adjust(left=0.15, right=0.98, top=0.88, bottom=0.12, wspace=0.9)
        out = io.BytesIO()
        fig.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(fig)


def line_png(
    title: str, xs: Sequence[str], lines: dict[str, Sequence[float | None]], *, unit: str = ""
) -> bytes:
    """Lines over days or weeks (the period report's TTA/TTR medians)."""
    fig, ax = plt.subplots(figsize=(7.2, 2.2), dpi=110)
    try:
        for i, (name, ys) in enumerate(lines.items()):
            ax.plot(
                list(xs),
                [float("nan") if y is None else y for y in ys],
                marker="o",
                ms=3,
                lw=1.3,
                color=SERIES_COLOURS[i % len(SERIES_COLOURS)],
                label=name,
            )
        ax.set_title(title + (f" ({unit})" if unit else ""), fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
        ax.tick_params(axis="x", rotation=30)
        ax.grid(alpha=0.25)
        ax.legend(fontsize=7, frameon=False)
        fig.subplots_adjust(left=0.08, right=0.98, top=0.88, bottom=0.25)
        out = io.BytesIO()
        fig.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(fig)


# --- the document


class Document(FPDF):
    """A4 portrait with DejaVu Sans, a running footer, and helpers that only ever place text."""

    def __init__(self, title: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc_title = title
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_title(title)
        self.set_creator("CalmOps")
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(15, 15, 15)
        self.add_page()

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FONT, "", 7)
        self.set_text_color(120)
        self.cell(0, 5, f"{self.doc_title[:90]} · page {self.page_no()}", align="C")
        self.set_text_color(0)

    def title_block(self, title: str, subtitle: str = "") -> None:
        self.set_font(FONT, "B", 16)
        self.multi_cell(0, 8, words(title), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if subtitle:
            self.set_font(FONT, "", 9)
            self.set_text_color(90)
            self.multi_cell(0, 5, subtitle, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_text_color(0)
        self.ln(2)

    def heading(self, text: str) -> None:
        if self.get_y() > self.h - 40:
            self.add_page()
        self.ln(2)
        self.set_font(FONT, "B", 12)
        self.multi_cell(0, 7, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(200)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1.5)

    def subheading(self, text: str) -> None:
        self.set_font(FONT, "B", 10)
        self.multi_cell(0, 6, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def para(self, text: object, *, size: float = 9, colour: int = 0) -> None:
        self.set_font(FONT, "", size)
        self.set_text_color(colour)
        self.multi_cell(0, size * 0.5, words(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0)
        self.ln(0.8)

    def bullets(self, items: Iterable[object]) -> None:
        self.set_font(FONT, "", 9)
        for item in items:
            self.set_x(self.l_margin + 3)
            self.multi_cell(0, 4.5, "• " + words(item), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(0.8)

    def pairs(self, rows: Iterable[tuple[str, object]], *, key_width: float = 45) -> None:
        """Label/value rows (the header facts). A row that would not fit starts a new page whole,
        so a label never sits on one page and its value on the next."""
        value_width = self.w - self.l_margin - self.r_margin - key_width
        for key, value in rows:
            text = words(value)
            self.set_font(FONT, "", 9)
            height = self.multi_cell(value_width, 4.8, text, dry_run=True, output=MethodReturnValue.HEIGHT)
            if self.get_y() + height > self.page_break_trigger:
                self.add_page()
            y = self.get_y()
            self.set_font(FONT, "B", 9)
            self.multi_cell(key_width, 4.8, key, align="L", new_x=XPos.RIGHT, new_y=YPos.TOP)
            self.set_font(FONT, "", 9)
            self.multi_cell(value_width, 4.8, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_y(max(self.get_y(), y + 4.8))
        self.ln(1)

    def table(self, head: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[float]) -> None:
        """A table of plain-text cells; ``widths`` are relative."""
        if not rows:
            self.para("None.", colour=110)
            return
        total = sum(widths)
        usable = self.w - self.l_margin - self.r_margin
        col_widths = [usable * w / total for w in widths]
        self.set_font(FONT, "", 8)
        with self.table_ctx(col_widths) as table:
            header = table.row()
            for name in head:
                header.cell(name)
            for row in rows:
                line = table.row()
                for value in row:
                    line.cell(words(value))
        self.ln(1.5)

    def table_ctx(self, col_widths: Sequence[float]):
        return super().table(
            col_widths=tuple(col_widths),
            text_align="LEFT",
            line_height=4.2,
            first_row_as_headings=True,
            headings_style=_heading_style(),
            markdown=False,
            borders_layout="HORIZONTAL_LINES",
        )

    def picture(self, png: bytes, *, width: float | None = None) -> None:
        usable = self.w - self.l_margin - self.r_margin
        width = width or usable
        if self.get_y() > self.h - 75:
            self.add_page()
        self.image(io.BytesIO(png), x=self.l_margin, w=width)
        self.ln(2)

    def output_bytes(self) -> bytes:
        return bytes(self.output())


def _heading_style():
    from fpdf.fonts import FontFace

    return FontFace(family=FONT, emphasis="BOLD", fill_color=(235, 238, 242))


# --- the incident report


def _brief(doc: Document, title: str, brief: dict | None) -> None:
    doc.heading(title)
    if not brief:
        doc.para("No brief was written at this stage.", colour=110)
        return
    rec = brief.get("recommendation") or {}
    risk_if = brief.get("risk_if_no_action") or {}
    doc.para(brief.get("summary"), size=10)
    doc.pairs(
        [
            ("Pattern", brief.get("pattern")),
            ("Confidence", brief.get("confidence")),
            ("Window", window_words(brief.get("window"))),
            (
                "Recommendation",
                f"{words(rec.get('action'))} ({words(rec.get('risk'))} risk) — {words(rec.get('status'))}",
            ),
            ("Why", rec.get("reason")),
            ("Expected effect", rec.get("expected_effect")),
            ("Risk if no action", risk_if.get("text") if isinstance(risk_if, dict) else risk_if),
            ("Customer impact", brief.get("customer_impact")),
        ]
    )
    evidence = brief.get("evidence") or []
    if evidence:
        doc.subheading("Evidence")
        doc.bullets(
            f"{words(e.get('text'))}" + (f" ({when(e.get('ts'))})" if e.get("ts") else "")
            for e in evidence[:15]
        )
    autos = brief.get("auto_actions") or []
    if autos:
        doc.subheading("Automatic actions")
        doc.bullets(autos[:15])


def label(key: str) -> str:
    """``time_to_acknowledge_s`` → ``Time to acknowledge``."""
    return key.removesuffix("_s").replace("_", " ").capitalize()


def _review(doc: Document, review: dict | None) -> None:
    doc.heading("Post-incident review")
    if not review:
        doc.para("No review yet.", colour=110)
        return
    if review.get("saved") is False:
        doc.para("Pre-filled draft (not yet saved by a person).", colour=110)
    doc.subheading("Root cause")
    doc.para(review.get("root_cause"))
    moments = review.get("key_moments")
    if isinstance(moments, dict) and moments:
        doc.subheading("Key moments")
        doc.pairs(
            [(label(k), duration(v) if k.endswith("_s") else when(v)) for k, v in moments.items()],
            key_width=50,
        )
    prevention = review.get("prevention") or []
    doc.subheading("Prevention steps")
    doc.bullets(prevention) if prevention else doc.para("None.", colour=110)
    improvements = review.get("alert_improvements") or []
    doc.subheading("Alert improvements")
    doc.bullets(improvements) if improvements else doc.para("None.", colour=110)
    automation = review.get("automation") or []
    doc.subheading("Automation suggestions")
    doc.bullets(automation) if automation else doc.para("None.", colour=110)
    if review.get("notes"):
        doc.subheading("Notes")
        doc.para(review.get("notes"))


def to_pdf(data: dict, progress: Callable[[float, str], None] | None = None) -> bytes:
    """The incident report (``calmops.incident-report/1``) as PDF bytes; ``progress`` hears of each
    chart drawn (they take most of the time)."""
    inc = data.get("incident") or {}
    title = f"Incident #{inc.get('id', '?')}: {words(inc.get('title'))}"
    doc = Document(title)
    company = inc.get("company_name") or inc.get("company")
    doc.title_block(
        title,
        f"{words(company)} ({words(inc.get('company'))}) · post-incident report generated "
        f"{when(data.get('generated_at'))}",
    )
    services = inc.get("services") or []
    doc.pairs(
        [
            ("Service", inc.get("service")),
            ("Affected services", ", ".join(map(str, services)) if services else "—"),
            ("Severity", inc.get("severity")),
            ("Status", inc.get("status")),
            ("Started", when(inc.get("started_at"))),
            ("Detected", when(inc.get("detected_at"))),
            ("Acknowledged", when(inc.get("acknowledged_at"))),
            ("Resolved", when(inc.get("resolved_at"))),
            ("Time to acknowledge", duration(inc.get("time_to_acknowledge_s"))),
            ("Time to resolve", duration(inc.get("time_to_resolve_s"))),
            ("Assignee", inc.get("assignee")),
            ("Flags", ", ".join(map(str, inc.get("flags") or [])) or "—"),
            ("In the dashboard", data.get("link")),
        ]
    )
    _brief(doc, "Brief at detection", data.get("brief_at_detection"))
    _brief(doc, "Brief at resolution", data.get("brief_at_resolution"))

    charts = data.get("charts") or []
    if charts:
        doc.heading("Metrics over the incident")
        doc.para(
            "Shaded: the incident window. Dashed: the rules' thresholds. Band: min–max per bucket.",
            colour=110,
        )
        for n, chart in enumerate(charts):
            if progress:
                progress(n / (len(charts) + 1), f"drawing chart {n + 1} of {len(charts)}")
            doc.picture(chart_png(chart))
    if progress:
        progress(len(charts) / (len(charts) + 1), "laying out the pages")

    doc.heading("Decisions")
    doc.table(
        ("Recommendation", "Action", "Risk", "Decision", "By", "At", "Note"),
        [
            (
                d.get("recommendation_id"),
                d.get("action"),
                d.get("risk"),
                d.get("status"),
                d.get("decided_by"),
                when(d.get("decided_at")),
                d.get("note"),
            )
            for d in data.get("decisions") or []
        ],
        (1.2, 2, 1, 1.2, 1.5, 1.8, 3),
    )
    doc.heading("Actions")
    doc.table(
        ("Action", "Kind", "Service", "At", "Outcome", "Verdict", "Before → after", "By"),
        [
            (
                a.get("action"),
                a.get("kind"),
                a.get("service"),
                when(a.get("at")),
                a.get("outcome"),
                a.get("verdict"),
                f"{words(a.get('metric'))}: {words(a.get('before_value'))} → {words(a.get('after_value'))}",
                a.get("requested_by"),
            )
            for a in data.get("actions") or []
        ],
        (2, 1, 1.6, 1.8, 1.2, 1.2, 2.6, 1.4),
    )
    doc.heading("Escalations")
    doc.table(
        ("At", "By", "Reason", "Note"),
        [
            (when(e.get("at")), e.get("by"), e.get("reason"), e.get("note"))
            for e in data.get("escalations") or []
        ],
        (1.5, 1.5, 3, 3),
    )
    doc.heading("Customer messages")
    doc.table(
        ("Version", "State", "Status", "Text", "Author", "Approved", "Sent"),
        [
            (
                m.get("version"),
                m.get("state"),
                m.get("status"),
                m.get("text"),
                m.get("author"),
                f"{words(m.get('approved_by'))} {when(m.get('approved_at'))}"
                if m.get("approved_by")
                else "—",
                when(m.get("sent_at")),
            )
            for m in data.get("customer_messages") or []
        ],
        (0.8, 1.2, 1, 4.5, 1.3, 1.8, 1.5),
    )
    doc.heading("Timeline")
    doc.table(
        ("Time", "Kind", "Actor", "What happened", "Outcome"),
        [
            (when(e.get("ts")), e.get("kind"), e.get("actor"), e.get("message"), e.get("outcome") or "")
            for e in data.get("timeline") or []
        ],
        (1.7, 1.3, 1.4, 5, 1),
    )
    _review(doc, data.get("review"))
    return doc.output_bytes()


__all__ = ["Document", "bars_png", "chart_png", "duration", "line_png", "to_pdf", "when", "words"]
