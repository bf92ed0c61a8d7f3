-- A page of a repository list is picked from an index alone, then its rows are read: a deep
-- page then skips index entries, not table rows. The indexes of the orderings by update time
-- and by pull count hold the name that breaks their ties, in the order the Hub lists them
-- most (newest and most pulled first, then by name); the unique (namespace, name) serves
-- the order by name.
-- The same shapes exist in ../sqlite; conventions as in 0001.

DROP INDEX repositories_by_updated;
DROP INDEX repositories_by_pulls;
CREATE INDEX repositories_by_updated ON repositories (namespace, updated_at DESC, name);
CREATE INDEX repositories_by_pulls ON repositories (namespace, pull_count DESC, name);
