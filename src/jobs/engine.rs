//! The jobs engine behind the API: the Queue consumer that splits an upload into chunks and
//! checks each chunk, and the cron's sweeper and retention.
//!
//! D1 holds the truth (ARCHITECTURE.md). A message only says what to do next and may be lost
//! (locally, on every restart) or delivered twice:
//!
//! - `split` writes the upload's rows into `rows` (INSERT OR IGNORE), marks duplicates with one
//!   SQL statement, puts the rows to check into chunks by domain (so that a domain is resolved
//!   about once per job, and its addresses reach the prober in one request), records the
//!   chunks with a deadline each, then sends one `chunk` message per chunk. Run twice, it finds
//!   its rows and chunks already there.
//! - `chunk` checks the rows of a chunk that have no result yet, each unique domain resolved
//!   once, and writes every row's result keyed by (job, row), duplicates taking their first
//!   occurrence's, and marks the chunk done, in one batch. Run twice, it finds nothing left to
//!   check. The chunk that leaves no chunk open completes the job (one conditional UPDATE, so
//!   exactly one does).
//! - The sweeper sends a chunk again when its deadline passed; after [`MAX_ATTEMPTS`] its
//!   unchecked rows become `unknown`, so a job never stays `running`.
//!
//! A message that fails is retried by the Queue; the handler never returns an error (that
//! would trap the Worker, and lose the batch).

use futures_util::{StreamExt, stream};
use mailvet_core::lists::Lists;
use mailvet_core::report::{Check, Report};
use mailvet_core::table;
use mailvet_core::verdict::Policy;
use serde::{Deserialize, Serialize};
use worker::{D1Database, Env, MessageBatch, MessageExt, Queue};

use super::rows::{Format, ReadError, Rows, Shape};
use super::store::{self, int, opt_text, stmt, text};
use super::{lists, webhooks};
use crate::api::Depth;
use crate::config::Config;
use crate::random;

/// Rows per chunk: a chunk is one Queue message's work. With SMTP, a few minutes against slow
/// mail servers; without, a second or so, where fewer, larger chunks cost less per row.
const CHUNK_ROWS_SMTP: i64 = 100;
const CHUNK_ROWS: i64 = 500;
/// Rows written to D1 per statement (6 values each; D1 binds at most 100 per statement) and
/// statements per batch.
const ROWS_PER_INSERT: usize = 16;
/// Results stored per statement (6 values each, and the job).
const RESULTS_PER_UPDATE: usize = 16;
const INSERTS_PER_BATCH: usize = 25;
/// How often a chunk, or a split, is sent before its rows are given up as `unknown`.
pub const MAX_ATTEMPTS: i64 = 3;
/// Messages of one batch handled at once: all of them (`max_batch_size` in
/// jobs/wrangler.toml). A chunk's rows share few domains, so a chunk needs few connections.
const MESSAGES_AT_ONCE: usize = 10;
/// Chunk messages sent per `sendBatch` (the Queues limit is 100).
const SEND_BATCH: usize = 100;

/// One Queue message: work to do, named by ids; the rows themselves are in D1.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Work {
    Split {
        job: String,
    },
    Chunk {
        job: String,
        chunk: i64,
    },
    Deliver {
        webhook: String,
        job: String,
        event: String,
        attempt: usize,
    },
}

impl Work {
    pub async fn send(&self, queue: &Queue, delay_seconds: u32) -> worker::Result<()> {
        let body = serde_json::to_string(self)?;
        if delay_seconds == 0 {
            queue.send(body).await
        } else {
            queue
                .send(
                    worker::MessageBuilder::new(body)
                        .delay_seconds(delay_seconds)
                        .build(),
                )
                .await
        }
    }
}

/// The Queue consumer: each message acked when done, retried when it failed.
pub async fn consume(batch: MessageBatch<String>, env: Env) {
    let config = match Config::from_env(&env) {
        Ok(config) => config,
        Err(e) => {
            worker::console_error!("jobs: {}", e.message);
            batch.retry_all();
            return;
        }
    };
    let messages: Vec<_> = batch.raw_iter().collect();
    stream::iter(messages)
        .for_each_concurrent(MESSAGES_AT_ONCE, |message| {
            let (env, config) = (&env, &config);
            async move {
                let work = message
                    .body()
                    .as_string()
                    .and_then(|s| serde_json::from_str::<Work>(&s).ok());
                let Some(work) = work else {
                    worker::console_error!("jobs: a message that is no work, dropped");
                    message.ack();
                    return;
                };
                match handle(&work, env, config).await {
                    Ok(()) => message.ack(),
                    Err(e) => {
                        worker::console_warn!("jobs: {work:?} failed, retried: {e}");
                        message.retry();
                    }
                }
            }
        })
        .await;
}

