//! The prober's own parts (host order, random local parts, named hosts), and the whole prober
//! against scripted servers on loopback for what the mail world does not do: refuse EHLO, lack SMTPUTF8, take one recipient per session, greet with
//! 421, break STARTTLS, refuse our sender, drop the connection.

use mailvet_core::report::NotAsked;
use mailvet_core::smtp::Outcome;

use super::connection::shuffled;
use super::transport::random_local_part;
use super::*;

fn host(preference: u16, name: &str) -> MailHost {
    MailHost {
        preference,
        name: name.into(),
        literal: None,
    }
}

#[test]
fn equal_preferences_are_shuffled_and_order_kept() {
    let hosts = [
        host(20, "c"),
        host(10, "a1"),
        host(10, "a2"),
        host(10, "a3"),
        host(30, "d"),
    ];
    let mut firsts = std::collections::HashSet::new();
    for _ in 0..200 {
        let order: Vec<String> = shuffled(&hosts).into_iter().map(|h| h.name).collect();
        assert_eq!(&order[3..], ["c", "d"]);
        let mut group = order[..3].to_vec();
        firsts.insert(group[0].clone());
        group.sort();
        assert_eq!(group, ["a1", "a2", "a3"]);
    }
    // Each of the three came first at some point (a chance of 3 × (2/3)^200 to fail).
    assert_eq!(firsts.len(), 3);
}

#[test]
fn random_local_parts_differ() {
    let a = random_local_part().unwrap();
    let b = random_local_part().unwrap();
    assert_ne!(a, b);
    assert_eq!(a.len(), "mailvet-".len() + 20);
    assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
}

#[test]
fn named_hosts_are_sorted_and_deduplicated() {
    let hosts = MailHost::from_summaries(&[
        MxSummary {
            preference: 20,
            host: "MX2.example.".into(),
        },
        MxSummary {
            preference: 10,
            host: "mx1.example".into(),
        },
        MxSummary {
            preference: 30,
            host: "mx2.example".into(),
        },
    ]);
    let names: Vec<(u16, &str)> = hosts
        .iter()
        .map(|h| (h.preference, h.name.as_str()))
        .collect();
    assert_eq!(names, [(10, "mx1.example"), (20, "mx2.example")]);
}

/// What a scripted server does with a command line.
enum Act {
    Reply(&'static str),
    /// Replies, then closes the connection.
    ReplyAndClose(&'static str),
    Close,
}

/// A script: the command line and the lines before it on the same connection.
type Script = fn(&str, &[String]) -> Act;

/// The lines a scripted server received: connection number (from 1) and line.
type Heard = Arc<Mutex<Vec<(usize, String)>>>;

/// A scripted SMTP server on `ip`:`port` (0 for any port): greets with `greeting`, answers
/// each line as `script` says.
async fn scripted(ip: [u8; 4], port: u16, greeting: &'static str, script: Script) -> (u16, Heard) {
    let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::from(ip), port))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let heard = Heard::default();
    let log = Arc::clone(&heard);
    tokio::spawn(async move {
        let mut connections = 0;
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            connections += 1;
            let (number, log) = (connections, Arc::clone(&log));
            tokio::spawn(async move {
                use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
                let (read, mut write) = stream.into_split();
                let mut lines = tokio::io::BufReader::new(read).lines();
                let mut earlier = Vec::new();
                if write.write_all(greeting.as_bytes()).await.is_err() {
                    return;
                }
                while let Ok(Some(line)) = lines.next_line().await {
                    lock(&log).push((number, line.clone()));
                    let (reply, close) = match script(&line, &earlier) {
                        Act::Reply(r) => (r, false),
                        Act::ReplyAndClose(r) => (r, true),
                        Act::Close => ("", true),
                    };
                    if write.write_all(reply.as_bytes()).await.is_err() || close {
                        return;
                    }
                    earlier.push(line);
                }
            });
        }
    });
    (port, heard)
}

/// A plain server: no extensions, every mailbox exists but `nobody` and random ones.
fn ordinary(line: &str, _: &[String]) -> Act {
    let verb = line.get(..4).unwrap_or(line).to_ascii_uppercase();
    Act::Reply(match verb.as_str() {
        "EHLO" => "250-fake.test\r\n250 PIPELINING\r\n",
        "HELO" => "250 fake.test\r\n",
        "MAIL" | "RSET" => "250 2.0.0 OK\r\n",
        "RCPT" if line.contains("<nobody@") || line.contains("<mailvet-") => {
            "550 5.1.1 No such user\r\n"
        }
        "RCPT" => "250 2.1.5 OK\r\n",
        "QUIT" => "221 2.0.0 Bye\r\n",
        _ => "500 5.5.1 What?\r\n",
    })
}

fn test_prober(port: u16, per_host: usize) -> Prober {
    // Address literals need no DNS; nothing listens on port 9.
    let resolver = Resolver::new(
        &["http://127.0.0.1:9/dns-query".to_owned()],
        Duration::from_millis(100),
    )
    .unwrap();
    let config = ProbeConfig {
        port,
        step_timeout: Duration::from_secs(2),
        deadline: Duration::from_secs(5),
        helo: "probe.test".to_owned(),
        mail_from: String::new(),
        allow_private: true,
        per_host,
        sessions: 16,
        rcpt_per_session: 10,
        socks5: None,
    };
    Prober::new(config, Arc::new(resolver), Arc::default()).unwrap()
}

