//! The Jobs API: lists checked in the background (`POST /v1/jobs`, `GET /v1/jobs`,
//! `GET|DELETE /v1/jobs/{id}`, `GET /v1/jobs/{id}/results`) and the webhooks that hear when a
//! job ends (`/v1/webhooks`). `src/openapi.json` documents each.
//!
//! An upload streams into R2 (`UPLOADS`) as it comes; the job is a row of D1 (`DB`); the work
//! goes through the Queue (`WORK`) to [`engine`]. Jobs and webhooks belong to the secret key
//! that made them (by its digest, `mailvet_core::auth::key_digest`): another key finds nothing
//! (404), a public key may not use them at all (403). Without keys there is one owner.

pub mod engine;
mod rows;
mod store;
mod webhooks;

use futures_util::stream;
use serde::Serialize;
use worker::wasm_bindgen::JsValue;
use worker::{Env, Request, Response};

use crate::api::{self, Depth};
use crate::config::Config;
use crate::error::ApiError;
use crate::random;
use engine::Work;
use rows::{Format, JsonList, RowReader};
use store::{int, opt_text, stmt, text};

/// The largest upload (the Content-Length of `POST /v1/jobs`), and the most rows a job holds.
pub const MAX_UPLOAD: usize = 100 * 1024 * 1024;
pub const MAX_ROWS: i64 = 1_000_000;
/// Jobs per page of `GET /v1/jobs`, unless `limit` says otherwise (at most [`MAX_PAGE`]).
const DEFAULT_PAGE: i64 = 20;
const MAX_PAGE: i64 = 100;
/// Rows read from D1 per step of a results download.
const RESULTS_PAGE: i64 = 500;
/// Rows counted per step when an upload is read back.
const COUNT_STEP: usize = 10_000;

/// The media types `POST /v1/jobs` reads.
const ACCEPTED: &str = "text/plain (one address a line) or application/json ({\"emails\": [...]})";

fn param(req: &Request, name: &str) -> Result<Option<String>, ApiError> {
    Ok(req
        .url()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned()))
}

fn too_large() -> ApiError {
    ApiError::new(
        413,
        "body_too_large",
        format!(
            "A list may be at most {} MB and {MAX_ROWS} rows; split it into several jobs.",
            MAX_UPLOAD / (1024 * 1024)
        ),
    )
}

fn empty_list() -> ApiError {
    ApiError::bad_request(
        "empty_list",
        "The list holds no rows: send one address a line, or {\"emails\": [...]}.",
    )
}

fn job_not_found() -> ApiError {
    ApiError::new(
        404,
        "job_not_found",
        "There is no job with this id for this key.",
    )
}

/// `POST /v1/jobs`.
pub async fn create(
    req: &mut Request,
    env: &Env,
    config: &Config,
    owner: &str,
) -> Result<Response, ApiError> {
    let checks = match param(req, "checks")? {
        Some(c) => Depth::parse(Some(&c))?,
        None if config.probe.is_some() => Depth::Smtp,
        None => Depth::Dns,
    };
    let name = param(req, "name")?.filter(|n| !n.is_empty());
    let media = req
        .headers()
        .get("Content-Type")?
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let format = match media.as_str() {
        "text/plain" => Format::Text,
        "application/json" => Format::Json,
        _ => {
            return Err(ApiError::new(
                415,
                "unsupported_media_type",
                format!("Send the list as {ACCEPTED}."),
            ));
        }
    };
    let Some(length) = api::declared_length(req) else {
        return Err(ApiError::new(
            411,
            "length_required",
            "Send the list with a Content-Length header.",
        ));
    };
    if length > MAX_UPLOAD {
        return Err(too_large());
    }
    if length == 0 {
        return Err(empty_list());
    }

    let id = random::id();
    let upload = format!("uploads/{id}");
    let bucket = env.bucket("UPLOADS")?;
    let rows = match format {
        Format::Text => {
            let Some(body) = req.inner().body() else {
                return Err(empty_list());
            };
            // Straight from the request into R2: the list never passes through Wasm memory.
            bucket.put(&upload, body).execute().await?;
            count_rows(&bucket, &upload).await?
        }
        Format::Json => {
            let bytes = req.bytes().await?;
            let list: JsonList = serde_json::from_slice(&bytes).map_err(|e| {
                ApiError::bad_request("invalid_json", format!("The body is not {ACCEPTED}: {e}."))
            })?;
            let rows = list.emails.len() as i64;
            if rows > 0 && rows <= MAX_ROWS {
                bucket.put(&upload, bytes).execute().await?;
            }
            rows
        }
    };
    if rows == 0 || rows > MAX_ROWS {
        bucket.delete(&upload).await?;
        return Err(if rows == 0 { empty_list() } else { too_large() });
    }

    let db = env.d1("DB")?;
    let now = random::now_ms();
    let split_deadline = now + i64::from(config.jobs.chunk_deadline_seconds) * 1000;
    stmt(
        &db,
        "INSERT INTO jobs (id, owner, name, status, checks, format, upload, total_rows, \
         split_attempts, split_deadline, created_at) \
         VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?6, ?7, 1, ?8, ?9)",
        &[
            text(&id),
            text(owner),
            opt_text(name.as_deref()),
            text(checks.as_str()),
            text(format.as_str()),
            text(&upload),
            int(rows),
            int(split_deadline),
            int(now),
        ],
    )?
    .run()
    .await?;
    Work::Split { job: id.clone() }
        .send(&env.queue("WORK")?, 0)
        .await?;
    let record = store::job(&db, &id).await?.ok_or_else(ApiError::internal)?;
    let job = store::job_object(&db, record, now).await?;
    let mut response = json(&job)?.with_status(202);
    response
        .headers_mut()
        .set("Location", &format!("/v1/jobs/{id}"))?;
    Ok(response)
}

