//! `mailvet check` with the mailbox layer against the world's exim: every case of
//! tests/world/README.md, and what exim's log proves about each conversation (the HELO name,
//! STARTTLS, SMTPUTF8, how many sessions, and that DATA never came).
//!
//! Each test says EHLO with a name of its own, which finds its conversations in the shared log.

use std::fs;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use mailvet_e2e::World;
use mailvet_e2e::runner;
use serde_json::{Value, json};

use crate::support::{codes, reports, run};

/// The step timeout and the deadline of the ordinary cases, in seconds: ample on loopback.
const STEP: &str = "3";
const DEADLINE: &str = "6";

pub struct Probed {
    pub reports: Vec<Value>,
    pub stderr: String,
    pub took: Duration,
}

/// `mailvet check` with SMTP against the world (its port, --allow-private), saying EHLO `helo`.
pub fn probe(world: &World, helo: &str, extra: &[&str], addresses: &[&str]) -> Probed {
    let port = world.smtp_addr().port().to_string();
    let mut args = vec![
        "check",
        "--doh",
        world.doh_url(),
        "--smtp-port",
        &port,
        "--allow-private",
        "--helo",
        helo,
    ];
    for (option, default) in [("--smtp-timeout", STEP), ("--smtp-deadline", DEADLINE)] {
        if !extra.contains(&option) {
            args.extend([option, default]);
        }
    }
    args.extend_from_slice(extra);
    args.extend_from_slice(addresses);
    let started = Instant::now();
    let output = run(&args, b"");
    let took = started.elapsed();
    let reports = reports(&output);
    assert_eq!(reports.len(), addresses.len());
    Probed {
        reports,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        took,
    }
}

fn one(world: &World, helo: &str, address: &str) -> Value {
    probe(world, helo, &[], &[address]).reports.remove(0)
}

/// `checks.smtp`: the mailbox layer's status and evidence.
fn smtp(r: &Value) -> &Value {
    &r["checks"]["smtp"]
}

/// The verdict, the reason codes, the evidence's kind and the classified outcome.
fn decided(r: &Value) -> (&str, Vec<&str>, &str, &str) {
    (
        r["verdict"].as_str().expect("verdict"),
        codes(r),
        smtp(r)["result"].as_str().unwrap_or("-"),
        smtp(r)["outcome"].as_str().unwrap_or("-"),
    )
}

/// The reply a mail server gave: code, enhanced status, host, TLS.
fn reply(r: &Value) -> (u64, &str, &str, bool) {
    let s = smtp(r);
    (
        s["code"].as_u64().unwrap_or(0),
        s["enhanced"].as_str().unwrap_or("-"),
        s["host"].as_str().unwrap_or("-"),
        s["tls"].as_bool().unwrap_or(false),
    )
}

/// One client connection in exim's log: the lines from its `connected to` on, for its
/// `[IP]:PORT`. A port used again later starts a new conversation.
#[derive(Debug)]
pub struct Conversation {
    pub lines: Vec<String>,
}

impl Conversation {
    /// What the world logged the client saying (`world: TAG WHAT`), in order.
    pub fn said(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| l.split_once("world: "))
            .filter_map(|(_, rest)| rest.split_once(' '))
            .map(|(_, what)| what)
            .filter(|what| !what.starts_with("connected to"))
            .collect()
    }

    fn count(&self, prefix: &str) -> usize {
        self.said().iter().filter(|s| s.starts_with(prefix)).count()
    }
}

