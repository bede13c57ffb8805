-- Chunks group rows by domain (src/jobs/engine.rs, split): a chunk's addresses share few domains,
-- so each domain is resolved about once per job and its addresses go to the prober in one
-- request. A row's chunk is NULL for a duplicate (it takes its first occurrence's result).
-- chunks.first_row and last_row now only say where the chunk's rows lie in the file.
ALTER TABLE rows ADD COLUMN chunk INTEGER;
CREATE INDEX rows_by_chunk ON rows (job, chunk);
