//! The Worker's configuration, read from its environment (wrangler.toml `[vars]`, `--var`,
//! secrets). README.md and `src/openapi.json` describe each variable.

use std::collections::BTreeMap;
use std::time::Duration;

use worker::{Env, Url};

use crate::error::ApiError;

/// Used when `DOH_URL` is not set (a wrangler environment without `[vars]`): Cloudflare, then
/// Google, as in wrangler.toml.
const DEFAULT_DOH: &str = "https://cloudflare-dns.com/dns-query,https://dns.google/dns-query";
/// How long one DoH request may take before the next endpoint is tried: public resolvers
/// answer from cache in milliseconds, but resolving a cold name can take a second or two.
const DEFAULT_DOH_TIMEOUT: Duration = Duration::from_millis(3_000);
/// How long the prober may take for one address; SMTP servers that tarpit take longer, and the
/// prober has deadlines of its own below this.
const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_millis(20_000);
/// No timeout may exceed this: a request must end.
const MAX_TIMEOUT_MS: u64 = 120_000;
/// How long a job's rows and upload are kept after it ends (the README's Privacy section).
#[cfg(feature = "jobs")]
const DEFAULT_RETENTION_DAYS: u32 = 30;
/// How long a chunk of a job may take before the sweeper sends it again: a chunk of addresses
/// probed one domain after another against slow mail servers takes minutes.
#[cfg(feature = "jobs")]
const DEFAULT_CHUNK_DEADLINE_SECONDS: u32 = 600;

#[derive(Debug)]
pub struct Config {
    /// RFC 8484 endpoints, tried in order.
    pub doh: Vec<Url>,
    pub doh_timeout: Duration,
    pub probe: Option<ProbeConfig>,
    pub keys: Keys,
    #[cfg(feature = "jobs")]
    pub jobs: JobsConfig,
}

/// The jobs engine (src/jobs).
#[cfg(feature = "jobs")]
#[derive(Debug)]
pub struct JobsConfig {
    /// `JOB_RETENTION_DAYS`.
    pub retention_days: u32,
    /// `CHUNK_DEADLINE_SECONDS`.
    pub chunk_deadline_seconds: u32,
    /// `ALLOW_PRIVATE_WEBHOOKS=true`: webhooks may go to `http` and private hosts.
    pub allow_private_webhooks: bool,
    /// `WEBHOOK_RETRY_CAP_SECONDS`: no wait of the retry schedule is longer (for staging and
    /// tests, which cannot wait 5 minutes for a third attempt); unset: the schedule as it is.
    pub webhook_retry_cap: Option<u32>,
}

#[derive(Debug)]
pub struct ProbeConfig {
    /// `{PROBE_URL}/v1/probe` of each prober `PROBE_URL` names (comma-separated), in its order.
    pub urls: Vec<Url>,
    pub token: Option<String>,
    pub timeout: Duration,
}

impl ProbeConfig {
    /// The probers to ask about `domain`, in order: by rendezvous hashing
    /// (`mailvet_core::rendezvous`), so that a domain always goes to the same prober and
    /// per-host limits hold across probers; the next is the one to try when that one fails.
    pub fn for_domain(&self, domain: &str) -> Vec<&Url> {
        let names: Vec<&str> = self.urls.iter().map(Url::as_str).collect();
        mailvet_core::rendezvous::order(&domain.to_ascii_lowercase(), &names)
            .into_iter()
            .map(|i| &self.urls[i])
            .collect()
    }
}

/// API keys. With none configured the API is open (local development).
#[derive(Debug, Default)]
pub struct Keys {
    /// For servers: any origin, no CORS.
    pub secret: Vec<String>,
    /// For widgets: each key with the origins it works from.
    pub public: BTreeMap<String, Vec<String>>,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Config, ApiError> {
        let doh_text = text(env, "DOH_URL").unwrap_or_else(|| DEFAULT_DOH.to_owned());
        let doh = parse_endpoints(&doh_text)?;
        let probe = match text(env, "PROBE_URL") {
            Some(base) => Some(ProbeConfig {
                urls: parse_list(&base)
                    .iter()
                    .map(|b| probe_url(b))
                    .collect::<Result<_, _>>()?,
                token: text(env, "PROBE_TOKEN"),
                timeout: millis(env, "PROBE_TIMEOUT_MS", DEFAULT_PROBE_TIMEOUT)?,
            }),
            None => None,
        };
        let secret = text(env, "SECRET_KEYS")
            .map(|s| parse_list(&s))
            .unwrap_or_default();
        let public = match env.object_var::<BTreeMap<String, Vec<String>>>("PUBLIC_KEYS") {
            // A table in wrangler.toml arrives as an object, `--var` as a string.
            Ok(map) if !map.is_empty() => normalise_public(map),
            _ => match text(env, "PUBLIC_KEYS") {
                Some(json) => parse_public_keys(&json)?,
                None => BTreeMap::new(),
            },
        };
        Ok(Config {
            doh,
            doh_timeout: millis(env, "DOH_TIMEOUT_MS", DEFAULT_DOH_TIMEOUT)?,
            probe,
            keys: Keys { secret, public },
            #[cfg(feature = "jobs")]
            jobs: JobsConfig {
                retention_days: count(env, "JOB_RETENTION_DAYS", DEFAULT_RETENTION_DAYS)?,
                chunk_deadline_seconds: count(
                    env,
                    "CHUNK_DEADLINE_SECONDS",
                    DEFAULT_CHUNK_DEADLINE_SECONDS,
                )?,
                allow_private_webhooks: text(env, "ALLOW_PRIVATE_WEBHOOKS")
                    .is_some_and(|v| v.eq_ignore_ascii_case("true")),
                webhook_retry_cap: match text(env, "WEBHOOK_RETRY_CAP_SECONDS") {
                    Some(_) => Some(count(env, "WEBHOOK_RETRY_CAP_SECONDS", 1)?),
                    None => None,
                },
            },
        })
    }
}

