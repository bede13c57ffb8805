//! Reports written as JSON lines, CSV or an aligned table, one line per input as soon as it is
//! decided.

use std::fmt::Write as _;
use std::io::{self, Write};

use clap::ValueEnum;

use crate::list::ListRow;
use mailvet_core::report::{DnsCheck, Report, Skipped, SmtpCheck, Status};
use mailvet_core::table;
use mailvet_core::verdict::{ReasonCode, Verdict};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line: input, address, verdict, reasons, suggestion, score, checks.
    Jsonl,
    /// A header, then input, address, verdict, reasons (codes joined by `;`), suggestion, score
    /// and message (the first reason's sentence).
    Csv,
    /// Aligned columns for people.
    Table,
}

const CSV_HEADER: [&str; 7] = [
    "input",
    "address",
    "verdict",
    "reasons",
    "suggestion",
    "score",
    "message",
];

/// Wide enough for most addresses; a longer one pushes its notes to the right.
const TABLE_INPUT_WIDTH: usize = 32;

#[derive(Debug)]
pub enum Output<W: Write> {
    Jsonl(W),
    Csv(Box<csv::Writer<W>>),
    Table {
        out: W,
        color: bool,
    },
    /// The rows of a list as CSV, each with the columns of [`table::APPENDED_COLUMNS`]
    /// (`mailvet_verdict`, …), written by the core's rules ([`table::write_csv_row`]).
    Rows {
        out: W,
        delimiter: u8,
        layout: table::RowLayout,
    },
    /// The rows of a list as JSON lines ([`table::RowReport`]).
    JsonRows {
        out: W,
        names: Vec<String>,
    },
}

