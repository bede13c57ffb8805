//! Lists that stay clean: a completed job's rows kept as a list (`POST /v1/lists`) and checked
//! again from scratch on a schedule, each run an ordinary job of the engine over the list's
//! rows; the history of runs with their counts and transitions (`GET /v1/lists/{id}`), the rows a
//! run changed (`GET /v1/lists/{id}/changes`), and `list.cleaned` when a run ends.
//!
//! D1 holds the truth (`migrations/0003_lists.sql`):
//!
//! - `list_rows` keeps each row as the source job had it, with its verdict as of the latest run.
//! - A run starts in one batch (a transaction): the list is claimed (`running` is set only where
//!   it was NULL), and the job and the history's row are inserted only where the claim held, so
//!   the cron and `POST /v1/lists/{id}/runs` never start a list twice.
//! - The run's split ([`split`]) copies `list_rows` into `rows` (INSERT OR IGNORE: run twice, it
//!   changes nothing) and hands over to the engine's chunks.
//! - When the job completes, [`run_finished`] records the rows whose verdict changed, moves the
//!   list's verdicts on, freezes the run's counts and transitions and releases the list, in one
//!   batch whose statements all require the run to be still `running`: of two callers, exactly
//!   one does it, and only that one announces `list.cleaned`. The cron ([`sweep`]) finishes a run
//!   whose completion was missed, releases a list whose run failed or was deleted, and starts the
//!   lists that are due.

use futures_util::stream;
use mailvet_core::table::runs::{self, Every, Transition};
use mailvet_core::table::{self, Counts};
use mailvet_core::verdict::Verdict;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use worker::{D1Database, Env, Request, Response};

use super::engine::{self, Work};
use super::rows::Shape;
use super::store::{self, JobRecord, int, opt_text, stmt, text};
use super::{MAX_ROWS, Page, json, param, webhooks};
use crate::api;
use crate::config::Config;
use crate::error::ApiError;
use crate::random;

/// `jobs.format` of a run: its rows come from `list_rows`, not from an upload.
pub const FORMAT: &str = "list";
/// Rows copied per statement (list → run, job → list), and statements per batch.
const COPY_ROWS: i64 = 10_000;
const COPIES_PER_BATCH: usize = 10;
/// Rows read from D1 per step of a changes download.
const CHANGES_PAGE: i64 = 500;
/// Lists started per cron.
const DUE_PER_SWEEP: i64 = 100;
/// The condition every statement that ends run `?1` carries.
const STILL_RUNNING: &str =
    "EXISTS (SELECT 1 FROM list_runs WHERE job = ?1 AND status = 'running')";

#[derive(Debug, Deserialize)]
struct ListRecord {
    id: String,
    name: Option<String>,
    every_days: i64,
    checks: String,
    shape: String,
    source_job: String,
    total_rows: i64,
    next_run_at: i64,
    running: Option<String>,
    created_at: i64,
}

impl ListRecord {
    fn every(&self) -> Every {
        Every::parse(&format!("{}d", self.every_days)).unwrap_or_else(|_| {
            Every::parse("7d").unwrap_or_else(|_| unreachable!("7d is a schedule"))
        })
    }
}

#[derive(Debug, Deserialize)]
struct RunRecord {
    run: i64,
    job: String,
    status: String,
    started_at: i64,
    finished_at: Option<i64>,
    valid: Option<u64>,
    risky: Option<u64>,
    invalid: Option<u64>,
    unknown: Option<u64>,
    transitions: Option<String>,
}

#[derive(Deserialize)]
struct StoredTransition {
    from: Verdict,
    to: Verdict,
    rows: u64,
}

/// One run of a list, as its history shows it.
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    run: i64,
    job: String,
    status: String,
    started_at: String,
    finished_at: Option<String>,
    /// Rows per verdict; `null` until the run has completed.
    counts: Option<Counts>,
    /// Against the run before, the largest first (`mailvet_core::table::runs::transitions`).
    transitions: Vec<Transition>,
}

