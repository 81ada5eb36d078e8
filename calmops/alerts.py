"""Alert webhooks: Alertmanager (version 4) and Grafana unified alerting (version 1) → incidents.

Each alert (fingerprint + startsAt) is one incident: a firing alert opens it, the same alert
resolved moves it to ``monitoring`` (a person resolves). Alertmanager resends whole groups, so an
alert already seen with the same status and startsAt changes nothing, however often it comes.
Everything in a payload is validated before anything is written; labels and annotations are kept
as data and never rendered as HTML.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from calmops import companies, incidents
from calmops.auth import Identity, Permission, require
from calmops.store.db import Cursor
from calmops.timeio import BadTimeError, parse_iso
from calmops.vocabulary import IncidentStatus, Severity

MAX_ALERTS = 1000
_SEVERITY = {
    "critical": Severity.CRITICAL,
    "page": Severity.CRITICAL,
    "p1": Severity.CRITICAL,
    "sev1": Severity.CRITICAL,
    "high": Severity.HIGH,
    "error": Severity.HIGH,
    "major": Severity.HIGH,
    "p2": Severity.HIGH,
    "sev2": Severity.HIGH,
    "warning": Severity.WARNING,
    "warn": Severity.WARNING,
    "minor": Severity.WARNING,
    "p3": Severity.WARNING,
    "info": Severity.INFO,
    "none": Severity.INFO,
    "low": Severity.INFO,
    "p4": Severity.INFO,
}
_SERVICE_LABELS = ("service", "app", "application", "job", "container", "deployment")
_NOT_SET = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt for an alert with no end yet


class AlertError(ValueError):
    """A payload that cannot be taken; ``field`` names the part that is wrong."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Alert:
    source: str
    group_key: str
    fingerprint: str
    status: str
    starts_at: datetime
    ends_at: datetime | None
    alertname: str
    service: str
    severity: Severity
    title: str
    description: str
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclass
class Received:
    incidents: list[int] = field(default_factory=list)
    duplicates: int = 0
    truncated: int = 0


