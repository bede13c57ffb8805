//! Where mail for a domain goes, asked over DNS-over-HTTPS (RFC 8484) and decided by the core.
//!
//! The core decides what to ask (`dns::resolve`), what a reply means (`dns::doh`) and how long
//! answers are kept (`dns::lifetime`); this module moves the bytes with reqwest and keeps two
//! caches: routes by domain, answers by name and type. Each entry is computed once even when
//! many addresses wait on it, so a list asks each domain and each mail host once while its
//! answer lives. Endpoints are tried in order, starting from the last one that answered, each
//! with its own deadline.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use clap::Args;
use mailvet_core::dns::doh::{DohFailure, DohMethod, DohQuery, DohReply, MAX_MESSAGE};
use mailvet_core::dns::lifetime::{answer_lifetime, route_lifetime};
use mailvet_core::dns::resolve::{LookupBudget, MailRouteLookup, Pace};
use mailvet_core::dns::{MailRoute, Message, RecordType, host_addresses, normalize_name};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, Url};
use tokio::sync::OnceCell;

use crate::Failure;

/// The most names kept in each cache; beyond it the expired ones go, and all of them if that is
/// not enough.
const MAX_ENTRIES: usize = 100_000;

/// The public resolvers asked when no `--doh` is given.
pub const DEFAULT_ENDPOINTS: [&str; 2] = [
    "https://cloudflare-dns.com/dns-query",
    "https://dns.google/dns-query",
];

/// Where DNS questions go, for `mailvet check` and `mailvet serve`.
#[derive(Debug, Args)]
pub struct DnsArgs {
    /// A DNS-over-HTTPS (RFC 8484) endpoint. Repeat to give several, tried in order when one
    /// fails. Default: https://cloudflare-dns.com/dns-query, then https://dns.google/dns-query.
    #[arg(long = "doh", value_name = "URL")]
    doh: Vec<String>,

    /// How long each DNS-over-HTTPS server has to answer one query.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = crate::parse_secs)]
    dns_timeout: Duration,
}

impl DnsArgs {
    pub fn resolver(&self) -> Result<Resolver, Failure> {
        let endpoints: Vec<String> = if self.doh.is_empty() {
            DEFAULT_ENDPOINTS.iter().map(|&s| s.to_owned()).collect()
        } else {
            self.doh.clone()
        };
        Resolver::new(&endpoints, self.dns_timeout)
    }
}

#[derive(Debug)]
pub struct Resolver {
    client: Client,
    endpoints: Vec<Endpoint>,
    timeout: Duration,
    /// The endpoint that answered last, where the next query starts.
    preferred: AtomicUsize,
    routes: Cache<MailRoute>,
    /// Answers by type and name; `None` where no endpoint answered.
    answers: Cache<Option<Message>>,
}

/// Values by name, each computed once even when several tasks ask at the same time, and kept
/// until `until`.
///
/// With the standard library's keyed hash, not the core's fast name hash: `mailvet serve` keeps
/// these caches too, for names that its callers' users chose, who could choose ones that
/// collide under an unkeyed hash.
type Cache<T> = Mutex<HashMap<String, Arc<OnceCell<Kept<T>>>>>;

#[derive(Debug)]
struct Kept<T> {
    value: T,
    until: Instant,
}

impl<T> Kept<T> {
    /// `value`, kept for `lifetime` seconds (see `mailvet_core::dns::lifetime`).
    fn new(value: T, lifetime: u32) -> Kept<T> {
        Kept {
            value,
            until: Instant::now() + Duration::from_secs(u64::from(lifetime)),
        }
    }
}

/// A route that [`Resolver::kept_route`] found, shared with the cache rather than copied.
#[derive(Debug)]
pub struct KeptRoute(Arc<OnceCell<Kept<MailRoute>>>);

impl KeptRoute {
    pub fn route(&self) -> Option<&MailRoute> {
        self.0.get().map(|kept| &kept.value)
    }
}

