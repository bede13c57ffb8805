//! `/v1/verify` and `/v1/verify/batch`: requests in, Reports out. Every decision is the
//! core's (`mailvet_core::report::Check`); this module only gathers the evidence it asks for.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::{StreamExt, stream};
use mailvet_core::dns::{MailRoute, RouteDecision};
use mailvet_core::lists::Lists;
use mailvet_core::report::{Check, MxSummary, Report, Skipped};
use mailvet_core::verdict::Policy;
use serde::{Deserialize, Serialize};
use worker::{Method, Request, Response};

use crate::config::{Config, ProbeConfig};
use crate::doh::{CacheUse, Resolver};
use crate::error::ApiError;
use crate::probe;

/// The most addresses one batch may hold.
pub const MAX_BATCH: usize = 100;
/// The largest request body read: a full batch of long, escaped addresses fits with room.
pub const MAX_BODY: usize = 128 * 1024;
/// How much of a body over the cap is still read (and dropped), so that the connection it came
/// on stays usable (see [`drain`]).
const MAX_DRAIN: usize = 8 * MAX_BODY;
/// Domains resolved at once in a batch (each up to three queries at once, then its MX hosts),
/// and prober calls at once: a Worker invocation keeps six connections open at a time and
/// queues the rest, and a queued request would spend its deadline waiting.
const DOMAINS_AT_ONCE: usize = 2;
pub const PROBES_AT_ONCE: usize = 6;

/// How deep to check: `?checks=` or `"checks"`. Each layer includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Syntax and the lists only: no network at all.
    Syntax,
    /// Also DNS: does the domain take mail?
    Dns,
    /// Also the mailbox, through the prober when one is configured (the default).
    Smtp,
}

impl Depth {
    pub fn parse(value: Option<&str>) -> Result<Depth, ApiError> {
        match value {
            None | Some("smtp") => Ok(Depth::Smtp),
            Some("dns") => Ok(Depth::Dns),
            Some("syntax") => Ok(Depth::Syntax),
            Some(_) => Err(ApiError::bad_request(
                "invalid_checks",
                "checks must be syntax, dns or smtp.",
            )),
        }
    }
}

impl Depth {
    #[cfg(feature = "jobs")]
    pub fn as_str(self) -> &'static str {
        match self {
            Depth::Syntax => "syntax",
            Depth::Dns => "dns",
            Depth::Smtp => "smtp",
        }
    }
}

#[derive(Deserialize)]
struct OneBody {
    email: Option<String>,
    checks: Option<String>,
}

#[derive(Deserialize)]
struct BatchBody {
    emails: Option<Vec<String>>,
    checks: Option<String>,
}

#[derive(Serialize)]
struct BatchAnswer {
    results: Vec<Report>,
}

/// `GET /v1/verify?email=…` and `POST /v1/verify` with `{"email": …}`.
pub async fn verify(req: &mut Request, config: &Config) -> Result<Response, ApiError> {
    let (email, checks) = if req.method() == Method::Get {
        let url = req.url()?;
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        (param("email"), param("checks"))
    } else {
        let body: OneBody = json_body(req).await?;
        (body.email, body.checks)
    };
    let email = email.ok_or_else(|| {
        ApiError::bad_request("missing_email", "Give the address to check as email.")
    })?;
    let depth = Depth::parse(checks.as_deref())?;
    let (mut reports, cache) = check_all(&[email], depth, config).await;
    let report = reports.pop().ok_or_else(ApiError::internal)?;
    answer(&report, cache)
}

/// `POST /v1/verify/batch` with `{"emails": […]}`: one Report per input, in input order.
pub async fn verify_batch(req: &mut Request, config: &Config) -> Result<Response, ApiError> {
    let body: BatchBody = json_body(req).await?;
    let emails = body.emails.ok_or_else(|| {
        ApiError::bad_request("missing_emails", "Give the addresses to check as emails.")
    })?;
    if emails.len() > MAX_BATCH {
        return Err(ApiError::bad_request(
            "too_many_emails",
            format!(
                "A batch holds at most {MAX_BATCH} addresses; this one has {}.",
                emails.len()
            ),
        ));
    }
    let depth = Depth::parse(body.checks.as_deref())?;
    let (results, cache) = check_all(&emails, depth, config).await;
    answer(&BatchAnswer { results }, cache)
}

