-- CalmOps store, version 1. Every tenant table carries `company`; every time is UTC TIMESTAMPTZ.
-- Ids come from one sequence, so an id is unique in the whole installation.
CREATE SEQUENCE ids START 1;

CREATE TABLE companies (
    company     VARCHAR PRIMARY KEY,
    name        VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE services (
    company          VARCHAR NOT NULL,
    service          VARCHAR NOT NULL,
    kind             VARCHAR NOT NULL,
    customer_facing  BOOLEAN NOT NULL DEFAULT false,
    description      VARCHAR NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (company, service)
);

CREATE TABLE service_dependencies (
    company     VARCHAR NOT NULL,
    service     VARCHAR NOT NULL,   -- the dependant
    depends_on  VARCHAR NOT NULL,   -- the upstream service it calls
    PRIMARY KEY (company, service, depends_on)
);

-- Health snapshots, clustered by series: rows of one (company, service, metric, labels) stand
-- together in ts order, so zone maps prune a chart query to a few row groups at any retention.
CREATE TABLE snapshots (
    company  VARCHAR NOT NULL,
    service  VARCHAR NOT NULL,
    metric   VARCHAR NOT NULL,
    labels   VARCHAR NOT NULL DEFAULT '',
    ts       TIMESTAMPTZ NOT NULL,
    value    DOUBLE
);

-- The live tail: fresh snapshots arrive here in time order; compaction moves them into
-- `snapshots` re-clustered by series. The key makes a repeated (series, ts) a no-op.
CREATE TABLE snapshots_tail (
    company  VARCHAR NOT NULL,
    service  VARCHAR NOT NULL,
    metric   VARCHAR NOT NULL,
    labels   VARCHAR NOT NULL DEFAULT '',
    ts       TIMESTAMPTZ NOT NULL,
    value    DOUBLE,
    PRIMARY KEY (company, service, metric, labels, ts)
);

-- What people and pages query: every snapshot, wherever it is stored right now.
CREATE VIEW health_snapshots AS
    SELECT company, service, metric, labels, ts, value FROM snapshots
    UNION ALL
    SELECT company, service, metric, labels, ts, value FROM snapshots_tail;

-- The newest value of every series, kept on every write so "current state" never scans history.
CREATE TABLE latest (
    company  VARCHAR NOT NULL,
    service  VARCHAR NOT NULL,
    metric   VARCHAR NOT NULL,
    labels   VARCHAR NOT NULL DEFAULT '',
    ts       TIMESTAMPTZ NOT NULL,
    value    DOUBLE,
    PRIMARY KEY (company, service, metric, labels)
);

-- Deploys and config changes: evidence for the agent, markers on the charts.
CREATE TABLE events (
    id           BIGINT PRIMARY KEY DEFAULT nextval('ids'),
    company      VARCHAR NOT NULL,
    service      VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL CHECK (kind IN ('deploy', 'config_change')),
    ts           TIMESTAMPTZ NOT NULL,
    description  VARCHAR NOT NULL DEFAULT '',
    version      VARCHAR,
    created_at   TIMESTAMPTZ NOT NULL
);

-- Threshold rules. A rule is breached when `value <comparison> threshold` has held for `for_s`
-- seconds; it recovers (hysteresis) only once `value <comparison> clear_threshold` no longer holds
-- for `recovery_count` samples. Rules of one `family` share one open incident per service.
CREATE TABLE rules (
    id               BIGINT PRIMARY KEY DEFAULT nextval('ids'),
    company          VARCHAR NOT NULL,
    family           VARCHAR NOT NULL,
    name             VARCHAR NOT NULL,
    metric           VARCHAR NOT NULL,
    service          VARCHAR,            -- NULL: every service that reports the metric
    comparison       VARCHAR NOT NULL CHECK (comparison IN ('>', '>=', '<', '<=')),
    threshold        DOUBLE NOT NULL,
    clear_threshold  DOUBLE,
    for_s            INTEGER NOT NULL DEFAULT 0,
    recovery_count   INTEGER NOT NULL DEFAULT 1,
    severity         VARCHAR NOT NULL CHECK (severity IN ('critical', 'high', 'warning', 'info')),
    enabled          BOOLEAN NOT NULL DEFAULT true,
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    updated_by       VARCHAR NOT NULL DEFAULT 'system'
);

CREATE TABLE incidents (
    id                  BIGINT PRIMARY KEY DEFAULT nextval('ids'),
    company             VARCHAR NOT NULL,
    title               VARCHAR NOT NULL,
    service             VARCHAR NOT NULL,
    severity            VARCHAR NOT NULL CHECK (severity IN ('critical', 'high', 'warning', 'info')),
    status              VARCHAR NOT NULL CHECK (status IN ('open', 'acknowledged', 'mitigating', 'monitoring', 'resolved')),
    version             INTEGER NOT NULL DEFAULT 1,
    source              VARCHAR NOT NULL DEFAULT 'rule',   -- rule | alert | manual
    rule_family         VARCHAR,
    pattern             VARCHAR,
    description         VARCHAR NOT NULL DEFAULT '',
    flags               VARCHAR[] NOT NULL DEFAULT [],
    assignee            VARCHAR,
    started_at          TIMESTAMPTZ NOT NULL,
    detected_at         TIMESTAMPTZ NOT NULL,
    acknowledged_at     TIMESTAMPTZ,
    resolved_at         TIMESTAMPTZ,
    escalated_at        TIMESTAMPTZ,
    escalation_reason   VARCHAR,
    previous_incident_id BIGINT,
    updated_at          TIMESTAMPTZ NOT NULL
);

-- Services affected by an incident besides its own (dependants that degraded because of it).
CREATE TABLE incident_services (
    company      VARCHAR NOT NULL,
    incident_id  BIGINT NOT NULL,
    service      VARCHAR NOT NULL,
    joined_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (incident_id, service)
);

-- The timeline: everything that happened to an incident, in order.
CREATE TABLE incident_events (
    id           BIGINT PRIMARY KEY DEFAULT nextval('ids'),
    company      VARCHAR NOT NULL,
    incident_id  BIGINT NOT NULL,
    ts           TIMESTAMPTZ NOT NULL,
    kind         VARCHAR NOT NULL,
    actor        VARCHAR NOT NULL DEFAULT 'system',
    message      VARCHAR NOT NULL DEFAULT '',
    outcome      VARCHAR,
    data         JSON
);

CREATE TABLE recommendations (
    id               BIGINT PRIMARY KEY DEFAULT nextval('ids'),
    company          VARCHAR NOT NULL,
    incident_id      BIGINT NOT NULL,
    action           VARCHAR NOT NULL,
    risk             VARCHAR NOT NULL CHECK (risk IN ('safe', 'low', 'medium', 'high')),
    reason           VARCHAR NOT NULL DEFAULT '',
    expected_effect  VARCHAR NOT NULL DEFAULT '',
    confidence       VARCHAR NOT NULL DEFAULT 'medium' CHECK (confidence IN ('high', 'medium', 'low')),
    status           VARCHAR NOT NULL DEFAULT 'proposed'
                     CHECK (status IN ('proposed', 'approved', 'declined', 'executing', 'succeeded', 'failed', 'superseded')),
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       TIMESTAMPTZ NOT NULL,
    decided_by       VARCHAR,
    decided_at       TIMESTAMPTZ,
    note             VARCHAR
);

CREATE TABLE reviews (
    id           BIGINT PRIMARY KEY DEFAULT nextval('ids'),
    company      VARCHAR NOT NULL,
    incident_id  BIGINT NOT NULL,
    version      INTEGER NOT NULL,
    body         JSON NOT NULL,
    author       VARCHAR NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);

-- Append-only: who changed what, when, with the state before and after.
CREATE TABLE audit_log (
    id         BIGINT PRIMARY KEY DEFAULT nextval('ids'),
    company    VARCHAR NOT NULL,
    ts         TIMESTAMPTZ NOT NULL,
    actor      VARCHAR NOT NULL,
    action     VARCHAR NOT NULL,
    entity     VARCHAR NOT NULL,
    entity_id  VARCHAR,
    before     JSON,
    after      JSON
);

-- Installation-level bookkeeping (no tenant data): compaction progress and the like.
CREATE TABLE store_state (
    key    VARCHAR PRIMARY KEY,
    value  VARCHAR NOT NULL
);

-- The demo world's ground truth: which anomaly it injected where. Detection never reads this;
-- tests and the demo's own checks compare what was detected against it.
CREATE TABLE demo_episodes (
    company     VARCHAR NOT NULL,
    service     VARCHAR NOT NULL,
    pattern     VARCHAR NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    ended_at    TIMESTAMPTZ,
    note        VARCHAR NOT NULL DEFAULT ''
);
