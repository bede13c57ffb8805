//! Every case of the local mail world (tests/world/README.md), checked against the running
//! servers: DNS through the DoH endpoint (GET and POST) and the plain DNS port, SMTP through exim.
//!
//! This binary has its own runner (`harness = false` in Cargo.toml) rather than libtest's: one
//! world is started before the first test and stopped after the last, and libtest offers no hook
//! that runs after all tests, while a `static` world would never be dropped. Each test runs on
//! its own thread; a panicking test fails alone, the runner still stops the world, prints
//! `N passed, N failed` and exits non-zero on any failure. If the process dies without getting
//! that far (a signal), the world stops by itself: `World::start` names this process as its
//! owner, and the world's supervisor ends when the owner does.
//!
//! `cargo test -p mailvet-e2e -- WORD` runs the tests whose name contains WORD; `--list` lists
//! them. With `MAILVET_WORLD_ENV=DIR/world.env` the tests use a world that is already running.
#![allow(clippy::print_stdout, reason = "a test runner reports on stdout")]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mailvet_core::dns::{Message, RData, Rcode, Record, RecordType};
use mailvet_e2e::World;
use mailvet_e2e::dns_client::{self, Method};
use mailvet_e2e::runner::{self, Test};
use mailvet_e2e::smtp::{Client, Reply};

/// For replies that come at once.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client waits on a tarpit before it gives up; the world stalls far longer.
const STALL_WAIT: Duration = Duration::from_millis(1500);

const TESTS: &[Test<World>] = &[
    (
        "dns_mx_of_a_mail_domain_over_get",
        dns_mx_of_a_mail_domain_over_get,
    ),
    ("dns_post_answers_like_get", dns_post_answers_like_get),
    (
        "dns_plain_port_answers_over_udp_and_tcp",
        dns_plain_port_answers_over_udp_and_tcp,
    ),
    ("dns_nxdomain_carries_an_soa", dns_nxdomain_carries_an_soa),
    (
        "dns_nodata_carries_the_zone_soa",
        dns_nodata_carries_the_zone_soa,
    ),
    (
        "dns_names_outside_the_world_are_refused",
        dns_names_outside_the_world_are_refused,
    ),
    ("dns_servfail_domain", dns_servfail_domain),
    (
        "dns_cname_comes_with_its_target",
        dns_cname_comes_with_its_target,
    ),
    ("dns_null_mx", dns_null_mx),
    ("dns_implicit_mx", dns_implicit_mx),
    ("dns_aaaa_only_mx_host", dns_aaaa_only_mx_host),
    ("dns_dangling_mx_host", dns_dangling_mx_host),
    ("dns_fallback_mx_pair", dns_fallback_mx_pair),
    ("dns_tarpit_mx_host", dns_tarpit_mx_host),
    ("dns_idn_domain_has_mx", dns_idn_domain_has_mx),
    (
        "dns_disposable_domain_served_locally",
        dns_disposable_domain_served_locally,
    ),
    (
        "dns_sender_domain_spf_dmarc_dkim",
        dns_sender_domain_spf_dmarc_dkim,
    ),
    ("dns_blocklist_test_entries", dns_blocklist_test_entries),
    (
        "dns_every_mx_host_is_loopback",
        dns_every_mx_host_is_loopback,
    ),
    (
        "smtp_ehlo_advertises_starttls_and_smtputf8",
        smtp_ehlo_advertises_starttls_and_smtputf8,
    ),
    ("smtp_starttls_answers_220", smtp_starttls_answers_220),
    (
        "smtp_existing_mailboxes_accepted",
        smtp_existing_mailboxes_accepted,
    ),
    (
        "smtp_unknown_mailbox_550_5_1_1",
        smtp_unknown_mailbox_550_5_1_1,
    ),
    (
        "smtp_disabled_mailbox_550_5_2_1",
        smtp_disabled_mailbox_550_5_2_1,
    ),
    ("smtp_full_mailbox_452_4_2_2", smtp_full_mailbox_452_4_2_2),
    (
        "smtp_catch_all_accepts_anything",
        smtp_catch_all_accepts_anything,
    ),
    ("smtp_greylist_450_4_2_0", smtp_greylist_450_4_2_0),
    ("smtp_greylist_451_4_7_1", smtp_greylist_451_4_7_1),
    ("smtp_blocklisted_550_5_7_1", smtp_blocklisted_550_5_7_1),
    ("smtp_tarpit_greeting_stalls", smtp_tarpit_greeting_stalls),
    ("smtp_tarpit_rcpt_stalls", smtp_tarpit_rcpt_stalls),
    ("smtp_refused_host_refuses", smtp_refused_host_refuses),
    (
        "smtp_fallback_and_implicit_mx_mailboxes",
        smtp_fallback_and_implicit_mx_mailboxes,
    ),
    (
        "smtp_aaaa_only_host_on_ipv6_loopback",
        smtp_aaaa_only_host_on_ipv6_loopback,
    ),
    (
        "smtp_idn_ascii_mailbox_without_smtputf8",
        smtp_idn_ascii_mailbox_without_smtputf8,
    ),
    (
        "smtp_utf8_mailbox_only_with_smtputf8",
        smtp_utf8_mailbox_only_with_smtputf8,
    ),
    (
        "smtp_disposable_domain_catch_all",
        smtp_disposable_domain_catch_all,
    ),
    (
        "smtp_data_refused_logged_never_queued",
        smtp_data_refused_logged_never_queued,
    ),
    (
        "smtp_data_without_recipient_logged",
        smtp_data_without_recipient_logged,
    ),
    ("smtp_helo_name_logged", smtp_helo_name_logged),
];

