-- The jobs engine (src/jobs.rs). D1 holds the truth: every row of a job with its result,
-- keyed by (job, row). Queue messages only point at work; counts are aggregates of `rows`.

CREATE TABLE jobs (
  id TEXT PRIMARY KEY,              -- 128 random bits, hex
  owner TEXT NOT NULL,              -- SHA-256 of the secret key (hex), or "open"
  name TEXT,
  status TEXT NOT NULL,             -- queued | running | completed | failed | cancelled
  checks TEXT NOT NULL,             -- syntax | dns | smtp
  format TEXT NOT NULL,             -- how the upload in R2 reads: text | csv | json
  shape TEXT NOT NULL,              -- JSON: delimiter, address column, header, BOM (src/jobs/rows.rs)
  upload TEXT NOT NULL,             -- the R2 key of the upload
  total_rows INTEGER NOT NULL,
  chunks INTEGER NOT NULL DEFAULT 0,-- how many chunks the split made (0 until it ran)
  split_attempts INTEGER NOT NULL DEFAULT 0,
  split_deadline INTEGER,           -- ms: the split is sent again after this
  created_at INTEGER NOT NULL,      -- ms since the epoch
  started_at INTEGER,
  finished_at INTEGER,
  error TEXT
);
CREATE INDEX jobs_by_owner ON jobs (owner, created_at DESC, id DESC);
CREATE INDEX jobs_by_status ON jobs (status, finished_at);

CREATE TABLE rows (
  job TEXT NOT NULL,
  row INTEGER NOT NULL,             -- data rows count from 1
  input TEXT NOT NULL,              -- the address cell as given
  cells TEXT,                       -- a CSV row's cells, JSON; NULL when the row is its address
  address_key TEXT,                 -- the normalised address; NULL when the syntax is invalid
  domain TEXT,
  duplicate_of INTEGER,             -- the row of the first occurrence of address_key
  verdict TEXT,                     -- NULL until checked
  reasons TEXT,                     -- JSON array of reason codes
  suggestion TEXT,
  score INTEGER,
  report TEXT,                      -- the Report as JSON, as /v1/verify answers it
  PRIMARY KEY (job, row)
) WITHOUT ROWID;
CREATE INDEX rows_by_key ON rows (job, address_key);
CREATE INDEX rows_by_duplicate ON rows (job, duplicate_of);

CREATE TABLE chunks (
  job TEXT NOT NULL,
  chunk INTEGER NOT NULL,
  first_row INTEGER NOT NULL,
  last_row INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 1,
  deadline INTEGER NOT NULL,        -- ms: the sweeper sends it again after this
  done INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (job, chunk)
) WITHOUT ROWID;
CREATE INDEX chunks_open ON chunks (done, deadline);

CREATE TABLE webhooks (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  url TEXT NOT NULL,
  events TEXT NOT NULL,             -- JSON array
  secret TEXT NOT NULL,             -- whsec_…: the Worker signs with it, so it is kept
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE INDEX webhooks_by_owner ON webhooks (owner, created_at DESC);
