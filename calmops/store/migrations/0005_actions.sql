-- CalmOps store, version 5: the action catalogue's attempts, the executors that carry them out,
-- and the demo world's record of the mitigations it honours.

-- Every attempt to run an action, automatic or approved, including the ones the guard rails
-- refused (outcome `skipped`, `refusal` says which rail). `verdict` is verify-after-act: the
-- metric before the action against the same metric once `settle_until` has passed (NULL when the
-- attempt cannot be verified: it did not run, or the metric had no data).
CREATE TABLE action_attempts (
    id                 BIGINT PRIMARY KEY DEFAULT nextval('ids'),
    company            VARCHAR NOT NULL,
    incident_id        BIGINT NOT NULL,
    service            VARCHAR NOT NULL,
    action             VARCHAR NOT NULL,
    risk               VARCHAR NOT NULL CHECK (risk IN ('safe', 'low', 'medium', 'high')),
    kind               VARCHAR NOT NULL CHECK (kind IN ('auto', 'approved')),
    recommendation_id  BIGINT,
    requested_by       VARCHAR NOT NULL,
    reason             VARCHAR NOT NULL DEFAULT '',
    metric             VARCHAR,
    requested_at       TIMESTAMPTZ NOT NULL,          -- when it was planned (or refused)
    outcome            VARCHAR NOT NULL DEFAULT 'pending'
                       CHECK (outcome IN ('pending', 'succeeded', 'failed', 'skipped')),
    verdict            VARCHAR CHECK (verdict IS NULL OR verdict IN ('pending', 'effective', 'no_effect', 'worse')),
    before_value       DOUBLE,
    after_value        DOUBLE,
    settle_until       TIMESTAMPTZ,
    refusal            VARCHAR,                       -- the guard rail that refused it (outcome skipped)
    executor           VARCHAR,                       -- webhook | demo, once dispatched
    started_at         TIMESTAMPTZ,                   -- when a dispatcher claimed it
    finished_at        TIMESTAMPTZ,
    detail             VARCHAR NOT NULL DEFAULT '',   -- what happened, in words
    response           JSON,                          -- the executor's answer (status, truncated body) or error
    watched            VARCHAR[]                      -- services the metric is judged on (NULL: `service`)
);

-- One row per (company, service, action) that every automatic plan updates: two planners racing
-- for the same action write the same row, so DuckDB lets exactly one of them commit.
CREATE TABLE action_guard (
    company          VARCHAR NOT NULL,
    service          VARCHAR NOT NULL,
    action           VARCHAR NOT NULL,
    last_planned_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (company, service, action)
);

-- The webhook executor's configuration: where a company's actions are POSTed, signed with
-- `secret` (HMAC-SHA256). `action` '*' applies to every action without a row of its own.
CREATE TABLE executors (
    company     VARCHAR NOT NULL,
    action      VARCHAR NOT NULL,
    url         VARCHAR NOT NULL,
    secret      VARCHAR NOT NULL,
    timeout_s   DOUBLE NOT NULL DEFAULT 10,
    retries     INTEGER NOT NULL DEFAULT 2,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (company, action)
);

-- What the demo world's executor did: an action applied to an ongoing episode. The episode
-- effects honour these rows (a breaker shields the dependants, paused batch jobs slow a queue's
-- growth, …), so history, live rounds and the demo's endpoints agree. Actions that end a problem
-- (a rollback, a restart, scaled-out workers) also set the episode's `ended_at`.
CREATE TABLE demo_mitigations (
    company             VARCHAR NOT NULL,
    service             VARCHAR NOT NULL,     -- the episode's service
    pattern             VARCHAR NOT NULL,
    episode_started_at  TIMESTAMPTZ NOT NULL,
    action              VARCHAR NOT NULL,
    applied_at          TIMESTAMPTZ NOT NULL,
    scope               VARCHAR,              -- open_circuit_breaker on a dependant: only it is shielded
    attempt_id          BIGINT
);
