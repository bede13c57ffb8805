//! Where mail for a domain goes, asked over DNS-over-HTTPS (RFC 8484) and decided by the core.
//!
//! Each query is a GET with the `dns` parameter; a server that answers it with anything but a
//! DNS message is asked again with a POST, which RFC 8484 §4.1 also requires servers to take.
//! Endpoints are tried in order, starting from the last one that answered, each with its own
//! deadline. A domain is looked up once while its answer lives (its TTL, an hour at most),
//! however many addresses share it, and so is each mail host.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use clap::Args;
use mailvet_core::dns::{
    HostEvidence, Lookup, MailRoute, Message, RData, RecordType, RouteDecision, RouteEvidence,
    build_query, cache_ttl, check_mx_hosts, doh_get_url, follow_up_queries, mail_route,
    parse_response,
};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Client, StatusCode, Url};
use tokio::sync::OnceCell;

use crate::Failure;

/// RFC 8484 §6.
const DNS_MESSAGE: &str = "application/dns-message";
/// A DNS message never exceeds 65535 octets (RFC 1035 §4.2.2, its length field over TCP), so a
/// longer body is no answer and is not read to its end.
const MAX_MESSAGE: usize = 65_535;
/// The longest an answer is kept, whatever its TTL: `mailvet serve` runs for weeks.
const MAX_KEEP: Duration = Duration::from_secs(3600);
/// How long an answer that may not be cached (no answer, SERVFAIL, a negative answer without
/// SOA) is still shared, so that a list full of one domain does not ask again for each address.
/// RFC 2308 §7.1 allows up to five minutes for a server failure.
const SHORT_KEEP: Duration = Duration::from_secs(30);
/// The most names kept; beyond it the expired ones go, and all of them if that is not enough.
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
    hosts: Cache<HostAnswers>,
}

/// Answers by name, each computed once even when several tasks ask at the same time, and kept
/// until `until`.
type Cache<T> = Mutex<HashMap<String, Arc<OnceCell<Kept<T>>>>>;

#[derive(Debug)]
struct Kept<T> {
    value: T,
    until: Instant,
}

