//! `mailvet check` and `mailvet serve` against the local mail world (tests/world/README.md):
//! every routing case of the world over DNS-over-HTTPS, and every mailbox case over SMTP
//! (`smtp/`, `serve/`), decided by the built binary.
//!
//! One world serves the whole binary, so it runs under the e2e crate's runner (`harness =
//! false`): the world starts before the first test and stops after the last, and the runner
//! prints `N passed, N failed`. `cargo test -p mailvet --test world -- WORD` runs the tests whose
//! name contains WORD. With `MAILVET_WORLD_ENV=DIR/world.env` a running world is used instead.

mod domain;
mod serve;
mod smtp;
mod support;

use std::net::TcpListener;
use std::process::ExitCode;

use mailvet_e2e::World;
use mailvet_e2e::runner::{self, Test};
use serde_json::{Value, json};
use support::{codes, reports, run};

const TESTS: &[Test<World>] = &[
    ("mx_domain_is_valid_on_dns", mx_domain_is_valid_on_dns),
    ("null_mx_takes_no_mail", null_mx_takes_no_mail),
    (
        "implicit_mx_is_the_domain_itself",
        implicit_mx_is_the_domain_itself,
    ),
    ("missing_domain_is_invalid", missing_domain_is_invalid),
    (
        "servfail_is_unknown_never_invalid",
        servfail_is_unknown_never_invalid,
    ),
    ("refused_name_is_unknown", refused_name_is_unknown),
    (
        "dangling_mx_host_is_no_mail_server",
        dangling_mx_host_is_no_mail_server,
    ),
    ("cname_is_followed_to_its_mx", cname_is_followed_to_its_mx),
    ("idn_domain_in_both_forms", idn_domain_in_both_forms),
    ("aaaa_only_and_fallback_hosts", aaaa_only_and_fallback_hosts),
    (
        "disposable_domain_with_mail_servers",
        disposable_domain_with_mail_servers,
    ),
    ("address_literal_asks_no_dns", address_literal_asks_no_dns),
    (
        "second_endpoint_answers_when_the_first_is_down",
        second_endpoint_answers_when_the_first_is_down,
    ),
    (
        "many_addresses_keep_their_order",
        many_addresses_keep_their_order,
    ),
    ("csv_over_dns", csv_over_dns),
    (
        "smtp_valid_mailbox_over_starttls",
        smtp::valid_mailbox_over_starttls,
    ),
    (
        "smtp_mailboxes_unknown_disabled_and_full",
        smtp::mailboxes_unknown_disabled_and_full,
    ),
    ("smtp_catch_all_domain", smtp::catch_all_domain),
    (
        "smtp_greylisting_450_and_451",
        smtp::greylisting_450_and_451,
    ),
    (
        "smtp_tarpit_greeting_ends_at_the_deadline",
        smtp::tarpit_greeting_ends_at_the_deadline,
    ),
    (
        "smtp_tarpit_rcpt_ends_at_the_step_timeout",
        smtp::tarpit_rcpt_ends_at_the_step_timeout,
    ),
    (
        "smtp_policy_block_is_not_a_missing_mailbox",
        smtp::policy_block_is_not_a_missing_mailbox,
    ),
    (
        "smtp_domains_without_mail_servers_are_not_probed",
        smtp::domains_without_mail_servers_are_not_probed,
    ),
    (
        "smtp_implicit_and_fallback_hosts",
        smtp::implicit_and_fallback_hosts,
    ),
    ("smtp_ipv6_host", smtp::ipv6_host),
    (
        "smtp_utf8_mailbox_needs_smtputf8",
        smtp::utf8_mailbox_needs_smtputf8,
    ),
    (
        "smtp_disposable_domain_is_risky_and_catch_all",
        smtp::disposable_domain_is_risky_and_catch_all,
    ),
    (
        "smtp_address_literal_is_asked_directly",
        smtp::address_literal_is_asked_directly,
    ),
    (
        "smtp_private_addresses_are_never_contacted",
        smtp::private_addresses_are_never_contacted,
    ),
    (
        "smtp_one_session_serves_many_addresses",
        smtp::one_session_serves_many_addresses,
    ),
    (
        "smtp_csv_file_gains_mailbox_columns",
        smtp::csv_file_gains_mailbox_columns,
    ),
    (
        "smtp_socks5_proxy_carries_the_session",
        smtp::socks5_proxy_carries_the_session,
    ),
    ("serve_requires_the_token", serve::serve_requires_the_token),
    (
        "serve_rejects_bad_requests",
        serve::serve_rejects_bad_requests,
    ),
    ("serve_probes_and_counts", serve::serve_probes_and_counts),
    (
        "serve_probes_a_batch_in_shared_sessions",
        serve::serve_probes_a_batch_in_shared_sessions,
    ),
    (
        "serve_refuses_private_hosts_unless_allowed",
        serve::serve_refuses_private_hosts_unless_allowed,
    ),
    (
        "serve_says_429_when_busy_and_drains_on_sigterm",
        serve::serve_says_429_when_busy_and_drains_on_sigterm,
    ),
    ("serve_needs_a_long_token", serve::serve_needs_a_long_token),
    (
        "serve_stops_probing_while_listed",
        serve::serve_stops_probing_while_listed,
    ),
    (
        "domain_good_has_nothing_to_fix",
        domain::a_good_domain_has_nothing_to_fix,
    ),
    (
        "domain_every_spf_and_mx_finding",
        domain::every_spf_and_mx_finding_comes_from_its_case,
    ),
    (
        "domain_spf_macros_per_address",
        domain::spf_macros_are_evaluated_per_address,
    ),
    (
        "domain_doh_and_plain_dns_agree",
        domain::doh_and_plain_dns_give_the_same_report,
    ),
    (
        "domain_special_addresses_not_asked",
        domain::special_addresses_are_not_asked_unless_allowed,
    ),
    (
        "domain_every_dmarc_dkim_dnsbl_finding",
        domain::every_dmarc_dkim_and_dnsbl_finding_comes_from_its_case,
    ),
    (
        "domain_mta_sts_policies",
        domain::mta_sts_policies_are_fetched_and_matched,
    ),
];

