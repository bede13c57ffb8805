//! Webhooks (Standard Webhooks v1; the rules are `mailvet_core::webhook`'s): `POST`, `GET`,
//! `DELETE /v1/webhooks`, and the deliveries of `job.completed`, `job.failed` and
//! `list.cleaned`, each a Queue message that is sent again on the specification's schedule.
//!
//! A delivery's `webhook-id` is derived from the webhook, the job and the event, so every
//! retry of one message carries the same id, and a receiver can drop one it has seen.

use std::time::Duration;

use mailvet_core::auth::key_digest;
use mailvet_core::webhook::{self, Next};
use serde::{Deserialize, Serialize};
use worker::{D1Database, Env, Fetch, Headers, Method, Request, RequestInit, RequestRedirect, Url};

use super::engine::Work;
use super::store::{self, int, stmt, text};
use super::{lists, monitors};
use crate::config::Config;
use crate::deadline;
use crate::error::ApiError;
use crate::random;

/// The events a webhook may ask for.
pub const EVENTS: [&str; 4] = [
    "job.completed",
    "job.failed",
    "list.cleaned",
    DOMAIN_CHANGED,
];
/// A watched domain's grade, a finding or a blocklist status changed (`monitors`).
pub const DOMAIN_CHANGED: &str = "domain.changed";
/// The longest delay a Queue message may carry (12 hours); longer steps of the schedule wait
/// this long.
const MAX_QUEUE_DELAY: u32 = 43_200;

#[derive(Debug, Deserialize)]
pub struct NewWebhook {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
}

/// A webhook as the API shows it; `secret` only in the answer that made it.
#[derive(Debug, Serialize)]
pub struct WebhookObject {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub disabled: bool,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WebhookRecord {
    id: String,
    url: String,
    events: String,
    secret: String,
    disabled: i64,
    created_at: i64,
}

impl WebhookRecord {
    fn events(&self) -> Vec<String> {
        serde_json::from_str(&self.events).unwrap_or_default()
    }

    fn object(&self) -> WebhookObject {
        WebhookObject {
            id: self.id.clone(),
            url: self.url.clone(),
            events: self.events(),
            disabled: self.disabled != 0,
            created_at: random::iso(self.created_at),
            secret: None,
        }
    }
}

/// `POST /v1/webhooks`.
pub async fn create(
    db: &D1Database,
    config: &Config,
    owner: &str,
    body: NewWebhook,
) -> Result<WebhookObject, ApiError> {
    let url = body
        .url
        .ok_or_else(|| ApiError::bad_request("missing_url", "Give the webhook's url."))?;
    let parsed = Url::parse(&url).map_err(|_| {
        ApiError::bad_request("invalid_webhook_url", format!("{url:?} is not a URL."))
    })?;
    webhook::url_allowed(
        parsed.scheme(),
        parsed.host_str().unwrap_or_default(),
        config.jobs.allow_private_webhooks,
    )
    .map_err(|refusal| ApiError::bad_request("invalid_webhook_url", refusal.to_string()))?;
    let events = body.events.unwrap_or_else(|| vec!["job.completed".into()]);
    if events.is_empty() || events.iter().any(|e| !EVENTS.contains(&e.as_str())) {
        return Err(ApiError::bad_request(
            "invalid_events",
            format!("events must name one or more of {}.", EVENTS.join(", ")),
        ));
    }
    let record = WebhookRecord {
        id: random::id(),
        url: parsed.to_string(),
        events: serde_json::to_string(&events).map_err(|_| ApiError::internal())?,
        secret: webhook::secret_from_random(&random::bytes::<{ webhook::SECRET_BYTES }>()),
        disabled: 0,
        created_at: random::now_ms(),
    };
    stmt(
        db,
        "INSERT INTO webhooks (id, owner, url, events, secret, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[
            text(&record.id),
            text(owner),
            text(&record.url),
            text(&record.events),
            text(&record.secret),
            int(record.created_at),
        ],
    )?
    .run()
    .await?;
    Ok(WebhookObject {
        secret: Some(record.secret.clone()),
        ..record.object()
    })
}

/// `GET /v1/webhooks`: the owner's, newest first.
pub async fn list(db: &D1Database, owner: &str) -> Result<Vec<WebhookObject>, ApiError> {
    let records: Vec<WebhookRecord> = stmt(
        db,
        "SELECT * FROM webhooks WHERE owner = ?1 ORDER BY created_at DESC, id DESC",
        &[text(owner)],
    )?
    .all()
    .await?
    .results()?;
    Ok(records.iter().map(WebhookRecord::object).collect())
}

/// `DELETE /v1/webhooks/{id}`: whether there was one.
pub async fn delete(db: &D1Database, owner: &str, id: &str) -> Result<bool, ApiError> {
    let result = stmt(
        db,
        "DELETE FROM webhooks WHERE id = ?1 AND owner = ?2",
        &[text(id), text(owner)],
    )?
    .run()
    .await?;
    Ok(store::changed(&result))
}

/// Sends one delivery of `event` for job `id` to each webhook of the job's owner that asked for
/// it (`list.cleaned`: the job is a list's run).
pub async fn announce(env: &Env, db: &D1Database, id: &str, event: &str) -> worker::Result<()> {
    let Some(job) = store::job(db, id).await? else {
        return Ok(());
    };
    announce_to(env, db, &job.owner, id, event).await
}