impl<W: Write> Output<W> {
    /// Starts the output, writing the header of the formats that have one. `color` colours the
    /// verdicts of a table.
    pub fn new(format: Format, mut out: W, color: bool) -> io::Result<Self> {
        Ok(match format {
            Format::Jsonl => Output::Jsonl(out),
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                csv.write_record(CSV_HEADER)?;
                Output::Csv(Box::new(csv))
            }
            Format::Table => {
                writeln!(
                    out,
                    "{:<7}  {:>5}  {:<width$}  NOTES",
                    "VERDICT",
                    "SCORE",
                    "INPUT",
                    width = TABLE_INPUT_WIDTH
                )?;
                Output::Table { out, color }
            }
        })
    }

    /// Starts a copy of a list whose rows get the columns of [`table::APPENDED_COLUMNS`];
    /// `header` names the list's columns. A column of that name in the list is overwritten
    /// instead, so that a cleaned list can be cleaned again. `bom`: start with a UTF-8 byte
    /// order mark, for a list that came from a spreadsheet (see [`crate::list::ListSource::bom`]).
    /// `fresh`: a new file, which gets the header (and the byte order mark); else the rows go
    /// on after those a stopped run wrote (`--resume`).
    pub fn rows(
        mut out: W,
        header: &[String],
        delimiter: u8,
        bom: bool,
        fresh: bool,
    ) -> io::Result<Self> {
        if bom && fresh {
            out.write_all(table::BOM)?;
        }
        let layout = table::RowLayout::new(header);
        if fresh {
            let mut line = String::new();
            let names = layout.header().iter().map(String::as_str);
            table::write_csv_row(&mut line, names, delimiter);
            out.write_all(line.as_bytes())?;
        }
        Ok(Output::Rows {
            out,
            delimiter,
            layout,
        })
    }

    /// Where the appended columns are in the rows of a list written as CSV.
    pub fn appended_at(&self) -> Option<[usize; 5]> {
        match self {
            Output::Rows { layout, .. } => Some(layout.appended_at()),
            _ => None,
        }
    }

    /// Writes again a row that an earlier run wrote, as it is (`--resume`, `--split`).
    pub fn write_written(&mut self, fields: &[String]) -> io::Result<()> {
        match self {
            Output::Rows { out, delimiter, .. } => {
                let mut line = String::with_capacity(256);
                table::write_csv_row(&mut line, fields.iter().map(String::as_str), *delimiter);
                out.write_all(line.as_bytes())
            }
            _ => Ok(()),
        }
    }

    /// Starts the rows of a list as JSON lines; `header` names the list's columns.
    pub fn json_rows(out: W, header: &[String]) -> Self {
        Output::JsonRows {
            out,
            names: table::column_names(header),
        }
    }

    /// Writes the report of the address in `row`: for CSV the row as it was (padded to the
    /// header's width), the appended columns, then any fields the row had beyond the header.
    pub fn write_row(&mut self, row: &ListRow, report: &Report) -> io::Result<()> {
        match self {
            Output::Rows {
                out,
                delimiter,
                layout,
            } => {
                let appended = table::appended(report, row.duplicate_of);
                let mut line = String::with_capacity(256);
                table::write_csv_row(&mut line, layout.cells(&row.fields, &appended), *delimiter);
                out.write_all(line.as_bytes())
            }
            Output::JsonRows { out, names } => {
                let line = table::RowReport {
                    row: row.number,
                    columns: table::Columns {
                        names,
                        values: &row.fields,
                    },
                    duplicate_of: row.duplicate_of,
                    report,
                };
                let mut bytes = serde_json::to_vec(&line).map_err(io::Error::other)?;
                bytes.push(b'\n');
                out.write_all(&bytes)
            }
            _ => self.write(report),
        }
    }

    pub fn write(&mut self, report: &Report) -> io::Result<()> {
        match self {
            Output::Jsonl(out) => {
                let mut line = Vec::with_capacity(512);
                json_line(&mut line, report);
                out.write_all(&line)
            }
            Output::Csv(csv) => {
                let reasons: Vec<&str> = report.reasons.iter().map(|r| r.code.as_str()).collect();
                csv.write_record([
                    report.input.as_str(),
                    report.address.as_deref().unwrap_or(""),
                    report.verdict.as_str(),
                    &reasons.join(";"),
                    report.suggestion.as_deref().unwrap_or(""),
                    &report.score.to_string(),
                    report.reasons.first().map_or("", |r| &*r.message),
                ])?;
                Ok(())
            }
            Output::Table { out, color } => writeln!(out, "{}", table_row(report, *color)),
            // Every input of a list comes with its row.
            Output::Rows { .. } | Output::JsonRows { .. } => Ok(()),
        }
    }

    /// Whether this output is JSON lines, which [`json_line`] writes without it.
    pub fn takes_json_lines(&self) -> bool {
        matches!(self, Output::Jsonl(_))
    }

    /// Writes reports already written as JSON lines by [`json_line`].
    pub fn write_json_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        match self {
            Output::Jsonl(out) => out.write_all(lines),
            _ => Err(io::Error::other(
                "JSON lines for an output of another format",
            )),
        }
    }

    pub fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Jsonl(out)
            | Output::Table { out, .. }
            | Output::Rows { out, .. }
            | Output::JsonRows { out, .. } => out.flush(),
            Output::Csv(csv) => csv.flush(),
        }
    }
}

