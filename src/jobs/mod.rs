//! The Jobs API: lists checked in the background (`POST /v1/jobs`, `GET /v1/jobs`,
//! `GET|DELETE /v1/jobs/{id}`, `GET /v1/jobs/{id}/results`) and the webhooks that hear when a
//! job ends (`/v1/webhooks`). `src/openapi.json` documents each.
//!
//! An upload streams into R2 (`UPLOADS`) as it comes; the job is a row of D1 (`DB`); the work
//! goes through the Queue (`WORK`) to [`engine`]. Jobs and webhooks belong to the secret key
//! that made them (by its digest, `mailvet_core::auth::key_digest`): another key finds nothing
//! (404), a public key may not use them at all (403). Without keys there is one owner.

mod check;
pub mod engine;
pub mod lists;
pub mod monitors;
mod rows;
mod store;
mod webhooks;

use futures_util::stream;
use serde::Serialize;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{ByteStream, Env, FixedLengthStream, Request, Response, web_sys};

use crate::api::{self, Depth};
use crate::config::Config;
use crate::error::ApiError;
use crate::random;
use engine::Work;
use mailvet_core::table;
use rows::{Format, JsonList, ReadError, Shape};
use store::{int, opt_text, stmt, text};

/// The largest upload (the Content-Length of `POST /v1/jobs`), and the most rows a job holds.
pub const MAX_UPLOAD: usize = 100 * 1024 * 1024;
pub const MAX_ROWS: u64 = table::MAX_ROWS;
/// Jobs per page of `GET /v1/jobs`, unless `limit` says otherwise (at most [`MAX_PAGE`]).
const DEFAULT_PAGE: i64 = 20;
const MAX_PAGE: i64 = 100;
/// Rows read from D1 per step of a results download.
const RESULTS_PAGE: i64 = 500;
/// The media types `POST /v1/jobs` reads.
const ACCEPTED: &str = "text/csv, text/plain (one address a line), application/json \
                        ({\"emails\": [...]}) or multipart/form-data with a file field";
/// What a form may add to its file: boundaries, part headers and the small fields.
const FORM_OVERHEAD: usize = 64 * 1024;

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

/// A list that breaks a rule of the core: its code and sentence; too many rows is a 413.
fn list_error(e: &table::TableError) -> ApiError {
    let status = if e.code() == "too_many_rows" {
        413
    } else {
        400
    };
    ApiError::new(status, e.code(), e.to_string())
}