impl RunRecord {
    fn object(self) -> Run {
        let counts = (self.status == "completed").then(|| Counts {
            valid: self.valid.unwrap_or(0),
            risky: self.risky.unwrap_or(0),
            invalid: self.invalid.unwrap_or(0),
            unknown: self.unknown.unwrap_or(0),
        });
        let stored: Vec<StoredTransition> = self
            .transitions
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default();
        // The core orders them; it counts pairs, so each stored count is given as that many.
        let transitions = runs::transitions(stored.iter().flat_map(|t| {
            std::iter::repeat_n((t.from, t.to), usize::try_from(t.rows).unwrap_or(0))
        }));
        Run {
            run: self.run,
            job: self.job,
            status: self.status,
            started_at: random::iso(self.started_at),
            finished_at: self.finished_at.map(random::iso),
            counts,
            transitions,
        }
    }
}

/// The list object of the API (`src/openapi.json`, `List`).
#[derive(Debug, Serialize)]
struct ListObject {
    id: String,
    name: Option<String>,
    every: String,
    checks: String,
    total_rows: i64,
    source_job: String,
    /// `running` while a run is going, else `idle`.
    status: &'static str,
    next_run_at: String,
    created_at: String,
    /// How many runs it has had (the source job is run 1).
    runs: i64,
    latest_run: Option<Run>,
    /// Every run, oldest first: only in `GET /v1/lists/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<Vec<Run>>,
}

impl ListRecord {
    /// The list object; `history` is every run, oldest first, and stays in the object when
    /// `whole`.
    fn object(self, history: Vec<Run>, whole: bool) -> ListObject {
        let latest_run = history.last().cloned();
        ListObject {
            every: self.every().to_string(),
            status: if self.running.is_some() {
                "running"
            } else {
                "idle"
            },
            next_run_at: random::iso(self.next_run_at),
            created_at: random::iso(self.created_at),
            id: self.id,
            name: self.name,
            checks: self.checks,
            total_rows: self.total_rows,
            source_job: self.source_job,
            runs: latest_run.as_ref().map_or(0, |r| r.run),
            latest_run,
            history: whole.then_some(history),
        }
    }
}

/// The `data` of a `list.cleaned` delivery: the list and the run that ended.
#[derive(Debug, Serialize)]
pub struct Cleaned {
    id: String,
    name: Option<String>,
    every: String,
    next_run_at: String,
    run: Run,
}

fn list_not_found() -> ApiError {
    ApiError::new(
        404,
        "list_not_found",
        "There is no list with this id for this key.",
    )
}

fn run_in_progress() -> ApiError {
    ApiError::new(
        409,
        "list_run_in_progress",
        "This list is being cleaned now; ask again when its run has ended.",
    )
}

async fn list_of(db: &D1Database, id: &str, owner: &str) -> Result<ListRecord, ApiError> {
    let record: Option<ListRecord> = stmt(
        db,
        "SELECT * FROM lists WHERE id = ?1 AND owner = ?2",
        &[text(id), text(owner)],
    )?
    .first(None)
    .await?;
    record.ok_or_else(list_not_found)
}

async fn history(db: &D1Database, id: &str) -> worker::Result<Vec<Run>> {
    let records: Vec<RunRecord> = stmt(
        db,
        "SELECT * FROM list_runs WHERE list = ?1 ORDER BY run",
        &[text(id)],
    )?
    .all()
    .await?
    .results()?;
    Ok(records.into_iter().map(RunRecord::object).collect())
}

async fn latest_run(db: &D1Database, id: &str) -> worker::Result<Vec<Run>> {
    let records: Vec<RunRecord> = stmt(
        db,
        "SELECT * FROM list_runs WHERE list = ?1 ORDER BY run DESC LIMIT 1",
        &[text(id)],
    )?
    .all()
    .await?
    .results()?;
    Ok(records.into_iter().map(RunRecord::object).collect())
}

#[derive(Deserialize)]
struct NewList {
    name: Option<String>,
    job: Option<String>,
    every: Option<String>,
}

fn every_of(text: &str) -> Result<Every, ApiError> {
    Every::parse(text).map_err(|e| ApiError::bad_request(e.code(), e.to_string()))
}

