//! `mailvet check`: one report per input, in input order, each written as soon as it and every
//! input before it are decided.
//!
//! With `--syntax-only` a thread reads the inputs (a file or standard input in blocks of whole
//! lines, which it does not look into), one thread per core checks them in batches and, for
//! JSON lines, writes the reports into memory, and this thread writes them out. Otherwise a thread reads the inputs and up to
//! `--concurrency` of them are decided at once on a tokio runtime (DNS look-ups and SMTP
//! probes). Either way the reader waits while a bounded number of inputs are on their way, so
//! memory stays bounded whatever the length of the input, and output is flushed whenever the
//! next step would wait. What depends on the domain alone (the lists, the typo suggestion) is
//! worked out once per domain ([`Memo`], in `memo.rs`): a list has far fewer domains than addresses.

use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use clap::{Args, ValueEnum};
use mailvet_core::dns::MailRoute;
use mailvet_core::lists::Lists;
use mailvet_core::report::{Check, Report, Skipped, Spare};
use mailvet_core::syntax::Address;
use mailvet_core::table::{self, Tally};
use mailvet_core::verdict::{Policy, Verdict};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;

use crate::Failure;
use crate::doh::{DnsArgs, KeptRoute, Resolver};
use crate::input::{BOM, Input, Lines};
use crate::list::{self, ListRow, ListSource};
use crate::memo::Memo;
use crate::metrics::Metrics;
use crate::output::{Format, Output, json_line};
use crate::probe::{MailHost, Mailbox, ProbeArgs, Prober};
use crate::progress::Progress;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Addresses to check. Without any, one address per line is read from standard input (or
    /// --input); an empty line is an input too, and lines are taken exactly as given (only `\n`
    /// or `\r\n` is removed).
    #[arg(value_name = "ADDRESS")]
    addresses: Vec<OsString>,

    /// Read the inputs from FILE instead of standard input.
    #[arg(long, value_name = "FILE", conflicts_with = "addresses")]
    input: Option<PathBuf>,

    /// The input is a list with columns (CSV: comma, semicolon or tab, sniffed); check the
    /// addresses in column C, its header or its number (1 is the first). A file named *.csv or
    /// *.tsv is read as a list without it: the column is then the one whose header says email
    /// (e-mail, mail, 電郵, 電子郵件, 郵箱, 信箱, …) or else whose cells look most like
    /// addresses. Every row is written back in order, blank ones too, with the columns
    /// mailvet_verdict, mailvet_reasons, mailvet_suggestion, mailvet_score and
    /// mailvet_duplicate_of (a column of that name already there is overwritten); CSV cells that
    /// a spreadsheet would run as formulas get a leading '.
    #[arg(long, value_name = "C", conflicts_with = "addresses")]
    column: Option<String>,

    /// Also write the rows of each verdict to DIR/valid.csv, risky.csv, invalid.csv and
    /// unknown.csv, and the counts to DIR/summary.json (shaped like the Worker's job object).
    #[arg(long, value_name = "DIR", conflicts_with = "addresses")]
    split: Option<PathBuf>,

    /// Go on from where a stopped run left the --output file of a list: its complete rows stay
    /// (a row cut off by the stop is dropped), the rows of the list they cover are not checked
    /// again, and the rest are appended; --split files are written again from them.
    #[arg(long, requires = "output")]
    resume: bool,

    /// The encoding of the list: utf-8 (the default; UTF-16 is recognised by its byte order
    /// mark), or another WHATWG name such as big5, gbk, shift_jis or windows-1252.
    #[arg(long, value_name = "NAME", conflicts_with = "addresses")]
    encoding: Option<String>,

    /// Write the reports to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Check syntax and the lists only: no network at all.
    #[arg(long)]
    syntax_only: bool,

    /// Do not ask mail servers about mailboxes: the mailbox layer is reported as skipped
    /// ("disabled"), and a `valid` rests on syntax, the lists and DNS.
    #[arg(long)]
    no_smtp: bool,

    #[command(flatten)]
    dns: DnsArgs,

    /// How many addresses are checked at once (and so how many SMTP sessions may be open).
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=4096))]
    concurrency: u16,

    /// Output format. Default: by the --output file's name (.csv, .jsonl); else a list (see
    /// --column) comes back as its CSV rows, and other input as a table on a terminal and jsonl
    /// elsewhere. A list with jsonl is one object per row (row, columns, duplicate_of, report);
    /// with table, one line per address.
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

    #[command(flatten)]
    probe: ProbeArgs,
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

/// `--resume`: keeps the complete rows of the output at `path` and feeds them to `split`;
/// returns how many data rows are done (`None`: start afresh).
fn resume(
    path: &Path,
    list: &ListSource,
    format: Format,
    mut split: Option<&mut Split>,
) -> Result<Option<u64>, Failure> {
    let csv = match format {
        Format::Csv => Some(list.dialect.delimiter()),
        Format::Jsonl if split.is_none() => None,
        _ => {
            return Err(Failure(
                "--resume goes on with CSV or JSON lines, and with --split only with CSV"
                    .to_owned(),
            ));
        }
    };
    let mut header = true;
    list::resume_point(path, csv, |fields| {
        if std::mem::take(&mut header) {
            return Ok(());
        }
        match split.as_deref_mut() {
            Some(split) => split.add_written(&fields, list.layout.column),
            None => Ok(()),
        }
    })
}

