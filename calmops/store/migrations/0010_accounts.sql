-- Who may do what (DESIGN.md, CONTRACT.md "401/403/404"): people's accounts and their role in each
-- company, API tokens for scripts and machines, browser sessions, and login attempts (rate limits).
-- Secrets are never stored: passwords as scrypt hashes, tokens and session ids as SHA-256 digests.

CREATE TABLE users (
    id             BIGINT PRIMARY KEY DEFAULT nextval('ids'),
    company        VARCHAR,                 -- installation-level: NULL (roles say where they act)
    name           VARCHAR NOT NULL UNIQUE, -- the login and what timelines and audit rows record
    email          VARCHAR UNIQUE,          -- how an OIDC identity finds its account
    display_name   VARCHAR NOT NULL DEFAULT '',
    password_hash  VARCHAR,                 -- NULL: signs in through OIDC only
    created_at     TIMESTAMPTZ NOT NULL,
    disabled_at    TIMESTAMPTZ
);

-- One role per (user, company); company NULL = every company (the people who run the installation).
CREATE TABLE user_roles (
    user_id     BIGINT NOT NULL,
    company     VARCHAR,
    role        VARCHAR NOT NULL CHECK (role IN ('viewer', 'operator', 'lead', 'admin', 'ingest')),
    granted_by  VARCHAR NOT NULL,
    granted_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX user_roles_one_per_company ON user_roles (user_id, coalesce(company, '*'));

CREATE TABLE api_tokens (
    id            BIGINT PRIMARY KEY DEFAULT nextval('ids'),
    company       VARCHAR,                  -- NULL: an installation-wide token (--all-companies)
    role          VARCHAR NOT NULL CHECK (role IN ('viewer', 'operator', 'lead', 'admin', 'ingest')),
    name          VARCHAR NOT NULL,
    prefix        VARCHAR NOT NULL,         -- the first characters, to tell tokens apart in lists
    digest        VARCHAR NOT NULL UNIQUE,  -- SHA-256 of the whole token
    created_by    VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);

CREATE TABLE sessions (
    digest      VARCHAR PRIMARY KEY,        -- SHA-256 of the session id in the signed cookie
    company     VARCHAR,                    -- installation-level: NULL
    user_id     BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);

CREATE TABLE login_attempts (
    id       BIGINT PRIMARY KEY DEFAULT nextval('ids'),  -- the order of attempts, even within a tick
    company  VARCHAR,                       -- installation-level: NULL
    name     VARCHAR NOT NULL,              -- the name typed (lower case), known or not
    client   VARCHAR NOT NULL,              -- the client's address
    ts       TIMESTAMPTZ NOT NULL,
    ok       BOOLEAN NOT NULL
);
