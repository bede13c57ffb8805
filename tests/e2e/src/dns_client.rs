//! Blocking DNS clients for tests: DNS-over-HTTPS (RFC 8484 wire format over plain HTTP/1.1 on a
//! `TcpStream`, one connection per query) and plain DNS over UDP and TCP. Queries and answers are
//! built and read by `mailvet_core::dns`; this module only carries the bytes.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use mailvet_core::dns::{self, DnsError, Message, RecordType};

const TIMEOUT: Duration = Duration::from_secs(5);
/// RFC 8484 §6: the media type of a DNS message.
const DNS_MESSAGE: &str = "application/dns-message";

/// The two request forms of RFC 8484 §4.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET` with the query in the `dns` parameter, base64url-encoded.
    Get,
    /// `POST` with the query as the body.
    Post,
}

/// An HTTP response, as far as DoH needs it.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// Why a query got no DNS message back.
#[derive(Debug)]
pub enum DnsClientError {
    Io(io::Error),
    /// The endpoint is not `http://IP:PORT/path`.
    Url(String),
    /// The HTTP response could not be read, or is not a DoH answer.
    Http(String),
    /// The query could not be built or the answer could not be read.
    Dns(DnsError),
    /// The answer is well formed but does not answer the query (RFC 1035 §7.3).
    Mismatch,
}

impl fmt::Display for DnsClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsClientError::Io(e) => write!(f, "i/o: {e}"),
            DnsClientError::Url(url) => write!(f, "not an http://IP:PORT/path URL: {url}"),
            DnsClientError::Http(what) => write!(f, "HTTP: {what}"),
            DnsClientError::Dns(e) => write!(f, "DNS: {e}"),
            DnsClientError::Mismatch => f.write_str("the answer does not match the question"),
        }
    }
}

impl std::error::Error for DnsClientError {}

impl From<io::Error> for DnsClientError {
    fn from(e: io::Error) -> Self {
        DnsClientError::Io(e)
    }
}

impl From<DnsError> for DnsClientError {
    fn from(e: DnsError) -> Self {
        DnsClientError::Dns(e)
    }
}

/// Asks `endpoint` for `name`/`rtype` and reads the answer, checking that the HTTP status is
/// 200, the media type is a DNS message, and the message answers this question.
pub fn query(
    endpoint: &str,
    method: Method,
    id: u16,
    name: &str,
    rtype: RecordType,
) -> Result<Message, DnsClientError> {
    let wire = dns::build_query(id, name, rtype)?;
    let response = match method {
        Method::Get => get(&dns::doh_get_url(endpoint, &wire))?,
        Method::Post => post(endpoint, &wire)?,
    };
    if response.status != 200 {
        return Err(DnsClientError::Http(format!("status {}", response.status)));
    }
    if response.content_type.as_deref() != Some(DNS_MESSAGE) {
        return Err(DnsClientError::Http(format!(
            "content type {:?}",
            response.content_type
        )));
    }
    let message = dns::parse_response(&response.body)?;
    if !message.answers_query(id, name, rtype) {
        return Err(DnsClientError::Mismatch);
    }
    Ok(message)
}

/// Plain DNS over UDP (RFC 1035 §4.2.1), one datagram each way.
pub fn query_udp(
    addr: SocketAddr,
    id: u16,
    name: &str,
    rtype: RecordType,
) -> Result<Message, DnsClientError> {
    let wire = dns::build_query(id, name, rtype)?;
    let socket = UdpSocket::bind(("127.0.0.1", 0))?;
    socket.set_read_timeout(Some(TIMEOUT))?;
    socket.connect(addr)?;
    socket.send(&wire)?;
    let mut buf = vec![0; 65535];
    let len = socket.recv(&mut buf)?;
    checked(&buf[..len], id, name, rtype)
}

