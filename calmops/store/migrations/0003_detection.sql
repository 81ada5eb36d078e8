-- Detection state: where each (rule, service) stands, so evaluation continues from the last
-- sample it judged instead of re-reading history. Incidents themselves live in `incidents`.
CREATE TABLE rule_state (
    company            VARCHAR NOT NULL,
    rule_id            BIGINT NOT NULL,
    service            VARCHAR NOT NULL,
    state              VARCHAR NOT NULL CHECK (state IN ('ok', 'pending', 'firing')),
    since              TIMESTAMPTZ,        -- pending: when the breach began; firing: when it fired
    breach_started_at  TIMESTAMPTZ,        -- firing: when the breach that fired began
    clear_streak       INTEGER NOT NULL DEFAULT 0,
    last_value         DOUBLE,
    evaluated_through  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (company, rule_id, service)
);

-- A dependant that joined an upstream incident keeps which of its rule families brought it in.
ALTER TABLE incident_services ADD COLUMN rule_family VARCHAR;