fn on(ip: [u8; 4], name: &str, preference: u16) -> MailHost {
    MailHost {
        preference,
        name: name.to_owned(),
        literal: Some(IpAddr::from(ip)),
    }
}

fn mailbox(text: &str) -> Mailbox {
    Mailbox::new(&mailvet_core::syntax::parse(text).unwrap())
}

fn outcome(e: &MailboxEvidence) -> Option<(Outcome, u16, &str, bool, Option<bool>)> {
    match e {
        MailboxEvidence::Answered {
            outcome,
            code,
            host,
            tls,
            catch_all,
            ..
        } => Some((*outcome, *code, host.as_str(), *tls, *catch_all)),
        _ => None,
    }
}

fn heard(log: &Heard) -> Vec<(usize, String)> {
    lock(log).clone()
}

#[tokio::test]
async fn helo_when_ehlo_is_refused_and_no_smtputf8_no_utf8_mailbox() {
    fn script(line: &str, earlier: &[String]) -> Act {
        if line.starts_with("EHLO") {
            Act::Reply("502 5.5.2 EHLO not implemented\r\n")
        } else {
            ordinary(line, earlier)
        }
    }
    let (port, log) = scripted([127, 0, 0, 1], 0, "220 fake.test\r\n", script).await;
    let prober = test_prober(port, 1);
    let host = || vec![on([127, 0, 0, 1], "fake.test", 10)];
    let found = prober.probe(mailbox("someone@[127.0.0.1]"), host()).await;
    assert_eq!(
        outcome(&found),
        Some((Outcome::Deliverable, 250, "fake.test", false, Some(false)))
    );
    // RFC 6531 §3.2: without SMTPUTF8 a UTF-8 mailbox cannot be named.
    let utf8 = prober.probe(mailbox("jörg@[127.0.0.1]"), host()).await;
    assert_eq!(
        utf8,
        MailboxEvidence::NotAsked {
            host: Some("fake.test".into()),
            why: NotAsked::NeedsSmtputf8
        }
    );
    let lines: Vec<String> = heard(&log).into_iter().map(|(_, l)| l).collect();
    assert_eq!(lines[..2], ["EHLO probe.test", "HELO probe.test"]);
    assert!(!lines.iter().any(|l| l.contains("jörg")), "{lines:?}");
}

#[tokio::test]
async fn a_server_taking_one_recipient_gets_a_session_per_address() {
    fn script(line: &str, earlier: &[String]) -> Act {
        if line.starts_with("RCPT") && earlier.iter().any(|l| l.starts_with("RCPT")) {
            Act::Reply("452 4.5.3 Too many recipients\r\n")
        } else {
            ordinary(line, earlier)
        }
    }
    let (port, log) = scripted([127, 0, 0, 1], 0, "220 fake.test\r\n", script).await;
    let prober = test_prober(port, 1);
    let host = || vec![on([127, 0, 0, 1], "fake.test", 10)];
    let (a, b, c) = tokio::join!(
        prober.probe(mailbox("a@[127.0.0.1]"), host()),
        prober.probe(mailbox("b@[127.0.0.1]"), host()),
        prober.probe(mailbox("c@[127.0.0.1]"), host()),
    );
    for e in [&a, &b, &c] {
        // The catch-all probe met the limit too: unknown, not false.
        assert_eq!(
            outcome(e),
            Some((Outcome::Deliverable, 250, "fake.test", false, None))
        );
    }
    let heard = heard(&log);
    let sessions = heard.iter().map(|(n, _)| *n).max();
    assert_eq!(sessions, Some(3), "{heard:?}");
    let accepted: Vec<&str> = heard
        .iter()
        .filter(|(_, l)| l.starts_with("RCPT TO:<") && !l.contains("mailvet-"))
        .map(|(_, l)| l.as_str())
        .collect();
    // b and c were each refused once (452) and asked again in a new session.
    assert_eq!(accepted.len(), 5, "{heard:?}");
}

#[tokio::test]
async fn a_busy_host_passes_to_the_next() {
    let (port, busy) = scripted(
        [127, 0, 0, 1],
        0,
        "421 4.3.2 Too busy, try later\r\n",
        ordinary,
    )
    .await;
    let (_, good) = scripted([127, 0, 0, 2], port, "220 fake.test\r\n", ordinary).await;
    let prober = test_prober(port, 1);
    let hosts = vec![
        on([127, 0, 0, 2], "second.test", 20),
        on([127, 0, 0, 1], "first.test", 10),
    ];
    let e = prober.probe(mailbox("someone@example.test"), hosts).await;
    assert_eq!(
        outcome(&e),
        Some((Outcome::Deliverable, 250, "second.test", false, Some(false)))
    );
    // Nothing but a QUIT after the 421.
    assert!(
        heard(&busy).iter().all(|(_, l)| l == "QUIT"),
        "{:?}",
        heard(&busy)
    );
    assert!(!heard(&good).is_empty());

    // When every host is busy, the last greeting is the answer.
    let only_busy = vec![on([127, 0, 0, 1], "first.test", 10)];
    let e = prober.probe(mailbox("someone@other.test"), only_busy).await;
    assert_eq!(
        outcome(&e),
        Some((Outcome::TemporaryFailure, 421, "first.test", false, None))
    );
}

