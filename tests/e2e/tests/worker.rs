//! The edge Worker under `wrangler dev` (workerd), against the local mail world.
//!
//! Runs the Worker that `scripts/build-worker` built; `scripts/test` builds it first. Uses the
//! runner of `mailvet_e2e::runner` (one world and three Workers for the binary, stopped at the
//! end). The Workers differ only in configuration:
//!
//! - `open`: as in local development: the world's DoH server, no keys, no prober, no limits;
//! - `keyed`: secret and public keys, the prober below with its token, and two DoH relays
//!   (`peers::Relay`) in front of the world's DoH server, so tests see every query that reaches
//!   a resolver: the cache, the failover, the POST form;
//! - `limited`: tight rate limits (wrangler.toml `[env.e2e-limits]`) and a wrong prober token.
#![allow(clippy::print_stdout, reason = "a test runner reports on stdout")]

#[path = "worker/peers.rs"]
mod peers;

use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mailvet_core::dns::RecordType;
use mailvet_core::report::{MailboxEvidence, MxSummary, ProbeRequest};
use mailvet_core::smtp::Outcome;
use mailvet_core::syntax::Warning;
use mailvet_core::verdict::ReasonCode;
use mailvet_e2e::World;
use mailvet_e2e::http::HttpResponse;
use mailvet_e2e::runner::{self, Test};
use mailvet_e2e::worker::Worker;
use serde_json::{Value, json};

use peers::{Answer, Prober, Relay, Rule};

struct Edge {
    // Dropped in declaration order: the Workers stop before the world they resolve through.
    open: Worker,
    keyed: Worker,
    limited: Worker,
    relays: [Relay; 2],
    prober: Prober,
    world: World,
}

const SECRET_KEY: &str = "sk_test_alpha";
const OTHER_SECRET_KEY: &str = "sk_test_beta";
const PUBLIC_KEY: &str = "pk_test_shop";
const SHOP: &str = "https://shop.example";
const PROBE_TOKEN: &str = "probe-token-e2e";
/// The `keyed` Worker's DoH and prober deadlines; the peers stall well past them. A loaded
/// machine (two cores, three Workers, every test at once) answers slowly, so no deadline in
/// these tests is short: the other Workers wait up to `PATIENT_DOH_MS` for the world's DoH.
const DOH_TIMEOUT_MS: &str = "6000";
const PROBE_TIMEOUT_MS: &str = "6000";
const STALL: Duration = Duration::from_secs(15);
const PATIENT_DOH_MS: &str = "20000";
/// The `limited` Worker's limits (wrangler.toml `[env.e2e-limits]`), per 60 seconds.
const KEY_LIMIT: usize = 5;
const CLIENT_LIMIT: usize = 3;
const LIMITED_KEY: &str = "sk_test_limited";
const PROBE_KEY: &str = "sk_test_probe";
const LIMITED_PUBLIC_KEY: &str = "pk_test_limited";

const TESTS: &[Test<Edge>] = &[
    ("healthz_answers_json", healthz_answers_json),
    ("demo_page_is_served", demo_page_is_served),
    ("demo_assets_are_served", demo_assets_are_served),
    ("dns_valid_domain_has_mx", dns_valid_domain_has_mx),
    ("dns_null_mx_is_invalid", dns_null_mx_is_invalid),
    ("dns_implicit_mx_is_valid", dns_implicit_mx_is_valid),
    (
        "dns_dangling_mx_has_no_mail_server",
        dns_dangling_mx_has_no_mail_server,
    ),
    (
        "dns_fallback_mx_lists_both_hosts",
        dns_fallback_mx_lists_both_hosts,
    ),
    (
        "dns_aaaa_only_mx_host_is_usable",
        dns_aaaa_only_mx_host_is_usable,
    ),
    (
        "dns_nxdomain_is_domain_not_found",
        dns_nxdomain_is_domain_not_found,
    ),
    ("dns_servfail_is_unknown", dns_servfail_is_unknown),
    ("dns_cname_is_followed", dns_cname_is_followed),
    ("dns_idn_domain_in_both_forms", dns_idn_domain_in_both_forms),
    (
        "dns_disposable_domain_is_risky",
        dns_disposable_domain_is_risky,
    ),
    ("typo_gets_a_suggestion", typo_gets_a_suggestion),
    ("address_literal_skips_dns", address_literal_skips_dns),
    ("invalid_syntax_is_a_verdict", invalid_syntax_is_a_verdict),
    ("syntax_only_asks_no_dns", syntax_only_asks_no_dns),
    ("post_answers_like_get", post_answers_like_get),
    (
        "batch_keeps_every_input_in_order",
        batch_keeps_every_input_in_order,
    ),
    (
        "batch_resolves_each_domain_once",
        batch_resolves_each_domain_once,
    ),
    ("batch_holds_at_most_100", batch_holds_at_most_100),
    ("bad_requests_are_400", bad_requests_are_400),
    ("unknown_path_is_404", unknown_path_is_404),
    ("wrong_method_is_405", wrong_method_is_405),
    ("large_body_is_413", large_body_is_413),
    (
        "cache_answers_without_the_resolver",
        cache_answers_without_the_resolver,
    ),
    ("cache_keeps_negative_answers", cache_keeps_negative_answers),
    ("cache_keeps_no_failures", cache_keeps_no_failures),
    ("doh_fails_over_past_a_stall", doh_fails_over_past_a_stall),
    ("doh_falls_back_to_post", doh_falls_back_to_post),
    (
        "doh_unreachable_is_dns_failure",
        doh_unreachable_is_dns_failure,
    ),
    (
        "keys_open_without_configuration",
        keys_open_without_configuration,
    ),
    (
        "keys_required_once_configured",
        keys_required_once_configured,
    ),
    (
        "keys_secret_by_header_or_query",
        keys_secret_by_header_or_query,
    ),
    (
        "keys_public_only_from_its_origins",
        keys_public_only_from_its_origins,
    ),
    ("cors_preflight", cors_preflight),
    ("limit_per_key_is_429", limit_per_key_is_429),
    ("limit_per_client_is_429", limit_per_client_is_429),
    ("probe_answers_are_merged", probe_answers_are_merged),
    ("probe_only_when_needed", probe_only_when_needed),
    ("probe_stall_is_smtp_timeout", probe_stall_is_smtp_timeout),
    ("probe_wrong_token_is_unknown", probe_wrong_token_is_unknown),
    ("openapi_paths_all_answer", openapi_paths_all_answer),
    ("openapi_report_fields", openapi_report_fields),
    ("openapi_enums_match_the_core", openapi_enums_match_the_core),
];