/// Sends one delivery of `event` about `subject` (a job's id; for `domain.changed`, a monitor
/// check's) to each webhook of `owner` that asked for it.
pub async fn announce_to(
    env: &Env,
    db: &D1Database,
    owner: &str,
    subject: &str,
    event: &str,
) -> worker::Result<()> {
    let id = subject;
    let hooks: Vec<WebhookRecord> = stmt(
        db,
        "SELECT * FROM webhooks WHERE owner = ?1 AND disabled = 0",
        &[text(owner)],
    )?
    .all()
    .await?
    .results()?;
    let queue = env.queue("WORK")?;
    for hook in hooks
        .iter()
        .filter(|h| h.events().iter().any(|e| e == event))
    {
        Work::Deliver {
            webhook: hook.id.clone(),
            job: id.to_owned(),
            event: event.to_owned(),
            attempt: 0,
        }
        .send(&queue, 0)
        .await?;
    }
    Ok(())
}

#[derive(Serialize)]
struct Payload<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: String,
    data: Data,
}

/// What an event is about: the job object (`job.*`), or the list and its run (`list.cleaned`).
#[derive(Serialize)]
#[serde(untagged)]
enum Data {
    Job(store::Job),
    List(lists::Cleaned),
    Domain(monitors::Changed),
}

/// One attempt of one delivery; the next attempt is a new message with a delay.
pub async fn deliver(
    env: &Env,
    config: &Config,
    webhook_id: &str,
    job_id: &str,
    event: &str,
    attempt: usize,
) -> worker::Result<()> {
    let db = env.d1("DB")?;
    let hook: Option<WebhookRecord> = stmt(
        &db,
        "SELECT * FROM webhooks WHERE id = ?1 AND disabled = 0",
        &[text(webhook_id)],
    )?
    .first(None)
    .await?;
    let Some(hook) = hook else {
        return Ok(());
    };
    let url = Url::parse(&hook.url)?;
    // The rule again at sending time: the configuration may have changed since.
    if webhook::url_allowed(
        url.scheme(),
        url.host_str().unwrap_or_default(),
        config.jobs.allow_private_webhooks,
    )
    .is_err()
    {
        worker::console_warn!("webhook {webhook_id}: its URL is no longer allowed");
        return Ok(());
    }
    // The event's time is the job's end (or the check's), the same in every attempt.
    let (at, data) = if event == DOMAIN_CHANGED {
        let (Some(at), Some(changed)) = (
            monitors::checked_at(&db, job_id).await?,
            monitors::changed(&db, job_id).await?,
        ) else {
            return Ok(());
        };
        (at, Data::Domain(changed))
    } else {
        let Some(job) = store::job(&db, job_id).await? else {
            return Ok(());
        };
        let at = job.finished_at.unwrap_or(job.created_at);
        if event == "list.cleaned" {
            match lists::cleaned(&db, job_id).await? {
                Some(cleaned) => (at, Data::List(cleaned)),
                None => return Ok(()),
            }
        } else {
            (
                at,
                Data::Job(store::job_object(&db, job, random::now_ms()).await?),
            )
        }
    };
    let timestamp = random::iso(at);
    let body = serde_json::to_string(&Payload {
        kind: event,
        timestamp,
        data,
    })?;
    let msg_id = format!(
        "msg_{}",
        &key_digest(&format!("{webhook_id}.{job_id}.{event}"))[..32]
    );
    let now = (random::now_ms() / 1000).unsigned_abs();
    let signature = webhook::sign(&hook.secret, &msg_id, now, body.as_bytes())
        .map_err(|e| worker::Error::RustError(e.to_string()))?;
    let headers = Headers::new();
    headers.set("Content-Type", "application/json")?;
    headers.set("webhook-id", &msg_id)?;
    headers.set("webhook-timestamp", &now.to_string())?;
    headers.set("webhook-signature", &signature)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual)
        .with_body(Some(body.into()));
    let request = Request::new_with_init(url.as_str(), &init)?;
    let timeout = Duration::from_secs(webhook::TIMEOUT_SECONDS);
    let status = deadline::within(timeout, |signal| async move {
        Fetch::Request(request)
            .send_with_signal(&signal)
            .await
            .map(|r| r.status_code())
    })
    .await
    .and_then(Result::ok);
    match webhook::next(status, attempt) {
        Next::Delivered => {}
        Next::RetryIn(delay) => {
            worker::console_warn!(
                "webhook {webhook_id}: attempt {} failed ({status:?}), again in {delay} s",
                attempt + 1
            );
            Work::Deliver {
                webhook: webhook_id.to_owned(),
                job: job_id.to_owned(),
                event: event.to_owned(),
                attempt: attempt + 1,
            }
            .send(
                &env.queue("WORK")?,
                delay
                    .min(MAX_QUEUE_DELAY)
                    .min(config.jobs.webhook_retry_cap.unwrap_or(u32::MAX)),
            )
            .await?;
        }
        Next::Disable => {
            worker::console_warn!("webhook {webhook_id}: 410 Gone, disabled");
            stmt(
                &db,
                "UPDATE webhooks SET disabled = 1 WHERE id = ?1",
                &[text(webhook_id)],
            )?
            .run()
            .await?;
        }
        Next::GiveUp => {
            worker::console_warn!("webhook {webhook_id}: every attempt failed, given up");
        }
    }
    Ok(())
}