/// A report as one line of JSON, exactly as `serde_json` writes [`Report`] (a test holds it to
/// that), added to `out`: the JSON is the core's, written here without going through serde
/// because on a list checked for syntax only, serde's escaping of every key took more time than
/// checking. Into memory, where nothing can fail and small copies are a few instructions: the
/// threads that check a list write their reports here, so the one writing the output only
/// copies bytes. The mailbox evidence and the mail hosts, rare and varied, still go through
/// serde.
pub fn json_line(out: &mut Vec<u8>, report: &Report) {
    out.extend_from_slice(b"{\"input\":");
    let input = out.len();
    json_str(out, &report.input);
    let input = input..out.len();
    out.extend_from_slice(b",\"address\":");
    match report.address.as_deref() {
        // Most addresses are typed as they are normalised: their JSON is already written.
        Some(address) if address == report.input => out.extend_from_within(input),
        address => json_opt_str(out, address),
    }
    out.extend_from_slice(match report.verdict {
        Verdict::Valid => b",\"verdict\":\"valid\",\"reasons\":[",
        Verdict::Unknown => b",\"verdict\":\"unknown\",\"reasons\":[",
        Verdict::Risky => b",\"verdict\":\"risky\",\"reasons\":[",
        Verdict::Invalid => b",\"verdict\":\"invalid\",\"reasons\":[",
    });
    for (i, reason) in report.reasons.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"code\":\"");
        out.extend_from_slice(reason.code.as_str().as_bytes());
        out.extend_from_slice(b"\",\"message\":");
        let fixed = reason.code.message();
        if reason.message == fixed {
            // The code's own sentence, which needs no escape (a test checks): not searched.
            out.push(b'"');
            out.extend_from_slice(fixed.as_bytes());
            out.extend_from_slice(b"\"}");
        } else {
            json_str(out, &reason.message);
            out.push(b'}');
        }
    }
    let syntax = &report.checks.syntax;
    let dns = &report.checks.dns;
    let smtp = &report.checks.smtp;
    // The rest of the commonest report of a list checked for syntax only (no suggestion,
    // syntax passed without a warning, DNS and the mailbox skipped as `syntax_only`), in three
    // pieces instead of a dozen.
    if report.suggestion.is_none()
        && syntax.status == Status::Passed
        && syntax.warnings.is_empty()
        && syntax.error.is_none()
        && both_skipped(dns, smtp, Skipped::SyntaxOnly)
    {
        out.extend_from_slice(b"],\"suggestion\":null,\"score\":");
        json_uint(out, report.score.into());
        out.extend_from_slice(b",\"checks\":{\"syntax\":{\"status\":\"passed\",\"warnings\":[]");
        return out.extend_from_slice(SKIPPED_SYNTAX_ONLY);
    }
    out.extend_from_slice(b"],\"suggestion\":");
    json_opt_str(out, report.suggestion.as_deref());
    out.extend_from_slice(b",\"score\":");
    json_uint(out, report.score.into());
    out.extend_from_slice(match syntax.status {
        Status::Passed => b",\"checks\":{\"syntax\":{\"status\":\"passed\",\"warnings\":[",
        Status::Failed => b",\"checks\":{\"syntax\":{\"status\":\"failed\",\"warnings\":[",
        Status::Inconclusive => {
            b",\"checks\":{\"syntax\":{\"status\":\"inconclusive\",\"warnings\":["
        }
        Status::Skipped => b",\"checks\":{\"syntax\":{\"status\":\"skipped\",\"warnings\":[",
    });
    for (i, warning) in syntax.warnings.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\"" } else { b",\"" });
        out.extend_from_slice(warning.code().as_bytes());
        out.push(b'"');
    }
    out.push(b']');
    if let Some(error) = &syntax.error {
        out.extend_from_slice(b",\"error\":{\"code\":");
        json_str(out, error.code);
        out.extend_from_slice(b",\"position\":");
        json_uint(out, error.position as u64);
        out.extend_from_slice(b",\"message\":");
        json_str(out, error.message);
        out.push(b'}');
    }
    // What follows is the same for nearly every report of a list checked for syntax only: one
    // copy of it instead of a dozen.
    if both_skipped(dns, smtp, Skipped::SyntaxOnly) {
        return out.extend_from_slice(SKIPPED_SYNTAX_ONLY);
    }
    if both_skipped(dns, smtp, Skipped::NotNeeded) {
        return out.extend_from_slice(
            b"},\"dns\":{\"status\":\"skipped\",\"skipped\":\"not_needed\"},\
              \"smtp\":{\"status\":\"skipped\",\"skipped\":\"not_needed\"}}}\n",
        );
    }
    out.extend_from_slice(b"},\"dns\":");
    json_layer(out, dns.status, dns.skipped);
    if let Some(route) = dns.route {
        out.extend_from_slice(b",\"route\":");
        json_str(out, route.as_str());
    }
    if !dns.mx.is_empty() {
        out.extend_from_slice(b",\"mx\":");
        serde_into(out, &dns.mx);
    }
    out.extend_from_slice(b"},\"smtp\":");
    if smtp.evidence.is_some() {
        serde_into(out, smtp);
    } else {
        json_layer(out, smtp.status, smtp.skipped);
        out.push(b'}');
    }
    out.extend_from_slice(b"}}\n");
}

/// The end of a report from the syntax check's closing brace on, when DNS and the mailbox were
/// both skipped as `syntax_only` ([`both_skipped`]).
const SKIPPED_SYNTAX_ONLY: &[u8] =
    b"},\"dns\":{\"status\":\"skipped\",\"skipped\":\"syntax_only\"},\
    \"smtp\":{\"status\":\"skipped\",\"skipped\":\"syntax_only\"}}}\n";

