//! Rows of an uploaded list, read as they arrive: a push parser that takes bytes in any pieces
//! and gives whole rows, so that a Worker reading an upload from R2 and the CLI reading a file
//! share one reading of CSV.
//!
//! The reading is RFC 4180 as spreadsheets write it, and lenient where they are not: a field
//! that starts with `"` is quoted, `""` in it is one quote, and it may hold delimiters and line
//! breaks (RFC 4180 §2.6, §2.7); text after a closing quote joins the field; an unclosed quote
//! runs to the end of the input. Lines end in LF, CRLF or a lone CR (what Excel for Mac saved).
//! Unlike most CSV readers, a blank line is a row (one empty field): row numbers then match what
//! the user sees in the file. A final line break adds no row.

use std::fmt;

use super::TableError;

/// The UTF-8 byte order mark, which Excel puts at the start of "CSV UTF-8".
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// How a list is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// CSV with this delimiter (`,`, `;` or a tab).
    Csv(u8),
    /// One value per line, taken whole: no delimiter, no quotes (`text/plain`).
    Lines,
}

impl Dialect {
    /// The delimiters [`Dialect::sniff`] considers, the default first.
    pub const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

    /// The delimiter that splits the first lines of `sample` most consistently: the one that
    /// gives most of those lines the same number of fields (more than one), counting outside
    /// quotes; a comma when none does (a file of one column). Excel writes `;` where the
    /// decimal separator is a comma.
    pub fn sniff(sample: &[u8]) -> Dialect {
        const LINES: usize = 20;
        let mut best = (0, 0, b',');
        for delimiter in Dialect::DELIMITERS {
            let mut counts = Vec::with_capacity(LINES);
            let mut reader = RowReader::new(Dialect::Csv(delimiter));
            reader.push(sample);
            while counts.len() < LINES {
                match reader.next_row() {
                    Ok(Some(row)) => counts.push(row.fields.len()),
                    _ => break,
                }
            }
            // The most common width above one, and how many lines have it.
            let mut widths = counts.clone();
            widths.sort_unstable();
            let (mut width, mut lines) = (0, 0);
            for chunk in widths.chunk_by(|a, b| a == b) {
                if chunk[0] > 1 && chunk.len() >= lines {
                    (width, lines) = (chunk[0], chunk.len());
                }
            }
            if (lines, width) > (best.0, best.1) {
                best = (lines, width, delimiter);
            }
        }
        Dialect::Csv(best.2)
    }

    /// The delimiter, for writing rows back.
    pub fn delimiter(self) -> u8 {
        match self {
            Dialect::Csv(d) => d,
            Dialect::Lines => b',',
        }
    }
}

/// One row as given: its fields, and its number (data rows and the header alike count from 1
/// here; [`super::Layout`] says whether row 1 is a header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub number: u64,
    pub fields: Vec<String>,
}

impl Row {
    /// The cell in `column` (the address column of a [`super::Layout`]), empty when the row
    /// is shorter.
    pub fn cell(&self, column: usize) -> &str {
        self.fields.get(column).map_or("", String::as_str)
    }
}

/// The push parser. [`RowReader::push`] input in pieces of any size, take rows with
/// [`RowReader::next_row`] until it gives `None` ("needs more input"), and call
/// [`RowReader::finish`] at the end of the input for the last row.
#[derive(Clone)]
pub struct RowReader {
    dialect: Dialect,
    /// Input not yet made into rows, after `start`.
    buffer: Vec<u8>,
    /// How many bytes at the front of `buffer` were rows already given: they are dropped at the
    /// next `push`, not at each row, which moved the whole rest of the buffer for every row.
    start: usize,
    /// Where after `start` the scan for the end of the current row stopped, and whether it stopped
    /// inside quotes.
    scanned: usize,
    quoted: bool,
    /// The scan is at the start of a field, where a quote opens quoting.
    fresh: bool,
    /// How many rows were given, and the bytes of the input before `buffer`.
    rows: u64,
    offset: u64,
    /// The input has ended.
    finished: bool,
    /// Nothing was read yet: a byte order mark is still to be dropped.
    at_start: bool,
    /// The input started with a byte order mark.
    bom: bool,
}

