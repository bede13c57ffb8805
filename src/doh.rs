//! DNS at the edge: RFC 8484 DNS-over-HTTPS over `fetch`, answers cached per (name, type) with
//! the Cache API. What to ask, what a reply means and how long it is kept are decided by
//! `mailvet_core::dns` (`resolve`, `doh`, `lifetime`); this module moves the bytes.
//!
//! Endpoints are asked in order, each within the timeout. A query no endpoint answers is a
//! failed lookup, which the core turns into `dns_failure`, never into a verdict that the domain
//! does not exist.

use std::cell::Cell;
use std::fmt;
use std::time::Duration;

use mailvet_core::dns::doh::{DNS_MESSAGE, DohFailure, DohMethod, DohQuery, DohReply};
use mailvet_core::dns::lifetime::answer_lifetime;
use mailvet_core::dns::resolve::{LookupBudget, MailRouteLookup, Pace};
use mailvet_core::dns::{Message, RecordType, RouteDecision, normalize_name, parse_response};
use worker::js_sys::Uint8Array;
use worker::{Cache, Fetch, Headers, Request, RequestInit, Response, Url};

use crate::deadline;

/// The Cache API keys entries by URL; this host is never fetched (RFC 6761 §6.4: `.invalid`).
const CACHE_PREFIX: &str = "https://dns-cache.mailvet.invalid/";

/// Resolves names for one request of the Worker and counts where the answers came from.
#[derive(Debug)]
pub struct Resolver<'a> {
    endpoints: &'a [Url],
    timeout: Duration,
    cache: Cache,
    cached: Cell<u32>,
    fetched: Cell<u32>,
}

/// Whether the answers of one request came from the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheUse {
    /// Every answer came from the cache.
    Hit,
    /// At least one query went to a DoH endpoint.
    Miss,
}

impl<'a> Resolver<'a> {
    pub fn new(endpoints: &'a [Url], timeout: Duration) -> Self {
        Resolver {
            endpoints,
            timeout,
            cache: Cache::default(),
            cached: Cell::new(0),
            fetched: Cell::new(0),
        }
    }

    /// `None` when no query was made.
    pub fn cache_use(&self) -> Option<CacheUse> {
        match (self.cached.get(), self.fetched.get()) {
            (0, 0) => None,
            (_, 0) => Some(CacheUse::Hit),
            _ => Some(CacheUse::Miss),
        }
    }

    /// Where mail for `domain` (A-labels) goes. A person waits on each answer, so the queries
    /// go out in as few round trips as the core allows.
    pub async fn route(&self, domain: &str) -> RouteDecision {
        let lookup = MailRouteLookup::new(domain, Pace::FewestRoundTrips, LookupBudget::MAIL_ROUTE);
        lookup
            .run(|q| async move { self.query(&q.name, q.rtype).await })
            .await
    }

    /// One query: from the cache, else from the first endpoint that answers. `None` when no
    /// endpoint gave an answer.
    pub async fn query(&self, name: &str, rtype: RecordType) -> Option<Message> {
        let Ok(query) = DohQuery::new(name, rtype) else {
            // Not a name DNS can carry: no endpoint could answer it either.
            return None;
        };
        let key = cache_key(name, rtype);
        if let Some(message) = self.cached(&key).await {
            self.cached.set(self.cached.get() + 1);
            return Some(message);
        }
        self.fetched.set(self.fetched.get() + 1);
        for endpoint in self.endpoints {
            match self.ask(endpoint, &query).await {
                Ok((bytes, message)) => {
                    self.store(&key, bytes, &message).await;
                    return Some(message);
                }
                Err(e) => worker::console_warn!(
                    "DoH {} failed for {name} {rtype}: {e}",
                    endpoint.host_str().unwrap_or_default()
                ),
            }
        }
        None
    }

    async fn cached(&self, key: &str) -> Option<Message> {
        let mut response = self.cache.get(key, false).await.ok()??;
        let bytes = response.bytes().await.ok()?;
        parse_response(&bytes).ok()
    }