impl<T> Kept<T> {
    /// `value`, kept for `ttl` seconds (RFC 2181 §5.2) up to [`MAX_KEEP`], or for
    /// [`SHORT_KEEP`] when it may not be cached.
    fn new(value: T, ttl: Option<u32>) -> Kept<T> {
        let keep = ttl.map_or(SHORT_KEEP, |t| {
            Duration::from_secs(u64::from(t)).min(MAX_KEEP)
        });
        Kept {
            value,
            until: Instant::now() + keep,
        }
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

/// The A and AAAA answers for one mail host; `None` when no endpoint answered.
#[derive(Debug)]
struct HostAnswers {
    a: Option<Message>,
    aaaa: Option<Message>,
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
    Status(StatusCode),
    NotDns,
}

impl fmt::Display for EndpointFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointFailure::Timeout => f.write_str("no answer in time"),
            EndpointFailure::Transport(e) if e.is_connect() => f.write_str("could not connect"),
            EndpointFailure::Transport(_) => f.write_str("the HTTP exchange failed"),
            EndpointFailure::Status(status) => write!(f, "HTTP status {status}"),
            EndpointFailure::NotDns => f.write_str("the answer was not a DNS message"),
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
            hosts: Mutex::default(),
        })
    }

    /// Where mail for `domain` (A-labels) goes, looked up once while the answer lives.
    pub async fn route(&self, domain: &str) -> MailRoute {
        let key = domain.to_ascii_lowercase();
        let cell = shared_cell(&self.routes, &key);
        let kept = cell
            .get_or_init(|| async {
                let decision = self.look_up(&key).await;
                Kept::new(decision.route, decision.ttl)
            })
            .await;
        kept.value.clone()
    }

    /// MX first; A and AAAA together, only when the core asks for them; then the MX hosts.
    async fn look_up(&self, domain: &str) -> RouteDecision {
        let Some(mx) = self.query(domain, RecordType::Mx).await else {
            return mail_route(&RouteEvidence::mx_only(domain, Lookup::Failed));
        };
        let follow_up = follow_up_queries(domain, &mx);
        let asked = |rtype| async move {
            if follow_up.contains(&rtype) {
                Some(self.query(domain, rtype).await)
            } else {
                None
            }
        };
        let (a, aaaa) = tokio::join!(asked(RecordType::A), asked(RecordType::Aaaa));
        let route = mail_route(&RouteEvidence {
            domain,
            mx: Lookup::Answer(&mx),
            a: a.as_ref().map(lookup),
            aaaa: aaaa.as_ref().map(lookup),
        });
        self.with_host_addresses(route).await
    }

    /// Checks that the MX hosts have addresses (RFC 5321 §5.1), in order of preference,
    /// stopping at the first that has one: most routes are settled by their first host.
    async fn with_host_addresses(&self, route: RouteDecision) -> RouteDecision {
        let hosts: Vec<String> = match &route.route {
            MailRoute::Hosts(hosts) if !hosts.iter().any(|h| h.implicit) => {
                hosts.iter().map(|h| h.host.clone()).collect()
            }
            _ => return route,
        };
        let mut answers = Vec::with_capacity(hosts.len());
        for host in &hosts {
            answers.push(self.host_addresses(host).await);
            let decided = check_mx_hosts(route.clone(), &host_evidence(&hosts, &answers));
            if matches!(decided.route, MailRoute::Hosts(_)) {
                return decided;
            }
        }
        check_mx_hosts(route, &host_evidence(&hosts, &answers))
    }

    /// The A and AAAA answers for a mail host, asked together, once while they live: many
    /// domains share their mail hosts.
    async fn host_addresses(&self, host: &str) -> Arc<OnceCell<Kept<HostAnswers>>> {
        let cell = shared_cell(&self.hosts, host);
        cell.get_or_init(|| async {
            let (a, aaaa) = tokio::join!(
                self.query(host, RecordType::A),
                self.query(host, RecordType::Aaaa)
            );
            // Both answers are kept as long as the shorter-lived may be.
            let ttl = match (&a, &aaaa) {
                (Some(a), Some(aaaa)) => cache_ttl(a).zip(cache_ttl(aaaa)).map(|(a, b)| a.min(b)),
                _ => None,
            };
            Kept::new(HostAnswers { a, aaaa }, ttl)
        })
        .await;
        cell
    }

    /// The addresses of a mail host, IPv4 before IPv6; empty when DNS has none or gave no
    /// answer.
    pub async fn host_ips(&self, host: &str) -> Vec<IpAddr> {
        let cell = self.host_addresses(host).await;
        let Some(Kept { value: answers, .. }) = cell.get() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (message, rtype) in [
            (&answers.a, RecordType::A),
            (&answers.aaaa, RecordType::Aaaa),
        ] {
            let Some(message) = message else { continue };
            for record in message.answers_for(host, rtype) {
                match record.data {
                    RData::A(ip) => out.push(IpAddr::V4(ip)),
                    RData::Aaaa(ip) => out.push(IpAddr::V6(ip)),
                    _ => {}
                }
            }
        }
        out
    }

    /// One query, through the endpoints in turn; `None` when none of them answered.
    async fn query(&self, name: &str, rtype: RecordType) -> Option<Message> {
        // RFC 8484 §4.1: ID 0, so that HTTP caches can share the answer.
        let wire = build_query(0, name, rtype).ok()?;
        let count = self.endpoints.len();
        let start = self.preferred.load(Ordering::Relaxed);
        for i in 0..count {
            let index = (start + i) % count;
            let endpoint = &self.endpoints[index];
            let outcome = tokio::time::timeout(self.timeout, self.exchange(&endpoint.url, &wire))
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

    /// GET, then POST when the GET was answered with something other than a DNS message.
    async fn exchange(&self, endpoint: &str, wire: &[u8]) -> Result<Message, EndpointFailure> {
        let get = self
            .client
            .get(doh_get_url(endpoint, wire))
            .header(ACCEPT, DNS_MESSAGE);
        match read_answer(get).await {
            Err(EndpointFailure::Status(_) | EndpointFailure::NotDns) => {}
            other => return other,
        }
        let post = self
            .client
            .post(endpoint)
            .header(ACCEPT, DNS_MESSAGE)
            .header(CONTENT_TYPE, DNS_MESSAGE)
            .body(wire.to_vec());
        read_answer(post).await
    }
}

/// A query's outcome as the core reads it; `None` when no endpoint answered.
fn lookup(answer: &Option<Message>) -> Lookup<'_> {
    answer.as_ref().map_or(Lookup::Failed, Lookup::Answer)
}

/// The evidence of the hosts looked up so far: `answers` holds the first hosts' answers.
fn host_evidence<'a>(
    hosts: &'a [String],
    answers: &'a [Arc<OnceCell<Kept<HostAnswers>>>],
) -> Vec<HostEvidence<'a>> {
    hosts
        .iter()
        .zip(answers)
        .filter_map(|(host, cell)| {
            cell.get().map(|kept| HostEvidence {
                host,
                a: lookup(&kept.value.a),
                aaaa: lookup(&kept.value.aaaa),
            })
        })
        .collect()
}

