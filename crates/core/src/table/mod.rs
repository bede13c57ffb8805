//! A list as the user gave it: rows of a CSV or text file, which column holds the addresses,
//! which rows repeat an address, and the columns mailvet appends to each row. The Worker's jobs
//! and the CLI's list mode share these rules, so that a list cleaned either way comes back the
//! same.
//!
//! - [`RowReader`] reads rows from bytes in any pieces ([`reader`]); [`Dialect::sniff`] finds the
//!   delimiter.
//! - [`Layout::detect`] finds the address column and whether the first row is a header.
//! - [`Dedupe`] marks each row whose address came before, by [`address_key`].
//! - [`APPENDED_COLUMNS`] and [`appended`] are what each row gains; [`write_csv_row`] writes a
//!   row with [`guard`] against spreadsheet formulas.
//! - [`Tally`] counts rows by verdict, reason and domain, as the job object shows them.
//! - [`runs`]: how often a list is cleaned again, and the transitions between two runs.

mod reader;
pub mod runs;
mod utf16;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Serialize;

pub use reader::{BOM, Dialect, Row, RowReader, read_all};
pub use utf16::Utf16Decoder;

use crate::hash::BuildNameHasher;
use crate::report::Report;
use crate::syntax;
use crate::verdict::{ReasonCode, Verdict};

/// The most rows a list may have (the Worker's jobs and the dashboard state it).
pub const MAX_ROWS: u64 = 1_000_000;

/// Why a list cannot be read. Codes are a public contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableError {
    code: &'static str,
    message: String,
}

impl TableError {
    /// `csv_no_email_column`, `csv_encoding`, `empty_list` or `too_many_rows`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    fn encoding(row: u64, byte: u64) -> TableError {
        TableError {
            code: "csv_encoding",
            message: format!(
                "The list is not UTF-8 text: row {row} has a byte that is not UTF-8 at byte \
                 {byte} of the file. Save the file as UTF-8 (in Excel: CSV UTF-8) and upload it \
                 again."
            ),
        }
    }

    fn utf16(byte: u64) -> TableError {
        TableError {
            code: "csv_encoding",
            message: format!(
                "The list is UTF-16 (it starts with its byte order mark) but byte {byte} of the \
                 file starts half a character. Save the file as UTF-8 (in Excel: CSV UTF-8) and \
                 upload it again."
            ),
        }
    }

    fn no_column(headers: &[String], wanted: Option<&str>) -> TableError {
        let seen = if headers.is_empty() {
            "no columns".to_owned()
        } else {
            let quoted: Vec<String> = headers.iter().map(|h| format!("\"{h}\"")).collect();
            format!("the columns {}", quoted.join(", "))
        };
        let message = match wanted {
            Some(wanted) => format!(
                "The list has no column \"{wanted}\": it has {seen}. Name the address column \
                 by its header or its number (1 is the first)."
            ),
            None => format!(
                "No column of the list holds email addresses: it has {seen}. Name the address \
                 column with `column` (its header or its number, 1 is the first)."
            ),
        };
        TableError {
            code: "csv_no_email_column",
            message,
        }
    }

    /// The list has no rows at all.
    pub fn empty() -> TableError {
        TableError {
            code: "empty_list",
            message: "The list is empty: give at least one address.".to_owned(),
        }
    }

    /// The list has more than [`MAX_ROWS`] rows.
    pub fn too_many_rows() -> TableError {
        TableError {
            code: "too_many_rows",
            message: format!(
                "The list has more than {MAX_ROWS} rows: split it into lists of at most \
                 {MAX_ROWS} rows."
            ),
        }
    }
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TableError {}

/// Where the addresses are, and whether the first row names the columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The address column, from 0.
    pub column: usize,
    /// The first row is a header (not a data row: data rows count from 1 after it).
    pub header: bool,
}

/// Header names that say "email address", compared after [`header_key`]; the first ones first.
const EMAIL_HEADERS: [&str; 16] = [
    "email",
    "emailaddress",
    "e-mail",
    "e-mailaddress",
    "mail",
    "mailaddress",
    "emails",
    "電郵",
    "電子郵件",
    "電子郵件地址",
    "電郵地址",
    "郵箱",
    "信箱",
    "电子邮件",
    "电邮",
    "邮箱",
];