/// `POST /v1/lists` `{"name", "job", "every"}`: the rows of a completed job, kept as a list.
pub async fn create(req: &mut Request, env: &Env, owner: &str) -> Result<Response, ApiError> {
    let body: NewList = api::json_body(req).await?;
    let every = every_of(body.every.as_deref().unwrap_or("7d"))?;
    let source = body.job.ok_or_else(|| {
        ApiError::bad_request(
            "missing_job",
            "Give the id of a completed job (job) to keep as a list.",
        )
    })?;
    let db = env.d1("DB")?;
    let job = store::job_of(&db, &source, owner)
        .await?
        .ok_or_else(super::job_not_found)?;
    if job.status != "completed" {
        return Err(ApiError::new(
            409,
            "job_not_finished",
            format!(
                "The job is {}; a list is made from a completed job.",
                job.status
            ),
        ));
    }
    if job.total_rows.unsigned_abs() > MAX_ROWS {
        return Err(super::list_error(&table::TableError::too_many_rows()));
    }
    let id = random::id();
    let now = random::now_ms();
    // Recorded first, forgotten with the list's insert below: rows copied by a request that
    // dies in between are found and deleted by the cron ([`sweep`]).
    stmt(
        &db,
        "INSERT INTO list_creations (id, started_at) VALUES (?1, ?2)",
        &[text(&id), int(now)],
    )?
    .run()
    .await?;
    copy_rows(
        &db,
        "INSERT OR IGNORE INTO list_rows (list, row, input, cells, address_key, domain, \
         duplicate_of, verdict, reasons) SELECT ?1, row, input, cells, address_key, domain, \
         duplicate_of, verdict, reasons FROM rows WHERE job = ?2 AND row BETWEEN ?3 AND ?4",
        &id,
        &source,
        job.total_rows,
    )
    .await?;
    let name = body.name.filter(|n| !n.is_empty()).or(job.name.clone());
    let next = next_run(every, now);
    db.batch(vec![
        stmt(
            &db,
            "INSERT INTO list_runs (list, run, job, status, started_at, finished_at, \
             valid, risky, invalid, unknown, transitions) \
             SELECT ?1, 1, ?2, 'completed', ?3, ?4, COALESCE(SUM(verdict = 'valid'), 0), \
             COALESCE(SUM(verdict = 'risky'), 0), COALESCE(SUM(verdict = 'invalid'), 0), \
             COALESCE(SUM(verdict = 'unknown'), 0), '[]' FROM rows WHERE job = ?2",
            &[
                text(&id),
                text(&source),
                int(job.started_at.unwrap_or(job.created_at)),
                int(job.finished_at.unwrap_or(now)),
            ],
        )?,
        // Last: a list whose rows were not all copied is never seen.
        stmt(
            &db,
            "INSERT INTO lists (id, owner, name, every_days, checks, shape, source_job, \
             total_rows, next_run_at, latest_job, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?7, ?10)",
            &[
                text(&id),
                text(owner),
                opt_text(name.as_deref()),
                int(i64::from(every.days())),
                text(&job.checks),
                text(&job.shape),
                text(&source),
                int(job.total_rows),
                int(next),
                int(now),
            ],
        )?,
        stmt(
            &db,
            "DELETE FROM list_creations WHERE id = ?1",
            &[text(&id)],
        )?,
    ])
    .await?;
    let record = list_of(&db, &id, owner).await?;
    let runs = history(&db, &id).await?;
    let mut response = json(&record.object(runs, true))?.with_status(201);
    response
        .headers_mut()
        .set("Location", &format!("/v1/lists/{id}"))?;
    Ok(response)
}

/// When a list cleaned every `every`, last started at `now` (ms), is due again.
fn next_run(every: Every, now: i64) -> i64 {
    let seconds = every.next_after((now / 1000).unsigned_abs());
    i64::try_from(seconds).unwrap_or(i64::MAX / 1000) * 1000 + now % 1000
}

/// Runs `sql` (binding the target `?1`, the source `?2` and a range of rows `?3`..`?4`) over
/// `total` rows, a page per statement.
async fn copy_rows(
    db: &D1Database,
    sql: &str,
    target: &str,
    source: &str,
    total: i64,
) -> worker::Result<()> {
    let mut statements = Vec::with_capacity(COPIES_PER_BATCH);
    let mut first = 1;
    while first <= total {
        let last = first + COPY_ROWS - 1;
        statements.push(stmt(
            db,
            sql,
            &[text(target), text(source), int(first), int(last)],
        )?);
        if statements.len() == COPIES_PER_BATCH {
            db.batch(std::mem::take(&mut statements)).await?;
        }
        first = last + 1;
    }
    if !statements.is_empty() {
        db.batch(statements).await?;
    }
    Ok(())
}

