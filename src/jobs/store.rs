//! The jobs engine's tables in D1 (`migrations/`): what a job is, its rows and chunks, and the
//! job object of the API, whose counts are aggregates of the stored rows, never counters.

use std::collections::BTreeMap;

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

/// The job object of `GET /v1/jobs/{id}` (`src/openapi.json`, `Job`): the fields of
/// `mailvet_core::table::Summary` (the CLI's `summary.json`), counted here by D1 from the rows.
#[derive(Debug, Serialize)]
pub struct Job {
    pub id: String,
    pub name: Option<String>,
    pub status: String,
    pub checks: String,
    pub total_rows: i64,
    pub unique_addresses: i64,
    pub duplicates: i64,
    pub processed: i64,
    pub percent: i64,
    pub counts: Counts,
    pub reasons: BTreeMap<String, i64>,
    pub top_domains: Vec<TopDomain>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub eta_seconds: Option<i64>,
    pub error: Option<JobError>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Counts {
    #[serde(default)]
    pub valid: i64,
    #[serde(default)]
    pub risky: i64,
    #[serde(default)]
    pub invalid: i64,
    #[serde(default)]
    pub unknown: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct TopDomain {
    pub domain: String,
    pub rows: i64,
    #[serde(flatten)]
    pub counts: Counts,
}

#[derive(Deserialize)]
struct Tally {
    processed: i64,
    duplicates: i64,
    valid: Option<i64>,
    risky: Option<i64>,
    invalid: Option<i64>,
    unknown: Option<i64>,
}

#[derive(Deserialize)]
struct ReasonCount {
    code: String,
    rows: i64,
}

#[derive(Deserialize)]
struct DomainCount {
    domain: String,
    rows: i64,
    valid: Option<i64>,
    risky: Option<i64>,
    invalid: Option<i64>,
    unknown: Option<i64>,
}

const VERDICT_SUMS: &str = "SUM(verdict = 'valid') AS valid, SUM(verdict = 'risky') AS risky, \
     SUM(verdict = 'invalid') AS invalid, SUM(verdict = 'unknown') AS unknown";
/// The domains the job object lists.
const TOP_DOMAINS: u32 = 10;

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
                     GROUP BY domain ORDER BY rows DESC, domain LIMIT {TOP_DOMAINS}"
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
        Some(r) => r.results::<DomainCount>()?,
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
    let total = record.total_rows;
    // As `mailvet_core::table::Summary` counts them: the rows that repeat no earlier row.
    let unique_addresses = total - duplicates;
    let percent = if total > 0 {
        processed * 100 / total
    } else {
        0
    };
    let eta_seconds = match (record.status.as_str(), record.started_at) {
        ("completed" | "failed" | "cancelled", _) => Some(0),
        ("running", Some(started)) if processed > 0 => {
            let elapsed = (now - started).max(0);
            Some(elapsed * (total - processed).max(0) / processed / 1000)
        }
        _ => None,
    };
    Ok(Job {
        name: record.name,
        status: record.status,
        checks: record.checks,
        total_rows: total,
        unique_addresses,
        duplicates,
        processed,
        percent,
        counts,
        reasons: reasons.into_iter().map(|r| (r.code, r.rows)).collect(),
        top_domains: domains
            .into_iter()
            .map(|d| TopDomain {
                domain: d.domain,
                rows: d.rows,
                counts: Counts {
                    valid: d.valid.unwrap_or(0),
                    risky: d.risky.unwrap_or(0),
                    invalid: d.invalid.unwrap_or(0),
                    unknown: d.unknown.unwrap_or(0),
                },
            })
            .collect(),
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

/// Deletes a job's rows, chunks and record (its R2 files are the caller's).
pub async fn delete_job(db: &D1Database, id: &str) -> worker::Result<()> {
    let id = text(id);
    db.batch(vec![
        stmt(
            db,
            "DELETE FROM rows WHERE job = ?1",
            std::slice::from_ref(&id),
        )?,
        stmt(
            db,
            "DELETE FROM chunks WHERE job = ?1",
            std::slice::from_ref(&id),
        )?,
        stmt(db, "DELETE FROM jobs WHERE id = ?1", &[id])?,
    ])
    .await?;
    Ok(())
}

/// Marks the job completed when it is running and no row is left unchecked, in one statement,
/// so that of several chunks that end together exactly one sees the change. `true` for that one.
pub async fn complete_if_done(db: &D1Database, id: &str, now: i64) -> worker::Result<bool> {
    let result = stmt(
        db,
        "UPDATE jobs SET status = 'completed', finished_at = ?2 \
         WHERE id = ?1 AND status = 'running' AND chunks > 0 \
         AND NOT EXISTS (SELECT 1 FROM rows WHERE job = ?1 AND verdict IS NULL)",
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
