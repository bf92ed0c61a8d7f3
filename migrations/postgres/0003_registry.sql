-- The registry: repositories, blobs, manifests, tags and upload sessions.
-- The same shapes exist in ../sqlite; conventions as in 0001.

CREATE TABLE repositories (
    id                    TEXT PRIMARY KEY,
    namespace             TEXT NOT NULL REFERENCES namespaces (name),
    -- The part after the namespace; may itself contain '/'.
    name                  TEXT NOT NULL,
    is_private            INTEGER NOT NULL DEFAULT 1 CHECK (is_private IN (0, 1)),
    description           TEXT NOT NULL DEFAULT '',
    full_description      TEXT NOT NULL DEFAULT '',
    immutable_tags        INTEGER NOT NULL DEFAULT 0 CHECK (immutable_tags IN (0, 1)),
    -- JSON array of RE2 patterns.
    immutable_tags_rules  TEXT NOT NULL DEFAULT '[]',
    pull_count            BIGINT NOT NULL DEFAULT 0,
    last_pulled_at        BIGINT,
    created_by            TEXT NOT NULL,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    UNIQUE (namespace, name)
);

-- Content-addressed blobs, shared by every repository that links them.
CREATE TABLE blobs (
    digest      TEXT PRIMARY KEY,
    size        BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Which repositories may serve a blob: pushed or mounted there, or referenced by one of
-- its manifests.
CREATE TABLE repository_blobs (
    repository_id  TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    digest         TEXT NOT NULL REFERENCES blobs (digest),
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (repository_id, digest)
);
CREATE INDEX repository_blobs_by_digest ON repository_blobs (digest);

CREATE TABLE manifests (
    repository_id  TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    digest         TEXT NOT NULL,
    media_type     TEXT NOT NULL,
    artifact_type  TEXT,
    -- The digest of the manifest's `subject`, for the referrers API.
    subject        TEXT,
    size           BIGINT NOT NULL,
    content        BYTEA NOT NULL,
    -- JSON: per-platform images with their layers, as the Hub tag API shows them.
    images         TEXT NOT NULL DEFAULT '[]',
    annotations    TEXT NOT NULL DEFAULT '{}',
    pushed_at      BIGINT NOT NULL,
    PRIMARY KEY (repository_id, digest)
);
CREATE INDEX manifests_by_subject ON manifests (repository_id, subject);

-- What a manifest references (layers, config, child manifests): what it keeps alive.
CREATE TABLE manifest_references (
    repository_id    TEXT NOT NULL,
    manifest_digest  TEXT NOT NULL,
    digest           TEXT NOT NULL,
    PRIMARY KEY (repository_id, manifest_digest, digest),
    FOREIGN KEY (repository_id, manifest_digest) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE
);

CREATE TABLE tags (
    repository_id   TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    -- Byte order, as on SQLite: tags/list pages by name and must not depend on the
    -- cluster's locale.
    name            TEXT COLLATE "C" NOT NULL,
    digest          TEXT NOT NULL,
    pushed_at       BIGINT NOT NULL,
    pushed_by       TEXT NOT NULL,
    last_pulled_at  BIGINT,
    PRIMARY KEY (repository_id, name),
    FOREIGN KEY (repository_id, digest) REFERENCES manifests (repository_id, digest)
);

-- Upload sessions: rows, so that any instance can continue one after a restart.
CREATE TABLE uploads (
    id             TEXT PRIMARY KEY,
    repository_id  TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    -- Who started it: the upload belongs to them even if their token expires meanwhile.
    account_id     TEXT NOT NULL,
    -- Bytes received so far, in `parts` objects.
    size           BIGINT NOT NULL DEFAULT 0,
    parts          INTEGER NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