async fn handle(work: &Work, env: &Env, config: &Config) -> worker::Result<()> {
    match work {
        Work::Split { job } => split(env, config, job).await,
        Work::Chunk { job, chunk } => check_chunk(env, config, job, *chunk).await,
        Work::Deliver {
            webhook,
            job,
            event,
            attempt,
        } => webhooks::deliver(env, config, webhook, job, event, *attempt).await,
    }
}

/// The deadline of work sent now.
fn deadline(config: &Config, now: i64) -> i64 {
    now + i64::from(config.jobs.chunk_deadline_seconds) * 1000
}

async fn split(env: &Env, config: &Config, id: &str) -> worker::Result<()> {
    let db = env.d1("DB")?;
    let Some(job) = store::job(&db, id).await? else {
        return Ok(());
    };
    if job.status != "queued" || job.chunks > 0 {
        return Ok(());
    }
    if job.format == lists::FORMAT {
        return lists::split(env, config, &db, &job).await;
    }
    let format = Format::parse(&job.format).unwrap_or(Format::Text);
    let shape: Shape = serde_json::from_str(&job.shape)?;
    let bucket = env.bucket("UPLOADS")?;
    let opened = Rows::open(&bucket, &job.upload, format, Some(shape.dialect())).await;
    let mut reader = match opened {
        Ok(Some(reader)) => reader,
        Ok(None) => {
            return fail(env, &db, id, "upload_missing", "The uploaded list is gone.").await;
        }
        Err(e) => return read_failed(env, &db, id, e).await,
    };
    let header = u64::from(shape.has_header);
    let mut next_row = 1_i64;
    loop {
        let rows = match reader.next_rows(ROWS_PER_INSERT * INSERTS_PER_BATCH).await {
            Ok(rows) => rows,
            Err(e) => return read_failed(env, &db, id, e).await,
        };
        if rows.is_empty() {
            break;
        }
        let mut statements = Vec::new();
        let data: Vec<_> = rows.iter().filter(|r| r.number > header).collect();
        for group in data.chunks(ROWS_PER_INSERT) {
            let mut args = Vec::with_capacity(group.len() * 6);
            for row in group {
                let input = row.cell(shape.column);
                let key = table::address_key(input);
                let domain = key
                    .as_deref()
                    .and_then(|k| k.rsplit_once('@'))
                    .map(|(_, d)| d);
                let cells = match format {
                    Format::Csv => Some(serde_json::to_string(&row.fields)?),
                    Format::Text | Format::Json => None,
                };
                args.push(text(id));
                args.push(int(next_row));
                args.push(text(input));
                args.push(opt_text(cells.as_deref()));
                args.push(opt_text(key.as_deref()));
                args.push(opt_text(domain));
                next_row += 1;
            }
            let values = vec!["(?, ?, ?, ?, ?, ?)"; group.len()].join(", ");
            statements.push(stmt(
                &db,
                &format!(
                    "INSERT OR IGNORE INTO rows (job, row, input, cells, address_key, domain) \
                     VALUES {values}"
                ),
                &args,
            )?);
        }
        if !statements.is_empty() {
            db.batch(statements).await?;
        }
    }
    let duplicates = stmt(
        &db,
        // Each row that repeats an earlier one's address points at the first (any case of the
        // domain: the key is the normalised address).
        "UPDATE rows SET duplicate_of = (SELECT MIN(r.row) FROM rows AS r \
           WHERE r.job = ?1 AND r.address_key = rows.address_key) \
         WHERE job = ?1 AND address_key IS NOT NULL AND row > (SELECT MIN(r.row) FROM rows AS r \
           WHERE r.job = ?1 AND r.address_key = rows.address_key)",
        &[text(id)],
    )?;
    start_chunks(env, config, &db, &job, next_row - 1, vec![duplicates]).await
}

