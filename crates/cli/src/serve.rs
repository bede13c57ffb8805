//! `mailvet serve`: the prober as an HTTP service for the edge Worker, which cannot open port 25.
//!
//! | route | answer |
//! | --- | --- |
//! | `POST /v1/probe` with `Authorization: Bearer TOKEN` and a `ProbeRequest` | 200, a `ProbeResponse` |
//! | `POST /v1/probe/batch`, the same, with a `ProbeBatchRequest` (one domain, up to 1,000 addresses) | 200, a `ProbeBatchResponse` |
//! | `POST /v1/dnsbl`, the same, with `{"ips": […], "domain": …, "zones"?: […]}` | 200, `{"dnsbl": [entries]}` |
//! | `GET /healthz` | 200, `{"status":"ok"}`; with `--public-ip`, also what the blocklists say of it (`"status":"listed"` while listed) |
//! | `GET /metrics` | 200, Prometheus text (see [`crate::metrics`]) |
//!
//! Errors are JSON, `{"error":{"code":"…","message":"…"}}`: 400 `bad_request` (a body that is
//! no `ProbeRequest`) or `invalid_email`, 401 `unauthorized`, 404 `not_found`, 405
//! `method_not_allowed`, 413 `payload_too_large` (over [`MAX_BODY`]), 429 `too_many_requests`
//! (`--concurrency` probes already running; a batch takes a slot per session it may open at
//! once, and waits up to [`BATCH_SLOT_WAIT`] for them). A mailbox that does not exist is no error: it is
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
use mailvet_core::report::{
    MailboxEvidence, MxSummary, PROBE_BATCH_MAX, ProbeBatchRequest, ProbeBatchResponse,
    ProbeBatchResult, ProbeRequest, ProbeResponse,
};
use mailvet_core::syntax::Address;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Semaphore;

use crate::Failure;
use crate::doh::{DnsArgs, Resolver};
use crate::metrics::{Metrics, outcome_label};
use crate::plain_dns::Dns;
use crate::probe::{MailHost, Mailbox, ProbeArgs, Prober};

/// The largest request body taken. A `ProbeRequest` is an address (at most 254 octets, RFC 5321
/// §4.5.3.1.3 with RFC 3696 errata 1690) and a handful of MX hosts (255 octets each).
pub const MAX_BODY: usize = 16 * 1024;
/// The largest batch request body taken: [`PROBE_BATCH_MAX`] addresses of at most 254 octets
/// (RFC 5321 §4.5.3.1.3) in JSON, and the MX hosts.
pub const MAX_BATCH_BODY: usize = 512 * 1024;
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

    /// This prober's public address: looked up on the IP blocklists (--dnsbl) at start and every
    /// hour. While it is listed, probes stop (evidence `not_asked`, `prober_listed`: the verdict
    /// says smtp_blocked) rather than dig the hole deeper; /healthz and /metrics show the state.
    #[arg(long, value_name = "IP")]
    public_ip: Option<std::net::IpAddr>,

    /// The IP blocklists for --public-ip, comma-separated. Default: zen.spamhaus.org,
    /// b.barracudacentral.org, bl.spamcop.net, psbl.surriel.com.
    #[arg(long, value_name = "ZONE,...", value_delimiter = ',')]
    dnsbl: Vec<String>,

    /// A recursive resolver for the blocklist lookups (UDP, TCP when truncated), e.g.
    /// 127.0.0.1:53: blocklists refuse queries through public resolvers. Default: --doh.
    #[arg(long = "dnsbl-resolver", value_name = "HOST:PORT")]
    dnsbl_resolver: Option<SocketAddr>,
}

/// What the last blocklist check of `--public-ip` found.
#[derive(Debug, Default)]
struct SelfCheck {
    /// Unix seconds of the last check; 0 before the first.
    checked_at: u64,
    entries: Vec<mailvet_core::sender::dnsbl::Entry>,
}

impl SelfCheck {
    /// The lists that list the prober.
    fn listed(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|e| e.status == mailvet_core::sender::dnsbl::Status::Listed)
            .map(|e| e.zone.as_str())
            .collect()
    }
}

