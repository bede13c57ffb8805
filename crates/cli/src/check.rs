//! `mailvet check`: one report per input, in input order, each written as soon as it and every
//! input before it are decided.
//!
//! With `--syntax-only` every input is decided on this thread as it is read. Otherwise a thread
//! reads the inputs and up to `--concurrency` of them are decided at once on a tokio runtime
//! (the DNS look-ups); the reader waits while that many are in flight, so memory stays bounded
//! whatever the length of the input. Output is flushed whenever the next step would wait.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{self, BufReader, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use mailvet_core::dns::MailRoute;
use mailvet_core::lists::Lists;
use mailvet_core::report::{
    self, Check, Checks, DnsCheck, Report, Skipped, SmtpCheck, Status, SyntaxCheck,
    SyntaxErrorDetail,
};
use mailvet_core::verdict::{Policy, Reason, ReasonCode, Verdict};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;

use crate::Failure;
use crate::doh::{DEFAULT_ENDPOINTS, Resolver};
use crate::input::{Input, Lines};
use crate::output::{Format, Output};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Addresses to check. Without any, one address per line is read from standard input; an
    /// empty line is an input too, and lines are taken exactly as given (only `\n` or `\r\n` is
    /// removed).
    #[arg(value_name = "ADDRESS")]
    addresses: Vec<OsString>,

    /// Check syntax and the lists only: no network at all.
    #[arg(long)]
    syntax_only: bool,

    /// Do not probe mailboxes over SMTP. This version never does: the mailbox layer is always
    /// reported as skipped ("disabled"), and a `valid` rests on syntax, the lists and DNS.
    #[arg(long)]
    no_smtp: bool,

    /// A DNS-over-HTTPS (RFC 8484) endpoint. Repeat to give several, tried in order when one
    /// fails. Default: https://cloudflare-dns.com/dns-query, then https://dns.google/dns-query.
    #[arg(long = "doh", value_name = "URL")]
    doh: Vec<String>,

    /// How long each DNS-over-HTTPS server has to answer one query.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_timeout)]
    dns_timeout: Duration,

    /// How many addresses are checked at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,

    /// Output format. Default: table when standard output is a terminal, else jsonl.
    #[arg(long, value_enum, value_name = "FORMAT")]
    format: Option<Format>,

    /// A JSON file mapping reason codes to severities (invalid, risky, unknown, info), e.g.
    /// {"role_account": "info", "free_provider": "risky"}.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,

    /// Never count this domain (or its subdomains) as disposable. Repeatable; A-labels (xn--…).
    #[arg(long = "allow-domain", value_name = "DOMAIN")]
    allow_domain: Vec<String>,

    /// Count this domain (and its subdomains) as disposable. Repeatable; A-labels (xn--…).
    #[arg(long = "deny-domain", value_name = "DOMAIN")]
    deny_domain: Vec<String>,

    /// Exit with status 1 when any verdict is this one or worse (unknown < risky < invalid).
    #[arg(long, value_enum, value_name = "VERDICT")]
    fail_on: Option<FailOn>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FailOn {
    Unknown,
    Risky,
    Invalid,
}

impl FailOn {
    fn verdict(self) -> Verdict {
        match self {
            FailOn::Unknown => Verdict::Unknown,
            FailOn::Risky => Verdict::Risky,
            FailOn::Invalid => Verdict::Invalid,
        }
    }
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(format!("{text:?} is not a positive number of seconds")),
    }
}

/// What every input is checked against.
#[derive(Debug)]
struct Checker {
    lists: Lists,
    policy: Policy,
}

impl Checker {
    /// `--syntax-only`: syntax and the lists.
    fn syntax_only(&self, input: Input) -> Report {
        let text = match input {
            Input::Text(text) => text,
            Input::NotUtf8 { lossy, valid_up_to } => {
                return self.not_utf8(lossy, valid_up_to);
            }
        };
        let mut check = Check::new(&text, &self.lists);
        if check.dns_name().is_some() {
            check = check.skip_dns(Skipped::SyntaxOnly);
        }
        if check.address().is_some() {
            check = check.skip_mailbox(Skipped::SyntaxOnly);
        }
        check.finish(&self.policy)
    }

    /// Syntax, the lists and DNS. The mailbox layer is not built yet, so it is always skipped.
    async fn with_dns(&self, input: Input, resolver: &Resolver) -> Report {
        let text = match input {
            Input::Text(text) => text,
            Input::NotUtf8 { lossy, valid_up_to } => {
                return self.not_utf8(lossy, valid_up_to);
            }
        };
        let mut check = Check::new(&text, &self.lists);
        let mut dns_failed = false;
        if let Some(name) = check.dns_name().map(str::to_owned) {
            let route = resolver.route(&name).await;
            dns_failed = matches!(route, MailRoute::DnsFailure(_));
            check = check.with_dns(&route);
        }
        if check.wants_mailbox() {
            check = check.skip_mailbox(Skipped::Disabled);
        } else if dns_failed {
            check = check.skip_mailbox(Skipped::DnsUnavailable);
        }
        check.finish(&self.policy)
    }