/// The end of a split, once the job's `total` rows are stored: runs `statements` (the split's
/// last touches to the rows), puts the rows to check into chunks, records the chunks, marks the
/// job running, and sends the chunks.
pub(super) async fn start_chunks(
    env: &Env,
    config: &Config,
    db: &D1Database,
    job: &store::JobRecord,
    total: i64,
    mut statements: Vec<worker::D1PreparedStatement>,
) -> worker::Result<()> {
    let id = job.id.as_str();
    let chunk_rows = match Depth::parse(Some(&job.checks)) {
        Ok(Depth::Smtp) => CHUNK_ROWS_SMTP,
        _ => CHUNK_ROWS,
    };
    let now = random::now_ms();
    let due = deadline(config, now);
    statements.extend([
        stmt(
            db,
            // The rows to check, by domain (rows without one, unreadable, first), so many to a
            // chunk: a domain's addresses share a chunk or a few neighbours, so the domain is
            // resolved about once per job and its addresses go to the prober together.
            &format!(
                "UPDATE rows SET chunk = r.c FROM (SELECT row, \
                   (ROW_NUMBER() OVER (ORDER BY domain, row) - 1) / {chunk_rows} AS c \
                   FROM rows WHERE job = ?1 AND duplicate_of IS NULL) AS r \
                 WHERE rows.job = ?1 AND rows.row = r.row"
            ),
            &[text(id)],
        )?,
        stmt(
            db,
            "INSERT OR IGNORE INTO chunks (job, chunk, first_row, last_row, deadline) \
             SELECT ?1, chunk, MIN(row), MAX(row), ?2 FROM rows \
             WHERE job = ?1 AND chunk IS NOT NULL GROUP BY chunk",
            &[text(id), int(due)],
        )?,
        stmt(
            db,
            "UPDATE jobs SET status = 'running', started_at = ?2, total_rows = ?3, \
             chunks = (SELECT COUNT(*) FROM chunks WHERE job = ?1) \
             WHERE id = ?1 AND status = 'queued'",
            &[text(id), int(now), int(total)],
        )?,
    ]);
    // A job deleted while it was being split leaves no rows or chunks behind.
    for table in ["rows", "chunks"] {
        statements.push(stmt(
            db,
            &format!(
                "DELETE FROM {table} WHERE job = ?1 AND NOT EXISTS (SELECT 1 FROM jobs WHERE id = ?1)"
            ),
            &[text(id)],
        )?);
    }
    db.batch(statements).await?;
    let chunks = store::job(db, id).await?.map_or(0, |job| job.chunks);
    let queue = env.queue("WORK")?;
    let messages: Vec<String> = (0..chunks)
        .map(|chunk| {
            serde_json::to_string(&Work::Chunk {
                job: id.to_owned(),
                chunk,
            })
        })
        .collect::<Result<_, _>>()?;
    for group in messages.chunks(SEND_BATCH) {
        queue.send_batch(group.to_vec()).await?;
    }
    if chunks == 0 {
        finish(env, db, id).await?;
    }
    Ok(())
}

#[derive(Deserialize)]
struct ChunkRecord {
    done: i64,
}

#[derive(Deserialize)]
struct Pending {
    row: i64,
    input: String,
}

async fn check_chunk(env: &Env, config: &Config, id: &str, chunk: i64) -> worker::Result<()> {
    let db = env.d1("DB")?;
    let Some(job) = store::job(&db, id).await? else {
        return Ok(());
    };
    if job.status != "running" {
        return Ok(());
    }
    let record: Option<ChunkRecord> = stmt(
        &db,
        "SELECT done FROM chunks WHERE job = ?1 AND chunk = ?2",
        &[text(id), int(chunk)],
    )?
    .first(None)
    .await?;
    let Some(record) = record else {
        return Ok(());
    };
    if record.done == 0 {
        let pending: Vec<Pending> = stmt(
            &db,
            "SELECT row, input FROM rows WHERE job = ?1 AND chunk = ?2 AND verdict IS NULL \
             ORDER BY row",
            &[text(id), int(chunk)],
        )?
        .all()
        .await?
        .results()?;
        let depth = Depth::parse(Some(&job.checks)).unwrap_or(Depth::Dns);
        let inputs: Vec<String> = pending.iter().map(|p| p.input.clone()).collect();
        let reports = super::check::check_inputs(&inputs, depth, config).await;
        let results: Vec<(i64, &Report)> = pending.iter().map(|p| p.row).zip(&reports).collect();
        let mut statements = write_results(&db, id, &results)?;
        statements.extend(close_chunk(&db, id, chunk)?);
        db.batch(statements).await?;
    }
    finish(env, &db, id).await
}

