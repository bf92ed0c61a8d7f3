-- The Hub API's view of repositories: integer ids for repositories and tags, indexes for
-- the listings, and team access to repositories.
-- The same shapes exist in ../postgres; conventions as in 0001.

-- Integer ids (`id`, `repository` in the Hub API), numbered in insertion order.
ALTER TABLE repositories ADD COLUMN number INTEGER;
UPDATE repositories SET number = rowid;
CREATE UNIQUE INDEX repositories_by_number ON repositories (number);
CREATE TRIGGER repositories_number AFTER INSERT ON repositories WHEN NEW.number IS NULL
BEGIN
    UPDATE repositories SET number = (SELECT COALESCE(MAX(number), 0) + 1 FROM repositories)
    WHERE id = NEW.id;
END;

ALTER TABLE tags ADD COLUMN number INTEGER;
UPDATE tags SET number = rowid;
CREATE UNIQUE INDEX tags_by_number ON tags (number);
CREATE TRIGGER tags_number AFTER INSERT ON tags WHEN NEW.number IS NULL
BEGIN
    UPDATE tags SET number = (SELECT COALESCE(MAX(number), 0) + 1 FROM tags)
    WHERE repository_id = NEW.repository_id AND name = NEW.name;
END;

-- Hub API listings: tags newest first, repositories by name, update time or pulls.
CREATE INDEX tags_by_pushed ON tags (repository_id, pushed_at DESC, name);
CREATE INDEX repositories_by_updated ON repositories (namespace, updated_at);
CREATE INDEX repositories_by_pulls ON repositories (namespace, pull_count);

-- What a team may do with an organization's repository. A member's access to a private
-- repository is the highest permission among their teams.
CREATE TABLE repository_teams (
    repository_id  TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    team_id        BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    permission     TEXT NOT NULL CHECK (permission IN ('read', 'write', 'admin')),
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (repository_id, team_id)
);
CREATE INDEX repository_teams_by_team ON repository_teams (team_id);