fn empty_list() -> ApiError {
    list_error(&table::TableError::empty())
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
        "text/csv" => Format::Csv,
        "application/json" => Format::Json,
        // A browser form's upload: the list is its `file` field (its format by the file's type
        // or name, CSV unless it says text), the parameters may be fields too.
        "multipart/form-data" => Format::Csv,
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
    let form = media == "multipart/form-data";
    // A form's own parts (boundaries, part headers, small fields) come on top of the file.
    let limit = if form {
        MAX_UPLOAD + FORM_OVERHEAD
    } else {
        MAX_UPLOAD
    };
    if length > limit {
        return Err(too_large());
    }
    if length == 0 {
        return Err(empty_list());
    }
    let (file, fields) = if form {
        let (file, fields) = read_form(req).await?;
        (Some(file), Some(fields))
    } else {
        (None, None)
    };
    let field = |name: &str| -> Result<Option<String>, ApiError> {
        let given = match param(req, name)? {
            Some(value) => Some(value),
            None => fields.as_ref().and_then(|f| f.get(name).as_string()),
        };
        Ok(given.filter(|v| !v.is_empty()))
    };
    let checks = match field("checks")? {
        Some(c) => Depth::parse(Some(&c))?,
        None if config.probe.is_some() => Depth::Smtp,
        None => Depth::Dns,
    };
    let name = field("name")?;
    let column = field("column")?;
    let format = match &file {
        Some(file) if file.type_() == "text/plain" || file.name().ends_with(".txt") => Format::Text,
        _ => format,
    };

    let id = random::id();
    let upload = format!("uploads/{id}");
    let bucket = env.bucket("UPLOADS")?;
    let (shape, rows) = match format {
        Format::Text | Format::Csv => {
            match &file {
                Some(file) => {
                    let size = file.size() as u64;
                    if size as usize > MAX_UPLOAD {
                        return Err(too_large());
                    }
                    // Piece by piece: R2 takes a stream of a known length only.
                    let stream = FixedLengthStream::wrap(ByteStream::from(file.stream()), size);
                    bucket.put(&upload, stream).execute().await?;
                }
                None => {
                    let Some(body) = req.inner().body() else {
                        return Err(empty_list());
                    };
                    // Straight from the request into R2: the list never passes through Wasm
                    // memory.
                    bucket.put(&upload, body).execute().await?;
                }
            }
            match rows::inspect(&bucket, &upload, format, column.as_deref()).await {
                Ok(found) => found,
                Err(e) => {
                    bucket.delete(&upload).await?;
                    return Err(match e {
                        ReadError::List(e) => list_error(&e),
                        ReadError::Worker(e) => e.into(),
                    });
                }
            }
        }
        Format::Json => {
            let bytes = req.bytes().await?;
            let list: JsonList = serde_json::from_slice(&bytes).map_err(|e| {
                ApiError::bad_request("invalid_json", format!("The body is not {ACCEPTED}: {e}."))
            })?;
            let rows = list.emails.len() as u64;
            if rows == 0 {
                return Err(empty_list());
            }
            if rows <= MAX_ROWS {
                bucket.put(&upload, bytes).execute().await?;
            }
            (Shape::lines(), rows)
        }
    };
    if rows > MAX_ROWS {
        bucket.delete(&upload).await?;
        return Err(list_error(&table::TableError::too_many_rows()));
    }
    let rows = rows as i64;

    let db = env.d1("DB")?;
    let now = random::now_ms();
    let split_deadline = now + i64::from(config.jobs.chunk_deadline_seconds) * 1000;
    stmt(
        &db,
        "INSERT INTO jobs (id, owner, name, status, checks, format, shape, upload, total_rows, \
         split_attempts, split_deadline, created_at) \
         VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?10, ?6, ?7, 1, ?8, ?9)",
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
            text(&serde_json::to_string(&shape).map_err(|_| ApiError::internal())?),
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

/// The `file` of a `multipart/form-data` body, and all its fields. The runtime parses the form
/// (outside Wasm memory); the file is then read piece by piece.
async fn read_form(req: &Request) -> Result<(web_sys::File, web_sys::FormData), ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "invalid_form",
            "The form could not be read: send the list as its file field.",
        )
    };
    let promise = req.inner().form_data().map_err(|_| invalid())?;
    let form: web_sys::FormData = JsFuture::from(promise)
        .await
        .map_err(|_| invalid())?
        .dyn_into()
        .map_err(|_| invalid())?;
    let file = form.get("file").dyn_into::<web_sys::File>().map_err(|_| {
        ApiError::bad_request("missing_file", "The form has no file field with the list.")
    })?;
    Ok((file, form))
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

/// A page of a listing, newest first: at most `limit`, created before `before` (ms) or at
/// that time with an id before `before_id`.
struct Page {
    limit: i64,
    before: JsValue,
    before_id: String,
}

impl Page {
    /// The owner's rows of `table` (`jobs` or `lists`: both have `owner`, `created_at`, `id`) on
    /// this page, newest first.
    async fn rows<T: serde::de::DeserializeOwned>(
        &self,
        db: &worker::D1Database,
        table: &str,
        owner: &str,
    ) -> worker::Result<Vec<T>> {
        stmt(
            db,
            &format!(
                "SELECT * FROM {table} WHERE owner = ?1 \
                 AND (created_at < ?2 OR (created_at = ?2 AND id < ?3)) \
                 ORDER BY created_at DESC, id DESC LIMIT ?4"
            ),
            &[
                text(owner),
                self.before.clone(),
                text(&self.before_id),
                int(self.limit),
            ],
        )?
        .all()
        .await?
        .results()
    }

