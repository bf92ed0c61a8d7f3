-- How many tags each repository has, kept by triggers, so that a page of the Hub API's tag
-- list does not count them all on every request.
-- The same shapes exist in ../postgres; conventions as in 0001.

ALTER TABLE repositories ADD COLUMN tag_count BIGINT NOT NULL DEFAULT 0;
UPDATE repositories SET tag_count = (SELECT COUNT(*) FROM tags WHERE tags.repository_id = repositories.id);

-- An upsert that moves an existing tag inserts nothing, so it is not counted.
CREATE TRIGGER tags_counted_on_insert AFTER INSERT ON tags
BEGIN
    UPDATE repositories SET tag_count = tag_count + 1 WHERE id = NEW.repository_id;
END;

CREATE TRIGGER tags_counted_on_delete AFTER DELETE ON tags
BEGIN
    UPDATE repositories SET tag_count = tag_count - 1 WHERE id = OLD.repository_id;
END;
