//! A blocking HTTP/1.1 client for tests: one request per connection (`Connection: close`) on a
//! `TcpStream`, enough for the DoH server and the Worker on loopback.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(30);

/// An HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Header fields with lowercased names, in order.
    pub headers: Vec<(String, String)>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first field named `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics (a test's failure) with the body when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The `error.code` of the Worker's JSON error, after checking that it has a sentence
    /// (`error.message`) too.
    pub fn error_code(&self) -> String {
        let body = self.json();
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// `METHOD url` with `headers` and an optional body. `url` is `http://IP:PORT/target`.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> io::Result<HttpResponse> {
    let (addr, target) = split_url(url)?;
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    stream.write_all(head.as_bytes())?;
    if let Some(body) = body {
        stream.write_all(body)?;
    }
    // Read up to the end of the answer, not of the stream: wrangler dev keeps a connection open
    // for five seconds after its answer, whatever `Connection: close` says
    // (cloudflare/workers-sdk#5095).
    let mut raw = Vec::new();
    let mut buf = [0; 16 * 1024];
    loop {
        let n = stream.read(&mut buf)?;
        raw.extend_from_slice(&buf[..n]);
        if n == 0 || complete(&raw) {
            return parse_response(&raw);
        }
    }
}

/// Whether `raw` holds a whole answer: its head and a body of Content-Length octets, or a
/// chunked body up to its last chunk (RFC 9112 §6.3, §7.1). Without either, only the end of
/// the stream ends the body.
fn complete(raw: &[u8]) -> bool {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let field = |name: &str| {
        head.lines()
            .find_map(|line| line.strip_prefix(name))
            .map(|value| value.trim().to_owned())
    };
    if let Some(length) = field("content-length:").and_then(|v| v.parse::<usize>().ok()) {
        return raw.len() >= end + 4 + length;
    }
    if field("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
        return raw.ends_with(b"\r\n0\r\n\r\n") || raw[end + 4..].starts_with(b"0\r\n\r\n");
    }
    false
}

/// Splits `http://IP:PORT/path?query` into the address and the request target.
pub fn split_url(url: &str) -> io::Result<(SocketAddr, &str)> {
    let bad = || invalid(format!("not an http://IP:PORT/path URL: {url}"));
    let rest = url.strip_prefix("http://").ok_or_else(bad)?;
    let slash = rest.find('/').ok_or_else(bad)?;
    let addr = rest[..slash].parse().map_err(|_| bad())?;
    Ok((addr, &rest[slash..]))
}

/// Reads a whole HTTP/1.1 response (RFC 9112 §2.1): status line, fields, then a body of
/// Content-Length octets (§6.3), chunked (§7.1), or everything up to the end of the stream.
pub fn parse_response(raw: &[u8]) -> io::Result<HttpResponse> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| invalid("no end of header".into()))?;
    let head =
        std::str::from_utf8(&raw[..end]).map_err(|_| invalid("header is not text".into()))?;
    let body = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid(format!("bad status line: {status_line}")))?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("bad header line: {line}")))?;
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    let field = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let body = if field("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(body)?
    } else if let Some(len) = field("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| invalid(format!("bad Content-Length {len}")))?;
        body.get(..len)
            .ok_or_else(|| invalid("body shorter than Content-Length".into()))?
            .to_vec()
    } else {
        body.to_vec()
    };
    Ok(HttpResponse {
        status,
        content_type: field("content-type").map(str::to_owned),
        headers,
        body,
    })
}

/// RFC 9112 §7.1: chunk-size [ext] CRLF data CRLF … 0 CRLF [trailers] CRLF.
fn dechunk(mut raw: &[u8]) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| invalid("chunk size line not ended".into()))?;
        let line =
            std::str::from_utf8(&raw[..line_end]).map_err(|_| invalid("chunk size".into()))?;
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| invalid(format!("bad chunk size {size_text:?}")))?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = raw
            .get(..size)
            .ok_or_else(|| invalid("chunk shorter than its size".into()))?;
        body.extend_from_slice(chunk);
        raw = raw
            .get(size + 2..)
            .ok_or_else(|| invalid("chunk not ended".into()))?;
    }
}

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_address_and_target() {
        let (addr, target) = split_url("http://127.0.0.1:8053/dns-query?dns=AAAB").expect("url");
        assert_eq!(addr, SocketAddr::from(([127, 0, 0, 1], 8053)));
        assert_eq!(target, "/dns-query?dns=AAAB");
        assert!(split_url("https://127.0.0.1:8053/dns-query").is_err());
        assert!(split_url("http://localhost:8053/dns-query").is_err());
        assert!(split_url("http://127.0.0.1:8053").is_err());
    }

    #[test]
    fn responses_are_cut_at_content_length() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/dns-message\r\ncontent-length: 3\r\n\r\nabcdef";
        let response = parse_response(raw).expect("response");
        assert_eq!(response.status, 200);
        assert_eq!(
            response.content_type.as_deref(),
            Some("application/dns-message")
        );
        assert_eq!(response.body, b"abc");
    }

    #[test]
    fn chunked_bodies_are_joined() {
        let raw = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let response = parse_response(raw).expect("response");
        assert_eq!(
            (response.status, response.body.as_slice()),
            (404, &b"abcde"[..])
        );
    }

    #[test]
    fn broken_responses_are_errors() {
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
        assert!(parse_response(b"SMTP 220\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc").is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc")
                .is_err()
        );
    }
}