/// A header as compared: lowercase, without spaces, `_` and a trailing `:`.
fn header_key(header: &str) -> String {
    header
        .trim()
        .trim_end_matches([':', '：'])
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether a cell looks like it holds an address: text on both sides of an `@` (a header
/// rarely has one, and a typo'd address still looks like one).
fn looks_like_address(cell: &str) -> bool {
    cell.trim()
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
}

impl Layout {
    /// The layout of a list from its first rows (a few dozen are plenty): `wanted` is the
    /// user's `column`, a header name or a 1-based number. Without it: a header named like
    /// "email" ([`EMAIL_HEADERS`], any case), else the column whose cells look most like
    /// addresses; a list of one column is that column. The first row is a header unless its
    /// cell in the address column looks like an address.
    pub fn detect(rows: &[Row], wanted: Option<&str>) -> Result<Layout, TableError> {
        let first = rows.first().map_or(&[][..], |r| &r.fields[..]);
        let width = rows.iter().map(|r| r.fields.len()).max().unwrap_or(0);
        let header_at = |column: usize| {
            !first
                .get(column)
                .is_some_and(|cell| looks_like_address(cell))
        };
        if let Some(wanted) = wanted.map(str::trim) {
            if let Ok(number) = wanted.parse::<usize>() {
                return match number.checked_sub(1) {
                    Some(column) if column < width.max(1) => Ok(Layout {
                        column,
                        header: header_at(column) && rows.len() > 1,
                    }),
                    _ => Err(TableError::no_column(first, Some(wanted))),
                };
            }
            let key = header_key(wanted);
            return first
                .iter()
                .position(|h| header_key(h) == key)
                .map(|column| Layout {
                    column,
                    header: true,
                })
                .ok_or_else(|| TableError::no_column(first, Some(wanted)));
        }
        let keys: Vec<String> = first.iter().map(|h| header_key(h)).collect();
        for name in EMAIL_HEADERS {
            if let Some(column) = keys.iter().position(|k| k == name) {
                return Ok(Layout {
                    column,
                    header: true,
                });
            }
        }
        if let Some(column) = keys.iter().position(|k| k.contains("email")) {
            return Ok(Layout {
                column,
                header: true,
            });
        }
        // The column with the most cells that look like addresses.
        let mut best = (0, 0);
        for column in 0..width {
            let count = rows
                .iter()
                .filter(|r| r.fields.get(column).is_some_and(|c| looks_like_address(c)))
                .count();
            if count > best.1 {
                best = (column, count);
            }
        }
        match best {
            (column, 1..) => Ok(Layout {
                column,
                header: header_at(column),
            }),
            _ if width <= 1 => Ok(Layout {
                column: 0,
                // One column and no address in it: only a header named like one is a header.
                header: false,
            }),
            _ => Err(TableError::no_column(first, None)),
        }
    }
}

/// The key under which a row's address counts as a repeat of another: the address as the
/// syntax layer normalises it (local part as typed, NFC; the domain lowercase, in Unicode
/// form). `None` for a row without a valid address, which is never a duplicate.
pub fn address_key(input: &str) -> Option<String> {
    address_key_reusing(input, String::new())
}

/// [`address_key`] in the memory of `buffer` (its text is replaced), for a caller that makes
/// one for every row of a list; without a key, the memory is given up.
pub fn address_key_reusing(input: &str, buffer: String) -> Option<String> {
    syntax::parse_reusing(input, buffer)
        .ok()
        .map(syntax::Address::into_normalized)
}

/// Which row first had each address, of a list checked on the user's own machine: its table
/// uses the fast name hash ([`crate::hash`]), not one that resists addresses chosen to collide.
#[derive(Debug, Default)]
pub struct Dedupe {
    first: HashMap<String, u64, BuildNameHasher>,
}

impl Dedupe {
    /// The row that first had the address of row `row`, if an earlier one did; else `row` is
    /// now the first of its address.
    pub fn first_of(&mut self, input: &str, row: u64) -> Option<u64> {
        self.first_of_key(address_key(input)?, row)
    }

    /// [`Dedupe::first_of`] for a row whose [`address_key`] is known: `key`.
    pub fn first_of_key(&mut self, key: String, row: u64) -> Option<u64> {
        match self.first.get(&key) {
            Some(&first) => Some(first),
            None => {
                self.first.insert(key, row);
                None
            }
        }
    }

    /// Room for `addresses` different addresses, made at once.
    pub fn reserve(&mut self, addresses: usize) {
        self.first.reserve(addresses);
    }

    /// How many different addresses were seen.
    pub fn unique(&self) -> u64 {
        self.first.len() as u64
    }
}

/// The columns appended to every row of a cleaned list, in this order.
pub const APPENDED_COLUMNS: [&str; 5] = [
    "mailvet_verdict",
    "mailvet_reasons",
    "mailvet_suggestion",
    "mailvet_score",
    "mailvet_duplicate_of",
];

/// The cells of [`APPENDED_COLUMNS`] for a row with `report`, which repeats row `duplicate_of`
/// when it is given (data rows count from 1).
pub fn appended(report: &Report, duplicate_of: Option<u64>) -> [String; 5] {
    let reasons: Vec<&str> = report.reasons.iter().map(|r| r.code.as_str()).collect();
    [
        report.verdict.as_str().to_owned(),
        reasons.join(";"),
        report.suggestion.clone().unwrap_or_default(),
        report.score.to_string(),
        duplicate_of.map(|n| n.to_string()).unwrap_or_default(),
    ]
}

/// Where the cells of a cleaned list's CSV rows go, the same in the Worker's results and the
/// CLI's output: each row as it was, padded to the header's width, then the cells of
/// [`APPENDED_COLUMNS`] (in place of a column of the same name already there, so that a cleaned
/// list can be cleaned again), then any cells the row had beyond the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowLayout {
    /// The header written: the list's, and the appended names it lacked.
    names: Vec<String>,
    /// Cells in the list's header.
    width: usize,
    /// Where each appended column goes.
    at: [usize; APPENDED_COLUMNS.len()],
}

impl RowLayout {
    /// The layout for a list whose columns `header` names.
    pub fn new(header: &[String]) -> RowLayout {
        let mut names = header.to_vec();
        let mut at = [0; APPENDED_COLUMNS.len()];
        for (slot, name) in at.iter_mut().zip(APPENDED_COLUMNS) {
            *slot = match header.iter().position(|h| h == name) {
                Some(i) => i,
                None => {
                    names.push(name.to_owned());
                    names.len() - 1
                }
            };
        }
        RowLayout {
            names,
            width: header.len(),
            at,
        }
    }

    /// The header row to write.
    pub fn header(&self) -> &[String] {
        &self.names
    }

    /// Where each of [`APPENDED_COLUMNS`] is in a written row.
    pub fn appended_at(&self) -> [usize; APPENDED_COLUMNS.len()] {
        self.at
    }

    /// The cells of a written row: `fields` as given, with `appended` (see [`appended`]).
    pub fn cells<'a>(
        &self,
        fields: &'a [String],
        appended: &'a [String; APPENDED_COLUMNS.len()],
    ) -> Vec<&'a str> {
        let mut cells: Vec<&str> = fields.iter().take(self.width).map(String::as_str).collect();
        cells.resize(self.names.len(), "");
        for (&i, value) in self.at.iter().zip(appended) {
            cells[i] = value;
        }
        cells.extend(fields.iter().skip(self.width).map(String::as_str));
        cells
    }
}

