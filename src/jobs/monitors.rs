//! Watched sending domains (issue 12): `PUT /v1/monitors/{domain}` (with optional sending
//! addresses and DKIM selectors), `GET /v1/monitors`, `GET /v1/monitors/{domain}` (the history:
//! one entry per check, with its grade, finding codes and blocklist statuses) and `DELETE`.
//!
//! A `PUT` checks the domain at once; the cron ([`sweep`]) checks each watched domain again once
//! a day (the blocklists through the prober, as `GET /v1/domains/{name}` does), keeps the
//! history in D1 (`migrations/0004_monitors.sql`), and sends `domain.changed` to the owner's
//! webhooks when the grade, a finding or a blocklist status changed since the check before.
//! Monitors belong to the key that made them, like jobs.

use serde::{Deserialize, Serialize};
use worker::{D1Database, Env, Request, Response};

use super::store::{int, stmt, text};
use super::{json, webhooks};
use crate::api;
use crate::config::Config;
use crate::domains;
use crate::error::ApiError;
use crate::random;

/// How often a watched domain is checked.
const EVERY_MS: i64 = 86_400_000;
/// Domains checked per cron: each check is a few dozen DNS queries.
const DUE_PER_SWEEP: i64 = 20;
/// History entries `GET /v1/monitors/{domain}` answers, newest first.
const HISTORY: i64 = 100;
/// Monitors one key may have.
const MAX_MONITORS: i64 = 100;

#[derive(Debug, Deserialize)]
struct MonitorRecord {
    domain: String,
    ips: String,
    dkim_selectors: String,
    created_at: i64,
    next_check_at: i64,
}

#[derive(Debug, Deserialize)]
struct CheckRecord {
    owner: String,
    domain: String,
    checked_at: i64,
    grade: String,
    findings: String,
    dnsbl: String,
    changes: Option<String>,
}

/// What one blocklist said about one target, as the history keeps it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Listing {
    zone: String,
    target: String,
    status: String,
}

/// One check of a watched domain.
#[derive(Debug, Serialize)]
pub struct Entry {
    checked_at: String,
    grade: String,
    findings: Vec<String>,
    dnsbl: Vec<Listing>,
    /// What changed since the check before, in words; empty for the first check.
    changes: Vec<String>,
}

impl From<&CheckRecord> for Entry {
    fn from(r: &CheckRecord) -> Self {
        Entry {
            checked_at: random::iso(r.checked_at),
            grade: r.grade.clone(),
            findings: serde_json::from_str(&r.findings).unwrap_or_default(),
            dnsbl: serde_json::from_str(&r.dnsbl).unwrap_or_default(),
            changes: r
                .changes
                .as_deref()
                .and_then(|c| serde_json::from_str(c).ok())
                .unwrap_or_default(),
        }
    }
}

/// A monitor as the API shows it.
#[derive(Debug, Serialize)]
struct Monitor {
    domain: String,
    ips: Vec<String>,
    dkim_selectors: Vec<String>,
    created_at: String,
    next_check_at: String,
    /// The latest check.
    latest: Option<Entry>,
    /// Every check kept, newest first (`GET /v1/monitors/{domain}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<Vec<Entry>>,
}