/// Rows of the upload, read back from R2; more than [`MAX_ROWS`] is reported as
/// `MAX_ROWS + 1`. A list of blank lines only has no rows worth a job.
async fn count_rows(bucket: &worker::Bucket, key: &str) -> Result<i64, ApiError> {
    let mut reader = RowReader::open(bucket, key, Format::Text)
        .await?
        .ok_or_else(ApiError::internal)?;
    let (mut rows, mut filled) = (0_i64, false);
    loop {
        let batch = reader.next_rows(COUNT_STEP).await?;
        if batch.is_empty() || rows > MAX_ROWS {
            break;
        }
        rows += batch.len() as i64;
        filled |= batch
            .iter()
            .any(|r| r.iter().any(|b| !b.is_ascii_whitespace()));
    }
    Ok(if filled { rows.min(MAX_ROWS + 1) } else { 0 })
}

/// A JSON answer that no cache keeps (it describes the caller's list).
fn json(body: &impl Serialize) -> Result<Response, ApiError> {
    let mut response = Response::from_json(body)?;
    response.headers_mut().set("Cache-Control", "no-store")?;
    Ok(response)
}

/// `GET /v1/jobs/{id}`.
pub async fn get(env: &Env, owner: &str, id: &str) -> Result<Response, ApiError> {
    let db = env.d1("DB")?;
    let record = store::job_of(&db, id, owner)
        .await?
        .ok_or_else(job_not_found)?;
    json(&store::job_object(&db, record, random::now_ms()).await?)
}

#[derive(Serialize)]
struct JobPage {
    jobs: Vec<store::Job>,
    next_cursor: Option<String>,
}

/// `GET /v1/jobs?limit=&cursor=`: newest first.
pub async fn list(req: &Request, env: &Env, owner: &str) -> Result<Response, ApiError> {
    let limit = match param(req, "limit")? {
        None => DEFAULT_PAGE,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=MAX_PAGE).contains(l))
            .ok_or_else(|| {
                ApiError::bad_request("invalid_limit", format!("limit must be 1 to {MAX_PAGE}."))
            })?,
    };
    // The cursor names the last job of the page before: its creation time and id.
    let (before, before_id) = match param(req, "cursor")? {
        None => (i64::MAX, String::new()),
        Some(c) => c
            .split_once('.')
            .and_then(|(t, id)| Some((t.parse::<i64>().ok()?, id.to_owned())))
            .ok_or_else(|| {
                ApiError::bad_request("invalid_cursor", "cursor must be a next_cursor as given.")
            })?,
    };
    let db = env.d1("DB")?;
    let records: Vec<store::JobRecord> = stmt(
        &db,
        "SELECT * FROM jobs WHERE owner = ?1 \
         AND (created_at < ?2 OR (created_at = ?2 AND id < ?3)) \
         ORDER BY created_at DESC, id DESC LIMIT ?4",
        &[
            text(owner),
            // D1 numbers are doubles: i64::MAX stands for "no cursor".
            if before == i64::MAX {
                JsValue::from_f64(f64::MAX)
            } else {
                int(before)
            },
            text(&before_id),
            int(limit),
        ],
    )?
    .all()
    .await?
    .results()?;
    let next_cursor = (records.len() as i64 == limit)
        .then(|| records.last().map(|r| format!("{}.{}", r.created_at, r.id)))
        .flatten();
    let now = random::now_ms();
    let mut jobs = Vec::with_capacity(records.len());
    for record in records {
        jobs.push(store::job_object(&db, record, now).await?);
    }
    json(&JobPage { jobs, next_cursor })
}

