//! `mailvet domain` against the world's `health.test` zone (tests/world/README.md): each SPF
//! and MX finding from a name made to produce it, over plain DNS (`--dns`) and DNS-over-HTTPS.

use mailvet_e2e::World;
use mailvet_e2e::runner;
use serde_json::Value;

use crate::support::run;

/// `mailvet domain NAME --dns <world> --format json ARGS`, its report.
fn domain(world: &World, name: &str, args: &[&str]) -> Value {
    let server = world.dns_addr().to_string();
    let port = world.smtp_addr().port().to_string();
    let mut all = vec![
        "domain",
        name,
        "--dns",
        &server,
        "--format",
        "json",
        "--smtp-port",
        &port,
        "--allow-private",
        "--helo",
        "health.mailvet.test",
    ];
    // The world's RFC 5782 list unless the test names others.
    if !args.contains(&"--dnsbl") {
        all.extend(["--dnsbl", "dnsbl.test"]);
    }
    all.extend(args);
    let output = run(&all, b"");
    assert!(
        output.status.success(),
        "{all:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON report")
}

fn codes(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().expect("code").to_owned())
        .collect()
}

pub fn a_good_domain_has_nothing_to_fix(world: &World) {
    let report = domain(
        world,
        "good.health.test",
        &["--ip", "192.0.2.7", "--ip", "198.51.100.1"],
    );
    assert_eq!(codes(&report), Vec::<String>::new(), "{report:#}");
    assert_eq!(report["grade"], "A");
    assert_eq!(report["spf"]["record"], "v=spf1 ip4:192.0.2.0/24 mx -all");
    assert_eq!(report["spf"]["lookups"], 1);
    let results = report["spf"]["results"].as_array().expect("results");
    assert_eq!(results[0]["result"], "pass");
    assert_eq!(results[0]["path"][0], "good.health.test: ip4:192.0.2.0/24");
    assert_eq!(results[1]["result"], "fail");
    assert_eq!(report["mx"][0]["host"], "mx.good.health.test");
    assert_eq!(report["mx"][0]["addresses"][0], "127.0.0.1");
    assert_eq!(report["mx"][0]["starttls"], true);
    assert_eq!(report["dmarc"]["policy"], "reject");
    assert_eq!(report["dmarc"]["found_at"], "good.health.test");
    // Found among the common selectors.
    assert_eq!(report["dkim"][0]["selector"], "default");
    assert_eq!(report["dkim"][0]["key_bits"], 2048);
    assert!(report["tls_rpt"]["record"].as_str().is_some());
    assert!(report["bimi"]["record"].as_str().is_some());
    let dnsbl = report["dnsbl"].as_array().expect("dnsbl");
    assert_eq!(dnsbl.len(), 3, "{dnsbl:?}");
    assert!(
        dnsbl
            .iter()
            .all(|e| e["status"] == "not_listed" && e["zone"] == "dnsbl.test")
    );
}

pub fn every_spf_and_mx_finding_comes_from_its_case(world: &World) {
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
        ("notls.health.test", "mx_no_starttls"),
    ] {
        let report = domain(world, name, &[]);
        assert!(
            codes(&report).contains(&code.to_owned()),
            "{name}: {report:#}"
        );
        assert_ne!(report["grade"], "A", "{name}");
        let to_fix = report["to_reach_a"].as_array().expect("to_reach_a");
        assert!(to_fix.iter().any(|c| c == code), "{name}: {report:#}");
        let finding = report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["code"] == code)
            .expect("the finding");
        for field in ["message", "fix", "severity"] {
            assert!(
                finding[field].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: {field}"
            );
        }
    }
    // The tree shows each include's cost, and the fix names the one to flatten first.
    let report = domain(world, "toomany.health.test", &[]);
    assert_eq!(report["spf"]["lookups"], 12);
    let finding = &report["findings"][0];
    let message = finding["message"].as_str().expect("message");
    assert!(
        message.contains("i1.health.test — 5 lookups (2 here)"),
        "{message}"
    );
    assert!(
        message.contains("i2.health.test — 3 lookups (3 here)"),
        "{message}"
    );
    let fix = finding["fix"].as_str().expect("fix");
    assert!(
        fix.starts_with("Flatten i1.health.test (5 lookups)"),
        "{fix}"
    );
    // A missing record comes with one to publish.
    let report = domain(world, "nospf.health.test", &[]);
    assert_eq!(report["findings"][0]["record"]["name"], "nospf.health.test");
    assert_eq!(report["findings"][0]["record"]["type"], "TXT");
}

