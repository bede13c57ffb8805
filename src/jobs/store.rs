//! The jobs engine's tables in D1 (`migrations/`): what a job is, its rows and chunks, and the
//! job object of the API, whose counts are aggregates of the stored rows, never counters.

use std::collections::BTreeMap;

use mailvet_core::table::{self, Counts, DomainCount, Summary};
use mailvet_core::verdict::ReasonCode;
use serde::{Deserialize, Serialize};
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use crate::random;

/// A job's row in `jobs`.
#[derive(Debug, Deserialize)]
pub struct JobRecord {
    pub id: String,
    pub owner: String,
    pub name: Option<String>,
    pub status: String,
    pub checks: String,
    pub format: String,
    pub shape: String,
    pub upload: String,
    pub total_rows: i64,
    pub chunks: i64,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub error: Option<String>,
}

/// Why a job failed, as the job object says it.
#[derive(Debug, Serialize, Deserialize)]
pub struct JobError {
    pub code: String,
    pub message: String,
}

/// The job object of `GET /v1/jobs/{id}` (`src/openapi.json`, `Job`): the counting part is
/// the core's `table::Summary` (as the CLI's `summary.json`), filled here from D1's
/// aggregates of the stored rows.
///
/// The fields are written out rather than `#[serde(flatten)]`ed: flattening costs the Worker
/// several KB of Wasm. `crates/core/tests/contract.rs` holds `Summary` to the same schema.
#[derive(Debug, Serialize)]
pub struct Job {
    pub id: String,
    pub name: Option<String>,
    pub status: String,
    pub checks: String,
    pub total_rows: u64,
    pub unique_addresses: u64,
    pub duplicates: u64,
    pub counts: Counts,
    pub reasons: BTreeMap<ReasonCode, u64>,
    pub top_domains: Vec<DomainCount>,
    pub processed: u64,
    pub percent: u64,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub eta_seconds: Option<u64>,
    pub error: Option<JobError>,
}

#[derive(Deserialize)]
struct Tally {
    processed: u64,
    duplicates: u64,
    valid: Option<u64>,
    risky: Option<u64>,
    invalid: Option<u64>,
    unknown: Option<u64>,
}

#[derive(Deserialize)]
struct ReasonCount {
    code: String,
    rows: u64,
}

#[derive(Deserialize)]
struct DomainRows {
    domain: String,
    valid: Option<u64>,
    risky: Option<u64>,
    invalid: Option<u64>,
    unknown: Option<u64>,
}

impl DomainRows {
    fn counts(&self) -> Counts {
        Counts {
            valid: self.valid.unwrap_or(0),
            risky: self.risky.unwrap_or(0),
            invalid: self.invalid.unwrap_or(0),
            unknown: self.unknown.unwrap_or(0),
        }
    }
}

const VERDICT_SUMS: &str = "SUM(verdict = 'valid') AS valid, SUM(verdict = 'risky') AS risky, \
     SUM(verdict = 'invalid') AS invalid, SUM(verdict = 'unknown') AS unknown";

/// A statement with its arguments bound.
pub fn stmt(db: &D1Database, sql: &str, args: &[JsValue]) -> worker::Result<D1PreparedStatement> {
    db.prepare(sql).bind(args)
}

pub fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

pub fn int(n: i64) -> JsValue {
    JsValue::from_f64(n as f64)
}

pub fn opt_text(s: Option<&str>) -> JsValue {
    s.map_or(JsValue::NULL, JsValue::from_str)
}

/// The job `id` of `owner`; `None` when there is none (or it is someone else's).
pub async fn job_of(db: &D1Database, id: &str, owner: &str) -> worker::Result<Option<JobRecord>> {
    stmt(
        db,
        "SELECT * FROM jobs WHERE id = ?1 AND owner = ?2",
        &[text(id), text(owner)],
    )?
    .first(None)
    .await
}

/// The job `id`, whoever owns it (for the engine).
pub async fn job(db: &D1Database, id: &str) -> worker::Result<Option<JobRecord>> {
    stmt(db, "SELECT * FROM jobs WHERE id = ?1", &[text(id)])?
        .first(None)
        .await
}