/// How to read a list (see [`ListSource`]).
#[derive(Clone, Copy)]
struct ListArgs<'a> {
    column: Option<&'a str>,
    encoding: Option<&'static encoding_rs::Encoding>,
    /// One address per line, no columns.
    lines: bool,
}

/// The output format a file's name asks for.
fn format_of(path: &Path) -> Option<Format> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "csv" | "tsv" => Some(Format::Csv),
        "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
        _ => None,
    }
}

/// What every input is checked against.
#[derive(Debug)]
struct Checker {
    lists: Lists,
    policy: Policy,
    memo: Memo,
}

impl Checker {
    /// `--syntax-only`: syntax and the lists, of an input that may not be text, in the memory
    /// of a report written already (or of none: `Spare::default()`).
    fn syntax_only_reusing(&self, input: Result<&str, &[u8]>, spare: Spare) -> Report {
        let check = match input.or_else(|bytes| std::str::from_utf8(bytes).map_err(|_| bytes)) {
            Ok(text) => Check::with_memo_reusing(text, &self.lists, &self.memo, spare),
            Err(bytes) => Check::from_bytes(bytes, &self.lists),
        };
        check.syntax_only().finish(&self.policy)
    }

    /// [`Checker::syntax_only_reusing`] of every input of a batch, each with its row, in the
    /// memory of `spares` while there are any.
    fn reports(&self, inputs: &mut Inputs, first: bool, spares: &mut Vec<Spare>) -> Checked {
        let mut reports = Vec::new();
        each_input(inputs, first, |input, row| {
            let spare = spares.pop().unwrap_or_default();
            reports.push((row, self.syntax_only_reusing(input, spare)));
        });
        Checked::Reports(reports)
    }

    /// [`Checker::syntax_only_reusing`] of every input of a batch as JSON lines, added to
    /// `lines`.
    fn json_lines(&self, inputs: &mut Inputs, first: bool, mut lines: Vec<u8>) -> Checked {
        // Room for the lines at once rather than by doubling, each copying all before it.
        lines.reserve(match inputs {
            Inputs::Block(block) => JSON_PER_INPUT_BYTE * block.len(),
            Inputs::Items(items) => JSON_PER_ITEM * items.len(),
        });
        let (mut worst, mut count) = (None, 0);
        // Each report is written and then lends its memory to the next check.
        let mut spare = Spare::default();
        each_input(inputs, first, |input, _| {
            let report = self.syntax_only_reusing(input, std::mem::take(&mut spare));
            worst = worst.max(Some(report.verdict));
            count += 1;
            json_line(&mut lines, &report);
            spare = report.into_spare();
        });
        Checked::Json {
            lines,
            worst,
            count,
        }
    }

    /// The check of one input, text or not.
    fn start(&self, input: &Input) -> Check<'_> {
        match input {
            Input::Text(text) => Check::with_memo(text, &self.lists, &self.memo),
            Input::NotUtf8(bytes) => Check::from_bytes(bytes, &self.lists),
        }
    }

    /// The report of `input` at once, when nothing it needs has to be waited for: DNS is not
    /// needed or [`Resolver::kept_route`] has the route, and there is no mailbox to probe. Else
    /// `input` back, for [`Checker::with_dns`]. A list asks for the same domains again and
    /// again: most of its inputs are ready, and a task for each (woken, and waking the writer)
    /// cost more than checking them.
    fn ready(
        &self,
        input: Input,
        reuses: bool,
        resolver: &Resolver,
        prober: Option<&Prober>,
    ) -> Result<Report, Input> {
        if reuses {
            return Ok(self.start(&input).syntax_only().finish(&self.policy));
        }
        let mut check = self.start(&input);
        if let Some(name) = check.dns_name() {
            let kept = resolver.kept_route(name);
            let Some(found) = kept.as_ref().and_then(KeptRoute::route) else {
                return Err(input);
            };
            check = check.with_dns(found);
        }
        if to_probe(&check, prober).is_some() {
            return Err(input);
        }
        Ok(unprobed(check).finish(&self.policy))
    }

    /// Syntax, the lists, DNS and, with a prober, the mailbox.
    async fn with_dns(&self, input: Input, resolver: &Resolver, prober: Option<&Prober>) -> Report {
        let mut check = self.start(&input);
        let mut route = None;
        if let Some(name) = check.dns_name().map(str::to_owned) {
            let found = resolver.route(&name).await;
            check = check.with_dns(&found);
            route = Some(found);
        }
        let asked = to_probe(&check, prober).map(|(prober, address)| {
            let hosts = match (address.address_literal(), &route) {
                (Some(ip), _) => vec![MailHost::literal(ip, address.domain())],
                (None, Some(MailRoute::Hosts(hosts))) => MailHost::from_route(hosts),
                (None, _) => Vec::new(),
            };
            (prober, Mailbox::new(address), hosts)
        });
        check = match asked {
            Some((prober, mailbox, hosts)) => {
                check.with_mailbox(prober.probe(mailbox, hosts).await)
            }
            None => unprobed(check),
        };
        check.finish(&self.policy)
    }
}

/// The prober and the address, when `check` wants its mailbox probed and both are there.
fn to_probe<'c, 'p>(
    check: &'c Check<'_>,
    prober: Option<&'p Prober>,
) -> Option<(&'p Prober, &'c Address)> {
    prober
        .zip(check.address())
        .filter(|_| check.wants_mailbox())
}

