//! `GET /v1/domains/{name}` in wrangler dev against the world's `health.test` zone: the same
//! report as `mailvet domain` (the core's `sender::domain`), its DNS over the world's DoH server.
//! The Worker cannot open port 25, so STARTTLS is never asked here (`mx_no_starttls` is the
//! CLI's). One Worker has a prober (the real `mailvet serve`, asking the world's `dnsbl.test`
//! list and its Spamhaus stand-in), one has none. The MTA-STS cases start two more: workerd's
//! `fetch` resolves names with the system's resolver, not the world's DNS, so those run where
//! `/etc/hosts` names the world's policy hosts (a mount namespace of their own, see
//! `worker::Options::hosts`), one trusting the world's test CA and one not.

use std::process::ExitCode;

use mailvet_e2e::prober::{self, Prober};
use mailvet_e2e::runner::{self, Test};
use mailvet_e2e::worker::{Options, Worker};
use mailvet_e2e::{World, mta_sts};
use serde_json::Value;

struct Edge {
    // Dropped in declaration order: the Workers before the prober and the world.
    worker: Worker,
    without_prober: Worker,
    _prober: Prober,
    world: World,
}

const TOKEN: &str = "domains-test-token";

const TESTS: &[Test<Edge>] = &[
    ("a_good_domain_is_graded_a", a_good_domain_is_graded_a),
    (
        "spf_and_mx_findings_come_from_their_cases",
        spf_and_mx_findings_come_from_their_cases,
    ),
    (
        "dkim_selectors_are_tried_as_given",
        dkim_selectors_are_tried_as_given,
    ),
    (
        "dmarc_dkim_and_tls_rpt_findings_come_from_their_cases",
        dmarc_dkim_and_tls_rpt_findings_come_from_their_cases,
    ),
    (
        "blocklists_come_from_the_prober",
        blocklists_come_from_the_prober,
    ),
    (
        "without_a_prober_blocklists_are_not_checked_and_say_why",
        without_a_prober_blocklists_are_not_checked_and_say_why,
    ),
    (
        "mta_sts_policies_are_fetched_and_matched",
        mta_sts_policies_are_fetched_and_matched,
    ),
    (
        "bad_names_and_addresses_are_400",
        bad_names_and_addresses_are_400,
    ),
    (
        "every_finding_code_has_a_case_here_and_in_the_cli",
        every_finding_code_has_a_case_here_and_in_the_cli,
    ),
];

fn main() -> ExitCode {
    runner::run(TESTS, setup, |_| {})
}

fn setup() -> Result<Edge, String> {
    let world = World::from_env_or_start().map_err(|e| format!("the mail world: {e}"))?;
    let prober = Prober::start_with(
        &world,
        &prober::beside_this_test()?,
        TOKEN,
        "domains.mailvet.test",
        // The RFC 5782 test list, and the world's stand-in for Spamhaus, which refuses.
        &["--dnsbl", "dnsbl.test,zen.spamhaus.org"],
    )?;
    let worker = Worker::start(
        &world,
        &[("PROBE_URL", prober.url()), ("PROBE_TOKEN", TOKEN)],
    )?;
    let without_prober = Worker::start(&world, &[])?;
    Ok(Edge {
        worker,
        without_prober,
        _prober: prober,
        world,
    })
}

fn report(edge: &Edge, path: &str) -> Value {
    report_of(&edge.worker, path)
}

/// The report at `path`, checked against the `DomainReport` schema of `src/openapi.json`: its
/// required fields are there, and every finding's code and severity are documented ones.
fn report_of(worker: &Worker, path: &str) -> Value {
    let answer = worker.get(path).expect(path);
    assert_eq!(answer.status, 200, "{path}: {}", answer.text());
    let report: Value = serde_json::from_slice(&answer.body).expect("JSON");
    let doc = std::fs::read(mailvet_e2e::repo_root().join("src/openapi.json")).expect("openapi");
    let doc: Value = serde_json::from_slice(&doc).expect("openapi JSON");
    let schemas = &doc["components"]["schemas"];
    for field in schemas["DomainReport"]["required"]
        .as_array()
        .expect("required")
    {
        let field = field.as_str().expect("a name");
        assert!(
            report.get(field).is_some(),
            "{path}: no {field} in {report:#}"
        );
    }
    let documented = |enum_: &Value, value: &Value| enum_.as_array().expect("enum").contains(value);
    for finding in report["findings"].as_array().expect("findings") {
        assert!(
            documented(&schemas["FindingCode"]["enum"], &finding["code"]),
            "{finding}"
        );
        let severity = &schemas["Finding"]["properties"]["severity"]["enum"];
        assert!(documented(severity, &finding["severity"]), "{finding}");
    }
    report
}

fn codes(report: &Value) -> Vec<&str> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect()
}