/// Checks every input as deep as asked; each domain is resolved once.
pub async fn check_all(
    inputs: &[String],
    depth: Depth,
    config: &Config,
) -> (Vec<Report>, Option<CacheUse>) {
    let lists = Lists::new();
    let policy = Policy::default();
    let checks: Vec<Check<'_>> = inputs.iter().map(|i| Check::new(i, &lists)).collect();
    if depth == Depth::Syntax {
        let reports = checks
            .into_iter()
            .map(|check| check.syntax_only().finish(&policy))
            .collect();
        return (reports, None);
    }

    let resolver = Resolver::new(&config.doh, config.doh_timeout);
    let routes = routes(&checks, &resolver).await;
    let policy = &policy;
    let reports = stream::iter(checks)
        .map(|check| {
            let route = check.dns_name().and_then(|d| routes.get(d));
            mailbox(check, route.map(|r| &r.route), depth, config, policy)
        })
        .buffered(PROBES_AT_ONCE)
        .collect()
        .await;
    (reports, resolver.cache_use())
}

/// The mail route of each domain of `checks`, each resolved once.
pub async fn routes(
    checks: &[Check<'_>],
    resolver: &Resolver<'_>,
) -> BTreeMap<String, RouteDecision> {
    let domains: BTreeSet<String> = checks
        .iter()
        .filter_map(|c| c.dns_name().map(str::to_owned))
        .collect();
    stream::iter(domains)
        .map(|domain| async move {
            let route = resolver.route(&domain).await;
            (domain, route)
        })
        .buffer_unordered(DOMAINS_AT_ONCE)
        .collect()
        .await
}

/// What a check needs once DNS has answered: nothing more (its report), or a mailbox probe.
pub enum Next<'a, 'c> {
    Done(Report),
    Probe {
        check: Check<'a>,
        prober: &'c ProbeConfig,
        /// The address as the prober is asked about it.
        email: String,
        mx: Option<Vec<MxSummary>>,
    },
}

/// Adds what DNS found; then the report, unless the core wants the mailbox layer and the caller
/// and the configuration allow it.
pub fn after_dns<'a, 'c>(
    mut check: Check<'a>,
    route: Option<&MailRoute>,
    depth: Depth,
    config: &'c Config,
    policy: &Policy,
) -> Next<'a, 'c> {
    if let Some(route) = route {
        check = check.with_dns(route);
    }
    if !check.wants_mailbox() {
        return Next::Done(check.finish(policy));
    }
    let prober = match (&config.probe, depth) {
        (_, Depth::Syntax | Depth::Dns) => {
            return Next::Done(check.skip_mailbox(Skipped::Disabled).finish(policy));
        }
        (None, Depth::Smtp) => {
            return Next::Done(check.skip_mailbox(Skipped::NoProber).finish(policy));
        }
        (Some(prober), Depth::Smtp) => prober,
    };
    let email = match check.address() {
        Some(address) => address.normalized().to_owned(),
        None => return Next::Done(check.finish(policy)),
    };
    let mx = match route {
        Some(route @ MailRoute::Hosts(_)) => Some(MxSummary::of_route(route)),
        _ => None,
    };
    Next::Probe {
        check,
        prober,
        email,
        mx,
    }
}

/// Adds what DNS found, then the mailbox layer where the core wants it and the caller and the
/// configuration allow it: one prober request per address.
async fn mailbox(
    check: Check<'_>,
    route: Option<&MailRoute>,
    depth: Depth,
    config: &Config,
    policy: &Policy,
) -> Report {
    match after_dns(check, route, depth, config, policy) {
        Next::Done(report) => report,
        Next::Probe {
            check,
            prober,
            email,
            mx,
        } => {
            let evidence = probe::probe(prober, &email, mx).await;
            check.with_mailbox(evidence).finish(policy)
        }
    }
}

/// A JSON answer that no cache on the way keeps (it holds the addresses asked about), with
/// `X-Mailvet-Cache` saying whether DNS answers came from the Worker's cache.
fn answer(body: &impl Serialize, cache: Option<CacheUse>) -> Result<Response, ApiError> {
    let mut response = Response::from_json(body)?;
    let headers = response.headers_mut();
    headers.set("Cache-Control", "no-store")?;
    if let Some(cache) = cache {
        let value = match cache {
            CacheUse::Hit => "hit",
            CacheUse::Miss => "miss",
        };
        headers.set("X-Mailvet-Cache", value)?;
    }
    Ok(response)
}

/// Reads at most [`MAX_BODY`] bytes of JSON. A body that declares a larger length is refused
/// unread ([`drain`] reads it once the error is made); a longer body without a declared length
/// (chunked) is read on to [`MAX_DRAIN`] and refused.
pub async fn json_body<T: serde::de::DeserializeOwned>(req: &mut Request) -> Result<T, ApiError> {
    if declared_length(req).is_some_and(|n| n > MAX_BODY) {
        return Err(ApiError::too_large(MAX_BODY));
    }
    let (body, seen) = read_body(req, MAX_BODY).await?;
    if seen > MAX_BODY {
        return Err(ApiError::too_large(MAX_BODY));
    }
    serde_json::from_slice(&body).map_err(|e| {
        if e.is_data() {
            ApiError::bad_request("invalid_request", format!("The body does not fit: {e}."))
        } else {
            ApiError::bad_request("invalid_json", format!("The body is not JSON: {e}."))
        }
    })
}

/// Reads what is left of the body of a request answered with an error, up to [`MAX_DRAIN`]:
/// a proxy that keeps its connection to the Worker open (wrangler dev does) may send the next
/// request over a connection whose last body was never read, and that request then fails.
pub async fn drain(req: &mut Request) {
    // A body already read, or handed on whole (a job's upload, piped into R2), has nothing
    // left; its stream is locked, and waiting on it would never end.
    if req.inner().body_used() || declared_length(req).is_some_and(|n| n > MAX_DRAIN) {
        return;
    }
    // No body, or one already read: nothing to do.
    let _ = read_body(req, 0).await;
}

pub fn declared_length(req: &Request) -> Option<usize> {
    req.headers()
        .get("Content-Length")
        .ok()
        .flatten()
        .and_then(|n| n.trim().parse().ok())
}

/// Reads the body up to [`MAX_DRAIN`] bytes and keeps its first `keep`; returns them and how
/// many bytes came (more than `keep` when the rest was dropped). Past `MAX_DRAIN` the stream is
/// cancelled.
async fn read_body(req: &mut Request, keep: usize) -> worker::Result<(Vec<u8>, usize)> {
    let mut kept = Vec::new();
    let mut seen = 0;
    if let Ok(mut chunks) = req.stream() {
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            seen += chunk.len();
            if seen > MAX_DRAIN {
                break;
            }
            if seen <= keep {
                kept.extend_from_slice(&chunk);
            }
        }
    }
    Ok((kept, seen))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_names() {
        assert_eq!(Depth::parse(None).ok(), Some(Depth::Smtp));
        assert_eq!(Depth::parse(Some("syntax")).ok(), Some(Depth::Syntax));
        assert_eq!(Depth::parse(Some("dns")).ok(), Some(Depth::Dns));
        assert_eq!(Depth::parse(Some("smtp")).ok(), Some(Depth::Smtp));
        let e = Depth::parse(Some("SMTP")).expect_err("names are lowercase");
        assert_eq!((e.status, e.code), (400, "invalid_checks"));
    }
}