impl fmt::Debug for RowReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowReader")
            .field("dialect", &self.dialect)
            .field("buffered", &self.buffered())
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl RowReader {
    pub fn new(dialect: Dialect) -> RowReader {
        RowReader {
            dialect,
            buffer: Vec::new(),
            start: 0,
            scanned: 0,
            quoted: false,
            fresh: true,
            rows: 0,
            offset: 0,
            finished: false,
            at_start: true,
            bom: false,
        }
    }

    /// More input.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        self.buffer.extend_from_slice(bytes);
    }

    /// The input has ended: what is buffered is the last row.
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// Whether the input started with a byte order mark (known once a row was asked for): a
    /// list written back for a spreadsheet keeps it, for Excel reads UTF-8 only with it.
    pub fn had_bom(&self) -> bool {
        self.bom
    }

    /// How many rows were given so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Bytes held that are not yet a whole row (a caller bounds its memory by them).
    pub fn buffered(&self) -> usize {
        self.buffer.len() - self.start
    }

    /// The next whole row, `Ok(None)` when more input is needed (or, after
    /// [`RowReader::finish`], when there is no more). A row that is not UTF-8 is the error
    /// `csv_encoding`, which says where.
    pub fn next_row(&mut self) -> Result<Option<Row>, TableError> {
        if self.at_start {
            let live = &self.buffer[self.start..];
            if live.len() < BOM.len() && !self.finished && BOM.starts_with(live) {
                return Ok(None);
            }
            self.at_start = false;
            if self.buffer[self.start..].starts_with(BOM) {
                self.bom = true;
                self.start += BOM.len();
                self.offset += BOM.len() as u64;
            }
        }
        let Some((end, next)) = self.row_end() else {
            return Ok(None);
        };
        let fields = self.fields(end)?;
        self.start += next;
        self.offset += next as u64;
        self.scanned = 0;
        self.quoted = false;
        self.fresh = true;
        self.rows += 1;
        Ok(Some(Row {
            number: self.rows,
            fields,
        }))
    }

    /// Where the current row's bytes end in the buffer, and where the next row starts. Quotes
    /// are followed as [`RowReader::fields`] reads them: they open only at the start of a field.
    fn row_end(&mut self) -> Option<(usize, usize)> {
        let delimiter = match self.dialect {
            Dialect::Csv(d) => Some(d),
            Dialect::Lines => None,
        };
        let buffer = &self.buffer[self.start..];
        // Bytes that may start or end quoting, a field or the row; the others come in runs,
        // skipped at once.
        let special = |b: u8| b == b'"' || b == b'\n' || b == b'\r' || Some(b) == delimiter;
        let mut i = self.scanned;
        while i < buffer.len() {
            let byte = buffer[i];
            if self.quoted {
                if byte != b'"' {
                    // Inside quotes, only a quote matters.
                    i = buffer[i..]
                        .iter()
                        .position(|&b| b == b'"')
                        .map_or(buffer.len(), |n| i + n);
                    continue;
                }
                match buffer.get(i + 1) {
                    // An escaped quote: both bytes stay inside.
                    Some(b'"') => i += 1,
                    Some(_) => self.quoted = false,
                    None if self.finished => self.quoted = false,
                    None => break,
                }
            } else {
                if !special(byte) {
                    i = buffer[i..]
                        .iter()
                        .position(|&b| special(b))
                        .map_or(buffer.len(), |n| i + n);
                    self.fresh = false;
                    continue;
                }
                match byte {
                    b'"' if self.fresh && delimiter.is_some() => self.quoted = true,
                    b'\n' => return Some((i, i + 1)),
                    // A CR at the end of what came so far may be the first half of a CRLF.
                    b'\r' => match buffer.get(i + 1) {
                        Some(b'\n') => return Some((i, i + 2)),
                        Some(_) => return Some((i, i + 1)),
                        None if self.finished => return Some((i, i + 1)),
                        None => break,
                    },
                    _ => {}
                }
                self.fresh = Some(byte) == delimiter;
            }
            i += 1;
        }
        self.scanned = i;
        // The last row has no line break; an empty rest is no row.
        (self.finished && !buffer.is_empty()).then_some((buffer.len(), buffer.len()))
    }

    /// The fields of `buffer[..end]`.
    fn fields(&self, end: usize) -> Result<Vec<String>, TableError> {
        let bytes = &self.buffer[self.start..self.start + end];
        let text = std::str::from_utf8(bytes).map_err(|e| {
            TableError::encoding(self.rows + 1, self.offset + e.valid_up_to() as u64)
        })?;
        let Dialect::Csv(delimiter) = self.dialect else {
            return Ok(vec![text.to_owned()]);
        };
        if !delimiter.is_ascii() {
            return Ok(fields_by_char(text, char::from(delimiter)));
        }
        // As `fields_by_char`, a byte at a time: the delimiter and the quote are ASCII, and no
        // byte of a longer UTF-8 character is. Text between them is copied a run at a time,
        // rather than pushed a character at a time, growing each field again and again.
        let bytes = text.as_bytes();
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        // At the start of a field, where a quote opens quoting.
        let mut fresh = true;
        // Where the text not yet in `field` starts.
        let mut run = 0;
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            if b != b'"' && b != delimiter {
                // A run of other bytes changes nothing but `fresh`: skipped at once.
                i = bytes[i..]
                    .iter()
                    .position(|&c| c == b'"' || c == delimiter)
                    .map_or(bytes.len(), |n| i + n);
                fresh = false;
                continue;
            }
            match b {
                b'"' if quoted => {
                    field.push_str(&text[run..i]);
                    if bytes.get(i + 1) == Some(&b'"') {
                        field.push('"');
                        i += 1;
                    } else {
                        quoted = false;
                    }
                    run = i + 1;
                }
                b'"' if fresh => {
                    quoted = true;
                    run = i + 1;
                }
                b if b == delimiter && !quoted => {
                    field.push_str(&text[run..i]);
                    fields.push(std::mem::take(&mut field));
                    fresh = true;
                    i += 1;
                    run = i;
                    continue;
                }
                _ => {}
            }
            fresh = false;
            i += 1;
        }
        field.push_str(&text[run..]);
        fields.push(field);
        Ok(fields)
    }
}

