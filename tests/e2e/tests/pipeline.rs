//! The whole pipeline with real parts only: the Worker under `wrangler dev`, the real prober
//! (`mailvet serve`, the binary `cargo build -p mailvet` makes) and the local mail world. The
//! Worker resolves through the world's DoH server and asks the prober, which talks SMTP to exim.
//!
//! `scripts/test` builds the prober before this binary runs; without it, set-up fails and says so.
#![allow(clippy::print_stdout, reason = "a test runner reports on stdout")]

use std::process::ExitCode;
use std::time::Duration;

use mailvet_e2e::World;
use mailvet_e2e::prober::{self, Prober};
use mailvet_e2e::runner::{self, Test};
use mailvet_e2e::worker::{Options, Worker};
use serde_json::Value;

const TOKEN: &str = "pipeline-e2e-probe-token";
const HELO: &str = "pipeline.mailvet.test";

struct Pipeline {
    // Dropped in declaration order: the Workers, then the prober, then the world.
    worker: Worker,
    /// `PROBE_URL` names a dead prober, then the real one.
    two_probers: Worker,
    prober: Prober,
    world: World,
}

/// A prober that is not there: nothing listens on the discard port of loopback.
const DEAD_PROBER: &str = "http://127.0.0.1:9";

const TESTS: &[Test<Pipeline>] = &[
    (
        "existing_mailbox_is_valid_with_100",
        existing_mailbox_is_valid_with_100,
    ),
    ("unknown_mailbox_is_invalid", unknown_mailbox_is_invalid),
    ("catch_all_domain_is_risky", catch_all_domain_is_risky),
    ("greylisting_is_unknown", greylisting_is_unknown),
    (
        "null_mx_never_reaches_the_prober",
        null_mx_never_reaches_the_prober,
    ),
    (
        "no_data_and_the_configured_helo",
        no_data_and_the_configured_helo,
    ),
    (
        "a_job_probes_mailboxes_through_the_prober",
        a_job_probes_mailboxes_through_the_prober,
    ),
    (
        "a_dead_prober_hands_its_domains_to_the_next",
        a_dead_prober_hands_its_domains_to_the_next,
    ),
    (
        "a_10000_row_smtp_job_completes_and_adds_up",
        a_10000_row_smtp_job_completes_and_adds_up,
    ),
];

fn main() -> ExitCode {
    runner::run(
        TESTS,
        || {
            let world = World::from_env_or_start().map_err(|e| format!("the mail world: {e}"))?;
            let prober = Prober::start(&world, &prober::beside_this_test()?, TOKEN, HELO)?;
            let url = prober.url().to_owned();
            // The jobs engine's tables too, for the job below.
            let options = Options {
                migrate: true,
                ..Options::default()
            };
            let worker = Worker::start_with(
                &world,
                &[
                    ("PROBE_URL", &url),
                    ("PROBE_TOKEN", TOKEN),
                    ("PROBE_TIMEOUT_MS", "20000"),
                ],
                &options,
            )?;
            let two_probers = Worker::start_with(
                &world,
                &[
                    ("PROBE_URL", &format!("{DEAD_PROBER},{url}")),
                    ("PROBE_TOKEN", TOKEN),
                ],
                &options,
            )?;
            Ok(Pipeline {
                worker,
                two_probers,
                prober,
                world,
            })
        },
        |p| {
            p.world.keep_dir();
            println!("logs kept in {}", p.world.dir().display());
        },
    )
}

fn verify(p: &Pipeline, email: &str) -> Value {
    let r = p
        .worker
        .get(&format!("/v1/verify?email={email}"))
        .unwrap_or_else(|e| panic!("GET /v1/verify for {email}: {e}"));
    assert_eq!(r.status, 200, "{}", r.text());
    serde_json::from_slice(&r.body).expect("a JSON report")
}