async fn read_answer(request: reqwest::RequestBuilder) -> Result<Message, EndpointFailure> {
    let mut response = request.send().await.map_err(EndpointFailure::Transport)?;
    // RFC 8484 §4.2.1: a DNS answer, even SERVFAIL, comes with a 2xx status.
    if !response.status().is_success() {
        return Err(EndpointFailure::Status(response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(EndpointFailure::Transport)? {
        if body.len() + chunk.len() > MAX_MESSAGE {
            return Err(EndpointFailure::NotDns);
        }
        body.extend_from_slice(&chunk);
    }
    parse_response(&body).map_err(|_| EndpointFailure::NotDns)
}

#[cfg(test)]
mod tests {
    //! Against a small DoH server on loopback that logs what it is asked: `mx.example` and
    //! `dangling.example` have an MX naming `mail.` under them, `mail.mx.example` and
    //! `implicit.example` an A record, and every other name is NXDOMAIN.

    use std::sync::Mutex as StdMutex;

    use mailvet_core::dns::MxHost;
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
        if behaviour == Behaviour::Silent {
            tokio::time::sleep(Duration::from_secs(60)).await;
            return;
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
        let (name, rtype, question_end) = question(&query);
        log.lock()
            .unwrap()
            .push((method.to_owned(), name.clone(), rtype));
        let (status, body) = match behaviour {
            Behaviour::PostOnly if method == "GET" => ("405 Method Not Allowed", Vec::new()),
            Behaviour::Garbage => ("200 OK", b"hello".to_vec()),
            _ => ("200 OK", answer(&query[..question_end], &name, rtype)),
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

    /// The question's name, type, and where it ends in the message.
    fn question(query: &[u8]) -> (String, u16, usize) {
        let mut labels = Vec::new();
        let mut at = 12;
        while query[at] != 0 {
            let len = usize::from(query[at]);
            labels.push(String::from_utf8(query[at + 1..at + 1 + len].to_vec()).unwrap());
            at += 1 + len;
        }
        let rtype = u16::from_be_bytes([query[at + 1], query[at + 2]]);
        (labels.join("."), rtype, at + 5)
    }

    /// A response echoing the question, with the records of this server's small zone.
    fn answer(question: &[u8], name: &str, rtype: u16) -> Vec<u8> {
        let mut rdata: Vec<(u16, Vec<u8>)> = Vec::new();
        let mut rcode = 0;
        match (name, rtype) {
            ("mx.example" | "dangling.example", 15) => {
                let mut mx = vec![0, 10, 4];
                mx.extend_from_slice(b"mail");
                for label in name.split('.') {
                    mx.push(label.len() as u8);
                    mx.extend_from_slice(label.as_bytes());
                }
                mx.push(0);
                rdata.push((15, mx));
            }
            ("mail.mx.example" | "implicit.example", 1) => rdata.push((1, vec![127, 0, 0, 1])),
            ("mx.example" | "dangling.example" | "mail.mx.example" | "implicit.example", _) => {}
            _ => rcode = 3,
        }
        let mut out = question.to_vec();
        out[2..4].copy_from_slice(&[0x81, 0x80 | rcode]);
        out[6..12].copy_from_slice(&[0, rdata.len() as u8, 0, 0, 0, 0]);
        for (rtype, data) in rdata {
            out.extend_from_slice(&[0xC0, 12]);
            out.extend_from_slice(&rtype.to_be_bytes());
            out.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
            out.extend_from_slice(&(data.len() as u16).to_be_bytes());
            out.extend_from_slice(&data);
        }
        out
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
    async fn answers_are_kept_for_their_ttl() {
        let cache: Cache<u32> = Mutex::default();
        let cell = shared_cell(&cache, "a");
        cell.get_or_init(|| async { Kept::new(1, Some(0)) }).await;
        // A TTL of 0: expired at once, so the next look-up gets a new cell.
        let again = shared_cell(&cache, "a");
        assert!(again.get().is_none());
        again.get_or_init(|| async { Kept::new(2, Some(60)) }).await;
        assert_eq!(shared_cell(&cache, "a").get().map(|k| k.value), Some(2));
        let now = Instant::now();
        assert!(Kept::new((), None).until <= now + SHORT_KEEP + Duration::from_secs(1));
        assert!(Kept::new((), Some(u32::MAX)).until <= now + MAX_KEEP + Duration::from_secs(1));
        assert!(Kept::new((), Some(600)).until >= now + Duration::from_secs(600));
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
        // The silent one never logs (it reads the request, then waits).
        assert!(asked(&silent_log).is_empty());
        // The next queries start at the endpoint that answered.
        let started = Instant::now();
        assert_eq!(r.route("mx.example").await, mx_route());
        assert!(started.elapsed() < Duration::from_millis(300));
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
            elapsed >= Duration::from_millis(200) && elapsed < Duration::from_secs(2),
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