/// `domain.changed`: the domain, and its check before and now.
#[derive(Debug, Serialize)]
pub struct Changed {
    domain: String,
    before: Entry,
    after: Entry,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PutBody {
    #[serde(default)]
    ips: Vec<String>,
    #[serde(default)]
    dkim_selectors: Vec<String>,
    /// When the cron checks it next (RFC 3339); default: a day after this check.
    #[serde(default)]
    next_check_at: Option<String>,
}

fn monitor_not_found() -> ApiError {
    ApiError::new(
        404,
        "monitor_not_found",
        "The caller watches no such domain: PUT /v1/monitors/{domain} watches it.",
    )
}

async fn record(
    db: &D1Database,
    owner: &str,
    domain: &str,
) -> worker::Result<Option<MonitorRecord>> {
    stmt(
        db,
        "SELECT * FROM monitors WHERE owner = ?1 AND domain = ?2",
        &[text(owner), text(domain)],
    )?
    .first(None)
    .await
}

async fn checks(
    db: &D1Database,
    owner: &str,
    domain: &str,
    limit: i64,
) -> worker::Result<Vec<CheckRecord>> {
    stmt(
        db,
        "SELECT * FROM monitor_checks WHERE owner = ?1 AND domain = ?2 \
         ORDER BY checked_at DESC, id DESC LIMIT ?3",
        &[text(owner), text(domain), int(limit)],
    )?
    .all()
    .await?
    .results()
}

async fn monitor(
    db: &D1Database,
    owner: &str,
    record: MonitorRecord,
    with_history: bool,
) -> worker::Result<Monitor> {
    let kept = checks(
        db,
        owner,
        &record.domain,
        if with_history { HISTORY } else { 1 },
    )
    .await?;
    let latest = kept.first().map(Entry::from);
    let history = with_history.then(|| kept.iter().map(Entry::from).collect());
    Ok(Monitor {
        domain: record.domain,
        ips: serde_json::from_str(&record.ips).unwrap_or_default(),
        dkim_selectors: serde_json::from_str(&record.dkim_selectors).unwrap_or_default(),
        created_at: random::iso(record.created_at),
        next_check_at: random::iso(record.next_check_at),
        latest,
        history,
    })
}

/// `PUT /v1/monitors/{domain}`: watches the domain (or changes what is watched), checks it now,
/// and answers the monitor with its history: `201` when new, `200` otherwise.
pub async fn put(
    req: &mut Request,
    env: &Env,
    config: &Config,
    owner: &str,
    name: &str,
) -> Result<Response, ApiError> {
    let domain = domains::domain_name(&domains::percent_decoded(name))?;
    let empty = req.headers().get("Content-Length")?.as_deref() == Some("0");
    let body: PutBody = if empty {
        PutBody::default()
    } else {
        api::json_body(req).await?
    };
    let (ips, selectors) = domains::parameters(&body.ips, &body.dkim_selectors)?;
    let db = env.d1("DB")?;
    let existing = record(&db, owner, &domain).await?;
    if existing.is_none() {
        #[derive(Deserialize)]
        struct Count {
            n: i64,
        }
        let count: Option<Count> = stmt(
            &db,
            "SELECT COUNT(*) AS n FROM monitors WHERE owner = ?1",
            &[text(owner)],
        )?
        .first(None)
        .await?;
        if count.is_some_and(|c| c.n >= MAX_MONITORS) {
            return Err(ApiError::new(
                409,
                "too_many_monitors",
                format!("A key may watch at most {MAX_MONITORS} domains; delete one first."),
            ));
        }
    }
    let now = random::now_ms();
    let next = match body.next_check_at.as_deref() {
        None => now + EVERY_MS,
        Some(t) => {
            let ms = worker::js_sys::Date::parse(t);
            if !ms.is_finite() {
                return Err(ApiError::bad_request(
                    "invalid_next_check_at",
                    format!("next_check_at={t} is not a date and time (RFC 3339)."),
                ));
            }
            #[allow(clippy::cast_possible_truncation, reason = "a date in ms fits")]
            let ms = ms as i64;
            ms
        }
    };
    let ip_texts: Vec<String> = ips.iter().map(ToString::to_string).collect();
    stmt(
        &db,
        "INSERT INTO monitors (owner, domain, ips, dkim_selectors, created_at, next_check_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (owner, domain) DO UPDATE SET ips = ?3, dkim_selectors = ?4, \
         next_check_at = ?6",
        &[
            text(owner),
            text(&domain),
            text(&serde_json::to_string(&ip_texts).map_err(worker::Error::from)?),
            text(&serde_json::to_string(&selectors).map_err(worker::Error::from)?),
            int(now),
            int(next),
        ],
    )?
    .run()
    .await?;
    check_now(env, config, &db, owner, &domain, ips, selectors, now).await?;
    let record = record(&db, owner, &domain)
        .await?
        .ok_or_else(monitor_not_found)?;
    let monitor = monitor(&db, owner, record, true).await?;
    let response = json(&monitor)?;
    Ok(if existing.is_none() {
        response.with_status(201)
    } else {
        response
    })
}

pub async fn get(env: &Env, owner: &str, name: &str) -> Result<Response, ApiError> {
    let domain = domains::domain_name(&domains::percent_decoded(name))?;
    let db = env.d1("DB")?;
    let record = record(&db, owner, &domain)
        .await?
        .ok_or_else(monitor_not_found)?;
    json(&monitor(&db, owner, record, true).await?)
}

pub async fn list(env: &Env, owner: &str) -> Result<Response, ApiError> {
    #[derive(Serialize)]
    struct Monitors {
        monitors: Vec<Monitor>,
    }
    let db = env.d1("DB")?;
    let records: Vec<MonitorRecord> = stmt(
        &db,
        "SELECT * FROM monitors WHERE owner = ?1 ORDER BY domain",
        &[text(owner)],
    )?
    .all()
    .await?
    .results()?;
    let mut monitors = Vec::with_capacity(records.len());
    for record in records {
        monitors.push(monitor(&db, owner, record, false).await?);
    }
    json(&Monitors { monitors })
}

pub async fn delete(env: &Env, owner: &str, name: &str) -> Result<Response, ApiError> {
    let domain = domains::domain_name(&domains::percent_decoded(name))?;
    let db = env.d1("DB")?;
    if record(&db, owner, &domain).await?.is_none() {
        return Err(monitor_not_found());
    }
    db.batch(vec![
        stmt(
            &db,
            "DELETE FROM monitor_checks WHERE owner = ?1 AND domain = ?2",
            &[text(owner), text(&domain)],
        )?,
        stmt(
            &db,
            "DELETE FROM monitors WHERE owner = ?1 AND domain = ?2",
            &[text(owner), text(&domain)],
        )?,
    ])
    .await?;
    Ok(Response::empty()?.with_status(204))
}

/// Checks a watched domain, stores the check with what changed since the one before, and
/// announces `domain.changed` when something did.
#[allow(clippy::too_many_arguments, reason = "the parts of one check")]
async fn check_now(
    env: &Env,
    config: &Config,
    db: &D1Database,
    owner: &str,
    domain: &str,
    ips: Vec<std::net::IpAddr>,
    selectors: Vec<String>,
    now: i64,
) -> worker::Result<()> {
    let report = domains::report(domain, ips, selectors, config).await;
    let mut findings: Vec<String> = report
        .findings
        .iter()
        .map(|f| f.code.as_str().to_owned())
        .collect();
    findings.sort();
    findings.dedup();
    let mut dnsbl: Vec<Listing> = report
        .dnsbl
        .iter()
        .map(|e| Listing {
            zone: e.zone.clone(),
            target: e.target.clone(),
            status: serde_json::to_value(e.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        })
        .collect();
    dnsbl.sort();
    let grade = report.grade.to_string();
    let before = checks(db, owner, domain, 1).await?;
    let changes = before.first().map(|b| {
        let old = Entry::from(b);
        differences(
            &old.grade,
            &old.findings,
            &old.dnsbl,
            &grade,
            &findings,
            &dnsbl,
        )
    });
    let id = random::id();
    stmt(
        db,
        "INSERT INTO monitor_checks (id, owner, domain, checked_at, grade, findings, dnsbl, changes) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &[
            text(&id),
            text(owner),
            text(domain),
            int(now),
            text(&grade),
            text(&serde_json::to_string(&findings)?),
            text(&serde_json::to_string(&dnsbl)?),
            match &changes {
                Some(c) => text(&serde_json::to_string(c)?),
                None => wasm_bindgen::JsValue::NULL,
            },
        ],
    )?
    .run()
    .await?;
    if changes.is_some_and(|c| !c.is_empty()) {
        webhooks::announce_to(env, db, owner, &id, webhooks::DOMAIN_CHANGED).await?;
    }
    Ok(())
}

/// What changed between two checks, one sentence each: the grade, each finding that appeared or
/// went, each blocklist status that is new or different.
fn differences(
    old_grade: &str,
    old_findings: &[String],
    old_dnsbl: &[Listing],
    grade: &str,
    findings: &[String],
    dnsbl: &[Listing],
) -> Vec<String> {
    let mut out = Vec::new();
    if old_grade != grade {
        out.push(format!("grade {old_grade} → {grade}"));
    }
    for f in findings.iter().filter(|f| !old_findings.contains(f)) {
        out.push(format!("new finding {f}"));
    }
    for f in old_findings.iter().filter(|f| !findings.contains(f)) {
        out.push(format!("finding {f} gone"));
    }
    for l in dnsbl {
        let was = old_dnsbl
            .iter()
            .find(|o| o.zone == l.zone && o.target == l.target);
        match was {
            Some(o) if o.status != l.status => out.push(format!(
                "{} on {}: {} → {}",
                l.target, l.zone, o.status, l.status
            )),
            None => out.push(format!("{} on {}: {}", l.target, l.zone, l.status)),
            Some(_) => {}
        }
    }
    out
}

/// The data of the `domain.changed` delivery about check `id`.
pub async fn changed(db: &D1Database, id: &str) -> worker::Result<Option<Changed>> {
    let after: Option<CheckRecord> = stmt(
        db,
        "SELECT * FROM monitor_checks WHERE id = ?1",
        &[text(id)],
    )?
    .first(None)
    .await?;
    let Some(after) = after else {
        return Ok(None);
    };
    let before: Option<CheckRecord> = stmt(
        db,
        "SELECT * FROM monitor_checks WHERE owner = ?1 AND domain = ?2 AND checked_at < ?3 \
         ORDER BY checked_at DESC LIMIT 1",
        &[
            text(&after.owner),
            text(&after.domain),
            int(after.checked_at),
        ],
    )?
    .first(None)
    .await?;
    Ok(before.map(|before| Changed {
        domain: after.domain.clone(),
        before: Entry::from(&before),
        after: Entry::from(&after),
    }))
}

/// When the delivery about check `id` happened: the check's time.
pub async fn checked_at(db: &D1Database, id: &str) -> worker::Result<Option<i64>> {
    #[derive(Deserialize)]
    struct At {
        checked_at: i64,
    }
    let at: Option<At> = stmt(
        db,
        "SELECT checked_at FROM monitor_checks WHERE id = ?1",
        &[text(id)],
    )?
    .first(None)
    .await?;
    Ok(at.map(|a| a.checked_at))
}

/// The cron: checks the watched domains whose time has come (a few per run), each moved a day
/// on first, so that a check that fails is not retried at once by every cron.
pub async fn sweep(env: &Env, config: &Config, db: &D1Database, now: i64) -> worker::Result<()> {
    #[derive(Deserialize)]
    struct Due {
        owner: String,
        domain: String,
        ips: String,
        dkim_selectors: String,
    }
    let due: Vec<Due> = stmt(
        db,
        "SELECT owner, domain, ips, dkim_selectors FROM monitors WHERE next_check_at <= ?1 \
         ORDER BY next_check_at LIMIT ?2",
        &[int(now), int(DUE_PER_SWEEP)],
    )?
    .all()
    .await?
    .results()?;
    for monitor in due {
        stmt(
            db,
            "UPDATE monitors SET next_check_at = ?3 WHERE owner = ?1 AND domain = ?2",
            &[
                text(&monitor.owner),
                text(&monitor.domain),
                int(now + EVERY_MS),
            ],
        )?
        .run()
        .await?;
        let ips: Vec<String> = serde_json::from_str(&monitor.ips).unwrap_or_default();
        let selectors: Vec<String> =
            serde_json::from_str(&monitor.dkim_selectors).unwrap_or_default();
        let Ok((ips, selectors)) = domains::parameters(&ips, &selectors) else {
            continue;
        };
        check_now(
            env,
            config,
            db,
            &monitor.owner,
            &monitor.domain,
            ips,
            selectors,
            now,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(zone: &str, target: &str, status: &str) -> Listing {
        Listing {
            zone: zone.into(),
            target: target.into(),
            status: status.into(),
        }
    }

    #[test]
    fn differences_name_the_grade_findings_and_listings() {
        let old = [listing("zen.example", "192.0.2.1", "not_listed")];
        let new = [
            listing("zen.example", "192.0.2.1", "listed"),
            listing("dbl.example", "example.com", "not_listed"),
        ];
        let changes = differences(
            "A",
            &["tls_rpt_missing".into()],
            &old,
            "C",
            &["dnsbl_listed".into()],
            &new,
        );
        assert_eq!(
            changes,
            [
                "grade A → C",
                "new finding dnsbl_listed",
                "finding tls_rpt_missing gone",
                "192.0.2.1 on zen.example: not_listed → listed",
                "example.com on dbl.example: not_listed",
            ]
        );
        assert!(differences("A", &[], &old, "A", &[], &old).is_empty());
    }
}
