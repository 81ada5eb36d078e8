"""The PDF renderer on an incident report's data (``calmops.incident-report/1``), parsed back."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

from pypdf import PdfReader

from calmops.reports.pdf import duration, to_pdf, when

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _iso(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _brief(summary: str) -> dict:
    return {
        "pattern": "queue_backlog",
        "summary": summary,
        "window": {"start": _iso(0), "end": _iso(30)},
        "auto_actions": ["scale_workers on dispatch → succeeded"],
        "system_state": {"queue_depth": 5400},
        "recommendation": {
            "action": "pause_batch_jobs",
            "risk": "low",
            "reason": "Batch imports fill the queue <b>faster</b> than workers drain it",
            "expected_effect": "queue drains in ~10 min",
            "status": "approved",
        },
        "risk_if_no_action": {"text": "queue full in ~25 min", "projection": None},
        "confidence": "high",
        "customer_impact": True,
        "customer_message": "Deliveries in Zürich may be delayed.",
        "evidence": [
            {
                "text": "queue_depth 5400 (usual 300)",
                "service": "dispatch",
                "metric": "queue_depth",
                "ts": _iso(5),
                "value": 5400,
            },
        ],
        "runbook": ["kubectl scale deploy/dispatch --replicas=6"],
    }


def _chart(metric: str, label: str, unit: str, values: list[float], threshold: float) -> dict:
    points = [[_iso(m * 2 - 30), v, v * 0.9, v * 1.1] for m, v in enumerate(values)]
    return {
        "metric": metric,
        "label": label,
        "unit": unit,
        "window": {"start": _iso(-30), "end": _iso(90)},
        "incident": {"start": _iso(0), "end": _iso(47)},
        "thresholds": [
            {"value": threshold, "severity": "high"},
            {"value": threshold / 2, "severity": "warning"},
        ],
        "series": [{"service": "dispatch", "points": points}, {"service": "billing", "points": points[::2]}],
    }


def report_data() -> dict:
    """A report's data as the incident report builds it, with awkward text in every free field."""
    wave = [300 + 100 * i if i < 30 else 3300 - 80 * (i - 30) for i in range(60)]
    return {
        "schema": "calmops.incident-report/1",
        "generated_at": _iso(120),
        "link": "http://127.0.0.1:8501/incident?company=acme&id=42",
        "incident": {
            "id": 42,
            "company": "acme",
            "company_name": "Acme Logistik Zürich",
            "title": "Queue backlog on dispatch → drivers idle",
            "service": "dispatch",
            "services": ["dispatch", "billing"],
            "severity": "critical",
            "status": "resolved",
            "started_at": _iso(0),
            "detected_at": _iso(2),
            "acknowledged_at": _iso(6),
            "resolved_at": _iso(47),
            "time_to_acknowledge_s": 240,
            "time_to_resolve_s": 2820,
            "assignee": "jürgen",
            "flags": ["customer_impact", "escalated"],
        },
        "brief_at_detection": _brief("Dispatch queue is growing 180 jobs/min since the 09:00 import."),
        "brief_at_resolution": _brief("Queue drained after batch jobs were paused; workers back to normal."),
        "timeline": [
            {
                "ts": _iso(2),
                "kind": "detected",
                "actor": "system",
                "message": "queue_depth > 2000 for 2 min",
                "outcome": None,
            },
            {
                "ts": _iso(6),
                "kind": "acknowledged",
                "actor": "jürgen",
                "message": "<script>alert(1)</script>",
                "outcome": None,
            },
        ]
        + [
            {"ts": _iso(7 + i / 2), "kind": "note", "actor": "ops", "message": f"note {i} ✓", "outcome": None}
            for i in range(60)
        ],
        "decisions": [
            {
                "recommendation_id": 77,
                "action": "pause_batch_jobs",
                "risk": "low",
                "status": "approved",
                "decided_by": "jürgen",
                "decided_at": _iso(9),
                "note": "Pausing the Zürich import",
            },
        ],
        "actions": [
            {
                "action": "scale_workers",
                "kind": "auto",
                "service": "dispatch",
                "at": _iso(3),
                "outcome": "succeeded",
                "verdict": "no_effect",
                "metric": "queue_depth",
                "before_value": 2400.0,
                "after_value": 2600.0,
                "requested_by": "agent",
            },
        ],
        "escalations": [
            {"at": _iso(31), "by": "system", "reason": "critical for 30 min", "note": "**not bold**"}
        ],
        "customer_messages": [
            {
                "version": 1,
                "state": "identified",
                "status": "sent",
                "text": "Deliveries may be delayed.",
                "author": "jürgen",
                "created_at": _iso(12),
                "approved_by": "lead",
                "approved_at": _iso(13),
                "sent_at": _iso(14),
            },
        ],
        "charts": [
            _chart("queue_depth", "Queue depth", "jobs", wave, 2000),
            _chart("error_rate", "Error rate", "fraction", [v / 10000 for v in wave], 0.2),
        ],
        "review": {
            "root_cause": {"text": "Nightly import doubled its batch size (deploy v2.3 → v2.4)."},
            "key_moments": {"detected": _iso(2), "time_to_resolve_s": 2820},
            "tried": {"actions": [], "decisions": []},
            "prevention": ["Cap the import batch size at 500"],
            "alert_improvements": [
                {"kind": "threshold", "text": "queue_depth 2000 → 1500 would fire 4 min earlier"}
            ],
            "automation": [{"kind": "make_automatic", "text": "Make pause_batch_jobs automatic"}],
            "notes": "",
            "saved": True,
        },
    }


