//! The prober's throughput and memory, printed (`cargo bench -p mailvet --bench probe`).
//!
//! 1. Peak memory (VmHWM) while 1,000 sessions wait on a tarpit at once. The world's exim takes
//!    100 connections at most (`smtp_accept_max`), so the tarpit here is a child process of this
//!    benchmark that accepts connections and never greets; its memory is not counted.
//! 2. Probes per second against the world's exim (STARTTLS, a real TLS handshake per session),
//!    with sessions shared by the addresses of a domain (up to `--rcpt-per-session` 10) and
//!    without (one address per session).
//!
//! Everything stays on loopback; every phase is bounded by the probes' deadlines.
#![allow(clippy::print_stdout, reason = "a benchmark prints its numbers")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mailvet::doh::Resolver;
use mailvet::metrics::Metrics;
use mailvet::probe::{MailHost, Mailbox, ProbeConfig, Prober};
use mailvet_core::report::MailboxEvidence;
use mailvet_core::smtp::Outcome;
use mailvet_e2e::World;

const TARPIT_CHILD: &str = "--tarpit-child";
const HELD_SESSIONS: usize = 1000;

fn main() -> ExitCode {
    if std::env::args().any(|a| a == TARPIT_CHILD) {
        tarpit_child();
        return ExitCode::SUCCESS;
    }
    // `cargo bench` passes `--bench`; a plain `cargo test` run of benches passes nothing else
    // and wants no benchmark.
    if !std::env::args().any(|a| a == "--bench") {
        return ExitCode::SUCCESS;
    }
    let world = match World::start() {
        Ok(world) => world,
        Err(e) => {
            println!("the mail world did not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            println!("no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("probe benchmark; {} cores", cores());
    let ok = runtime.block_on(async {
        // First, so that the peak before it is the process at rest.
        held_by_tarpit().await
            && throughput(&world, "shared sessions", 10, 3000).await
            && throughput(&world, "one session per address", 1, 600).await
    });
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn config(port: u16, sessions: usize, per_host: usize, rcpt_per_session: usize) -> ProbeConfig {
    ProbeConfig {
        port,
        step_timeout: Duration::from_secs(10),
        deadline: Duration::from_secs(60),
        helo: "bench.mailvet.test".to_owned(),
        mail_from: String::new(),
        allow_private: true,
        per_host,
        sessions,
        rcpt_per_session,
        socks5: None,
    }
}

fn mailbox(text: &str) -> Option<Mailbox> {
    mailvet_core::syntax::parse(text)
        .ok()
        .map(|a| Mailbox::new(&a))
}

/// Probes `count` addresses of valid.test (existing and not) with 32 at a time and 16 sessions
/// to the host at most, and prints the rate.
async fn throughput(world: &World, name: &str, rcpt_per_session: usize, count: usize) -> bool {
    let resolver = match Resolver::new(&[world.doh_url().to_owned()], Duration::from_secs(5)) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            println!("{name}: {e}");
            return false;
        }
    };
    let metrics = Arc::new(Metrics::default());
    let config = config(world.smtp_addr().port(), 32, 16, rcpt_per_session);
    let prober = match Prober::new(config, resolver, Arc::clone(&metrics)) {
        Ok(p) => p,
        Err(e) => {
            println!("{name}: {e}");
            return false;
        }
    };
    let hosts = vec![MailHost {
        preference: 10,
        name: "mx.valid.test".to_owned(),
        literal: None,
    }];
    let locals = ["alice", "bob", "carol", "dave", "postmaster"];
    let started = Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        let Some(mailbox) = mailbox(&format!("{}@valid.test", locals[i % locals.len()])) else {
            println!("{name}: an address did not parse");
            return false;
        };
        let (prober, hosts, limit) = (prober.clone(), hosts.clone(), Arc::clone(&limit));
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await.ok()?;
            Some(prober.probe(mailbox, hosts).await)
        }));
    }
    let mut answered = 0;
    for task in tasks {
        if let Ok(Some(MailboxEvidence::Answered {
            outcome: Outcome::Deliverable | Outcome::MailboxNotFound,
            ..
        })) = task.await
        {
            answered += 1;
        }
    }
    let took = started.elapsed();
    prober.finish().await;
    println!(
        "{name:<24} {count:>5} probes in {:>6.2} s = {:>7.1} probes/s; {} SMTP sessions; {answered} answered as expected",
        took.as_secs_f64(),
        count as f64 / took.as_secs_f64(),
        metrics.sessions_total()
    );
    answered == count
}

