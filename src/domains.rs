//! `GET /v1/domains/{name}?ip=…&dkim_selector=…`: the sender health of a domain, the same report
//! as `mailvet domain` (`mailvet_core::sender::domain`): its DNS asked over DoH, the MTA-STS
//! policy over `fetch`. Blocklists refuse public resolvers, so their part is asked of the prober
//! (`POST {PROBE_URL}/v1/dnsbl`); without a prober the report says they were not checked, and
//! why. The Worker cannot open port 25, so each MX host's STARTTLS is `null` (not asked) here.

use std::net::IpAddr;
use std::time::Duration;

use mailvet_core::sender::dnsbl::Entry;
use mailvet_core::sender::domain::{self, Blocklists, DomainReport, Net, Options};
use mailvet_core::sender::spf::{Answer, QueryType};
use serde::{Deserialize, Serialize};
use worker::{Fetch, Request, RequestInit, RequestRedirect, Response};

use crate::config::{Config, ProbeConfig};
use crate::deadline;
use crate::doh::Resolver;
use crate::error::ApiError;
use crate::probe;

/// The most `ip` and `dkim_selector` parameters one request may give.
const MAX_IPS: usize = 10;
const MAX_SELECTORS: usize = 10;
/// The largest MTA-STS policy read: RFC 8461 §3.3 has senders stop at 64 KiB.
const MAX_POLICY: usize = 64 * 1024;
/// How long the MTA-STS policy fetch may take.
const HTTPS_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn check(req: &Request, name: &str, config: &Config) -> Result<Response, ApiError> {
    let domain = domain_name(&percent_decoded(name))?;
    let url = req.url()?;
    let mut ips = Vec::new();
    let mut selectors = Vec::new();
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "ip" => ips.push(value.into_owned()),
            "dkim_selector" => selectors.push(value.into_owned()),
            _ => {}
        }
    }
    let (ips, selectors) = parameters(&ips, &selectors)?;
    let report = report(&domain, ips, selectors, config).await;
    Ok(Response::from_json(&report)?)
}

/// A domain as the user gave it (Unicode or A-labels, any case, a final dot) in A-labels,
/// lowercase; else `invalid_domain`.
pub fn domain_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim().trim_end_matches('.');
    // The domain as the syntax layer reads one.
    let address = mailvet_core::syntax::parse(&format!("postmaster@{name}")).map_err(|_| {
        ApiError::bad_request(
            "invalid_domain",
            format!("{name:?} is not a domain name: give one like example.com."),
        )
    })?;
    if address.address_literal().is_some() {
        return Err(ApiError::bad_request(
            "invalid_domain",
            "Give a domain name, not an address literal.",
        ));
    }
    Ok(address.ascii_domain().to_owned())
}

