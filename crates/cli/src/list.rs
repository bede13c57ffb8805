//! List mode: a CSV file (or any file with `--column`) read as rows by the core's table rules
//! (`mailvet_core::table`), the same rules as the Worker's jobs: the delimiter sniffed, the
//! address column and header found, blank lines kept as rows, duplicates marked.
//!
//! A duplicate (the same address as an earlier row, any case of the domain) gets its first
//! occurrence's report. When the list is a file, a first pass finds which addresses recur, so
//! that only their first reports are kept in memory and duplicates are not checked again; a
//! list from standard input cannot be read twice, so there each duplicate is checked again (and
//! still marked).

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read};

use mailvet_core::hash::{self, BuildNameHasher};
use mailvet_core::table::{self, Dedupe, Dialect, Layout, Row, RowReader, TableError};

use crate::Failure;

/// Rows read before the layout is decided (and bytes, at most, to find them in).
const SAMPLE_ROWS: usize = 50;
const SAMPLE_BYTES: usize = 1 << 16;

/// A data row of a list: its number (from 1, after any header), its cells as given, and how it
/// relates to other rows with the same address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRow {
    pub number: u64,
    pub fields: Vec<String>,
    /// The row that first had this row's address.
    pub duplicate_of: Option<u64>,
    /// This row is its address's first and later rows repeat it this many times: its report is
    /// kept for them.
    pub repeats: u32,
    /// The report of [`ListRow::duplicate_of`] is kept for this row: it need not be checked.
    pub reuses: bool,
}

/// Why a list cannot be read, as the CLI says it: the machine code, then the sentence.
pub fn table_failure(e: &TableError) -> Failure {
    Failure(format!("{}: {e}", e.code()))
}

/// The rows of a list, one at a time.
pub struct ListSource {
    read: Box<dyn Read + Send>,
    reader: RowReader,
    /// Rows read ahead to decide the layout, not yet given.
    ahead: VecDeque<Row>,
    ended: bool,
    pub dialect: Dialect,
    /// The list came with a byte order mark, or in another encoding than UTF-8: a spreadsheet
    /// opened it, and its CSV is written back with a UTF-8 byte order mark.
    pub bom: bool,
    pub layout: Layout,
    /// The column names written back: the file's header, or `email` and `column_N`.
    pub header: Vec<String>,
    dedupe: Dedupe,
    /// From the first pass: how many rows have each recurring address, and how many rows
    /// there are. By the hash of each address's key ([`table::address_key`]), not the key: no
    /// string is kept per address. Addresses whose hashes collide add up, and that can only
    /// keep a first row's report in memory longer than needed: which row repeats which is
    /// decided by `dedupe`, from the keys themselves.
    recurring: Option<HashMap<u64, u32, BuildNameHasher>>,
    total: Option<u64>,
    /// Rows up to this one were checked by a run before ([`ListSource::skip`]): their reports
    /// are not here for later rows to reuse.
    resumed_at: u64,
}