/// 1,000 probes at once against a tarpit: every session waits for a greeting that never comes
/// until the 5 s deadline.
async fn held_by_tarpit() -> bool {
    if let Err(e) = raise_file_limit(HELD_SESSIONS as u64 * 2 + 256) {
        println!("tarpit: {e}");
        return false;
    }
    let Ok(exe) = std::env::current_exe() else {
        println!("tarpit: no path to this program");
        return false;
    };
    let child = Command::new(exe)
        .arg(TARPIT_CHILD)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            println!("tarpit: {e}");
            return false;
        }
    };
    let mut first = String::new();
    let mut out = BufReader::new(child.stdout.take().expect("piped"));
    let port: Option<u16> = out
        .read_line(&mut first)
        .ok()
        .and_then(|_| first.trim().parse().ok());
    let Some(port) = port else {
        println!("tarpit: the child gave no port ({first:?})");
        let _ = child.kill();
        return false;
    };
    let resolver = match Resolver::new(
        &["http://127.0.0.1:9/dns-query".to_owned()],
        Duration::from_secs(1),
    ) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            println!("tarpit: {e}");
            return false;
        }
    };
    let mut config = config(port, HELD_SESSIONS, HELD_SESSIONS, 10);
    config.step_timeout = Duration::from_secs(5);
    config.deadline = Duration::from_secs(5);
    let metrics = Arc::new(Metrics::default());
    let Ok(prober) = Prober::new(config, resolver, metrics) else {
        return false;
    };
    let before = vm_hwm_kib();
    let host = MailHost::literal(IpAddr::V4(Ipv4Addr::LOCALHOST), "[127.0.0.1]");
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(HELD_SESSIONS);
    for i in 0..HELD_SESSIONS {
        let Some(mailbox) = mailbox(&format!("user{i}@[127.0.0.1]")) else {
            return false;
        };
        let (prober, host) = (prober.clone(), host.clone());
        tasks.push(tokio::spawn(async move {
            prober.probe(mailbox, vec![host]).await
        }));
    }
    let mut timeouts = 0;
    for task in tasks {
        if let Ok(MailboxEvidence::Timeout { .. }) = task.await {
            timeouts += 1;
        }
    }
    let took = started.elapsed();
    let after = vm_hwm_kib();
    // The child prints how many connections it accepted when its input closes.
    drop(child.stdin.take());
    let mut rest = String::new();
    let _ = out.read_to_string(&mut rest);
    let _ = child.wait();
    let held: usize = rest.trim().parse().unwrap_or(0);
    println!(
        "tarpit: {HELD_SESSIONS} probes at once, {timeouts} timed out at the 5 s deadline, all in {:.2} s; the tarpit accepted {held} connections",
        took.as_secs_f64()
    );
    match (before, after) {
        (Some(before), Some(after)) => println!(
            "peak memory (VmHWM): {:.1} MiB before, {:.1} MiB with {HELD_SESSIONS} sessions held (+{:.1} MiB, {:.1} KiB per session)",
            before as f64 / 1024.0,
            after as f64 / 1024.0,
            after.saturating_sub(before) as f64 / 1024.0,
            after.saturating_sub(before) as f64 / HELD_SESSIONS as f64
        ),
        _ => println!("peak memory: /proc/self/status has no VmHWM"),
    }
    timeouts == HELD_SESSIONS && held == HELD_SESSIONS && took < Duration::from_secs(15)
}

/// VmHWM, the peak resident set size, in KiB.
fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()
}

/// Makes sure this process may open `needed` files: util-linux's prlimit raises the soft
/// limit (up to the hard one), which keeps this program free of unsafe code.
fn raise_file_limit(needed: u64) -> Result<(), String> {
    let soft = || -> Option<u64> {
        let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
        let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
        line.split_whitespace().nth(3)?.parse().ok()
    };
    if soft().is_some_and(|s| s >= needed) {
        return Ok(());
    }
    let pid = std::process::id().to_string();
    let status = Command::new("prlimit")
        .args(["--pid", &pid, &format!("--nofile={needed}:")])
        .status()
        .map_err(|e| format!("prlimit: {e}"))?;
    if status.success() && soft().is_some_and(|s| s >= needed) {
        Ok(())
    } else {
        Err(format!("cannot open {needed} files (RLIMIT_NOFILE)"))
    }
}

/// The tarpit: accepts connections on a loopback port (printed first), never says a word nor
/// closes one, and when its standard input closes prints how many it accepted.
fn tarpit_child() {
    let Ok(listener) = TcpListener::bind("127.0.0.1:0") else {
        return;
    };
    let Ok(addr) = listener.local_addr() else {
        return;
    };
    println!("{}", addr.port());
    let _ = std::io::stdout().flush();
    let held = Arc::new(std::sync::Mutex::new(Vec::new()));
    let accepted = Arc::clone(&held);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if let Ok(mut held) = accepted.lock() {
                held.push(stream);
            }
        }
    });
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    let count = held.lock().map_or(0, |h| h.len());
    println!("{count}");
}
