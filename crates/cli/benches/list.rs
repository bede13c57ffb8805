//! `mailvet check` over a list of a million addresses, printed (`cargo bench -p mailvet --bench
//! list`; `-- syntax` or `-- dns` runs only the first part or only the others). Nothing here fails on a clock: a run fails only when a program fails or its output
//! is not one line per address.
//!
//! 1. `--syntax-only --format jsonl` against a baseline: a function that reads the same lines
//!    with the same buffering, calls `email_address::EmailAddress::is_valid` on each and writes
//!    one JSON line per address. Both run [`ROUNDS`] times, alternately; medians and their ratio
//!    are printed (the goal: mailvet at least as fast, a ratio of 1.0 or more), and the medians
//!    of the CPU time each used.
//! 2. `--no-smtp` over a million addresses at 20,000 domains below the world's wildcard zone
//!    (`*.wild.test`, tests/world/README.md), through a counting proxy in front of the world's
//!    DoH server: addresses per second, and how many times each name was asked.
//! 3. List mode: the same kind of million as the `email` column of a CSV file with a quoted name
//!    column, written back as CSV with the appended columns: rows per second.
//!
//! The addresses come from a fixed-seed generator: mostly people at big providers and at
//! companies (20,000 company domains), some role accounts, disposable and internationalised
//! addresses, one in twenty at a misspelt provider and one in twenty invalid.
#![allow(clippy::print_stdout, reason = "a benchmark prints its numbers")]

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use email_address::EmailAddress;
use mailvet_e2e::World;
use serde::Serialize;

const ADDRESSES: usize = 1_000_000;
const DNS_DOMAINS: usize = 20_000;
const ROUNDS: usize = 7;
const DNS_ROUNDS: usize = 3;
const SEED: u64 = 0x6c15_7a11_ad0e_55e5;
const MAILVET: &str = env!("CARGO_BIN_EXE_mailvet");

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; a plain `cargo test` run of benches wants no benchmark.
    if !std::env::args().any(|a| a == "--bench") {
        return ExitCode::SUCCESS;
    }
    let dir = std::env::temp_dir().join(format!("mailvet-list-bench-{}", std::process::id()));
    let result = std::fs::create_dir_all(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))
        .and_then(|()| {
            println!(
                "list benchmark; {} cores; {ADDRESSES} addresses",
                std::thread::available_parallelism().map_or(1, usize::from)
            );
            // `-- syntax` or `-- dns` runs one part only; both run by default.
            let only = |part: &str| {
                let parts: Vec<String> = std::env::args()
                    .skip(1)
                    .filter(|a| a == "syntax" || a == "dns")
                    .collect();
                parts.is_empty() || parts.iter().any(|p| p == part)
            };
            if only("syntax") {
                syntax_only(&dir)?;
            }
            if only("dns") {
                no_smtp(&dir)?;
            }
            Ok(())
        });
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("failed: {e}");
            ExitCode::FAILURE
        }
    }
}

#[path = "../../../tests/support/rng.rs"]
mod rng;

use rng::Rng;

const PROVIDERS: &[&str] = &[
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "aol.com",
    "gmx.de",
    "web.de",
    "orange.fr",
    "yandex.ru",
    "qq.com",
    "comcast.net",
    "proton.me",
    "libero.it",
];
/// Misspelt providers, as people type them.
const TYPOS: &[&str] = &[
    "gmial.com",
    "gamil.com",
    "gmai.com",
    "gmail.con",
    "gmail.co",
    "yaho.com",
    "yahooo.com",
    "hotmial.com",
    "hotmail.cm",
    "outlok.com",
    "iclod.com",
    "gmx.dee",
];
const DISPOSABLE: &[&str] = &["mailinator.com", "guerrillamail.com", "yopmail.com"];
const ROLES: &[&str] = &["info", "sales", "support", "admin", "contact", "noreply"];
const WORDS: &[&str] = &[
    "acme", "globex", "initech", "umbrella", "stark", "wayne", "tyrell", "hooli", "vandelay",
    "wonka", "nordic", "alpine", "delta", "apex", "blue", "green", "north", "river", "stone",
    "bright",
];
const TLDS: &[&str] = &[
    "com", "de", "co.uk", "fr", "io", "net", "org", "nl", "com.au",
];
const FIRST: &[&str] = &[
    "james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda", "anna", "lukas",
    "sofia", "mohammed", "wei", "yuki", "olga", "pierre", "chloe", "mateo", "aisha",
];
const LAST: &[&str] = &[
    "smith", "johnson", "brown", "jones", "garcia", "miller", "davis", "muller", "schmidt",
    "rossi", "dubois", "kowalski", "nguyen", "kim", "tanaka", "ivanov", "silva",
];
const IDN: &[&str] = &[
    "josé@bücher.de",
    "zoë@example.fr",
    "иван@пример.рф",
    "李伟@例え.jp",
    "jörg@xn--bcher-kva.de",
    "ñandú@straße.de",
];