/// `GET /v1/lists/{id}`: the list with its whole history.
pub async fn get(env: &Env, owner: &str, id: &str) -> Result<Response, ApiError> {
    let db = env.d1("DB")?;
    let record = list_of(&db, id, owner).await?;
    let runs = history(&db, id).await?;
    json(&record.object(runs, true))
}

#[derive(Serialize)]
struct ListPage {
    lists: Vec<ListObject>,
    next_cursor: Option<String>,
}

/// `GET /v1/lists?limit=&cursor=`: newest first, each with its latest run.
pub async fn list(req: &Request, env: &Env, owner: &str) -> Result<Response, ApiError> {
    let page = Page::of(req)?;
    let db = env.d1("DB")?;
    let records: Vec<ListRecord> = page.rows(&db, "lists", owner).await?;
    let next_cursor = page.next(
        records.len(),
        records.last().map(|r| (r.created_at, r.id.as_str())),
    );
    let mut lists = Vec::with_capacity(records.len());
    for record in records {
        let latest = latest_run(&db, &record.id).await?;
        lists.push(record.object(latest, false));
    }
    json(&ListPage { lists, next_cursor })
}

#[derive(Deserialize)]
struct ListPatch {
    name: Option<String>,
    every: Option<String>,
    next_run_at: Option<String>,
}

/// `PATCH /v1/lists/{id}` `{"name", "every", "next_run_at"}`: what is given changes (an empty
/// name removes it).
pub async fn patch(
    req: &mut Request,
    env: &Env,
    owner: &str,
    id: &str,
) -> Result<Response, ApiError> {
    let body: ListPatch = api::json_body(req).await?;
    let every = body.every.as_deref().map(every_of).transpose()?;
    let next_run_at = match body.next_run_at.as_deref() {
        None => None,
        Some(t) => {
            let ms = worker::js_sys::Date::parse(t);
            if !ms.is_finite() {
                return Err(ApiError::bad_request(
                    "invalid_next_run_at",
                    format!("next_run_at={t:?} is not a time: give one like 2026-05-01T00:00:00Z."),
                ));
            }
            Some(ms as i64)
        }
    };
    let db = env.d1("DB")?;
    let result = stmt(
        &db,
        "UPDATE lists SET \
         name = CASE WHEN ?3 IS NULL THEN name WHEN ?3 = '' THEN NULL ELSE ?3 END, \
         every_days = COALESCE(?4, every_days), next_run_at = COALESCE(?5, next_run_at) \
         WHERE id = ?1 AND owner = ?2",
        &[
            text(id),
            text(owner),
            opt_text(body.name.as_deref()),
            every.map_or(JsValue::NULL, |e| int(i64::from(e.days()))),
            next_run_at.map_or(JsValue::NULL, int),
        ],
    )?
    .run()
    .await?;
    if !store::changed(&result) {
        return Err(list_not_found());
    }
    get(env, owner, id).await
}

/// `DELETE /v1/lists/{id}`: the list, its rows, its history and its runs' jobs (not the job it
/// was made from, which is the caller's to delete).
pub async fn delete(env: &Env, owner: &str, id: &str) -> Result<Response, ApiError> {
    let db = env.d1("DB")?;
    list_of(&db, id, owner).await?;
    let id = text(id);
    let runs = "(SELECT job FROM list_runs WHERE list = ?1 AND run > 1)";
    let mut statements = Vec::new();
    for table in ["rows", "chunks", "list_changes"] {
        statements.push(stmt(
            &db,
            &format!("DELETE FROM {table} WHERE job IN {runs}"),
            std::slice::from_ref(&id),
        )?);
    }
    statements.push(stmt(
        &db,
        &format!("DELETE FROM jobs WHERE id IN {runs}"),
        std::slice::from_ref(&id),
    )?);
    for (table, column) in [
        ("list_rows", "list"),
        ("list_runs", "list"),
        ("lists", "id"),
    ] {
        statements.push(stmt(
            &db,
            &format!("DELETE FROM {table} WHERE {column} = ?1"),
            std::slice::from_ref(&id),
        )?);
    }
    db.batch(statements).await?;
    Ok(Response::empty()?.with_status(204))
}