def _strings(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise AlertError(f"{where} must be an object of strings", where)
    return {k: str(v) for k, v in value.items()}


def _service_name(labels: dict[str, str]) -> str:
    for key in _SERVICE_LABELS:
        raw = labels.get(key, "").strip().lower()
        name = re.sub(r"[^a-z0-9_.-]+", "-", raw).strip("-._")[:63]
        if name and companies.SERVICE_NAME.match(name):
            return name
    return "alerts"


def _time(value: object, where: str, *, optional: bool = False) -> datetime | None:
    if optional and (value in (None, "") or value == _NOT_SET):
        return None
    try:
        return parse_iso(value)
    except BadTimeError as exc:
        raise AlertError(f"{where}: {exc}", where) from None


def parse(body: object) -> tuple[list[Alert], int]:
    """The alerts of an Alertmanager v4 or Grafana v1 payload, and how many were truncated."""
    if not isinstance(body, dict):
        raise AlertError("the body must be a JSON object")
    source = "grafana" if "orgId" in body or str(body.get("version")) == "1" else "alertmanager"
    if source == "alertmanager" and str(body.get("version", "4")) != "4":
        raise AlertError(
            "only Alertmanager webhook version 4 and Grafana version 1 are understood", "version"
        )
    raw = body.get("alerts")
    if not isinstance(raw, list) or not raw:
        raise AlertError("alerts must be a non-empty list", "alerts")
    if len(raw) > MAX_ALERTS:
        raise AlertError(f"at most {MAX_ALERTS} alerts per payload", "alerts")
    group_key = str(body.get("groupKey") or "")
    common = _strings(body.get("commonLabels"), "commonLabels")
    truncated = body.get("truncatedAlerts") or 0
    if not isinstance(truncated, int) or truncated < 0:
        raise AlertError("truncatedAlerts must be a whole number", "truncatedAlerts")
    alerts = []
    for i, item in enumerate(raw):
        where = f"alerts[{i}]"
        if not isinstance(item, dict):
            raise AlertError(f"{where} must be an object", where)
        status = item.get("status")
        if status not in ("firing", "resolved"):
            raise AlertError(f"{where}.status must be 'firing' or 'resolved'", f"{where}.status")
        labels = {**common, **_strings(item.get("labels"), f"{where}.labels")}
        annotations = _strings(item.get("annotations"), f"{where}.annotations")
        starts_at = _time(item.get("startsAt"), f"{where}.startsAt")
        ends_at = _time(item.get("endsAt"), f"{where}.endsAt", optional=True)
        fingerprint = str(item.get("fingerprint") or "").strip()
        if not fingerprint:  # older senders: the label set identifies the alert, as in Alertmanager
            fingerprint = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
        alertname = labels.get("alertname", "") or str(body.get("title") or "alert")
        service = _service_name(labels)
        severity = _SEVERITY.get(labels.get("severity", "").strip().lower(), Severity.WARNING)
        summary = annotations.get("summary") or annotations.get("title") or alertname
        alerts.append(
            Alert(
                source=source,
                group_key=group_key,
                fingerprint=fingerprint[:128],
                status=status,
                starts_at=starts_at,
                ends_at=ends_at,
                alertname=alertname[:200],
                service=service,
                severity=severity,
                title=f"{summary} ({service})"[:200],
                description=(annotations.get("description") or annotations.get("message") or "")[:10_000],
                labels=labels,
                annotations=annotations,
            )
        )
    return alerts, truncated


def receive(
    cur: Cursor, *, company: str, alerts: list[Alert], truncated: int, now: datetime, actor: Identity
) -> Received:
    """Apply parsed alerts in the caller's transaction: open, update or leave incidents alone.
    What they change is recorded as done by ``actor`` (the ingest token that delivered them)."""
    who = require(actor, Permission.INGEST, company)
    result = Received(truncated=truncated)
    companies.ensure_services(cur, company=company, services={a.service for a in alerts}, actor=who, now=now)
    for alert in alerts:
        seen = cur.execute(
            "SELECT 1 FROM alerts WHERE company = ? AND fingerprint = ? AND status = ? AND starts_at = ?",
            [company, alert.fingerprint, alert.status, alert.starts_at],
        ).fetchall()
        if seen:
            result.duplicates += 1
            known = _incident_of(cur, company, alert)
            if known is not None and known not in result.incidents:
                result.incidents.append(known)
            continue
        incident_id = _apply(cur, company=company, alert=alert, now=now, actor=who)
        cur.execute(
            """INSERT INTO alerts (company, source, group_key, fingerprint, status, starts_at, ends_at,
                   alertname, service, severity, labels, annotations, incident_id, received_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                company,
                alert.source,
                alert.group_key,
                alert.fingerprint,
                alert.status,
                alert.starts_at,
                alert.ends_at,
                alert.alertname,
                alert.service,
                alert.severity.value,
                json.dumps(alert.labels),
                json.dumps(alert.annotations),
                incident_id,
                now,
            ],
        )
        if incident_id is not None and incident_id not in result.incidents:
            result.incidents.append(incident_id)
    if truncated:
        for incident_id in result.incidents:
            incidents.add_event(
                cur,
                company=company,
                incident_id=incident_id,
                ts=now,
                kind="alert",
                actor=who,
                message=f"The sender left out {truncated} more alert(s) of this group (truncated)",
                data={"truncated": truncated, "group_key": alerts[0].group_key},
            )
        incidents.audit(
            cur,
            company=company,
            ts=now,
            actor=who,
            action="alerts.truncated",
            entity="alert_group",
            entity_id=alerts[0].group_key,
            after={"truncated": truncated},
        )
    return result


def _incident_of(cur: Cursor, company: str, alert: Alert) -> int | None:
    rows = cur.execute(
        """SELECT incident_id FROM alerts WHERE company = ? AND fingerprint = ? AND starts_at = ?
           AND incident_id IS NOT NULL ORDER BY received_at LIMIT 1""",
        [company, alert.fingerprint, alert.starts_at],
    ).fetchall()
    return rows[0][0] if rows else None


def _apply(cur: Cursor, *, company: str, alert: Alert, now: datetime, actor: str) -> int | None:
    data = {
        "fingerprint": alert.fingerprint,
        "alertname": alert.alertname,
        "status": alert.status,
        "labels": alert.labels,
    }
    incident_id = _incident_of(cur, company, alert)
    if alert.status == "firing":
        if incident_id is None:
            return incidents.open_incident(
                cur,
                company=company,
                title=alert.title,
                service=alert.service,
                severity=alert.severity,
                started_at=alert.starts_at,
                detected_at=now,
                source="alert",
                rule_family=f"alert:{alert.alertname}",
                description=alert.description,
                message=f"Alert firing from {alert.source}: {alert.alertname}",
                actor=actor,
                data=data,
            )
        status = _status(cur, incident_id)
        incidents.add_event(
            cur,
            company=company,
            incident_id=incident_id,
            ts=now,
            kind="alert",
            actor=actor,
            message=f"Alert firing again: {alert.alertname}",
            data=data,
        )
        if status == IncidentStatus.MONITORING:
            incidents.update_incident(
                cur, company=company, incident_id=incident_id, ts=now, actor=actor, status=IncidentStatus.OPEN
            )
        return incident_id
    if incident_id is None:  # resolved before CalmOps saw it fire: on record, no incident
        return None
    incidents.add_event(
        cur,
        company=company,
        incident_id=incident_id,
        ts=now,
        kind="alert",
        actor=actor,
        message=f"Alert resolved: {alert.alertname}",
        outcome="resolved",
        data=data,
    )
    if _status(cur, incident_id) not in (IncidentStatus.MONITORING, IncidentStatus.RESOLVED):
        incidents.add_event(
            cur,
            company=company,
            incident_id=incident_id,
            ts=now,
            kind="recovered",
            actor=actor,
            message="Recovered: the alert resolved; waiting for a person to resolve the incident",
        )
        incidents.update_incident(
            cur,
            company=company,
            incident_id=incident_id,
            ts=now,
            actor=actor,
            status=IncidentStatus.MONITORING,
        )
    return incident_id


def _status(cur: Cursor, incident_id: int) -> IncidentStatus:
    return IncidentStatus(
        cur.execute("SELECT status FROM incidents WHERE id = ?", [incident_id]).fetchall()[0][0]
    )
