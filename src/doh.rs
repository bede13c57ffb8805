//! DNS at the edge: RFC 8484 DNS-over-HTTPS over `fetch`, answers cached per (name, type) with
//! the Cache API, and the mail route of a domain decided by `mailvet_core::dns::route`.
//!
//! Each query is asked with GET (`?dns=`, so HTTP caches on the way can share answers, RFC 8484
//! §4.1) and again with POST when an endpoint refuses the GET form. An endpoint that fails, or
//! does not answer within the timeout, hands the query to the next one. A query no endpoint
//! answers is a failed lookup, which the core turns into `dns_failure`, never into a verdict
//! that the domain does not exist.

use std::cell::Cell;
use std::fmt;
use std::time::Duration;

use futures_util::future::{join, join_all, join3};
use mailvet_core::dns::{
    HostEvidence, Lookup, MailRoute, Message, RecordType, RouteDecision, RouteEvidence,
    build_query, cache_ttl, check_mx_hosts, doh_get_url, follow_up_queries, mail_route,
    normalize_name, parse_response,
};
use worker::js_sys::Uint8Array;
use worker::{Cache, Fetch, Headers, Method, Request, RequestInit, Response, Url};

use crate::deadline;

/// RFC 8484 §6: the media type of DNS messages over HTTP.
const DNS_MESSAGE: &str = "application/dns-message";
/// Cached answers live at least this long, so that a TTL of 0 or 1 second does not send every
/// request upstream.
const MIN_CACHE_TTL: u32 = 30;
/// And at most a day, so that a record changed with a long TTL is seen within a day.
const MAX_CACHE_TTL: u32 = 86_400;
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

    /// Where mail for `domain` (A-labels) goes: MX, A and AAAA at once; the A/AAAA answers count
    /// only when the MX answer asks for them (`follow_up_queries`); then the addresses of the
    /// MX hosts, when the route names hosts (`check_mx_hosts`).
    pub async fn route(&self, domain: &str) -> RouteDecision {
        let (mx, a, aaaa) = join3(
            self.query(domain, RecordType::Mx),
            self.query(domain, RecordType::A),
            self.query(domain, RecordType::Aaaa),
        )
        .await;
        let Some(mx) = mx else {
            return mail_route(&RouteEvidence::mx_only(domain, Lookup::Failed));
        };
        let wanted = follow_up_queries(domain, &mx);
        let route = mail_route(&RouteEvidence {
            domain,
            mx: Lookup::Answer(&mx),
            a: wanted.contains(&RecordType::A).then(|| lookup(&a)),
            aaaa: wanted.contains(&RecordType::Aaaa).then(|| lookup(&aaaa)),
        });
        self.with_host_addresses(route).await
    }

    /// Looks up the MX hosts: the first one alone, which settles most routes, then the others
    /// together when it has no address.
    async fn with_host_addresses(&self, route: RouteDecision) -> RouteDecision {
        let hosts: Vec<String> = match &route.route {
            MailRoute::Hosts(hosts) if !hosts.iter().any(|h| h.implicit) => {
                hosts.iter().map(|h| h.host.clone()).collect()
            }
            _ => return route,
        };
        let Some((first, rest)) = hosts.split_first() else {
            return check_mx_hosts(route, &[]);
        };
        let mut answers = vec![self.addresses(first).await];
        let decided = check_mx_hosts(route.clone(), &evidence(&answers));
        if rest.is_empty() || matches!(decided.route, MailRoute::Hosts(_)) {
            return decided;
        }
        answers.extend(join_all(rest.iter().map(|h| self.addresses(h))).await);
        check_mx_hosts(route, &evidence(&answers))
    }

    async fn addresses<'h>(&self, host: &'h str) -> HostAnswers<'h> {
        let (a, aaaa) = join(
            self.query(host, RecordType::A),
            self.query(host, RecordType::Aaaa),
        )
        .await;
        HostAnswers { host, a, aaaa }
    }

    /// One query: from the cache, else from the first endpoint that answers. `None` when no
    /// endpoint gave a DNS message.
    pub async fn query(&self, name: &str, rtype: RecordType) -> Option<Message> {
        let Ok(query) = build_query(0, name, rtype) else {
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

    /// Keeps an answer for as long as `cache_ttl` allows, within the bounds above. A failed put
    /// costs only a later miss.
    async fn store(&self, key: &str, bytes: Vec<u8>, message: &Message) {
        let Some(ttl) = cache_ttl(message) else {
            return;
        };
        let ttl = ttl.clamp(MIN_CACHE_TTL, MAX_CACHE_TTL);
        let stored = async {
            let headers = Headers::new();
            headers.set("Content-Type", DNS_MESSAGE)?;
            headers.set("Cache-Control", &format!("max-age={ttl}"))?;
            let response = Response::from_bytes(bytes)?.with_headers(headers);
            self.cache.put(key, response).await
        };
        if let Err(e) = stored.await {
            worker::console_warn!("DNS cache put failed: {e}");
        }
    }

    /// GET, then POST if the endpoint refused the GET form (a 4xx status such as 405 or 414)
    /// or answered it with something other than a DNS message.
    async fn ask(&self, endpoint: &Url, query: &[u8]) -> Result<(Vec<u8>, Message), AskError> {
        match self.exchange(endpoint, query, Method::Get).await {
            Err(AskError::Status(400..=499) | AskError::NotDns) => {
                self.exchange(endpoint, query, Method::Post).await
            }
            other => other,
        }
    }

    async fn exchange(
        &self,
        endpoint: &Url,
        query: &[u8],
        method: Method,
    ) -> Result<(Vec<u8>, Message), AskError> {
        let headers = Headers::new();
        headers.set("Accept", DNS_MESSAGE)?;
        let mut init = RequestInit::new();
        let url = if method == Method::Post {
            headers.set("Content-Type", DNS_MESSAGE)?;
            init.with_body(Some(Uint8Array::from(query).into()));
            endpoint.to_string()
        } else {
            doh_get_url(endpoint.as_str(), query)
        };
        init.with_method(method).with_headers(headers);
        let request = Request::new_with_init(&url, &init)?;
        let answer = deadline::within(self.timeout, |signal| async move {
            let mut response = Fetch::Request(request).send_with_signal(&signal).await?;
            let status = response.status_code();
            if status != 200 {
                return Err(AskError::Status(status));
            }
            Ok(response.bytes().await?)
        })
        .await
        .ok_or(AskError::Timeout)??;
        let message = parse_response(&answer).map_err(|_| AskError::NotDns)?;
        // RFC 8484 §4.1: the query went out with ID 0, so the answer must carry 0 too.
        if message.id != 0 {
            return Err(AskError::NotDns);
        }
        Ok((answer, message))
    }
}

fn lookup(m: &Option<Message>) -> Lookup<'_> {
    m.as_ref().map_or(Lookup::Failed, Lookup::Answer)
}

/// The address answers of one MX host.
struct HostAnswers<'h> {
    host: &'h str,
    a: Option<Message>,
    aaaa: Option<Message>,
}

fn evidence<'m>(answers: &'m [HostAnswers<'_>]) -> Vec<HostEvidence<'m>> {
    answers
        .iter()
        .map(|h| HostEvidence {
            host: h.host,
            a: lookup(&h.a),
            aaaa: lookup(&h.aaaa),
        })
        .collect()
}

/// One key per (name, type), whatever endpoint answered. `name` has passed `build_query`, so it
/// holds only letters, digits, `-`, `_` and dots: nothing a URL path would need to escape.
fn cache_key(name: &str, rtype: RecordType) -> String {
    format!("{CACHE_PREFIX}{}/{}", rtype.code(), normalize_name(name))
}

#[derive(Debug)]
enum AskError {
    Timeout,
    Status(u16),
    NotDns,
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
            AskError::Status(status) => write!(f, "HTTP status {status}"),
            AskError::NotDns => f.write_str("the body is not a DNS answer to the query"),
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
