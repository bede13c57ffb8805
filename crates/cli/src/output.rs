//! Reports written as JSON lines, CSV or an aligned table, one line per input as soon as it is
//! decided.

use std::fmt::Write as _;
use std::io::{self, Write};

use clap::ValueEnum;
use mailvet_core::report::Report;
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
    Table { out: W, color: bool },
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

    pub fn write(&mut self, report: &Report) -> io::Result<()> {
        match self {
            Output::Jsonl(out) => {
                serde_json::to_writer(&mut *out, report)?;
                out.write_all(b"\n")
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
                    report.reasons.first().map_or("", |r| r.message.as_str()),
                ])?;
                Ok(())
            }
            Output::Table { out, color } => writeln!(out, "{}", table_row(report, *color)),
        }
    }

    pub fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Jsonl(out) | Output::Table { out, .. } => out.flush(),
            Output::Csv(csv) => csv.flush(),
        }
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
    use mailvet_core::report::{Check, Skipped};
    use mailvet_core::verdict::Policy;

    fn report(input: &str) -> Report {
        Check::new(input, &Lists::new())
            .skip_dns(Skipped::SyntaxOnly)
            .skip_mailbox(Skipped::SyntaxOnly)
            .finish(&Policy::default())
    }

    fn render(format: Format, color: bool, inputs: &[&str]) -> String {
        let mut out = Output::new(format, Vec::new(), color).unwrap();
        for input in inputs {
            out.write(&report(input)).unwrap();
        }
        out.flush().unwrap();
        let bytes = match out {
            Output::Jsonl(b) | Output::Table { out: b, .. } => b,
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
    fn table_colours_only_when_asked() {
        let coloured = render(Format::Table, true, &["jane@example.com"]);
        assert!(coloured.contains("\x1b[32mvalid  \x1b[0m"), "{coloured:?}");
        let plain = render(Format::Table, false, &["jane@example.com"]);
        assert!(!plain.contains('\x1b'));
    }
}
