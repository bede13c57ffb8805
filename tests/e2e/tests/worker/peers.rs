//! Real HTTP peers of the Worker on loopback, each a `TcpListener` served by threads:
//!
//! - [`Relay`]: a DNS-over-HTTPS endpoint that passes each query on to the world's DoH server,
//!   records it, and can stall, fail or refuse the GET form for chosen names, so that tests see
//!   which queries reached a resolver (the cache) and how the Worker fails over.
//! - [`Prober`]: the companion prober's `POST /v1/probe`, answering from a table, checking the
//!   bearer token and recording each call.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use mailvet_core::dns::{RecordType, parse_response};
use mailvet_core::report::{MailboxEvidence, ProbeRequest, ProbeResponse};
use mailvet_e2e::http;

/// How long a peer waits for a request to arrive.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The most a peer reads of one request.
const MAX_REQUEST: usize = 1 << 20;

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Reply {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            content_type: "text/plain".into(),
            body: body.as_bytes().to_vec(),
        }
    }
}

/// Serves `handler` on a fresh loopback port, a thread per connection, for the rest of the
/// process.
fn serve(handler: impl Fn(Request) -> Reply + Send + Sync + 'static) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let handler = Arc::new(handler);
    thread::Builder::new()
        .name(format!("peer {addr}"))
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let handler = Arc::clone(&handler);
                let _ = thread::Builder::new().spawn(move || {
                    // A client that gave up (an aborted fetch) is no failure of the peer.
                    let _ = answer(stream, &*handler);
                });
            }
        })?;
    Ok(addr)
}

fn answer(stream: TcpStream, handler: &dyn Fn(Request) -> Reply) -> io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Ok(());
    };
    let (method, target) = (method.to_owned(), target.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
        if let Some((name, value)) = line.trim_end().split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_REQUEST);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let reply = handler(Request {
        method,
        target,
        headers,
        body,
    });
    let mut stream = reader.into_inner();
    write!(
        stream,
        "HTTP/1.1 {} Peer\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.status,
        reply.content_type,
        reply.body.len()
    )?;
    stream.write_all(&reply.body)?;
    stream.flush()
}

/// What a [`Relay`] does with one query, chosen by the name asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Answer as the world answers.
    Forward,
    /// Answer as the world does, but only after this long.
    Stall(Duration),
    /// Answer with this HTTP status instead.
    Fail(u16),
    /// Answer GET with 405 (RFC 8484 lets a server offer POST alone), POST as the world does.
    PostOnly,
}

/// One query a relay received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub method: String,
    /// In presentation form (lowercase, no final dot).
    pub name: String,
    pub rtype: RecordType,
}

pub struct Relay {
    url: String,
    log: Arc<Mutex<Vec<Query>>>,
}

impl Relay {
    /// A relay in front of `upstream` (the world's DoH URL) that treats each query as `rule`
    /// says for its name.
    pub fn start(upstream: &str, rule: fn(&str) -> Rule) -> io::Result<Relay> {
        let log = Arc::new(Mutex::new(Vec::new()));
        let upstream = upstream.to_owned();
        let recorded = Arc::clone(&log);
        let addr = serve(move |request| relay(&upstream, rule, &recorded, request))?;
        Ok(Relay {
            url: format!("http://{addr}/dns-query"),
            log,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every query for `name` so far, in order.
    pub fn queries_for(&self, name: &str) -> Vec<Query> {
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.iter().filter(|q| q.name == name).cloned().collect()
    }
}

/// Passes the query on first and reads the question from the world's answer: the relay needs
/// no DNS query parser of its own, and the answer's question is exactly what was asked.
fn relay(
    upstream: &str,
    rule: fn(&str) -> Rule,
    log: &Mutex<Vec<Query>>,
    request: Request,
) -> Reply {
    let answer = match request.method.as_str() {
        "GET" => {
            let query = request.target.split_once('?').map_or("", |(_, q)| q);
            http::request("GET", &format!("{upstream}?{query}"), &[], None)
        }
        "POST" => http::request(
            "POST",
            upstream,
            &[("Content-Type", "application/dns-message")],
            Some(&request.body),
        ),
        _ => return Reply::text(405, "GET or POST"),
    };
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => return Reply::text(502, &format!("upstream: {e}")),
    };
    let Some(question) = parse_response(&answer.body)
        .ok()
        .and_then(|m| m.questions.into_iter().next())
    else {
        return Reply::text(502, "upstream answer without a question");
    };
    log.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Query {
            method: request.method.clone(),
            name: question.name.clone(),
            rtype: question.rtype,
        });
    let forwarded = Reply {
        status: answer.status,
        content_type: answer.content_type.unwrap_or_default(),
        body: answer.body,
    };
    match rule(&question.name) {
        Rule::Forward => forwarded,
        Rule::Stall(pause) => {
            thread::sleep(pause);
            forwarded
        }
        Rule::Fail(status) => Reply::text(status, "this relay fails for this name"),
        Rule::PostOnly if request.method == "GET" => Reply::text(405, "POST only"),
        Rule::PostOnly => forwarded,
    }
}

/// What the prober does for one address.
pub enum Answer {
    Now(MailboxEvidence),
    /// Answers only after this long.
    After(Duration, MailboxEvidence),
}

/// One call the prober received.
#[derive(Clone, Debug)]
pub struct ProbeCall {
    pub authorization: Option<String>,
    pub request: ProbeRequest,
}

pub struct Prober {
    url: String,
    log: Arc<Mutex<Vec<ProbeCall>>>,
}

impl Prober {
    /// A prober that accepts only `Authorization: Bearer {token}` and answers as `table` says.
    pub fn start(token: &'static str, table: fn(&ProbeRequest) -> Answer) -> io::Result<Prober> {
        let log = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&log);
        let addr = serve(move |request| probe(token, table, &recorded, request))?;
        Ok(Prober {
            url: format!("http://{addr}"),
            log,
        })
    }

    /// The base URL, as `PROBE_URL` takes it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every call for `email` so far.
    pub fn calls_for(&self, email: &str) -> Vec<ProbeCall> {
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.iter()
            .filter(|c| c.request.email == email)
            .cloned()
            .collect()
    }
}

fn probe(
    token: &str,
    table: fn(&ProbeRequest) -> Answer,
    log: &Mutex<Vec<ProbeCall>>,
    request: Request,
) -> Reply {
    if (request.method.as_str(), request.target.as_str()) != ("POST", "/v1/probe") {
        return Reply::text(404, "POST /v1/probe");
    }
    let Ok(probe_request) = serde_json::from_slice::<ProbeRequest>(&request.body) else {
        return Reply::text(400, "not a ProbeRequest");
    };
    let authorization = request.header("Authorization").map(str::to_owned);
    log.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(ProbeCall {
            authorization: authorization.clone(),
            request: probe_request.clone(),
        });
    if authorization.as_deref() != Some(&format!("Bearer {token}")) {
        return Reply::text(401, "wrong token");
    }
    let evidence = match table(&probe_request) {
        Answer::Now(evidence) => evidence,
        Answer::After(pause, evidence) => {
            thread::sleep(pause);
            evidence
        }
    };
    match serde_json::to_vec(&ProbeResponse { evidence }) {
        Ok(body) => Reply {
            status: 200,
            content_type: "application/json".into(),
            body,
        },
        Err(e) => Reply::text(500, &e.to_string()),
    }
}