    /// A line that is not UTF-8 cannot be an address: an `invalid_syntax` report whose syntax
    /// error is `invalid_utf8`, at the first byte that is not.
    fn not_utf8(&self, lossy: String, valid_up_to: usize) -> Report {
        const MESSAGE: &str = "This line is not UTF-8 text, so it cannot be an email address.";
        let reasons = vec![Reason::with_message(ReasonCode::InvalidSyntax, MESSAGE)];
        let verdict = self.policy.verdict(&reasons);
        let checks = Checks {
            syntax: SyntaxCheck {
                status: Status::Failed,
                warnings: Vec::new(),
                error: Some(SyntaxErrorDetail {
                    code: "invalid_utf8",
                    position: valid_up_to,
                    message: MESSAGE,
                }),
            },
            dns: DnsCheck {
                status: Status::Skipped,
                skipped: Some(Skipped::NotNeeded),
                route: None,
                mx: Vec::new(),
            },
            smtp: SmtpCheck {
                status: Status::Skipped,
                skipped: Some(Skipped::NotNeeded),
                evidence: None,
            },
        };
        Report {
            score: report::score(verdict, &checks, &reasons, &self.policy),
            input: lossy,
            address: None,
            verdict,
            reasons,
            suggestion: None,
            checks,
        }
    }
}

/// Runs `mailvet check`.
pub fn run(args: CheckArgs) -> Result<ExitCode, Failure> {
    let mut lists = Lists::new();
    for domain in &args.allow_domain {
        lists
            .allow_domain(domain)
            .map_err(|e| Failure(format!("--allow-domain: {e}")))?;
    }
    for domain in &args.deny_domain {
        lists
            .deny_domain(domain)
            .map_err(|e| Failure(format!("--deny-domain: {e}")))?;
    }
    let policy = match &args.policy {
        Some(path) => read_policy(path)?,
        None => Policy::default(),
    };
    let checker = Checker { lists, policy };

    let source = if args.addresses.is_empty() {
        Source::Stdin
    } else {
        Source::Args(args.addresses)
    };
    let mode = if args.syntax_only {
        Mode::SyntaxOnly
    } else {
        let endpoints: Vec<String> = if args.doh.is_empty() {
            DEFAULT_ENDPOINTS.iter().map(|&s| s.to_owned()).collect()
        } else {
            args.doh
        };
        let resolver = Resolver::new(&endpoints, args.dns_timeout)?;
        Mode::Dns {
            resolver,
            concurrency: usize::from(args.concurrency),
        }
    };

    let stdout = io::stdout();
    let terminal = stdout.is_terminal();
    let format = args.format.unwrap_or(if terminal {
        Format::Table
    } else {
        Format::Jsonl
    });
    // https://no-color.org: any non-empty NO_COLOR turns colour off.
    let color = terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let worst = match write_reports(checker, mode, source, format, color, stdout.lock()) {
        Ok(worst) => worst,
        // The reader of our output went away (`mailvet check | head`): nothing left to do.
        Err(Stop::Closed) => return Ok(ExitCode::SUCCESS),
        Err(Stop::Failed(failure)) => return Err(failure),
    };
    let failed = args
        .fail_on
        .is_some_and(|f| worst.is_some_and(|worst| worst >= f.verdict()));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

enum Mode {
    SyntaxOnly,
    Dns {
        resolver: Resolver,
        concurrency: usize,
    },
}

/// Writes every report and returns the worst verdict, `None` when there was no input.
fn write_reports(
    checker: Checker,
    mode: Mode,
    source: Source,
    format: Format,
    color: bool,
    out: impl Write,
) -> Result<Option<Verdict>, Stop> {
    let out = io::BufWriter::new(out);
    let mut sink = Sink {
        out: Output::new(format, out, color).map_err(write_failure)?,
        worst: None,
    };
    match mode {
        Mode::SyntaxOnly => run_syntax_only(&checker, source, &mut sink)?,
        Mode::Dns {
            resolver,
            concurrency,
        } => run_with_dns(checker, resolver, concurrency, source, &mut sink)?,
    }
    sink.flush()?;
    Ok(sink.worst)
}

fn read_policy(path: &std::path::Path) -> Result<Policy, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure(format!(
            "cannot read the policy file {}: {e}",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        Failure(format!(
            "the policy file {} is not a JSON object of reason codes and severities (invalid, \
             risky, unknown, info): {e}",
            path.display()
        ))
    })
}

/// Why the run ended early.
#[derive(Debug)]
enum Stop {
    /// Standard output was closed.
    Closed,
    Failed(Failure),
}