/// The cell for `key`: the one being filled or still fresh, else a new one.
fn shared_cell<T>(cache: &Cache<T>, key: &str) -> Arc<OnceCell<Kept<T>>> {
    let now = Instant::now();
    let fresh = |cell: &Arc<OnceCell<Kept<T>>>| cell.get().is_none_or(|kept| kept.until > now);
    let mut map = cache.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(cell) = map.get(key).filter(|cell| fresh(cell)) {
        return Arc::clone(cell);
    }
    if map.len() >= MAX_ENTRIES {
        map.retain(|_, cell| fresh(cell));
        if map.len() >= MAX_ENTRIES {
            // Whoever waits on a cell keeps it; it is only forgotten here.
            map.clear();
        }
    }
    let cell = Arc::new(OnceCell::new());
    map.insert(key.to_owned(), Arc::clone(&cell));
    cell
}

#[derive(Debug)]
struct Endpoint {
    url: String,
    /// Whether a failure of this endpoint was reported already: once per run is enough.
    warned: AtomicBool,
}

/// Why one endpoint gave no answer. Never shows the name asked about.
#[derive(Debug)]
enum EndpointFailure {
    Timeout,
    Transport(reqwest::Error),
    Doh(DohFailure),
}

impl fmt::Display for EndpointFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointFailure::Timeout => f.write_str("no answer in time"),
            EndpointFailure::Transport(e) if e.is_connect() => f.write_str("could not connect"),
            EndpointFailure::Transport(_) => f.write_str("the HTTP exchange failed"),
            EndpointFailure::Doh(failure) => write!(f, "{failure}"),
        }
    }
}