/// The conversations in which the client said EHLO or HELO `helo`.
pub fn conversations(world: &World, helo: &str) -> Vec<Conversation> {
    let log = world.smtp_log().expect("exim log");
    let mut all: Vec<(String, Conversation)> = Vec::new();
    for line in log.lines() {
        if let Some((_, rest)) = line.split_once("world: ")
            && let Some((tag, what)) = rest.split_once(' ')
            && what.starts_with("connected to")
        {
            all.push((tag.to_owned(), Conversation { lines: Vec::new() }));
        }
        // exim's own lines name the client as `[IP]:PORT ` too.
        if let Some((_, c)) = all
            .iter_mut()
            .rev()
            .find(|(tag, _)| line.contains(&format!("{tag} ")))
        {
            c.lines.push(line.to_owned());
        }
    }
    all.into_iter()
        .map(|(_, c)| c)
        .filter(|c| {
            c.said().iter().any(|s| {
                s.strip_prefix("EHLO ")
                    .or_else(|| s.strip_prefix("HELO "))
                    .is_some_and(|name| name == helo)
            })
        })
        .collect()
}

/// What the log proves about mailvet's manners: no client of this world ever sent DATA
/// (neither the world's `DATA attempted` nor exim's own protocol error for a DATA without
/// recipients), and the conversations of `helo` introduced themselves as `helo` only.
pub fn assert_well_behaved(world: &World, helo: &str) -> Vec<Conversation> {
    let log = world.smtp_log().expect("exim log");
    assert!(!log.contains("DATA attempted"), "{log}");
    assert!(!log.contains("SMTP protocol error in \"DATA\""), "{log}");
    let found = conversations(world, helo);
    assert!(
        !found.is_empty(),
        "no conversation said EHLO {helo}:\n{log}"
    );
    for c in &found {
        for said in c.said() {
            if let Some(name) = said
                .strip_prefix("EHLO ")
                .or_else(|| said.strip_prefix("HELO "))
            {
                assert_eq!(name, helo, "{c:?}");
            }
            assert!(!said.starts_with("DATA"), "{c:?}");
        }
    }
    found
}

pub fn valid_mailbox_over_starttls(world: &World) {
    let helo = "valid.probe.mailvet.test";
    let r = one(world, helo, "alice@valid.test");
    assert_eq!(
        decided(&r),
        ("valid", vec![], "answered", "deliverable"),
        "{r}"
    );
    assert_eq!(r["score"], 100);
    assert_eq!(smtp(&r)["status"], "passed");
    assert_eq!(reply(&r), (250, "-", "mx.valid.test", true));
    // valid.test refuses a random local part: not a catch-all.
    assert_eq!(smtp(&r)["catch_all"], false);
    let found = assert_well_behaved(world, helo);
    assert_eq!(found.len(), 1, "{found:?}");
    let said = found[0].said();
    assert_eq!(
        &said[..5],
        [
            format!("EHLO {helo}").as_str(),
            "STARTTLS",
            // RFC 3207 §4.2: EHLO again inside TLS.
            &format!("EHLO {helo}"),
            "MAIL FROM:<>",
            "RCPT TO:<alice@valid.test>",
        ]
    );
    assert_eq!(said.len(), 6, "{said:?}");
    assert!(said[5].starts_with("RCPT TO:<mailvet-"), "{said:?}");
    // exim's own lines: the session was encrypted, and ended by QUIT (logged after exim
    // answered it, so possibly after mailvet ended).
    assert!(
        found[0].lines.iter().any(|l| l.contains(" X=TLS")),
        "{found:?}"
    );
    let started = Instant::now();
    while !conversations(world, helo)[0]
        .lines
        .iter()
        .any(|l| l.contains("closed by QUIT"))
    {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{:?}",
            conversations(world, helo)
        );
        sleep(Duration::from_millis(20));
    }
}