/// `check` when its mailbox is not probed ([`to_probe`] gave nothing): a mailbox it wants is
/// skipped as disabled.
fn unprobed(check: Check<'_>) -> Check<'_> {
    if check.wants_mailbox() {
        check.skip_mailbox(Skipped::Disabled)
    } else {
        check
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
    let checker = Checker {
        lists,
        policy,
        memo: Memo::default(),
    };
    // A file named like a CSV is a list; so is any input with --column, --split or --encoding.
    let csv_file = args.input.as_deref().and_then(format_of) == Some(Format::Csv);
    let encoding = args.encoding.as_deref().map(list::encoding).transpose()?;
    let list = (csv_file || args.column.is_some() || args.split.is_some() || encoding.is_some())
        .then(|| ListArgs {
            column: args.column.as_deref(),
            encoding,
            lines: !csv_file && args.column.is_none(),
        });
    let checks = if args.syntax_only {
        "syntax"
    } else if args.no_smtp {
        "dns"
    } else {
        "smtp"
    };

    let concurrency = usize::from(args.concurrency);
    let mode = if args.syntax_only {
        Mode::SyntaxOnly
    } else {
        let resolver = Arc::new(args.dns.resolver()?);
        let prober = if args.no_smtp {
            None
        } else {
            let config = args.probe.config(concurrency)?;
            Some(Prober::new(
                config,
                Arc::clone(&resolver),
                Arc::new(Metrics::default()),
            )?)
        };
        Mode::Dns {
            resolver,
            prober,
            concurrency,
        }
    };
    // Counting the inputs of a file is a pass over all of it: only for a progress bar.
    let count = Progress::shown(args.output.is_none() && io::stdout().is_terminal());
    let (mut source, total) = Source::open(args.addresses, args.input.as_deref(), list, count)?;
    let terminal = args.output.is_none() && io::stdout().is_terminal();
    // A list comes back as a list (CSV) unless the output's name or --format says otherwise.
    let by_name = args.output.as_deref().and_then(format_of);
    let format = args
        .format
        .or(by_name)
        .unwrap_or(if source.list().is_some() {
            Format::Csv
        } else if terminal {
            Format::Table
        } else {
            Format::Jsonl
        });
    let mut split = match (&args.split, source.list()) {
        (Some(dir), Some(list)) => Some(Split::create(dir, list, checks)?),
        _ => None,
    };
    // `--resume`: the rows a stopped run completed stay, and their inputs are passed over.
    let done = match (&args.output, &mut source) {
        (Some(path), Source::List(list)) if args.resume => {
            let done = resume(path, list, format, split.as_mut())?;
            if let Some(done) = done {
                list.skip(done)?;
            }
            done
        }
        _ if args.resume => {
            return Err(Failure(
                "--resume goes on with a list (see --column) written to --output".to_owned(),
            ));
        }
        _ => None,
    };
    let total = total.map(|total| total - done.unwrap_or(0));

    let out: Box<dyn Write> = match &args.output {
        Some(path) => {
            let file = if done.is_some() {
                std::fs::OpenOptions::new().append(true).open(path)
            } else {
                File::create(path)
            };
            let file = file.map_err(|e| {
                Failure(format!(
                    "cannot create the output file {}: {e}",
                    path.display()
                ))
            })?;
            Box::new(file)
        }
        None => Box::new(io::stdout().lock()),
    };
    // https://no-color.org: any non-empty NO_COLOR turns colour off.
    let color = terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let out = io::BufWriter::with_capacity(1 << 16, out);
    let fresh = done.is_none();
    let output = match (source.list(), format) {
        (Some(list), Format::Csv) => {
            let delimiter = list.dialect.delimiter();
            Output::rows(out, &list.header, delimiter, list.bom, fresh)
        }
        (Some(list), Format::Jsonl) => Ok(Output::json_rows(out, &list.header)),
        _ => Output::new(format, out, color),
    };
    let progress = Progress::new(total, terminal);
    let written = output
        .map_err(write_failure)
        .and_then(|output| write_reports(checker, mode, source, output, split, &progress));
    progress.finish();
    let worst = match written {
        Ok((worst, split)) => {
            if let Some(split) = split {
                let name = args
                    .input
                    .as_deref()
                    .and_then(Path::file_name)
                    .map_or_else(|| "stdin".to_owned(), |n| n.to_string_lossy().into_owned());
                split.finish(&name)?;
            }
            worst
        }
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
        resolver: Arc<Resolver>,
        prober: Option<Prober>,
        concurrency: usize,
    },
}

/// Writes every report and returns the worst verdict, `None` when there was no input, and the
/// split files to finish.
fn write_reports<W: Write>(
    checker: Checker,
    mode: Mode,
    source: Source,
    output: Output<W>,
    split: Option<Split>,
    progress: &Progress,
) -> Result<(Option<Verdict>, Option<Split>), Stop> {
    let mut sink = Sink {
        out: output,
        worst: None,
        progress,
        kept: HashMap::new(),
        split,
    };
    match mode {
        Mode::SyntaxOnly => {
            let json = sink.out.takes_json_lines();
            run_syntax_only(&checker, source, json, &mut sink)?;
        }
        Mode::Dns {
            resolver,
            prober,
            concurrency,
        } => run_with_dns(checker, resolver, prober, concurrency, source, &mut sink)?,
    }
    sink.flush()?;
    Ok((sink.worst, sink.split))
}

fn read_policy(path: &Path) -> Result<Policy, Failure> {
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
    Stop::Failed(Failure(format!("reading the input: {e}")))
}

struct Sink<'a, W: Write> {
    out: Output<W>,
    /// The worst verdict so far, for `--fail-on`.
    worst: Option<Verdict>,
    progress: &'a Progress,
    /// Reports of rows whose address later rows repeat, by row, with how many rows are still
    /// to take them.
    kept: HashMap<u64, (Report, u32)>,
    split: Option<Split>,
}

impl<W: Write> Sink<'_, W> {
    /// Writes the report of an input, with its row when it came from a list: a row that repeats
    /// an earlier one's address gets that one's report.
    fn write(&mut self, row: Option<&ListRow>, report: &Report) -> Result<(), Stop> {
        let Some(row) = row else {
            self.worst = self.worst.max(Some(report.verdict));
            self.progress.inc();
            return self.out.write(report).map_err(write_failure);
        };
        let first = row.duplicate_of.filter(|_| row.reuses).and_then(|first| {
            match self.kept.get_mut(&first) {
                Some((report, left)) if *left > 1 => {
                    *left -= 1;
                    Some(report.clone())
                }
                _ => self.kept.remove(&first).map(|(report, _)| report),
            }
        });
        // The first row's result, under this row's own input.
        let first = first.map(|mut first| {
            first.input.clone_from(&report.input);
            first
        });
        let report = first.as_ref().unwrap_or(report);
        if row.repeats > 0 {
            self.kept.insert(row.number, (report.clone(), row.repeats));
        }
        self.worst = self.worst.max(Some(report.verdict));
        self.progress.inc();
        if let Some(split) = &mut self.split {
            split.write(row, report).map_err(write_failure)?;
        }
        self.out.write_row(row, report).map_err(write_failure)
    }

    /// Writes the JSON lines of `count` reports whose worst verdict is `worst`.
    fn write_json(&mut self, lines: &[u8], worst: Option<Verdict>, count: u64) -> Result<(), Stop> {
        self.worst = self.worst.max(worst);
        self.progress.inc_by(count);
        self.out.write_json_lines(lines).map_err(write_failure)
    }

    fn flush(&mut self) -> Result<(), Stop> {
        if let Some(split) = &mut self.split {
            split.flush().map_err(write_failure)?;
        }
        self.out.flush().map_err(write_failure)
    }
}