/// Plain DNS over TCP: each message behind a two-octet length (RFC 1035 §4.2.2).
pub fn query_tcp(
    addr: SocketAddr,
    id: u16,
    name: &str,
    rtype: RecordType,
) -> Result<Message, DnsClientError> {
    let wire = dns::build_query(id, name, rtype)?;
    let mut stream = connect(addr)?;
    let len = u16::try_from(wire.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "query longer than 65535 octets",
        )
    })?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(&wire);
    stream.write_all(&framed)?;
    let mut len = [0; 2];
    stream.read_exact(&mut len)?;
    let mut answer = vec![0; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut answer)?;
    checked(&answer, id, name, rtype)
}

fn checked(
    bytes: &[u8],
    id: u16,
    name: &str,
    rtype: RecordType,
) -> Result<Message, DnsClientError> {
    let message = dns::parse_response(bytes)?;
    if message.answers_query(id, name, rtype) {
        Ok(message)
    } else {
        Err(DnsClientError::Mismatch)
    }
}

/// `GET url` over HTTP/1.1.
pub fn get(url: &str) -> Result<HttpResponse, DnsClientError> {
    let (addr, target) = split_url(url)?;
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nAccept: {DNS_MESSAGE}\r\nConnection: close\r\n\r\n"
    );
    exchange(addr, request.as_bytes())
}

/// `POST url` with a DNS message as the body, over HTTP/1.1.
pub fn post(url: &str, body: &[u8]) -> Result<HttpResponse, DnsClientError> {
    let (addr, target) = split_url(url)?;
    let mut request = format!(
        "POST {target} HTTP/1.1\r\nHost: {addr}\r\nAccept: {DNS_MESSAGE}\r\nContent-Type: {DNS_MESSAGE}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    exchange(addr, &request)
}

fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    Ok(stream)
}

/// Sends a request with `Connection: close` and reads the response to the end of the stream.
fn exchange(addr: SocketAddr, request: &[u8]) -> Result<HttpResponse, DnsClientError> {
    let mut stream = connect(addr)?;
    stream.write_all(request)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_http(&raw)
}

/// Splits `http://IP:PORT/path?query` into the address and the request target.
fn split_url(url: &str) -> Result<(SocketAddr, &str), DnsClientError> {
    let bad = || DnsClientError::Url(url.to_owned());
    let rest = url.strip_prefix("http://").ok_or_else(bad)?;
    let slash = rest.find('/').ok_or_else(bad)?;
    let addr = rest[..slash].parse().map_err(|_| bad())?;
    Ok((addr, &rest[slash..]))
}

/// Reads a whole HTTP/1.1 response (RFC 9112 §2.1): status line, fields, then a body of
/// Content-Length octets (§6.3) or, without one, everything up to the end of the stream.
fn parse_http(raw: &[u8]) -> Result<HttpResponse, DnsClientError> {
    let bad = |what: &str| DnsClientError::Http(what.to_owned());
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of header"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("header is not text"))?;
    let body = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| bad(status_line))?;
    let mut content_type = None;
    let mut content_length = None;
    for line in lines {
        let (name, value) = line.split_once(':').ok_or_else(|| bad(line))?;
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-type" => content_type = Some(value.to_owned()),
            "content-length" => {
                content_length = Some(value.parse::<usize>().map_err(|_| bad(line))?);
            }
            "transfer-encoding" => return Err(bad("transfer codings are not read here")),
            _ => {}
        }
    }
    let body = match content_length {
        Some(len) => body
            .get(..len)
            .ok_or_else(|| bad("body shorter than Content-Length"))?,
        None => body,
    };
    Ok(HttpResponse {
        status,
        content_type,
        body: body.to_vec(),
    })
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
        let response = parse_http(raw).expect("response");
        assert_eq!(response.status, 200);
        assert_eq!(response.content_type.as_deref(), Some(DNS_MESSAGE));
        assert_eq!(response.body, b"abc");
    }

    #[test]
    fn broken_responses_are_errors() {
        assert!(parse_http(b"HTTP/1.1 200 OK\r\n").is_err());
        assert!(parse_http(b"SMTP 220\r\n\r\n").is_err());
        assert!(parse_http(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc").is_err());
        assert!(
            parse_http(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc").is_err()
        );
    }
}
