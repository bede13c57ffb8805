//! The addresses to check: command-line arguments, or standard input one line at a time.
//!
//! Every input becomes exactly one report, in order: an empty line is checked (and found
//! `invalid_syntax`, `empty`), and bytes that are not UTF-8 become a report of their own
//! (see [`Input::NotUtf8`]). Nothing is trimmed: a line loses only its terminator, `\n` or `\r\n`.
//! The one exception is a UTF-8 byte order mark at the very start of the stream, which editors
//! on Windows write into text files: it marks the encoding and is not part of the first line.

use std::ffi::OsString;
use std::io::{self, BufRead};

/// One input, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Text(String),
    /// Bytes that are not UTF-8, kept as they are: the core's report says where they break
    /// (`Check::from_bytes`).
    NotUtf8(Vec<u8>),
}

impl Input {
    pub fn from_bytes(bytes: Vec<u8>) -> Input {
        match String::from_utf8(bytes) {
            Ok(text) => Input::Text(text),
            Err(e) => Input::NotUtf8(e.into_bytes()),
        }
    }

    /// A command-line argument. Unix arguments are bytes, so one may be as broken as a line.
    pub fn from_arg(arg: OsString) -> Input {
        match arg.into_string() {
            Ok(text) => Input::Text(text),
            Err(os) => Input::from_bytes(os_bytes(os)),
        }
    }
}

#[cfg(unix)]
fn os_bytes(os: OsString) -> Vec<u8> {
    std::os::unix::ffi::OsStringExt::into_vec(os)
}

#[cfg(not(unix))]
fn os_bytes(os: OsString) -> Vec<u8> {
    os.to_string_lossy().into_owned().into_bytes()
}

/// A UTF-8 byte order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Lines of a byte stream, one at a time, so that the stream is never held in memory.
#[derive(Debug)]
pub struct Lines<R> {
    reader: R,
    first: bool,
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R) -> Self {
        Lines {
            reader,
            first: true,
        }
    }

    /// The next line without its terminator; `None` at the end of the stream. A last line
    /// without a terminator is still a line; a terminator at the very end starts none.
    pub fn next_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut line = Vec::new();
        if self.reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(None);
        }
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        if std::mem::take(&mut self.first) && line.starts_with(BOM) {
            line.drain(..BOM.len());
        }
        Ok(Some(line))
    }
}

impl<R> Lines<R> {
    pub fn get_ref(&self) -> &R {
        &self.reader
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut lines = Lines::new(bytes);
        let mut out = Vec::new();
        while let Some(line) = lines.next_line().unwrap() {
            out.push(line);
        }
        out
    }

    #[test]
    fn only_the_terminator_is_stripped() {
        assert_eq!(
            lines(b" a@b.c \r\n\n\r\nx\ry\n\t\nlast"),
            [&b" a@b.c "[..], b"", b"", b"x\ry", b"\t", b"last"]
        );
        assert_eq!(lines(b"one\n"), [b"one"]);
        assert_eq!(lines(b"\n"), [b""]);
        assert!(lines(b"").is_empty());
        // A lone \r at the end is text, not a terminator.
        assert_eq!(lines(b"a\r"), [b"a\r"]);
    }

    #[test]
    fn a_byte_order_mark_is_dropped_only_at_the_start() {
        assert_eq!(
            lines(b"\xEF\xBB\xBFa@b.c\n\xEF\xBB\xBFd@e.f"),
            [&b"a@b.c"[..], b"\xEF\xBB\xBFd@e.f"]
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_kept_as_they_are() {
        assert_eq!(
            Input::from_bytes(b"jane@ex\xFFample.com".to_vec()),
            Input::NotUtf8(b"jane@ex\xFFample.com".to_vec())
        );
        assert_eq!(
            Input::from_bytes("jörg@b.c".into()),
            Input::Text("jörg@b.c".into())
        );
    }
}