/// The names of the columns of a list without a header: the address column is `email`, the
/// others `column_N` (from 1).
pub fn default_headers(width: usize, column: usize) -> Vec<String> {
    (0..width.max(column + 1))
        .map(|i| {
            if i == column {
                "email".to_owned()
            } else {
                format!("column_{}", i + 1)
            }
        })
        .collect()
}

/// The names of `header`'s columns as keys of a JSON object: a name that came before gets
/// `_2`, `_3`, … so that no value is lost; an empty name is `column_N`.
pub fn column_names(header: &[String]) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(header.len());
    for (i, name) in header.iter().enumerate() {
        let base = if name.is_empty() {
            format!("column_{}", i + 1)
        } else {
            name.clone()
        };
        let mut candidate = base.clone();
        let mut n = 1;
        while names.contains(&candidate) {
            n += 1;
            candidate = format!("{base}_{n}");
        }
        names.push(candidate);
    }
    names
}

/// One row of a cleaned list as a JSON line: its number (data rows from 1), its cells by
/// column name exactly as given, the row it repeats, and its report (as `/v1/verify` gives it).
#[derive(Debug, Serialize)]
pub struct RowReport<'a> {
    pub row: u64,
    pub columns: Columns<'a>,
    pub duplicate_of: Option<u64>,
    pub report: &'a Report,
}

/// A row's cells by the names of [`column_names`], in order; cells beyond the header are named
/// `column_N` (from 1).
#[derive(Debug)]
pub struct Columns<'a> {
    pub names: &'a [String],
    pub values: &'a [String],
}

impl Serialize for Columns<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.values.len()))?;
        for (i, value) in self.values.iter().enumerate() {
            match self.names.get(i) {
                Some(name) => map.serialize_entry(name, value)?,
                None => map.serialize_entry(&format!("column_{}", i + 1), value)?,
            }
        }
        map.end()
    }
}

/// A cell made safe to open in a spreadsheet: one that starts with `=`, `+`, `-`, `@`, a tab or
/// a carriage return would be read as a formula, so it gets a leading `'` (OWASP, "CSV
/// Injection"). Only CSV output is guarded; JSON keeps every value as given.
pub fn guard(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// A cell as it was before [`guard`].
pub fn unguard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => cell,
    }
}

/// Appends one CSV row of `cells` to `out`, each [`guard`]ed and quoted when it holds the
/// delimiter, a quote or a line break (RFC 4180 §2.6, §2.7), ending in CRLF (§2.1).
pub fn write_csv_row<'a>(
    out: &mut String,
    cells: impl IntoIterator<Item = &'a str>,
    delimiter: u8,
) {
    let delimiter = char::from(delimiter);
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(delimiter);
        }
        let cell = guard(cell);
        if cell.contains([delimiter, '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&cell.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&cell);
        }
    }
    out.push_str("\r\n");
}