fn main() -> ExitCode {
    runner::run(
        TESTS,
        || World::from_env_or_start().map_err(|e| format!("the mail world did not start: {e}")),
        World::keep_dir,
    )
}

/// `mailvet check --no-smtp --doh WORLD EXTRA… ADDRESSES…`, one report per address.
fn check(world: &World, extra: &[&str], addresses: &[&str]) -> Vec<Value> {
    let mut args = vec!["check", "--no-smtp", "--doh", world.doh_url()];
    args.extend_from_slice(extra);
    args.extend_from_slice(addresses);
    let reports = reports(&run(&args, b""));
    assert_eq!(reports.len(), addresses.len());
    reports
}

fn one(world: &World, address: &str) -> Value {
    check(world, &[], &[address]).remove(0)
}

/// The verdict, the reason codes and the route of a report.
fn decided(r: &Value) -> (&str, Vec<&str>, &str) {
    (
        r["verdict"].as_str().expect("verdict"),
        codes(r),
        r["checks"]["dns"]["route"].as_str().unwrap_or("-"),
    )
}

fn mx_hosts(r: &Value) -> Vec<(u64, &str)> {
    r["checks"]["dns"]["mx"]
        .as_array()
        .map(|hosts| {
            hosts
                .iter()
                .map(|h| {
                    (
                        h["preference"].as_u64().expect("preference"),
                        h["host"].as_str().expect("host"),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn mx_domain_is_valid_on_dns(world: &World) {
    let r = one(world, "alice@valid.test");
    assert_eq!(decided(&r), ("valid", vec![], "mx"));
    assert_eq!(mx_hosts(&r), [(10, "mx.valid.test")]);
    assert_eq!(r["score"], 85);
    assert_eq!(r["checks"]["dns"]["status"], "passed");
    // The mailbox layer does not exist yet: it is skipped, and says so.
    assert_eq!(
        r["checks"]["smtp"],
        json!({"status": "skipped", "skipped": "disabled"})
    );
}

fn null_mx_takes_no_mail(world: &World) {
    let r = one(world, "alice@nullmx.test");
    assert_eq!(decided(&r), ("invalid", vec!["null_mx"], "null_mx"));
    assert_eq!(r["checks"]["dns"]["status"], "failed");
    assert_eq!(r["checks"]["smtp"]["skipped"], "not_needed");
    assert_eq!(r["score"], 0);
}

fn implicit_mx_is_the_domain_itself(world: &World) {
    let r = one(world, "alice@implicit-mx.test");
    assert_eq!(decided(&r), ("valid", vec![], "implicit_mx"));
    assert_eq!(mx_hosts(&r), [(0, "implicit-mx.test")]);
}

fn missing_domain_is_invalid(world: &World) {
    let r = one(world, "alice@does-not-exist.test");
    assert_eq!(
        decided(&r),
        ("invalid", vec!["domain_not_found"], "domain_not_found")
    );
}

fn servfail_is_unknown_never_invalid(world: &World) {
    for r in check(
        world,
        &[],
        &["alice@servfail.test", "bob@deep.servfail.test"],
    ) {
        assert_eq!(decided(&r), ("unknown", vec!["dns_failure"], "dns_failure"));
        assert_eq!(r["checks"]["dns"]["status"], "inconclusive");
        assert_eq!(r["checks"]["smtp"]["skipped"], "dns_unavailable");
        assert_eq!(r["score"], 50);
    }
}

fn refused_name_is_unknown(world: &World) {
    // The world's resolver refuses every name outside its zones.
    let r = one(world, "jane@example.com");
    assert_eq!(decided(&r), ("unknown", vec!["dns_failure"], "dns_failure"));
}

fn dangling_mx_host_is_no_mail_server(world: &World) {
    // RFC 5321 §5.1: the only MX host has no address.
    let r = one(world, "alice@dangling-mx.test");
    assert_eq!(
        decided(&r),
        ("invalid", vec!["no_mail_server"], "no_mail_server")
    );
}

fn cname_is_followed_to_its_mx(world: &World) {
    let r = one(world, "alice@cname-to-valid.test");
    assert_eq!(decided(&r), ("valid", vec![], "mx"));
    assert_eq!(mx_hosts(&r), [(10, "mx.valid.test")]);
}

fn idn_domain_in_both_forms(world: &World) {
    let reports = check(
        world,
        &[],
        &[
            "jörg@bücher.test",
            "info@xn--bcher-kva.test",
            "jörg@BÜCHER.test",
        ],
    );
    assert_eq!(reports[0]["address"], "jörg@bücher.test");
    assert_eq!(decided(&reports[0]), ("valid", vec![], "mx"));
    assert_eq!(mx_hosts(&reports[0]), [(10, "mx.xn--bcher-kva.test")]);
    assert_eq!(reports[1]["address"], "info@bücher.test");
    assert_eq!(decided(&reports[1]), ("risky", vec!["role_account"], "mx"));
    assert_eq!(reports[2]["address"], "jörg@bücher.test");
    assert_eq!(decided(&reports[2]), ("valid", vec![], "mx"));
}

fn aaaa_only_and_fallback_hosts(world: &World) {
    let reports = check(
        world,
        &[],
        &["alice@aaaa-only.test", "alice@fallback-mx.test"],
    );
    assert_eq!(decided(&reports[0]), ("valid", vec![], "mx"));
    assert_eq!(mx_hosts(&reports[0]), [(10, "mx.aaaa-only.test")]);
    assert_eq!(decided(&reports[1]), ("valid", vec![], "mx"));
    assert_eq!(
        mx_hosts(&reports[1]),
        [(10, "mx1.fallback-mx.test"), (20, "mx2.fallback-mx.test")]
    );
}

fn disposable_domain_with_mail_servers(world: &World) {
    let r = one(world, "anyone@mailinator.com");
    assert_eq!(decided(&r), ("risky", vec!["disposable"], "mx"));
    assert_eq!(r["score"], 40);
    let r = check(
        world,
        &["--allow-domain", "mailinator.com"],
        &["anyone@mailinator.com"],
    );
    assert_eq!(decided(&r[0]), ("valid", vec![], "mx"));
}

fn address_literal_asks_no_dns(world: &World) {
    let r = one(world, "alice@[127.0.0.1]");
    assert_eq!(r["verdict"], "valid");
    assert_eq!(r["checks"]["dns"]["skipped"], "address_literal");
    assert_eq!(r["checks"]["smtp"]["skipped"], "disabled");
}

fn second_endpoint_answers_when_the_first_is_down(world: &World) {
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        format!(
            "http://{}/dns-query",
            listener.local_addr().expect("local address")
        )
    };
    let output = run(
        &[
            "check",
            "--no-smtp",
            // Only the closed endpoint may fail: a loaded machine gets all the time it needs.
            "--dns-timeout",
            "30",
            "--doh",
            &closed,
            "--doh",
            world.doh_url(),
            "alice@valid.test",
            "alice@nullmx.test",
        ],
        b"",
    );
    let reports = reports(&output);
    assert_eq!(decided(&reports[0]), ("valid", vec![], "mx"));
    assert_eq!(
        decided(&reports[1]),
        ("invalid", vec!["null_mx"], "null_mx")
    );
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "warning: DNS-over-HTTPS server {closed}: could not connect"
        )),
        "{err}"
    );
    assert!(!err.contains("alice") && !err.contains(".test"), "{err}");
}

fn many_addresses_keep_their_order(world: &World) {
    let cases: [(&str, &str, &str); 9] = [
        ("valid.test", "valid", "mx"),
        ("nullmx.test", "invalid", "null_mx"),
        ("implicit-mx.test", "valid", "implicit_mx"),
        ("does-not-exist.test", "invalid", "domain_not_found"),
        ("servfail.test", "unknown", "dns_failure"),
        ("dangling-mx.test", "invalid", "no_mail_server"),
        ("cname-to-valid.test", "valid", "mx"),
        ("mailinator.com", "risky", "mx"),
        ("example.com", "unknown", "dns_failure"),
    ];
    let mut stdin = String::new();
    let mut expected = Vec::new();
    for i in 0..450 {
        let (domain, verdict, route) = cases[i % cases.len()];
        if i % 50 == 7 {
            stdin.push('\n');
            expected.push((String::new(), "invalid", "-"));
        }
        let address = format!("user{i}@{domain}");
        stdin.push_str(&address);
        stdin.push('\n');
        expected.push((address, verdict, route));
    }
    let output = run(
        &[
            "check",
            "--no-smtp",
            "--doh",
            world.doh_url(),
            "--concurrency",
            "5",
        ],
        stdin.as_bytes(),
    );
    let reports = reports(&output);
    let got: Vec<(String, &str, &str)> = reports
        .iter()
        .map(|r| {
            let (verdict, _, route) = decided(r);
            (
                r["input"].as_str().expect("input").to_owned(),
                verdict,
                route,
            )
        })
        .collect();
    assert_eq!(got, expected);
    // The first address at a domain waits for DNS in a task; the later ones are made at once
    // from the kept route. Both ways give the same report, but for the address itself.
    let mut first: std::collections::HashMap<String, Value> = std::collections::HashMap::new();
    for report in &reports {
        let input = report["input"].as_str().expect("input");
        let Some((_, domain)) = input.split_once('@') else {
            continue;
        };
        let mut rest = report.clone();
        for field in ["input", "address"] {
            rest.as_object_mut().expect("an object").remove(field);
        }
        let first = first
            .entry(domain.to_owned())
            .or_insert_with(|| rest.clone());
        assert_eq!(&rest, first, "{input}");
    }
    assert_eq!(first.len(), cases.len());
}

fn csv_over_dns(world: &World) {
    let output = run(
        &[
            "check",
            "--no-smtp",
            "--doh",
            world.doh_url(),
            "--format",
            "csv",
        ],
        b"alice@nullmx.test\nalice@valid.test\n",
    );
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).expect("UTF-8 output");
    assert_eq!(
        text,
        "input,address,verdict,reasons,suggestion,score,message\n\
         alice@nullmx.test,alice@nullmx.test,invalid,null_mx,,0,The domain declares that it does not accept email.\n\
         alice@valid.test,alice@valid.test,valid,,,85,\n"
    );
}