/// The statements that end a chunk, in the batch that stored its rows' results: every later row
/// that repeats an address first seen in the chunk takes that row's result (by the indexes on
/// `chunk` and `duplicate_of`: never a scan of the job), and the chunk is done.
fn close_chunk(
    db: &D1Database,
    id: &str,
    chunk: i64,
) -> worker::Result<[worker::D1PreparedStatement; 2]> {
    Ok([
        stmt(
            db,
            "UPDATE rows SET verdict = f.verdict, reasons = f.reasons, suggestion = f.suggestion, \
             score = f.score, report = f.report FROM rows AS f \
             WHERE f.job = ?1 AND f.chunk = ?2 \
             AND rows.job = ?1 AND rows.duplicate_of = f.row",
            &[text(id), int(chunk)],
        )?,
        stmt(
            db,
            "UPDATE chunks SET done = 1 WHERE job = ?1 AND chunk = ?2",
            &[text(id), int(chunk)],
        )?,
    ])
}

/// The statements that store the results of `rows`, by key: [`RESULTS_PER_UPDATE`] rows to a
/// statement (an UPDATE from a VALUES list), rather than one each.
fn write_results(
    db: &D1Database,
    id: &str,
    rows: &[(i64, &Report)],
) -> worker::Result<Vec<worker::D1PreparedStatement>> {
    let mut statements = Vec::with_capacity(rows.len().div_ceil(RESULTS_PER_UPDATE));
    for group in rows.chunks(RESULTS_PER_UPDATE) {
        let mut args = Vec::with_capacity(group.len() * 6 + 1);
        for (row, report) in group {
            let reasons: Vec<&str> = report.reasons.iter().map(|r| r.code.as_str()).collect();
            args.push(int(*row));
            args.push(text(report.verdict.as_str()));
            args.push(text(&serde_json::to_string(&reasons)?));
            args.push(opt_text(report.suggestion.as_deref()));
            args.push(int(i64::from(report.score)));
            args.push(text(&serde_json::to_string(report)?));
        }
        args.push(text(id));
        let values = vec!["(?, ?, ?, ?, ?, ?)"; group.len()].join(", ");
        statements.push(stmt(
            db,
            &format!(
                "UPDATE rows SET verdict = v.column2, reasons = v.column3, suggestion = v.column4, \
                 score = v.column5, report = v.column6 FROM (VALUES {values}) AS v \
                 WHERE rows.job = ? AND rows.row = v.column1"
            ),
            &args,
        )?);
    }
    Ok(statements)
}

/// Completes the job if no row is left, and tells its webhooks (once: see
/// [`store::complete_if_done`]).
async fn finish(env: &Env, db: &D1Database, id: &str) -> worker::Result<()> {
    if store::complete_if_done(db, id, random::now_ms()).await? {
        webhooks::announce(env, db, id, "job.completed").await?;
        lists::run_finished(env, db, id).await?;
    }
    Ok(())
}

/// A list that the split cannot read (the upload changed under it, or a rule the first reading
/// did not meet further on) fails the job with the core's code; anything else is retried.
async fn read_failed(env: &Env, db: &D1Database, id: &str, e: ReadError) -> worker::Result<()> {
    match e {
        ReadError::List(e) => fail(env, db, id, e.code(), &e.to_string()).await,
        ReadError::Worker(e) => Err(e),
    }
}

async fn fail(
    env: &Env,
    db: &D1Database,
    id: &str,
    code: &str,
    message: &str,
) -> worker::Result<()> {
    let error = serde_json::to_string(&store::JobError {
        code: code.to_owned(),
        message: message.to_owned(),
    })?;
    let result = stmt(
        db,
        "UPDATE jobs SET status = 'failed', finished_at = ?2, error = ?3 \
         WHERE id = ?1 AND status IN ('queued', 'running')",
        &[text(id), int(random::now_ms()), text(&error)],
    )?
    .run()
    .await?;
    if store::changed(&result) {
        webhooks::announce(env, db, id, "job.failed").await?;
    }
    Ok(())
}

#[derive(Deserialize)]
struct Overdue {
    job: String,
    chunk: i64,
    attempts: i64,
}

#[derive(Deserialize)]
struct Stuck {
    id: String,
    split_attempts: i64,
}

#[derive(Deserialize)]
struct Expired {
    id: String,
    upload: String,
}