fn main() -> ExitCode {
    runner::run(
        TESTS,
        || World::from_env_or_start().map_err(|e| format!("the mail world did not start: {e}")),
        |world| {
            world.keep_dir();
            println!("world logs kept in {}", world.dir().display());
        },
    )
}

// ---- DNS ----

fn doh(world: &World, name: &str, rtype: RecordType) -> Message {
    dns_client::query(world.doh_url(), Method::Get, 0, name, rtype)
        .unwrap_or_else(|e| panic!("DoH GET {name} {rtype}: {e}"))
}

/// The MX records for `domain`, as (preference, exchange), sorted: answer order varies.
fn mx_of(world: &World, domain: &str) -> Vec<(u16, String)> {
    let message = doh(world, domain, RecordType::Mx);
    assert_eq!(message.rcode, Rcode::NoError, "{domain} MX");
    let mut mx: Vec<(u16, String)> = message
        .answers_for(domain, RecordType::Mx)
        .into_iter()
        .filter_map(|r| match &r.data {
            RData::Mx {
                preference,
                exchange,
            } => Some((*preference, exchange.clone())),
            _ => None,
        })
        .collect();
    mx.sort();
    mx
}

fn addresses_of(world: &World, name: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for rtype in [RecordType::A, RecordType::Aaaa] {
        let message = doh(world, name, rtype);
        for record in message.answers_for(name, rtype) {
            match record.data {
                RData::A(ip) => out.push(IpAddr::V4(ip)),
                RData::Aaaa(ip) => out.push(IpAddr::V6(ip)),
                _ => {}
            }
        }
    }
    out
}

