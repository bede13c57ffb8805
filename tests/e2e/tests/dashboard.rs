//! The dashboard (`www/dashboard/`, issue 13) in a real browser: starts the local mail world,
//! the real prober (`mailvet serve`) and the edge Worker with its jobs engine (D1, R2, the
//! Queue), then runs `node tests/browser/dashboard.mjs WORKER_URL [WORD…]` twice, in Debian's
//! Chromium and in Debian's Firefox ESR (both through playwright-core), and fails when either
//! fails. Each run's output, with its closing `N passed, N failed`, goes straight to stdout; screenshots go to
//! `target/dashboard-screenshots/`.
//!
//! Before the browser starts, a list is made with two runs between which the world changed
//! (`moving.decay.test` loses its MX), so that its view has a trend and changes to show; its id
//! goes to the script as `DASHBOARD_LIST`. A second Worker has a secret key, for the key dialog
//! (`DASHBOARD_KEYED_URL`, `DASHBOARD_KEY`).
//!
//! Needs the Worker built (`scripts/build-worker`) and `cargo build -p mailvet`.
#![allow(clippy::print_stdout, reason = "a test binary reports on stdout")]

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use mailvet_e2e::World;
use mailvet_e2e::hooks::{WorldEdit, reload_zones, wait_for_mx};
use mailvet_e2e::prober::{self, Prober};
use mailvet_e2e::worker::{Options, Worker};
use serde_json::{Value, json};

const TOKEN: &str = "dashboard-test-token";
const HELO: &str = "dashboard.mailvet.test";
const SECRET_KEY: &str = "sk_test_dashboard_0123456789";
/// How long a job or run of a few rows may take on a loaded two-core machine.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

fn main() -> ExitCode {
    let root = mailvet_e2e::repo_root();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        // One runner for the whole file; `cargo test -- --list` must not start a browser.
        println!("dashboard: test");
        return ExitCode::SUCCESS;
    }
    let words: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let fail = |why: String| {
        println!("set-up failed: {why}");
        println!("0 passed, 1 failed");
        ExitCode::FAILURE
    };
    let mut world = match World::from_env_or_start() {
        Ok(world) => world,
        Err(e) => return fail(format!("the mail world: {e}")),
    };
    let prober = match prober::beside_this_test()
        .and_then(|binary| Prober::start(&world, &binary, TOKEN, HELO))
    {
        Ok(prober) => prober,
        Err(e) => return fail(format!("the prober: {e}")),
    };
    let options = Options {
        migrate: true,
        ..Options::default()
    };
    let worker = match Worker::start_with(
        &world,
        &[
            ("PROBE_URL", prober.url()),
            ("PROBE_TOKEN", TOKEN),
            ("ALLOW_PRIVATE_WEBHOOKS", "true"),
            ("DOH_TIMEOUT_MS", "20000"),
        ],
        &options,
    ) {
        Ok(worker) => worker,
        Err(e) => return fail(format!("the Worker: {e}")),
    };
    // The same with a secret key, for the key dialog.
    let keyed = match Worker::start_with(
        &world,
        &[("SECRET_KEYS", SECRET_KEY), ("DOH_TIMEOUT_MS", "20000")],
        &options,
    ) {
        Ok(worker) => worker,
        Err(e) => return fail(format!("the Worker with a key: {e}")),
    };
    let list = match list_with_two_runs(&world, &worker) {
        Ok(list) => list,
        Err(e) => return fail(format!("the list with two runs: {e}")),
    };
    // The same tests in Chromium, then in Firefox (the issue asks for both), one browser at a
    // time; each run prints its own "N passed, N failed".
    let mut failed = Vec::new();
    for browser in BROWSERS {
        let status = Command::new("node")
            .current_dir(&root)
            .env("DASHBOARD_BROWSER", browser)
            .env("DASHBOARD_LIST", &list)
            .env("DASHBOARD_KEYED_URL", keyed.url(""))
            .env("DASHBOARD_KEY", SECRET_KEY)
            .arg("tests/browser/dashboard.mjs")
            .arg(worker.url(""))
            .args(&words)
            .status();
        match status {
            Ok(status) if status.success() => {}
            Ok(status) => failed.push(format!("{browser}: node exited with {status}")),
            Err(e) => return fail(format!("running node: {e}")),
        }
    }
    drop((worker, prober));
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        world.keep_dir();
        println!(
            "dashboard tests: {}; logs kept in {}",
            failed.join(", "),
            world.dir().display()
        );
        ExitCode::FAILURE
    }
}