impl Resolver {
    /// A resolver asking `endpoints` in order, each given `timeout` for one query.
    pub fn new(endpoints: &[String], timeout: Duration) -> Result<Resolver, Failure> {
        let mut checked = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            match Url::parse(endpoint) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
                    checked.push(Endpoint {
                        url: endpoint.clone(),
                        warned: AtomicBool::new(false),
                    });
                }
                _ => {
                    return Err(Failure(format!(
                        "--doh {endpoint:?} is not an http:// or https:// URL of a \
                         DNS-over-HTTPS server"
                    )));
                }
            }
        }
        let client = Client::builder()
            .user_agent(concat!("mailvet/", env!("CARGO_PKG_VERSION")))
            // A DoH server answers in place; a redirect would turn a POST into a GET elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Failure(format!("setting up the HTTP client: {e}")))?;
        Ok(Resolver {
            client,
            endpoints: checked,
            timeout,
            preferred: AtomicUsize::new(0),
            routes: Mutex::default(),
            answers: Mutex::default(),
        })
    }

    /// Where mail for `domain` (A-labels) goes, looked up once while the answer lives.
    pub async fn route(&self, domain: &str) -> MailRoute {
        let key = domain.to_ascii_lowercase();
        let cell = shared_cell(&self.routes, &key);
        let kept = cell
            .get_or_init(|| async {
                let decision = self.look_up(&key).await;
                let lifetime = route_lifetime(&decision);
                Kept::new(decision.route, lifetime)
            })
            .await;
        kept.value.clone()
    }

    /// The route of `domain` when [`Resolver::route`] has it already and it is still fresh:
    /// a list asks for the same domains again and again, and what is kept needs no task.
    pub fn kept_route(&self, domain: &str) -> Option<KeptRoute> {
        let map = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        let cell = if domain.bytes().any(|b| b.is_ascii_uppercase()) {
            map.get(&domain.to_ascii_lowercase())
        } else {
            map.get(domain)
        }?;
        let fresh = cell.get()?.until > Instant::now();
        fresh.then(|| KeptRoute(Arc::clone(cell)))
    }

    /// The core's lookup, paced for a list of many domains: resolvers run out of capacity
    /// before a list runs out of time.
    async fn look_up(&self, domain: &str) -> mailvet_core::dns::RouteDecision {
        let lookup = MailRouteLookup::new(domain, Pace::FewestQueries, LookupBudget::MAIL_ROUTE);
        lookup
            .run(|q| async move { self.answer(&q.name, q.rtype).await })
            .await
    }

    /// The answer for `name` and `rtype`, asked once while it lives: many domains share their
    /// mail hosts, and the prober asks for the hosts' addresses after the route. `None` when no
    /// endpoint answered.
    pub async fn answer(&self, name: &str, rtype: RecordType) -> Option<Message> {
        let key = format!("{}/{}", rtype.code(), normalize_name(name));
        let cell = shared_cell(&self.answers, &key);
        let kept = cell
            .get_or_init(|| async {
                let answer = self.query(name, rtype).await;
                let lifetime = answer.as_ref().map_or(0, answer_lifetime);
                Kept::new(answer, lifetime)
            })
            .await;
        kept.value.clone()
    }

    /// The addresses of a mail host, IPv4 before IPv6; empty when DNS has none or gave no
    /// answer.
    pub async fn host_ips(&self, host: &str) -> Vec<IpAddr> {
        let (a, aaaa) = tokio::join!(
            self.answer(host, RecordType::A),
            self.answer(host, RecordType::Aaaa)
        );
        host_addresses(host, a.as_ref(), aaaa.as_ref())
    }

    /// One query, through the endpoints in turn; `None` when none of them answered.
    async fn query(&self, name: &str, rtype: RecordType) -> Option<Message> {
        let query = DohQuery::new(name, rtype).ok()?;
        let count = self.endpoints.len();
        let start = self.preferred.load(Ordering::Relaxed);
        for i in 0..count {
            let index = (start + i) % count;
            let endpoint = &self.endpoints[index];
            let outcome = tokio::time::timeout(self.timeout, self.exchange(&endpoint.url, &query))
                .await
                .unwrap_or(Err(EndpointFailure::Timeout));
            match outcome {
                Ok(message) => {
                    self.preferred.store(index, Ordering::Relaxed);
                    return Some(message);
                }
                Err(failure) => {
                    if !endpoint.warned.swap(true, Ordering::Relaxed) {
                        let next = if i + 1 < count {
                            "trying the next one"
                        } else {
                            "no DNS-over-HTTPS server left to ask"
                        };
                        eprintln!(
                            "warning: DNS-over-HTTPS server {}: {failure}; {next}",
                            endpoint.url
                        );
                    }
                }
            }
        }
        None
    }

    /// GET, then POST when the core says the GET was refused.
    async fn exchange(&self, endpoint: &str, query: &DohQuery) -> Result<Message, EndpointFailure> {
        let mut reply = self.send(endpoint, query, DohMethod::Get).await?;
        if let DohReply::RetryAsPost(_) = reply {
            reply = self.send(endpoint, query, DohMethod::Post).await?;
        }
        match reply {
            DohReply::Answer(message) => Ok(message),
            DohReply::RetryAsPost(failure) | DohReply::Failed(failure) => {
                Err(EndpointFailure::Doh(failure))
            }
        }
    }

    /// One HTTP exchange, read by the core. The body is read only as far as a DNS message can
    /// reach, and one octet more for the core to see that it is too long.
    async fn send(
        &self,
        endpoint: &str,
        query: &DohQuery,
        method: DohMethod,
    ) -> Result<DohReply, EndpointFailure> {
        let (headers, body) = query.request(method);
        let url = query.url(endpoint, method);
        let mut request = match method {
            DohMethod::Get => self.client.get(url),
            DohMethod::Post => self.client.post(url).body(body.to_vec()),
        };
        for &(name, value) in headers {
            request = request.header(name, value);
        }
        let mut response = request.send().await.map_err(EndpointFailure::Transport)?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let mut body = Vec::new();
        while body.len() <= MAX_MESSAGE {
            match response.chunk().await.map_err(EndpointFailure::Transport)? {
                Some(chunk) => body.extend_from_slice(&chunk),
                None => break,
            }
        }
        Ok(query.read(method, status, content_type.as_deref(), &body))
    }
}

