-- Alerts received from Alertmanager (webhook v4) and Grafana (unified alerting, v1). One row per
-- (fingerprint, status, startsAt) seen: the same alert sent again — Alertmanager resends whole
-- groups — matches an existing row and changes nothing.
CREATE TABLE alerts (
    id           BIGINT PRIMARY KEY DEFAULT nextval('ids'),
    company      VARCHAR NOT NULL,
    source       VARCHAR NOT NULL CHECK (source IN ('alertmanager', 'grafana')),
    group_key    VARCHAR NOT NULL DEFAULT '',
    fingerprint  VARCHAR NOT NULL,
    status       VARCHAR NOT NULL CHECK (status IN ('firing', 'resolved')),
    starts_at    TIMESTAMPTZ NOT NULL,
    ends_at      TIMESTAMPTZ,
    alertname    VARCHAR NOT NULL DEFAULT '',
    service      VARCHAR NOT NULL,
    severity     VARCHAR NOT NULL,
    labels       JSON NOT NULL,
    annotations  JSON NOT NULL,
    incident_id  BIGINT,
    received_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (company, fingerprint, status, starts_at)
);
