//! `mailvet serve`: the prober as an HTTP service for the edge Worker, which cannot open port 25.
//!
//! | route | answer |
//! | --- | --- |
//! | `POST /v1/probe` with `Authorization: Bearer TOKEN` and a `ProbeRequest` | 200, a `ProbeResponse` |
//! | `GET /healthz` | 200, `{"status":"ok"}` |
//! | `GET /metrics` | 200, Prometheus text (see [`crate::metrics`]) |
//!
//! Errors are JSON, `{"error":{"code":"…","message":"…"}}`: 400 `bad_request` (a body that is
//! no `ProbeRequest`) or `invalid_email`, 401 `unauthorized`, 404 `not_found`, 405
//! `method_not_allowed`, 413 `payload_too_large` (over [`MAX_BODY`]), 429 `too_many_requests`
//! (`--concurrency` probes already running). A mailbox that does not exist is no error: it is
//! evidence, like every other answer of a mail server.
//!
//! A request without `mx` (or with an empty one) has its MX hosts looked up here; a domain that
//! has none is `unreachable`. Log lines on standard error name the domain, never the address.
//! SIGTERM or SIGINT stops accepting connections and lets the probes in flight finish.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    ALLOW, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use mailvet_core::auth;
use mailvet_core::dns::MailRoute;
use mailvet_core::report::{MailboxEvidence, ProbeRequest, ProbeResponse};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Semaphore;

use crate::Failure;
use crate::doh::{DnsArgs, Resolver};
use crate::metrics::{Metrics, outcome_label};
use crate::probe::{MailHost, Mailbox, ProbeArgs, Prober};

/// The largest request body taken. A `ProbeRequest` is an address (at most 254 octets, RFC 5321
/// §4.5.3.1.3 with RFC 3696 errata 1690) and a handful of MX hosts (255 octets each).
pub const MAX_BODY: usize = 16 * 1024;
/// How long a client has to send its request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The shortest token accepted: a token is a shared secret, not a password to remember.
const MIN_TOKEN: usize = 16;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen. Port 0 takes a free port; the address is printed on standard error.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8025")]
    listen: SocketAddr,

    /// The bearer token the Worker sends (its PROBE_TOKEN), at least 16 characters. Better given
    /// as MAILVET_TOKEN in the environment, which keeps it out of the process list.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "MAILVET_TOKEN",
        hide_env_values = true
    )]
    token: String,

    /// How many probes may run at once; a request beyond that is answered 429.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=4096))]
    concurrency: u16,

    #[command(flatten)]
    dns: DnsArgs,

    #[command(flatten)]
    probe: ProbeArgs,
}

struct State {
    token: String,
    prober: Prober,
    resolver: Arc<Resolver>,
    metrics: Arc<Metrics>,
    /// One permit per probe allowed to run.
    slots: Arc<Semaphore>,
}

/// Runs `mailvet serve` until SIGTERM or SIGINT.
pub fn run(args: ServeArgs) -> Result<ExitCode, Failure> {
    if args.token.chars().count() < MIN_TOKEN {
        return Err(Failure(format!(
            "--token must be at least {MIN_TOKEN} characters"
        )));
    }
    let concurrency = usize::from(args.concurrency);
    let resolver = Arc::new(args.dns.resolver()?);
    let metrics = Arc::new(Metrics::default());
    let config = args.probe.config(concurrency)?;
    let deadline = config.deadline;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure(format!("starting the async runtime: {e}")))?;
    runtime.block_on(async move {
        let prober = Prober::new(config, Arc::clone(&resolver), Arc::clone(&metrics))?;
        let state = Arc::new(State {
            token: args.token,
            prober,
            resolver,
            metrics,
            slots: Arc::new(Semaphore::new(concurrency)),
        });
        let listener = TcpListener::bind(args.listen)
            .await
            .map_err(|e| Failure(format!("cannot listen on {}: {e}", args.listen)))?;
        let local = listener
            .local_addr()
            .map_err(|e| Failure(format!("cannot listen on {}: {e}", args.listen)))?;
        let mut terminate = signal(SignalKind::terminate())
            .map_err(|e| Failure(format!("cannot handle SIGTERM: {e}")))?;
        let mut interrupt = signal(SignalKind::interrupt())
            .map_err(|e| Failure(format!("cannot handle SIGINT: {e}")))?;
        eprintln!("mailvet serve: listening on http://{local}");
        let graceful = GracefulShutdown::new();
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = terminate.recv() => break,
                _ = interrupt.recv() => break,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, most likely: let some connections end.
                    eprintln!("mailvet serve: accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let state = Arc::clone(&state);
            let service = service_fn(move |request| {
                let state = Arc::clone(&state);
                async move { Ok::<_, Infallible>(handle(&state, request).await) }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                let _ = connection.await;
            });
        }
        drop(listener);
        eprintln!("mailvet serve: stopping; waiting for the probes in flight");
        // Probes end by their deadline; the margin covers writing the answers.
        let bound = deadline + Duration::from_secs(2);
        if tokio::time::timeout(bound, graceful.shutdown())
            .await
            .is_err()
        {
            eprintln!("mailvet serve: connections still open after {bound:?}; closing them");
        }
        state.prober.finish().await;
        eprintln!("mailvet serve: stopped");
        Ok(ExitCode::SUCCESS)
    })
}

