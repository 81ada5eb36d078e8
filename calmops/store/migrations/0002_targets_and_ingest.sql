-- CalmOps store, version 2: health-check targets the collector probes, and every probe's outcome.

-- What the collector probes: one health endpoint of one service. `format` NULL means "detect it from
-- the answer" (content type, then body); `last_*` is the outcome of the newest probe.
CREATE TABLE targets (
    id               BIGINT PRIMARY KEY DEFAULT nextval('ids'),
    company          VARCHAR NOT NULL,
    service          VARCHAR NOT NULL,
    url              VARCHAR NOT NULL,
    format           VARCHAR CHECK (format IS NULL OR format IN ('json', 'health+json', 'spring', 'prometheus')),
    timeout_s        DOUBLE NOT NULL DEFAULT 5,
    interval_s       DOUBLE NOT NULL DEFAULT 30,
    enabled          BOOLEAN NOT NULL DEFAULT true,
    created_at       TIMESTAMPTZ NOT NULL,
    last_probe_at    TIMESTAMPTZ,
    last_ok          BOOLEAN,
    last_reason      VARCHAR,
    last_latency_ms  DOUBLE,
    UNIQUE (company, service, url)
);

-- One row per probe, so the reason of every failed probe stays on record after `targets.last_*`
-- has moved on. `format` is what the answer was read as (NULL when there was no answer).
CREATE TABLE probe_log (
    company      VARCHAR NOT NULL,
    target_id    BIGINT NOT NULL,
    service      VARCHAR NOT NULL,
    ts           TIMESTAMPTZ NOT NULL,
    ok           BOOLEAN NOT NULL,
    reason       VARCHAR NOT NULL DEFAULT '',
    latency_ms   DOUBLE,
    http_status  INTEGER,
    format       VARCHAR
);
