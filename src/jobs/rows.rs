//! The rows of an upload, read back from R2 a batch at a time through the core's list rules
//! (`mailvet_core::table`: the push CSV reader that keeps blank lines as rows, delimiter
//! sniffing, the address column and header), and the lines of the results file. The Worker
//! never holds a whole list: an upload is read once when the job is made ([`inspect`]: its
//! shape and its rows counted) and once when it is split into rows.
//!
//! - `text/plain`: one address a line ([`Dialect::Lines`]).
//! - `text/csv`: CSV, the delimiter sniffed, the address column found or named by `column`.
//! - `application/json`: `{"emails": [...]}`, a row per string.

use std::collections::VecDeque;

use futures_util::StreamExt;
use mailvet_core::table::{self, Dialect, Layout, Row, TableError};
use serde::{Deserialize, Serialize};
use worker::{Bucket, ByteStream};

/// How an upload reads as rows; stored with the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Csv,
    Json,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "text" => Some(Format::Text),
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// The body of `application/json` uploads.
#[derive(Deserialize)]
pub struct JsonList {
    pub emails: Vec<String>,
}

/// How a list is laid out, found once when the job is made and kept with it (`jobs.shape`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Shape {
    /// The CSV delimiter; `None` for one address a line.
    pub delimiter: Option<u8>,
    /// The address column, from 0.
    pub column: usize,
    /// Whether the first row is a header (not a data row).
    pub has_header: bool,
    /// The names of the columns: the header, or `email` and `column_N`.
    pub header: Vec<String>,
    /// The upload started with a UTF-8 byte order mark; a CSV written back keeps it.
    pub bom: bool,
}

impl Shape {
    /// The shape of a list that has a row per address and no header (text, JSON).
    pub fn lines() -> Shape {
        Shape {
            delimiter: None,
            column: 0,
            has_header: false,
            header: table::default_headers(1, 0),
            bom: false,
        }
    }

    pub fn dialect(&self) -> Dialect {
        self.delimiter.map_or(Dialect::Lines, Dialect::Csv)
    }
}

/// Why an upload could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The list breaks a rule of the core (`csv_encoding`, `csv_no_email_column`, …).
    List(TableError),
    Worker(worker::Error),
}

impl From<worker::Error> for ReadError {
    fn from(e: worker::Error) -> Self {
        ReadError::Worker(e)
    }
}

impl From<TableError> for ReadError {
    fn from(e: TableError) -> Self {
        ReadError::List(e)
    }
}

/// Bytes read before the delimiter is sniffed, and rows before the column is detected (as the
/// CLI's list mode does).
const SAMPLE_BYTES: usize = 1 << 16;
const SAMPLE_ROWS: usize = 50;
/// Rows counted per step when an upload is inspected.
const COUNT_STEP: usize = 10_000;

enum Source {
    /// The upload's bytes, decoded from UTF-16 first when they start with its byte order mark.
    Stream(ByteStream, Option<table::Utf16Decoder>, table::RowReader),
    Json(std::vec::IntoIter<String>),
}

/// Reads the rows of one upload in order (the header too, when it has one).
pub struct Rows {
    source: Source,
    dialect: Dialect,
    ready: VecDeque<Row>,
    ended: bool,
    json_rows: u64,
}

impl Rows {
    /// `None` when the upload is not there. `dialect` is the one found before; `None` sniffs it
    /// from the start of a CSV upload.
    pub async fn open(
        bucket: &Bucket,
        key: &str,
        format: Format,
        dialect: Option<Dialect>,
    ) -> Result<Option<Self>, ReadError> {
        let Some(object) = bucket.get(key).execute().await? else {
            return Ok(None);
        };
        let Some(body) = object.body() else {
            return Ok(None);
        };
        let source = match format {
            Format::Text | Format::Csv => {
                let mut stream = body.stream()?;
                let mut raw = Vec::new();
                let mut ended = false;
                // Enough to see a UTF-16 byte order mark, and to sniff a CSV's delimiter.
                let wanted = if format == Format::Csv && dialect.is_none() {
                    SAMPLE_BYTES
                } else {
                    2
                };
                while raw.len() < wanted {
                    match stream.next().await {
                        Some(chunk) => raw.extend_from_slice(&chunk?),
                        None => {
                            ended = true;
                            break;
                        }
                    }
                }
                let mut utf16 = table::Utf16Decoder::sniff(&raw);
                let sample = match &mut utf16 {
                    Some(decoder) => {
                        let mut text = Vec::with_capacity(raw.len());
                        decoder.push(&raw, &mut text)?;
                        if ended {
                            decoder.finish()?;
                        }
                        text
                    }
                    None => raw,
                };
                let dialect = match (format, dialect) {
                    (_, Some(dialect)) => dialect,
                    (Format::Csv, None) => Dialect::sniff(&sample),
                    _ => Dialect::Lines,
                };
                let mut reader = table::RowReader::new(dialect);
                reader.push(&sample);
                if ended {
                    reader.finish();
                }
                return Ok(Some(Rows {
                    source: Source::Stream(stream, utf16, reader),
                    dialect,
                    ready: VecDeque::new(),
                    ended,
                    json_rows: 0,
                }));
            }
            Format::Json => {
                let bytes = body.bytes().await?;
                let list: JsonList = serde_json::from_slice(&bytes)
                    .map_err(|e| worker::Error::RustError(format!("stored JSON: {e}")))?;
                Source::Json(list.emails.into_iter())
            }
        };
        Ok(Some(Rows {
            source,
            dialect: Dialect::Lines,
            ready: VecDeque::new(),
            ended: false,
            json_rows: 0,
        }))
    }