pub fn mailboxes_unknown_disabled_and_full(world: &World) {
    let helo = "mailboxes.probe.mailvet.test";
    let probed = probe(
        world,
        helo,
        &[],
        &[
            "carol@valid.test",
            "disabled@valid.test",
            "full@valid.test",
            "bob@valid.test",
        ],
    );
    let r = &probed.reports;
    assert_eq!(
        decided(&r[0]),
        (
            "invalid",
            vec!["mailbox_not_found"],
            "answered",
            "mailbox_not_found"
        )
    );
    assert_eq!(reply(&r[0]), (550, "5.1.1", "mx.valid.test", true));
    assert_eq!(smtp(&r[0])["status"], "failed");
    assert_eq!(
        decided(&r[1]),
        (
            "invalid",
            vec!["mailbox_disabled"],
            "answered",
            "mailbox_disabled"
        )
    );
    assert_eq!(reply(&r[1]).0, 550);
    assert_eq!(reply(&r[1]).1, "5.2.1");
    assert_eq!(
        decided(&r[2]),
        ("risky", vec!["mailbox_full"], "answered", "mailbox_full")
    );
    assert_eq!(reply(&r[2]).0, 452);
    assert_eq!(reply(&r[2]).1, "4.2.2");
    assert_eq!(decided(&r[3]), ("valid", vec![], "answered", "deliverable"));
    // Four addresses of one domain, two sessions at most (--per-host 2).
    let found = assert_well_behaved(world, helo);
    assert!((1..=2).contains(&found.len()), "{found:?}");
    let rcpts: usize = found.iter().map(|c| c.count("RCPT TO:")).sum();
    // Each address once, and one random local part once per run (cached).
    assert_eq!(rcpts, 5, "{found:?}");
}

pub fn catch_all_domain(world: &World) {
    let helo = "catchall.probe.mailvet.test";
    let r = one(world, helo, "anyone@catchall.test");
    assert_eq!(
        decided(&r),
        ("risky", vec!["catch_all"], "answered", "deliverable")
    );
    assert_eq!(smtp(&r)["catch_all"], true);
    assert_eq!(smtp(&r)["status"], "inconclusive");
    let found = assert_well_behaved(world, helo);
    let said = found[0].said();
    assert!(
        said.iter()
            .any(|s| s.starts_with("RCPT TO:<mailvet-") && s.ends_with("@catchall.test>")),
        "{said:?}"
    );
}

pub fn greylisting_450_and_451(world: &World) {
    let helo = "greylist.probe.mailvet.test";
    let probed = probe(
        world,
        helo,
        &[],
        &["someone@greylist.test", "someone@greylist-451.test"],
    );
    for (r, code, enhanced) in [
        (&probed.reports[0], 450, "4.2.0"),
        (&probed.reports[1], 451, "4.7.1"),
    ] {
        assert_eq!(
            decided(r),
            (
                "unknown",
                vec!["smtp_temporary_failure"],
                "answered",
                "temporary_failure"
            )
        );
        assert_eq!(reply(r).0, code);
        assert_eq!(reply(r).1, enhanced);
        assert_eq!(r["score"], 50);
    }
    assert_well_behaved(world, helo);
}

pub fn tarpit_greeting_ends_at_the_deadline(world: &World) {
    let helo = "tarpit.probe.mailvet.test";
    // The step timeout would wait 30 s: the deadline of the address ends it. The upper bound
    // leaves a loaded machine room (starting mailvet, DNS) and still tells 1.5 s from 30 s.
    let probed = probe(
        world,
        helo,
        &["--smtp-timeout", "30", "--smtp-deadline", "1.5"],
        &["anyone@tarpit.test"],
    );
    let r = &probed.reports[0];
    assert_eq!(
        decided(r),
        ("unknown", vec!["smtp_timeout"], "timeout", "-"),
        "{r}"
    );
    assert_eq!(smtp(r)["host"], "mx.tarpit.test");
    assert!(
        probed.took >= Duration::from_millis(1500) && probed.took < Duration::from_secs(15),
        "{:?}",
        probed.took
    );
    // The tarpit never greeted, so nothing was said; the world logged the stalled greeting.
    let log = world.smtp_log().expect("exim log");
    assert!(log.contains("tarpit stalls the greeting"));
    assert!(conversations(world, helo).is_empty());
}