impl std::fmt::Debug for ListSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListSource")
            .field("dialect", &self.dialect)
            .field("layout", &self.layout)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl ListSource {
    /// Starts reading a list ([`decoded`]); `column` is the user's `--column`; `lines`: one
    /// address per line, no CSV (a text file).
    pub fn open(decoded: Decoded, column: Option<&str>, lines: bool) -> Result<Self, Failure> {
        let Decoded {
            mut read,
            transcoded,
        } = decoded;
        let mut sample = Vec::with_capacity(SAMPLE_BYTES);
        let mut ended = false;
        while sample.len() < SAMPLE_BYTES {
            let mut chunk = [0; 8192];
            let n = read_some(&mut read, &mut chunk)?;
            if n == 0 {
                ended = true;
                break;
            }
            sample.extend_from_slice(&chunk[..n]);
        }
        let dialect = if lines {
            Dialect::Lines
        } else {
            Dialect::sniff(&sample)
        };
        let mut source = ListSource {
            read,
            reader: RowReader::new(dialect),
            ahead: VecDeque::new(),
            ended,
            dialect,
            bom: false,
            layout: Layout {
                column: 0,
                header: false,
            },
            header: Vec::new(),
            dedupe: Dedupe::default(),
            recurring: None,
            total: None,
            resumed_at: 0,
        };
        source.reader.push(&sample);
        if ended {
            source.reader.finish();
        }
        while source.ahead.len() < SAMPLE_ROWS {
            match source.read_row()? {
                Some(row) => source.ahead.push_back(row),
                None => break,
            }
        }
        if source.ahead.is_empty() && source.ended {
            return Err(table_failure(&TableError::empty()));
        }
        source.bom = transcoded || source.reader.had_bom();
        let sample: Vec<Row> = source.ahead.iter().cloned().collect();
        source.layout = Layout::detect(&sample, column).map_err(|e| table_failure(&e))?;
        let width = sample.iter().map(|r| r.fields.len()).max().unwrap_or(1);
        source.header = if source.layout.header {
            source
                .ahead
                .pop_front()
                .map(|r| r.fields)
                .unwrap_or_default()
        } else {
            table::default_headers(width, source.layout.column)
        };
        if source.ahead.is_empty() && source.ended {
            return Err(table_failure(&TableError::empty()));
        }
        Ok(source)
    }

    /// Counts the addresses of the whole list first (a second reader of the same file), so
    /// that duplicates reuse their first row's report and only recurring ones are kept.
    pub fn with_recurring(mut self, second: ListSource) -> Result<Self, Failure> {
        // The user's own list: the fast name hash will do (mailvet_core::hash).
        let mut counts: HashMap<u64, u32, BuildNameHasher> = HashMap::default();
        let mut second = second;
        let mut total = 0;
        let mut key = String::new();
        while let Some(row) = second.next_data_row()? {
            total += 1;
            let input = row.cell(second.layout.column);
            if let Some(found) = table::address_key_reusing(input, std::mem::take(&mut key)) {
                *counts.entry(recurring_key(&found)).or_default() += 1;
                key = found;
            }
        }
        // Room for every different address at once: the table of first rows then never grows
        // (each growth moves all it has).
        self.dedupe.reserve(counts.len());
        counts.retain(|_, n| *n > 1);
        self.recurring = Some(counts);
        self.total = Some(total);
        Ok(self)
    }

    /// Passes over the first `rows` data rows, checked by a run before: they still count for
    /// duplicates.
    pub fn skip(&mut self, rows: u64) -> Result<(), Failure> {
        for _ in 0..rows {
            if self.next_row()?.is_none() {
                return Err(Failure(format!(
                    "--resume: the output has {rows} rows, more than the list"
                )));
            }
        }
        self.resumed_at = rows;
        Ok(())
    }

    /// How many data rows the list has, when a first pass counted them.
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// The next data row, without duplicate marking.
    fn next_data_row(&mut self) -> Result<Option<Row>, Failure> {
        match self.ahead.pop_front() {
            Some(row) => Ok(Some(row)),
            None => self.read_row(),
        }
    }

    /// The next data row and its address cell, without duplicate marking.
    fn next_raw(&mut self) -> Result<Option<(String, Row)>, Failure> {
        let Some(row) = self.next_data_row()? else {
            return Ok(None);
        };
        Ok(Some((row.cell(self.layout.column).to_owned(), row)))
    }

    /// The next data row: its address cell and the row.
    pub fn next_row(&mut self) -> Result<Option<(String, ListRow)>, Failure> {
        let Some((input, row)) = self.next_raw()? else {
            return Ok(None);
        };
        let number = row.number - u64::from(self.layout.header);
        if number > table::MAX_ROWS {
            return Err(table_failure(&TableError::too_many_rows()));
        }
        // Parsed once, for both tables.
        let key = table::address_key(&input);
        let counted = key.as_deref().map(recurring_key);
        let duplicate_of = key.and_then(|key| self.dedupe.first_of_key(key, number));
        let (mut repeats, mut reuses) = (0, false);
        if let Some(recurring) = &self.recurring {
            reuses = duplicate_of.is_some_and(|first| first > self.resumed_at);
            if duplicate_of.is_none()
                && let Some(counted) = counted
            {
                repeats = recurring.get(&counted).map_or(0, |n| n - 1);
            }
        }
        let row = ListRow {
            number,
            fields: row.fields,
            duplicate_of,
            repeats,
            reuses,
        };
        Ok(Some((input, row)))
    }

    fn read_row(&mut self) -> Result<Option<Row>, Failure> {
        loop {
            if let Some(row) = self.reader.next_row().map_err(|e| table_failure(&e))? {
                return Ok(Some(row));
            }
            if self.ended {
                return Ok(None);
            }
            let mut chunk = [0; 1 << 16];
            let n = read_some(&mut self.read, &mut chunk)?;
            if n == 0 {
                self.ended = true;
                self.reader.finish();
            } else {
                self.reader.push(&chunk[..n]);
            }
        }
    }
}