fn soa_minimum(records: &[Record], zone: &str) -> u32 {
    records
        .iter()
        .find_map(|r| match &r.data {
            RData::Soa(soa) if r.name == zone => Some(soa.minimum),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no SOA of {zone:?} in {records:?}"))
}

fn dns_mx_of_a_mail_domain_over_get(world: &World) {
    assert_eq!(
        mx_of(world, "valid.test"),
        [(10, "mx.valid.test".to_owned())]
    );
    assert_eq!(
        addresses_of(world, "mx.valid.test"),
        [IpAddr::V4(Ipv4Addr::LOCALHOST)]
    );
}

fn dns_post_answers_like_get(world: &World) {
    let post = dns_client::query(
        world.doh_url(),
        Method::Post,
        0x5eed,
        "valid.test",
        RecordType::Mx,
    )
    .expect("DoH POST");
    let get = doh(world, "valid.test", RecordType::Mx);
    assert_eq!(post.id, 0x5eed);
    assert_eq!(post.rcode, Rcode::NoError);
    assert_eq!(post.answers.len(), 1);
    assert_eq!(post.answers[0].data, get.answers[0].data);
}

fn dns_plain_port_answers_over_udp_and_tcp(world: &World) {
    let udp =
        dns_client::query_udp(world.dns_addr(), 7, "valid.test", RecordType::Mx).expect("UDP");
    let tcp =
        dns_client::query_tcp(world.dns_addr(), 8, "valid.test", RecordType::Mx).expect("TCP");
    let expected = RData::Mx {
        preference: 10,
        exchange: "mx.valid.test".to_owned(),
    };
    assert_eq!(udp.answers[0].data, expected);
    assert_eq!(tcp.answers[0].data, expected);
    let servfail = dns_client::query_udp(world.dns_addr(), 9, "servfail.test", RecordType::Mx)
        .expect("UDP servfail");
    assert_eq!(servfail.rcode, Rcode::ServFail);
}

fn dns_nxdomain_carries_an_soa(world: &World) {
    let message = doh(world, "does-not-exist.test", RecordType::Mx);
    assert_eq!(message.rcode, Rcode::NxDomain);
    assert!(message.answers.is_empty());
    assert_eq!(soa_minimum(&message.authorities, "test"), 60);
    let negative = message.negative_ttl().expect("negative TTL");
    assert!((1..=60).contains(&negative), "negative TTL {negative}");
}

fn dns_nodata_carries_the_zone_soa(world: &World) {
    let message = doh(world, "valid.test", RecordType::Aaaa);
    assert_eq!(message.rcode, Rcode::NoError);
    assert!(message.answers.is_empty());
    assert_eq!(soa_minimum(&message.authorities, "valid.test"), 60);
}

fn dns_names_outside_the_world_are_refused(world: &World) {
    for name in ["example.com", "gmail.com"] {
        assert_eq!(
            doh(world, name, RecordType::Mx).rcode,
            Rcode::Refused,
            "{name}"
        );
    }
}

fn dns_servfail_domain(world: &World) {
    for name in ["servfail.test", "mx.servfail.test"] {
        let message = doh(world, name, RecordType::Mx);
        assert_eq!(message.rcode, Rcode::ServFail, "{name}");
        assert!(message.answers.is_empty());
    }
}

fn dns_cname_comes_with_its_target(world: &World) {
    let message = doh(world, "cname-to-valid.test", RecordType::Mx);
    assert_eq!(message.rcode, Rcode::NoError);
    let cname = message.answers_for("cname-to-valid.test", RecordType::Cname);
    assert_eq!(cname.len(), 1);
    assert_eq!(cname[0].data, RData::Cname("valid.test".to_owned()));
    assert_eq!(
        mx_of(world, "cname-to-valid.test"),
        [(10, "mx.valid.test".to_owned())]
    );
}

fn dns_null_mx(world: &World) {
    // RFC 7505 §3: one MX, preference 0, exchange the root.
    assert_eq!(mx_of(world, "nullmx.test"), [(0, String::new())]);
    assert_eq!(
        addresses_of(world, "nullmx.test"),
        [IpAddr::V4(Ipv4Addr::LOCALHOST)]
    );
}

fn dns_implicit_mx(world: &World) {
    let message = doh(world, "implicit-mx.test", RecordType::Mx);
    assert_eq!(message.rcode, Rcode::NoError);
    assert!(message.answers.is_empty());
    assert_eq!(
        addresses_of(world, "implicit-mx.test"),
        [IpAddr::V4(Ipv4Addr::LOCALHOST)]
    );
}

fn dns_aaaa_only_mx_host(world: &World) {
    assert_eq!(
        mx_of(world, "aaaa-only.test"),
        [(10, "mx.aaaa-only.test".to_owned())]
    );
    let a = doh(world, "mx.aaaa-only.test", RecordType::A);
    assert_eq!(a.rcode, Rcode::NoError);
    assert!(a.answers.is_empty());
    assert_eq!(
        addresses_of(world, "mx.aaaa-only.test"),
        [IpAddr::V6(Ipv6Addr::LOCALHOST)]
    );
}

fn dns_dangling_mx_host(world: &World) {
    assert_eq!(
        mx_of(world, "dangling-mx.test"),
        [(10, "mx.dangling-mx.test".to_owned())]
    );
    for rtype in [RecordType::A, RecordType::Aaaa] {
        assert_eq!(
            doh(world, "mx.dangling-mx.test", rtype).rcode,
            Rcode::NxDomain
        );
    }
}

fn dns_fallback_mx_pair(world: &World) {
    assert_eq!(
        mx_of(world, "fallback-mx.test"),
        [
            (10, "mx1.fallback-mx.test".to_owned()),
            (20, "mx2.fallback-mx.test".to_owned())
        ]
    );
    assert_eq!(
        addresses_of(world, "mx1.fallback-mx.test"),
        [world.refused_addr().ip()]
    );
    assert_eq!(
        addresses_of(world, "mx2.fallback-mx.test"),
        [world.smtp_addr().ip()]
    );
}

fn dns_tarpit_mx_host(world: &World) {
    assert_eq!(
        mx_of(world, "tarpit.test"),
        [(10, "mx.tarpit.test".to_owned())]
    );
    assert_eq!(
        addresses_of(world, "mx.tarpit.test"),
        [world.tarpit_addr().ip()]
    );
}

fn dns_idn_domain_has_mx(world: &World) {
    // bücher.test as its A-label (RFC 5890 §2.3.2.1).
    assert_eq!(
        mx_of(world, "xn--bcher-kva.test"),
        [(10, "mx.xn--bcher-kva.test".to_owned())]
    );
}

fn dns_disposable_domain_served_locally(world: &World) {
    assert_eq!(
        mx_of(world, "mailinator.com"),
        [(10, "mx.mailinator.com".to_owned())]
    );
    assert_eq!(
        addresses_of(world, "mx.mailinator.com"),
        [IpAddr::V4(Ipv4Addr::LOCALHOST)]
    );
}

fn dns_sender_domain_spf_dmarc_dkim(world: &World) {
    let txt = |name: &str| {
        let message = doh(world, name, RecordType::Txt);
        assert_eq!(message.rcode, Rcode::NoError, "{name}");
        message.txt_strings()
    };
    assert_eq!(txt("sender.test"), ["v=spf1 ip4:127.0.0.0/8 -all"]);
    let dmarc = txt("_dmarc.sender.test");
    assert_eq!(dmarc.len(), 1);
    assert!(dmarc[0].starts_with("v=DMARC1; p=reject"), "{dmarc:?}");
    let dkim = txt("world._domainkey.sender.test");
    assert_eq!(dkim.len(), 1);
    assert!(dkim[0].starts_with("v=DKIM1; k=ed25519; p="), "{dkim:?}");
}

fn dns_blocklist_test_entries(world: &World) {
    // RFC 5782 §5: 127.0.0.2 is listed, 127.0.0.1 is not.
    assert_eq!(
        addresses_of(world, "2.0.0.127.dnsbl.test"),
        [IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))]
    );
    let txt = doh(world, "2.0.0.127.dnsbl.test", RecordType::Txt).txt_strings();
    assert_eq!(txt.len(), 1);
    assert!(txt[0].contains("dnsbl.test"), "{txt:?}");
    let unlisted = doh(world, "1.0.0.127.dnsbl.test", RecordType::A);
    assert_eq!(unlisted.rcode, Rcode::NxDomain);
    assert_eq!(soa_minimum(&unlisted.authorities, "dnsbl.test"), 60);
}

