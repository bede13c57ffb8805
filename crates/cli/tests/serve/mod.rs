//! `mailvet serve` as the Worker talks to it: a real process on a loopback port, probing the
//! world's exim, stopped with SIGTERM at the end of each test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use mailvet_e2e::World;
use mailvet_e2e::http::{self, HttpResponse};
use serde_json::{Value, json};

use crate::smtp::assert_well_behaved;
use crate::support::mailvet;

const TOKEN: &str = "world-test-token-0123456789";

struct Server {
    child: Option<Child>,
    base: String,
    /// Standard error after the first line, collected until the process ends.
    log: Option<JoinHandle<Vec<String>>>,
}

impl Server {
    /// `mailvet serve` on a free port, probing the world; `extra` adds options.
    fn start(world: &World, helo: &str, extra: &[&str]) -> Server {
        let port = world.smtp_addr().port().to_string();
        let mut child = mailvet()
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--doh",
                world.doh_url(),
                "--smtp-port",
                &port,
                "--helo",
                helo,
                "--smtp-timeout",
                "3",
                "--smtp-deadline",
                "5",
            ])
            .args(extra)
            .env("MAILVET_TOKEN", TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mailvet serve");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut first = String::new();
        stderr.read_line(&mut first).expect("first line");
        let base = first
            .trim()
            .strip_prefix("mailvet serve: listening on ")
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_owned();
        let log = thread::spawn(move || stderr.lines().map_while(Result::ok).collect());
        Server {
            child: Some(child),
            base,
            log: Some(log),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn post(&self, token: Option<&str>, body: &[u8]) -> HttpResponse {
        self.post_to("/v1/probe", token, body)
    }

    fn post_to(&self, path: &str, token: Option<&str>, body: &[u8]) -> HttpResponse {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(bearer) = &bearer {
            headers.push(("Authorization", bearer));
        }
        http::request("POST", &self.url(path), &headers, Some(body)).expect("POST")
    }

    fn probe(&self, request: &Value) -> Value {
        let answer = self.post(Some(TOKEN), request.to_string().as_bytes());
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert_eq!(answer.content_type.as_deref(), Some("application/json"));
        serde_json::from_slice(&answer.body).expect("JSON")
    }

    fn get(&self, path: &str) -> HttpResponse {
        http::request("GET", &self.url(path), &[], None).expect("GET")
    }

    /// SIGTERM, then the exit status and what it logged.
    fn stop(mut self) -> (ExitStatus, Vec<String>) {
        let mut child = self.child.take().expect("running");
        let signalled = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("kill");
        assert!(signalled.success());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if started.elapsed() > Duration::from_secs(15) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("mailvet serve did not stop on SIGTERM");
            }
            thread::sleep(Duration::from_millis(20));
        };
        let log = self.log.take().expect("log").join().expect("log");
        (status, log)
    }
}

