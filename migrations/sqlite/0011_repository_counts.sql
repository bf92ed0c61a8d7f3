-- How many repositories each namespace has, and how many of them are public, kept by
-- triggers, so that a page of an unfiltered repository list does not count them all (a
-- count of 100,000 rows on every page).
-- The same shapes exist in ../postgres; conventions as in 0001.

ALTER TABLE namespaces ADD COLUMN repository_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE namespaces ADD COLUMN public_repository_count BIGINT NOT NULL DEFAULT 0;
UPDATE namespaces SET
    repository_count = (SELECT COUNT(*) FROM repositories r WHERE r.namespace = namespaces.name),
    public_repository_count =
        (SELECT COUNT(*) FROM repositories r WHERE r.namespace = namespaces.name AND r.is_private = 0);

CREATE TRIGGER repositories_counted_on_insert AFTER INSERT ON repositories
BEGIN
    UPDATE namespaces SET repository_count = repository_count + 1,
        public_repository_count = public_repository_count + (NEW.is_private = 0)
    WHERE name = NEW.namespace;
END;

CREATE TRIGGER repositories_counted_on_delete AFTER DELETE ON repositories
BEGIN
    UPDATE namespaces SET repository_count = repository_count - 1,
        public_repository_count = public_repository_count - (OLD.is_private = 0)
    WHERE name = OLD.namespace;
END;

CREATE TRIGGER repositories_counted_on_privacy AFTER UPDATE OF is_private ON repositories
WHEN OLD.is_private <> NEW.is_private
BEGIN
    UPDATE namespaces
    SET public_repository_count = public_repository_count + (NEW.is_private = 0) - (OLD.is_private = 0)
    WHERE name = NEW.namespace;
END;