/// DNS and the mailbox were both skipped, for `why`, and have nothing else to show.
fn both_skipped(dns: &DnsCheck, smtp: &SmtpCheck, why: Skipped) -> bool {
    (dns.status, dns.skipped, dns.route) == (Status::Skipped, Some(why), None)
        && dns.mx.is_empty()
        && (smtp.status, smtp.skipped) == (Status::Skipped, Some(why))
        && smtp.evidence.is_none()
}

/// `value` by serde, which cannot fail for the core's types (no maps with keys other than
/// strings) when writing into memory.
fn serde_into(out: &mut Vec<u8>, value: &impl serde::Serialize) {
    let written = serde_json::to_writer(&mut *out, value);
    debug_assert!(written.is_ok());
}

/// The start of a layer's object: its status, and why it was skipped.
fn json_layer(out: &mut Vec<u8>, status: Status, skipped: Option<Skipped>) {
    out.extend_from_slice(b"{\"status\":\"");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b'"');
    if let Some(skipped) = skipped {
        out.extend_from_slice(b",\"skipped\":\"");
        out.extend_from_slice(skipped.as_str().as_bytes());
        out.push(b'"');
    }
}

fn json_uint(out: &mut Vec<u8>, mut value: u64) {
    // Every score, and most positions.
    if value < 100 {
        if value >= 10 {
            out.push(b'0' + (value / 10) as u8);
        }
        return out.push(b'0' + (value % 10) as u8);
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

fn json_opt_str(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(value) => json_str(out, value),
        None => out.extend_from_slice(b"null"),
    }
}

/// A JSON string as `serde_json` writes it: only `"`, `\\` and control characters below U+0020
/// are escaped, the short forms where JSON has them (RFC 8259 §7), else `\u00XX` in lowercase.
fn json_str(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Nearly every string needs no escape: one copy.
    if !needs_escape(bytes) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut plain = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x08 => Some(b"\\b"),
            0x0C => Some(b"\\f"),
            0..=0x1F => None,
            _ => continue,
        };
        out.extend_from_slice(&bytes[plain..i]);
        match short {
            Some(short) => out.extend_from_slice(short),
            None => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let (high, low) = (HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xF)]);
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', high, low]);
            }
        }
        plain = i + 1;
    }
    out.extend_from_slice(&bytes[plain..]);
    out.push(b'"');
}

/// Whether `bytes` hold a `"`, a `\\` or a control character below U+0020, tested eight bytes at
/// a time: `(x - n * 0x01…) & !x & 0x80…` is non-zero exactly when some byte of `x` is below `n`
/// (n ≤ 0x80; "Bit Twiddling Hacks", Sean Eron Anderson, "Determine if a word has a byte less
/// than n"), and a byte equal to `c` is a zero byte of `x ^ c * 0x01…`.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x;
    let any = |lanes: [u8; 8]| {
        let x = u64::from_le_bytes(lanes);
        (below(x, 0x20)
            | below(x ^ (ONES * u64::from(b'"')), 1)
            | below(x ^ (ONES * u64::from(b'\\')), 1))
            & HIGH
            != 0
    };
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut lanes = [0; 8];
        lanes.copy_from_slice(chunk);
        if any(lanes) {
            return true;
        }
    }
    if chunks.remainder().is_empty() {
        return false;
    }
    // The last eight bytes again, overlapping the chunks before, rather than one at a time.
    match bytes.last_chunk::<8>() {
        Some(&last) => any(last),
        None => bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\'),
    }
}