#[tokio::test]
async fn a_failed_starttls_goes_on_in_cleartext() {
    fn script(line: &str, earlier: &[String]) -> Act {
        match line {
            l if l.starts_with("EHLO") => Act::Reply("250-fake.test\r\n250 STARTTLS\r\n"),
            "STARTTLS" => Act::ReplyAndClose("220 2.0.0 Go ahead\r\n"),
            _ => ordinary(line, earlier),
        }
    }
    let (port, log) = scripted([127, 0, 0, 1], 0, "220 fake.test\r\n", script).await;
    let prober = test_prober(port, 1);
    let e = prober
        .probe(
            mailbox("someone@[127.0.0.1]"),
            vec![on([127, 0, 0, 1], "fake.test", 10)],
        )
        .await;
    assert_eq!(
        outcome(&e),
        Some((Outcome::Deliverable, 250, "fake.test", false, Some(false)))
    );
    let heard = heard(&log);
    let first: Vec<&str> = heard
        .iter()
        .filter(|(n, _)| *n == 1)
        .map(|(_, l)| l.as_str())
        .collect();
    assert_eq!(first, ["EHLO probe.test", "STARTTLS"]);
    // RFC 7435 §3: the second connection stays in cleartext and does not try again.
    assert!(
        heard.iter().any(|(n, l)| *n == 2 && l.starts_with("RCPT")),
        "{heard:?}"
    );
    assert!(!heard.iter().any(|(n, l)| *n == 2 && l == "STARTTLS"));
}

#[tokio::test]
async fn a_refused_sender_answers_every_address_waiting() {
    fn script(line: &str, earlier: &[String]) -> Act {
        if line.starts_with("MAIL") {
            Act::Reply("550 5.7.1 Sender rejected by policy\r\n")
        } else {
            ordinary(line, earlier)
        }
    }
    let (port, log) = scripted([127, 0, 0, 1], 0, "220 fake.test\r\n", script).await;
    let prober = test_prober(port, 1);
    let host = || vec![on([127, 0, 0, 1], "fake.test", 10)];
    let (a, b, c) = tokio::join!(
        prober.probe(mailbox("a@[127.0.0.1]"), host()),
        prober.probe(mailbox("b@[127.0.0.1]"), host()),
        prober.probe(mailbox("c@[127.0.0.1]"), host()),
    );
    for e in [&a, &b, &c] {
        assert_eq!(
            outcome(e),
            Some((Outcome::Blocked, 550, "fake.test", false, None))
        );
    }
    let heard = heard(&log);
    assert!(heard.iter().all(|(n, _)| *n == 1), "{heard:?}");
    assert_eq!(
        heard.iter().filter(|(_, l)| l.starts_with("MAIL")).count(),
        1
    );
}

#[tokio::test]
async fn a_dropped_connection_is_tried_once_more() {
    fn script(line: &str, earlier: &[String]) -> Act {
        if line.contains("<drop@") {
            Act::Close
        } else {
            ordinary(line, earlier)
        }
    }
    let (port, log) = scripted([127, 0, 0, 1], 0, "220 fake.test\r\n", script).await;
    let prober = test_prober(port, 1);
    let e = prober
        .probe(
            mailbox("drop@[127.0.0.1]"),
            vec![on([127, 0, 0, 1], "fake.test", 10)],
        )
        .await;
    assert_eq!(e, MailboxEvidence::Unreachable);
    let heard = heard(&log);
    let asked: Vec<usize> = heard
        .iter()
        .filter(|(_, l)| l.contains("<drop@"))
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(asked, [1, 2], "{heard:?}");
}

#[tokio::test]
async fn a_closed_port_is_unreachable_and_a_private_one_not_asked() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let prober = test_prober(port, 1);
    let e = prober
        .probe(
            mailbox("someone@[127.0.0.1]"),
            vec![on([127, 0, 0, 1], "fake.test", 10)],
        )
        .await;
    assert_eq!(e, MailboxEvidence::Unreachable);

    let mut config = prober.config().clone();
    config.allow_private = false;
    let resolver = Resolver::new(
        &["http://127.0.0.1:9/dns-query".to_owned()],
        Duration::from_millis(100),
    )
    .unwrap();
    let strict = Prober::new(config, Arc::new(resolver), Arc::default()).unwrap();
    let e = strict
        .probe(
            mailbox("someone@[127.0.0.1]"),
            vec![on([127, 0, 0, 1], "fake.test", 10)],
        )
        .await;
    assert_eq!(
        e,
        MailboxEvidence::NotAsked {
            host: Some("fake.test".into()),
            why: NotAsked::PrivateAddress
        }
    );
}
