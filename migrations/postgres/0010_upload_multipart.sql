-- Uploads on S3 go through a multipart upload that any instance can continue: its id, the
-- ids of the parts so far (JSON array, in order), and the bytes after the last part, which
-- wait in the upload's last object until a part is full (src/blobs/uploads.rs).
ALTER TABLE uploads ADD COLUMN multipart_id TEXT;
ALTER TABLE uploads ADD COLUMN multipart_parts TEXT NOT NULL DEFAULT '[]';
ALTER TABLE uploads ADD COLUMN tail_size BIGINT NOT NULL DEFAULT 0;
