-- Online garbage collection (`wharf gc`, src/domain/gc.rs).
--
-- `touched_at`: the last time a blob was uploaded, mounted, referenced by a manifest push,
-- or left unreferenced by a manifest delete. The collector only takes blobs untouched for
-- longer than its grace window, and every writer that relies on a blob touches it in its
-- own transaction (which also locks the row against a concurrent sweep).
--
-- `deleting`: 1 while the collector deletes the blob's object. Such a row is invisible to
-- pushes (they wait or fail, never link it) and is finished by the next run if this one
-- stopped half-way.
ALTER TABLE blobs ADD COLUMN touched_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE blobs ADD COLUMN deleting INTEGER NOT NULL DEFAULT 0;
UPDATE blobs SET touched_at = created_at;

-- "Is this digest referenced by any manifest?", the question the sweep asks of every
-- candidate.
CREATE INDEX manifest_references_by_digest ON manifest_references (digest);