/// `--split`: the rows of each verdict in a file of their own, and the tally.
struct Split {
    dir: PathBuf,
    /// By [`Verdict`]: valid, unknown, risky, invalid.
    files: [Output<io::BufWriter<File>>; 4],
    tally: Tally,
    checks: &'static str,
    started: std::time::SystemTime,
}

impl Split {
    fn create(dir: &Path, list: &ListSource, checks: &'static str) -> Result<Split, Failure> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure(format!("cannot create {}: {e}", dir.display())))?;
        let open = |verdict: Verdict| {
            let path = dir.join(format!("{verdict}.csv"));
            let file = File::create(&path)
                .map_err(|e| Failure(format!("cannot create {}: {e}", path.display())))?;
            let delimiter = list.dialect.delimiter();
            Output::rows(
                io::BufWriter::new(file),
                &list.header,
                delimiter,
                list.bom,
                true,
            )
            .map_err(|e| Failure(format!("writing {}: {e}", path.display())))
        };
        Ok(Split {
            dir: dir.to_owned(),
            files: [
                open(Verdict::Valid)?,
                open(Verdict::Unknown)?,
                open(Verdict::Risky)?,
                open(Verdict::Invalid)?,
            ],
            tally: Tally::default(),
            checks,
            started: std::time::SystemTime::now(),
        })
    }

    /// Takes a row that a stopped run wrote to the output (`--resume`); `column` holds the
    /// address.
    fn add_written(&mut self, fields: &[String], column: usize) -> Result<(), Failure> {
        let Some(at) = self.files[0].appended_at() else {
            return Ok(());
        };
        let cells: Vec<&str> = at
            .iter()
            .map(|&i| fields.get(i).map_or("", String::as_str))
            .collect();
        let input = table::unguard(fields.get(column).map_or("", String::as_str));
        let file = match cells[0] {
            "valid" => 0,
            "unknown" => 1,
            "risky" => 2,
            "invalid" => 3,
            _ => 4,
        };
        if file == 4 || !self.tally.add_written(input, &cells) {
            return Err(Failure(
                "--resume: the output file has rows that mailvet did not write".to_owned(),
            ));
        }
        self.files[file]
            .write_written(fields)
            .map_err(|e| Failure(format!("writing {}: {e}", self.dir.display())))
    }

    fn write(&mut self, row: &ListRow, report: &Report) -> io::Result<()> {
        self.tally.add(report, row.duplicate_of.is_some());
        self.files[report.verdict as usize].write_row(row, report)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.files.iter_mut().try_for_each(Output::flush)
    }

    /// Writes `summary.json`, shaped like the Worker's job object.
    fn finish(mut self, name: &str) -> Result<(), Failure> {
        self.flush()
            .map_err(|e| Failure(format!("writing {}: {e}", self.dir.display())))?;
        let summary = self.tally.summary();
        let unix = |t: std::time::SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        };
        let finished = unix(std::time::SystemTime::now());
        let job = serde_json::json!({
            "id": null,
            "name": name,
            "status": "completed",
            "checks": self.checks,
            "total_rows": summary.total_rows,
            "unique_addresses": summary.unique_addresses,
            "duplicates": summary.duplicates,
            "processed": summary.total_rows,
            "percent": 100,
            "counts": summary.counts,
            "reasons": summary.reasons,
            "top_domains": summary.top_domains,
            "created_at": table::timestamp(unix(self.started)),
            "started_at": table::timestamp(unix(self.started)),
            "finished_at": table::timestamp(finished),
            "eta_seconds": 0,
            "error": null,
        });
        let path = self.dir.join("summary.json");
        let mut text = serde_json::to_string_pretty(&job).map_err(|e| Failure(e.to_string()))?;
        text.push('\n');
        std::fs::write(&path, text)
            .map_err(|e| Failure(format!("cannot write {}: {e}", path.display())))
    }
}