/// Where [`ListSource::recurring`] counts the address whose [`table::address_key`] is `key`.
fn recurring_key(key: &str) -> u64 {
    hash::of(key.as_bytes())
}

fn read_some(read: &mut impl Read, buffer: &mut [u8]) -> Result<usize, Failure> {
    loop {
        match read.read(buffer) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Already a sentence with its code ([`Transcode`]).
            Err(e) if e.kind() == io::ErrorKind::InvalidData => return Err(Failure(e.to_string())),
            Err(e) => return Err(Failure(format!("reading the list: {e}"))),
        }
    }
}

/// Where a run that was stopped left its output: keeps the complete rows of `path` (CSV rows,
/// or JSON lines), cutting off a row that the stop left half written, and gives each complete
/// row's cells to `each` (CSV, with this delimiter, only; the header first). Returns how many data rows are done, and
/// whether the file has its header (`None` for a missing or empty file: start afresh).
pub fn resume_point(
    path: &std::path::Path,
    csv: Option<u8>,
    mut each: impl FnMut(Vec<String>) -> Result<(), Failure>,
) -> Result<Option<u64>, Failure> {
    let failed = |e: io::Error| Failure(format!("--resume: {}: {e}", path.display()));
    let mut file = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(failed(e)),
    };
    let length = file.metadata().map_err(failed)?.len();
    let dialect = csv.map_or(Dialect::Lines, Dialect::Csv);
    let mut reader = RowReader::new(dialect);
    let mut chunk = vec![0; 1 << 16];
    loop {
        let n = read_some(&mut file, &mut chunk)?;
        if n == 0 {
            break;
        }
        reader.push(&chunk[..n]);
        // Without `finish`: only rows whose line break was written are complete.
        while let Some(row) = reader.next_row().map_err(|e| table_failure(&e))? {
            if csv.is_some() {
                each(row.fields)?;
            }
        }
    }
    let complete = length - reader.buffered() as u64;
    file.set_len(complete).map_err(failed)?;
    let rows = reader.rows();
    Ok(match (csv, rows) {
        (_, 0) => None,
        (Some(_), rows) => Some(rows - 1),
        (None, rows) => Some(rows),
    })
}

/// `read` as UTF-8: bytes in `encoding` (by `--encoding`; then a byte order mark still wins),
/// or, without one, UTF-16 when the text starts with its byte order mark and UTF-8 as it is
/// otherwise (the row reader says where bytes are not UTF-8). Bytes that are not text in the
/// encoding stop the reading with the error `csv_encoding`, saying where.
pub fn decoded(
    mut read: Box<dyn Read + Send>,
    encoding: Option<&'static encoding_rs::Encoding>,
) -> Result<Decoded, Failure> {
    let mut start = [0; 2];
    let mut have = 0;
    while have < 2 {
        let n = read_some(&mut read, &mut start[have..])?;
        if n == 0 {
            break;
        }
        have += n;
    }
    let start = start[..have].to_vec();
    let utf16 = start == [0xFF, 0xFE] || start == [0xFE, 0xFF];
    let read: Box<dyn Read + Send> = Box::new(io::Cursor::new(start).chain(read));
    match encoding {
        None if !utf16 => Ok(Decoded {
            read,
            transcoded: false,
        }),
        // The decoder of any encoding sniffs the UTF-16 byte order marks.
        encoding => Ok(Decoded {
            transcoded: true,
            read: Box::new(Transcode {
                read,
                decoder: encoding.unwrap_or(encoding_rs::UTF_8).new_decoder(),
                input: Vec::new(),
                output: Vec::new(),
                at: 0,
                consumed: 0,
                ended: false,
            }),
        }),
    }
}

/// A list as UTF-8, and whether it was another encoding.
pub struct Decoded {
    pub read: Box<dyn Read + Send>,
    pub transcoded: bool,
}

impl std::fmt::Debug for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoded")
            .field("transcoded", &self.transcoded)
            .finish_non_exhaustive()
    }
}

/// A reader that turns bytes of an encoding into UTF-8 as they are read.
struct Transcode {
    read: Box<dyn Read + Send>,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    /// Decoded bytes not yet read, from `at`.
    output: Vec<u8>,
    at: usize,
    /// Bytes of the source decoded so far, to say where a bad one is.
    consumed: u64,
    ended: bool,
}

