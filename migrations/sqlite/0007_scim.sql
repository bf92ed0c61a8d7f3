-- SCIM provisioning: one token per organization, the identity provider's view of each
-- user it provisioned into an organization, and the identity provider's names for teams.
-- The same shapes exist in ../postgres; conventions as in 0001.

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
    -- The work email the identity provider gave; the account's own email is left alone.
    email          TEXT NOT NULL,
    active         INTEGER NOT NULL CHECK (active IN (0, 1)),
    -- `dockerRole` and `dockerTeam`: the role held while active, and the team joined.
    role           TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'member')),
    team           TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id),
    UNIQUE (org_id, user_name_key)
);

-- Teams pushed as SCIM groups keep the identity provider's id and name for them.
ALTER TABLE teams ADD COLUMN external_id TEXT;
ALTER TABLE teams ADD COLUMN scim_display_name TEXT;