pub fn tarpit_rcpt_ends_at_the_step_timeout(world: &World) {
    let helo = "tarpit-rcpt.probe.mailvet.test";
    // The step timeout (1 s) ends it, not the deadline (20 s): the bound below tells them apart
    // with room for a loaded machine.
    let probed = probe(
        world,
        helo,
        &["--smtp-timeout", "1", "--smtp-deadline", "20"],
        &["anyone@tarpit-rcpt.test"],
    );
    let r = &probed.reports[0];
    assert_eq!(
        decided(r),
        ("unknown", vec!["smtp_timeout"], "timeout", "-"),
        "{r}"
    );
    assert_eq!(smtp(r)["host"], "mx.tarpit-rcpt.test");
    assert!(
        probed.took >= Duration::from_secs(1) && probed.took < Duration::from_secs(12),
        "{:?}",
        probed.took
    );
    let found = assert_well_behaved(world, helo);
    assert!(
        found[0].said().contains(&"RCPT stalls"),
        "{:?}",
        found[0].said()
    );
}

pub fn policy_block_is_not_a_missing_mailbox(world: &World) {
    let helo = "blocked.probe.mailvet.test";
    let r = one(world, helo, "anyone@blocked.test");
    assert_eq!(
        decided(&r),
        ("unknown", vec!["smtp_blocked"], "answered", "blocked")
    );
    assert_eq!(reply(&r).0, 550);
    assert_eq!(reply(&r).1, "5.7.1");
    assert!(
        smtp(&r)["message"]
            .as_str()
            .is_some_and(|m| m.contains("dnsbl.test")),
        "{r}"
    );
    assert_well_behaved(world, helo);
}

pub fn domains_without_mail_servers_are_not_probed(world: &World) {
    let helo = "nomx.probe.mailvet.test";
    let probed = probe(
        world,
        helo,
        &[],
        &[
            "alice@nullmx.test",
            "alice@dangling-mx.test",
            "alice@does-not-exist.test",
        ],
    );
    let expected = [
        ("null_mx", "null_mx"),
        ("no_mail_server", "no_mail_server"),
        ("domain_not_found", "domain_not_found"),
    ];
    for (r, (code, route)) in probed.reports.iter().zip(expected) {
        assert_eq!(r["verdict"], "invalid");
        assert_eq!(codes(r), [code]);
        assert_eq!(r["checks"]["dns"]["route"], route);
        assert_eq!(
            smtp(r),
            &json!({"status": "skipped", "skipped": "not_needed"})
        );
    }
    assert!(conversations(world, helo).is_empty());
}

pub fn implicit_and_fallback_hosts(world: &World) {
    let helo = "routes.probe.mailvet.test";
    let addresses = ["alice@implicit-mx.test", "alice@fallback-mx.test"];
    let probed = probe(world, helo, &[], &addresses);
    let hosts = ["implicit-mx.test", "mx2.fallback-mx.test"];
    for (r, host) in probed.reports.iter().zip(hosts) {
        assert_eq!(
            decided(r),
            ("valid", vec![], "answered", "deliverable"),
            "{r}"
        );
        assert_eq!(reply(r).2, host, "{r}");
    }
    // The preferred MX of fallback-mx.test is 127.0.0.2, which refuses connections.
    let found = assert_well_behaved(world, helo);
    assert_eq!(found.len(), addresses.len(), "{found:?}");
}

pub fn ipv6_host(world: &World) {
    if world.smtp_addr_v6().is_none() {
        runner::skip("this machine's loopback has no ::1, so the world cannot serve it");
    }
    let helo = "ipv6.probe.mailvet.test";
    let probed = probe(world, helo, &[], &["alice@aaaa-only.test"]);
    let r = &probed.reports[0];
    assert_eq!(
        decided(r),
        ("valid", vec![], "answered", "deliverable"),
        "{r}"
    );
    assert_eq!(reply(r).2, "mx.aaaa-only.test", "{r}");
    let found = assert_well_behaved(world, helo);
    assert_eq!(found.len(), 1, "{found:?}");
    let log = world.smtp_log().expect("exim log");
    assert!(
        found
            .iter()
            .any(|c| c.lines.iter().any(|l| l.contains("world: [::1]:"))),
        "{log}"
    );
}

