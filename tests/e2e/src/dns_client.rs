//! Blocking DNS clients for tests: DNS-over-HTTPS (RFC 8484 wire format over plain HTTP/1.1 on a
//! `TcpStream`, one connection per query) and plain DNS over UDP and TCP. Queries and answers are
//! built and read by `mailvet_core::dns`; this module only carries the bytes.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use mailvet_core::dns::{self, DnsError, Message, RecordType};

use crate::http;

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

pub use crate::http::HttpResponse;

/// Why a query got no DNS message back.
#[derive(Debug)]
pub enum DnsClientError {
    Io(io::Error),
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
    Ok(http::request("GET", url, &[("Accept", DNS_MESSAGE)], None)?)
}

/// `POST url` with a DNS message as the body, over HTTP/1.1.
pub fn post(url: &str, body: &[u8]) -> Result<HttpResponse, DnsClientError> {
    let headers = [("Accept", DNS_MESSAGE), ("Content-Type", DNS_MESSAGE)];
    Ok(http::request("POST", url, &headers, Some(body))?)
}

fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    Ok(stream)
}