fn person(rng: &mut Rng) -> String {
    let first = rng.pick(FIRST);
    let last = rng.pick(LAST);
    let mut local = match rng.below(5) {
        0 => format!("{first}.{last}"),
        1 => format!("{first}{last}{}", rng.below(100)),
        2 => format!("{}{last}", &first[..1]),
        3 => format!("{first}_{last}"),
        _ => format!("{first}{}", 1950 + rng.below(60)),
    };
    if rng.chance(5) {
        local.push_str("+news");
    }
    if rng.chance(5) {
        local[..1].make_ascii_uppercase();
    }
    local
}

/// One of 20,000 company domains.
fn company(rng: &mut Rng) -> String {
    let n = rng.below(20_000);
    let word = WORDS[n % WORDS.len()];
    let tld = TLDS[(n / WORDS.len()) % TLDS.len()];
    format!("{word}{}.{tld}", n / (WORDS.len() * TLDS.len()))
}

/// A typing mistake, a pasted display name, or another reason to be invalid.
fn spoil(rng: &mut Rng, address: &str) -> String {
    match rng.below(7) {
        0 => address.replacen('@', "", 1),
        1 => address.replacen('.', "..", 1),
        2 => format!("{address} "),
        3 => format!("Jane Doe <{address}>"),
        4 => address.replacen('@', "@@", 1),
        5 => address.replacen('.', ",", 1),
        _ => String::new(),
    }
}

fn syntax_line(rng: &mut Rng) -> String {
    match rng.below(100) {
        0..=44 => format!("{}@{}", person(rng), rng.pick(PROVIDERS)),
        45..=79 => format!("{}@{}", person(rng), company(rng)),
        80..=84 => format!("{}@{}", person(rng), rng.pick(TYPOS)),
        85..=87 => format!("{}@{}", rng.pick(ROLES), company(rng)),
        88 => format!("{}@{}", person(rng), rng.pick(DISPOSABLE)),
        89..=90 => rng.pick(IDN).to_owned(),
        // A suffix that is no TLD: the typo rules look for the nearest common one.
        91..=94 => format!("{}@{}.mail", person(rng), company(rng)),
        _ => {
            let address = format!("{}@{}", person(rng), rng.pick(PROVIDERS));
            spoil(rng, &address)
        }
    }
}

fn dns_line(rng: &mut Rng) -> String {
    format!("{}@d{}.wild.test", person(rng), rng.below(DNS_DOMAINS))
}

fn write_list(path: &Path, line: impl Fn(&mut Rng) -> String) -> Result<(), String> {
    let write = || -> io::Result<()> {
        let mut out = BufWriter::new(File::create(path)?);
        let mut rng = Rng(SEED);
        for _ in 0..ADDRESSES {
            writeln!(out, "{}", line(&mut rng))?;
        }
        out.flush()
    };
    write().map_err(|e| format!("writing {}: {e}", path.display()))
}

/// The baseline's line.
#[derive(Serialize)]
struct Verdict<'a> {
    input: &'a str,
    valid: bool,
}

/// The baseline: the same lines in, one JSON line out for each, with `email_address`'s check.
fn baseline(input: &Path, output: &Path) -> io::Result<usize> {
    let mut reader = BufReader::with_capacity(1 << 16, File::open(input)?);
    let mut out = BufWriter::new(File::create(output)?);
    let mut line = Vec::new();
    let mut count = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        let text = String::from_utf8_lossy(&line);
        let verdict = Verdict {
            input: &text,
            valid: EmailAddress::is_valid(&text),
        };
        serde_json::to_writer(&mut out, &verdict)?;
        out.write_all(b"\n")?;
        count += 1;
    }
    out.flush()?;
    Ok(count)
}