/// The cron: sends again what is overdue, gives up what was sent too often, completes what is
/// done, and deletes what is past retention.
pub async fn sweep(env: &Env) -> worker::Result<()> {
    let config = Config::from_env(env).map_err(|e| worker::Error::RustError(e.message))?;
    let db = env.d1("DB")?;
    let queue = env.queue("WORK")?;
    let now = random::now_ms();
    let due = deadline(&config, now);

    // Splits lost before they made their chunks.
    let stuck: Vec<Stuck> = stmt(
        &db,
        "SELECT id, split_attempts FROM jobs WHERE status = 'queued' AND split_deadline < ?1",
        &[int(now)],
    )?
    .all()
    .await?
    .results()?;
    for job in stuck {
        if job.split_attempts >= MAX_ATTEMPTS {
            fail(
                env,
                &db,
                &job.id,
                "split_failed",
                "The list could not be read into rows.",
            )
            .await?;
            continue;
        }
        stmt(
            &db,
            "UPDATE jobs SET split_attempts = split_attempts + 1, split_deadline = ?2 WHERE id = ?1",
            &[text(&job.id), int(due)],
        )?
        .run()
        .await?;
        Work::Split { job: job.id }.send(&queue, 0).await?;
    }

    // Chunks past their deadline.
    let overdue: Vec<Overdue> = stmt(
        &db,
        "SELECT c.job, c.chunk, c.attempts FROM chunks AS c \
         JOIN jobs AS j ON j.id = c.job \
         WHERE c.done = 0 AND c.deadline < ?1 AND j.status = 'running' LIMIT 1000",
        &[int(now)],
    )?
    .all()
    .await?
    .results()?;
    let lists = Lists::new();
    let policy = Policy::default();
    for chunk in &overdue {
        if chunk.attempts < MAX_ATTEMPTS {
            stmt(
                &db,
                "UPDATE chunks SET attempts = attempts + 1, deadline = ?3 \
                 WHERE job = ?1 AND chunk = ?2",
                &[text(&chunk.job), int(chunk.chunk), int(due)],
            )?
            .run()
            .await?;
            Work::Chunk {
                job: chunk.job.clone(),
                chunk: chunk.chunk,
            }
            .send(&queue, 0)
            .await?;
        } else {
            give_up(&db, chunk, &lists, &policy).await?;
        }
    }

    // Jobs whose last chunk ended before it could complete them.
    let running: Vec<Stuck> = stmt(
        &db,
        "SELECT id, split_attempts FROM jobs WHERE status = 'running'",
        &[],
    )?
    .all()
    .await?
    .results()?;
    for job in running {
        finish(env, &db, &job.id).await?;
    }

    // Lists: runs that ended unseen, and runs that are due.
    lists::sweep(env, &config, &db, now).await?;

    // Watched domains whose daily check is due.
    super::monitors::sweep(env, &config, &db, now).await?;

    // Retention; the latest run of a list is kept as long as the list.
    let cutoff = now - i64::from(config.jobs.retention_days) * 86_400_000;
    let expired: Vec<Expired> = stmt(
        &db,
        "SELECT id, upload FROM jobs WHERE status IN ('completed', 'failed', 'cancelled') \
         AND finished_at < ?1 AND NOT EXISTS (SELECT 1 FROM lists WHERE latest_job = jobs.id) \
         LIMIT 100",
        &[int(cutoff)],
    )?
    .all()
    .await?
    .results()?;
    let bucket = env.bucket("UPLOADS")?;
    for job in expired {
        bucket.delete(&job.upload).await?;
        store::delete_job(&db, &job.id).await?;
    }
    Ok(())
}

/// The unchecked rows of a chunk sent [`MAX_ATTEMPTS`] times become `unknown`: their domains
/// were never resolved, and the report says the check did not run.
async fn give_up(
    db: &D1Database,
    chunk: &Overdue,
    lists: &Lists,
    policy: &Policy,
) -> worker::Result<()> {
    let pending: Vec<Pending> = stmt(
        db,
        "SELECT row, input FROM rows WHERE job = ?1 AND chunk = ?2 AND verdict IS NULL \
         ORDER BY row",
        &[text(&chunk.job), int(chunk.chunk)],
    )?
    .all()
    .await?
    .results()?;
    worker::console_warn!(
        "jobs: chunk {} of {} given up after {} attempts: {} rows unknown",
        chunk.chunk,
        chunk.job,
        chunk.attempts,
        pending.len()
    );
    let reports: Vec<Report> = pending
        .iter()
        .map(|row| Check::new(&row.input, lists).not_completed().finish(policy))
        .collect();
    let results: Vec<(i64, &Report)> = pending.iter().map(|p| p.row).zip(&reports).collect();
    let mut statements = write_results(db, &chunk.job, &results)?;
    statements.extend(close_chunk(db, &chunk.job, chunk.chunk)?);
    db.batch(statements).await?;
    Ok(())
}