    /// `limit=` and `cursor=` (a `next_cursor` as given: the last item's creation time and id).
    fn of(req: &Request) -> Result<Page, ApiError> {
        let limit = match param(req, "limit")? {
            None => DEFAULT_PAGE,
            Some(l) => l
                .parse::<i64>()
                .ok()
                .filter(|l| (1..=MAX_PAGE).contains(l))
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_limit",
                        format!("limit must be 1 to {MAX_PAGE}."),
                    )
                })?,
        };
        // The cursor names the last job of the page before: its creation time and id.
        let (before, before_id) = match param(req, "cursor")? {
            None => (i64::MAX, String::new()),
            Some(c) => c
                .split_once('.')
                .and_then(|(t, id)| Some((t.parse::<i64>().ok()?, id.to_owned())))
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_cursor",
                        "cursor must be a next_cursor as given.",
                    )
                })?,
        };
        Ok(Page {
            limit,
            // D1 numbers are doubles: the largest stands for "no cursor".
            before: if before == i64::MAX {
                JsValue::from_f64(f64::MAX)
            } else {
                int(before)
            },
            before_id,
        })
    }

    /// The cursor of the page after this one, whose last item is `last` (creation time, id).
    fn next(&self, count: usize, last: Option<(i64, &str)>) -> Option<String> {
        (count as i64 == self.limit)
            .then(|| last.map(|(t, id)| format!("{t}.{id}")))
            .flatten()
    }
}

/// `GET /v1/jobs?limit=&cursor=`: newest first.
pub async fn list(req: &Request, env: &Env, owner: &str) -> Result<Response, ApiError> {
    let page = Page::of(req)?;
    let db = env.d1("DB")?;
    let records: Vec<store::JobRecord> = page.rows(&db, "jobs", owner).await?;
    let next_cursor = page.next(
        records.len(),
        records.last().map(|r| (r.created_at, r.id.as_str())),
    );
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
    cells: Option<String>,
    duplicate_of: Option<i64>,
    verdict: Option<String>,
    reasons: Option<String>,
    suggestion: Option<String>,
    score: Option<i64>,
    report: Option<String>,
}

/// A stored row's cells as given: a CSV row's (`cells`), else its address alone.
fn fields(cells: Option<&str>, input: &str) -> Vec<String> {
    cells
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_else(|| vec![input.to_owned()])
}

impl ResultRow {
    fn fields(&self) -> Vec<String> {
        fields(self.cells.as_deref(), &self.input)
    }

    /// `mailvet_core::table::appended` of the stored result: empty cells before it is checked.
    fn appended(&self) -> [String; 5] {
        let reasons: Vec<String> = self
            .reasons
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default();
        [
            self.verdict.clone().unwrap_or_default(),
            reasons.join(";"),
            self.suggestion.clone().unwrap_or_default(),
            self.score.map(|s| s.to_string()).unwrap_or_default(),
            self.duplicate_of.map(|d| d.to_string()).unwrap_or_default(),
        ]
    }
}

/// How the rows of a results file are written: as the CLI's list mode writes them.
enum Writer {
    /// CSV in the upload's delimiter: each row padded to the header's width, the appended
    /// columns (where the header already has one of their names, in its place), then any cells
    /// beyond the header.
    Csv {
        delimiter: u8,
        layout: table::RowLayout,
    },
    /// `{"row", "columns", "duplicate_of", "report"}` a line.
    Jsonl { names: Vec<String> },
}

impl Writer {
    /// The writer and what comes before the first row.
    fn new(shape: &Shape, jsonl: bool) -> (Writer, String) {
        if jsonl {
            let names = table::column_names(&shape.header);
            return (Writer::Jsonl { names }, String::new());
        }
        let layout = table::RowLayout::new(&shape.header);
        let delimiter = shape.dialect().delimiter();
        let mut head = String::new();
        if shape.bom {
            head.push('\u{feff}');
        }
        let names = layout.header().iter().map(String::as_str);
        table::write_csv_row(&mut head, names, delimiter);
        (Writer::Csv { delimiter, layout }, head)
    }