/// The browsers the dashboard is tested in (`DASHBOARD_BROWSER` of tests/browser/dashboard.mjs).
const BROWSERS: [&str; 2] = ["chromium", "firefox"];

/// `METHOD path` with an optional body of `content_type`; the answer's status and JSON.
fn call(
    worker: &Worker,
    method: &str,
    path: &str,
    body: Option<(&str, &str)>,
) -> Result<(u16, Value), String> {
    let headers: Vec<(&str, &str)> = body.iter().map(|(t, _)| ("Content-Type", *t)).collect();
    let r = worker
        .request(method, path, &headers, body.map(|(_, b)| b.as_bytes()))
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let json = serde_json::from_slice(&r.body)
        .map_err(|e| format!("{method} {path}: not JSON ({e}): {}", r.text()))?;
    Ok((r.status, json))
}

/// Waits until `ended` holds for what `GET path` answers.
fn wait(worker: &Worker, path: &str, ended: impl Fn(&Value) -> bool) -> Result<Value, String> {
    let started = Instant::now();
    loop {
        let (status, value) = call(worker, "GET", path, None)?;
        if status != 200 {
            return Err(format!("GET {path}: {status} {value}"));
        }
        if ended(&value) {
            return Ok(value);
        }
        if started.elapsed() > RUN_TIMEOUT {
            return Err(format!(
                "{path} did not end in {RUN_TIMEOUT:?}: {value}\n{}",
                worker.log_tail()
            ));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// A list of five rows checked with DNS (run 1), then run again after `moving.decay.test` lost
/// its MX (run 2: one row went from valid to invalid); its id.
fn list_with_two_runs(world: &World, worker: &Worker) -> Result<String, String> {
    let rows = "email\nstays@decay.test\nann@moving.decay.test\nalice@valid.test\nnot an address\nbob@valid.test\n";
    let (status, job) = call(
        worker,
        "POST",
        "/v1/jobs?checks=dns&name=decaying",
        Some(("text/csv", rows)),
    )?;
    if status != 202 {
        return Err(format!("POST /v1/jobs: {status} {job}"));
    }
    let job = job["id"].as_str().ok_or("no job id")?.to_owned();
    let done = wait(worker, &format!("/v1/jobs/{job}"), |j| {
        j["status"] != "queued" && j["status"] != "running"
    })?;
    if done["status"] != "completed" {
        return Err(format!("the job did not complete: {done}"));
    }
    let (status, list) = call(
        worker,
        "POST",
        "/v1/lists",
        Some((
            "application/json",
            &json!({ "job": job, "every": "7d" }).to_string(),
        )),
    )?;
    if status != 201 {
        return Err(format!("POST /v1/lists: {status} {list}"));
    }
    let id = list["id"].as_str().ok_or("no list id")?.to_owned();

    let mut edit = WorldEdit::new(world);
    edit.edit(
        "zones/decay.test.zone",
        "moving.decay.test. 0 IN MX 10 mx.decay.test.",
        "moving.decay.test. 0 IN TXT \"no mail here\"",
    );
    reload_zones(world);
    wait_for_mx(world, "moving.decay.test", 0)?;
    let (status, run) = call(worker, "POST", &format!("/v1/lists/{id}/runs"), None)?;
    if status != 202 {
        return Err(format!("POST /v1/lists/{id}/runs: {status} {run}"));
    }
    let list = wait(worker, &format!("/v1/lists/{id}"), |l| {
        l["status"] == "idle" && l["history"][1]["status"] == "completed"
    })?;
    drop(edit);
    let changed = &list["history"][1]["transitions"];
    if *changed != json!([{ "from": "valid", "to": "invalid", "rows": 1 }]) {
        return Err(format!(
            "run 2 should have moved one row to invalid: {list}"
        ));
    }
    Ok(id)
}