/// `POST /v1/lists/{id}/runs`: cleans the list now; `202` with the run, `Location` its job.
pub async fn run_now(
    env: &Env,
    config: &Config,
    owner: &str,
    id: &str,
) -> Result<Response, ApiError> {
    let db = env.d1("DB")?;
    let record = list_of(&db, id, owner).await?;
    if record.running.is_some() {
        return Err(run_in_progress());
    }
    let Some(job) = start_run(env, config, &db, &record, random::now_ms()).await? else {
        return Err(run_in_progress());
    };
    let run: Option<RunRecord> =
        stmt(&db, "SELECT * FROM list_runs WHERE job = ?1", &[text(&job)])?
            .first(None)
            .await?;
    let run = run.ok_or_else(ApiError::internal)?;
    let mut response = json(&run.object())?.with_status(202);
    response
        .headers_mut()
        .set("Location", &format!("/v1/jobs/{job}"))?;
    Ok(response)
}

/// Starts a run of `list` unless one is going; the run's job id when this call started it.
async fn start_run(
    env: &Env,
    config: &Config,
    db: &D1Database,
    list: &ListRecord,
    now: i64,
) -> worker::Result<Option<String>> {
    let job = random::id();
    let id = text(&list.id);
    let claimed = "FROM lists WHERE id = ?1 AND running = ?2";
    let results = db
        .batch(vec![
            stmt(
                db,
                "UPDATE lists SET running = ?2, next_run_at = ?3 \
                 WHERE id = ?1 AND running IS NULL",
                &[id.clone(), text(&job), int(next_run(list.every(), now))],
            )?,
            stmt(
                db,
                &format!(
                    "INSERT INTO jobs (id, owner, name, status, checks, format, shape, upload, \
                     total_rows, split_attempts, split_deadline, created_at) \
                     SELECT ?2, owner, name, 'queued', checks, '{FORMAT}', shape, ?3, \
                     total_rows, 1, ?4, ?5 {claimed}"
                ),
                &[
                    id.clone(),
                    text(&job),
                    // A run has no upload: this key names no object.
                    text(&format!("runs/{job}")),
                    int(now + i64::from(config.jobs.chunk_deadline_seconds) * 1000),
                    int(now),
                ],
            )?,
            stmt(
                db,
                &format!(
                    "INSERT INTO list_runs (list, run, job, status, started_at) \
                     SELECT ?1, (SELECT COALESCE(MAX(run), 0) + 1 FROM list_runs WHERE list = ?1), \
                     ?2, 'running', ?3 {claimed}"
                ),
                &[id, text(&job), int(now)],
            )?,
        ])
        .await?;
    if !results.first().is_some_and(store::changed) {
        return Ok(None);
    }
    Work::Split { job: job.clone() }
        .send(&env.queue("WORK")?, 0)
        .await?;
    Ok(Some(job))
}

#[derive(Deserialize)]
struct RunOf {
    list: String,
}

/// The split of a run's job: the list's rows copied into the job's, then the engine's chunks.
pub async fn split(
    env: &Env,
    config: &Config,
    db: &D1Database,
    job: &JobRecord,
) -> worker::Result<()> {
    let run: Option<RunOf> = stmt(
        db,
        "SELECT list FROM list_runs WHERE job = ?1",
        &[text(&job.id)],
    )?
    .first(None)
    .await?;
    let Some(run) = run else {
        // The list was deleted under it.
        return store::delete_job(db, &job.id).await;
    };
    copy_rows(
        db,
        "INSERT OR IGNORE INTO rows (job, row, input, cells, address_key, domain, duplicate_of) \
         SELECT ?1, row, input, cells, address_key, domain, duplicate_of FROM list_rows \
         WHERE list = ?2 AND row BETWEEN ?3 AND ?4",
        &job.id,
        &run.list,
        job.total_rows,
    )
    .await?;
    engine::start_chunks(env, config, db, job, job.total_rows, Vec::new()).await
}

