//! The Jobs engine under `wrangler dev` (local D1, R2, Queues) against the local mail world:
//!
//! - `dns`: 100,000 rows over 2,000 domains below the world's `*.wild.test`, `checks=dns`: the
//!   time from the upload to `completed`, rows per second, and the peak resident memory of the
//!   `workerd` process (the Worker's runtime);
//! - `smtp`: 10,000 rows over 200 domains, `checks=smtp`, through `mailvet serve` (the binary
//!   beside this one: `cargo build --release -p mailvet`) and the world's exim: rows per second;
//! - `list`: the `dns` job's 100,000 rows kept as a list (`POST /v1/lists`) and run again
//!   (`POST /v1/lists/{id}/runs`): how long the list takes to make and a run to complete, and
//!   what D1 stores per row, as the growth of its files: per list row, and per row of a run.
//!
//! ```text
//! scripts/build-worker && cargo build --release -p mailvet
//! cargo run -p mailvet-e2e --release --bin jobs-bench -- [dns] [smtp] [list]
//! ```
//!
//! Nothing here fails on a clock: a run fails only when a job fails or its counts do not add
//! up to its rows.
#![allow(clippy::print_stdout, reason = "a benchmark prints its numbers")]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use mailvet_e2e::World;
use mailvet_e2e::prober::{self, Prober};
use mailvet_e2e::worker::{Options, Worker};
use serde_json::Value;

const TOKEN: &str = "jobs-bench-token-0123456789abcdef";
/// A job that has not ended after this long has failed the benchmark.
const GIVE_UP: Duration = Duration::from_secs(1_800);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = args.is_empty();
    let result = World::from_env_or_start()
        .map_err(|e| format!("the mail world: {e}"))
        .and_then(|world| {
            if all || args.iter().any(|a| a == "dns") {
                dns(&world)?;
            }
            if all || args.iter().any(|a| a == "smtp") {
                smtp(&world)?;
            }
            if all || args.iter().any(|a| a == "list") {
                list(&world)?;
            }
            Ok(())
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn dns(world: &World) -> Result<(), String> {
    let worker = Worker::start_with(world, &[], &jobs_options())?;
    let rows = 100_000;
    let list: String = (0..rows)
        .map(|i| format!("user{i}@d{}.wild.test\n", i % 2_000))
        .collect();
    let (took, peak, job) = run_job(&worker, "checks=dns&name=bench-dns", &list)?;
    println!(
        "dns: {rows} rows over 2000 domains in {:.1} s = {:.0} rows/s (upload to completed); workerd peak RSS {} MiB; counts {}; reasons {}; {}",
        took.as_secs_f64(),
        f64::from(rows) / took.as_secs_f64(),
        peak / 1024,
        job["counts"],
        job["reasons"],
        phases(&job)
    );
    Ok(())
}

fn smtp(world: &World) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().ok_or("no target directory")?;
    let prober = Prober::start(world, &prober::binary_in(dir)?, TOKEN, "bench.mailvet.test")?;
    let vars = [("PROBE_URL", prober.url()), ("PROBE_TOKEN", TOKEN)];
    let worker = Worker::start_with(world, &vars, &jobs_options())?;
    let rows = 10_000;
    let list: String = (0..rows)
        .map(|i| format!("user{i}@s{}.wild.test\n", i % 200))
        .collect();
    let (took, peak, job) = run_job(&worker, "checks=smtp&name=bench-smtp", &list)?;
    println!(
        "smtp: {rows} rows over 200 domains in {:.1} s = {:.0} rows/s (upload to completed); workerd peak RSS {} MiB; counts {}; reasons {}; {}",
        took.as_secs_f64(),
        f64::from(rows) / took.as_secs_f64(),
        peak / 1024,
        job["counts"],
        job["reasons"],
        phases(&job)
    );
    Ok(())
}

/// How long the split (upload to `running`) and the checks (to `completed`) took, by the job's
/// own times.
fn phases(job: &Value) -> String {
    let at = |field: &str| job[field].as_str().and_then(unix_seconds);
    match (at("created_at"), at("started_at"), at("finished_at")) {
        (Some(created), Some(started), Some(finished)) => format!(
            "split {} s, checks {} s (whole seconds)",
            started - created,
            finished - started
        ),
        _ => "phases unknown".to_owned(),
    }
}

/// `2026-12-01T13:28:24Z` in seconds since the epoch (days by the civil-calendar formula).
fn unix_seconds(text: &str) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (y, m, d) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hh, mm, ss) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3_600 + mm * 60 + ss)
}

