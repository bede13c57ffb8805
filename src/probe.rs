//! The client of the companion prober (`mailvet serve`): the Worker cannot open port 25, so it
//! asks the prober what the mail server says about a mailbox (ARCHITECTURE.md).
//!
//! `POST {PROBE_URL}/v1/probe` with `Authorization: Bearer PROBE_TOKEN` and a
//! `ProbeRequest`; the answer is a `ProbeResponse`. The prober never makes the request fail:
//!
//! - no answer within `PROBE_TIMEOUT_MS`: `MailboxEvidence::Timeout` without a host
//!   (`smtp_timeout`), the fetch aborted;
//! - any other failure (connection refused, a status other than 200, such as 401 for a wrong
//!   token, or a body that is no `ProbeResponse`): `MailboxEvidence::Unreachable`
//!   (`smtp_unreachable`): the mail server could not be reached through the prober.
//!
//! Both make the verdict `unknown`; the log says which failure it was.
//!
//! `PROBE_URL` may name several probers (comma-separated): a domain goes to the prober that
//! rendezvous hashing picks for it (`ProbeConfig::for_domain`), so per-host limits hold across
//! probers, and to the next when that one fails; the jobs engine sends a domain's addresses in
//! one `POST /v1/probe/batch`.

use mailvet_core::report::{MailboxEvidence, MxSummary, ProbeRequest, ProbeResponse};
#[cfg(feature = "jobs")]
use mailvet_core::report::{ProbeBatchRequest, ProbeBatchResponse};
use worker::{Fetch, Headers, Method, Request, RequestInit, Url};

use crate::config::ProbeConfig;
use crate::deadline;

pub async fn probe(
    config: &ProbeConfig,
    email: &str,
    mx: Option<Vec<MxSummary>>,
) -> MailboxEvidence {
    let body = ProbeRequest {
        email: email.to_owned(),
        mx,
    };
    let domain = email.rsplit_once('@').map_or(email, |(_, d)| d);
    // The domain's prober, then the next when one fails; a timeout is the mail server's.
    for url in config.for_domain(domain) {
        if let Some(evidence) = probe_at(config, url, &body).await {
            return evidence;
        }
    }
    MailboxEvidence::Unreachable
}

/// One probe at one prober: `None` when the prober failed (the next one may answer).
async fn probe_at(config: &ProbeConfig, url: &Url, body: &ProbeRequest) -> Option<MailboxEvidence> {
    let json = serde_json::to_string(body).ok()?;
    let request = post(url.as_str(), config, &json).ok()?;
    let answer = deadline::within(config.timeout, |signal| async move {
        let mut response = Fetch::Request(request)
            .send_with_signal(&signal)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status_code();
        if status != 200 {
            return Err(format!("HTTP status {status}"));
        }
        let response: ProbeResponse = response
            .json()
            .await
            .map_err(|e| format!("not a ProbeResponse: {e}"))?;
        Ok(response.evidence)
    })
    .await;
    match answer {
        Some(Ok(evidence)) => Some(evidence),
        Some(Err(e)) => {
            worker::console_warn!("prober failed: {e}");
            None
        }
        None => {
            worker::console_warn!("prober gave no answer in {:?}", config.timeout);
            Some(MailboxEvidence::Timeout { host: None })
        }
    }
}

/// Addresses per [`probe_batch`] request that one `PROBE_TIMEOUT_MS` is allowed for: the prober
/// shares sessions (10 recipients each by default) and opens a few per host at once.
#[cfg(feature = "jobs")]
const ADDRESSES_PER_TIMEOUT: usize = 20;
/// How often a batch is sent again when the prober answers 429 (busy), waiting as its
/// `Retry-After` says (at most 10 s).
#[cfg(feature = "jobs")]
const BUSY_ATTEMPTS: u32 = 5;