/// One input, and its row when it came from a list.
struct Item {
    input: Input,
    row: Option<ListRow>,
}

enum Source {
    Args(Vec<OsString>),
    /// One address per line.
    Lines(Box<dyn Read + Send>),
    Stdin,
    List(Box<ListSource>),
}

impl Source {
    /// The inputs, and how many there are when that is known without reading standard input
    /// and `count` asks for it (a file is then read twice).
    fn open(
        args: Vec<OsString>,
        file: Option<&Path>,
        list: Option<ListArgs<'_>>,
        count: bool,
    ) -> Result<(Source, Option<u64>), Failure> {
        let open = |path: &Path| {
            File::open(path).map_err(|e| {
                Failure(format!(
                    "cannot read the input file {}: {e}",
                    path.display()
                ))
            })
        };
        if let Some(list) = list {
            let start = |read: Box<dyn Read + Send>| {
                ListSource::open(list::decoded(read, list.encoding)?, list.column, list.lines)
            };
            return match file {
                // A file is read twice: first for the addresses that recur (and the count).
                Some(path) => {
                    let source = start(Box::new(open(path)?))?;
                    let source = source.with_recurring(start(Box::new(open(path)?))?)?;
                    let total = source.total();
                    Ok((Source::List(Box::new(source)), total))
                }
                None => Ok((Source::List(Box::new(start(Box::new(io::stdin()))?)), None)),
            };
        }
        if let Some(path) = file {
            let read = open(path)?;
            let total = count
                .then(|| {
                    count_lines(open(path)?).map_err(|e| {
                        Failure(format!(
                            "cannot read the input file {}: {e}",
                            path.display()
                        ))
                    })
                })
                .transpose()?;
            return Ok((Source::Lines(Box::new(read)), total));
        }
        if args.is_empty() {
            Ok((Source::Stdin, None))
        } else {
            let total = args.len() as u64;
            Ok((Source::Args(args), Some(total)))
        }
    }

    /// The CSV header, when the input is CSV.
    fn list(&self) -> Option<&ListSource> {
        match self {
            Source::List(list) => Some(list),
            _ => None,
        }
    }

    /// Feeds every input to `each` in order, stopping at the first error. `each` is told
    /// whether reading the next input may wait, so that it can flush what it has.
    fn for_each(self, mut each: impl FnMut(Item, bool) -> Result<(), Stop>) -> Result<(), Stop> {
        let text = |input| Item { input, row: None };
        match self {
            Source::Args(args) => {
                let count = args.len();
                for (i, arg) in args.into_iter().enumerate() {
                    each(text(Input::from_arg(arg)), i + 1 == count)?;
                }
                Ok(())
            }
            Source::Lines(read) => each_line(
                BufReader::with_capacity(1 << 16, read),
                |input, may_wait| each(text(input), may_wait),
            ),
            Source::Stdin => each_line(
                BufReader::with_capacity(1 << 16, io::stdin().lock()),
                |input, may_wait| each(text(input), may_wait),
            ),
            Source::List(mut list) => {
                while let Some((input, row)) = list.next_row().map_err(Stop::Failed)? {
                    let item = Item {
                        input: Input::Text(input),
                        row: Some(row),
                    };
                    each(item, false)?;
                }
                Ok(())
            }
        }
    }
}

fn each_line<R: Read>(
    reader: BufReader<R>,
    mut each: impl FnMut(Input, bool) -> Result<(), Stop>,
) -> Result<(), Stop> {
    let mut lines = Lines::new(reader);
    while let Some(line) = lines.next_line().map_err(read_failure)? {
        let may_wait = lines.get_ref().buffer().is_empty();
        each(Input::from_bytes(line), may_wait)?;
    }
    Ok(())
}

/// The lines of a file as [`Lines`] counts them, for the progress bar.
fn count_lines(file: File) -> io::Result<u64> {
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut count = 0;
    let mut last = b'\n';
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        count += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        last = chunk[chunk.len() - 1];
        let used = chunk.len();
        reader.consume(used);
    }
    Ok(if last == b'\n' { count } else { count + 1 })
}

/// How many bytes of input the reader of `--syntax-only` hands on at a time, in whole lines:
/// about a thousand addresses, so that handing them from thread to thread costs little next to
/// checking them.
const BLOCK: usize = 1 << 15;

/// Bytes of JSON lines to make room for per byte of a block of lines: a report of syntax and
/// lists is a little over 300 bytes, an address in a list some 25 (more is grown into).
const JSON_PER_INPUT_BYTE: usize = 16;

/// Bytes of JSON lines to make room for per input that comes alone.
const JSON_PER_ITEM: usize = 400;

/// How many inputs a thread checks at a time with `--syntax-only` when they come one by one
/// (arguments, CSV records) rather than in blocks of lines, and how many the reader hands on at
/// a time with DNS.
const BATCH: usize = 256;

