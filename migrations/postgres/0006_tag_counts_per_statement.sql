-- Tag counts, kept per statement instead of per row: a row trigger updates the repository
-- row once per tag, which within one large statement (an import, a repository deleted with
-- many tags) leaves a long chain of row versions to walk. Counted from the statement's
-- transition tables, each statement updates each repository once.
-- ../sqlite keeps its row triggers (an update there rewrites the row in place).

DROP TRIGGER tags_counted ON tags;
DROP FUNCTION count_tags();

CREATE FUNCTION count_inserted_tags() RETURNS trigger AS $$
BEGIN
    UPDATE repositories r SET tag_count = r.tag_count + c.n
    FROM (SELECT repository_id, COUNT(*) AS n FROM inserted_tags GROUP BY repository_id) c
    WHERE r.id = c.repository_id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION count_deleted_tags() RETURNS trigger AS $$
BEGIN
    UPDATE repositories r SET tag_count = r.tag_count - c.n
    FROM (SELECT repository_id, COUNT(*) AS n FROM deleted_tags GROUP BY repository_id) c
    WHERE r.id = c.repository_id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- An upsert that moves an existing tag has it in the UPDATE transition table, not in this
-- one: it is not counted.
CREATE TRIGGER tags_counted_on_insert AFTER INSERT ON tags
    REFERENCING NEW TABLE AS inserted_tags
    FOR EACH STATEMENT EXECUTE FUNCTION count_inserted_tags();

CREATE TRIGGER tags_counted_on_delete AFTER DELETE ON tags
    REFERENCING OLD TABLE AS deleted_tags
    FOR EACH STATEMENT EXECUTE FUNCTION count_deleted_tags();