#[cfg(test)]
mod tests {
    //! Against a small DoH server on loopback that logs what it is asked: `mx.example` and
    //! `dangling.example` have an MX naming `mail.` under them, `mail.mx.example` and
    //! `implicit.example` an A record, and every other name is NXDOMAIN. Its answers are
    //! written by the core's encoder.

    use std::sync::Mutex as StdMutex;

    use mailvet_core::dns::{MxHost, RData, Rcode, Record, Soa, parse_query};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Behaviour {
        Answer,
        /// GET gets 405, POST an answer.
        PostOnly,
        /// Accepts connections and never answers.
        Silent,
        /// 200 with a body that is no DNS message.
        Garbage,
    }

    /// What the server was asked: method, name, type.
    type Log = Arc<StdMutex<Vec<(String, String, u16)>>>;

    async fn server(behaviour: Behaviour) -> (String, Log) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/dns-query", listener.local_addr().unwrap());
        let log = Log::default();
        let served = Arc::clone(&log);
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(serve(stream, behaviour, Arc::clone(&served)));
            }
        });
        (url, log)
    }

    async fn serve(mut stream: TcpStream, behaviour: Behaviour, log: Log) {
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        let head_end = loop {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                return;
            }
            request.extend_from_slice(&buf[..n]);
            if let Some(i) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8(request[..head_end].to_vec()).unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap_or(0);
        while request.len() < head_end + length {
            let n = stream.read(&mut buf).await.unwrap();
            request.extend_from_slice(&buf[..n]);
        }
        let (method, target) = head.split_once(' ').unwrap();
        let query = if method == "GET" {
            let encoded = target
                .split_once("dns=")
                .unwrap()
                .1
                .split(' ')
                .next()
                .unwrap();
            base64url_decode(encoded)
        } else {
            request[head_end..].to_vec()
        };
        let query = parse_query(&query).unwrap();
        let question = &query.questions[0];
        let (name, rtype) = (question.name.clone(), question.rtype.code());
        log.lock()
            .unwrap()
            .push((method.to_owned(), name.clone(), rtype));
        if behaviour == Behaviour::Silent {
            tokio::time::sleep(Duration::from_secs(60)).await;
            return;
        }
        let (status, body) = match behaviour {
            Behaviour::PostOnly if method == "GET" => ("405 Method Not Allowed", Vec::new()),
            Behaviour::Garbage => ("200 OK", b"hello".to_vec()),
            _ => ("200 OK", answer(query.id, &name, question.rtype)),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/dns-message\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&body).await.unwrap();
    }

    fn base64url_decode(text: &str) -> Vec<u8> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let sextets: Vec<u32> = text
            .bytes()
            .map(|b| ALPHABET.iter().position(|&a| a == b).unwrap() as u32)
            .collect();
        let mut out = Vec::new();
        for chunk in sextets.chunks(4) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0, |n, (i, s)| n | s << (18 - 6 * i));
            out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
        }
        out
    }

    /// The response to `name`/`rtype` from this server's small zone.
    fn answer(id: u16, name: &str, rtype: RecordType) -> Vec<u8> {
        let mut m = Message::response_to(id, name, rtype);
        let data = match (name, rtype) {
            ("mx.example" | "dangling.example", RecordType::Mx) => Some(RData::Mx {
                preference: 10,
                exchange: format!("mail.{name}"),
            }),
            ("mail.mx.example" | "implicit.example", RecordType::A) => {
                Some(RData::A([127, 0, 0, 1].into()))
            }
            ("mx.example" | "dangling.example" | "mail.mx.example" | "implicit.example", _) => None,
            _ => {
                m.rcode = Rcode::NxDomain;
                None
            }
        };
        match data {
            Some(data) => m.answers.push(Record {
                name: name.to_owned(),
                rtype,
                ttl: 60,
                data,
            }),
            // RFC 2308 §3: a negative answer carries the zone's SOA, which says how long it
            // may be cached (§5).
            None => m.authorities.push(Record {
                name: "example".to_owned(),
                rtype: RecordType::Soa,
                ttl: 60,
                data: RData::Soa(Soa {
                    mname: "ns.example".to_owned(),
                    rname: "hostmaster.example".to_owned(),
                    serial: 1,
                    refresh: 3600,
                    retry: 600,
                    expire: 86_400,
                    minimum: 60,
                }),
            }),
        }
        m.encode().unwrap()
    }

    fn resolver(endpoints: &[&str], timeout_ms: u64) -> Resolver {
        let endpoints: Vec<String> = endpoints.iter().map(|&e| e.to_owned()).collect();
        Resolver::new(&endpoints, Duration::from_millis(timeout_ms)).unwrap()
    }

    fn asked(log: &Log) -> Vec<(String, String, u16)> {
        log.lock().unwrap().clone()
    }

    fn mx_route() -> MailRoute {
        MailRoute::Hosts(vec![MxHost {
            preference: 10,
            host: "mail.mx.example".into(),
            implicit: false,
        }])
    }

    /// The names and types asked, sorted: concurrent queries arrive in any order.
    fn questions(log: &[(String, String, u16)]) -> Vec<(String, u16)> {
        let mut asked: Vec<(String, u16)> = log
            .iter()
            .map(|(_, name, rtype)| (name.clone(), *rtype))
            .collect();
        asked.sort();
        asked
    }

    fn q(name: &str, rtype: u16) -> (String, u16) {
        (name.to_owned(), rtype)
    }

    #[tokio::test]
    async fn each_domain_and_host_is_asked_once() {
        let (url, log) = server(Behaviour::Answer).await;
        let r = Arc::new(resolver(&[&url], 5000));
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let r = Arc::clone(&r);
                let domain = if i % 2 == 0 {
                    "MX.example"
                } else {
                    "mx.example"
                };
                tokio::spawn(async move { r.route(domain).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), mx_route());
        }
        let log = asked(&log);
        assert!(log.iter().all(|(method, _, _)| method == "GET"), "{log:?}");
        assert_eq!(
            questions(&log),
            [
                q("mail.mx.example", 1),
                q("mail.mx.example", 28),
                q("mx.example", 15)
            ]
        );
    }

    #[tokio::test]
    async fn addresses_are_asked_only_where_the_core_needs_them() {
        let (url, log) = server(Behaviour::Answer).await;
        let r = resolver(&[&url], 5000);
        let implicit = r.route("implicit.example").await;
        assert!(
            matches!(&implicit, MailRoute::Hosts(h) if h[0].implicit),
            "{implicit:?}"
        );
        assert_eq!(
            questions(&asked(&log)),
            [
                q("implicit.example", 1),
                q("implicit.example", 15),
                q("implicit.example", 28)
            ]
        );
        log.lock().unwrap().clear();
        assert_eq!(r.route("nowhere.example").await, MailRoute::DomainNotFound);
        assert_eq!(questions(&asked(&log)), [q("nowhere.example", 15)]);
        log.lock().unwrap().clear();
        // RFC 5321 §5.1: an MX whose only host has no address leaves no mail server.
        assert_eq!(r.route("dangling.example").await, MailRoute::NoMailServer);
        assert_eq!(
            questions(&asked(&log)),
            [
                q("dangling.example", 15),
                q("mail.dangling.example", 1),
                q("mail.dangling.example", 28)
            ]
        );
    }

    #[tokio::test]
    async fn host_addresses_come_from_the_host_cache() {
        let (url, log) = server(Behaviour::Answer).await;
        let r = resolver(&[&url], 5000);
        assert_eq!(r.route("mx.example").await, mx_route());
        log.lock().unwrap().clear();
        assert_eq!(
            r.host_ips("mail.mx.example").await,
            [IpAddr::from([127, 0, 0, 1])]
        );
        // Asked during the route already.
        assert!(asked(&log).is_empty());
        assert!(r.host_ips("nowhere.example").await.is_empty());
        assert_eq!(
            questions(&asked(&log)),
            [q("nowhere.example", 1), q("nowhere.example", 28)]
        );
    }

    #[tokio::test]
    async fn answers_are_kept_for_their_lifetime() {
        let cache: Cache<u32> = Mutex::default();
        let cell = shared_cell(&cache, "a");
        cell.get_or_init(|| async { Kept::new(1, 0) }).await;
        // A lifetime of 0: expired at once, so the next look-up gets a new cell.
        let again = shared_cell(&cache, "a");
        assert!(again.get().is_none());
        again.get_or_init(|| async { Kept::new(2, 60) }).await;
        assert_eq!(shared_cell(&cache, "a").get().map(|k| k.value), Some(2));
        let now = Instant::now();
        assert!(Kept::new((), 600).until >= now + Duration::from_secs(600));
    }

    #[tokio::test]
    async fn a_get_that_is_refused_is_posted() {
        let (url, log) = server(Behaviour::PostOnly).await;
        assert_eq!(
            resolver(&[&url], 5000).route("mx.example").await,
            mx_route()
        );
        let mut methods: Vec<(String, String, u16)> = asked(&log);
        methods.sort();
        // Each query was tried by GET, then by POST.
        let expected: Vec<(String, String, u16)> = ["GET", "POST"]
            .iter()
            .flat_map(|m| {
                [
                    ("mail.mx.example", 1),
                    ("mail.mx.example", 28),
                    ("mx.example", 15),
                ]
                .map(|(name, rtype)| (m.to_string(), name.to_owned(), rtype))
            })
            .collect();
        assert_eq!(methods, expected);
    }

    #[tokio::test]
    async fn failing_endpoints_are_skipped_in_order() {
        let (silent, silent_log) = server(Behaviour::Silent).await;
        let (garbage, garbage_log) = server(Behaviour::Garbage).await;
        let (good, good_log) = server(Behaviour::Answer).await;
        let r = resolver(&[&silent, &garbage, &good], 300);
        assert_eq!(r.route("nowhere.example").await, MailRoute::DomainNotFound);
        // The garbage endpoint was asked by GET and by POST before the good one answered.
        assert_eq!(asked(&garbage_log).len(), 2);
        assert_eq!(asked(&good_log).len(), 1);
        // The silent one was asked first, and never answered.
        assert_eq!(asked(&silent_log).len(), 1);
        // The next queries start at the endpoint that answered: neither of the others hears of
        // them (an event, not a time, proves it).
        assert_eq!(r.route("mx.example").await, mx_route());
        assert_eq!(asked(&silent_log).len(), 1);
        assert_eq!(asked(&garbage_log).len(), 2);
        assert_eq!(asked(&good_log).len(), 4);
    }

    #[tokio::test]
    async fn no_endpoint_answering_is_a_dns_failure() {
        let (silent, _) = server(Behaviour::Silent).await;
        let closed = {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            format!("http://{}/dns-query", listener.local_addr().unwrap())
        };
        let started = Instant::now();
        let route = resolver(&[&closed, &silent], 200).route("mx.example").await;
        assert_eq!(
            route,
            MailRoute::DnsFailure(mailvet_core::dns::DnsFailure::NoAnswer)
        );
        let elapsed = started.elapsed();
        assert!(
            // Both timeouts ran (the closed one fails at once); the upper bound only says that
            // nothing waited for the silent endpoint's minute, with room for a loaded machine.
            elapsed >= Duration::from_millis(200) && elapsed < Duration::from_secs(20),
            "{elapsed:?}"
        );
    }

    #[test]
    fn only_http_urls_are_endpoints() {
        for bad in ["dns.google", "ftp://x/dns-query", "http://", "/dns-query"] {
            let err = Resolver::new(&[bad.to_owned()], Duration::from_secs(1)).unwrap_err();
            assert!(
                err.to_string()
                    .contains("is not an http:// or https:// URL"),
                "{err}"
            );
        }
    }
}