fn dns_every_mx_host_is_loopback(world: &World) {
    let domains = [
        "valid.test",
        "catchall.test",
        "greylist.test",
        "greylist-451.test",
        "tarpit.test",
        "tarpit-rcpt.test",
        "blocked.test",
        "aaaa-only.test",
        "fallback-mx.test",
        "xn--bcher-kva.test",
        "sender.test",
        "mailinator.com",
    ];
    for domain in domains {
        let mx = mx_of(world, domain);
        assert!(!mx.is_empty(), "{domain} has no MX");
        for (_, host) in mx {
            let addresses = addresses_of(world, &host);
            assert!(!addresses.is_empty(), "{host} has no address");
            assert!(
                addresses.iter().all(IpAddr::is_loopback),
                "{host}: {addresses:?}"
            );
        }
    }
}

// ---- SMTP ----

fn expect_reply(reply: &Reply, code: u16, enhanced: Option<&str>) {
    assert_eq!(reply.code, code, "{reply:?}");
    assert_eq!(reply.enhanced(), enhanced, "{reply:?}");
}

/// A session up to an accepted MAIL FROM, with SMTPUTF8 (RFC 6531 §3.4) when asked.
fn session(addr: SocketAddr, helo: &str, smtputf8: bool) -> Client {
    let (mut client, _) = Client::greeted(addr, TIMEOUT).expect("greeting");
    let ehlo = client.command(&format!("EHLO {helo}")).expect("EHLO");
    assert_eq!(ehlo.code, 250, "{ehlo:?}");
    let param = if smtputf8 { " SMTPUTF8" } else { "" };
    let mail = client
        .command(&format!("MAIL FROM:<probe@sender.test>{param}"))
        .expect("MAIL");
    assert_eq!(mail.code, 250, "{mail:?}");
    client
}