fn list(world: &World) -> Result<(), String> {
    let worker = Worker::start_with(world, &[], &jobs_options())?;
    let rows: u32 = 100_000;
    let body: String = (0..rows)
        .map(|i| format!("user{i}@l{}.wild.test\n", i % 2_000))
        .collect();
    let (took, _, job) = run_job(&worker, "checks=dns&name=bench-list", &body)?;
    println!(
        "list: the source job, {rows} rows, completed in {:.1} s",
        took.as_secs_f64()
    );
    let job = job["id"].as_str().ok_or("no job id")?;
    let before = d1_bytes(worker.state());
    let started = Instant::now();
    let created = post_json(
        &worker,
        "/v1/lists",
        &format!("{{\"job\": \"{job}\"}}"),
        201,
    )?;
    let made = started.elapsed();
    let list = created["id"].as_str().ok_or("no list id")?.to_owned();
    let kept = d1_bytes(worker.state()).saturating_sub(before);
    let before = d1_bytes(worker.state());
    let started = Instant::now();
    post_json(&worker, &format!("/v1/lists/{list}/runs"), "", 202)?;
    let history = loop {
        if started.elapsed() > GIVE_UP {
            return Err(format!("the run did not end in {GIVE_UP:?}"));
        }
        std::thread::sleep(Duration::from_millis(250));
        let Ok(answer) = worker.get(&format!("/v1/lists/{list}")) else {
            continue;
        };
        let Ok(object) = serde_json::from_slice::<Value>(&answer.body) else {
            continue;
        };
        if object["status"] == "idle" && object["runs"] == 2 {
            break object["history"].clone();
        }
    };
    let ran = started.elapsed();
    let run_bytes = d1_bytes(worker.state()).saturating_sub(before);
    println!(
        "list: made from the job in {:.1} s; run 2 ({rows} rows, checks=dns) completed in {:.1} s = {:.0} rows/s; counts {}, transitions {}",
        made.as_secs_f64(),
        ran.as_secs_f64(),
        f64::from(rows) / ran.as_secs_f64(),
        history[1]["counts"],
        history[1]["transitions"]
    );
    println!(
        "list: D1 grew {} bytes for the list ({} bytes a list row) and {} bytes for run 2 ({} bytes a row of a run: its job's rows, results and reports)",
        kept,
        kept / u64::from(rows),
        run_bytes,
        run_bytes / u64::from(rows)
    );
    Ok(())
}

/// `POST path` with a JSON body; the answer's JSON when its status is `status`.
fn post_json(worker: &Worker, path: &str, body: &str, status: u16) -> Result<Value, String> {
    let answer = worker
        .request(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            Some(body.as_bytes()),
        )
        .map_err(|e| format!("POST {path}: {e}"))?;
    if answer.status != status {
        return Err(format!(
            "POST {path} answered {}: {}",
            answer.status,
            answer.text()
        ));
    }
    serde_json::from_slice(&answer.body).map_err(|e| e.to_string())
}

/// The bytes of every file of the local D1 database under a Worker's state directory.
fn d1_bytes(state: &std::path::Path) -> u64 {
    fn walk(dir: &std::path::Path) -> u64 {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .filter_map(Result::ok)
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => walk(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    }
    walk(&state.join("v3/d1"))
}

/// A Worker with the jobs engine's D1 tables.
fn jobs_options() -> Options {
    Options {
        migrate: true,
        ..Options::default()
    }
}

/// Uploads `list`, polls until the job ends; how long it took, the peak RSS of workerd (KiB)
/// and the last job object.
fn run_job(worker: &Worker, query: &str, list: &str) -> Result<(Duration, u64, Value), String> {
    let started = Instant::now();
    let headers = [("Content-Type", "text/plain; charset=utf-8")];
    let created = worker
        .request(
            "POST",
            &format!("/v1/jobs?{query}"),
            &headers,
            Some(list.as_bytes()),
        )
        .map_err(|e| format!("POST /v1/jobs: {e}"))?;
    if created.status != 202 {
        return Err(format!(
            "POST /v1/jobs answered {}: {}",
            created.status,
            created.text()
        ));
    }
    let job: Value = serde_json::from_slice(&created.body).map_err(|e| e.to_string())?;
    let id = job["id"].as_str().ok_or("no job id")?.to_owned();
    let mut peak = 0;
    loop {
        peak = peak.max(workerd_rss(worker.process_group()));
        // The local runtime answers one request at a time: while it works through a chunk, a
        // poll may time out. That says nothing about the job; the next poll is asked.
        let answer = match worker.get(&format!("/v1/jobs/{id}")) {
            Ok(answer) if answer.status == 200 => answer,
            Ok(_) | Err(_) if started.elapsed() < GIVE_UP => {
                std::thread::sleep(Duration::from_millis(250));
                continue;
            }
            Ok(answer) => return Err(format!("GET /v1/jobs/{id}: {}", answer.status)),
            Err(e) => return Err(format!("GET /v1/jobs/{id}: {e}")),
        };
        let job: Value = serde_json::from_slice(&answer.body).map_err(|e| e.to_string())?;
        match job["status"].as_str() {
            Some("completed") => {
                let took = started.elapsed();
                let total = job["total_rows"].as_u64().unwrap_or(0);
                let counted: u64 = ["valid", "risky", "invalid", "unknown"]
                    .iter()
                    .filter_map(|v| job["counts"][v].as_u64())
                    .sum();
                if counted != total || total == 0 {
                    return Err(format!("the counts do not add up to the rows: {job}"));
                }
                return Ok((took, peak, job));
            }
            Some("failed" | "cancelled") => return Err(format!("the job ended: {job}")),
            _ => {}
        }
        if started.elapsed() > GIVE_UP {
            return Err(format!("the job did not end in {GIVE_UP:?}: {job}"));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The resident memory (KiB) of the `workerd` processes of the process group `group`, from
/// /proc: this benchmark's Worker, not another's.
fn workerd_rss(group: u32) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == "workerd")
        })
        .filter(|e| {
            // /proc/PID/stat: "pid (comm) state ppid pgrp …"; comm may hold spaces.
            std::fs::read_to_string(e.path().join("stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(2))
                    .is_some_and(|pgrp| pgrp == group.to_string())
            })
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
        .filter_map(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .sum()
}