/// CPU time (user and system) in seconds so far: of this process, and of its children that
/// were waited for. From `/proc/self/stat`, in clock ticks of 1/100 s (Linux's USER_HZ); `None`
/// where that file cannot be read.
fn cpu_seconds() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // After the command's name, in parentheses, come the fields from the third (the state) on:
    // utime, stime, cutime and cstime are the 14th to the 17th.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    let ticks = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    let own = ticks(14)? + ticks(15)?;
    let children = ticks(16)? + ticks(17)?;
    Some((own as f64 / 100.0, children as f64 / 100.0))
}

/// Runs `mailvet` with `args`, standard output to `output`; how long it took.
fn mailvet(args: &[&str], output: &Path) -> Result<Duration, String> {
    settle(output);
    let out = File::create(output).map_err(|e| format!("{}: {e}", output.display()))?;
    let started = Instant::now();
    let status = Command::new(MAILVET)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .status()
        .map_err(|e| format!("{MAILVET}: {e}"))?;
    let took = started.elapsed();
    if !status.success() {
        return Err(format!("mailvet {} ended with {status}", args.join(" ")));
    }
    Ok(took)
}

/// Before a timed run: every file of the benchmark's directory is written back (the other
/// program's output of the run just before too, which the kernel would otherwise write back
/// during this run), the output this run writes is deleted, and the machine is left a moment, so
/// that no run pays for freeing or writing back what another wrote.
fn settle(output: &Path) {
    if let Some(entries) = output.parent().and_then(|dir| std::fs::read_dir(dir).ok()) {
        for entry in entries.flatten() {
            if let Ok(file) = File::open(entry.path()) {
                let _ = file.sync_all();
            }
        }
    }
    let _ = std::fs::remove_file(output);
    std::thread::sleep(Duration::from_millis(300));
}

fn count_lines(path: &Path) -> Result<usize, String> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(bytes.iter().filter(|&&b| b == b'\n').count())
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn per_second(count: usize, took: Duration) -> f64 {
    count as f64 / took.as_secs_f64()
}

fn syntax_only(dir: &Path) -> Result<(), String> {
    let list = dir.join("syntax.txt");
    write_list(&list, syntax_line)?;
    let ours_out = dir.join("syntax.jsonl");
    let base_out = dir.join("baseline.jsonl");
    let list_arg = list.to_string_lossy().into_owned();
    let args = [
        "check",
        "--syntax-only",
        "--format",
        "jsonl",
        "--input",
        &list_arg,
    ];
    let (mut ours, mut base) = (Vec::new(), Vec::new());
    // CPU seconds of each round, where /proc tells them.
    let (mut ours_cpu, mut base_cpu) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let before = cpu_seconds();
        ours.push(mailvet(&args, &ours_out)?);
        if let (Some((_, before)), Some((_, after))) = (before, cpu_seconds()) {
            ours_cpu.push(after - before);
        }
        settle(&base_out);
        let before = cpu_seconds();
        let started = Instant::now();
        let count = baseline(&list, &base_out).map_err(|e| format!("baseline: {e}"))?;
        base.push(started.elapsed());
        if let (Some((before, _)), Some((after, _))) = (before, cpu_seconds()) {
            base_cpu.push(after - before);
        }
        if count != ADDRESSES {
            return Err(format!("the baseline read {count} lines"));
        }
    }
    let lines = count_lines(&ours_out)?;
    if lines != ADDRESSES {
        return Err(format!(
            "mailvet wrote {lines} lines for {ADDRESSES} addresses"
        ));
    }
    let show = |times: &[Duration]| {
        let ms: Vec<String> = times
            .iter()
            .map(|t| format!("{:.0}", t.as_secs_f64() * 1000.0))
            .collect();
        ms.join(" ")
    };
    println!(
        "syntax-only, {ROUNDS} rounds each (ms): mailvet {}",
        show(&ours)
    );
    println!("                               baseline {}", show(&base));
    let (ours, base) = (median(ours), median(base));
    let (ours_rate, base_rate) = (per_second(ADDRESSES, ours), per_second(ADDRESSES, base));
    println!(
        "syntax-only median: mailvet check --syntax-only --format jsonl {:>10.0} lines/s ({:.3} s)",
        ours_rate,
        ours.as_secs_f64()
    );
    println!(
        "                    baseline (email_address::is_valid + JSON) {:>10.0} lines/s ({:.3} s)",
        base_rate,
        base.as_secs_f64()
    );
    println!(
        "                    ratio mailvet/baseline {:.2} (goal: 1.0 or more)",
        ours_rate / base_rate
    );
    // Wall time is the goal; CPU time says what it costs. mailvet checks on every core, the
    // baseline on one, so on a machine whose other work takes cores from it, the wall-time
    // ratio follows the CPU ratio.
    if ours_cpu.len() == ROUNDS && base_cpu.len() == ROUNDS {
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (ours_cpu, base_cpu) = (median(ours_cpu), median(base_cpu));
        println!(
            "syntax-only CPU (user + system) median: mailvet {ours_cpu:.2} s, baseline {base_cpu:.2} s, ratio baseline/mailvet {:.2}",
            base_cpu / ours_cpu
        );
    } else {
        println!("syntax-only CPU: not measured (/proc/self/stat cannot be read)");
    }
    Ok(())
}