fn table_row(report: &Report, color: bool) -> String {
    let verdict = format!("{:<7}", report.verdict.as_str());
    let verdict = if color {
        // SGR colours (ECMA-48 §8.3.117): 31 red, 32 green, 33 yellow, 35 magenta.
        let sgr = match report.verdict {
            Verdict::Valid => 32,
            Verdict::Unknown => 35,
            Verdict::Risky => 33,
            Verdict::Invalid => 31,
        };
        format!("\x1b[{sgr}m{verdict}\x1b[0m")
    } else {
        verdict
    };
    let input = shown(&report.input);
    let pad = TABLE_INPUT_WIDTH.saturating_sub(input.chars().count());
    let mut notes = String::new();
    for reason in &report.reasons {
        if !notes.is_empty() {
            notes.push_str("; ");
        }
        // A syntax error's sentence says what is wrong; other codes speak for themselves.
        if reason.code == ReasonCode::InvalidSyntax {
            notes.push_str(&reason.message);
        } else {
            notes.push_str(reason.code.as_str());
        }
    }
    if let Some(suggestion) = &report.suggestion {
        if !notes.is_empty() {
            notes.push_str("; ");
        }
        let _ = write!(notes, "did you mean {}?", shown(suggestion));
    }
    let row = format!(
        "{verdict}  {:>5}  {input}{:pad$}  {notes}",
        report.score, ""
    );
    row.trim_end().to_owned()
}