/// Ends the run whose job `job` has just completed (nothing when it is no list's run, or the
/// run has ended already), and announces `list.cleaned`.
pub async fn run_finished(env: &Env, db: &D1Database, job: &str) -> worker::Result<()> {
    let run: Option<RunOf> = stmt(
        db,
        "SELECT list FROM list_runs WHERE job = ?1 AND status = 'running'",
        &[text(job)],
    )?
    .first(None)
    .await?;
    let Some(run) = run else {
        return Ok(());
    };
    let args = [text(job), text(&run.list), int(random::now_ms())];
    let results = db
        .batch(vec![
            stmt(
                db,
                &format!(
                    "INSERT OR IGNORE INTO list_changes \
                     (job, row, old_verdict, old_reasons, verdict, reasons) \
                     SELECT ?1, r.row, l.verdict, l.reasons, r.verdict, r.reasons \
                     FROM rows AS r JOIN list_rows AS l ON l.list = ?2 AND l.row = r.row \
                     WHERE r.job = ?1 AND r.verdict IS NOT l.verdict AND {STILL_RUNNING}"
                ),
                &args[..2],
            )?,
            stmt(
                db,
                &format!(
                    "UPDATE list_rows SET verdict = r.verdict, reasons = r.reasons \
                     FROM rows AS r WHERE list_rows.list = ?2 AND r.job = ?1 \
                     AND r.row = list_rows.row \
                     AND (r.verdict IS NOT list_rows.verdict OR r.reasons IS NOT list_rows.reasons) \
                     AND {STILL_RUNNING}"
                ),
                &args[..2],
            )?,
            stmt(
                db,
                "UPDATE list_runs SET status = 'completed', finished_at = ?3, \
                 (valid, risky, invalid, unknown) = (SELECT COALESCE(SUM(verdict = 'valid'), 0), \
                   COALESCE(SUM(verdict = 'risky'), 0), COALESCE(SUM(verdict = 'invalid'), 0), \
                   COALESCE(SUM(verdict = 'unknown'), 0) FROM rows WHERE job = ?1), \
                 transitions = (SELECT json_group_array(json_object('from', old_verdict, \
                   'to', verdict, 'rows', n)) FROM (SELECT old_verdict, verdict, COUNT(*) AS n \
                   FROM list_changes WHERE job = ?1 AND old_verdict IS NOT NULL \
                   GROUP BY old_verdict, verdict)) \
                 WHERE job = ?1 AND list = ?2 AND status = 'running'",
                &args,
            )?,
            stmt(
                db,
                "UPDATE lists SET running = NULL, latest_job = ?1 WHERE id = ?2 AND running = ?1",
                &args[..2],
            )?,
        ])
        .await?;
    if results.get(2).is_some_and(store::changed) {
        webhooks::announce(env, db, job, "list.cleaned").await?;
    }
    Ok(())
}

/// The `data` of `list.cleaned` for the run whose job is `job`.
pub async fn cleaned(db: &D1Database, job: &str) -> worker::Result<Option<Cleaned>> {
    let run: Option<RunRecord> = stmt(
        db,
        "SELECT * FROM list_runs WHERE job = ?1 AND status = 'completed'",
        &[text(job)],
    )?
    .first(None)
    .await?;
    let Some(run) = run else {
        return Ok(None);
    };
    let list: Option<ListRecord> = stmt(
        db,
        "SELECT lists.* FROM lists JOIN list_runs ON list_runs.list = lists.id \
         WHERE list_runs.job = ?1",
        &[text(job)],
    )?
    .first(None)
    .await?;
    Ok(list.map(|list| Cleaned {
        every: list.every().to_string(),
        next_run_at: random::iso(list.next_run_at),
        id: list.id,
        name: list.name,
        run: run.object(),
    }))
}

#[derive(Deserialize)]
struct Held {
    id: String,
    running: String,
    status: Option<String>,
}