def _text(pdf: bytes) -> tuple[str, PdfReader]:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() or "" for page in reader.pages), reader


def test_pdf_holds_the_key_items_and_a_picture_per_chart():
    data = report_data()
    started = time.perf_counter()
    pdf = to_pdf(data)
    elapsed = time.perf_counter() - started
    assert pdf.startswith(b"%PDF-")
    text, reader = _text(pdf)
    flat = " ".join(text.split())
    for item in (
        "Queue backlog on dispatch → drivers idle",  # title, with the arrow
        "Acme Logistik Zürich",
        when(_iso(0)),  # started
        when(_iso(47)),  # resolved
        duration(240),  # time to acknowledge
        duration(2820),
        "Dispatch queue is growing 180 jobs/min",  # brief summary at detection
        "Queue drained after batch jobs were paused",
        "Pausing the Zürich import",  # the decision's note
        "Nightly import doubled its batch size",  # the review's root cause
        "<script>alert(1)</script>",  # user text placed as text
        "**not bold**",
        "note 59 ✓",  # the long timeline runs over pages
    ):
        assert item in flat, item
    images = sum(len(page.images) for page in reader.pages)
    assert images >= len(data["charts"])
    assert len(reader.pages) >= 2
    assert elapsed < 5, elapsed  # the bench holds the 2 s target on the demo world


def test_pdf_of_a_bare_open_incident():
    data = report_data()
    data.update(
        brief_at_resolution=None,
        review=None,
        charts=[],
        decisions=[],
        actions=[],
        escalations=[],
        customer_messages=[],
        timeline=[],
    )
    data["incident"].update(resolved_at=None, time_to_resolve_s=None, status="open", assignee=None)
    text, reader = _text(to_pdf(data))
    assert "No review yet." in text and "No brief was written at this stage." in text
    assert sum(len(page.images) for page in reader.pages) == 0


def test_time_words():
    assert when("2026-11-26T22:03:00Z") == "2026-11-26 22:03 UTC"
    assert when(None) == "—"
    assert duration(95) == "1 min 35 s" and duration(7260) == "2 h 1 min" and duration(None) == "—"


def test_a_pdf_tells_its_progress_chart_by_chart():
    heard: list[tuple[float, str]] = []
    to_pdf(report_data(), lambda fraction, message: heard.append((fraction, message)))
    fractions = [f for f, _ in heard]
    assert fractions == sorted(fractions) and fractions[0] >= 0 and fractions[-1] < 1
    charts = len(report_data()["charts"])
    assert [m for _, m in heard] == [f"drawing chart {n} of {charts}" for n in range(1, charts + 1)] + [
        "laying out the pages"
    ]