/// The job object: the record with its rows' aggregates, at `now` (ms).
pub async fn job_object(db: &D1Database, record: JobRecord, now: i64) -> worker::Result<Job> {
    let id = text(&record.id);
    let results = db
        .batch(vec![
            stmt(
                db,
                &format!(
                    "SELECT COUNT(verdict) AS processed, COUNT(duplicate_of) AS duplicates, \
                     {VERDICT_SUMS} FROM rows WHERE job = ?1"
                ),
                std::slice::from_ref(&id),
            )?,
            stmt(
                db,
                "SELECT j.value AS code, COUNT(*) AS rows FROM rows, json_each(rows.reasons) AS j \
                 WHERE rows.job = ?1 GROUP BY j.value",
                std::slice::from_ref(&id),
            )?,
            stmt(
                db,
                &format!(
                    "SELECT domain, COUNT(*) AS rows, {VERDICT_SUMS} FROM rows \
                     WHERE job = ?1 AND domain IS NOT NULL \
                     GROUP BY domain ORDER BY rows DESC, domain LIMIT {}",
                    table::TOP_DOMAINS
                ),
                &[id],
            )?,
        ])
        .await?;
    let tally = results
        .first()
        .map(|r| r.results::<Tally>())
        .transpose()?
        .and_then(|t| t.into_iter().next());
    let reasons = match results.get(1) {
        Some(r) => r.results::<ReasonCount>()?,
        None => Vec::new(),
    };
    let domains = match results.get(2) {
        Some(r) => r.results::<DomainRows>()?,
        None => Vec::new(),
    };
    let (processed, duplicates, counts) = match tally {
        Some(t) => (
            t.processed,
            t.duplicates,
            Counts {
                valid: t.valid.unwrap_or(0),
                risky: t.risky.unwrap_or(0),
                invalid: t.invalid.unwrap_or(0),
                unknown: t.unknown.unwrap_or(0),
            },
        ),
        None => (0, 0, Counts::default()),
    };
    let total = record.total_rows.unsigned_abs();
    let percent = (processed * 100).checked_div(total).unwrap_or(0);
    let eta_seconds = match (record.status.as_str(), record.started_at) {
        ("completed" | "failed" | "cancelled", _) => Some(0),
        ("running", Some(started)) if processed > 0 => {
            let elapsed = (now - started).unsigned_abs();
            Some(elapsed * total.saturating_sub(processed) / processed / 1000)
        }
        _ => None,
    };
    let summary = Summary {
        total_rows: total,
        // As the core counts them: the rows that repeat no earlier row.
        unique_addresses: total.saturating_sub(duplicates),
        duplicates,
        counts,
        reasons: reasons
            .into_iter()
            .filter_map(|r| Some((ReasonCode::from_str_code(&r.code)?, r.rows)))
            .collect(),
        top_domains: domains
            .iter()
            .map(|d| {
                let counts = d.counts();
                DomainCount {
                    domain: d.domain.clone(),
                    rows: counts.total(),
                    counts,
                }
            })
            .collect(),
    };
    let Summary {
        total_rows,
        unique_addresses,
        duplicates,
        counts,
        reasons,
        top_domains,
    } = summary;
    Ok(Job {
        name: record.name,
        status: record.status,
        checks: record.checks,
        total_rows,
        unique_addresses,
        duplicates,
        counts,
        reasons,
        top_domains,
        processed,
        percent,
        created_at: random::iso(record.created_at),
        started_at: record.started_at.map(random::iso),
        finished_at: record.finished_at.map(random::iso),
        eta_seconds,
        error: record
            .error
            .as_deref()
            .and_then(|e| serde_json::from_str(e).ok()),
        id: record.id,
    })
}

/// Deletes a job's rows, chunks, record and, when it is a list's run, what the run changed
/// (its R2 files are the caller's).
pub async fn delete_job(db: &D1Database, id: &str) -> worker::Result<()> {
    let id = text(id);
    let mut statements = Vec::with_capacity(4);
    for table in ["rows", "chunks", "list_changes"] {
        statements.push(stmt(
            db,
            &format!("DELETE FROM {table} WHERE job = ?1"),
            std::slice::from_ref(&id),
        )?);
    }
    statements.push(stmt(db, "DELETE FROM jobs WHERE id = ?1", &[id])?);
    db.batch(statements).await?;
    Ok(())
}

/// Marks the job completed when it is running and no chunk is open (a chunk is done in the same
/// batch that stores its rows' results and its duplicates'), in one statement, so that of several
/// chunks that end together exactly one sees the change. `true` for that one.
pub async fn complete_if_done(db: &D1Database, id: &str, now: i64) -> worker::Result<bool> {
    let result = stmt(
        db,
        "UPDATE jobs SET status = 'completed', finished_at = ?2 \
         WHERE id = ?1 AND status = 'running' AND chunks > 0 \
         AND NOT EXISTS (SELECT 1 FROM chunks WHERE job = ?1 AND done = 0)",
        &[text(id), int(now)],
    )?
    .run()
    .await?;
    Ok(changed(&result))
}

/// Whether a statement changed a row.
pub fn changed(result: &worker::D1Result) -> bool {
    result
        .meta()
        .ok()
        .flatten()
        .and_then(|m| m.changes)
        .is_some_and(|n| n > 0)
}