fn a_good_domain_is_graded_a(edge: &Edge) {
    // Without a prober: the Spamhaus stand-in would refuse, which is a finding.
    let report = report_of(
        &edge.without_prober,
        "/v1/domains/good.health.test?ip=192.0.2.7&ip=198.51.100.1",
    );
    assert_eq!(report["grade"], "A", "{report:#}");
    assert!(codes(&report).is_empty(), "{report:#}");
    assert_eq!(report["spf"]["results"][0]["result"], "pass");
    assert_eq!(report["spf"]["results"][1]["result"], "fail");
    assert_eq!(report["mx"][0]["host"], "mx.good.health.test");
    assert_eq!(report["mx"][0]["starttls"], Value::Null);
}

fn spf_and_mx_findings_come_from_their_cases(edge: &Edge) {
    for (name, code) in [
        ("toomany.health.test", "spf_too_many_lookups"),
        ("open.health.test", "spf_permissive_all"),
        ("ptr.health.test", "spf_ptr_mechanism"),
        ("two.health.test", "spf_multiple_records"),
        ("void.health.test", "spf_too_many_void_lookups"),
        ("syntax.health.test", "spf_syntax_error"),
        ("long.health.test", "spf_record_too_long"),
        ("nospf.health.test", "spf_missing"),
        ("nomx.health.test", "mx_missing"),
        ("mxnoaddr.health.test", "mx_host_no_address"),
    ] {
        let report = report(edge, &format!("/v1/domains/{name}"));
        assert!(codes(&report).contains(&code), "{name}: {report:#}");
    }
    let macro_ = report(
        edge,
        "/v1/domains/macro.health.test?ip=192.0.2.10&ip=192.0.2.11",
    );
    assert_eq!(macro_["spf"]["results"][0]["result"], "pass");
    assert_eq!(macro_["spf"]["results"][1]["result"], "fail");
}

fn dkim_selectors_are_tried_as_given(edge: &Edge) {
    let report = report(
        edge,
        "/v1/domains/dkim.health.test?dkim_selector=s512&dkim_selector=revoked&dkim_selector=ed",
    );
    let tried: Vec<&str> = report["dkim"]
        .as_array()
        .expect("dkim")
        .iter()
        .filter_map(|d| d["selector"].as_str())
        .collect();
    assert_eq!(tried, ["s512", "revoked", "ed"], "{report:#}");
    let codes = codes(&report);
    assert!(codes.contains(&"dkim_key_too_short"), "{codes:?}");
    assert!(codes.contains(&"dkim_revoked"), "{codes:?}");
}

fn dmarc_dkim_and_tls_rpt_findings_come_from_their_cases(edge: &Edge) {
    for (name, code) in [
        ("dmarcnone.health.test", "dmarc_policy_none"),
        ("dmarcpct.health.test", "dmarc_partial_pct"),
        ("dmarcbad.health.test", "dmarc_syntax_error"),
        ("dmarctwo.health.test", "dmarc_multiple_records"),
        ("dmarcext.health.test", "dmarc_external_report_unauthorized"),
        ("nospf.health.test", "dmarc_missing"),
        ("nospf.health.test", "tls_rpt_missing"),
    ] {
        let report = report_of(&edge.without_prober, &format!("/v1/domains/{name}"));
        assert!(codes(&report).contains(&code), "{name}: {report:#}");
    }
    for (selector, code) in [
        ("testing", "dkim_testing"),
        ("bad", "dkim_syntax_error"),
        ("missing", "dkim_not_found"),
    ] {
        let report = report_of(
            &edge.without_prober,
            &format!("/v1/domains/dkim.health.test?dkim_selector={selector}"),
        );
        let dkim: Vec<&str> = codes(&report)
            .into_iter()
            .filter(|c| c.starts_with("dkim_"))
            .collect();
        assert_eq!(dkim, [code], "{selector}: {report:#}");
    }
}

fn blocklists_come_from_the_prober(edge: &Edge) {
    // RFC 5782 §5: 127.0.0.2 is listed on every list, 127.0.0.1 on none.
    let report = report(
        edge,
        "/v1/domains/good.health.test?ip=127.0.0.2&ip=127.0.0.1",
    );
    assert!(report.get("dnsbl_skipped").is_none(), "{report:#}");
    let entry = |target: &str| {
        report["dnsbl"]
            .as_array()
            .expect("dnsbl")
            .iter()
            .find(|e| e["zone"] == "dnsbl.test" && e["target"] == target)
            .cloned()
            .unwrap_or_else(|| panic!("no dnsbl.test entry for {target}: {report:#}"))
    };
    assert_eq!(entry("127.0.0.2")["status"], "listed");
    assert_eq!(entry("127.0.0.1")["status"], "not_listed");
    assert!(codes(&report).contains(&"dnsbl_listed"), "{report:#}");
    assert_ne!(report["grade"], "A");
    // The Spamhaus stand-in answers as Spamhaus does public resolvers: refused, never listed.
    let refused: Vec<&Value> = report["dnsbl"]
        .as_array()
        .expect("dnsbl")
        .iter()
        .filter(|e| e["zone"] == "zen.spamhaus.org")
        .collect();
    assert!(!refused.is_empty(), "{report:#}");
    assert!(
        refused.iter().all(|e| e["status"] == "refused"),
        "{refused:?}"
    );
    assert!(codes(&report).contains(&"dnsbl_refused"), "{report:#}");
}

