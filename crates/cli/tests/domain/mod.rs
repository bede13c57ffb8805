//! `mailvet domain` against the world's `health.test` zone (tests/world/README.md): each SPF
//! and MX finding from a name made to produce it, over plain DNS (`--dns`) and DNS-over-HTTPS.

use mailvet_e2e::World;
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
        assert_eq!(report["to_reach_a"][0], code, "{name}: {report:#}");
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