impl Drop for Server {
    /// A test that failed before `stop` leaves no server behind.
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The error code and message of a JSON error answer.
fn error_of(answer: &HttpResponse) -> (u16, String) {
    let body: Value =
        serde_json::from_slice(&answer.body).unwrap_or_else(|e| panic!("{e}: {}", answer.text()));
    let message = body["error"]["message"].as_str().expect("message");
    assert!(!message.is_empty());
    (
        answer.status,
        body["error"]["code"].as_str().expect("code").to_owned(),
    )
}

pub fn serve_requires_the_token(world: &World) {
    let server = Server::start(world, "token.serve.mailvet.test", &["--allow-private"]);
    let body = br#"{"email":"alice@valid.test"}"#;
    for token in [None, Some("wrong-token-0123456789"), Some("")] {
        let answer = server.post(token, body);
        assert_eq!(error_of(&answer), (401, "unauthorized".into()), "{token:?}");
        assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
    }
    let basic = http::request(
        "POST",
        &server.url("/v1/probe"),
        &[("Authorization", &format!("Basic {TOKEN}"))],
        Some(body),
    )
    .expect("POST");
    assert_eq!(error_of(&basic), (401, "unauthorized".into()));
    let (status, log) = server.stop();
    assert!(status.success(), "{status:?}");
    // Refused requests probe nothing.
    assert!(!log.iter().any(|l| l.starts_with("probe ")), "{log:?}");
}

pub fn serve_rejects_bad_requests(world: &World) {
    let server = Server::start(world, "bad.serve.mailvet.test", &["--allow-private"]);
    for body in [
        &b"{\"email\":"[..],
        b"not json",
        b"{\"mail\":\"alice@valid.test\"}",
        b"[]",
        b"{\"email\":\"alice@valid.test\",\"mx\":\"mx.valid.test\"}",
    ] {
        let answer = server.post(Some(TOKEN), body);
        assert_eq!(
            error_of(&answer),
            (400, "bad_request".into()),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    let answer = server.post(Some(TOKEN), br#"{"email":"alice.valid.test"}"#);
    assert_eq!(error_of(&answer), (400, "invalid_email".into()));
    assert!(answer.text().contains('@'), "{}", answer.text());

    // Over the limit by Content-Length: refused before the body is read.
    let big = format!(
        "{{\"email\":\"alice@valid.test\",\"pad\":\"{}\"}}",
        "x".repeat(17 * 1024)
    );
    let answer = server.post(Some(TOKEN), big.as_bytes());
    assert_eq!(error_of(&answer), (413, "payload_too_large".into()));
    // Over the limit in chunks, with no length declared: refused once the limit is passed.
    let answer = chunked_post(&server, big.as_bytes());
    assert_eq!(error_of(&answer), (413, "payload_too_large".into()));

    let answer = server.get("/nowhere");
    assert_eq!(error_of(&answer), (404, "not_found".into()));
    let answer = server.get("/v1/probe");
    assert_eq!(error_of(&answer), (405, "method_not_allowed".into()));
    assert_eq!(answer.header("allow"), Some("POST"));
    let answer = http::request("DELETE", &server.url("/healthz"), &[], None).expect("DELETE");
    assert_eq!(error_of(&answer), (405, "method_not_allowed".into()));
    assert_eq!(answer.header("allow"), Some("GET"));
    let (status, _) = server.stop();
    assert!(status.success());
}

/// A POST whose body comes in 1 KiB chunks (RFC 9112 §7.1), without Content-Length.
fn chunked_post(server: &Server, body: &[u8]) -> HttpResponse {
    let url = server.url("/v1/probe");
    let (addr, target) = http::split_url(&url).expect("url");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let head = format!(
        "POST {target} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).expect("head");
    for chunk in body.chunks(1024) {
        let sent = stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .and_then(|()| stream.write_all(chunk))
            .and_then(|()| stream.write_all(b"\r\n"));
        // The server may answer and close before the rest arrives.
        if sent.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    http::parse_response(&raw).expect("response")
}

pub fn serve_probes_and_counts(world: &World) {
    let helo = "probe.serve.mailvet.test";
    let server = Server::start(world, helo, &["--allow-private"]);
    // With the MX hosts the Worker found, as it sends them.
    let found = server.probe(&json!({
        "email": "alice@valid.test",
        "mx": [{"preference": 10, "host": "mx.valid.test"}],
    }));
    assert_eq!(found["evidence"]["result"], "answered");
    assert_eq!(found["evidence"]["outcome"], "deliverable");
    assert_eq!(found["evidence"]["host"], "mx.valid.test");
    assert_eq!(found["evidence"]["tls"], true);
    assert_eq!(found["evidence"]["catch_all"], false);
    // Without: the prober looks the MX up itself.
    let missing = server.probe(&json!({"email": "carol@valid.test"}));
    assert_eq!(missing["evidence"]["outcome"], "mailbox_not_found");
    assert_eq!(missing["evidence"]["code"], 550);
    assert_eq!(missing["evidence"]["enhanced"], "5.1.1");
    let utf8 = server.probe(&json!({"email": "jörg@bücher.test"}));
    assert_eq!(utf8["evidence"]["outcome"], "deliverable");
    let nowhere = server.probe(&json!({"email": "alice@does-not-exist.test"}));
    assert_eq!(nowhere["evidence"], json!({"result": "unreachable"}));

    let health = server.get("/healthz");
    assert_eq!(health.status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&health.body).expect("JSON"),
        json!({"status": "ok"})
    );
    let metrics = server.get("/metrics");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        metrics.content_type
    );
    let text = metrics.text();
    for line in [
        "mailvet_probes_total{outcome=\"deliverable\"} 2",
        "mailvet_probes_total{outcome=\"mailbox_not_found\"} 1",
        "mailvet_probes_total{outcome=\"unreachable\"} 1",
        "mailvet_probes_in_flight 0",
        "mailvet_probe_duration_seconds_count 4",
        "mailvet_probe_duration_seconds_bucket{le=\"+Inf\"} 4",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
    let sessions = text
        .lines()
        .find_map(|l| l.strip_prefix("mailvet_smtp_sessions_total "))
        .and_then(|n| n.parse::<u64>().ok())
        .expect("sessions counter");
    assert!((2..=3).contains(&sessions), "{text}");

    let (status, log) = server.stop();
    assert!(status.success(), "{status:?}");
    let probes: Vec<&String> = log.iter().filter(|l| l.starts_with("probe ")).collect();
    assert_eq!(probes.len(), 4, "{log:?}");
    assert!(
        probes[0].starts_with(
            "probe domain=valid.test outcome=deliverable host=mx.valid.test tls=true ms="
        ),
        "{probes:?}"
    );
    assert!(
        probes[2].contains("domain=xn--bcher-kva.test"),
        "{probes:?}"
    );
    // Domains only: no local part reaches the log.
    for secret in ["alice", "carol", "jörg", "j\\303\\266rg"] {
        assert!(!log.iter().any(|l| l.contains(secret)), "{log:?}");
    }
    assert_eq!(
        log.last().map(String::as_str),
        Some("mailvet serve: stopped")
    );
    assert_well_behaved(world, helo);
}

pub fn serve_refuses_private_hosts_unless_allowed(world: &World) {
    let server = Server::start(world, "private.serve.mailvet.test", &[]);
    let answer = server.probe(&json!({"email": "alice@valid.test"}));
    assert_eq!(
        answer["evidence"],
        json!({"result": "not_asked", "host": "mx.valid.test", "why": "private_address"})
    );
    let (status, _) = server.stop();
    assert!(status.success());
}

pub fn serve_says_429_when_busy_and_drains_on_sigterm(world: &World) {
    let server = Server::start(
        world,
        "busy.serve.mailvet.test",
        &["--allow-private", "--concurrency", "1"],
    );
    let url = server.url("/v1/probe");
    // The tarpit holds the only slot until the deadline (5 s).
    let slow = thread::spawn(move || {
        let bearer = format!("Bearer {TOKEN}");
        http::request(
            "POST",
            &url,
            &[("Authorization", &bearer)],
            Some(br#"{"email":"anyone@tarpit.test"}"#),
        )
        .expect("POST")
    });
    let started = Instant::now();
    while !server
        .get("/metrics")
        .text()
        .contains("mailvet_probes_in_flight 1\n")
    {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "never in flight"
        );
        thread::sleep(Duration::from_millis(20));
    }
    let answer = server.post(Some(TOKEN), br#"{"email":"alice@valid.test"}"#);
    assert_eq!(error_of(&answer), (429, "too_many_requests".into()));
    assert_eq!(answer.header("retry-after"), Some("1"));
    // SIGTERM while the slow probe runs: it is answered before the process ends.
    let (status, log) = server.stop();
    assert!(status.success(), "{status:?}");
    let slow = slow.join().expect("slow request");
    assert_eq!(slow.status, 200, "{}", slow.text());
    let evidence: Value = serde_json::from_slice(&slow.body).expect("JSON");
    assert_eq!(
        evidence["evidence"],
        json!({"result": "timeout", "host": "mx.tarpit.test"})
    );
    assert!(
        log.iter().any(|l| l.starts_with("mailvet serve: stopping")),
        "{log:?}"
    );
}

pub fn serve_needs_a_long_token(_world: &World) {
    let output = mailvet()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("MAILVET_TOKEN", "short")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.starts_with("error: --token must be at least 16"),
        "{err}"
    );
    assert!(!err.contains("short"), "{err}");
}

/// `POST /v1/probe/batch`: one domain's addresses answered in order, sharing sessions.
pub fn serve_probes_a_batch_in_shared_sessions(world: &World) {
    let helo = "batch.serve.mailvet.test";
    let server = Server::start(
        world,
        helo,
        &["--allow-private", "--rcpt-per-session", "10"],
    );
    let mut emails = vec!["alice@valid.test".to_owned(), "carol@valid.test".to_owned()];
    emails.extend((0..23).map(|i| format!("nobody{i}@VALID.test")));
    emails.push("alice@valid.test".to_owned());
    let answer = server.post_to(
        "/v1/probe/batch",
        Some(TOKEN),
        json!({"domain": "valid.test", "emails": emails, "mx": [{"preference": 10, "host": "mx.valid.test"}]})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body: Value = serde_json::from_slice(&answer.body).expect("JSON");
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), emails.len());
    for (result, email) in results.iter().zip(&emails) {
        assert_eq!(result["email"], email.as_str());
        let want = if email.starts_with("alice@") {
            "deliverable"
        } else {
            "mailbox_not_found"
        };
        assert_eq!(result["evidence"]["outcome"], want, "{email}: {result}");
    }
    // 26 recipients, at most 10 a session: sessions were shared (each probe alone would have
    // opened one of its own).
    let metrics = server.get("/metrics").text();
    let sessions = metrics
        .lines()
        .find_map(|l| l.strip_prefix("mailvet_smtp_sessions_total "))
        .and_then(|n| n.parse::<u64>().ok())
        .expect("sessions counter");
    assert!(
        (3..=8).contains(&sessions),
        "{sessions} sessions for 26 recipients"
    );

    // A batch is one domain, of 1 to 1,000 valid addresses, with the token.
    for (body, code) in [
        (
            json!({"domain": "valid.test", "emails": ["a@valid.test", "b@other.test"]}),
            "invalid_email",
        ),
        (
            json!({"domain": "valid.test", "emails": ["a@valid.test", "nope"]}),
            "invalid_email",
        ),
        (json!({"domain": "valid.test", "emails": []}), "bad_request"),
        (
            json!({"domain": "valid.test", "emails": vec!["a@valid.test"; 1_001]}),
            "bad_request",
        ),
        (json!({"emails": ["a@valid.test"]}), "bad_request"),
    ] {
        let answer = server.post_to("/v1/probe/batch", Some(TOKEN), body.to_string().as_bytes());
        assert_eq!(error_of(&answer), (400, code.to_owned()), "{body}");
    }
    let unauthorized = server.post_to("/v1/probe/batch", None, b"{}");
    assert_eq!(error_of(&unauthorized).0, 401);
    let (status, log) = server.stop();
    assert!(status.success(), "{status:?}");
    for secret in ["alice", "carol", "nobody"] {
        assert!(!log.iter().any(|l| l.contains(secret)), "{log:?}");
    }
    assert_well_behaved(world, helo);
}

/// `--public-ip` on a blocklist: the prober says so and stops probing; off it, it probes.
pub fn serve_stops_probing_while_listed(world: &World) {
    let dns = world.dns_addr().to_string();
    let helo = "listed.serve.mailvet.test";
    let listed_args = [
        "--allow-private",
        "--public-ip",
        "127.0.0.2",
        "--dnsbl",
        "dnsbl.test",
        "--dnsbl-resolver",
        &dns,
    ];
    let server = Server::start(world, helo, &listed_args);
    let health: Value = serde_json::from_slice(&server.get("/healthz").body).expect("JSON");
    assert_eq!(health["status"], "listed", "{health}");
    assert_eq!(health["listed"], json!(["dnsbl.test"]));
    assert_eq!(health["dnsbl"][0]["codes"], json!(["127.0.0.2"]));
    let answer = server.probe(&json!({"email": "alice@valid.test"}));
    assert_eq!(
        answer["evidence"],
        json!({"result": "not_asked", "why": "prober_listed"})
    );
    let metrics = server.get("/metrics").text();
    assert!(
        metrics
            .lines()
            .any(|l| l == "mailvet_prober_listed{zone=\"dnsbl.test\"} 1"),
        "{metrics}"
    );
    let (status, log) = server.stop();
    assert!(status.success());
    assert!(
        log.iter()
            .any(|l| l.contains("127.0.0.2 is listed on dnsbl.test")),
        "{log:?}"
    );
    // Nothing reached the mail server from the listed prober.
    let smtp_log = world.smtp_log().expect("exim log");
    assert!(!smtp_log.contains(helo), "the listed prober spoke SMTP");

    let clean_args = [
        "--allow-private",
        "--public-ip",
        "127.0.0.1",
        "--dnsbl",
        "dnsbl.test",
        "--dnsbl-resolver",
        &dns,
    ];
    let server = Server::start(world, "clean.serve.mailvet.test", &clean_args);
    let health: Value = serde_json::from_slice(&server.get("/healthz").body).expect("JSON");
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["dnsbl"][0]["status"], "not_listed");
    let answer = server.probe(&json!({"email": "alice@valid.test"}));
    assert_eq!(answer["evidence"]["outcome"], "deliverable");
    // POST /v1/dnsbl: what the Worker asks for a domain's blocklist part.
    let asked = json!({"ips": ["127.0.0.2", "127.0.0.1"], "zones": ["dnsbl.test"]});
    let answer = server.post_to("/v1/dnsbl", Some(TOKEN), asked.to_string().as_bytes());
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body: Value = serde_json::from_slice(&answer.body).expect("JSON");
    assert_eq!(body["dnsbl"][0]["status"], "listed", "{body}");
    assert_eq!(body["dnsbl"][1]["status"], "not_listed", "{body}");
    let unauthorized = server.post_to("/v1/dnsbl", None, asked.to_string().as_bytes());
    assert_eq!(error_of(&unauthorized).0, 401);
    let (status, _) = server.stop();
    assert!(status.success());
}