fn rcpt(world: &World, address: &str) -> Reply {
    session(world.smtp_addr(), "probe.mailvet.test", false)
        .command(&format!("RCPT TO:<{address}>"))
        .expect("RCPT")
}

/// The world's log lines about the connection from `client`.
fn log_lines_of(world: &World, client: SocketAddr) -> Vec<String> {
    let tag = format!("[{}]:{} ", client.ip(), client.port());
    world
        .smtp_log()
        .expect("exim log")
        .lines()
        .filter(|line| line.contains(&tag))
        .map(str::to_owned)
        .collect()
}

fn smtp_ehlo_advertises_starttls_and_smtputf8(world: &World) {
    let (mut client, greeting) = Client::greeted(world.smtp_addr(), TIMEOUT).expect("greeting");
    assert!(greeting.text().contains("ESMTP"), "{greeting:?}");
    let ehlo = client.command("EHLO probe.mailvet.test").expect("EHLO");
    assert_eq!(ehlo.code, 250);
    assert!(ehlo.has_extension("STARTTLS"), "{ehlo:?}");
    assert!(ehlo.has_extension("SMTPUTF8"), "{ehlo:?}");
    // Only DATA may carry a message, so the one DATA ACL sees every attempt.
    assert!(!ehlo.has_extension("CHUNKING"), "{ehlo:?}");
}

fn smtp_starttls_answers_220(world: &World) {
    let (mut client, _) = Client::greeted(world.smtp_addr(), TIMEOUT).expect("greeting");
    client.command("EHLO tls.mailvet.test").expect("EHLO");
    // RFC 3207 §4: 220 means "ready to start TLS".
    let reply = client.command("STARTTLS").expect("STARTTLS");
    assert_eq!(reply.code, 220, "{reply:?}");
}

