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

use mailvet_core::report::{MailboxEvidence, MxSummary, ProbeRequest, ProbeResponse};
use worker::{Fetch, Headers, Method, Request, RequestInit};

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
    let Ok(request) = request(config, &body) else {
        return MailboxEvidence::Unreachable;
    };
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
        Some(Ok(evidence)) => evidence,
        Some(Err(e)) => {
            worker::console_warn!("prober failed: {e}");
            MailboxEvidence::Unreachable
        }
        None => {
            worker::console_warn!("prober gave no answer in {:?}", config.timeout);
            MailboxEvidence::Timeout { host: None }
        }
    }
}

fn request(config: &ProbeConfig, body: &ProbeRequest) -> worker::Result<Request> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/json")?;
    if let Some(token) = &config.token {
        headers.set("Authorization", &format!("Bearer {token}"))?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(serde_json::to_string(body)?.into()));
    Request::new_with_init(config.url.as_str(), &init)
}