pub fn utf8_mailbox_needs_smtputf8(world: &World) {
    let helo = "idn.probe.mailvet.test";
    let probed = probe(
        world,
        helo,
        &["--per-host", "1"],
        &["jörg@bücher.test", "info@bücher.test"],
    );
    assert_eq!(
        decided(&probed.reports[0]),
        ("valid", vec![], "answered", "deliverable")
    );
    assert_eq!(probed.reports[0]["address"], "jörg@bücher.test");
    assert_eq!(reply(&probed.reports[0]).2, "mx.xn--bcher-kva.test");
    assert_eq!(
        decided(&probed.reports[1]),
        ("risky", vec!["role_account"], "answered", "deliverable")
    );
    let found = assert_well_behaved(world, helo);
    let said: Vec<&str> = found.iter().flat_map(Conversation::said).collect();
    // RFC 6531 §3.4: the UTF-8 mailbox is asked for in a transaction opened with SMTPUTF8; the
    // domain goes as A-labels.
    let utf8 = said
        .iter()
        .position(|s| s.starts_with("RCPT TO:<j"))
        .expect("RCPT for jörg");
    assert!(said[utf8].ends_with("@xn--bcher-kva.test>"), "{said:?}");
    assert!(
        said[..utf8]
            .iter()
            .rev()
            .find(|s| s.starts_with("MAIL FROM"))
            == Some(&"MAIL FROM:<> SMTPUTF8"),
        "{said:?}"
    );
    assert!(
        said.contains(&"RCPT TO:<info@xn--bcher-kva.test>"),
        "{said:?}"
    );
}

pub fn disposable_domain_is_risky_and_catch_all(world: &World) {
    let helo = "disposable.probe.mailvet.test";
    let r = one(world, helo, "anyone@mailinator.com");
    assert_eq!(
        decided(&r),
        (
            "risky",
            vec!["disposable", "catch_all"],
            "answered",
            "deliverable"
        )
    );
    assert_eq!(smtp(&r)["catch_all"], true);
    assert_eq!(reply(&r).2, "mx.mailinator.com");
    assert_well_behaved(world, helo);
}

pub fn address_literal_is_asked_directly(world: &World) {
    let helo = "literal.probe.mailvet.test";
    let r = one(world, helo, "alice@[127.0.0.1]");
    // exim takes no domain literals (allow_domain_literals is off) and says so with a 501: the
    // server's answer, not proof of a missing mailbox.
    assert_eq!(
        decided(&r),
        (
            "unknown",
            vec!["smtp_rejected"],
            "answered",
            "unknown_permanent"
        )
    );
    assert_eq!(reply(&r).0, 501);
    assert_eq!(reply(&r).2, "[127.0.0.1]");
    assert_eq!(r["checks"]["dns"]["skipped"], "address_literal");
    assert_well_behaved(world, helo);
}

pub fn private_addresses_are_never_contacted(world: &World) {
    let helo = "private.probe.mailvet.test";
    // The MX hosts of these domains, and the literal, are 127.0.0.1, 127.0.0.2 and ::1 (the
    // AAAA-only host, whether or not this machine's loopback has ::1: the address is refused
    // before any connection). mailvet is pointed at a port where this test listens on each.
    let addresses = [
        "alice@valid.test",
        "alice@fallback-mx.test",
        "alice@[127.0.0.1]",
        "alice@aaaa-only.test",
    ];
    let first = TcpListener::bind("127.0.0.1:0").expect("listen on 127.0.0.1");
    let port = first.local_addr().expect("local address").port();
    let mut listeners = vec![first];
    for other in ["127.0.0.2", "[::1]"] {
        // A machine without ::1 cannot be connected to there either.
        if let Ok(listener) = TcpListener::bind(format!("{other}:{port}")) {
            listeners.push(listener);
        }
    }
    let port = port.to_string();
    let mut args = vec![
        "check",
        "--doh",
        world.doh_url(),
        "--smtp-port",
        &port,
        "--helo",
        helo,
    ];
    args.extend_from_slice(&addresses);
    let output = run(&args, b"");
    // A connection mailvet made was complete, and waiting in a listen queue, before mailvet
    // ended: an empty queue now proves that none was made.
    for listener in &listeners {
        listener.set_nonblocking(true).expect("non-blocking");
        match listener.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!(
                "mailvet connected to {:?}: {other:?}",
                listener.local_addr()
            ),
        }
    }
    let reports = reports(&output);
    for r in &reports {
        assert_eq!(
            decided(r),
            ("unknown", vec!["smtp_unreachable"], "not_asked", "-"),
            "{r}"
        );
        assert_eq!(smtp(r)["why"], "private_address");
        assert_eq!(smtp(r)["status"], "inconclusive");
    }
    assert_eq!(smtp(&reports[0])["host"], "mx.valid.test");
    assert_eq!(smtp(&reports[2])["host"], "[127.0.0.1]");
    assert!(conversations(world, helo).is_empty());
}