impl Read for Transcode {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.output.len() {
            if self.ended && self.input.is_empty() {
                return Ok(0);
            }
            if !self.ended {
                let mut chunk = [0; 1 << 15];
                let n = self.read.read(&mut chunk)?;
                if n == 0 {
                    self.ended = true;
                }
                self.input.extend_from_slice(&chunk[..n]);
            }
            self.output.clear();
            self.at = 0;
            let room = self
                .decoder
                .max_utf8_buffer_length_without_replacement(self.input.len())
                .unwrap_or(self.input.len() * 3 + 16);
            self.output.resize(room, 0);
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.input,
                &mut self.output,
                self.ended,
            );
            self.output.truncate(written);
            if let encoding_rs::DecoderResult::Malformed(bad, _) = result {
                let at = self.consumed + read as u64 - u64::from(bad);
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "csv_encoding: byte {at} of the list is not {} text. Give the list's \
                         encoding with --encoding, or save it as UTF-8.",
                        self.decoder.encoding().name()
                    ),
                ));
            }
            self.consumed += read as u64;
            self.input.drain(..read);
            if self.ended {
                self.input.clear();
            }
        }
        let n = buf.len().min(self.output.len() - self.at);
        buf[..n].copy_from_slice(&self.output[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The encoding named by `--encoding` (the WHATWG labels: utf-8, utf-16le, big5, gbk,
/// shift_jis, windows-1252, …).
pub fn encoding(label: &str) -> Result<&'static encoding_rs::Encoding, Failure> {
    encoding_rs::Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
        Failure(format!(
            "--encoding {label:?}: no such encoding; try utf-8, utf-16le, big5, gbk, shift_jis \
             or windows-1252"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(bytes: &[u8], column: Option<&str>) -> Result<ListSource, Failure> {
        let decoded = decoded(Box::new(io::Cursor::new(bytes.to_vec())), None)?;
        ListSource::open(decoded, column, false)
    }

    fn rows(source: &mut ListSource) -> Vec<(String, ListRow)> {
        std::iter::from_fn(|| source.next_row().unwrap()).collect()
    }

    #[test]
    fn the_awkward_list_comes_as_its_data_rows() {
        let bytes = include_bytes!("../../../tests/data/lists/awkward.csv");
        let mut source = open(bytes, None).unwrap();
        assert_eq!(source.header[1], "E-Mail Address");
        let rows = rows(&mut source);
        assert_eq!(rows.len(), 8);
        assert_eq!(rows[2].0, "");
        assert_eq!(rows[2].1.fields, [""]);
        assert_eq!(rows[4].1.duplicate_of, Some(1));
        assert_eq!(rows.last().unwrap().1.number, 8);
    }

    #[test]
    fn a_first_pass_marks_what_is_reused() {
        let text = b"a@x.org\nb@x.org\nA@X.ORG\na@X.org\n";
        let second = open(text, None).unwrap();
        let mut source = open(text, None).unwrap().with_recurring(second).unwrap();
        let rows = rows(&mut source);
        assert_eq!(rows[0].1.repeats, 1);
        assert_eq!(rows[1].1.repeats, 0);
        assert_eq!((rows[2].1.duplicate_of, rows[2].1.reuses), (None, false));
        assert_eq!((rows[3].1.duplicate_of, rows[3].1.reuses), (Some(1), true));
    }

    #[test]
    fn utf16_and_big5_are_read_as_text() {
        let text = "姓名,email\n陳大文,david@example.com\n";
        let mut utf16 = vec![0xFF, 0xFE];
        for unit in text.encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        let mut source = open(&utf16, None).unwrap();
        assert!(source.bom);
        assert_eq!(source.header, ["姓名", "email"]);
        assert_eq!(
            rows(&mut source)[0].1.fields,
            ["陳大文", "david@example.com"]
        );
        let (big5, _, _) = encoding_rs::BIG5.encode(text);
        let read = decoded(
            Box::new(io::Cursor::new(big5.to_vec())),
            Some(encoding("big5").unwrap()),
        )
        .unwrap();
        let mut source = ListSource::open(read, None, false).unwrap();
        assert!(source.bom, "a list in Big5 goes back to a spreadsheet");
        assert_eq!(
            rows(&mut source)[0].1.fields,
            ["陳大文", "david@example.com"]
        );
        // Big5 read as UTF-8 is an error that says so.
        let error = open(&big5, None).err().unwrap();
        assert!(error.0.starts_with("csv_encoding:"), "{}", error.0);
    }

    #[test]
    fn an_empty_list_is_an_error() {
        assert!(open(b"", None).err().unwrap().0.starts_with("empty_list:"));
        assert!(
            open(b"email\r\n", None)
                .err()
                .unwrap()
                .0
                .starts_with("empty_list:")
        );
    }
}