/// The input as a person can see it on a terminal: quoted and escaped when it is empty, has
/// whitespace at either end, or holds control characters (which could drive the terminal).
fn shown(input: &str) -> String {
    let plain = !input.is_empty()
        && !input.starts_with(char::is_whitespace)
        && !input.ends_with(char::is_whitespace)
        && !input.chars().any(char::is_control);
    if plain {
        input.to_owned()
    } else {
        format!("{input:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailvet_core::lists::Lists;
    use mailvet_core::report::Check;
    use mailvet_core::verdict::Policy;

    fn report(input: &str) -> Report {
        Check::new(input, &Lists::new())
            .syntax_only()
            .finish(&Policy::default())
    }

    fn render(format: Format, color: bool, inputs: &[&str]) -> String {
        let mut out = Output::new(format, Vec::new(), color).unwrap();
        for input in inputs {
            out.write(&report(input)).unwrap();
        }
        out.flush().unwrap();
        let bytes = match out {
            Output::Jsonl(b)
            | Output::Table { out: b, .. }
            | Output::Rows { out: b, .. }
            | Output::JsonRows { out: b, .. } => b,
            Output::Csv(csv) => csv.into_inner().unwrap(),
        };
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let text = render(Format::Csv, false, &["jane@gamil.com", "\"a,b\"@x.org"]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "input,address,verdict,reasons,suggestion,score,message"
        );
        assert_eq!(
            lines[1],
            "jane@gamil.com,jane@gamil.com,valid,,jane@gmail.com,70,"
        );
        assert!(
            lines[2].starts_with("\"\"\"a,b\"\"@x.org\","),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn table_rows_align_and_escape() {
        let text = render(
            Format::Table,
            false,
            &["info@mailinator.com", "", "\u{1b}[2J@x.org"],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("VERDICT  SCORE  INPUT "));
        assert_eq!(
            lines[1],
            format!(
                "risky       30  info@mailinator.com{}  disposable; role_account",
                " ".repeat(13)
            )
        );
        assert!(
            lines[2].starts_with("invalid      0  \"\" "),
            "{}",
            lines[2]
        );
        assert!(!text.contains('\u{1b}'), "{text:?}");
        let notes_at = lines[0].find("NOTES").unwrap();
        assert_eq!(lines[1].find("disposable"), Some(notes_at));
    }

    #[test]
    fn rows_keep_their_fields_and_gain_columns() {
        let header: Vec<String> = ["name", "email", "mailvet_score"]
            .map(String::from)
            .to_vec();
        let mut out = Output::rows(Vec::new(), &header, b',', false, true).unwrap();
        let rows: [&[&str]; 3] = [
            &["Jane", "jane@gamil.com", "old"],
            &["=Short"],
            &["Long", "info@mailinator.com", "x", "extra"],
        ];
        for (i, fields) in rows.into_iter().enumerate() {
            let row = ListRow {
                number: i as u64 + 1,
                fields: fields.iter().map(|f| (*f).to_owned()).collect(),
                duplicate_of: (i == 2).then_some(1),
                repeats: 0,
                reuses: false,
            };
            out.write_row(&row, &report(fields.get(1).copied().unwrap_or("")))
                .unwrap();
        }
        let Output::Rows { out, .. } = out else {
            unreachable!()
        };
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "name,email,mailvet_score,mailvet_verdict,mailvet_reasons,mailvet_suggestion,mailvet_duplicate_of\r\n\
             Jane,jane@gamil.com,70,valid,,jane@gmail.com,\r\n\
             '=Short,,0,invalid,invalid_syntax,,\r\n\
             Long,info@mailinator.com,30,risky,disposable;role_account,,1,extra\r\n"
        );
    }

    /// Every input of the syntax corpora, and strings that need escaping.
    fn inputs() -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data");
        let mut inputs: Vec<String> = ["syntax.tsv", "syntax-domain.tsv", "syntax-literal.tsv"]
            .iter()
            .flat_map(|file| {
                let text = std::fs::read_to_string(dir.join(file)).unwrap();
                let rows: Vec<String> = text
                    .lines()
                    .filter(|l| !l.starts_with('#') && !l.is_empty())
                    .map(|l| l.split('\t').next().unwrap().to_owned())
                    .collect();
                rows
            })
            .collect();
        let every_control: String = (0..0x20u8).map(char::from).collect();
        inputs.extend([
            every_control,
            "a\"b\\c@d\u{7f}\u{2028}é😀".to_owned(),
            "info@mailinator.com".to_owned(),
            "jane@gamil.com".to_owned(),
            String::new(),
        ]);
        inputs
    }

    #[test]
    fn json_lines_are_what_serde_writes() {
        use mailvet_core::dns::route::{DnsFailure, MailRoute, MxHost};
        use mailvet_core::report::{MailboxEvidence, NotAsked};
        use mailvet_core::smtp::Outcome;

        let lists = Lists::new();
        let hosts = MailRoute::Hosts(vec![
            MxHost {
                preference: 10,
                host: "mx1.example.com".into(),
                implicit: false,
            },
            MxHost {
                preference: 20,
                host: "mx\"2".into(),
                implicit: false,
            },
        ]);
        let evidence = [
            MailboxEvidence::Answered {
                host: "mx1.example.com".into(),
                code: 550,
                enhanced: Some("5.1.1".into()),
                message: "no \"such\" user\n".into(),
                outcome: Outcome::MailboxNotFound,
                tls: true,
                catch_all: Some(false),
            },
            MailboxEvidence::Timeout { host: None },
            MailboxEvidence::NotAsked {
                host: Some("mx".into()),
                why: NotAsked::PrivateAddress,
            },
        ];
        let mut reports = Vec::new();
        for input in inputs() {
            reports.push(report(&input));
            for route in [
                hosts.clone(),
                MailRoute::DomainNotFound,
                MailRoute::DnsFailure(DnsFailure::NoAnswer),
            ] {
                let check = Check::new(&input, &lists).with_dns(&route);
                reports.push(check.clone().finish(&Policy::default()));
                for e in &evidence {
                    let check = check.clone().with_mailbox(e.clone());
                    reports.push(check.finish(&Policy::default()));
                }
            }
        }
        for report in &reports {
            let mut ours = Vec::new();
            json_line(&mut ours, report);
            let serde = serde_json::to_string(report).unwrap() + "\n";
            assert_eq!(String::from_utf8(ours).unwrap(), serde);
        }
        assert!(reports.len() > 3000, "{}", reports.len());
    }

    #[test]
    fn the_sentences_of_reason_codes_need_no_escape() {
        for code in ReasonCode::ALL {
            assert!(!needs_escape(code.message().as_bytes()), "{code}");
        }
    }

    #[test]
    fn escapes_are_found_in_every_lane() {
        for b in 0..=255u8 {
            for at in 0..17 {
                let mut bytes = vec![b'a'; 17];
                bytes[at] = b;
                let expected = b < 0x20 || b == b'"' || b == b'\\';
                assert_eq!(needs_escape(&bytes), expected, "{b:#x} at {at}");
            }
        }
        assert!(!needs_escape("ü€😀 plain".as_bytes()));
    }

    #[test]
    fn table_colours_only_when_asked() {
        let coloured = render(Format::Table, true, &["jane@example.com"]);
        assert!(coloured.contains("\x1b[32mvalid  \x1b[0m"), "{coloured:?}");
        let plain = render(Format::Table, false, &["jane@example.com"]);
        assert!(!plain.contains('\x1b'));
    }
}
