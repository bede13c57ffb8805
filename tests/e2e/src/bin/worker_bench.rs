//! Drives the edge Worker under `wrangler dev` against the local mail world and prints
//! requests per second and latency percentiles for three kinds of request:
//!
//! - `syntax`: `?checks=syntax`: syntax and lists, no network;
//! - `dns-cached`: one domain over and over: every DNS answer from the Cache API;
//! - `dns-uncached`: a new name below the world's `*.wild.test` each time: MX, A and AAAA go to
//!   the world's DoH server (the MX host's addresses are cached after the first request).
//!
//! ```text
//! scripts/build-worker
//! cargo run -p mailvet-e2e --release --bin worker-bench -- [--requests N] [--clients N]
//! ```
//!
//! It starts the world and the Worker itself (or uses the world named by `MAILVET_WORLD_ENV`),
//! talks to loopback only, and stops after N requests or 60 seconds per kind, whichever comes
//! first. Each request is a fresh HTTP/1.1 connection from one of the clients (threads). The
//! numbers are those of the local runtime (workerd behind wrangler's dev proxy), on this machine.
#![allow(clippy::print_stdout, reason = "a benchmark prints its numbers")]

use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mailvet_e2e::World;
use mailvet_e2e::worker::Worker;

/// No kind runs longer than this.
const TIME_LIMIT: Duration = Duration::from_secs(60);
/// Requests sent before measuring each kind, so that the isolate is warm.
const WARM_UP: usize = 50;

/// The request target of the i-th request of a kind.
type Target<'a> = dyn Fn(usize) -> String + Sync + 'a;

struct Options {
    requests: usize,
    clients: usize,
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(e) => {
            println!("{e}\nusage: worker-bench [--requests N] [--clients N]");
            return ExitCode::FAILURE;
        }
    };
    let world = match World::from_env_or_start() {
        Ok(world) => world,
        Err(e) => {
            println!("the mail world: {e}");
            return ExitCode::FAILURE;
        }
    };
    let worker = match Worker::start(&world, &[]) {
        Ok(worker) => worker,
        Err(e) => {
            println!("the Worker: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "worker-bench: {} requests per kind (at most {TIME_LIMIT:?}), {} clients, Worker at {}",
        options.requests,
        options.clients,
        worker.addr()
    );
    println!(
        "{:<13} {:>8} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9}  X-Mailvet-Cache",
        "kind", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    let run_id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let kinds: [(&str, Box<Target<'static>>); 3] = [
        (
            "syntax",
            Box::new(|_| "/v1/verify?email=alice@valid.test&checks=syntax".to_owned()),
        ),
        (
            "dns-cached",
            Box::new(|_| "/v1/verify?email=alice@valid.test&checks=dns".to_owned()),
        ),
        (
            "dns-uncached",
            Box::new(move |i| {
                format!("/v1/verify?email=alice@u{i}.b{run_id}.wild.test&checks=dns")
            }),
        ),
    ];
    let mut failed = false;
    for (name, path) in &kinds {
        // Warm-up requests use their own names, so that the measured ones stay uncached.
        run(&worker, options.clients, WARM_UP, &|i| path(i + 10_000_000));
        let result = run(&worker, options.clients, options.requests, path.as_ref());
        failed |= result.errors > 0;
        result.print(name);
    }
    drop(worker);
    drop(world);
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        requests: 2000,
        clients: 8,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|v| *v > 0)
            .ok_or_else(|| format!("{arg} needs a positive number"))?;
        match arg.as_str() {
            "--requests" => options.requests = value,
            "--clients" => options.clients = value,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(options)
}

struct Outcome {
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
    hits: usize,
    misses: usize,
}

/// Sends `count` requests (`path(i)` for the i-th) from `clients` threads.
fn run(worker: &Worker, clients: usize, count: usize, path: &Target<'_>) -> Outcome {
    let next = AtomicUsize::new(0);
    let collected = Mutex::new(Outcome {
        latencies: Vec::with_capacity(count),
        errors: 0,
        elapsed: Duration::ZERO,
        hits: 0,
        misses: 0,
    });
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| {
                let mut mine = Vec::new();
                let (mut errors, mut hits, mut misses) = (0, 0, 0);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count || started.elapsed() > TIME_LIMIT {
                        break;
                    }
                    let sent = Instant::now();
                    match worker.request("GET", &path(i), &[], None) {
                        Ok(r) if r.status == 200 => {
                            mine.push(sent.elapsed());
                            match r.header("x-mailvet-cache") {
                                Some("hit") => hits += 1,
                                Some("miss") => misses += 1,
                                _ => {}
                            }
                        }
                        _ => errors += 1,
                    }
                }
                let mut all = collected.lock().unwrap_or_else(|e| e.into_inner());
                all.latencies.extend(mine);
                all.errors += errors;
                all.hits += hits;
                all.misses += misses;
            });
        }
    });
    let mut outcome = collected.into_inner().unwrap_or_else(|e| e.into_inner());
    outcome.elapsed = started.elapsed();
    outcome.latencies.sort_unstable();
    outcome
}

impl Outcome {
    fn print(&self, name: &str) {
        let done = self.latencies.len();
        let ms = |q: f64| {
            let index = ((done as f64 * q).ceil() as usize).clamp(1, done.max(1)) - 1;
            self.latencies
                .get(index)
                .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
        };
        println!(
            "{name:<13} {done:>8} {:>7} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}  hit {} miss {}",
            self.errors,
            done as f64 / self.elapsed.as_secs_f64(),
            ms(0.50),
            ms(0.90),
            ms(0.99),
            ms(1.0),
            self.hits,
            self.misses,
        );
    }
}