/// The cron's part for lists: ends the runs whose completion went unseen, releases the lists
/// whose run failed or was deleted, and starts every list that is due and not running.
pub async fn sweep(env: &Env, config: &Config, db: &D1Database, now: i64) -> worker::Result<()> {
    let held: Vec<Held> = stmt(
        db,
        "SELECT l.id, l.running, j.status FROM lists AS l LEFT JOIN jobs AS j ON j.id = l.running \
         WHERE l.running IS NOT NULL",
        &[],
    )?
    .all()
    .await?
    .results()?;
    for list in held {
        match list.status.as_deref() {
            Some("queued" | "running") => {}
            Some("completed") => run_finished(env, db, &list.running).await?,
            _ => {
                db.batch(vec![
                    stmt(
                        db,
                        "UPDATE list_runs SET status = 'failed', finished_at = ?3 \
                         WHERE job = ?1 AND status = 'running'",
                        &[text(&list.running), text(&list.id), int(now)],
                    )?,
                    stmt(
                        db,
                        "UPDATE lists SET running = NULL WHERE id = ?2 AND running = ?1",
                        &[text(&list.running), text(&list.id)],
                    )?,
                ])
                .await?;
            }
        }
    }
    let due: Vec<ListRecord> = stmt(
        db,
        &format!(
            "SELECT * FROM lists WHERE running IS NULL AND next_run_at <= ?1 \
             ORDER BY next_run_at LIMIT {DUE_PER_SWEEP}"
        ),
        &[int(now)],
    )?
    .all()
    .await?
    .results()?;
    for list in &due {
        start_run(env, config, db, list, now).await?;
    }

    // Creations that ended halfway: their rows belong to no list.
    let abandoned: Vec<Creation> = stmt(
        db,
        &format!("SELECT id FROM list_creations WHERE started_at < ?1 LIMIT {DUE_PER_SWEEP}"),
        &[int(now - ABANDONED_AFTER_MS)],
    )?
    .all()
    .await?
    .results()?;
    for creation in abandoned {
        worker::console_warn!(
            "lists: the creation of {} ended halfway; its copied rows are deleted",
            creation.id
        );
        db.batch(vec![
            stmt(
                db,
                "DELETE FROM list_rows WHERE list = ?1 \
                 AND NOT EXISTS (SELECT 1 FROM lists WHERE id = ?1)",
                &[text(&creation.id)],
            )?,
            stmt(
                db,
                "DELETE FROM list_creations WHERE id = ?1",
                &[text(&creation.id)],
            )?,
        ])
        .await?;
    }
    Ok(())
}

/// How old a creation still recorded in `list_creations` must be before the cron takes it for
/// one that ended halfway: far longer than copying a million rows takes.
const ABANDONED_AFTER_MS: i64 = 3_600_000;

#[derive(Deserialize)]
struct Creation {
    id: String,
}

#[derive(Deserialize)]
struct ChangeRow {
    row: i64,
    input: String,
    cells: Option<String>,
    old_verdict: Option<String>,
    old_reasons: Option<String>,
    verdict: String,
    reasons: Option<String>,
}

fn codes(reasons: Option<&str>) -> Vec<String> {
    reasons
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or_default()
}

/// The columns a changes file appends to the list's own.
const CHANGE_COLUMNS: [&str; 5] = [
    "mailvet_row",
    "mailvet_old_verdict",
    "mailvet_old_reasons",
    "mailvet_verdict",
    "mailvet_reasons",
];

#[derive(Serialize)]
struct ChangeLine<'a> {
    row: i64,
    columns: table::Columns<'a>,
    old_verdict: Option<&'a str>,
    old_reasons: Vec<String>,
    verdict: &'a str,
    reasons: Vec<String>,
}

impl ChangeRow {
    fn write(&self, out: &mut String, shape: &Shape, names: &[String], jsonl: bool) {
        let mut fields = super::fields(self.cells.as_deref(), &self.input);
        if jsonl {
            let line = ChangeLine {
                row: self.row,
                columns: table::Columns {
                    names,
                    values: &fields,
                },
                old_verdict: self.old_verdict.as_deref(),
                old_reasons: codes(self.old_reasons.as_deref()),
                verdict: &self.verdict,
                reasons: codes(self.reasons.as_deref()),
            };
            if let Ok(line) = serde_json::to_string(&line) {
                out.push_str(&line);
                out.push('\n');
            }
            return;
        }
        // The list's own columns (padded to its header), the changes, then any cells beyond.
        let width = shape.header.len();
        let beyond = if fields.len() > width {
            fields.split_off(width)
        } else {
            fields.resize(width, String::new());
            Vec::new()
        };
        let appended = [
            self.row.to_string(),
            self.old_verdict.clone().unwrap_or_default(),
            codes(self.old_reasons.as_deref()).join(";"),
            self.verdict.clone(),
            codes(self.reasons.as_deref()).join(";"),
        ];
        let cells = fields.iter().chain(&appended).chain(&beyond);
        table::write_csv_row(out, cells.map(String::as_str), shape.dialect().delimiter());
    }
}