/// Inputs on their way to be checked, numbered so that their reports are written in order.
struct Batch<T> {
    number: u64,
    items: T,
    /// Reading the next input may wait: write what there is.
    flush: bool,
}

/// What the reader hands to a checking thread.
enum Inputs {
    /// Whole lines of a stream ([`block_lines`]), split where they are checked: the reader
    /// does nothing per line.
    Block(Vec<u8>),
    Items(Vec<Item>),
}

/// What a checking thread hands to the writer.
enum Checked {
    /// The reports as JSON lines, written by the checking thread so that the writer only copies
    /// bytes; with the worst verdict among them and how many there are.
    Json {
        lines: Vec<u8>,
        worst: Option<Verdict>,
        count: u64,
    },
    Reports(Vec<(Option<ListRow>, Report)>),
}

/// The lines of a block as [`Lines`] reads them: without their `\n` or `\r\n`; a last line
/// without a terminator is still a line. `first`: the block starts the stream, and its first
/// line loses a byte order mark.
fn block_lines(block: &[u8], first: bool) -> impl Iterator<Item = Range<usize>> {
    let mut at = 0;
    let mut bom = first;
    std::iter::from_fn(move || {
        if at == block.len() {
            return None;
        }
        let (mut start, mut end) = (at, block.len());
        match block[at..].iter().position(|&b| b == b'\n') {
            Some(i) => {
                end = at + i;
                at = end + 1;
                if end > start && block[end - 1] == b'\r' {
                    end -= 1;
                }
            }
            None => at = block.len(),
        }
        if std::mem::take(&mut bom) && block[start..end].starts_with(BOM) {
            start += BOM.len();
        }
        Some(start..end)
    })
}

/// Each input of a batch, as text when it is UTF-8 and as bytes when not, with its row when
/// it came from a CSV file.
fn each_input(
    inputs: &mut Inputs,
    first: bool,
    mut each: impl FnMut(Result<&str, &[u8]>, Option<ListRow>),
) {
    match inputs {
        Inputs::Block(block) => {
            // The whole block is checked for UTF-8 at once, several bytes a step, rather than
            // each short line apart; a line of a block that is not UTF-8 is checked alone.
            let text = std::str::from_utf8(block).ok();
            for range in block_lines(block, first) {
                match text.and_then(|text| text.get(range.clone())) {
                    Some(line) => each(Ok(line), None),
                    None => each(Err(&block[range]), None),
                }
            }
        }
        Inputs::Items(items) => {
            for item in items {
                let input = match &item.input {
                    Input::Text(text) => Ok(text.as_str()),
                    Input::NotUtf8(bytes) => Err(bytes.as_slice()),
                };
                each(input, item.row.take());
            }
        }
    }
}