/// Sending addresses and DKIM selectors as given: read, checked and counted (`invalid_ip`,
/// `invalid_dkim_selector`, `too_many_parameters`).
pub fn parameters(
    ips: &[String],
    selectors: &[String],
) -> Result<(Vec<IpAddr>, Vec<String>), ApiError> {
    if ips.len() > MAX_IPS || selectors.len() > MAX_SELECTORS {
        return Err(ApiError::bad_request(
            "too_many_parameters",
            format!("Give at most {MAX_IPS} ip and {MAX_SELECTORS} dkim_selector parameters."),
        ));
    }
    let ips = ips
        .iter()
        .map(|value| {
            value.trim().parse::<IpAddr>().map_err(|_| {
                ApiError::bad_request(
                    "invalid_ip",
                    format!("ip={value} is not an IPv4 or IPv6 address."),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let selectors = selectors
        .iter()
        .map(|value| {
            let selector = value.trim();
            let valid = !selector.is_empty()
                && selector.len() <= 63
                && selector
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
            if valid {
                Ok(selector.to_owned())
            } else {
                Err(ApiError::bad_request(
                    "invalid_dkim_selector",
                    format!(
                        "dkim_selector={value} is not a selector: letters, digits, '-', '_' and '.' (RFC 6376 §3.1)."
                    ),
                ))
            }
        })
        .collect::<Result<_, _>>()?;
    Ok((ips, selectors))
}

/// The sender-health report of `domain` (A-labels): DNS over DoH, MTA-STS over `fetch`, the
/// blocklists through the prober when there is one.
pub async fn report(
    domain: &str,
    ips: Vec<IpAddr>,
    selectors: Vec<String>,
    config: &Config,
) -> DomainReport {
    let net = Edge {
        resolver: Resolver::new(&config.doh, config.doh_timeout),
    };
    let options = Options {
        ips,
        selectors,
        blocklists: Blocklists::Skip(
            "Blocklists refuse queries that come through public resolvers, and this deployment has no prober (PROBE_URL) to ask them."
                .to_owned(),
        ),
        now: worker::Date::now().as_millis() / 1000,
    };
    let mut report = domain::check(domain, &options, &net).await;
    if let Some(prober) = &config.probe {
        blocklists(prober, &options.ips, &mut report).await;
    }
    report
}

/// The core's network for the checks: DoH through the Worker's resolver (and its cache), HTTPS
/// through `fetch`.
struct Edge<'a> {
    resolver: Resolver<'a>,
}

impl Net for Edge<'_> {
    async fn dns(&self, name: String, kind: QueryType) -> Answer {
        let message = self.resolver.query(&name, kind.record_type()).await;
        Answer::from_message(&name, kind, message.as_ref())
    }

    async fn https(&self, url: String) -> Result<Vec<u8>, String> {
        let answer = deadline::within(HTTPS_TIMEOUT, |signal| async move {
            let mut init = RequestInit::new();
            // RFC 8461 §3.3: redirects are not followed.
            init.with_redirect(RequestRedirect::Manual);
            let request = Request::new_with_init(&url, &init).map_err(|e| e.to_string())?;
            let mut response = Fetch::Request(request)
                .send_with_signal(&signal)
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            let status = response.status_code();
            if status != 200 {
                return Err(format!("{url} answered HTTP {status}, not 200"));
            }
            let body = response.bytes().await.map_err(|e| e.to_string())?;
            if body.len() > MAX_POLICY {
                return Err(format!("{url} is over {MAX_POLICY} bytes"));
            }
            Ok(body)
        })
        .await;
        answer.unwrap_or_else(|| Err(format!("no answer within {HTTPS_TIMEOUT:?}")))
    }
}

#[derive(Serialize)]
struct DnsblRequest<'a> {
    ips: &'a [IpAddr],
    domain: &'a str,
}

#[derive(Deserialize)]
struct DnsblResponse {
    dnsbl: Vec<Entry>,
}

/// Asks the prober's `POST /v1/dnsbl` about the sending and mail-host addresses and the domain;
/// a prober that fails leaves the blocklists not checked, with the reason.
async fn blocklists(prober: &ProbeConfig, ips: &[IpAddr], report: &mut DomainReport) {
    let targets = domain::dnsbl_targets(ips, report.mx.iter().map(|m| m.addresses.as_slice()));
    let body = DnsblRequest {
        ips: &targets,
        domain: &report.domain,
    };
    match ask_prober(prober, &body).await {
        Ok(answer) => report.add_dnsbl(answer.dnsbl),
        Err(e) => {
            worker::console_warn!("prober dnsbl for {}: {e}", report.domain);
            report.skip_dnsbl(format!(
                "The prober, which asks the blocklists, did not answer: {e}."
            ));
        }
    }
}

async fn ask_prober(
    prober: &ProbeConfig,
    body: &DnsblRequest<'_>,
) -> worker::Result<DnsblResponse> {
    // The domain's own prober, as its probes go.
    let Some(first) = prober.for_domain(body.domain).first().copied() else {
        return Err(worker::Error::RustError(
            "PROBE_URL names no prober".to_owned(),
        ));
    };
    let url = first
        .join("dnsbl")
        .map_err(|e| worker::Error::RustError(e.to_string()))?;
    let request = probe::post(url.as_str(), prober, &serde_json::to_string(body)?)?;
    let answer = deadline::within(prober.timeout, |signal| async move {
        let mut response = Fetch::Request(request).send_with_signal(&signal).await?;
        match response.status_code() {
            200 => response.json::<DnsblResponse>().await,
            status => Err(worker::Error::RustError(format!("HTTP status {status}"))),
        }
    })
    .await;
    answer.unwrap_or_else(|| {
        Err(worker::Error::RustError(format!(
            "no answer within {:?}",
            prober.timeout
        )))
    })
}

/// A path segment with its %XX escapes decoded (an IDN domain comes as UTF-8 escapes); bytes
/// that are not UTF-8 become U+FFFD, and the name then fails the syntax check.
pub fn percent_decoded(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