type Answer = Response<Full<Bytes>>;

async fn handle(state: &State, request: Request<Incoming>) -> Answer {
    let path = request.uri().path();
    match (request.method(), path) {
        (&Method::GET, "/healthz") => json_answer(StatusCode::OK, json!({"status": "ok"})),
        (&Method::GET, "/metrics") => {
            let mut answer = Response::new(Full::new(Bytes::from(state.metrics.render())));
            answer.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            answer
        }
        (&Method::POST, "/v1/probe") => probe(state, request).await,
        (_, "/healthz" | "/metrics") => method_not_allowed("GET"),
        (_, "/v1/probe") => method_not_allowed("POST"),
        _ => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is nothing at this path.",
        ),
    }
}

async fn probe(state: &State, request: Request<Incoming>) -> Answer {
    if !authorized(request.headers(), &state.token) {
        let mut answer = error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "A valid bearer token is required.",
        );
        // RFC 6750 §3.
        answer
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return answer;
    }
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return too_large();
    }
    let Ok(_slot) = Arc::clone(&state.slots).try_acquire_owned() else {
        let mut answer = error(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "The prober is busy; try again shortly.",
        );
        answer
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        return answer;
    };
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return too_large(),
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "The request body could not be read.",
            );
        }
    };
    let asked: ProbeRequest = match serde_json::from_slice(&body) {
        Ok(asked) => asked,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                &format!("The body is not a probe request ({{\"email\": …, \"mx\": […]}}): {e}."),
            );
        }
    };
    let address = match mailvet_core::syntax::parse(&asked.email) {
        Ok(address) => address,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_email", e.message()),
    };
    let domain = address.ascii_domain().to_owned();
    let hosts = match (address.address_literal(), asked.mx) {
        (Some(ip), _) => vec![MailHost::literal(ip, address.domain())],
        (None, Some(mx)) if !mx.is_empty() => MailHost::from_summaries(&mx),
        (None, _) => match state.resolver.route(&domain).await {
            MailRoute::Hosts(hosts) => MailHost::from_route(&hosts),
            _ => Vec::new(),
        },
    };
    let started = tokio::time::Instant::now();
    let evidence = state.prober.probe(Mailbox::new(&address), hosts).await;
    log_probe(&domain, &evidence, started.elapsed());
    json_answer(StatusCode::OK, json!(ProbeResponse { evidence }))
}

/// One line per probe; the domain only, never the local part.
fn log_probe(domain: &str, evidence: &MailboxEvidence, took: Duration) {
    let (host, tls) = match evidence {
        MailboxEvidence::Answered { host, tls, .. } => (Some(host.as_str()), *tls),
        MailboxEvidence::Timeout { host } | MailboxEvidence::NotAsked { host, .. } => {
            (host.as_deref(), false)
        }
        MailboxEvidence::Unreachable => (None, false),
    };
    eprintln!(
        "probe domain={domain} outcome={} host={} tls={tls} ms={}",
        outcome_label(evidence),
        host.unwrap_or("-"),
        took.as_millis()
    );
}

/// `Authorization: Bearer TOKEN`, read and compared by the core's rules.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(auth::bearer_token)
        .is_some_and(|given| auth::same_secret(given.as_bytes(), token.as_bytes()))
}

fn json_answer(status: StatusCode, body: serde_json::Value) -> Answer {
    let mut answer = Response::new(Full::new(Bytes::from(body.to_string())));
    *answer.status_mut() = status;
    answer
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    answer
}

fn error(status: StatusCode, code: &str, message: &str) -> Answer {
    json_answer(status, json!({"error": {"code": code, "message": message}}))
}

fn too_large() -> Answer {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &format!("The request body is larger than {MAX_BODY} bytes."),
    )
}

fn method_not_allowed(allowed: &'static str) -> Answer {
    let mut answer = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        &format!("This path answers {allowed} only."),
    );
    // RFC 9110 §15.5.6: a 405 names the methods the resource supports.
    answer
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allowed));
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bearer_token_authorizes() {
        let token = "0123456789abcdef";
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, HeaderValue::from_static(value));
            authorized(&headers, token)
        };
        assert!(with("Bearer 0123456789abcdef"));
        assert!(with("bearer 0123456789abcdef"));
        assert!(!with("Basic 0123456789abcdef"));
        assert!(!with("Bearer 0123456789abcdeg"));
        assert!(!with("Bearer"));
        assert!(!authorized(&HeaderMap::new(), token));
    }
}
