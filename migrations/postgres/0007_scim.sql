-- SCIM provisioning: one token per organization, the identity provider's view of each
-- user it provisioned into an organization, and the identity provider's names for teams.
-- The same shapes exist in ../sqlite; conventions as in 0001.

-- The organization's SCIM token, stored only as a hash. Rotating it replaces the row.
CREATE TABLE scim_tokens (
    org_id         TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    secret_sha256  TEXT NOT NULL UNIQUE,
    created_at     BIGINT NOT NULL
);

-- A provisioned user as the organization's identity provider sees it. The SCIM id is the
-- account's id. The user is a member of the organization exactly while `active` is 1.
CREATE TABLE scim_users (
    org_id         TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- `userName` as the identity provider sent it, and lowercased: it is unique in the
    -- organization without regard to case (RFC 7643: caseExact false).
    user_name      TEXT NOT NULL,
    user_name_key  TEXT NOT NULL,
    external_id    TEXT,
    given_name     TEXT,
    family_name    TEXT,
    -- `emails` as the identity provider sent them (a JSON list), and the one filters match:
    -- the primary, else the first (else the userName when it is an address). The account's
    -- own email is left alone.
    emails         TEXT NOT NULL DEFAULT '[]',
    email          TEXT,
    active         INTEGER NOT NULL CHECK (active IN (0, 1)),
    -- `dockerRole` and `dockerTeam` when the identity provider sets them: the role held
    -- while active (unset: the member keeps the role they have, else member), and the team.
    role           TEXT CHECK (role IN ('owner', 'editor', 'member')),
    team           TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id),
    UNIQUE (org_id, user_name_key)
);

-- Teams pushed as SCIM groups keep the identity provider's id and name for them, and when
-- provisioning last changed them.
ALTER TABLE teams ADD COLUMN external_id TEXT;
ALTER TABLE teams ADD COLUMN scim_display_name TEXT;
ALTER TABLE teams ADD COLUMN scim_updated_at BIGINT;