/// How often `--public-ip` is looked up again.
const SELF_CHECK_EVERY: Duration = Duration::from_secs(3600);

struct State {
    token: String,
    prober: Prober,
    resolver: Arc<Resolver>,
    metrics: Arc<Metrics>,
    /// One permit per probe allowed to run.
    slots: Arc<Semaphore>,
    /// How many permits there are.
    concurrency: usize,
    /// `--per-host` and `--rcpt-per-session`: how many sessions a batch can have open at once.
    per_host: usize,
    rcpt_per_session: usize,
    /// `--public-ip` and what the blocklists say about it.
    public_ip: Option<std::net::IpAddr>,
    self_check: std::sync::RwLock<SelfCheck>,
    /// Where blocklist queries go (`--dnsbl-resolver`, else the DoH resolver).
    dnsbl_dns: Dns,
    /// The IP lists of `--dnsbl` (or the defaults), for `--public-ip` and `POST /v1/dnsbl`.
    ip_lists: Vec<String>,
}

impl State {
    /// The slots a batch of `count` addresses at one domain takes: one per session it can have
    /// open at once (its addresses share sessions of `--rcpt-per-session` recipients, at most
    /// `--per-host` at a time), as a single probe takes one.
    fn batch_slots(&self, count: usize) -> usize {
        count
            .div_ceil(self.rcpt_per_session.max(1))
            .min(self.per_host)
            .clamp(1, self.concurrency)
    }

    /// Whether the prober is on a blocklist, so that probes must not go out.
    fn listed(&self) -> bool {
        !self
            .self_check
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .listed()
            .is_empty()
    }
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
    let (per_host, rcpt_per_session) = (config.per_host, config.rcpt_per_session);
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
            concurrency,
            per_host,
            rcpt_per_session,
            public_ip: args.public_ip,
            self_check: std::sync::RwLock::default(),
            dnsbl_dns: match args.dnsbl_resolver {
                Some(server) => Dns::Plain {
                    server,
                    timeout: Duration::from_secs(5),
                },
                None => Dns::Doh(args.dns.resolver()?),
            },
            ip_lists: if args.dnsbl.is_empty() {
                mailvet_core::sender::dnsbl::DEFAULT_IP_LISTS
                    .iter()
                    .map(|&z| z.to_owned())
                    .collect()
            } else {
                args.dnsbl.clone()
            },
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
        if let Some(ip) = args.public_ip {
            // The first check before the first connection is accepted (they wait in the
            // listen queue): no probe goes out from a listed address.
            check_self(&state, ip).await;
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(SELF_CHECK_EVERY).await;
                    check_self(&state, ip).await;
                }
            });
        }
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

/// Looks `ip` up on `zones` and keeps what they say; logs when being listed starts or ends.
async fn check_self(state: &State, ip: std::net::IpAddr) {
    use mailvet_core::sender::dnsbl;
    let entries = look_up(state, &[ip], None, &state.ip_lists, &[]).await;
    let checked_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let before = state.listed();
    let check = SelfCheck {
        checked_at,
        entries,
    };
    let now: Vec<String> = check.listed().iter().map(|z| (*z).to_owned()).collect();
    for entry in &check.entries {
        if entry.status == dnsbl::Status::Refused || entry.status == dnsbl::Status::Error {
            eprintln!(
                "mailvet serve: blocklist {} gave no answer for {ip}: {}",
                entry.zone, entry.meaning
            );
        }
    }
    *state
        .self_check
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = check;
    match (before, now.is_empty()) {
        (false, false) => eprintln!(
            "mailvet serve: {ip} is listed on {}; probes stop until it is not (mail servers that use these lists refuse this prober)",
            now.join(", ")
        ),
        (true, true) => eprintln!("mailvet serve: {ip} is no longer listed; probes go on"),
        _ => {}
    }
}