pub fn one_session_serves_many_addresses(world: &World) {
    let addresses = [
        "alice@valid.test",
        "bob@valid.test",
        "carol@valid.test",
        "dave@valid.test",
        "postmaster@valid.test",
    ];
    let expected = ["valid", "valid", "invalid", "invalid", "risky"];
    let verdicts = |p: &Probed| -> Vec<String> {
        p.reports.iter().map(|r| r["verdict"].to_string()).collect()
    };
    let quoted: Vec<String> = expected.iter().map(|v| format!("\"{v}\"")).collect();

    let shared = "shared.probe.mailvet.test";
    let probed = probe(world, shared, &["--per-host", "1"], &addresses);
    assert_eq!(verdicts(&probed), quoted);
    let found = assert_well_behaved(world, shared);
    assert_eq!(found.len(), 1, "{found:?}");
    // One MAIL FROM, five recipients and the random one, one QUIT.
    assert_eq!(found[0].count("MAIL FROM:"), 1);
    assert_eq!(found[0].count("RCPT TO:"), 6);

    let apart = "apart.probe.mailvet.test";
    let probed = probe(
        world,
        apart,
        &["--per-host", "1", "--rcpt-per-session", "1"],
        &addresses,
    );
    assert_eq!(verdicts(&probed), quoted);
    let found = assert_well_behaved(world, apart);
    assert_eq!(found.len(), 5, "{found:?}");
    let rcpts: usize = found.iter().map(|c| c.count("RCPT TO:")).sum();
    assert_eq!(rcpts, 6, "{found:?}");
}

pub fn csv_file_gains_mailbox_columns(world: &World) {
    let helo = "csv.probe.mailvet.test";
    let dir = scratch_dir("csv");
    let input = dir.join("people.csv");
    let output = dir.join("checked.csv");
    fs::write(
        &input,
        "\u{feff}name,Email,note\nAlice,alice@valid.test,first\n\"Carol, C.\",carol@valid.test,\nNobody,,\nShort\nJörg,jörg@bücher.test,\"multi\nline\"\nAlice again,alice@VALID.test,\n",
    )
    .expect("write input");
    let probed = probe(
        world,
        helo,
        &[
            "--input",
            input.to_str().expect("path"),
            "--column",
            "email",
            "--output",
            output.to_str().expect("path"),
        ],
        &[],
    );
    assert!(probed.reports.is_empty(), "{:?}", probed.reports);
    let text = fs::read_to_string(&output).expect("output file");
    assert_eq!(
        text,
        "\u{feff}name,Email,note,mailvet_verdict,mailvet_reasons,mailvet_suggestion,mailvet_score,mailvet_duplicate_of\r\n\
         Alice,alice@valid.test,first,valid,,,100,\r\n\
         \"Carol, C.\",carol@valid.test,,invalid,mailbox_not_found,,0,\r\n\
         Nobody,,,invalid,invalid_syntax,,0,\r\n\
         Short,,,invalid,invalid_syntax,,0,\r\n\
         Jörg,jörg@bücher.test,\"multi\nline\",valid,,,100,\r\n\
         Alice again,alice@VALID.test,,valid,,,100,1\r\n"
    );
    assert!(probed.stderr.is_empty(), "{}", probed.stderr);
    assert_well_behaved(world, helo);
    fs::remove_dir_all(&dir).expect("clean up");
}

