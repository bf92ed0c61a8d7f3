-- Organizations, their members, teams, invites and organization access tokens.
-- The same shapes exist in ../postgres; conventions as in 0001.

-- Every namespace name, user or organization: one registry of names, so that a user and an
-- organization can never share one, even when created at the same moment.
CREATE TABLE namespaces (
    name  TEXT PRIMARY KEY,
    kind  TEXT NOT NULL CHECK (kind IN ('user', 'org'))
);
INSERT INTO namespaces (name, kind) SELECT username, 'user' FROM users;

CREATE TABLE organizations (
    id                         TEXT PRIMARY KEY,
    name                       TEXT NOT NULL UNIQUE REFERENCES namespaces (name),
    full_name                  TEXT NOT NULL DEFAULT '',
    company                    TEXT NOT NULL DEFAULT '',
    location                   TEXT NOT NULL DEFAULT '',
    -- Settings (`restricted_images`).
    restrict_images            INTEGER NOT NULL DEFAULT 0 CHECK (restrict_images IN (0, 1)),
    allow_official_images      INTEGER NOT NULL DEFAULT 1 CHECK (allow_official_images IN (0, 1)),
    allow_verified_publishers  INTEGER NOT NULL DEFAULT 1 CHECK (allow_verified_publishers IN (0, 1)),
    created_at                 BIGINT NOT NULL
);

-- A user's membership and direct role. Owner is only ever granted here, never through a
-- team, so "the last owner" is a question about this table alone.
CREATE TABLE org_members (
    org_id     TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'member')),
    joined_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_by_user ON org_members (user_id);

CREATE TABLE teams (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid         TEXT NOT NULL UNIQUE,
    org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    -- A role every member of the team holds in the organization (editor or member), or NULL.
    role         TEXT CHECK (role IN ('editor', 'member')),
    created_at   BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE team_members (
    team_id   BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at  BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_by_user ON team_members (user_id);

CREATE TABLE invites (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    inviter_id       TEXT NOT NULL,
    inviter_name     TEXT NOT NULL,
    -- Who is invited: the account's username for a Docker ID, the normalised address
    -- for an email.
    invitee          TEXT NOT NULL,
    -- The account it is for, when known at invite time (a Docker ID, or an email that
    -- belongs to an account).
    invitee_user_id  TEXT REFERENCES users (id) ON DELETE CASCADE,
    -- Lowercased, when the invitee was given as an email address.
    invitee_email    TEXT,
    role             TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'member')),
    team_id          BIGINT REFERENCES teams (id) ON DELETE SET NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'cancelled')),
    created_at       BIGINT NOT NULL,
    sent_at          BIGINT NOT NULL,
    resolved_at      BIGINT
);
CREATE INDEX invites_by_org ON invites (org_id, status, created_at);
CREATE INDEX invites_by_user ON invites (invitee_user_id, status);
CREATE INDEX invites_by_email ON invites (invitee_email, status);

CREATE TABLE org_access_tokens (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    label          TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    secret_sha256  TEXT NOT NULL UNIQUE,
    -- JSON array of {type, path, scopes}.
    resources      TEXT NOT NULL,
    is_active      INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_by     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT,
    last_used_at   BIGINT
);
CREATE INDEX org_access_tokens_by_org ON org_access_tokens (org_id, created_at);