/// Reads `read` in blocks of whole lines and hands each to `each`, which is told whether
/// reading on may wait. A block is handed on when it is full, or early when the source had no
/// more to give at once (someone typing), so that each report shows at once.
fn read_blocks(
    mut read: Box<dyn Read + '_>,
    spent: &std::sync::mpsc::Receiver<Inputs>,
    mut each: impl FnMut(Vec<u8>, bool) -> Result<(), Stop>,
) -> Result<(), Stop> {
    // `block[..filled]` is read; the rest is room to read into.
    let mut block = Vec::new();
    let mut filled = 0;
    loop {
        // Room for a block, or more while a line is longer than that.
        let size = (filled + BLOCK / 2).max(BLOCK);
        if block.len() < size {
            block.resize(size, 0);
        }
        let n = loop {
            match read.read(&mut block[filled..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(read_failure(e)),
            }
        };
        let start = filled;
        filled += n;
        if n == 0 {
            block.truncate(filled);
            return if block.is_empty() {
                Ok(())
            } else {
                each(block, true)
            };
        }
        let may_wait = filled < block.len();
        // A block is handed on as soon as it holds a line end: none before what was just read.
        let Some(end) = block[start..filled].iter().rposition(|&b| b == b'\n') else {
            continue;
        };
        let end = start + end;
        // Blocks come back from the checking threads to be filled again: memory freed by the
        // thread that allocated it costs the allocator less.
        let mut next = Vec::new();
        while let Ok(used) = spent.try_recv() {
            if let Inputs::Block(used) = used {
                next = used;
            }
        }
        next.clear();
        next.extend_from_slice(&block[end + 1..filled]);
        filled = next.len();
        block.truncate(end + 1);
        each(std::mem::replace(&mut block, next), may_wait)?;
    }
}

/// `--syntax-only`: one thread reads, one per core checks batches of inputs, and this one
/// writes the reports in input order. A batch is handed on early when reading the next input
/// may wait, so that someone typing addresses sees each report at once. With `json`, the
/// checking threads write the JSON lines themselves.
fn run_syntax_only<W: Write>(
    checker: &Checker,
    source: Source,
    json: bool,
    sink: &mut Sink<W>,
) -> Result<(), Stop> {
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    std::thread::scope(|scope| {
        let (to_check, inputs) = std::sync::mpsc::sync_channel::<Batch<Inputs>>(2 * workers);
        let (checked, reports) = std::sync::mpsc::sync_channel(2 * workers);
        // Checked inputs go back to the reader, which allocated them, as reports go back to
        // their workers below; and so do the rows of a list, once written.
        let (used, to_free) = std::sync::mpsc::channel::<Inputs>();
        let (rows_written, rows_to_free) = std::sync::mpsc::channel::<Vec<ListRow>>();
        // Shared by the checking threads only: when they are gone, the reader's next send fails.
        let inputs = Arc::new(Mutex::new(inputs));
        // Written reports go back to the thread that made them: memory freed by the thread
        // that allocated it costs the allocator (and so the whole run) much less.
        let mut spent = Vec::with_capacity(workers);
        for worker in 0..workers {
            let (inputs, checked, used) = (Arc::clone(&inputs), checked.clone(), used.clone());
            let (give_back, written) = std::sync::mpsc::channel::<Checked>();
            spent.push(give_back);
            scope.spawn(move || {
                // The memory of reports written, for the next ones (at most a few batches').
                let mut spares = Vec::new();
                loop {
                    // JSON buffers and reports are filled again.
                    let mut lines = Vec::new();
                    while let Ok(back) = written.try_recv() {
                        match back {
                            Checked::Json { lines: back, .. } => lines = back,
                            Checked::Reports(reports) => {
                                let room = (4 * BATCH).saturating_sub(spares.len());
                                let reports = reports.into_iter().take(room);
                                spares.extend(reports.map(|(_, report)| report.into_spare()));
                            }
                        }
                    }
                    let batch = inputs.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    let Ok(Batch {
                        number,
                        items,
                        flush,
                    }) = batch
                    else {
                        return;
                    };
                    let mut items = items;
                    let done = if json {
                        lines.clear();
                        checker.json_lines(&mut items, number == 0, lines)
                    } else {
                        checker.reports(&mut items, number == 0, &mut spares)
                    };
                    let _ = used.send(items);
                    let batch = Batch {
                        number,
                        items: done,
                        flush,
                    };
                    if checked.send((worker, batch)).is_err() {
                        return;
                    }
                }
            });
        }
        drop((checked, inputs, used));
        let reader = scope.spawn(move || {
            let mut number = 0;
            let mut send = |inputs, flush| {
                let batch = Batch {
                    number,
                    items: inputs,
                    flush,
                };
                number += 1;
                to_check.send(batch).map_err(|_| Stop::Closed)
            };
            let mut blocks = |read| {
                read_blocks(read, &to_free, |block, may_wait| {
                    send(Inputs::Block(block), may_wait)
                })
            };
            match source {
                Source::Lines(read) => blocks(read),
                Source::Stdin => blocks(Box::new(io::stdin().lock())),
                source => {
                    let mut items = Vec::with_capacity(BATCH);
                    let fed = source.for_each(|item, may_wait| {
                        items.push(item);
                        if items.len() == BATCH || may_wait {
                            while to_free.try_recv().is_ok() {}
                            while rows_to_free.try_recv().is_ok() {}
                            let full = std::mem::replace(&mut items, Vec::with_capacity(BATCH));
                            send(Inputs::Items(full), may_wait)?;
                        }
                        Ok(())
                    });
                    if !items.is_empty() {
                        let _ = send(Inputs::Items(items), true);
                    }
                    fed
                }
            }
        });
        let mut next = 0;
        let mut early = std::collections::BTreeMap::new();
        for (worker, batch) in reports {
            early.insert(batch.number, (worker, batch));
            while let Some((worker, batch)) = early.remove(&next) {
                match &batch.items {
                    Checked::Json {
                        lines,
                        worst,
                        count,
                    } => sink.write_json(lines, *worst, *count)?,
                    Checked::Reports(reports) => {
                        for (row, report) in reports {
                            sink.write(row.as_ref(), report)?;
                        }
                    }
                }
                if batch.flush {
                    sink.flush()?;
                }
                next += 1;
                let mut items = batch.items;
                if let Checked::Reports(reports) = &mut items {
                    let rows = reports
                        .iter_mut()
                        .filter_map(|(row, _)| row.take())
                        .collect();
                    let _ = rows_written.send(rows);
                }
                // A worker that is gone has nothing left to free: the batch is dropped here.
                let _ = spent[worker].send(items);
            }
        }
        // `Closed` only when this thread stopped taking reports, which it did not.
        reader.join().map_err(|_| internal())?
    })
}

/// What every check task shares.
struct Shared {
    checker: Checker,
    resolver: Arc<Resolver>,
    prober: Option<Prober>,
}

type Pending = VecDeque<(Option<ListRow>, Pend)>;

/// A report on its way: made at once ([`Checker::ready`]; `None` once taken), or by a task.
#[expect(
    clippy::large_enum_variant,
    reason = "at most --concurrency of them wait; a box would cost an allocation per input"
)]
enum Pend {
    Ready(Option<Report>),
    Task(tokio::task::JoinHandle<Report>),
}

impl Pend {
    fn is_finished(&self) -> bool {
        match self {
            Pend::Ready(_) => true,
            Pend::Task(task) => task.is_finished(),
        }
    }

    /// The report; `None` when the task failed (or the report was taken already).
    async fn report(&mut self) -> Option<Report> {
        match self {
            Pend::Ready(report) => report.take(),
            Pend::Task(task) => task.await.ok(),
        }
    }
}