fn without_a_prober_blocklists_are_not_checked_and_say_why(edge: &Edge) {
    let report = report_of(
        &edge.without_prober,
        "/v1/domains/good.health.test?ip=127.0.0.2",
    );
    assert_eq!(report["dnsbl"], serde_json::json!([]), "{report:#}");
    let why = report["dnsbl_skipped"].as_str().expect("dnsbl_skipped");
    assert!(why.contains("prober"), "{why}");
    assert!(!codes(&report).contains(&"dnsbl_listed"));
}

/// RFC 8461 through the Worker: the policy fetched over HTTPS with its certificate checked, and
/// each MX matched against it. The same cases as `mailvet domain` in crates/cli/tests/domain.
fn mta_sts_policies_are_fetched_and_matched(edge: &Edge) {
    let world = &edge.world;
    if let Err(e) = mta_sts::start(world) {
        runner::skip(format!("no HTTPS server for MTA-STS: {e}"));
    }
    let namespace = std::process::Command::new("unshare")
        .args(["--mount", "true"])
        .status();
    if !namespace.is_ok_and(|s| s.success()) {
        runner::skip("unshare --mount is not allowed here (it needs root, as CI has)");
    }
    let hosts: Vec<(String, String)> = mta_sts::HOSTS
        .iter()
        .map(|(name, address)| ((*name).to_owned(), (*address).to_owned()))
        .collect();
    let trusting = Options {
        hosts: hosts.clone(),
        ca_file: Some(world.dir().join("tls/ca.pem")),
        ..Options::default()
    };
    let worker = Worker::start_with(world, &[], &trusting).expect("a Worker that trusts the CA");
    let sts = report_of(&worker, "/v1/domains/sts.health.test");
    assert_eq!(sts["mta_sts"]["mode"], "enforce", "{sts:#}");
    assert_eq!(sts["mta_sts"]["mx"][0], "mx.good.health.test", "{sts:#}");
    assert!(
        !codes(&sts).iter().any(|c| c.starts_with("mta_sts")),
        "{sts:#}"
    );
    let mismatch = report_of(&worker, "/v1/domains/stsmismatch.health.test");
    assert!(
        codes(&mismatch).contains(&"mta_sts_mx_mismatch"),
        "{mismatch:#}"
    );
    // Its policy host's address, 127.0.0.6, has nothing listening.
    let unreachable = report_of(&worker, "/v1/domains/stsnone.health.test");
    assert!(
        codes(&unreachable).contains(&"mta_sts_invalid"),
        "{unreachable:#}"
    );
    drop(worker);
    // The same host, the same certificate, but not a CA workerd trusts: the policy is invalid.
    let untrusting = Options {
        hosts,
        ..Options::default()
    };
    let worker = Worker::start_with(world, &[], &untrusting).expect("a Worker without the CA");
    let untrusted = report_of(&worker, "/v1/domains/sts.health.test");
    assert!(
        codes(&untrusted).contains(&"mta_sts_invalid"),
        "{untrusted:#}"
    );
}

fn bad_names_and_addresses_are_400(edge: &Edge) {
    for (path, code) in [
        ("/v1/domains/not%20a%20domain", "invalid_domain"),
        ("/v1/domains/[192.0.2.1]", "invalid_domain"),
        ("/v1/domains/good.health.test?ip=300.1.1.1", "invalid_ip"),
        (
            "/v1/domains/good.health.test?dkim_selector=a%20b",
            "invalid_dkim_selector",
        ),
    ] {
        let answer = edge.worker.get(path).expect(path);
        assert_eq!(answer.status, 400, "{path}: {}", answer.text());
        let body: Value = serde_json::from_slice(&answer.body).expect("JSON");
        assert_eq!(body["error"]["code"], code, "{path}");
    }
    let post = edge
        .worker
        .request("POST", "/v1/domains/good.health.test", &[], None)
        .expect("POST");
    assert_eq!(post.status, 405);
}

/// Issue 12 asks for every finding code to come from a case of the world through the CLI and
/// through the Worker: each code of `FindingCode` in `src/openapi.json` is asserted, as a string,
/// by this file and by the CLI's (`mx_no_starttls` by the CLI's only: the Worker cannot open
/// port 25). A code added without a case fails here.
fn every_finding_code_has_a_case_here_and_in_the_cli(_: &Edge) {
    let root = mailvet_e2e::repo_root();
    let read = |path: &str| std::fs::read_to_string(root.join(path)).expect(path);
    let doc: Value = serde_json::from_str(&read("src/openapi.json")).expect("openapi JSON");
    let codes = doc["components"]["schemas"]["FindingCode"]["enum"]
        .as_array()
        .expect("FindingCode");
    assert!(codes.len() >= 27, "{codes:?}");
    let worker = read("tests/e2e/tests/domains.rs");
    let cli = read("crates/cli/tests/domain/mod.rs");
    for code in codes {
        let quoted = format!("\"{}\"", code.as_str().expect("a code"));
        assert!(cli.contains(&quoted), "no CLI case asserts {quoted}");
        if quoted != "\"mx_no_starttls\"" {
            assert!(worker.contains(&quoted), "no Worker case asserts {quoted}");
        }
    }
}