/// What the blocklists say of `ips` (on `ip_lists`) and `domain` (on `domain_lists`), in
/// that order.
async fn look_up(
    state: &State,
    ips: &[std::net::IpAddr],
    domain: Option<&str>,
    ip_lists: &[String],
    domain_lists: &[String],
) -> Vec<mailvet_core::sender::dnsbl::Entry> {
    use mailvet_core::sender::dnsbl;
    use mailvet_core::sender::spf::QueryType;
    let mut entries = Vec::new();
    for zone in ip_lists {
        for ip in ips {
            let answer = state
                .dnsbl_dns
                .answer(&dnsbl::ip_query_name(*ip, zone), QueryType::A)
                .await;
            entries.push(dnsbl::decode(zone, &ip.to_string(), &answer));
        }
    }
    if let Some(domain) = domain {
        for zone in domain_lists {
            let answer = state
                .dnsbl_dns
                .answer(&dnsbl::domain_query_name(domain, zone), QueryType::A)
                .await;
            entries.push(dnsbl::decode(zone, domain, &answer));
        }
    }
    entries
}

/// The body of `POST /v1/dnsbl`.
#[derive(Debug, serde::Deserialize)]
struct DnsblRequest {
    #[serde(default)]
    ips: Vec<std::net::IpAddr>,
    #[serde(default)]
    domain: Option<String>,
    /// Zones to ask instead of the prober's (`--dnsbl`) and the default domain lists.
    #[serde(default)]
    zones: Option<Vec<String>>,
}

/// The most addresses one `POST /v1/dnsbl` may ask about.
const DNSBL_MAX_IPS: usize = 20;

/// `POST /v1/dnsbl` with `{"ips": […], "domain": …, "zones"?: […]}`: what the blocklists say,
/// asked through the prober's own resolver (lists refuse the Worker's public DoH resolvers).
async fn dnsbl(state: &State, request: Request<Incoming>) -> Answer {
    use mailvet_core::sender::dnsbl;
    let body = match authorized_body(state, request, MAX_BODY).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let asked: DnsblRequest =
        match json_of(&body, "a blocklist request ({\"ips\": […], \"domain\": …})") {
            Ok(asked) => asked,
            Err(answer) => return *answer,
        };
    if asked.ips.len() > DNSBL_MAX_IPS {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            &format!("Ask about at most {DNSBL_MAX_IPS} addresses at a time."),
        );
    }
    let domain = match asked
        .domain
        .as_deref()
        .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
    {
        Some(domain) => match mailvet_core::syntax::parse(&format!("postmaster@{domain}")) {
            Ok(address) if address.address_literal().is_none() => {
                Some(address.ascii_domain().to_owned())
            }
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_domain",
                    "The domain is not a domain name.",
                );
            }
        },
        None => None,
    };
    let (ip_lists, domain_lists): (Vec<String>, Vec<String>) = match asked.zones {
        Some(zones) => zones.into_iter().partition(|z| !dnsbl::is_domain_list(z)),
        None => (
            state.ip_lists.clone(),
            dnsbl::DEFAULT_DOMAIN_LISTS
                .iter()
                .map(|&z| z.to_owned())
                .collect(),
        ),
    };
    let entries = look_up(
        state,
        &asked.ips,
        domain.as_deref(),
        &ip_lists,
        &domain_lists,
    )
    .await;
    json_answer(StatusCode::OK, json!({ "dnsbl": entries }))
}

/// `/healthz`: ok, and with `--public-ip` what the blocklists say.
fn health(state: &State) -> Answer {
    let Some(ip) = state.public_ip else {
        return json_answer(StatusCode::OK, json!({"status": "ok"}));
    };
    let check = state
        .self_check
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let listed = check.listed();
    json_answer(
        StatusCode::OK,
        json!({
            "status": if listed.is_empty() { "ok" } else { "listed" },
            "public_ip": ip,
            "checked_at": check.checked_at,
            "listed": listed,
            "dnsbl": check.entries,
        }),
    )
}

/// The evidence of a probe that does not go out: the prober is listed.
fn listed_evidence() -> MailboxEvidence {
    MailboxEvidence::NotAsked {
        host: None,
        why: mailvet_core::report::NotAsked::ProberListed,
    }
}