/// The fields of a CSV row, a character at a time: for a delimiter that is not ASCII (never one
/// that [`Dialect::sniff`] picks), and what [`RowReader::fields`] must give for any other.
fn fields_by_char(text: &str, delimiter: char) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    // At the start of a field, where a quote opens quoting.
    let mut fresh = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            '"' if fresh => quoted = true,
            c if c == delimiter && !quoted => {
                fields.push(std::mem::take(&mut field));
                fresh = true;
                continue;
            }
            c => field.push(c),
        }
        fresh = false;
    }
    fields.push(field);
    fields
}

/// All rows of `input`, for tests and small inputs.
pub fn read_all(dialect: Dialect, input: &[u8]) -> Result<Vec<Row>, TableError> {
    let mut reader = RowReader::new(dialect);
    reader.push(input);
    reader.finish();
    let mut rows = Vec::new();
    while let Some(row) = reader.next_row()? {
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(dialect: Dialect, input: &str) -> Vec<Vec<String>> {
        read_all(dialect, input.as_bytes())
            .unwrap()
            .into_iter()
            .map(|r| r.fields)
            .collect()
    }

    fn owned(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(|f| (*f).to_owned()).collect())
            .collect()
    }

    #[test]
    fn quoted_fields_hold_delimiters_quotes_and_line_breaks() {
        let csv =
            "name,email\r\n\"Doe, Jane\",jane@example.com\r\n\"say \"\"hi\"\"\",\"a\nb@x.org\"\r\n";
        assert_eq!(
            fields(Dialect::Csv(b','), csv),
            owned(&[
                &["name", "email"],
                &["Doe, Jane", "jane@example.com"],
                &["say \"hi\"", "a\nb@x.org"],
            ])
        );
    }

    #[test]
    fn blank_lines_are_rows_and_a_final_line_break_is_not() {
        let rows = read_all(Dialect::Csv(b','), b"a\n\nb\n").unwrap();
        let numbers: Vec<_> = rows.iter().map(|r| r.number).collect();
        assert_eq!(numbers, [1, 2, 3]);
        assert_eq!(rows[1].fields, [""]);
        assert_eq!(
            fields(Dialect::Lines, "a\r\n\r\nb"),
            owned(&[&["a"], &[""], &["b"]])
        );
        assert_eq!(fields(Dialect::Lines, "a\rb\r"), owned(&[&["a"], &["b"]]));
        assert!(fields(Dialect::Lines, "").is_empty());
    }

    #[test]
    fn lines_take_quotes_and_commas_as_text() {
        assert_eq!(
            fields(Dialect::Lines, "\"Jane Doe\" <jane@x.org>, more\n"),
            owned(&[&["\"Jane Doe\" <jane@x.org>, more"]])
        );
    }

    #[test]
    fn a_byte_order_mark_is_dropped_once() {
        let mut reader = RowReader::new(Dialect::Lines);
        reader.push(b"\xEF\xBB\xBFa\n");
        assert_eq!(reader.next_row().unwrap().unwrap().fields, ["a"]);
        assert!(reader.had_bom());
        assert_eq!(
            fields(Dialect::Csv(b','), "\u{feff}email\n\u{feff}x\n"),
            owned(&[&["email"], &["\u{feff}x"]])
        );
    }

    /// Every row made of the characters that matter to the rules (quotes, delimiters, a
    /// two-byte and a three-byte character, plain text), up to five of them: the fields read a
    /// run at a time are those read a character at a time.
    #[test]
    fn fields_by_runs_are_fields_by_characters() {
        let parts = ["\"", ",", ";", "a", "é", "中"];
        let mut rows = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = rows
                .iter()
                .flat_map(|row| parts.iter().map(move |p| format!("{row}{p}")))
                .collect();
            rows.extend(longer);
            rows.dedup();
            if rows.len() > 20_000 {
                break;
            }
        }
        rows.sort();
        rows.dedup();
        assert!(rows.len() > 5_000, "{}", rows.len());
        for delimiter in [b',', b';'] {
            let reader = RowReader::new(Dialect::Csv(delimiter));
            for row in &rows {
                let want = fields_by_char(row, char::from(delimiter));
                // `fields` reads the first `end` bytes of what was pushed.
                let mut reader = reader.clone();
                reader.push(row.as_bytes());
                assert_eq!(reader.fields(row.len()).unwrap(), want, "{row:?}");
            }
        }
    }

    #[test]
    fn any_split_of_the_input_gives_the_same_rows() {
        let csv = "\u{feff}h1;h2\r\n\"x;\r\ny\";z\r\n\r\n\"\"\"q\"\"\";\u{4e2d}\u{6587}\rlast";
        let whole = read_all(Dialect::Csv(b';'), csv.as_bytes()).unwrap();
        assert_eq!(whole.len(), 5);
        for step in 1..=csv.len() {
            let mut reader = RowReader::new(Dialect::Csv(b';'));
            let mut rows = Vec::new();
            for piece in csv.as_bytes().chunks(step) {
                reader.push(piece);
                while let Some(row) = reader.next_row().unwrap() {
                    rows.push(row);
                }
            }
            reader.finish();
            while let Some(row) = reader.next_row().unwrap() {
                rows.push(row);
            }
            assert_eq!(rows, whole, "pieces of {step} bytes");
        }
    }

    #[test]
    fn text_that_is_not_utf8_says_where() {
        let error = read_all(Dialect::Csv(b','), b"email\nok@x.org\nJos\xe9@x.org\n").unwrap_err();
        assert_eq!(error.code(), "csv_encoding");
        // Row 3 starts at byte 15; the bad byte is its fourth.
        assert!(error.to_string().contains("row 3"), "{error}");
        assert!(error.to_string().contains("byte 18"), "{error}");
    }

    #[test]
    fn a_quote_inside_a_field_is_text() {
        assert_eq!(
            fields(Dialect::Csv(b','), "5\" disk,a@x.org\nb,c\n"),
            owned(&[&["5\" disk", "a@x.org"], &["b", "c"]])
        );
    }

    #[test]
    fn an_unclosed_quote_keeps_the_rest() {
        assert_eq!(
            fields(Dialect::Csv(b','), "a,\"b\nc"),
            owned(&[&["a", "b\nc"]])
        );
    }

    #[test]
    fn sniffing_finds_the_delimiter_that_splits_consistently() {
        let sniff = |s: &str| Dialect::sniff(s.as_bytes());
        assert_eq!(sniff("name;email\nJane;jane@x.org\n"), Dialect::Csv(b';'));
        assert_eq!(
            sniff("name\temail\nJane\tjane@x.org\n"),
            Dialect::Csv(b'\t')
        );
        assert_eq!(
            sniff("name,email\n\"Doe; Jane\",jane@x.org\n"),
            Dialect::Csv(b',')
        );
        // A semicolon inside quotes does not count.
        assert_eq!(sniff("a,b\n\"x;y;z\",w\n"), Dialect::Csv(b','));
        assert_eq!(sniff("email\njane@x.org\n"), Dialect::Csv(b','));
    }
}