/// A directory of this test process, removed by the test that made it.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mailvet-{name}-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Debian's dante-server on loopback, stopped when dropped.
struct Dante {
    child: Child,
    port: u16,
    log: PathBuf,
    dir: PathBuf,
}

impl Dante {
    /// Starts danted on a free loopback port. A port taken between choosing and binding makes
    /// danted exit; another port is tried then.
    fn start() -> Dante {
        let dir = scratch_dir("dante");
        let log = dir.join("danted.log");
        for _ in 0..5 {
            let port = free_port();
            let _ = fs::remove_file(&log);
            let config = format!(
                "logoutput: {log}\n\
                 internal: 127.0.0.1 port = {port}\n\
                 external: 127.0.0.1\n\
                 clientmethod: none\n\
                 socksmethod: none\n\
                 user.privileged: root\n\
                 user.unprivileged: nobody\n\
                 client pass {{\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n}}\n\
                 socks pass {{\n  from: 127.0.0.0/8 to: 127.0.0.0/8\n  command: connect\n  log: connect disconnect\n}}\n",
                log = log.display()
            );
            let conf = dir.join("danted.conf");
            fs::write(&conf, config).expect("write danted.conf");
            let mut child = Command::new("danted")
                .arg("-f")
                .arg(&conf)
                .arg("-p")
                .arg(dir.join("danted.pid"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start danted (Debian package dante-server)");
            let started = Instant::now();
            // danted says "running" once it listens; a listener on the port before that is
            // someone else's.
            loop {
                if child.try_wait().expect("danted").is_some() {
                    break;
                }
                let running = fs::read_to_string(&log).is_ok_and(|l| l.contains(" running"));
                if running && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Dante {
                        child,
                        port,
                        log,
                        dir,
                    };
                }
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "danted did not start on {port}: {}",
                    fs::read_to_string(&log).unwrap_or_default()
                );
                sleep(Duration::from_millis(20));
            }
        }
        panic!(
            "danted did not start: {}",
            fs::read_to_string(&log).unwrap_or_default()
        );
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Dante {
    fn drop(&mut self) {
        // SIGTERM: danted stops its own helper processes too.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A loopback port nobody listens on now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local address").port()
}

pub fn socks5_proxy_carries_the_session(world: &World) {
    let helo = "socks.probe.mailvet.test";
    let dante = Dante::start();
    let proxy = format!("127.0.0.1:{}", dante.port);
    let probed = probe(
        world,
        helo,
        &["--socks5", &proxy],
        &["alice@valid.test", "carol@valid.test"],
    );
    assert_eq!(
        decided(&probed.reports[0]),
        ("valid", vec![], "answered", "deliverable"),
        "{}\n{}",
        probed.reports[0],
        dante.log()
    );
    assert_eq!(reply(&probed.reports[0]), (250, "-", "mx.valid.test", true));
    assert_eq!(probed.reports[1]["verdict"], "invalid");
    assert_well_behaved(world, helo);
    // dante logged the CONNECT to exim's port (from a child process, so maybe a moment after
    // mailvet ended): the session went through it.
    let smtp_port = format!(".{}", world.smtp_addr().port());
    let started = Instant::now();
    while !dante
        .log()
        .lines()
        .any(|l| l.contains("tcp/connect") && l.contains(&smtp_port))
    {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{}",
            dante.log()
        );
        sleep(Duration::from_millis(20));
    }

    // A proxy that is not there: nothing can be reached.
    let closed = format!("127.0.0.1:{}", free_port());
    let probed = probe(
        world,
        "nosocks.probe.mailvet.test",
        &["--socks5", &closed],
        &["alice@valid.test"],
    );
    assert_eq!(
        decided(&probed.reports[0]),
        ("unknown", vec!["smtp_unreachable"], "unreachable", "-")
    );
}
