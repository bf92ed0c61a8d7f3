-- Accounts, personal access tokens, login challenges, signing keys and the audit log.
-- Timestamps are UTC microseconds since the Unix epoch; flags are 0/1 integers. The same
-- shapes exist in ../postgres so that one set of queries serves both backends.

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    email           TEXT NOT NULL UNIQUE,
    full_name       TEXT NOT NULL DEFAULT '',
    password_hash   TEXT NOT NULL,
    -- Bumped on every password change; session tokens carry it, so a change revokes them.
    password_epoch  BIGINT NOT NULL DEFAULT 0,
    is_active       INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    totp_secret     TEXT,
    -- Highest TOTP time step accepted so far: the replay guard.
    totp_last_step  BIGINT,
    created_at      BIGINT NOT NULL,
    last_login_at   BIGINT
);

CREATE TABLE personal_access_tokens (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label         TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL UNIQUE,
    scopes        TEXT NOT NULL,
    is_active     INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    client_id     TEXT NOT NULL,
    generated_by  TEXT NOT NULL,
    creator_ip    TEXT NOT NULL,
    creator_ua    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    last_used_at  BIGINT
);
CREATE INDEX personal_access_tokens_by_user ON personal_access_tokens (user_id, created_at);

CREATE TABLE login_challenges (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at  BIGINT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE signing_keys (
    name        TEXT PRIMARY KEY,
    secret      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account     TEXT NOT NULL,
    action      TEXT NOT NULL,
    name        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    credential  TEXT,
    data        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX audit_events_by_account ON audit_events (account, created_at, id);