    /// Keeps an answer as long as the core's lifetime policy says. A failed put costs only a
    /// later miss.
    async fn store(&self, key: &str, bytes: Vec<u8>, message: &Message) {
        let lifetime = answer_lifetime(message);
        if lifetime == 0 {
            return;
        }
        let stored = async {
            let headers = Headers::new();
            headers.set("Content-Type", DNS_MESSAGE)?;
            headers.set("Cache-Control", &format!("max-age={lifetime}"))?;
            let response = Response::from_bytes(bytes)?.with_headers(headers);
            self.cache.put(key, response).await
        };
        if let Err(e) = stored.await {
            worker::console_warn!("DNS cache put failed: {e}");
        }
    }

    /// The answer of one endpoint, asked by GET, then by POST when the core says so.
    async fn ask(&self, endpoint: &Url, query: &DohQuery) -> Result<(Vec<u8>, Message), AskError> {
        let (mut reply, mut body) = self.exchange(endpoint, query, DohMethod::Get).await?;
        if let DohReply::RetryAsPost(_) = reply {
            (reply, body) = self.exchange(endpoint, query, DohMethod::Post).await?;
        }
        match reply {
            DohReply::Answer(message) => Ok((body, message)),
            DohReply::RetryAsPost(f) | DohReply::Failed(f) => Err(AskError::Doh(f)),
        }
    }

    /// One HTTP exchange, read by the core; the body comes back for the cache.
    async fn exchange(
        &self,
        endpoint: &Url,
        query: &DohQuery,
        method: DohMethod,
    ) -> Result<(DohReply, Vec<u8>), AskError> {
        let (fields, body) = query.request(method);
        let headers = Headers::new();
        for (name, value) in fields {
            headers.set(name, value)?;
        }
        let mut init = RequestInit::new();
        let http_method = match method {
            DohMethod::Get => worker::Method::Get,
            DohMethod::Post => {
                init.with_body(Some(Uint8Array::from(body).into()));
                worker::Method::Post
            }
        };
        init.with_method(http_method).with_headers(headers);
        let request = Request::new_with_init(&query.url(endpoint.as_str(), method), &init)?;
        let (status, content_type, body) = deadline::within(self.timeout, |signal| async move {
            let mut response = Fetch::Request(request).send_with_signal(&signal).await?;
            let content_type = response.headers().get("Content-Type")?;
            Ok::<_, worker::Error>((
                response.status_code(),
                content_type,
                response.bytes().await?,
            ))
        })
        .await
        .ok_or(AskError::Timeout)??;
        let reply = query.read(method, status, content_type.as_deref(), &body);
        Ok((reply, body))
    }
}

/// One key per (name, type), whatever endpoint answered. `name` has passed `build_query`, so it
/// holds only letters, digits, `-`, `_` and dots: nothing a URL path would need to escape.
fn cache_key(name: &str, rtype: RecordType) -> String {
    format!("{CACHE_PREFIX}{}/{}", rtype.code(), normalize_name(name))
}

#[derive(Debug)]
enum AskError {
    Timeout,
    Doh(DohFailure),
    Fetch(worker::Error),
}

impl From<worker::Error> for AskError {
    fn from(e: worker::Error) -> Self {
        AskError::Fetch(e)
    }
}

impl fmt::Display for AskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AskError::Timeout => f.write_str("no answer in time"),
            AskError::Doh(failure) => write!(f, "{failure}"),
            AskError::Fetch(e) => write!(f, "{e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keys_differ_by_type_and_ignore_case_and_final_dot() {
        assert_eq!(
            cache_key("Valid.TEST.", RecordType::Mx),
            "https://dns-cache.mailvet.invalid/15/valid.test"
        );
        assert_ne!(
            cache_key("valid.test", RecordType::A),
            cache_key("valid.test", RecordType::Aaaa)
        );
        assert!(Url::parse(&cache_key("_x.xn--bcher-kva.test", RecordType::A)).is_ok());
    }
}