fn smtp_existing_mailboxes_accepted(world: &World) {
    let mut client = session(world.smtp_addr(), "probe.mailvet.test", false);
    for address in [
        "alice@valid.test",
        "bob@valid.test",
        "postmaster@valid.test",
        "Alice@VALID.test",
    ] {
        let reply = client
            .command(&format!("RCPT TO:<{address}>"))
            .expect("RCPT");
        assert_eq!(reply.code, 250, "{address}: {reply:?}");
    }
}

fn smtp_unknown_mailbox_550_5_1_1(world: &World) {
    expect_reply(&rcpt(world, "carol@valid.test"), 550, Some("5.1.1"));
}

fn smtp_disabled_mailbox_550_5_2_1(world: &World) {
    expect_reply(&rcpt(world, "disabled@valid.test"), 550, Some("5.2.1"));
}

fn smtp_full_mailbox_452_4_2_2(world: &World) {
    expect_reply(&rcpt(world, "full@valid.test"), 452, Some("4.2.2"));
}

fn smtp_catch_all_accepts_anything(world: &World) {
    let mut client = session(world.smtp_addr(), "probe.mailvet.test", false);
    for address in ["x7q2-no-such-person@catchall.test", "alice@catchall.test"] {
        let reply = client
            .command(&format!("RCPT TO:<{address}>"))
            .expect("RCPT");
        assert_eq!(reply.code, 250, "{address}: {reply:?}");
    }
}

fn smtp_greylist_450_4_2_0(world: &World) {
    expect_reply(&rcpt(world, "alice@greylist.test"), 450, Some("4.2.0"));
}

fn smtp_greylist_451_4_7_1(world: &World) {
    expect_reply(&rcpt(world, "alice@greylist-451.test"), 451, Some("4.7.1"));
}

fn smtp_blocklisted_550_5_7_1(world: &World) {
    let reply = rcpt(world, "alice@blocked.test");
    expect_reply(&reply, 550, Some("5.7.1"));
    assert!(reply.text().contains("blocked using"), "{reply:?}");
}

fn assert_timed_out(result: std::io::Result<Reply>, started: Instant) {
    match result {
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "expected a timeout, got {e}"
        ),
        Ok(reply) => panic!("expected a stall, got {reply:?}"),
    }
    assert!(started.elapsed() >= STALL_WAIT - Duration::from_millis(100));
}

fn smtp_tarpit_greeting_stalls(world: &World) {
    let mut client = Client::connect(world.tarpit_addr(), STALL_WAIT).expect("the tarpit accepts");
    let me = client.local_addr().expect("local address");
    let started = Instant::now();
    assert_timed_out(client.read_reply(), started);
    let log = log_lines_of(world, me);
    assert!(
        log.iter().any(|l| l.contains("tarpit stalls the greeting")),
        "{log:?}"
    );
}

fn smtp_tarpit_rcpt_stalls(world: &World) {
    let (mut client, _) = Client::greeted(world.smtp_addr(), STALL_WAIT).expect("greeting");
    client.command("EHLO probe.mailvet.test").expect("EHLO");
    client
        .command("MAIL FROM:<probe@sender.test>")
        .expect("MAIL");
    let started = Instant::now();
    assert_timed_out(client.command("RCPT TO:<alice@tarpit-rcpt.test>"), started);
}

fn smtp_refused_host_refuses(world: &World) {
    let err = TcpStream::connect_timeout(&world.refused_addr(), TIMEOUT)
        .expect_err("nothing listens on the refused host");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
}

fn smtp_fallback_and_implicit_mx_mailboxes(world: &World) {
    for address in [
        "alice@fallback-mx.test",
        "alice@implicit-mx.test",
        "alice@cname-to-valid.test",
    ] {
        assert_eq!(rcpt(world, address).code, 250, "{address}");
    }
    expect_reply(&rcpt(world, "bob@implicit-mx.test"), 550, Some("5.1.1"));
}

