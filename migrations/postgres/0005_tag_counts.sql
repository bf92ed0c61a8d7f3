-- How many tags each repository has, kept by a trigger, so that a page of the Hub API's tag
-- list does not count them all on every request.
-- The same shapes exist in ../sqlite; conventions as in 0001.

ALTER TABLE repositories ADD COLUMN tag_count BIGINT NOT NULL DEFAULT 0;
UPDATE repositories r SET tag_count = (SELECT COUNT(*) FROM tags t WHERE t.repository_id = r.id);

-- An upsert that moves an existing tag fires no INSERT trigger, so it is not counted.
CREATE FUNCTION count_tags() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE repositories SET tag_count = tag_count + 1 WHERE id = NEW.repository_id;
    ELSE
        UPDATE repositories SET tag_count = tag_count - 1 WHERE id = OLD.repository_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER tags_counted AFTER INSERT OR DELETE ON tags
    FOR EACH ROW EXECUTE FUNCTION count_tags();
