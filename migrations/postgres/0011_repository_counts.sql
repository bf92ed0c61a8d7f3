-- How many repositories each namespace has, and how many of them are public, kept by
-- triggers, so that a page of an unfiltered repository list does not count them all (a
-- count of 100,000 rows on every page).
-- Inserts and deletes are counted per statement from the transition tables (as tags are
-- since 0006), so that a large statement updates each namespace row once; a change of
-- privacy, one repository at a time, per row.
-- The same shapes exist in ../sqlite; conventions as in 0001.

ALTER TABLE namespaces ADD COLUMN repository_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE namespaces ADD COLUMN public_repository_count BIGINT NOT NULL DEFAULT 0;
UPDATE namespaces n SET
    repository_count = (SELECT COUNT(*) FROM repositories r WHERE r.namespace = n.name),
    public_repository_count =
        (SELECT COUNT(*) FROM repositories r WHERE r.namespace = n.name AND r.is_private = 0);

CREATE FUNCTION count_inserted_repositories() RETURNS trigger AS $$
BEGIN
    UPDATE namespaces n SET repository_count = n.repository_count + c.total,
        public_repository_count = n.public_repository_count + c.public
    FROM (SELECT namespace, COUNT(*) AS total, COUNT(*) FILTER (WHERE is_private = 0) AS public
          FROM inserted_repositories GROUP BY namespace) c
    WHERE n.name = c.namespace;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION count_deleted_repositories() RETURNS trigger AS $$
BEGIN
    UPDATE namespaces n SET repository_count = n.repository_count - c.total,
        public_repository_count = n.public_repository_count - c.public
    FROM (SELECT namespace, COUNT(*) AS total, COUNT(*) FILTER (WHERE is_private = 0) AS public
          FROM deleted_repositories GROUP BY namespace) c
    WHERE n.name = c.namespace;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION count_repository_privacy() RETURNS trigger AS $$
BEGIN
    UPDATE namespaces SET public_repository_count = public_repository_count
        + (CASE WHEN NEW.is_private = 0 THEN 1 ELSE 0 END) - (CASE WHEN OLD.is_private = 0 THEN 1 ELSE 0 END)
    WHERE name = NEW.namespace;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER repositories_counted_on_insert AFTER INSERT ON repositories
    REFERENCING NEW TABLE AS inserted_repositories
    FOR EACH STATEMENT EXECUTE FUNCTION count_inserted_repositories();

CREATE TRIGGER repositories_counted_on_delete AFTER DELETE ON repositories
    REFERENCING OLD TABLE AS deleted_repositories
    FOR EACH STATEMENT EXECUTE FUNCTION count_deleted_repositories();

CREATE TRIGGER repositories_counted_on_privacy AFTER UPDATE OF is_private ON repositories
    FOR EACH ROW WHEN (OLD.is_private <> NEW.is_private)
    EXECUTE FUNCTION count_repository_privacy();