fn no_smtp(dir: &Path) -> Result<(), String> {
    let list = dir.join("dns.txt");
    write_list(&list, dns_line)?;
    let world = World::start().map_err(|e| format!("the mail world did not start: {e}"))?;
    let list_arg = list.to_string_lossy().into_owned();
    let mut times = Vec::new();
    for round in 1..=DNS_ROUNDS {
        let proxy = Proxy::start(world.doh_addr()).map_err(|e| format!("the proxy: {e}"))?;
        let url = format!("http://{}/dns-query", proxy.addr);
        let out = dir.join("dns.jsonl");
        let took = mailvet(
            &[
                "check",
                "--no-smtp",
                "--allow-private",
                "--doh",
                &url,
                "--format",
                "jsonl",
                "--input",
                &list_arg,
            ],
            &out,
        )?;
        times.push(took);
        let routed = count_matching(&out, "\"route\":\"mx\"")?;
        let asked = proxy.counts();
        let names = asked.len();
        let total: u32 = asked.values().sum();
        let most = asked.values().copied().max().unwrap_or(0);
        let domains = asked
            .keys()
            .filter(|(name, _)| name.starts_with('d') && name.ends_with(".wild.test"))
            .map(|(name, _)| name)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        println!(
            "--no-smtp round {round}: {ADDRESSES} addresses in {:.2} s = {:.0} addresses/s; {routed} with an MX route",
            took.as_secs_f64(),
            per_second(ADDRESSES, took)
        );
        println!(
            "    DoH queries: {total} for {names} (name, type) pairs, {domains} of the {DNS_DOMAINS} domains; at most {most} per pair"
        );
        if routed != ADDRESSES {
            return Err(format!("{} addresses got no MX route", ADDRESSES - routed));
        }
    }
    let took = median(times);
    println!(
        "--no-smtp median: {:.0} addresses/s ({:.2} s)",
        per_second(ADDRESSES, took),
        took.as_secs_f64()
    );
    list_mode(dir, &world)
}

/// 3. List mode: the same million as a CSV file with a name column, written back as CSV with
///    the appended columns (`--output list.checked.csv`), against the world's DoH server.
fn list_mode(dir: &Path, world: &World) -> Result<(), String> {
    let list = dir.join("list.csv");
    let file = File::create(&list).map_err(|e| format!("{}: {e}", list.display()))?;
    let mut out = BufWriter::new(file);
    let mut rng = Rng(SEED ^ 1);
    let written = writeln!(out, "name,email").and_then(|()| {
        (0..ADDRESSES).try_for_each(|i| writeln!(out, "\"Person {i}, Jr.\",{}", dns_line(&mut rng)))
    });
    written
        .and_then(|()| out.flush())
        .map_err(|e| format!("{}: {e}", list.display()))?;
    let list_arg = list.to_string_lossy().into_owned();
    let checked = dir.join("list.checked.csv");
    let checked_arg = checked.to_string_lossy().into_owned();
    let url = format!("http://{}/dns-query", world.doh_addr());
    let mut times = Vec::new();
    for round in 1..=DNS_ROUNDS {
        let took = mailvet(
            &[
                "check",
                "--no-smtp",
                "--allow-private",
                "--doh",
                &url,
                "--input",
                &list_arg,
                "--output",
                &checked_arg,
            ],
            &dir.join("list.stdout"),
        )?;
        let lines = count_lines(&checked)?;
        if lines != ADDRESSES + 1 {
            return Err(format!(
                "list mode wrote {lines} lines for {ADDRESSES} rows"
            ));
        }
        println!(
            "list mode round {round}: {ADDRESSES} CSV rows in {:.2} s = {:.0} rows/s",
            took.as_secs_f64(),
            per_second(ADDRESSES, took)
        );
        times.push(took);
    }
    let took = median(times);
    println!(
        "list mode median (--no-smtp --input list.csv --output list.checked.csv): {:.0} rows/s ({:.2} s)",
        per_second(ADDRESSES, took),
        took.as_secs_f64()
    );
    Ok(())
}