fn main() -> ExitCode {
    runner::run(TESTS, setup, |edge| {
        edge.world.keep_dir();
        println!("logs kept in {}", edge.world.dir().display());
    })
}

fn setup() -> Result<Edge, String> {
    let world = World::from_env_or_start().map_err(|e| format!("the mail world: {e}"))?;
    let relay = |rule| Relay::start(world.doh_url(), rule).map_err(|e| format!("relay: {e}"));
    let relays = [relay(first_relay)?, relay(second_relay)?];
    let prober = Prober::start(PROBE_TOKEN, probe_table).map_err(|e| format!("prober: {e}"))?;
    let doh = format!("{},{}", relays[0].url(), relays[1].url());
    let public = json!({ PUBLIC_KEY: [SHOP] }).to_string();
    let limited_public = json!({ LIMITED_PUBLIC_KEY: [SHOP] }).to_string();
    let secrets = format!("{SECRET_KEY},{OTHER_SECRET_KEY}");
    let limited_secrets = format!("{LIMITED_KEY},{PROBE_KEY}");
    let keyed_vars = [
        ("DOH_URL", doh.as_str()),
        ("DOH_TIMEOUT_MS", DOH_TIMEOUT_MS),
        ("PROBE_URL", prober.url()),
        ("PROBE_TOKEN", PROBE_TOKEN),
        ("PROBE_TIMEOUT_MS", PROBE_TIMEOUT_MS),
        ("SECRET_KEYS", secrets.as_str()),
        ("PUBLIC_KEYS", public.as_str()),
    ];
    let limited_vars = [
        ("DOH_TIMEOUT_MS", PATIENT_DOH_MS),
        ("PROBE_URL", prober.url()),
        ("PROBE_TOKEN", "not-the-probe-token"),
        ("SECRET_KEYS", limited_secrets.as_str()),
        ("PUBLIC_KEYS", limited_public.as_str()),
    ];
    // wrangler takes seconds to start: start the three at once.
    let (open, keyed, limited) = std::thread::scope(|s| {
        let open = s.spawn(|| Worker::start(&world, &[("DOH_TIMEOUT_MS", PATIENT_DOH_MS)]));
        let keyed = s.spawn(|| Worker::start(&world, &keyed_vars));
        let limited = s.spawn(|| Worker::start_in("e2e-limits", &world, &limited_vars));
        let join = |h: std::thread::ScopedJoinHandle<'_, Result<Worker, String>>| {
            h.join().map_err(|_| "a Worker start panicked".to_owned())?
        };
        (join(open), join(keyed), join(limited))
    });
    Ok(Edge {
        open: open?,
        keyed: keyed?,
        limited: limited?,
        relays,
        prober,
        world,
    })
}

/// The `keyed` Worker's first DoH endpoint: stalls, fails or refuses GET by the first label.
fn first_relay(name: &str) -> Rule {
    match name.split('.').next() {
        Some("stall") => Rule::Stall(STALL),
        Some("down") => Rule::Fail(503),
        Some("post-only") => Rule::PostOnly,
        _ => Rule::Forward,
    }
}

/// The second endpoint fails only where both must.
fn second_relay(name: &str) -> Rule {
    match name.split('.').next() {
        Some("down") => Rule::Fail(502),
        _ => Rule::Forward,
    }
}

/// What the prober says about each mailbox of the world (tests/world/README.md), as the real
/// prober would find it there.
fn probe_table(request: &ProbeRequest) -> Answer {
    let host = request
        .mx
        .as_ref()
        .and_then(|mx| mx.first())
        .map_or_else(String::new, |h| h.host.clone());
    let answered = |code, enhanced: &str, outcome| MailboxEvidence::Answered {
        host: host.clone(),
        code,
        enhanced: Some(enhanced.into()),
        message: String::new(),
        outcome,
        tls: true,
        catch_all: Some(false),
    };
    match request.email.as_str() {
        "alice@valid.test" => Answer::Now(answered(250, "2.1.5", Outcome::Deliverable)),
        "carol@valid.test" => Answer::Now(answered(550, "5.1.1", Outcome::MailboxNotFound)),
        "stall@valid.test" => Answer::After(STALL, answered(250, "2.1.5", Outcome::Deliverable)),
        _ => Answer::Now(MailboxEvidence::Unreachable),
    }
}

// ---- helpers ----