fn run_with_dns<W: Write>(
    checker: Checker,
    resolver: Arc<Resolver>,
    prober: Option<Prober>,
    concurrency: usize,
    source: Source,
    sink: &mut Sink<'_, W>,
) -> Result<(), Stop> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Stop::Failed(Failure(format!("starting the async runtime: {e}"))))?;
    let shared = Arc::new(Shared {
        checker,
        resolver,
        prober,
    });
    let (sender, mut receiver) =
        mpsc::channel::<Result<Vec<Item>, Stop>>(concurrency.div_ceil(BATCH).max(1));
    // The reader blocks on its input, so it gets a thread of its own. It hands the inputs on in
    // batches (one wake-up each, not one per input), a batch early when reading the next input
    // may wait; the channel's bound holds it back while about `concurrency` inputs wait.
    std::thread::spawn(move || {
        let mut items = Vec::with_capacity(BATCH);
        let fed = source.for_each(|item, may_wait| {
            items.push(item);
            if items.len() == BATCH || may_wait {
                let full = std::mem::replace(&mut items, Vec::with_capacity(BATCH));
                sender.blocking_send(Ok(full)).map_err(|_| Stop::Closed)?;
            }
            Ok(())
        });
        if !matches!(fed, Err(Stop::Closed)) && !items.is_empty() {
            let _ = sender.blocking_send(Ok(items));
        }
        if let Err(Stop::Failed(failure)) = fed {
            let _ = sender.blocking_send(Err(Stop::Failed(failure)));
        }
    });
    let written = runtime.block_on(async move {
        let mut pending: Pending = VecDeque::with_capacity(concurrency);
        // Inputs received and not yet started.
        let mut queued = VecDeque::with_capacity(BATCH);
        let mut reading = true;
        loop {
            while pending.front().is_some_and(|(_, report)| report.is_finished()) {
                if let Some((row, mut report)) = pending.pop_front() {
                    sink.write(row.as_ref(), &report.report().await.ok_or_else(internal)?)?;
                }
            }
            if pending.len() < concurrency {
                if let Some(item) = queued.pop_front() {
                    pending.push_back(spawn_check(&shared, item));
                    continue;
                }
                if reading {
                    match receiver.try_recv() {
                        Ok(items) => {
                            queued.extend(items?);
                            continue;
                        }
                        Err(TryRecvError::Disconnected) => reading = false,
                        Err(TryRecvError::Empty) => {}
                    }
                }
            }
            if !reading && queued.is_empty() && pending.is_empty() {
                if let Some(prober) = &shared.prober {
                    sink.flush()?;
                    prober.finish().await;
                }
                return Ok(());
            }
            // Nothing more can be written or started without waiting.
            sink.flush()?;
            let room = reading && queued.is_empty() && pending.len() < concurrency;
            tokio::select! {
                received = receiver.recv(), if room => match received {
                    Some(items) => queued.extend(items?),
                    None => reading = false,
                },
                // `None` only when the task failed: the guard makes sure there is one.
                finished = async { pending.front_mut()?.1.report().await }, if !pending.is_empty() => {
                    if let Some((row, _)) = pending.pop_front() {
                        sink.write(row.as_ref(), &finished.ok_or_else(internal)?)?;
                    }
                }
            }
        }
    });
    // A look-up still running (the system resolver finding a DoH server's address) or a QUIT
    // waiting for its reply is not waited for: every report is written.
    runtime.shutdown_background();
    written
}

/// The report of `item` at once when it is ready ([`Checker::ready`]), else a task for it.
fn spawn_check(shared: &Arc<Shared>, item: Item) -> (Option<ListRow>, Pend) {
    let Item { input, row } = item;
    // A row that takes an earlier row's report needs no checking of its own.
    let reuses = row.as_ref().is_some_and(|r| r.reuses);
    let prober = shared.prober.as_ref();
    let input = match shared
        .checker
        .ready(input, reuses, &shared.resolver, prober)
    {
        Ok(report) => return (row, Pend::Ready(Some(report))),
        Err(input) => input,
    };
    let shared = Arc::clone(shared);
    let task = tokio::spawn(async move {
        shared
            .checker
            .with_dns(input, &shared.resolver, shared.prober.as_ref())
            .await
    });
    (row, Pend::Task(task))
}

/// A check task ended without a report: the core panicked, which it must never do.
fn internal() -> Stop {
    Stop::Failed(Failure(
        "internal error: checking an address failed unexpectedly".to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream that gives at most `step` bytes at a time, as a pipe or a terminal may.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    #[test]
    fn blocks_of_lines_are_the_lines_read_one_by_one() {
        let long = "x".repeat(3 * BLOCK);
        let streams = [
            &b""[..],
            b"\n",
            BOM,
            b"\xEF\xBB\xBF\n",
            b"\xEF\xBB\xBFa@b.c\r\nx\ry\n\r\n\nlast",
            b"a\r",
            b"one\n",
            b"\xEF\xBB\xBFd@e.f\n\xEF\xBB\xBFd@e.f",
            format!("{long}\nshort\r\n{long}").leak().as_bytes(),
        ];
        for stream in streams {
            let mut expected = Vec::new();
            let mut lines = Lines::new(stream);
            while let Some(line) = lines.next_line().unwrap() {
                expected.push(line);
            }
            for step in [1, 2, 7, BLOCK - 1, usize::MAX] {
                let (_, spent) = std::sync::mpsc::channel();
                let mut blocks = Vec::new();
                let read = read_blocks(
                    Box::new(Trickle {
                        bytes: stream,
                        step,
                    }),
                    &spent,
                    |b, _| {
                        blocks.push(b);
                        Ok(())
                    },
                );
                assert!(read.is_ok());
                let got: Vec<Vec<u8>> = blocks
                    .iter()
                    .enumerate()
                    .flat_map(|(i, block)| block_lines(block, i == 0).map(|r| block[r].to_vec()))
                    .collect();
                assert_eq!(got, expected, "{step}");
            }
        }
    }
}