    fn write(&self, out: &mut String, row: &ResultRow) {
        let fields = row.fields();
        match self {
            Writer::Csv { delimiter, layout } => {
                let appended = row.appended();
                table::write_csv_row(out, layout.cells(&fields, &appended), *delimiter);
            }
            Writer::Jsonl { names } => {
                let columns = table::Columns {
                    names,
                    values: &fields,
                };
                let Ok(columns) = serde_json::to_string(&columns) else {
                    return;
                };
                // The stored report is the JSON of /v1/verify already: spliced in as it is.
                out.push_str(&format!("{{\"row\":{},\"columns\":{columns}", row.row));
                match row.duplicate_of {
                    Some(first) => out.push_str(&format!(",\"duplicate_of\":{first}")),
                    None => out.push_str(",\"duplicate_of\":null"),
                }
                out.push_str(",\"report\":");
                out.push_str(row.report.as_deref().unwrap_or("null"));
                out.push_str("}\n");
            }
        }
    }
}

/// `format=csv|jsonl` of a download (CSV by default): whether it is JSON lines.
fn jsonl_format(req: &Request) -> Result<bool, ApiError> {
    match param(req, "format")?.as_deref() {
        None | Some("csv") => Ok(false),
        Some("jsonl") => Ok(true),
        Some(_) => Err(ApiError::bad_request(
            "invalid_format",
            "format must be csv or jsonl.",
        )),
    }
}

/// A parameter that lists verdicts (`verdict=valid,risky`, `to=invalid`); none: all.
fn verdicts_param(req: &Request, name: &str) -> Result<Vec<String>, ApiError> {
    let verdicts: Vec<String> = match param(req, name)? {
        None => Vec::new(),
        Some(v) => v.split(',').map(|s| s.trim().to_owned()).collect(),
    };
    if verdicts
        .iter()
        .any(|v| !["valid", "risky", "invalid", "unknown"].contains(&v.as_str()))
    {
        return Err(ApiError::bad_request(
            "invalid_verdict",
            format!("{name} must list valid, risky, invalid or unknown, separated by commas."),
        ));
    }
    Ok(verdicts)
}

/// The SQL condition ` AND column IN ('valid', …)` for verdicts from [`verdicts_param`] (empty
/// for none: every verdict). Each was checked against the four names there, so no text of the
/// caller's reaches the SQL.
fn verdict_filter(column: &str, verdicts: &[String]) -> String {
    if verdicts.is_empty() {
        return String::new();
    }
    let names: Vec<String> = verdicts.iter().map(|v| format!("'{v}'")).collect();
    format!(" AND {column} IN ({})", names.join(", "))
}

/// `GET /v1/jobs/{id}/results?verdict=&format=csv|jsonl&partial=true`: every row in order,
/// read from D1 a page at a time as the answer is sent.
pub async fn results(
    req: &Request,
    env: &Env,
    owner: &str,
    id: &str,
) -> Result<Response, ApiError> {
    let jsonl = jsonl_format(req)?;
    let verdicts = verdicts_param(req, "verdict")?;
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
    let shape: Shape = serde_json::from_str(&record.shape).map_err(|_| ApiError::internal())?;
    let filter = verdict_filter("verdict", &verdicts);
    let sql = format!(
        "SELECT row, input, cells, duplicate_of, verdict, reasons, suggestion, score, report \
         FROM rows WHERE job = ?1 AND row > ?2{filter} ORDER BY row LIMIT {RESULTS_PAGE}"
    );
    let (writer, head) = Writer::new(&shape, jsonl);
    struct Cursor {
        db: worker::D1Database,
        sql: String,
        job: String,
        after: i64,
        head: Option<String>,
        writer: Writer,
        ended: bool,
    }
    let start = Cursor {
        db,
        sql,
        job: id.to_owned(),
        after: 0,
        head: Some(head),
        writer,
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
            cursor.writer.write(&mut out, row);
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
        &format!("attachment; filename=\"mailvet-{id}.{extension}\""),
    )?;
    headers.set("Cache-Control", "no-store")?;
    Ok(response)
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
