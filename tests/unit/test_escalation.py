"""The escalation rules one by one with the clock moved, escalate and re-escalate, and reminders
every 15 minutes until somebody acknowledges — on a small store, no server, no waiting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from calmops import clock, companies, incidents, notify
from calmops.store import Database, unit_of_work
from calmops.workflow import escalation
from calmops.workflow.errors import Invalid, NotAllowed, NotFound
from tests.people import person

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
C = "acme"


@pytest.fixture
def cur(db: Database):
    c = db.cursor()
    with unit_of_work(c):
        companies.create_company(c, company=C, name="Acme", now=T0 - timedelta(days=1))
        companies.add_service(c, company=C, service="api", kind="api", customer_facing=True)
        companies.create_company(c, company="other", name="Other", now=T0 - timedelta(days=1))
    clock.freeze(T0)
    return c


def make(cur, *, severity: str = "high", impact: bool = False, at: datetime = T0) -> int:
    with unit_of_work(cur):
        return incidents.create_manual(
            cur, company=C, title="Checkout fails", service="api", severity=severity,
            description="Two tickets", customer_impact=impact, actor=person("alice"), now=at,
        )  # fmt: skip


def brief(cur, incident_id: int, **body) -> None:
    """A stored brief with just the fields the rules read."""
    full = {"summary": "API errors at 12% since the 08:00 deploy.", "auto_actions": [], **body}
    with unit_of_work(cur):
        cur.execute(
            """INSERT INTO briefs (company, incident_id, version, pattern, confidence, fingerprint, body,
                   created_at, updated_at) VALUES (?, ?, 1, 'unknown', ?, 'x', ?, ?, ?)""",
            [C, incident_id, body.get("confidence", "high"), json.dumps(full), T0, T0],
        )


def recommend(cur, incident_id: int, action: str, risk: str, status: str = "proposed") -> int:
    with unit_of_work(cur):
        return cur.execute(
            """INSERT INTO recommendations (company, incident_id, action, risk, reason, status, created_at,
                   decided_by) VALUES (?, ?, ?, ?, 'the deploy at 08:00', ?, ?, ?) RETURNING id""",
            [C, incident_id, action, risk, status, T0, None if status == "proposed" else "bob"],
        ).fetchall()[0][0]


def codes(cur, incident_id: int, now: datetime) -> list[str]:
    return [r["code"] for r in escalation.flags_for(cur, company=C, incident_id=incident_id, now=now)]


def flags(cur, incident_id: int) -> tuple[str, ...]:
    return incidents.get_incident(cur, company=C, incident_id=incident_id).summary.flags


def test_critical_and_unresolved_for_30_minutes(cur) -> None:
    critical = make(cur, severity="critical")
    high = make(cur, severity="high")
    assert codes(cur, critical, T0 + timedelta(minutes=29)) == []
    assert codes(cur, critical, T0 + timedelta(minutes=30)) == ["critical_unresolved"]
    assert codes(cur, high, T0 + timedelta(hours=3)) == []
    text = escalation.flags_for(cur, company=C, incident_id=critical, now=T0 + timedelta(minutes=42))[0][
        "text"
    ]
    assert "42 min" in text


def test_the_30_minutes_are_configurable_per_company(cur) -> None:
    critical = make(cur, severity="critical")
    escalation.set_settings(cur, company=C, actor=person("lead"), critical_after_min=10)
    assert codes(cur, critical, T0 + timedelta(minutes=10)) == ["critical_unresolved"]
    with pytest.raises(Invalid) as err:
        escalation.set_settings(cur, company=C, actor=person("lead"), remind_every_min=0)
    assert err.value.field == "remind_every_min"


def test_customer_impact_from_the_flag_or_the_brief(cur) -> None:
    flagged = make(cur, impact=True)
    from_brief = make(cur)
    brief(cur, from_brief, customer_impact=True)
    assert codes(cur, flagged, T0) == ["customer_impact"]
    assert codes(cur, from_brief, T0) == ["customer_impact"]


def test_a_recommendation_beyond_safe_stabilisation(cur) -> None:
    incident_id = make(cur)
    recommend(cur, incident_id, "scale_workers", "safe")
    assert codes(cur, incident_id, T0) == []
    recommend(cur, incident_id, "rollback_deploy", "medium")
    assert codes(cur, incident_id, T0) == ["beyond_safe_stabilisation"]
    with unit_of_work(cur):
        cur.execute("UPDATE recommendations SET status = 'declined' WHERE action = 'rollback_deploy'")
    assert codes(cur, incident_id, T0) == []


def test_low_confidence(cur) -> None:
    incident_id = make(cur)
    brief(cur, incident_id, confidence="low")
    assert codes(cur, incident_id, T0) == ["low_confidence"]


def test_a_resolved_incident_needs_nothing_and_unknown_ids_are_not_found(cur) -> None:
    incident_id = make(cur, severity="critical", impact=True)
    with unit_of_work(cur):
        incidents.update_incident(
            cur, company=C, incident_id=incident_id, ts=T0, status="resolved", resolved_at=T0
        )
    assert codes(cur, incident_id, T0 + timedelta(hours=1)) == []
    with pytest.raises(NotFound):
        escalation.flags_for(cur, company="other", incident_id=incident_id)


def test_refresh_sets_and_clears_the_flag_without_bumping_the_version(db, cur) -> None:
    incident_id = make(cur, severity="critical")
    version = incidents.get_incident(cur, company=C, incident_id=incident_id).summary.version
    assert escalation.refresh_escalation_flags(db, company=C, now=T0 + timedelta(minutes=5)) == {}
    assert "needs_escalation" not in flags(cur, incident_id)
    found = escalation.refresh_escalation_flags(db, company=C, now=T0 + timedelta(minutes=31))
    assert [r["code"] for r in found[incident_id]] == ["critical_unresolved"]
    assert "needs_escalation" in flags(cur, incident_id)
    shown = escalation.needs(cur, company=C, incident_id=incident_id)
    assert shown["needs_escalation"] and shown["reasons"][0]["code"] == "critical_unresolved"
    assert escalation.needs_many(cur, company=C, incident_ids=[incident_id])[incident_id]
    assert incidents.get_incident(cur, company=C, incident_id=incident_id).summary.version == version
    with unit_of_work(cur):
        incidents.update_incident(cur, company=C, incident_id=incident_id, ts=T0, severity="high")
    escalation.refresh_escalation_flags(db, company=C, now=T0 + timedelta(minutes=32))
    assert "needs_escalation" not in flags(cur, incident_id)
    actions = [
        r[0] for r in cur.execute("SELECT action FROM audit_log WHERE action LIKE 'escalation.%'").fetchall()
    ]
    assert actions == ["escalation.flag", "escalation.unflag"]


def test_escalate_documents_the_state_and_notifies_the_lead(db, cur) -> None:
    incident_id = make(cur, severity="critical", impact=True)
    brief(
        cur, incident_id, customer_impact=True,
        auto_actions=[{"action": "scale_workers", "outcome": "succeeded", "verdict": "no_effect"}],
    )  # fmt: skip
    recommend(cur, incident_id, "restart_service", "low", status="declined")
    recommend(cur, incident_id, "rollback_deploy", "medium")
    now = T0 + timedelta(minutes=35)
    escalation.refresh_escalation_flags(db, company=C, now=now)
    defaults = escalation.escalation_form_defaults(cur, company=C, incident_id=incident_id, now=now)
    assert "Critical and unresolved for 35 min" in defaults["reason"] and "Customers" in defaults["reason"]
    assert "API errors at 12%" in defaults["note"] and "rollback deploy (medium risk)" in defaults["note"]

    answer = escalation.escalate(
        db, company=C, incident_id=incident_id, actor=person("alice"), reason=defaults["reason"],
        note="Paged twice",
        now=now,
    )  # fmt: skip
    assert answer["escalation"]["at"] == "2026-11-26T08:35:00Z" and answer["escalation"]["by"] == "alice"
    assert answer["escalation"]["count"] == 1 and answer["escalation"]["note"] == "Paged twice"
    assert "escalated" in answer["flags"] and "needs_escalation" not in answer["flags"]
    assert answer["needs_escalation"] is False
    assert answer["notification"]["channel"] == "lead" and answer["notification"]["status"] == "recorded"
    text = answer["notification"]["text"]
    assert "API errors at 12% since the 08:00 deploy." in text  # the brief's summary
    assert "scale workers (automatic): succeeded, verdict no_effect" in text  # what was tried
    assert "restart service (low risk): declined by bob" in text
    assert "rollback deploy (medium risk): the deploy at 08:00" in text  # open recommendations
    assert f"/incident?company={C}&id={incident_id}" in text
    detail = incidents.get_incident(cur, company=C, incident_id=incident_id)
    assert [e.kind for e in detail.timeline][-1] == "escalated"
    assert cur.execute("SELECT count(*) FROM audit_log WHERE action = 'escalate'").fetchall()[0][0] == 1

    # Re-escalation is allowed and recorded; the reasons stay covered, so no new flag.
    escalation.refresh_escalation_flags(db, company=C, now=now + timedelta(minutes=1))
    assert "needs_escalation" not in flags(cur, incident_id)
    again = escalation.escalate(
        db, company=C, incident_id=incident_id, actor=person("bob"), reason="Still down", now=now
    )
    assert again["escalation"]["count"] == 2 and again["escalation"]["reason"] == "Still down"
    assert "Re-escalated" in again["notification"]["text"]
    assert len(notify.recent(cur, company=C, kind="escalation")) == 2


def test_a_new_reason_after_the_escalation_flags_again(db, cur) -> None:
    incident_id = make(cur, impact=True)
    escalation.escalate(
        db, company=C, incident_id=incident_id, actor=person("alice"), reason="Customers", now=T0
    )
    recommend(cur, incident_id, "rollback_deploy", "high")
    found = escalation.refresh_escalation_flags(db, company=C, now=T0 + timedelta(minutes=1))
    assert [r["code"] for r in found[incident_id]] == ["beyond_safe_stabilisation"]


def test_escalate_refuses_mistakes(db, cur) -> None:
    incident_id = make(cur)
    with pytest.raises(Invalid) as err:
        escalation.escalate(db, company=C, incident_id=incident_id, actor=person("alice"), reason="  ")
    assert err.value.status == 400 and err.value.field == "reason"
    with pytest.raises(NotFound) as missing:
        escalation.escalate(db, company="other", incident_id=incident_id, actor=person("alice"), reason="x")
    assert missing.value.status == 404
    with unit_of_work(cur):
        incidents.update_incident(
            cur, company=C, incident_id=incident_id, ts=T0, status="resolved", resolved_at=T0
        )
    with pytest.raises(NotAllowed):
        escalation.escalate(db, company=C, incident_id=incident_id, actor=person("alice"), reason="x")
    assert notify.recent(cur, company=C, kind="escalation") == []


def acknowledge(cur, incident_id: int, at: datetime) -> None:
    with unit_of_work(cur):
        cur.execute(
            "UPDATE incidents SET acknowledged_at = ?, status = 'acknowledged' WHERE id = ?",
            [at, incident_id],
        )


def test_reminders_every_15_minutes_until_acknowledged(db, cur) -> None:
    incident_id = make(cur)
    assert escalation.remind_due(db, company=C, now=T0 + timedelta(minutes=14)) == []
    first = escalation.remind_due(db, company=C, now=T0 + timedelta(minutes=15))
    assert len(first) == 1
    assert escalation.remind_due(db, company=C, now=T0 + timedelta(minutes=15)) == []  # idempotent
    assert escalation.remind_due(db, company=C, now=T0 + timedelta(minutes=29)) == []
    assert len(escalation.remind_due(db, company=C, now=T0 + timedelta(minutes=30))) == 1
    # A check that runs late sends one reminder, not every one it missed.
    assert len(escalation.remind_due(db, company=C, now=T0 + timedelta(minutes=80))) == 1
    sent = notify.recent(cur, company=C, kind="reminder")
    assert len(sent) == 3 and {n.channel for n in sent} == {"oncall"}
    assert "nobody has acknowledged it for 80 min" in sent[0].text
    acknowledge(cur, incident_id, T0 + timedelta(minutes=81))
    assert escalation.remind_due(db, company=C, now=T0 + timedelta(hours=3)) == []
    kinds = [e.kind for e in incidents.get_incident(cur, company=C, incident_id=incident_id).timeline]
    assert kinds.count("reminder") == 3


def test_an_escalated_incident_reminds_the_lead_from_the_escalation(db, cur) -> None:
    incident_id = make(cur)
    with unit_of_work(cur):
        cur.execute("UPDATE incidents SET status = 'mitigating' WHERE id = ?", [incident_id])
    assert escalation.remind_due(db, company=C, now=T0 + timedelta(hours=1)) == []  # not new, not escalated
    escalation.escalate(
        db,
        company=C,
        incident_id=incident_id,
        actor=person("alice"),
        reason="Unclear",
        now=T0 + timedelta(hours=1),
    )
    assert escalation.remind_due(db, company=C, now=T0 + timedelta(minutes=74)) == []
    done = escalation.after_detection(db, company=C, now=T0 + timedelta(minutes=75))
    assert len(done["reminders"]) == 1
    assert notify.get(cur, done["reminders"][0]).channel == "lead"
    escalation.set_settings(cur, company=C, actor=person("lead"), remind_every_min=5)
    assert len(escalation.remind_due(db, company=C, now=T0 + timedelta(minutes=80))) == 1