impl Keys {
    pub fn configured(&self) -> bool {
        !self.secret.is_empty() || !self.public.is_empty()
    }
}

/// A string variable or secret; unset and blank are the same.
fn text(env: &Env, name: &str) -> Option<String> {
    let value = env.var(name).ok()?.to_string();
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

fn millis(env: &Env, name: &str, default: Duration) -> Result<Duration, ApiError> {
    match text(env, name) {
        None => Ok(default),
        Some(s) => parse_millis(&s).ok_or_else(|| {
            ApiError::misconfigured(format!(
                "{name} must be a number of milliseconds from 1 to {MAX_TIMEOUT_MS}"
            ))
        }),
    }
}

/// A whole number of at least 1.
#[cfg(feature = "jobs")]
fn count(env: &Env, name: &str, default: u32) -> Result<u32, ApiError> {
    match text(env, name) {
        None => Ok(default),
        Some(s) => s.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            ApiError::misconfigured(format!("{name} must be a whole number from 1"))
        }),
    }
}

fn parse_millis(s: &str) -> Option<Duration> {
    s.parse::<u64>()
        .ok()
        .filter(|ms| (1..=MAX_TIMEOUT_MS).contains(ms))
        .map(Duration::from_millis)
}

/// Comma-separated, blanks dropped.
fn parse_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_endpoints(s: &str) -> Result<Vec<Url>, ApiError> {
    let endpoints = parse_list(s)
        .iter()
        .map(|e| http_url(e, "DOH_URL"))
        .collect::<Result<Vec<_>, _>>()?;
    if endpoints.is_empty() {
        return Err(ApiError::misconfigured("DOH_URL names no endpoint".into()));
    }
    Ok(endpoints)
}

fn probe_url(base: &str) -> Result<Url, ApiError> {
    http_url(
        &format!("{}/v1/probe", base.trim_end_matches('/')),
        "PROBE_URL",
    )
}

fn http_url(s: &str, name: &str) -> Result<Url, ApiError> {
    match Url::parse(s) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(url),
        _ => Err(ApiError::misconfigured(format!(
            "{name}: {s:?} is not an http(s) URL"
        ))),
    }
}

fn parse_public_keys(json: &str) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
    serde_json::from_str(json)
        .map(normalise_public)
        .map_err(|_| {
            ApiError::misconfigured(
                r#"PUBLIC_KEYS must be a JSON object like {"pk_live_x": ["https://shop.example"]}"#
                    .into(),
            )
        })
}

/// Origins compare as browsers send them (RFC 6454 §6.2): lowercase scheme and host, no
/// trailing slash.
fn normalise_public(map: BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<String>> {
    map.into_iter()
        .map(|(key, origins)| {
            let origins = origins.iter().map(|o| normalise_origin(o)).collect();
            (key, origins)
        })
        .collect()
}

pub fn normalise_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_lists_keep_their_order_and_reject_other_schemes() {
        let urls = parse_endpoints(" http://127.0.0.1:1/dns-query , ,https://dns.google/dns-query")
            .expect("two endpoints");
        let urls: Vec<&str> = urls.iter().map(Url::as_str).collect();
        assert_eq!(
            urls,
            [
                "http://127.0.0.1:1/dns-query",
                "https://dns.google/dns-query"
            ]
        );
        assert!(parse_endpoints("").is_err());
        assert!(parse_endpoints("ftp://example.com/dns").is_err());
        assert!(parse_endpoints("not a url").is_err());
    }

    #[test]
    fn probe_urls_go_to_each_domain_in_one_order() {
        let config = ProbeConfig {
            urls: ["http://a:1", "http://b:1/", "http://c:1"]
                .iter()
                .map(|b| probe_url(b).expect("url"))
                .collect(),
            token: None,
            timeout: Duration::from_secs(1),
        };
        let mut firsts = std::collections::BTreeSet::new();
        for i in 0..60 {
            let domain = format!("d{i}.example");
            let order = config.for_domain(&domain);
            assert_eq!(order.len(), 3);
            assert_eq!(order, config.for_domain(&domain.to_uppercase()), "any case");
            firsts.insert(order[0].as_str().to_owned());
        }
        assert_eq!(
            firsts.len(),
            3,
            "every prober is someone's first: {firsts:?}"
        );
    }

    #[test]
    fn probe_url_appends_the_path_once() {
        for base in ["http://127.0.0.1:9/", "http://127.0.0.1:9"] {
            assert_eq!(
                probe_url(base).expect("url").as_str(),
                "http://127.0.0.1:9/v1/probe"
            );
        }
    }

    #[test]
    fn public_keys_read_json_and_normalise_origins() {
        let keys = parse_public_keys(r#"{"pk_a": ["https://Shop.Example/", "http://x:8080"]}"#)
            .expect("valid");
        assert_eq!(keys["pk_a"], ["https://shop.example", "http://x:8080"]);
        assert!(parse_public_keys(r#"["pk_a"]"#).is_err());
        assert!(parse_public_keys(r#"{"pk_a": "https://shop.example"}"#).is_err());
    }

    #[test]
    fn timeouts_are_bounded() {
        assert_eq!(parse_millis("250"), Some(Duration::from_millis(250)));
        assert_eq!(parse_millis("0"), None);
        assert_eq!(parse_millis("120001"), None);
        assert_eq!(parse_millis("2s"), None);
    }
}
