-- After resolution (DESIGN.md step 7): where each rule change came from, and the operators' runbook
-- entries per pattern. Reviews themselves are versioned rows of `reviews` (0001).

-- Every change of a threshold rule, one row per new version: who, when, why, and from where (an
-- edit on the Rules page or the API, or a review's threshold proposal applied on an incident).
CREATE TABLE rule_changes (
    id           BIGINT PRIMARY KEY DEFAULT nextval('ids'),
    company      VARCHAR NOT NULL,
    rule_id      BIGINT NOT NULL,
    version      INTEGER NOT NULL,     -- the rule's version after this change
    actor        VARCHAR NOT NULL,
    ts           TIMESTAMPTZ NOT NULL,
    source       VARCHAR NOT NULL CHECK (source IN ('created', 'edit', 'proposal')),
    incident_id  BIGINT,               -- source 'proposal': the reviewed incident
    proposal_id  VARCHAR,
    reason       VARCHAR NOT NULL DEFAULT '',
    before       JSON,
    after        JSON NOT NULL
);

-- Recovery commands per company and pattern, as operators keep them (the brief shows the latest
-- version; without one, the playbook's defaults). Every save is a new version.
CREATE TABLE runbook_entries (
    id          BIGINT PRIMARY KEY DEFAULT nextval('ids'),
    company     VARCHAR NOT NULL,
    pattern     VARCHAR NOT NULL,
    version     INTEGER NOT NULL,
    commands    JSON NOT NULL,          -- a list of strings, in order
    notes       VARCHAR NOT NULL DEFAULT '',
    author      VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (company, pattern, version)
);

-- Two people saving a review of the same version at once: exactly one of them gets it.
CREATE UNIQUE INDEX reviews_incident_version ON reviews (incident_id, version);