fn write_failure(e: io::Error) -> Stop {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Stop::Closed
    } else {
        Stop::Failed(Failure(format!("writing the output: {e}")))
    }
}

fn read_failure(e: io::Error) -> Stop {
    Stop::Failed(Failure(format!("reading standard input: {e}")))
}

struct Sink<W: Write> {
    out: Output<W>,
    /// The worst verdict so far, for `--fail-on`.
    worst: Option<Verdict>,
}

impl<W: Write> Sink<W> {
    fn write(&mut self, report: &Report) -> Result<(), Stop> {
        self.worst = self.worst.max(Some(report.verdict));
        self.out.write(report).map_err(write_failure)
    }

    fn flush(&mut self) -> Result<(), Stop> {
        self.out.flush().map_err(write_failure)
    }
}

enum Source {
    Args(Vec<OsString>),
    Stdin,
}

impl Source {
    /// Feeds every input to `each` in order, stopping at the first error. `each` is told
    /// whether reading the next input may wait, so that it can flush what it has.
    fn for_each(self, mut each: impl FnMut(Input, bool) -> Result<(), Stop>) -> Result<(), Stop> {
        match self {
            Source::Args(args) => {
                let count = args.len();
                for (i, arg) in args.into_iter().enumerate() {
                    each(Input::from_arg(arg), i + 1 == count)?;
                }
                Ok(())
            }
            Source::Stdin => {
                let mut lines = Lines::new(BufReader::with_capacity(1 << 16, io::stdin().lock()));
                while let Some(line) = lines.next_line().map_err(read_failure)? {
                    let may_wait = lines.get_ref().buffer().is_empty();
                    each(Input::from_bytes(line), may_wait)?;
                }
                Ok(())
            }
        }
    }
}

fn run_syntax_only<W: Write>(
    checker: &Checker,
    source: Source,
    sink: &mut Sink<W>,
) -> Result<(), Stop> {
    source.for_each(|input, may_wait| {
        sink.write(&checker.syntax_only(input))?;
        if may_wait { sink.flush() } else { Ok(()) }
    })
}

fn run_with_dns<W: Write>(
    checker: Checker,
    resolver: Resolver,
    concurrency: usize,
    source: Source,
    sink: &mut Sink<W>,
) -> Result<(), Stop> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Stop::Failed(Failure(format!("starting the async runtime: {e}"))))?;
    let shared = Arc::new((checker, resolver));
    let (sender, mut receiver) = mpsc::channel::<Result<Input, Stop>>(concurrency);
    // The reader blocks on standard input, so it gets a thread of its own; the channel's bound
    // holds it back while `concurrency` inputs wait.
    std::thread::spawn(move || {
        let fed =
            source.for_each(|input, _| sender.blocking_send(Ok(input)).map_err(|_| Stop::Closed));
        if let Err(Stop::Failed(failure)) = fed {
            let _ = sender.blocking_send(Err(Stop::Failed(failure)));
        }
    });
    let written = runtime.block_on(async move {
        let mut pending = VecDeque::with_capacity(concurrency);
        let mut reading = true;
        loop {
            while pending
                .front()
                .is_some_and(tokio::task::JoinHandle::is_finished)
            {
                if let Some(task) = pending.pop_front() {
                    sink.write(&joined(task.await)?)?;
                }
            }
            if reading && pending.len() < concurrency {
                match receiver.try_recv() {
                    Ok(input) => {
                        pending.push_back(spawn_check(&shared, input?));
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => reading = false,
                    Err(TryRecvError::Empty) => {}
                }
            }
            if !reading && pending.is_empty() {
                return Ok(());
            }
            // Nothing more can be written or started without waiting.
            sink.flush()?;
            let room = reading && pending.len() < concurrency;
            tokio::select! {
                received = receiver.recv(), if room => match received {
                    Some(input) => pending.push_back(spawn_check(&shared, input?)),
                    None => reading = false,
                },
                // `None` only when the task failed: the guard makes sure there is one.
                finished = async { pending.front_mut()?.await.ok() }, if !pending.is_empty() => {
                    pending.pop_front();
                    sink.write(&finished.ok_or_else(internal)?)?;
                }
            }
        }
    });
    // A look-up still running (the system resolver finding a DoH server's address) is not
    // waited for: every report is written.
    runtime.shutdown_background();
    written
}

fn spawn_check(shared: &Arc<(Checker, Resolver)>, input: Input) -> tokio::task::JoinHandle<Report> {
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let (checker, resolver) = &*shared;
        checker.with_dns(input, resolver).await
    })
}

fn joined(result: Result<Report, tokio::task::JoinError>) -> Result<Report, Stop> {
    result.map_err(|_| internal())
}

/// A check task ended without a report: the core panicked, which it must never do.
fn internal() -> Stop {
    Stop::Failed(Failure(
        "internal error: checking an address failed unexpectedly".to_owned(),
    ))
}