fn count_matching(path: &Path, needle: &str) -> Result<usize, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut count = 0;
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        if line.contains(needle) {
            count += 1;
        }
    }
    Ok(count)
}

/// Queries by (name, type).
type Counts = Arc<Mutex<HashMap<(String, u16), u32>>>;

/// An HTTP/1.1 proxy in front of the world's DoH server that counts the question of every DNS
/// query passing through (GET `?dns=` and POST, RFC 8484 §4.1). Each client connection gets
/// its own thread and its own connection upstream.
struct Proxy {
    addr: SocketAddr,
    counts: Counts,
}

impl Proxy {
    fn start(upstream: SocketAddr) -> io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let counts = Counts::default();
        let shared = Arc::clone(&counts);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let counts = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let _ = relay(client, upstream, &counts);
                });
            }
        });
        Ok(Proxy { addr, counts })
    }

    fn counts(&self) -> HashMap<(String, u16), u32> {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn relay(client: TcpStream, upstream: SocketAddr, counts: &Counts) -> io::Result<()> {
    let up = TcpStream::connect(upstream)?;
    client.set_nodelay(true)?;
    up.set_nodelay(true)?;
    let mut from_client = BufReader::new(client.try_clone()?);
    let mut from_up = BufReader::new(up.try_clone()?);
    let (mut to_client, mut to_up) = (client, up);
    while let Some((head, body)) = read_http(&mut from_client)? {
        let message = if head.starts_with(b"GET ") {
            dns_parameter(&head)
        } else {
            Some(body.clone())
        };
        if let Some(question) = message.as_deref().and_then(question) {
            *counts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(question)
                .or_default() += 1;
        }
        to_up.write_all(&head)?;
        to_up.write_all(&body)?;
        let Some((head, body)) = read_http(&mut from_up)? else {
            return Ok(());
        };
        to_client.write_all(&head)?;
        to_client.write_all(&body)?;
    }
    Ok(())
}

/// One HTTP/1.1 message: its head (through the empty line) and its body (by Content-Length);
/// `None` when the connection closed between messages.
fn read_http(reader: &mut impl BufRead) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut head = Vec::new();
    let mut length = 0;
    loop {
        let start = head.len();
        if reader.read_until(b'\n', &mut head)? == 0 {
            return if head.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        let line = &head[start..];
        if line == b"\r\n" {
            break;
        }
        let text = String::from_utf8_lossy(line).to_ascii_lowercase();
        if let Some(value) = text.strip_prefix("content-length:") {
            length = value
                .trim()
                .parse()
                .map_err(|_| io::Error::other("a bad Content-Length"))?;
        } else if text.starts_with("transfer-encoding:") {
            return Err(io::Error::other("a chunked message: not expected here"));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some((head, body)))
}

/// The DNS message in the `dns` parameter of a GET request line (base64url without padding).
fn dns_parameter(head: &[u8]) -> Option<Vec<u8>> {
    let line = head.split(|&b| b == b'\r').next()?;
    let target = line.split(|&b| b == b' ').nth(1)?;
    let query = target.splitn(2, |&b| b == b'?').nth(1)?;
    let value = query
        .split(|&b| b == b'&')
        .find_map(|pair| pair.strip_prefix(b"dns="))?;
    base64url(value)
}

fn base64url(text: &[u8]) -> Option<Vec<u8>> {
    let digit = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut held) = (0u32, 0);
    for &c in text.iter().take_while(|&&c| c != b'=') {
        bits = (bits << 6) | digit(c)?;
        held += 6;
        if held >= 8 {
            held -= 8;
            out.push((bits >> held) as u8);
        }
    }
    Some(out)
}

/// The question of a DNS message (RFC 1035 §4.1.2): its name, lowercase, and its type.
fn question(message: &[u8]) -> Option<(String, u16)> {
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*message.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(message.get(at..at + len)?).to_ascii_lowercase());
        at += len;
    }
    let rtype = u16::from_be_bytes([*message.get(at)?, *message.get(at + 1)?]);
    Some((labels.join("."), rtype))
}
