-- The Incident Response Agent's decision briefs. One row per version: a new version is written when
-- the substance changes (pattern, recommendation, confidence, customer impact, an auto-action or its
-- verdict); a newer reading of the same story refreshes the latest version in place. Earlier
-- versions stay, so the timeline can show how the agent's view developed.
CREATE TABLE briefs (
    id           BIGINT PRIMARY KEY DEFAULT nextval('ids'),
    company      VARCHAR NOT NULL,
    incident_id  BIGINT NOT NULL,
    version      INTEGER NOT NULL,
    pattern      VARCHAR NOT NULL,
    confidence   VARCHAR NOT NULL CHECK (confidence IN ('high', 'medium', 'low')),
    fingerprint  VARCHAR NOT NULL,   -- what makes a new version: pattern, action, confidence, impact …
    body         JSON NOT NULL,      -- the brief as GET /api/ops/incidents/{id} answers it
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (incident_id, version)
);

-- Customer-message drafts and their versions (edited, approved and sent in a later step).
CREATE TABLE customer_messages (
    id           BIGINT PRIMARY KEY DEFAULT nextval('ids'),
    company      VARCHAR NOT NULL,
    incident_id  BIGINT NOT NULL,
    version      INTEGER NOT NULL,
    state        VARCHAR NOT NULL CHECK (state IN ('investigating', 'identified', 'monitoring', 'resolved')),
    status       VARCHAR NOT NULL CHECK (status IN ('draft', 'approved', 'sent')),
    text         VARCHAR NOT NULL,
    author       VARCHAR NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    approved_by  VARCHAR,
    approved_at  TIMESTAMPTZ,
    sent_at      TIMESTAMPTZ,
    UNIQUE (incident_id, version)
);
