-- Lists being made (src/jobs/lists.rs, `create`). A list's rows are copied from its job before the
-- list itself is written, so that a list whose rows were not all copied is never seen; a request
-- that dies between the two leaves rows that no list owns. Each creation is recorded here first
-- and forgotten with the list's own insert; the cron deletes the rows of a creation still here an
-- hour later.

CREATE TABLE list_creations (
  id TEXT PRIMARY KEY,              -- the id the list would have had
  started_at INTEGER NOT NULL       -- ms since the epoch
) WITHOUT ROWID;
