//! The rows of an upload, read back from R2 one batch at a time, and the cells of the results
//! file. Every job reads its upload through [`RowReader`], once when it is made (to count the
//! rows) and once when it is split; the Worker never holds a whole list.
//!
//! Text (`text/plain`): one address a line. A blank line inside the file is a row, so row
//! numbers match the user's file; a final line break adds none; CRLF and LF both end a line; a
//! UTF-8 byte order mark before the first row is not part of it.
//! JSON (`application/json`): `{"emails": [...]}`, a row per string.

use std::collections::VecDeque;

use futures_util::StreamExt;
use serde::Deserialize;
use worker::{Bucket, ByteStream};

/// How an upload reads as rows; stored with the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "text" => Some(Format::Text),
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

/// Cuts bytes into lines as they come.
#[derive(Debug, Default)]
pub struct Lines {
    pending: Vec<u8>,
    /// Whether any byte came: a BOM is looked for before the first one only.
    started: bool,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Lines {
    pub fn push(&mut self, mut bytes: &[u8], out: &mut VecDeque<Vec<u8>>) {
        if !self.started {
            // A BOM may come split over two pushes; wait for three bytes.
            self.pending.extend_from_slice(bytes);
            if self.pending.len() < BOM.len() && BOM.starts_with(&self.pending) {
                return;
            }
            self.started = true;
            let all = std::mem::take(&mut self.pending);
            let rest = all.strip_prefix(BOM).unwrap_or(&all);
            return self.push(rest, out);
        }
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            self.pending.extend_from_slice(&bytes[..end]);
            let mut line = std::mem::take(&mut self.pending);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            out.push_back(line);
            bytes = &bytes[end + 1..];
        }
        self.pending.extend_from_slice(bytes);
    }

    /// The last line, unless the text ended with a line break (or was empty).
    pub fn finish(&mut self, out: &mut VecDeque<Vec<u8>>) {
        let line = std::mem::take(&mut self.pending);
        let line = if self.started {
            line
        } else {
            line.strip_prefix(BOM).map(<[u8]>::to_vec).unwrap_or(line)
        };
        if !line.is_empty() {
            let mut line = line;
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            out.push_back(line);
        }
    }
}

enum Source {
    Text(ByteStream, Lines),
    Json(std::vec::IntoIter<String>),
}

/// Reads the rows of one upload in order.
pub struct RowReader {
    source: Source,
    ready: VecDeque<Vec<u8>>,
    ended: bool,
}

impl RowReader {
    /// `None` when the upload is not there (deleted, or never stored).
    pub async fn open(bucket: &Bucket, key: &str, format: Format) -> worker::Result<Option<Self>> {
        let Some(object) = bucket.get(key).execute().await? else {
            return Ok(None);
        };
        let Some(body) = object.body() else {
            return Ok(None);
        };
        let source = match format {
            Format::Text => Source::Text(body.stream()?, Lines::default()),
            Format::Json => {
                let bytes = body.bytes().await?;
                let list: JsonList = serde_json::from_slice(&bytes)
                    .map_err(|e| worker::Error::RustError(format!("stored JSON: {e}")))?;
                Source::Json(list.emails.into_iter())
            }
        };
        Ok(Some(RowReader {
            source,
            ready: VecDeque::new(),
            ended: false,
        }))
    }

    /// Up to `n` next rows; fewer only at the end.
    pub async fn next_rows(&mut self, n: usize) -> worker::Result<Vec<Vec<u8>>> {
        while self.ready.len() < n && !self.ended {
            match &mut self.source {
                Source::Text(stream, lines) => match stream.next().await {
                    Some(chunk) => lines.push(&chunk?, &mut self.ready),
                    None => {
                        lines.finish(&mut self.ready);
                        self.ended = true;
                    }
                },
                Source::Json(emails) => {
                    self.ready
                        .extend(emails.by_ref().take(n).map(String::into_bytes));
                    self.ended = emails.len() == 0;
                }
            }
        }
        let take = n.min(self.ready.len());
        Ok(self.ready.drain(..take).collect())
    }
}

/// Appends one CSV field (RFC 4180 §2: quoted when it holds a comma, a quote or a line break;
/// quotes doubled). With `guard`, a cell that a spreadsheet would run as a formula (starting
/// with `=`, `+`, `-`, `@`, a tab or a CR) is prefixed with `'` (OWASP, CSV injection).
pub fn csv_field(out: &mut String, value: &str, guard: bool) {
    let formula = guard && value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = formula || value.contains([',', '"', '\n', '\r']);
    if quote {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    for c in value.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(pieces: &[&[u8]]) -> Vec<String> {
        let mut lines = Lines::default();
        let mut out = VecDeque::new();
        for piece in pieces {
            lines.push(piece, &mut out);
        }
        lines.finish(&mut out);
        out.iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }

    #[test]
    fn blank_lines_inside_are_rows_and_a_final_break_adds_none() {
        assert_eq!(lines(&[b"a\n\nb\n"]), ["a", "", "b"]);
        assert_eq!(lines(&[b"a\r\n\r\nb"]), ["a", "", "b"]);
        assert_eq!(lines(&[b"a\n\n"]), ["a", ""]);
        assert_eq!(lines(&[b""]), Vec::<String>::new());
        assert_eq!(lines(&[b"\n"]), [""]);
    }

    #[test]
    fn pieces_split_anywhere_read_the_same() {
        let text = b"\xEF\xBB\xBFjane@x.test\r\n\r\nbob@y.test\n";
        for cut in 0..=text.len() {
            let (a, b) = text.split_at(cut);
            assert_eq!(
                lines(&[a, b]),
                ["jane@x.test", "", "bob@y.test"],
                "cut {cut}"
            );
        }
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_guarded() {
        let field = |v: &str, guard: bool| {
            let mut out = String::new();
            csv_field(&mut out, v, guard);
            out
        };
        assert_eq!(field("jane@x.test", true), "jane@x.test");
        assert_eq!(field("a,b", true), "\"a,b\"");
        assert_eq!(field("say \"hi\"", true), "\"say \"\"hi\"\"\"");
        assert_eq!(
            field("=HYPERLINK(\"x\")", true),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(field("-1", true), "\"'-1\"");
        assert_eq!(field("-1", false), "-1");
    }
}
