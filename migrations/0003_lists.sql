-- Lists that stay clean (src/jobs/lists.rs): a completed job's rows kept as a list, checked again
-- on a schedule. Each run is an ordinary job (`jobs`, `rows`, `chunks`) whose rows are copied
-- from `list_rows`; what a run changed is kept in `list_changes`, its counts in `list_runs`.

CREATE TABLE lists (
  id TEXT PRIMARY KEY,              -- 128 random bits, hex
  owner TEXT NOT NULL,              -- as jobs.owner
  name TEXT,
  every_days INTEGER NOT NULL,      -- 1..90 (mailvet_core::table::runs::Every)
  checks TEXT NOT NULL,             -- syntax | dns | smtp: the source job's
  shape TEXT NOT NULL,              -- the source job's shape (header, delimiter, BOM)
  source_job TEXT NOT NULL,         -- the job the list was made from: its run 1
  total_rows INTEGER NOT NULL,
  next_run_at INTEGER NOT NULL,     -- ms: the cron starts a run after this
  running TEXT,                     -- the job of the run going on; NULL between runs
  latest_job TEXT NOT NULL,         -- the job of the latest finished run: kept past retention
  created_at INTEGER NOT NULL
);
CREATE INDEX lists_by_owner ON lists (owner, created_at DESC, id DESC);
CREATE INDEX lists_due ON lists (next_run_at) WHERE running IS NULL;
CREATE INDEX lists_by_latest ON lists (latest_job);
CREATE INDEX lists_running ON lists (running) WHERE running IS NOT NULL;

-- A list's rows as the source job had them, with each row's verdict as of the latest run.
CREATE TABLE list_rows (
  list TEXT NOT NULL,
  row INTEGER NOT NULL,
  input TEXT NOT NULL,
  cells TEXT,                       -- as rows.cells
  address_key TEXT,
  domain TEXT,
  duplicate_of INTEGER,
  verdict TEXT,                     -- as of the latest finished run
  reasons TEXT,
  PRIMARY KEY (list, row)
) WITHOUT ROWID;

-- The history: one row per run, its counts frozen when it ends (its job may be deleted later).
CREATE TABLE list_runs (
  list TEXT NOT NULL,
  run INTEGER NOT NULL,             -- 1 is the source job
  job TEXT NOT NULL,
  status TEXT NOT NULL,             -- running | completed | failed
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  valid INTEGER,
  risky INTEGER,
  invalid INTEGER,
  unknown INTEGER,
  transitions TEXT,                 -- JSON [{"from", "to", "rows"}] against the run before
  PRIMARY KEY (list, run)
) WITHOUT ROWID;
CREATE INDEX list_runs_by_job ON list_runs (job);

-- The rows whose verdict a run changed: the verdict and reasons before and after. Deleted with
-- the run's job (retention, DELETE).
CREATE TABLE list_changes (
  job TEXT NOT NULL,                -- the run's job
  row INTEGER NOT NULL,
  old_verdict TEXT,
  old_reasons TEXT,
  verdict TEXT NOT NULL,
  reasons TEXT,
  PRIMARY KEY (job, row)
) WITHOUT ROWID;