fn codes(report: &Value) -> Vec<&str> {
    report["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| r["code"].as_str().expect("code"))
        .collect()
}

fn existing_mailbox_is_valid_with_100(p: &Pipeline) {
    let r = verify(p, "alice@valid.test");
    assert_eq!(
        (r["verdict"].as_str(), r["score"].as_u64()),
        (Some("valid"), Some(100)),
        "{r}"
    );
    let smtp = &r["checks"]["smtp"];
    assert_eq!(smtp["status"], "passed", "{r}");
    assert_eq!(smtp["code"], 250, "{r}");
    assert_eq!(smtp["tls"], true, "exim offers STARTTLS: {r}");
    assert_eq!(smtp["catch_all"], false, "{r}");
}

fn unknown_mailbox_is_invalid(p: &Pipeline) {
    let r = verify(p, "nobody@valid.test");
    assert_eq!(r["verdict"], "invalid", "{r}");
    assert_eq!(codes(&r), ["mailbox_not_found"], "{r}");
    assert_eq!(r["checks"]["smtp"]["enhanced"], "5.1.1", "{r}");
}

fn catch_all_domain_is_risky(p: &Pipeline) {
    let r = verify(p, "anyone@catchall.test");
    assert_eq!(r["verdict"], "risky", "{r}");
    assert_eq!(codes(&r), ["catch_all"], "{r}");
}

fn greylisting_is_unknown(p: &Pipeline) {
    let r = verify(p, "jane@greylist.test");
    assert_eq!(r["verdict"], "unknown", "{r}");
    assert_eq!(codes(&r), ["smtp_temporary_failure"], "{r}");
}

fn null_mx_never_reaches_the_prober(p: &Pipeline) {
    let r = verify(p, "jane@nullmx.test");
    assert_eq!(codes(&r), ["null_mx"], "{r}");
    assert_eq!(r["checks"]["smtp"]["status"], "skipped", "{r}");
}

/// Runs its own probe first, so that the log has at least one conversation of this run.
fn no_data_and_the_configured_helo(p: &Pipeline) {
    let r = verify(p, "bob@valid.test");
    assert_eq!(r["verdict"], "valid", "{r}");
    let log = p.world.smtp_log().expect("the SMTP log");
    assert!(
        log.contains(HELO),
        "the configured HELO name is in the log:\n{log}"
    );
    assert!(!log.contains("DATA attempted"), "{log}");
    assert!(!log.contains("SMTP protocol error in \"DATA\""), "{log}");
}

/// A job without `checks` defaults to `smtp` when a prober is configured: its rows go through
/// the real prober to exim, and every mailbox verdict shows in the results.
fn a_job_probes_mailboxes_through_the_prober(p: &Pipeline) {
    let rows = [
        "alice@valid.test",
        "nobody@valid.test",
        "anyone@catchall.test",
        "jane@greylist.test",
        "jane@nullmx.test",
        "alice@VALID.TEST",
    ];
    let body = format!("{}\n", rows.join("\n"));
    let r = p
        .worker
        .request(
            "POST",
            "/v1/jobs",
            &[("Content-Type", "text/plain")],
            Some(body.as_bytes()),
        )
        .expect("POST /v1/jobs");
    assert_eq!(r.status, 202, "{}", r.text());
    let job: Value = serde_json::from_slice(&r.body).expect("JSON");
    assert_eq!(job["checks"], "smtp", "{job}");
    let id = job["id"].as_str().expect("id").to_owned();
    let started = std::time::Instant::now();
    let job = completed(&p.worker, &id, started, Duration::from_secs(120));
    assert_eq!(job["processed"], rows.len(), "{job}");
    assert_eq!(
        job["duplicates"], 1,
        "only the domain's case repeats: {job}"
    );
    let r = p
        .worker
        .get(&format!("/v1/jobs/{id}/results?format=jsonl"))
        .expect("GET results");
    let lines: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let outline: Vec<(&str, Vec<&str>)> = lines
        .iter()
        .map(|l| {
            (
                l["report"]["verdict"].as_str().unwrap_or(""),
                codes(&l["report"]),
            )
        })
        .collect();
    assert_eq!(
        outline,
        [
            ("valid", vec![]),
            ("invalid", vec!["mailbox_not_found"]),
            ("risky", vec!["catch_all"]),
            ("unknown", vec!["smtp_temporary_failure"]),
            ("invalid", vec!["null_mx"]),
            ("valid", vec![]),
        ],
        "{}",
        r.text()
    );
    assert_eq!(lines[0]["report"]["checks"]["smtp"]["code"], 250);
    assert_eq!(lines[5]["duplicate_of"], 1);
}

/// With two probers, each domain has its own first choice (rendezvous hashing); the domains
/// whose first is dead go to the other, for single probes and for a job's batches alike.
fn a_dead_prober_hands_its_domains_to_the_next(p: &Pipeline) {
    let urls = [
        format!("{DEAD_PROBER}/v1/probe"),
        format!("{}/v1/probe", p.prober.url().trim_end_matches('/')),
    ];
    let dead_first: Vec<String> = (0..40)
        .map(|i| format!("d{i}.wild.test"))
        .filter(|d| mailvet_core::rendezvous::order(d, &urls)[0] == 0)
        .take(6)
        .collect();
    assert!(dead_first.len() >= 3, "{dead_first:?}");
    for domain in &dead_first[..2] {
        let r = p
            .two_probers
            .get(&format!("/v1/verify?email=nobody@{domain}"))
            .expect("GET /v1/verify");
        let r: Value = serde_json::from_slice(&r.body).expect("JSON");
        assert_eq!(codes(&r), ["mailbox_not_found"], "{domain}: {r}");
    }
    let body: String = dead_first
        .iter()
        .flat_map(|d| (0..3).map(move |i| format!("user{i}@{d}\n")))
        .collect();
    let r = p
        .two_probers
        .request(
            "POST",
            "/v1/jobs?checks=smtp",
            &[("Content-Type", "text/plain")],
            Some(body.as_bytes()),
        )
        .expect("POST /v1/jobs");
    assert_eq!(r.status, 202, "{}", r.text());
    let job: Value = serde_json::from_slice(&r.body).expect("JSON");
    let id = job["id"].as_str().expect("id").to_owned();
    let started = std::time::Instant::now();
    let job = completed(&p.two_probers, &id, started, Duration::from_secs(120));
    let rows = dead_first.len() * 3;
    assert_eq!(job["reasons"]["mailbox_not_found"], rows, "{job}");
    assert_eq!(job["counts"]["invalid"], rows, "{job}");
}

/// Issue 10: a 10,000-row job with `checks=smtp` completes through the prober, and its counts
/// add up to its rows. Every address is an unknown mailbox at one of 200 domains of the world's
/// wildcard, so every row is `invalid` / `mailbox_not_found`: none was lost to a prober that
/// was busy or a batch that timed out.
fn a_10000_row_smtp_job_completes_and_adds_up(p: &Pipeline) {
    let rows = 10_000;
    let body: String = (0..rows)
        .map(|i| format!("user{i}@s{}.wild.test\n", i % 200))
        .collect();
    let started = std::time::Instant::now();
    let r = p
        .worker
        .request(
            "POST",
            "/v1/jobs?checks=smtp&name=ten-thousand",
            &[("Content-Type", "text/plain")],
            Some(body.as_bytes()),
        )
        .expect("POST /v1/jobs");
    assert_eq!(r.status, 202, "{}", r.text());
    let job: Value = serde_json::from_slice(&r.body).expect("JSON");
    let id = job["id"].as_str().expect("id").to_owned();
    let job = completed(&p.worker, &id, started, Duration::from_secs(600));
    println!(
        "  10,000 rows with checks=smtp in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(job["total_rows"], rows, "{job}");
    let counted: u64 = ["valid", "risky", "invalid", "unknown"]
        .iter()
        .filter_map(|v| job["counts"][v].as_u64())
        .sum();
    assert_eq!(counted, rows, "{job}");
    assert_eq!(job["counts"]["invalid"], rows, "{job}");
    assert_eq!(job["reasons"]["mailbox_not_found"], rows, "{job}");
}

/// Job `id` once it is completed, polled until `limit` after `started`. The local runtime may
/// be too busy with chunks to answer a poll at once: such a poll says nothing, and the next one
/// is asked.
fn completed(worker: &Worker, id: &str, started: std::time::Instant, limit: Duration) -> Value {
    loop {
        let job: Value = worker
            .get(&format!("/v1/jobs/{id}"))
            .ok()
            .and_then(|r| serde_json::from_slice(&r.body).ok())
            .unwrap_or(Value::Null);
        if job["status"] == "completed" {
            return job;
        }
        assert!(
            started.elapsed() < limit,
            "not completed: {job}\n{}",
            worker.log_tail()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}