async fn handle(state: &State, request: Request<Incoming>) -> Answer {
    let path = request.uri().path();
    match (request.method(), path) {
        (&Method::GET, "/healthz") => health(state),
        (&Method::GET, "/metrics") => {
            let mut text = state.metrics.render();
            let check = state
                .self_check
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !check.entries.is_empty() {
                text.push_str(
                    "# HELP mailvet_prober_listed Whether --public-ip is on the blocklist.\n",
                );
                text.push_str("# TYPE mailvet_prober_listed gauge\n");
                for entry in &check.entries {
                    let listed = entry.status == mailvet_core::sender::dnsbl::Status::Listed;
                    text.push_str(&format!(
                        "mailvet_prober_listed{{zone=\"{}\"}} {}\n",
                        entry.zone,
                        u8::from(listed)
                    ));
                }
            }
            drop(check);
            let mut answer = Response::new(Full::new(Bytes::from(text)));
            answer.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            answer
        }
        (&Method::POST, "/v1/probe") => probe(state, request).await,
        (&Method::POST, "/v1/probe/batch") => probe_batch(state, request).await,
        (&Method::POST, "/v1/dnsbl") => dnsbl(state, request).await,
        (_, "/v1/dnsbl") => method_not_allowed("POST"),
        (_, "/v1/probe/batch") => method_not_allowed("POST"),
        (_, "/healthz" | "/metrics") => method_not_allowed("GET"),
        (_, "/v1/probe") => method_not_allowed("POST"),
        _ => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is nothing at this path.",
        ),
    }
}

/// The body of an authorized request of at most `max` bytes, or the error answer.
async fn authorized_body(
    state: &State,
    request: Request<Incoming>,
    max: usize,
) -> Result<Bytes, Answer> {
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
        return Err(answer);
    }
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large(max));
    }
    match Limited::new(request.into_body(), max).collect().await {
        Ok(body) => Ok(body.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large(max)),
        Err(_) => Err(error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "The request body could not be read.",
        )),
    }
}

/// The request body read as `T`, or the answer 400 `bad_request` saying it is not `what`.
fn json_of<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, Box<Answer>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            &format!("The body is not {what}: {e}."),
        ))
    })
}

/// `count` of the `--concurrency` probe slots, if they are free.
fn slots(state: &State, count: usize) -> Option<tokio::sync::OwnedSemaphorePermit> {
    let count = u32::try_from(count).unwrap_or(u32::MAX).max(1);
    Arc::clone(&state.slots).try_acquire_many_owned(count).ok()
}

/// How long a batch waits for its probe slots before it is answered 429.
const BATCH_SLOT_WAIT: Duration = Duration::from_secs(20);

/// 429: no free probe slots.
fn busy() -> Answer {
    let mut answer = error(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
        "The prober is busy; try again shortly.",
    );
    answer
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    answer
}

/// The mail hosts of `address`: the literal, the ones the Worker sent, or looked up here.
async fn hosts_of(state: &State, address: &Address, mx: Option<Vec<MxSummary>>) -> Vec<MailHost> {
    match (address.address_literal(), mx) {
        (Some(ip), _) => vec![MailHost::literal(ip, address.domain())],
        (None, Some(mx)) if !mx.is_empty() => MailHost::from_summaries(&mx),
        (None, _) => match state.resolver.route(address.ascii_domain()).await {
            MailRoute::Hosts(hosts) => MailHost::from_route(&hosts),
            _ => Vec::new(),
        },
    }
}

async fn probe(state: &State, request: Request<Incoming>) -> Answer {
    let body = match authorized_body(state, request, MAX_BODY).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let Some(_slot) = slots(state, 1) else {
        return busy();
    };
    let asked: ProbeRequest = match json_of(&body, "a probe request ({\"email\": …, \"mx\": […]})")
    {
        Ok(asked) => asked,
        Err(answer) => return *answer,
    };
    let address = match mailvet_core::syntax::parse(&asked.email) {
        Ok(address) => address,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_email", e.message()),
    };
    let domain = address.ascii_domain().to_owned();
    let started = tokio::time::Instant::now();
    let evidence = if state.listed() {
        listed_evidence()
    } else {
        let hosts = hosts_of(state, &address, asked.mx).await;
        state.prober.probe(Mailbox::new(&address), hosts).await
    };
    log_probe(&domain, &evidence, started.elapsed());
    json_answer(StatusCode::OK, json!(ProbeResponse { evidence }))
}

