-- Watched sending domains (src/jobs/monitors.rs, issue 12): each checked once a day by the cron,
-- the history kept, and `domain.changed` sent when the grade, a finding or a blocklist status
-- changes. A monitor belongs to the key that made it, like a job.

CREATE TABLE monitors (
  owner TEXT NOT NULL,              -- SHA-256 of the secret key (hex), or "open"
  domain TEXT NOT NULL,             -- A-labels, lowercase
  ips TEXT NOT NULL,                -- JSON array of sending addresses
  dkim_selectors TEXT NOT NULL,     -- JSON array
  created_at INTEGER NOT NULL,      -- ms since the epoch
  next_check_at INTEGER NOT NULL,   -- ms: the cron checks it after this
  PRIMARY KEY (owner, domain)
) WITHOUT ROWID;
CREATE INDEX monitors_due ON monitors (next_check_at);

CREATE TABLE monitor_checks (
  id TEXT PRIMARY KEY,              -- 128 random bits, hex: the subject of its domain.changed
  owner TEXT NOT NULL,
  domain TEXT NOT NULL,
  checked_at INTEGER NOT NULL,      -- ms
  grade TEXT NOT NULL,              -- A-F
  findings TEXT NOT NULL,           -- JSON array of finding codes, sorted
  dnsbl TEXT NOT NULL,              -- JSON array of {zone, target, status}, sorted
  changes TEXT                      -- JSON array of what changed since the check before; NULL for the first
);
CREATE INDEX monitor_checks_by_domain ON monitor_checks (owner, domain, checked_at DESC);