fn smtp_aaaa_only_host_on_ipv6_loopback(world: &World) {
    let Some(addr) = world.smtp_addr_v6() else {
        runner::skip("this machine's loopback has no ::1, so the world cannot serve it");
    };
    let reply = session(addr, "probe.mailvet.test", false)
        .command("RCPT TO:<alice@aaaa-only.test>")
        .expect("RCPT");
    assert_eq!(reply.code, 250, "{reply:?}");
}

fn smtp_idn_ascii_mailbox_without_smtputf8(world: &World) {
    assert_eq!(rcpt(world, "info@xn--bcher-kva.test").code, 250);
    expect_reply(
        &rcpt(world, "nobody@xn--bcher-kva.test"),
        550,
        Some("5.1.1"),
    );
}

fn smtp_utf8_mailbox_only_with_smtputf8(world: &World) {
    // RFC 6531 §3.5: a non-ASCII address outside an SMTPUTF8 transaction is 553 5.6.7.
    expect_reply(&rcpt(world, "jörg@xn--bcher-kva.test"), 553, Some("5.6.7"));
    let mut client = session(world.smtp_addr(), "probe.mailvet.test", true);
    for address in [
        "jörg@xn--bcher-kva.test",
        "jörg@bücher.test",
        "info@bücher.test",
    ] {
        let reply = client
            .command(&format!("RCPT TO:<{address}>"))
            .expect("RCPT");
        assert_eq!(reply.code, 250, "{address}: {reply:?}");
    }
    let unknown = client
        .command("RCPT TO:<jürgen@bücher.test>")
        .expect("RCPT");
    expect_reply(&unknown, 550, Some("5.1.1"));
}

fn smtp_disposable_domain_catch_all(world: &World) {
    assert_eq!(rcpt(world, "anything-at-all@mailinator.com").code, 250);
}

fn smtp_data_refused_logged_never_queued(world: &World) {
    let mut client = session(world.smtp_addr(), "data.mailvet.test", false);
    let me = client.local_addr().expect("local address");
    assert_eq!(
        client
            .command("RCPT TO:<alice@valid.test>")
            .expect("RCPT")
            .code,
        250
    );
    expect_reply(&client.command("DATA").expect("DATA"), 554, Some("5.7.0"));
    let log = log_lines_of(world, me);
    assert!(log.iter().any(|l| l.ends_with("DATA attempted")), "{log:?}");
    assert!(log.iter().any(|l| l.contains("rejected DATA")), "{log:?}");
    let input = world.dir().join("exim/spool/input");
    let queued = std::fs::read_dir(&input).map_or(0, |entries| entries.count());
    assert_eq!(queued, 0, "{} holds messages", input.display());
}

fn smtp_data_without_recipient_logged(world: &World) {
    let mut client = session(world.smtp_addr(), "nodata.mailvet.test", false);
    let me = client.local_addr().expect("local address");
    // RFC 5321 §3.3: DATA needs an accepted recipient; exim answers 503 itself, no ACL involved.
    assert_eq!(client.command("DATA").expect("DATA").code, 503);
    let log = log_lines_of(world, me);
    assert!(
        log.iter()
            .any(|l| l.contains("SMTP protocol error in \"DATA\"")),
        "{log:?}"
    );
}

fn smtp_helo_name_logged(world: &World) {
    let client = session(world.smtp_addr(), "helo-name.mailvet.test", false);
    let me = client.local_addr().expect("local address");
    let log = log_lines_of(world, me);
    let expected = format!(
        "world: [{}]:{} EHLO helo-name.mailvet.test",
        me.ip(),
        me.port()
    );
    assert!(log.iter().any(|l| l.ends_with(&expected)), "{log:?}");
    let mail = format!(
        "world: [{}]:{} MAIL FROM:<probe@sender.test>",
        me.ip(),
        me.port()
    );
    assert!(log.iter().any(|l| l.ends_with(&mail)), "{log:?}");
}