/// `POST /v1/probe/batch`: many addresses at one domain, probed together so that they share
/// sessions (the prober's queue per domain, up to `--rcpt-per-session` recipients each); one
/// result per address, in order. Takes as many probe slots as addresses, at most all of them.
async fn probe_batch(state: &State, request: Request<Incoming>) -> Answer {
    let body = match authorized_body(state, request, MAX_BATCH_BODY).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let asked: ProbeBatchRequest = match json_of(
        &body,
        "a batch probe request ({\"domain\": …, \"emails\": […], \"mx\": […]})",
    ) {
        Ok(asked) => asked,
        Err(answer) => return *answer,
    };
    if asked.emails.is_empty() || asked.emails.len() > PROBE_BATCH_MAX {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            &format!("A batch has from 1 to {PROBE_BATCH_MAX} addresses."),
        );
    }
    // The domain as its addresses have it: A-labels, lowercase.
    let wanted = match mailvet_core::syntax::parse(&format!("postmaster@{}", asked.domain)) {
        Ok(address) => address.ascii_domain().to_owned(),
        Err(e) => {
            let message = format!("The domain of the batch: {}", e.message());
            return error(StatusCode::BAD_REQUEST, "invalid_email", &message);
        }
    };
    let mut addresses = Vec::with_capacity(asked.emails.len());
    for (i, email) in asked.emails.iter().enumerate() {
        let address = match mailvet_core::syntax::parse(email) {
            Ok(address) => address,
            Err(e) => {
                let message = format!("Address {} of the batch: {}", i + 1, e.message());
                return error(StatusCode::BAD_REQUEST, "invalid_email", &message);
            }
        };
        if address.ascii_domain() != wanted {
            let message = format!(
                "Address {} of the batch is not at {}: a batch is one domain.",
                i + 1,
                asked.domain
            );
            return error(StatusCode::BAD_REQUEST, "invalid_email", &message);
        }
        addresses.push(address);
    }
    // A batch is bulk work: it waits a while for its slots rather than being turned away at once.
    let wanted = u32::try_from(state.batch_slots(addresses.len())).unwrap_or(1);
    let waited = tokio::time::timeout(
        BATCH_SLOT_WAIT,
        Arc::clone(&state.slots).acquire_many_owned(wanted),
    )
    .await;
    let Ok(Ok(_slots)) = waited else {
        return busy();
    };
    let Some(first) = addresses.first() else {
        return error(StatusCode::BAD_REQUEST, "bad_request", "An empty batch.");
    };
    if state.listed() {
        let results = asked
            .emails
            .into_iter()
            .map(|email| ProbeBatchResult {
                email,
                evidence: listed_evidence(),
            })
            .collect();
        return json_answer(StatusCode::OK, json!(ProbeBatchResponse { results }));
    }
    let hosts = hosts_of(state, first, asked.mx).await;
    let domain = first.ascii_domain().to_owned();
    let started = tokio::time::Instant::now();
    // Each probe on a task of its own: the prober's per-domain queue lets them share sessions.
    let probes: Vec<_> = addresses
        .iter()
        .map(|address| {
            let (prober, hosts, mailbox) =
                (state.prober.clone(), hosts.clone(), Mailbox::new(address));
            tokio::spawn(async move { prober.probe(mailbox, hosts).await })
        })
        .collect();
    let mut results = Vec::with_capacity(probes.len());
    for (email, probe) in asked.emails.into_iter().zip(probes) {
        // A task ends only by returning, or by a panic, which leaves no answer.
        let evidence = probe.await.unwrap_or(MailboxEvidence::Unreachable);
        log_probe(&domain, &evidence, started.elapsed());
        results.push(ProbeBatchResult { email, evidence });
    }
    json_answer(StatusCode::OK, json!(ProbeBatchResponse { results }))
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

fn too_large(max: usize) -> Answer {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &format!("The request body is larger than {max} bytes."),
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