/// `GET /v1/lists/{id}/changes?run=N&to=invalid&format=csv|jsonl`: the rows whose verdict run
/// `N` (by default the latest completed run) changed, with the verdicts and reasons before and
/// after, the list's columns kept; read from D1 a page at a time as the answer is sent.
pub async fn changes(
    req: &Request,
    env: &Env,
    owner: &str,
    id: &str,
) -> Result<Response, ApiError> {
    let jsonl = super::jsonl_format(req)?;
    let to = super::verdicts_param(req, "to")?;
    let run = match param(req, "run")? {
        None => None,
        Some(n) => Some(n.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            ApiError::bad_request("invalid_run", "run must be a run's number, from 1.")
        })?),
    };
    let db = env.d1("DB")?;
    let list = list_of(&db, id, owner).await?;
    let record: Option<RunRecord> = match run {
        Some(n) => {
            stmt(
                &db,
                "SELECT * FROM list_runs WHERE list = ?1 AND run = ?2",
                &[text(id), int(n)],
            )?
            .first(None)
            .await?
        }
        None => {
            stmt(
                &db,
                "SELECT * FROM list_runs WHERE list = ?1 AND status = 'completed' \
                 ORDER BY run DESC LIMIT 1",
                &[text(id)],
            )?
            .first(None)
            .await?
        }
    };
    let record = record.ok_or_else(|| {
        ApiError::new(
            404,
            "run_not_found",
            "This list has no run with this number.",
        )
    })?;
    if record.status != "completed" {
        return Err(ApiError::new(
            409,
            "run_not_finished",
            format!(
                "Run {} is {}; its changes are known when it has completed.",
                record.run, record.status
            ),
        ));
    }
    // A run's changes go with its job (JOB_RETENTION_DAYS); run 1 changed nothing.
    if record.run > 1 && store::job(&db, &record.job).await?.is_none() {
        return Err(ApiError::new(
            410,
            "run_expired",
            format!(
                "The results of run {} were deleted after the retention period; its counts stay in the history.",
                record.run
            ),
        ));
    }
    let shape: Shape = serde_json::from_str(&list.shape).map_err(|_| ApiError::internal())?;
    let filter = super::verdict_filter("c.verdict", &to);
    let sql = format!(
        "SELECT c.row, l.input, l.cells, c.old_verdict, c.old_reasons, c.verdict, c.reasons \
         FROM list_changes AS c JOIN list_rows AS l ON l.list = ?2 AND l.row = c.row \
         WHERE c.job = ?1 AND c.row > ?3{filter} ORDER BY c.row LIMIT {CHANGES_PAGE}"
    );
    let mut head = String::new();
    if !jsonl {
        if shape.bom {
            head.push('\u{feff}');
        }
        let names = shape
            .header
            .iter()
            .map(String::as_str)
            .chain(CHANGE_COLUMNS);
        table::write_csv_row(&mut head, names, shape.dialect().delimiter());
    }
    struct Cursor {
        db: D1Database,
        sql: String,
        job: String,
        list: String,
        after: i64,
        head: Option<String>,
        shape: Shape,
        names: Vec<String>,
        jsonl: bool,
        ended: bool,
    }
    let start = Cursor {
        db,
        sql,
        job: record.job,
        list: id.to_owned(),
        after: 0,
        head: Some(head),
        names: table::column_names(&shape.header),
        shape,
        jsonl,
        ended: false,
    };
    let body = stream::unfold(start, |mut cursor| async move {
        if cursor.ended {
            return None;
        }
        let mut out = cursor.head.take().unwrap_or_default();
        let page = async {
            stmt(
                &cursor.db,
                &cursor.sql,
                &[text(&cursor.job), text(&cursor.list), int(cursor.after)],
            )?
            .all()
            .await?
            .results::<ChangeRow>()
        }
        .await;
        let page = match page {
            Ok(page) => page,
            Err(e) => return Some((Err(e), cursor)),
        };
        cursor.ended = (page.len() as i64) < CHANGES_PAGE;
        if let Some(last) = page.last() {
            cursor.after = last.row;
        }
        for row in &page {
            row.write(&mut out, &cursor.shape, &cursor.names, cursor.jsonl);
        }
        Some((Ok::<Vec<u8>, worker::Error>(out.into_bytes()), cursor))
    });
    let mut response = Response::from_stream(body)?;
    let headers = response.headers_mut();
    let (content_type, extension) = if jsonl {
        ("application/jsonl; charset=utf-8", "jsonl")
    } else {
        ("text/csv; charset=utf-8; header=present", "csv")
    };
    headers.set("Content-Type", content_type)?;
    headers.set(
        "Content-Disposition",
        &format!(
            "attachment; filename=\"mailvet-list-{id}-run-{}-changes.{extension}\"",
            record.run
        ),
    )?;
    headers.set("Cache-Control", "no-store")?;
    Ok(response)
}