/// `DELETE /v1/jobs/{id}`: cancels the job and deletes its rows and upload.
pub async fn delete(env: &Env, owner: &str, id: &str) -> Result<Response, ApiError> {
    let db = env.d1("DB")?;
    let record = store::job_of(&db, id, owner)
        .await?
        .ok_or_else(job_not_found)?;
    env.bucket("UPLOADS")?.delete(&record.upload).await?;
    store::delete_job(&db, id).await?;
    Ok(Response::empty()?.with_status(204))
}

#[derive(serde::Deserialize)]
struct ResultRow {
    row: i64,
    input: String,
    duplicate_of: Option<i64>,
    verdict: Option<String>,
    reasons: Option<String>,
    suggestion: Option<String>,
    score: Option<i64>,
    report: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ResultFormat {
    Csv,
    Jsonl,
}

/// The column of the addresses in results of a list without a header (text and JSON uploads).
const ADDRESS_COLUMN: &str = "email";
const APPENDED: [&str; 5] = [
    "mailvet_verdict",
    "mailvet_reasons",
    "mailvet_suggestion",
    "mailvet_score",
    "mailvet_duplicate_of",
];

/// `GET /v1/jobs/{id}/results?verdict=&format=csv|jsonl&partial=true`: every row in order,
/// read from D1 a page at a time as the answer is sent.
pub async fn results(
    req: &Request,
    env: &Env,
    owner: &str,
    id: &str,
) -> Result<Response, ApiError> {
    let format = match param(req, "format")?.as_deref() {
        None | Some("csv") => ResultFormat::Csv,
        Some("jsonl") => ResultFormat::Jsonl,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_format",
                "format must be csv or jsonl.",
            ));
        }
    };
    let verdicts: Vec<String> = match param(req, "verdict")? {
        None => Vec::new(),
        Some(v) => v.split(',').map(|s| s.trim().to_owned()).collect(),
    };
    if verdicts
        .iter()
        .any(|v| !["valid", "risky", "invalid", "unknown"].contains(&v.as_str()))
    {
        return Err(ApiError::bad_request(
            "invalid_verdict",
            "verdict must list valid, risky, invalid or unknown, separated by commas.",
        ));
    }
    let partial = param(req, "partial")?.as_deref() == Some("true");
    let db = env.d1("DB")?;
    let record = store::job_of(&db, id, owner)
        .await?
        .ok_or_else(job_not_found)?;
    if record.status != "completed" && !partial {
        return Err(ApiError::new(
            409,
            "job_not_finished",
            format!(
                "The job is {}; ask again when it is completed, or add partial=true.",
                record.status
            ),
        ));
    }
    let filter = if verdicts.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = verdicts.iter().map(|v| format!("'{v}'")).collect();
        format!(" AND verdict IN ({})", list.join(", "))
    };
    let sql = format!(
        "SELECT row, input, duplicate_of, verdict, reasons, suggestion, score, report FROM rows \
         WHERE job = ?1 AND row > ?2{filter} ORDER BY row LIMIT {RESULTS_PAGE}"
    );
    let header = match format {
        ResultFormat::Csv => format!("{ADDRESS_COLUMN},{}\r\n", APPENDED.join(",")),
        ResultFormat::Jsonl => String::new(),
    };
    struct Cursor {
        db: worker::D1Database,
        sql: String,
        job: String,
        after: i64,
        header: Option<String>,
        ended: bool,
    }
    let start = Cursor {
        db,
        sql,
        job: id.to_owned(),
        after: 0,
        header: Some(header),
        ended: false,
    };
    let body = stream::unfold(start, move |mut cursor| async move {
        if cursor.ended {
            return None;
        }
        let mut out = cursor.header.take().unwrap_or_default();
        let page = async {
            stmt(
                &cursor.db,
                &cursor.sql,
                &[text(&cursor.job), int(cursor.after)],
            )?
            .all()
            .await?
            .results::<ResultRow>()
        }
        .await;
        let page = match page {
            Ok(page) => page,
            Err(e) => return Some((Err(e), cursor)),
        };
        cursor.ended = (page.len() as i64) < RESULTS_PAGE;
        if let Some(last) = page.last() {
            cursor.after = last.row;
        }
        for row in &page {
            match format {
                ResultFormat::Csv => csv_line(&mut out, row),
                ResultFormat::Jsonl => jsonl_line(&mut out, row),
            }
        }
        Some((Ok::<Vec<u8>, worker::Error>(out.into_bytes()), cursor))
    });
    let mut response = Response::from_stream(body)?;
    let headers = response.headers_mut();
    let (content_type, extension) = match format {
        ResultFormat::Csv => ("text/csv; charset=utf-8; header=present", "csv"),
        ResultFormat::Jsonl => ("application/jsonl; charset=utf-8", "jsonl"),
    };
    headers.set("Content-Type", content_type)?;
    headers.set(
        "Content-Disposition",
        &format!("attachment; filename=\"mailvet-{id}.{extension}\""),
    )?;
    headers.set("Cache-Control", "no-store")?;
    Ok(response)
}

