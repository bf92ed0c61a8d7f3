-- Audit log filters by action, actor or name read only the matching events, newest first,
-- however rare they are: without these, a filter walks the account's whole log backwards
-- until it has a page (bench/auditlog.sh, "rareaction" and "rareactor").
CREATE INDEX audit_events_by_action ON audit_events (account, action, created_at, id);
CREATE INDEX audit_events_by_actor ON audit_events (account, actor, created_at, id);
CREATE INDEX audit_events_by_name ON audit_events (account, name, created_at, id);