/// `code` is among the findings of `report`, with a message and a fix.
fn assert_finding(report: &Value, code: &str, case: &str) {
    let finding = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("{case}: no {code} in {report:#}"));
    for field in ["message", "fix", "severity"] {
        assert!(
            finding[field].as_str().is_some_and(|s| !s.is_empty()),
            "{case}: {field}"
        );
    }
}

pub fn every_dmarc_dkim_and_dnsbl_finding_comes_from_its_case(world: &World) {
    for (name, code) in [
        ("dmarcnone.health.test", "dmarc_policy_none"),
        ("dmarcpct.health.test", "dmarc_partial_pct"),
        ("dmarcbad.health.test", "dmarc_syntax_error"),
        ("dmarctwo.health.test", "dmarc_multiple_records"),
        ("dmarcext.health.test", "dmarc_external_report_unauthorized"),
        ("nospf.health.test", "dmarc_missing"),
        ("nospf.health.test", "tls_rpt_missing"),
    ] {
        assert_finding(&domain(world, name, &[]), code, name);
    }
    // An external address that agreed to take the reports is no finding.
    let agreed = domain(world, "dmarcextok.health.test", &[]);
    assert!(
        !codes(&agreed).iter().any(|c| c.starts_with("dmarc_")),
        "{agreed:#}"
    );
    // The missing record comes with one to publish.
    let missing = domain(world, "nospf.health.test", &[]);
    let finding = missing["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["code"] == "dmarc_missing")
        .expect("dmarc_missing");
    assert!(
        finding["record"]["value"]
            .as_str()
            .is_some_and(|v| v.starts_with("v=DMARC1"))
    );

    for (selector, code) in [
        ("s512", Some("dkim_key_too_short")),
        ("s1024", Some("dkim_key_too_short")),
        ("s2048", None),
        ("ed", None),
        ("revoked", Some("dkim_revoked")),
        ("testing", Some("dkim_testing")),
        ("bad", Some("dkim_syntax_error")),
        ("missing", Some("dkim_not_found")),
    ] {
        let report = domain(world, "dkim.health.test", &["--dkim-selector", selector]);
        let dkim: Vec<String> = codes(&report)
            .into_iter()
            .filter(|c| c.starts_with("dkim_"))
            .collect();
        match code {
            Some(code) => assert_eq!(dkim, [code], "{selector}: {report:#}"),
            None => assert!(dkim.is_empty(), "{selector}: {report:#}"),
        }
    }
    let sizes = domain(
        world,
        "dkim.health.test",
        &[
            "--dkim-selector",
            "s512",
            "--dkim-selector",
            "s1024",
            "--dkim-selector",
            "ed",
        ],
    );
    assert_eq!(sizes["dkim"][0]["key_bits"], 512);
    assert_eq!(sizes["dkim"][1]["key_bits"], 1024);
    assert_eq!(sizes["dkim"][2]["key_type"], "ed25519");
    let severities: Vec<&str> = sizes["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == "dkim_key_too_short")
        .filter_map(|f| f["severity"].as_str())
        .collect();
    assert_eq!(severities, ["error", "warning"]);

    // 127.0.0.2, the MX of listed.health.test, is the RFC 5782 test point.
    let listed = domain(world, "listed.health.test", &[]);
    assert_finding(&listed, "dnsbl_listed", "listed");
    assert_eq!(listed["dnsbl"][0]["status"], "listed");
    assert_eq!(listed["dnsbl"][0]["target"], "127.0.0.2");
    // The world's stand-in for Spamhaus answers as it does public resolvers: refused, never
    // listed.
    let refused = domain(world, "good.health.test", &["--dnsbl", "zen.spamhaus.org"]);
    assert_finding(&refused, "dnsbl_refused", "refused");
    assert!(!codes(&refused).contains(&"dnsbl_listed".to_owned()));
    assert_eq!(refused["dnsbl"][0]["status"], "refused");
}

pub fn mta_sts_policies_are_fetched_and_matched(world: &World) {
    if let Err(e) = mailvet_e2e::mta_sts::start(world) {
        runner::skip(format!("no HTTPS server for MTA-STS: {e}"));
    }
    let ca = world.dir().join("tls/ca.pem");
    let ca = ca.to_str().expect("path");
    let sts = domain(world, "sts.health.test", &["--ca-file", ca]);
    assert_eq!(sts["mta_sts"]["mode"], "enforce", "{sts:#}");
    assert_eq!(sts["mta_sts"]["mx"][0], "mx.good.health.test");
    assert!(
        !codes(&sts).iter().any(|c| c.starts_with("mta_sts")),
        "{sts:#}"
    );
    let mismatch = domain(world, "stsmismatch.health.test", &["--ca-file", ca]);
    assert_finding(&mismatch, "mta_sts_mx_mismatch", "stsmismatch");
    let unreachable = domain(world, "stsnone.health.test", &["--ca-file", ca]);
    assert_finding(&unreachable, "mta_sts_invalid", "stsnone");
    // Without the test CA the certificate is not trusted: the policy is invalid.
    let untrusted = domain(world, "sts.health.test", &[]);
    assert_finding(&untrusted, "mta_sts_invalid", "untrusted");
}

pub fn spf_macros_are_evaluated_per_address(world: &World) {
    let report = domain(
        world,
        "macro.health.test",
        &["--ip", "192.0.2.10", "--ip", "192.0.2.11"],
    );
    let results = report["spf"]["results"].as_array().expect("results");
    assert_eq!(results[0]["result"], "pass", "{report:#}");
    assert_eq!(
        results[0]["path"][0],
        "macro.health.test: exists:%{i}.allow.health.test"
    );
    assert_eq!(results[1]["result"], "fail");
}

pub fn doh_and_plain_dns_give_the_same_report(world: &World) {
    let plain = domain(world, "toomany.health.test", &["--ip", "127.0.0.1"]);
    let port = world.smtp_addr().port().to_string();
    let output = run(
        &[
            "domain",
            "toomany.health.test",
            "--doh",
            world.doh_url(),
            "--format",
            "json",
            "--ip",
            "127.0.0.1",
            "--smtp-port",
            &port,
            "--allow-private",
            "--helo",
            "health.mailvet.test",
            "--dnsbl",
            "dnsbl.test",
        ],
        b"",
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let doh: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(doh, plain);
    // The path of terms, outermost first, down the include that matched.
    assert_eq!(
        plain["spf"]["results"][0]["path"],
        serde_json::json!([
            "toomany.health.test: include:i1.health.test",
            "i1.health.test: include:i3.health.test",
            "i3.health.test: a:mx.good.health.test"
        ])
    );
}

pub fn special_addresses_are_not_asked_unless_allowed(world: &World) {
    let server = world.dns_addr().to_string();
    let port = world.smtp_addr().port().to_string();
    let output = run(
        &[
            "domain",
            "notls.health.test",
            "--dns",
            &server,
            "--format",
            "json",
            "--smtp-port",
            &port,
        ],
        b"",
    );
    assert!(output.status.success());
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    // Loopback is refused without --allow-private: not asked, so no finding either way.
    assert_eq!(report["mx"][0]["starttls"], Value::Null);
    assert!(!codes(&report).contains(&"mx_no_starttls".to_owned()));
}