/// The addresses at one domain in one request, `POST {PROBE_URL}/v1/probe/batch`: the evidence
/// for each, in order. Failures are read as for one probe, for every address of the batch.
#[cfg(feature = "jobs")]
pub async fn probe_batch(
    config: &ProbeConfig,
    domain: &str,
    emails: Vec<String>,
    mx: Option<Vec<MxSummary>>,
) -> Vec<MailboxEvidence> {
    let count = emails.len();
    let body = ProbeBatchRequest {
        domain: domain.to_owned(),
        emails,
        mx,
    };
    let rounds = u32::try_from(count.div_ceil(ADDRESSES_PER_TIMEOUT).max(1)).unwrap_or(u32::MAX);
    let timeout = config.timeout.saturating_mul(rounds);
    let mut failure = None;
    // The domain's prober, then the next when one fails; a timeout is the mail servers'.
    for url in config.for_domain(domain) {
        match batch_at(config, url, &body, timeout).await {
            Ok(evidence) if evidence.len() == count => return evidence,
            Ok(evidence) => {
                failure = Some(format!("{} results for {count} addresses", evidence.len()));
            }
            Err(None) => {
                failure = None;
                break;
            }
            Err(Some(e)) => failure = Some(e),
        }
    }
    let evidence = match failure {
        Some(e) => {
            worker::console_warn!("prober batch for {domain} failed: {e}");
            MailboxEvidence::Unreachable
        }
        None => {
            worker::console_warn!("prober batch for {domain}: no answer in {timeout:?}");
            MailboxEvidence::Timeout { host: None }
        }
    };
    vec![evidence; count]
}

/// One batch at one prober: the evidence, or why not (`None`: no answer in time).
#[cfg(feature = "jobs")]
async fn batch_at(
    config: &ProbeConfig,
    url: &Url,
    body: &ProbeBatchRequest,
    timeout: std::time::Duration,
) -> Result<Vec<MailboxEvidence>, Option<String>> {
    let mut attempt = 1;
    loop {
        let Ok(request) = batch_request(config, url, body) else {
            return Err(Some("the request could not be made".to_owned()));
        };
        let answer = deadline::within(timeout, |signal| async move {
            let mut response = Fetch::Request(request)
                .send_with_signal(&signal)
                .await
                .map_err(|e| e.to_string())?;
            match response.status_code() {
                200 => response
                    .json::<ProbeBatchResponse>()
                    .await
                    .map(Ok)
                    .map_err(|e| format!("not a ProbeBatchResponse: {e}")),
                429 => {
                    let wait = response
                        .headers()
                        .get("Retry-After")
                        .ok()
                        .flatten()
                        .and_then(|s| s.trim().parse::<u64>().ok())
                        .unwrap_or(1)
                        .min(10);
                    Ok(Err(wait))
                }
                status => Err(format!("HTTP status {status}")),
            }
        })
        .await;
        match answer {
            Some(Ok(Ok(answer))) => {
                return Ok(answer.results.into_iter().map(|r| r.evidence).collect());
            }
            Some(Ok(Err(wait))) if attempt < BUSY_ATTEMPTS => {
                attempt += 1;
                worker::Delay::from(std::time::Duration::from_secs(wait)).await;
            }
            Some(Ok(Err(_))) => return Err(Some("the prober stayed busy (429)".to_owned())),
            Some(Err(e)) => return Err(Some(e)),
            None => return Err(None),
        }
    }
}

#[cfg(feature = "jobs")]
fn batch_request(
    config: &ProbeConfig,
    url: &Url,
    body: &ProbeBatchRequest,
) -> worker::Result<Request> {
    let url = url
        .join("probe/batch")
        .map_err(|e| worker::Error::RustError(e.to_string()))?;
    post(url.as_str(), config, &serde_json::to_string(body)?)
}

/// `POST url` to a prober with its token and a JSON body.
pub fn post(url: &str, config: &ProbeConfig, body: &str) -> worker::Result<Request> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/json")?;
    if let Some(token) = &config.token {
        headers.set("Authorization", &format!("Bearer {token}"))?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    Request::new_with_init(url, &init)
}