    fn had_bom(&self) -> bool {
        match &self.source {
            // A UTF-16 upload's results are written as UTF-8: its mark is not kept.
            Source::Stream(_, _, reader) => reader.had_bom(),
            Source::Json(_) => false,
        }
    }

    /// Up to `n` next rows; fewer only at the end.
    pub async fn next_rows(&mut self, n: usize) -> Result<Vec<Row>, ReadError> {
        loop {
            match &mut self.source {
                Source::Stream(stream, utf16, reader) => {
                    while self.ready.len() < n {
                        match reader.next_row()? {
                            Some(row) => self.ready.push_back(row),
                            None => break,
                        }
                    }
                    if self.ready.len() >= n || self.ended {
                        break;
                    }
                    match (stream.next().await, utf16.as_mut()) {
                        (Some(chunk), None) => reader.push(&chunk?),
                        (Some(chunk), Some(decoder)) => {
                            let mut text = Vec::new();
                            decoder.push(&chunk?, &mut text)?;
                            reader.push(&text);
                        }
                        (None, decoder) => {
                            if let Some(decoder) = decoder {
                                decoder.finish()?;
                            }
                            reader.finish();
                            self.ended = true;
                        }
                    }
                }
                Source::Json(emails) => {
                    for email in emails.by_ref().take(n - self.ready.len().min(n)) {
                        self.json_rows += 1;
                        self.ready.push_back(Row {
                            number: self.json_rows,
                            fields: vec![email],
                        });
                    }
                    break;
                }
            }
        }
        let take = n.min(self.ready.len());
        Ok(self.ready.drain(..take).collect())
    }
}

/// Reads the upload once: its shape (delimiter, address column, header) and its data rows,
/// counted up to `table::MAX_ROWS + 1`. `column` is the caller's `column` parameter.
pub async fn inspect(
    bucket: &Bucket,
    key: &str,
    format: Format,
    column: Option<&str>,
) -> Result<(Shape, u64), ReadError> {
    let mut rows = Rows::open(bucket, key, format, None)
        .await?
        .ok_or_else(|| ReadError::List(TableError::empty()))?;
    let sample = rows.next_rows(SAMPLE_ROWS).await?;
    let shape = match format {
        Format::Text | Format::Json => Shape::lines(),
        Format::Csv => {
            let layout = Layout::detect(&sample, column)?;
            let width = sample.iter().map(|r| r.fields.len()).max().unwrap_or(1);
            Shape {
                delimiter: match rows.dialect {
                    Dialect::Csv(delimiter) => Some(delimiter),
                    Dialect::Lines => None,
                },
                column: layout.column,
                has_header: layout.header,
                header: if layout.header {
                    sample.first().map(|r| r.fields.clone()).unwrap_or_default()
                } else {
                    table::default_headers(width, layout.column)
                },
                bom: rows.had_bom(),
            }
        }
    };
    let header = u64::from(shape.has_header);
    let (mut total, mut filled) = (0_u64, false);
    let mut count = |batch: &[Row]| {
        for row in batch.iter().filter(|r| r.number > header) {
            total += 1;
            filled |= row.fields.iter().any(|f| !f.trim().is_empty());
        }
        total
    };
    let mut counted = count(&sample);
    while counted <= table::MAX_ROWS {
        let batch = rows.next_rows(COUNT_STEP).await?;
        if batch.is_empty() {
            break;
        }
        counted = count(&batch);
    }
    if !filled {
        return Err(ReadError::List(TableError::empty()));
    }
    Ok((shape, total.min(table::MAX_ROWS + 1)))
}
