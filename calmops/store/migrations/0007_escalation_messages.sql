-- CalmOps store, version 7: notifications (webhooks per company and channel, and a record of every
-- notification), the escalation rules' settings and flags, and who sent a customer message.

-- Where a company's notifications go: `oncall` (new incidents, reminders, resolutions), `lead`
-- (escalations and their reminders) and `status_page` (approved customer messages).
CREATE TABLE notification_channels (
    company     VARCHAR NOT NULL,
    channel     VARCHAR NOT NULL CHECK (channel IN ('oncall', 'lead', 'status_page')),
    url         VARCHAR NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    updated_by  VARCHAR NOT NULL,
    PRIMARY KEY (company, channel)
);

-- Every notification CalmOps produced, sent or not. `status`: `recorded` (demo world, or no URL
-- configured: kept here only), `pending` (being delivered right now), `sent`, `failed`.
-- `dedupe` makes a notification that must exist once (an incident's `new_incident`, one reminder
-- slot) idempotent; NULL for the ones that may repeat (escalations).
CREATE TABLE notifications (
    id           BIGINT PRIMARY KEY DEFAULT nextval('ids'),
    company      VARCHAR NOT NULL,
    incident_id  BIGINT,
    channel      VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL
                 CHECK (kind IN ('new_incident', 'escalation', 'reminder', 'resolution', 'customer_message')),
    text         VARCHAR NOT NULL,
    url          VARCHAR,              -- where it was (or would have been) POSTed
    link         VARCHAR,              -- the incident's page
    created_at   TIMESTAMPTZ NOT NULL,
    sent_at      TIMESTAMPTZ,
    status       VARCHAR NOT NULL CHECK (status IN ('recorded', 'pending', 'sent', 'failed')),
    response     JSON,                 -- the receiver's status and a truncated body, or the error
    dedupe       VARCHAR UNIQUE
);

-- Per-company escalation timing (defaults when a company has no row: 30 and 15 minutes).
CREATE TABLE escalation_settings (
    company             VARCHAR PRIMARY KEY,
    critical_after_min  INTEGER NOT NULL DEFAULT 30,
    remind_every_min    INTEGER NOT NULL DEFAULT 15,
    updated_at          TIMESTAMPTZ NOT NULL,
    updated_by          VARCHAR NOT NULL
);

-- Why an incident needs escalation, as the rules see it now (`reasons`: [{"code", "text"}]), and
-- the reason codes an actual escalation already covered (`escalated_codes`). The incident's
-- `needs_escalation` flag is set while a reason is not covered.
CREATE TABLE escalation_flags (
    company          VARCHAR NOT NULL,
    incident_id      BIGINT PRIMARY KEY,
    reasons          JSON NOT NULL,
    escalated_codes  VARCHAR[] NOT NULL DEFAULT [],
    since            TIMESTAMPTZ,      -- when the current reasons were first seen
    updated_at       TIMESTAMPTZ NOT NULL
);

ALTER TABLE customer_messages ADD COLUMN sent_by VARCHAR;