/// Rows per verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub valid: u64,
    pub risky: u64,
    pub invalid: u64,
    pub unknown: u64,
}

impl Counts {
    fn add(&mut self, verdict: Verdict) {
        *match verdict {
            Verdict::Valid => &mut self.valid,
            Verdict::Risky => &mut self.risky,
            Verdict::Invalid => &mut self.invalid,
            Verdict::Unknown => &mut self.unknown,
        } += 1;
    }

    pub fn total(&self) -> u64 {
        self.valid + self.risky + self.invalid + self.unknown
    }
}

/// One of the largest domains of a list: its rows, and its rows per verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DomainCount {
    pub domain: String,
    pub rows: u64,
    #[serde(flatten)]
    pub counts: Counts,
}

/// How many of [`Summary::top_domains`] a summary shows.
pub const TOP_DOMAINS: usize = 10;

/// The counting part of a job object (and of the CLI's `summary.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total_rows: u64,
    /// Rows that repeat no earlier row: what was checked.
    pub unique_addresses: u64,
    pub duplicates: u64,
    pub counts: Counts,
    /// Reason code → rows with it.
    pub reasons: BTreeMap<ReasonCode, u64>,
    /// The [`TOP_DOMAINS`] domains with the most rows, most first (equal ones by name).
    pub top_domains: Vec<DomainCount>,
}

/// Counts the rows of a list as they are decided.
#[derive(Debug, Default)]
pub struct Tally {
    rows: u64,
    duplicates: u64,
    counts: Counts,
    reasons: BTreeMap<ReasonCode, u64>,
    domains: HashMap<String, Counts>,
}

impl Tally {
    /// Counts one row: its report, and whether it repeats an earlier row's address.
    pub fn add(&mut self, report: &Report, duplicate: bool) {
        let codes = report.reasons.iter().map(|r| r.code);
        self.count(report.verdict, codes, report.address.as_deref(), duplicate);
    }

    /// Counts a row written before (a run that goes on from its output): `input` is its
    /// address cell, `cells` its [`APPENDED_COLUMNS`]. `false` when the cells are not ours.
    pub fn add_written(&mut self, input: &str, cells: &[&str]) -> bool {
        let [verdict, reasons, _, _, duplicate_of] = cells else {
            return false;
        };
        let verdict = match *verdict {
            "valid" => Verdict::Valid,
            "risky" => Verdict::Risky,
            "invalid" => Verdict::Invalid,
            "unknown" => Verdict::Unknown,
            _ => return false,
        };
        let codes: Option<Vec<ReasonCode>> = reasons
            .split(';')
            .filter(|c| !c.is_empty())
            .map(ReasonCode::from_str_code)
            .collect();
        let Some(codes) = codes else {
            return false;
        };
        let address = address_key(input);
        self.count(verdict, codes, address.as_deref(), !duplicate_of.is_empty());
        true
    }

    fn count(
        &mut self,
        verdict: Verdict,
        codes: impl IntoIterator<Item = ReasonCode>,
        address: Option<&str>,
        duplicate: bool,
    ) {
        self.rows += 1;
        self.duplicates += u64::from(duplicate);
        self.counts.add(verdict);
        for code in codes {
            *self.reasons.entry(code).or_default() += 1;
        }
        if let Some((_, domain)) = address.and_then(|a| a.rsplit_once('@')) {
            match self.domains.get_mut(domain) {
                Some(counts) => counts.add(verdict),
                None => {
                    let mut counts = Counts::default();
                    counts.add(verdict);
                    self.domains.insert(domain.to_owned(), counts);
                }
            }
        }
    }

    /// The summary so far.
    pub fn summary(&self) -> Summary {
        let mut domains: Vec<DomainCount> = self
            .domains
            .iter()
            .map(|(domain, counts)| DomainCount {
                domain: domain.clone(),
                rows: counts.total(),
                counts: *counts,
            })
            .collect();
        domains.sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.domain.cmp(&b.domain)));
        domains.truncate(TOP_DOMAINS);
        Summary {
            total_rows: self.rows,
            unique_addresses: self.rows - self.duplicates,
            duplicates: self.duplicates,
            counts: self.counts,
            reasons: self.reasons.clone(),
            top_domains: domains,
        }
    }
}

/// `unix_seconds` as an RFC 3339 time in UTC (`2026-12-01T10:41:00Z`), as the job object shows
/// its times. The caller reads the clock.
pub fn timestamp(unix_seconds: u64) -> String {
    let days = unix_seconds / 86_400;
    let rest = unix_seconds % 86_400;
    // Civil from days: Howard Hinnant's algorithm, for the proleptic Gregorian calendar.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests;
