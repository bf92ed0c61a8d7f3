-- ../postgres counts tags per statement from this version on; SQLite keeps the row
-- triggers of 0005, which update the repository row in place. Nothing changes here.
SELECT 1;