fn reason_codes(row: &ResultRow) -> String {
    row.reasons
        .as_deref()
        .and_then(|r| serde_json::from_str::<Vec<String>>(r).ok())
        .unwrap_or_default()
        .join(";")
}

fn csv_line(out: &mut String, row: &ResultRow) {
    rows::csv_field(out, &row.input, true);
    let cells = [
        row.verdict.clone().unwrap_or_default(),
        reason_codes(row),
        row.suggestion.clone().unwrap_or_default(),
        row.score.map(|s| s.to_string()).unwrap_or_default(),
        row.duplicate_of.map(|d| d.to_string()).unwrap_or_default(),
    ];
    for cell in &cells {
        out.push(',');
        rows::csv_field(out, cell, true);
    }
    out.push_str("\r\n");
}

/// `{"row", "columns", "duplicate_of", "report"}`, with the stored report as it is.
fn jsonl_line(out: &mut String, row: &ResultRow) {
    let input = serde_json::to_string(&row.input).unwrap_or_else(|_| "\"\"".into());
    out.push_str(&format!(
        "{{\"row\":{},\"columns\":{{\"{ADDRESS_COLUMN}\":{input}}}",
        row.row
    ));
    match row.duplicate_of {
        Some(first) => out.push_str(&format!(",\"duplicate_of\":{first}")),
        None => out.push_str(",\"duplicate_of\":null"),
    }
    out.push_str(",\"report\":");
    out.push_str(row.report.as_deref().unwrap_or("null"));
    out.push_str("}\n");
}

/// `POST /v1/webhooks`.
pub async fn create_webhook(
    req: &mut Request,
    env: &Env,
    config: &Config,
    owner: &str,
) -> Result<Response, ApiError> {
    let body: webhooks::NewWebhook = api::json_body(req).await?;
    let db = env.d1("DB")?;
    let hook = webhooks::create(&db, config, owner, body).await?;
    let mut response = json(&hook)?.with_status(201);
    response
        .headers_mut()
        .set("Location", &format!("/v1/webhooks/{}", hook.id))?;
    Ok(response)
}

#[derive(Serialize)]
struct WebhookList {
    webhooks: Vec<webhooks::WebhookObject>,
}

/// `GET /v1/webhooks`.
pub async fn list_webhooks(env: &Env, owner: &str) -> Result<Response, ApiError> {
    let db = env.d1("DB")?;
    json(&WebhookList {
        webhooks: webhooks::list(&db, owner).await?,
    })
}

/// `DELETE /v1/webhooks/{id}`.
pub async fn delete_webhook(env: &Env, owner: &str, id: &str) -> Result<Response, ApiError> {
    let db = env.d1("DB")?;
    if webhooks::delete(&db, owner, id).await? {
        Ok(Response::empty()?.with_status(204))
    } else {
        Err(ApiError::new(
            404,
            "webhook_not_found",
            "There is no webhook with this id for this key.",
        ))
    }
}