/// A name below `wild.test` (a wildcard MX in the world) that no earlier request asked for.
fn fresh(first_label: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{first_label}.r{}-{nanos}-{}.wild.test",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// RFC 3986 §2.1: every octet but the unreserved ones percent-encoded.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /v1/verify?email=…` (plus `extra` query text) with `headers`; expects 200.
fn verify_with(
    worker: &Worker,
    email: &str,
    extra: &str,
    headers: &[(&str, &str)],
) -> (HttpResponse, Value) {
    let path = format!("/v1/verify?email={}{extra}", encode(email));
    let r = worker
        .request("GET", &path, headers, None)
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    let report = r.json();
    (r, report)
}

fn verify(worker: &Worker, email: &str) -> Value {
    verify_with(worker, email, "", &[]).1
}

/// `verify` on the keyed Worker with a secret key, down to DNS: its prober is not asked.
fn verify_keyed(edge: &Edge, email: &str) -> (HttpResponse, Value) {
    verify_with(
        &edge.keyed,
        email,
        "&checks=dns",
        &[("Authorization", &bearer(SECRET_KEY))],
    )
}

/// `verify` on the keyed Worker with a secret key, its prober included.
fn probe_keyed(edge: &Edge, email: &str) -> Value {
    verify_with(
        &edge.keyed,
        email,
        "",
        &[("Authorization", &bearer(SECRET_KEY))],
    )
    .1
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

fn codes(report: &Value) -> Vec<&str> {
    report["reasons"]
        .as_array()
        .unwrap_or_else(|| panic!("no reasons: {report}"))
        .iter()
        .map(|r| r["code"].as_str().unwrap_or_default())
        .collect()
}

fn mx_hosts(report: &Value) -> Vec<(u64, &str)> {
    report["checks"]["dns"]["mx"]
        .as_array()
        .map(|mx| {
            mx.iter()
                .map(|h| {
                    (
                        h["preference"].as_u64().unwrap_or(u64::MAX),
                        h["host"].as_str().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Verdict, reason codes and DNS route of a report.
fn outline(report: &Value) -> (&str, Vec<&str>, &str) {
    (
        report["verdict"].as_str().unwrap_or_default(),
        codes(report),
        report["checks"]["dns"]["route"]
            .as_str()
            .unwrap_or_default(),
    )
}

/// How long the Worker takes to answer `GET path` completely.
fn time_to_answer(worker: &Worker, path: &str, headers: &[(&str, &str)]) -> (Duration, u16) {
    let started = Instant::now();
    let r = worker.request("GET", path, headers, None).expect(path);
    (started.elapsed(), r.status)
}

fn relay_queries(edge: &Edge, name: &str) -> [Vec<peers::Query>; 2] {
    [
        edge.relays[0].queries_for(name),
        edge.relays[1].queries_for(name),
    ]
}

// ---- the Worker and its assets ----

fn healthz_answers_json(edge: &Edge) {
    let r = edge.open.get("/healthz").expect("GET /healthz");
    assert_eq!(r.status, 200);
    assert!(
        r.content_type
            .as_deref()
            .unwrap_or_default()
            .starts_with("application/json")
    );
    let text = r.text();
    assert!(text.contains(r#""status":"ok""#), "{text}");
    assert!(text.contains(r#""service":"mailvet-worker""#), "{text}");
}

fn demo_page_is_served(edge: &Edge) {
    let r = edge.open.get("/").expect("GET /");
    assert_eq!(r.status, 200);
    assert!(
        r.content_type
            .as_deref()
            .unwrap_or_default()
            .starts_with("text/html")
    );
    let page = r.text();
    assert!(page.contains("<title>mailvet"), "{page}");
    assert!(
        page.contains(r#"type="email""#),
        "the demo page has an email field"
    );
}

fn demo_assets_are_served(edge: &Edge) {
    for (path, kind) in [("/demo.js", "javascript"), ("/demo.css", "text/css")] {
        let r = edge.open.get(path).expect(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.content_type.as_deref().unwrap_or_default().contains(kind),
            "{path}"
        );
    }
}

// ---- every DNS case of the world ----

fn dns_valid_domain_has_mx(edge: &Edge) {
    let (r, report) = verify_with(&edge.open, "alice@valid.test", "", &[]);
    assert_eq!(outline(&report), ("valid", vec![], "mx"), "{report}");
    assert_eq!(mx_hosts(&report), [(10, "mx.valid.test")]);
    assert_eq!(report["score"], 85);
    assert_eq!(report["address"], "alice@valid.test");
    assert_eq!(report["checks"]["dns"]["status"], "passed");
    // No prober is configured for this Worker.
    assert_eq!(report["checks"]["smtp"]["skipped"], "no_prober");
    assert!(r.header("x-mailvet-cache").is_some());
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

fn dns_null_mx_is_invalid(edge: &Edge) {
    let report = verify(&edge.open, "alice@nullmx.test");
    // The domain's A record is no implicit MX (RFC 7505 §3).
    assert_eq!(outline(&report), ("invalid", vec!["null_mx"], "null_mx"));
    assert_eq!(report["checks"]["smtp"]["skipped"], "not_needed");
}

fn dns_implicit_mx_is_valid(edge: &Edge) {
    let report = verify(&edge.open, "alice@implicit-mx.test");
    assert_eq!(outline(&report), ("valid", vec![], "implicit_mx"));
    assert_eq!(mx_hosts(&report), [(0, "implicit-mx.test")]);
}

fn dns_dangling_mx_has_no_mail_server(edge: &Edge) {
    let report = verify(&edge.open, "alice@dangling-mx.test");
    assert_eq!(
        outline(&report),
        ("invalid", vec!["no_mail_server"], "no_mail_server"),
        "{report}"
    );
}

fn dns_fallback_mx_lists_both_hosts(edge: &Edge) {
    let report = verify(&edge.open, "alice@fallback-mx.test");
    assert_eq!(outline(&report), ("valid", vec![], "mx"));
    assert_eq!(
        mx_hosts(&report),
        [(10, "mx1.fallback-mx.test"), (20, "mx2.fallback-mx.test")]
    );
}

fn dns_aaaa_only_mx_host_is_usable(edge: &Edge) {
    let report = verify(&edge.open, "alice@aaaa-only.test");
    assert_eq!(outline(&report), ("valid", vec![], "mx"), "{report}");
    assert_eq!(mx_hosts(&report), [(10, "mx.aaaa-only.test")]);
}

fn dns_nxdomain_is_domain_not_found(edge: &Edge) {
    let report = verify(&edge.open, "alice@does-not-exist.test");
    assert_eq!(
        outline(&report),
        ("invalid", vec!["domain_not_found"], "domain_not_found")
    );
    assert_eq!(report["score"], 0);
}

fn dns_servfail_is_unknown(edge: &Edge) {
    for email in ["alice@servfail.test", "alice@deep.below.servfail.test"] {
        let report = verify(&edge.open, email);
        // Never `invalid`: a resolver failure says nothing about the domain.
        assert_eq!(
            outline(&report),
            ("unknown", vec!["dns_failure"], "dns_failure"),
            "{email}"
        );
        assert_eq!(report["checks"]["dns"]["status"], "inconclusive");
        assert_eq!(report["checks"]["smtp"]["skipped"], "dns_unavailable");
    }
}

fn dns_cname_is_followed(edge: &Edge) {
    let report = verify(&edge.open, "alice@cname-to-valid.test");
    assert_eq!(outline(&report), ("valid", vec![], "mx"));
    assert_eq!(mx_hosts(&report), [(10, "mx.valid.test")]);
}

fn dns_idn_domain_in_both_forms(edge: &Edge) {
    for input in [
        "jörg@bücher.test",
        "jörg@xn--bcher-kva.test",
        "jörg@BÜCHER.test",
    ] {
        let report = verify(&edge.open, input);
        assert_eq!(report["input"], input);
        assert_eq!(report["address"], "jörg@bücher.test", "{input}");
        assert_eq!(outline(&report), ("valid", vec![], "mx"), "{input}");
        assert_eq!(mx_hosts(&report), [(10, "mx.xn--bcher-kva.test")]);
        let warnings = report["checks"]["syntax"]["warnings"].to_string();
        assert!(warnings.contains("needs_smtputf8"), "{input}: {warnings}");
    }
}

fn dns_disposable_domain_is_risky(edge: &Edge) {
    let report = verify(&edge.open, "anyone@mailinator.com");
    assert_eq!(outline(&report), ("risky", vec!["disposable"], "mx"));
    assert_eq!(mx_hosts(&report), [(10, "mx.mailinator.com")]);
}

fn typo_gets_a_suggestion(edge: &Edge) {
    let report = verify(&edge.open, "jane@gamil.com");
    assert_eq!(report["suggestion"], "jane@gmail.com");
    // The world refuses names outside it: DNS cannot back the typo, so it stays a hint.
    assert_eq!(
        outline(&report),
        ("unknown", vec!["dns_failure"], "dns_failure")
    );
}

fn address_literal_skips_dns(edge: &Edge) {
    let (r, report) = verify_with(&edge.open, "alice@[127.0.0.1]", "", &[]);
    assert_eq!(report["checks"]["dns"]["skipped"], "address_literal");
    assert_eq!(report["checks"]["smtp"]["skipped"], "no_prober");
    assert_eq!(report["verdict"], "valid");
    assert_eq!(r.header("x-mailvet-cache"), None, "no DNS was asked");
}

fn invalid_syntax_is_a_verdict(edge: &Edge) {
    let report = verify(&edge.open, "alice.valid.test");
    assert_eq!(outline(&report), ("invalid", vec!["invalid_syntax"], ""));
    assert_eq!(report["address"], Value::Null);
    assert_eq!(report["checks"]["syntax"]["error"]["code"], "missing_at");
    assert_eq!(report["checks"]["dns"]["skipped"], "not_needed");
}

fn syntax_only_asks_no_dns(edge: &Edge) {
    let domain = fresh("syntax");
    let email = format!("alice@{domain}");
    let (r, report) = verify_with(
        &edge.keyed,
        &email,
        "&checks=syntax",
        &[("Authorization", &bearer(SECRET_KEY))],
    );
    assert_eq!(report["verdict"], "valid");
    assert_eq!(report["score"], 70);
    assert_eq!(report["checks"]["dns"]["skipped"], "syntax_only");
    assert_eq!(report["checks"]["smtp"]["skipped"], "syntax_only");
    assert_eq!(r.header("x-mailvet-cache"), None);
    assert_eq!(relay_queries(edge, &domain), [vec![], vec![]]);
    assert!(edge.prober.calls_for(&email).is_empty());
    // `checks=dns` stops before the mailbox, although a prober is configured.
    let (_, report) = verify_with(
        &edge.keyed,
        "alice@valid.test",
        "&checks=dns",
        &[("Authorization", &bearer(SECRET_KEY))],
    );
    assert_eq!(report["checks"]["dns"]["route"], "mx");
    assert_eq!(report["checks"]["smtp"]["skipped"], "disabled");
}

fn post_answers_like_get(edge: &Edge) {
    let get = verify(&edge.open, "Bob@Valid.TEST");
    let body = json!({ "email": "Bob@Valid.TEST" }).to_string();
    let r = edge
        .open
        .request(
            "POST",
            "/v1/verify",
            &[("Content-Type", "application/json")],
            Some(body.as_bytes()),
        )
        .expect("POST");
    assert_eq!(r.status, 200, "{}", r.text());
    let post = r.json();
    assert_eq!(get, post);
    assert_eq!(post["address"], "Bob@valid.test");
}

// ---- batches ----

fn batch(worker: &Worker, body: &Value, headers: &[(&str, &str)]) -> HttpResponse {
    let body = body.to_string();
    worker
        .request("POST", "/v1/verify/batch", headers, Some(body.as_bytes()))
        .expect("POST /v1/verify/batch")
}

fn batch_keeps_every_input_in_order(edge: &Edge) {
    let inputs = [
        "alice@valid.test",
        "not an address",
        "x@nullmx.test",
        "alice@valid.test",
        "",
        "jane@does-not-exist.test",
        "x@servfail.test",
        "Carol@VALID.test",
    ];
    let r = batch(&edge.open, &json!({ "emails": inputs }), &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    let results = body["results"].as_array().expect("results");
    let got: Vec<(&str, &str)> = results
        .iter()
        .map(|r| {
            (
                r["input"].as_str().unwrap_or_default(),
                r["verdict"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("alice@valid.test", "valid"),
            ("not an address", "invalid"),
            ("x@nullmx.test", "invalid"),
            ("alice@valid.test", "valid"),
            ("", "invalid"),
            ("jane@does-not-exist.test", "invalid"),
            ("x@servfail.test", "unknown"),
            ("Carol@VALID.test", "valid"),
        ]
    );
    // Each a whole Report, as /v1/verify gives it.
    assert_eq!(results[0], verify(&edge.open, "alice@valid.test"));
}

fn batch_resolves_each_domain_once(edge: &Edge) {
    let shared = fresh("batch");
    let other = fresh("batch");
    let emails: Vec<String> = ["alice", "bob", "carol", "Dave"]
        .iter()
        .map(|local| format!("{local}@{shared}"))
        .chain([
            format!("erin@{other}"),
            format!("frank@{}", shared.to_uppercase()),
        ])
        .collect();
    let r = batch(
        &edge.keyed,
        &json!({ "emails": emails, "checks": "dns" }),
        &[("Authorization", &bearer(SECRET_KEY))],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), emails.len());
    for report in results {
        assert_eq!(outline(report), ("valid", vec![], "mx"), "{report}");
    }
    for domain in [&shared, &other] {
        let [first, second] = relay_queries(edge, domain);
        assert!(second.is_empty(), "{second:?}");
        let mut types: Vec<u16> = first.iter().map(|q| q.rtype.code()).collect();
        types.sort_unstable();
        assert_eq!(
            types,
            [1, 15, 28],
            "{domain}: one MX, A and AAAA query, {first:?}"
        );
    }
}

fn batch_holds_at_most_100(edge: &Edge) {
    let full: Vec<String> = (0..100).map(|i| format!("user{i}@valid.test")).collect();
    let r = batch(&edge.open, &json!({ "emails": full }), &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["results"].as_array().map(Vec::len), Some(100));
    let over: Vec<String> = (0..101).map(|i| format!("user{i}@valid.test")).collect();
    let r = batch(&edge.open, &json!({ "emails": over }), &[]);
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "too_many_emails");
}

// ---- HTTP errors ----

fn bad_requests_are_400(edge: &Edge) {
    let cases: [(&str, &str, Option<&str>, &str); 8] = [
        ("GET", "/v1/verify", None, "missing_email"),
        (
            "GET",
            "/v1/verify?mail=alice@valid.test",
            None,
            "missing_email",
        ),
        (
            "GET",
            "/v1/verify?email=a@valid.test&checks=all",
            None,
            "invalid_checks",
        ),
        ("POST", "/v1/verify", Some(r#"{"email": "#), "invalid_json"),
        ("POST", "/v1/verify", Some(""), "invalid_json"),
        (
            "POST",
            "/v1/verify",
            Some(r#"{"email": 5}"#),
            "invalid_request",
        ),
        (
            "POST",
            "/v1/verify",
            Some(r#"{"address": "a@valid.test"}"#),
            "missing_email",
        ),
        (
            "POST",
            "/v1/verify/batch",
            Some(r#"{"emails": "a@valid.test"}"#),
            "invalid_request",
        ),
    ];
    for (method, path, body, code) in cases {
        let r = edge
            .open
            .request(method, path, &[], body.map(str::as_bytes))
            .expect(path);
        assert_eq!(r.status, 400, "{method} {path} {body:?}: {}", r.text());
        assert_eq!(r.error_code(), code, "{method} {path} {body:?}");
        assert!(
            r.content_type
                .as_deref()
                .is_some_and(|t| t.starts_with("application/json"))
        );
    }
}

fn unknown_path_is_404(edge: &Edge) {
    for path in ["/v2/verify", "/v1/verify/", "/v1", "/nothing.html"] {
        let r = edge.open.get(path).expect(path);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.error_code(), "not_found", "{path}");
    }
}

fn wrong_method_is_405(edge: &Edge) {
    for (method, path, allow) in [
        ("DELETE", "/v1/verify", "GET, POST, OPTIONS"),
        ("PUT", "/v1/verify", "GET, POST, OPTIONS"),
        ("GET", "/v1/verify/batch", "POST, OPTIONS"),
        ("POST", "/healthz", "GET"),
    ] {
        let r = edge.open.request(method, path, &[], None).expect(path);
        assert_eq!(r.status, 405, "{method} {path}");
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
        assert_eq!(r.error_code(), "method_not_allowed");
    }
}

fn large_body_is_413(edge: &Edge) {
    let emails: Vec<String> = (0..100)
        .map(|i| format!("{}@valid.test{i}", "x".repeat(1400)))
        .collect();
    let body = json!({ "emails": emails }).to_string();
    assert!(body.len() > 128 * 1024);
    let r = edge
        .open
        .request("POST", "/v1/verify/batch", &[], Some(body.as_bytes()))
        .expect("POST");
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(r.error_code(), "body_too_large");
    // The Worker still answers afterwards.
    assert_eq!(verify(&edge.open, "alice@valid.test")["verdict"], "valid");
}

// ---- the cache and the DoH client (the keyed Worker, behind the relays) ----

fn cache_answers_without_the_resolver(edge: &Edge) {
    let domain = fresh("cache");
    let email = format!("alice@{domain}");
    let (first, report) = verify_keyed(edge, &email);
    assert_eq!(outline(&report), ("valid", vec![], "mx"), "{report}");
    assert_eq!(first.header("x-mailvet-cache"), Some("miss"));
    let [asked, _] = relay_queries(edge, &domain);
    assert_eq!(asked.len(), 3, "MX, A and AAAA once: {asked:?}");
    // Same domain, other mailbox and case: every answer from the cache, none from a resolver.
    let (second, again) = verify_keyed(edge, &format!("Bob@{}", domain.to_uppercase()));
    assert_eq!(second.header("x-mailvet-cache"), Some("hit"));
    assert_eq!(outline(&again), outline(&report));
    assert_eq!(relay_queries(edge, &domain), [asked, vec![]]);
}

fn cache_keeps_negative_answers(edge: &Edge) {
    // Below `test.` but in no zone: NXDOMAIN with the SOA of `test.` (minimum 60 s).
    let domain = fresh("absent").replace(".wild.test", ".nowhere.test");
    let email = format!("alice@{domain}");
    let (first, report) = verify_keyed(edge, &email);
    assert_eq!(outline(&report).0, "invalid");
    assert_eq!(codes(&report), ["domain_not_found"]);
    assert_eq!(first.header("x-mailvet-cache"), Some("miss"));
    let asked = relay_queries(edge, &domain);
    let (second, _) = verify_keyed(edge, &email);
    assert_eq!(second.header("x-mailvet-cache"), Some("hit"));
    assert_eq!(relay_queries(edge, &domain), asked);
}

fn cache_keeps_no_failures(edge: &Edge) {
    let domain = fresh("again").replace(".wild.test", ".servfail.test");
    let email = format!("alice@{domain}");
    for round in 1..=2 {
        let (r, report) = verify_keyed(edge, &email);
        assert_eq!(codes(&report), ["dns_failure"]);
        assert_eq!(r.header("x-mailvet-cache"), Some("miss"));
        let [first, _] = relay_queries(edge, &domain);
        let mx = first.iter().filter(|q| q.rtype == RecordType::Mx).count();
        assert_eq!(mx, round, "a SERVFAIL is asked again: {first:?}");
    }
}

fn doh_fails_over_past_a_stall(edge: &Edge) {
    let domain = fresh("stall");
    let (_, report) = verify_keyed(edge, &format!("alice@{domain}"));
    assert_eq!(outline(&report), ("valid", vec![], "mx"), "{report}");
    let [first, second] = relay_queries(edge, &domain);
    // The first endpoint got every query and answered none in time; the second answered.
    assert_eq!(first.len(), 3, "{first:?}");
    assert_eq!(second.len(), 3, "{second:?}");
    let path = format!("/v1/verify?email=alice@{}&checks=dns", fresh("stall"));
    let (took, status) = time_to_answer(
        &edge.keyed,
        &path,
        &[("Authorization", &bearer(SECRET_KEY))],
    );
    assert_eq!(status, 200);
    assert!(
        took < STALL,
        "the Worker waited for the stalled endpoint: {took:?}"
    );
}

fn doh_falls_back_to_post(edge: &Edge) {
    let domain = fresh("post-only");
    let (_, report) = verify_keyed(edge, &format!("alice@{domain}"));
    assert_eq!(outline(&report), ("valid", vec![], "mx"), "{report}");
    let [first, second] = relay_queries(edge, &domain);
    assert!(second.is_empty(), "{second:?}");
    for rtype in [RecordType::Mx, RecordType::A, RecordType::Aaaa] {
        let methods: Vec<&str> = first
            .iter()
            .filter(|q| q.rtype == rtype)
            .map(|q| q.method.as_str())
            .collect();
        assert_eq!(methods, ["GET", "POST"], "{rtype}");
    }
}

fn doh_unreachable_is_dns_failure(edge: &Edge) {
    let domain = fresh("down");
    let r = edge
        .keyed
        .request(
            "GET",
            &format!("/v1/verify?email=alice@{domain}"),
            &[("Authorization", &bearer(SECRET_KEY))],
            None,
        )
        .expect("GET");
    // A verdict, not an HTTP error.
    assert_eq!(r.status, 200, "{}", r.text());
    let report = r.json();
    assert_eq!(
        outline(&report),
        ("unknown", vec!["dns_failure"], "dns_failure")
    );
    let [first, second] = relay_queries(edge, &domain);
    assert!(
        !first.is_empty() && !second.is_empty(),
        "both endpoints tried"
    );
}

// ---- keys and CORS ----

fn keys_open_without_configuration(edge: &Edge) {
    let (r, _) = verify_with(
        &edge.open,
        "alice@valid.test",
        "",
        &[("Origin", "https://anyone.example")],
    );
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let exposed = r
        .header("access-control-expose-headers")
        .unwrap_or_default();
    assert!(
        exposed.contains("Retry-After") && exposed.contains("X-Mailvet-Cache"),
        "{exposed}"
    );
}

fn keys_required_once_configured(edge: &Edge) {
    for (headers, code) in [
        (vec![], "missing_key"),
        (
            vec![("Authorization", bearer("sk_test_nope"))],
            "invalid_key",
        ),
        (
            vec![("Authorization", format!("Basic {SECRET_KEY}"))],
            "missing_key",
        ),
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let r = edge
            .keyed
            .request("GET", "/v1/verify?email=alice@valid.test", &headers, None)
            .expect("GET");
        assert_eq!(r.status, 401, "{headers:?}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        assert_eq!(r.error_code(), code);
    }
    let r = edge
        .keyed
        .request(
            "GET",
            "/v1/verify?email=alice@valid.test&key=pk_nope",
            &[],
            None,
        )
        .expect("GET");
    assert_eq!((r.status, r.error_code().as_str()), (401, "invalid_key"));
    // What needs no key still answers.
    assert_eq!(edge.keyed.get("/healthz").expect("healthz").status, 200);
    assert_eq!(
        edge.keyed.get("/openapi.json").expect("openapi").status,
        200
    );
}

fn keys_secret_by_header_or_query(edge: &Edge) {
    let by_header = verify_with(
        &edge.keyed,
        "alice@valid.test",
        "&checks=dns",
        &[
            ("Authorization", &bearer(OTHER_SECRET_KEY)),
            ("Origin", SHOP),
        ],
    );
    let by_query = verify_with(
        &edge.keyed,
        "alice@valid.test",
        &format!("&checks=dns&key={SECRET_KEY}"),
        &[("Origin", SHOP)],
    );
    for (r, report) in [by_header, by_query] {
        assert_eq!(report["verdict"], "valid");
        // Secret keys are for servers: no browser page may read what they fetch.
        assert_eq!(r.header("access-control-allow-origin"), None);
    }
}

fn keys_public_only_from_its_origins(edge: &Edge) {
    let (r, report) = verify_with(
        &edge.keyed,
        "alice@valid.test",
        &format!("&checks=dns&key={PUBLIC_KEY}"),
        &[("Origin", SHOP)],
    );
    assert_eq!(report["verdict"], "valid");
    assert_eq!(r.header("access-control-allow-origin"), Some(SHOP));
    assert!(r.header("vary").unwrap_or_default().contains("Origin"));
    let (r, _) = verify_with(
        &edge.keyed,
        "alice@valid.test",
        "&checks=syntax",
        &[("Origin", SHOP), ("Authorization", &bearer(PUBLIC_KEY))],
    );
    assert_eq!(r.header("access-control-allow-origin"), Some(SHOP));
    for origin in [
        Some("https://evil.example"),
        Some("https://shop.example.evil"),
        None,
    ] {
        let mut headers = vec![("Authorization", bearer(PUBLIC_KEY))];
        headers.extend(origin.map(|o| ("Origin", o.to_owned())));
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let r = edge
            .keyed
            .request("GET", "/v1/verify?email=alice@valid.test", &headers, None)
            .expect("GET");
        assert_eq!(r.status, 403, "{origin:?}");
        assert_eq!(r.error_code(), "origin_not_allowed");
        assert_eq!(r.header("access-control-allow-origin"), None);
    }
}

fn cors_preflight(edge: &Edge) {
    let preflight = |worker: &Worker, path: &str, origin: &str| {
        worker
            .request(
                "OPTIONS",
                path,
                &[
                    ("Origin", origin),
                    ("Access-Control-Request-Method", "POST"),
                    (
                        "Access-Control-Request-Headers",
                        "authorization, content-type",
                    ),
                ],
                None,
            )
            .expect("OPTIONS")
    };
    for path in [
        "/v1/verify",
        "/v1/verify/batch",
        &format!("/v1/verify?key={PUBLIC_KEY}"),
    ] {
        let r = preflight(&edge.keyed, path, SHOP);
        assert_eq!(r.status, 204, "{path}");
        assert_eq!(r.header("access-control-allow-origin"), Some(SHOP));
        let methods = r.header("access-control-allow-methods").unwrap_or_default();
        assert!(methods.contains("POST"), "{methods}");
        let allowed = r
            .header("access-control-allow-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(
            allowed.contains("authorization") && allowed.contains("content-type"),
            "{allowed}"
        );
    }
    let r = preflight(&edge.keyed, "/v1/verify", "https://evil.example");
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (403, "origin_not_allowed")
    );
    assert_eq!(r.header("access-control-allow-origin"), None);
    let r = preflight(&edge.keyed, &format!("/v1/verify?key={SECRET_KEY}"), SHOP);
    assert_eq!(r.status, 403, "a secret key grants no browser origin");
    let r = preflight(&edge.open, "/v1/verify", "https://anyone.example");
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

// ---- rate limits (the limited Worker) ----

/// Sends `request` until the Worker answers 429 or `limit` requests past the limit went by;
/// returns the successes before the first 429 and the 429 itself.
fn until_limited(limit: usize, request: impl Fn() -> HttpResponse) -> (usize, HttpResponse) {
    // The counters are per fixed 60-second window: a window may end between two requests, so
    // up to twice the limit can pass before the first 429.
    for sent in 0..=2 * limit {
        let r = request();
        if r.status == 429 {
            return (sent, r);
        }
        assert_eq!(r.status, 200, "{}", r.text());
    }
    panic!("no 429 after {} requests", 2 * limit + 1);
}

fn limit_per_key_is_429(edge: &Edge) {
    let auth = bearer(LIMITED_KEY);
    let (passed, r) = until_limited(KEY_LIMIT, || {
        edge.limited
            .request(
                "GET",
                "/v1/verify?email=alice@valid.test&checks=syntax",
                &[("Authorization", &auth)],
                None,
            )
            .expect("GET")
    });
    assert!(passed >= 1, "{passed}");
    assert_eq!(r.header("retry-after"), Some("60"));
    assert_eq!(r.error_code(), "key_rate_limited");
    // Another key has its own count.
    let r = edge
        .limited
        .request(
            "GET",
            "/v1/verify?email=alice@valid.test&checks=syntax",
            &[("Authorization", &bearer(PROBE_KEY))],
            None,
        )
        .expect("GET");
    assert_eq!(r.status, 200);
}

fn limit_per_client_is_429(edge: &Edge) {
    // Locally the client address comes from CF-Connecting-IP when the request carries one.
    let client = [("Origin", SHOP), ("CF-Connecting-IP", "192.0.2.77")];
    let path = format!("/v1/verify?email=alice@valid.test&checks=syntax&key={LIMITED_PUBLIC_KEY}");
    let (passed, r) = until_limited(CLIENT_LIMIT, || {
        edge.limited
            .request("GET", &path, &client, None)
            .expect("GET")
    });
    assert!(passed >= 1, "{passed}");
    assert_eq!(r.header("retry-after"), Some("60"));
    assert_eq!(r.error_code(), "client_rate_limited");
    // The widget's page can read the 429.
    assert_eq!(r.header("access-control-allow-origin"), Some(SHOP));
    let other = [("Origin", SHOP), ("CF-Connecting-IP", "192.0.2.78")];
    let r = edge
        .limited
        .request("GET", &path, &other, None)
        .expect("GET");
    assert_eq!(r.status, 200, "another client has its own count");
}

// ---- the prober ----

fn probe_answers_are_merged(edge: &Edge) {
    let report = probe_keyed(edge, "alice@valid.test");
    assert_eq!(outline(&report), ("valid", vec![], "mx"), "{report}");
    assert_eq!(report["score"], 100);
    let smtp = &report["checks"]["smtp"];
    assert_eq!(
        (smtp["status"].as_str(), smtp["result"].as_str()),
        (Some("passed"), Some("answered"))
    );
    assert_eq!(smtp["outcome"], "deliverable");
    assert_eq!(smtp["host"], "mx.valid.test");
    // The limited Worker probes this address too, with another token.
    let token = format!("Bearer {PROBE_TOKEN}");
    let calls: Vec<_> = edge
        .prober
        .calls_for("alice@valid.test")
        .into_iter()
        .filter(|c| c.authorization.as_deref() == Some(token.as_str()))
        .collect();
    assert!(!calls.is_empty());
    for call in calls {
        // The Worker hands over the MX hosts it found.
        assert_eq!(
            call.request.mx,
            Some(vec![MxSummary {
                preference: 10,
                host: "mx.valid.test".into()
            }])
        );
    }

    let report = probe_keyed(edge, "carol@valid.test");
    assert_eq!(
        outline(&report),
        ("invalid", vec!["mailbox_not_found"], "mx")
    );
    assert_eq!(report["checks"]["smtp"]["code"], 550);
    assert_eq!(report["checks"]["smtp"]["enhanced"], "5.1.1");
}

fn probe_only_when_needed(edge: &Edge) {
    for email in [
        "dave@nullmx.test",
        "dave@does-not-exist.test",
        "dave@servfail.test",
        "dave@@valid.test",
    ] {
        let report = probe_keyed(edge, email);
        assert_ne!(report["checks"]["smtp"]["status"], "passed", "{email}");
        assert!(
            edge.prober.calls_for(email).is_empty(),
            "{email} was probed"
        );
    }
    let report = probe_keyed(edge, "dave@implicit-mx.test");
    // Asked (the table knows no dave), with the implicit MX as the host.
    assert_eq!(codes(&report), ["smtp_unreachable"]);
    let calls = edge.prober.calls_for("dave@implicit-mx.test");
    assert_eq!(
        calls.first().and_then(|c| c.request.mx.clone()),
        Some(vec![MxSummary {
            preference: 0,
            host: "implicit-mx.test".into()
        }])
    );
}

fn probe_stall_is_smtp_timeout(edge: &Edge) {
    // Had the Worker waited, the prober's late answer would have made it `valid`.
    let report = probe_keyed(edge, "stall@valid.test");
    assert_eq!(
        outline(&report),
        ("unknown", vec!["smtp_timeout"], "mx"),
        "{report}"
    );
    assert_eq!(report["checks"]["smtp"]["result"], "timeout");
    let (took, status) = time_to_answer(
        &edge.keyed,
        "/v1/verify?email=stall@valid.test",
        &[("Authorization", &bearer(SECRET_KEY))],
    );
    assert_eq!(status, 200);
    assert!(took < STALL, "the Worker waited for the prober: {took:?}");
    assert_eq!(edge.prober.calls_for("stall@valid.test").len(), 2);
}

fn probe_wrong_token_is_unknown(edge: &Edge) {
    let email = "alice@valid.test";
    let before = edge.prober.calls_for(email).len();
    let (_, report) = verify_with(
        &edge.limited,
        email,
        "",
        &[("Authorization", &bearer(PROBE_KEY))],
    );
    assert_eq!(
        outline(&report),
        ("unknown", vec!["smtp_unreachable"], "mx"),
        "{report}"
    );
    assert_eq!(report["checks"]["smtp"]["result"], "unreachable");
    let calls = edge.prober.calls_for(email);
    let wrong: Vec<_> = calls[before..]
        .iter()
        .filter(|c| c.authorization.as_deref() == Some("Bearer not-the-probe-token"))
        .collect();
    assert_eq!(wrong.len(), 1, "{calls:?}");
}

// ---- the OpenAPI document ----

fn openapi(edge: &Edge) -> Value {
    let r = edge.open.get("/openapi.json").expect("GET /openapi.json");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    doc
}

fn openapi_paths_all_answer(edge: &Edge) {
    let doc = openapi(edge);
    let paths = doc["paths"].as_object().expect("paths");
    // The Jobs API, lists and monitors need D1 and their own requests: tests/jobs.rs,
    // tests/lists.rs and tests/monitors.rs hold them to the document.
    let paths: Vec<(&String, &Value)> = paths
        .iter()
        .filter(|(path, _)| {
            !["/v1/jobs", "/v1/webhooks", "/v1/lists", "/v1/monitors"]
                .iter()
                .any(|p| path.starts_with(p))
        })
        .collect();
    assert_eq!(paths.len(), 5);
    let mut operations = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("path item") {
            let method = method.to_ascii_uppercase();
            let (target, body, headers): (String, Option<Value>, Vec<(&str, &str)>) =
                match (method.as_str(), path.as_str()) {
                    ("GET", "/v1/verify") => {
                        (format!("{path}?email=alice@valid.test"), None, vec![])
                    }
                    ("POST", "/v1/verify") => (
                        path.clone(),
                        Some(json!({ "email": "alice@valid.test" })),
                        vec![],
                    ),
                    ("POST", "/v1/verify/batch") => (
                        path.clone(),
                        Some(json!({ "emails": ["alice@valid.test"] })),
                        vec![],
                    ),
                    ("GET", "/v1/domains/{name}") => {
                        ("/v1/domains/good.health.test".to_owned(), None, vec![])
                    }
                    ("OPTIONS", _) => (
                        path.clone(),
                        None,
                        vec![("Origin", SHOP), ("Access-Control-Request-Method", "POST")],
                    ),
                    _ => (path.clone(), None, vec![]),
                };
            let body = body.map(|b| b.to_string());
            let r = edge
                .open
                .request(
                    &method,
                    &target,
                    &headers,
                    body.as_deref().map(str::as_bytes),
                )
                .expect(&target);
            let documented = operation["responses"].as_object().expect("responses");
            assert!(
                documented.contains_key(&r.status.to_string()) && r.status < 300,
                "{method} {path} answered {}: {}",
                r.status,
                r.text()
            );
            operations += 1;
        }
        // A method the path does not document is 405.
        let undocumented = ["GET", "POST", "OPTIONS", "DELETE"]
            .into_iter()
            .find(|m| item.get(m.to_ascii_lowercase()).is_none());
        if let Some(method) = undocumented {
            let r = edge.open.request(method, path, &[], None).expect(path);
            assert_eq!(r.status, 405, "{method} {path}");
        }
    }
    assert_eq!(operations, 8);
}

fn openapi_report_fields(edge: &Edge) {
    let doc = openapi(edge);
    let schema = &doc["components"]["schemas"]["Report"];
    let documented: Vec<&str> = schema["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .map(String::as_str)
        .collect();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for email in ["alice@valid.test", "not an address", "jane@gamil.com"] {
        let report = verify(&edge.open, email);
        let mut fields: Vec<&str> = report
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = documented.clone();
        fields.sort_unstable();
        expected.sort_unstable();
        assert_eq!(fields, expected, "{email}");
        let mut required = required.clone();
        required.sort_unstable();
        assert_eq!(required, expected, "every field is always present");
        let checks: Vec<&str> = report["checks"]
            .as_object()
            .expect("checks")
            .keys()
            .map(String::as_str)
            .collect();
        let documented_checks: Vec<&str> = schema["properties"]["checks"]["properties"]
            .as_object()
            .expect("checks")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(checks.len(), documented_checks.len());
        assert!(
            checks.iter().all(|c| documented_checks.contains(c)),
            "{checks:?}"
        );
    }
}

fn openapi_enums_match_the_core(edge: &Edge) {
    let doc = openapi(edge);
    let schemas = &doc["components"]["schemas"];
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .expect("enum")
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    let reasons: Vec<String> = ReasonCode::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    assert_eq!(strings(&schemas["ReasonCode"]["enum"]), reasons);
    let warnings: Vec<String> = Warning::ALL.iter().map(|w| w.code().to_owned()).collect();
    let warning_enum = &schemas["Report"]["properties"]["checks"]["properties"]["syntax"]["properties"]
        ["warnings"]["items"]["enum"];
    assert_eq!(strings(warning_enum), warnings);
    // Every error code the tests above met is one the document names.
    let text = doc.to_string();
    for code in [
        "missing_email",
        "missing_emails",
        "invalid_json",
        "invalid_request",
        "invalid_checks",
        "too_many_emails",
        "missing_key",
        "invalid_key",
        "origin_not_allowed",
        "body_too_large",
        "key_rate_limited",
        "client_rate_limited",
    ] {
        assert!(
            text.contains(&format!("`{code}`")),
            "{code} is not documented"
        );
    }
}
