//! One DNS-over-HTTPS exchange (RFC 8484) without I/O: what to send, and whether what came back
//! is an answer. The Worker and the CLI move the bytes; every rule about them is here.
//!
//! A query goes out as a GET first (`?dns=`, which HTTP caches on the way can share, RFC 8484
//! §4.1), and again as a POST when the endpoint refuses the GET form or answers it with
//! something that is not a DNS message. A reply that fails otherwise ends the exchange with this
//! endpoint; the caller goes on to the next one.

use core::fmt;

use super::RecordType;
use super::error::DnsError;
use super::message::{Message, parse_response};
use super::query::{build_query, doh_get_url};

/// RFC 8484 §6: the media type of a DNS message, for `Accept`, a POST's `Content-Type`, and
/// the reply's.
pub const DNS_MESSAGE: &str = "application/dns-message";

/// The longest body read as an answer: RFC 1035 §4.2.2 bounds a DNS message to 65535 octets
/// (its length field over TCP), so a transport may stop reading past it.
pub const MAX_MESSAGE: usize = 65_535;

/// The two request forms of RFC 8484 §4.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DohMethod {
    Get,
    Post,
}

/// One query, ready for any endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DohQuery {
    wire: Vec<u8>,
}

/// What one HTTP reply means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DohReply {
    /// A DNS answer to the query, whatever its RCODE.
    Answer(Message),
    /// The GET form was refused: ask the same endpoint again with [`DohMethod::Post`].
    RetryAsPost(DohFailure),
    /// No answer from this endpoint.
    Failed(DohFailure),
}

/// Why a reply is no answer. The `Display` sentence never names the query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DohFailure {
    /// An HTTP status other than 2xx (RFC 8484 §4.2.1: every DNS answer, even SERVFAIL,
    /// comes with a 2xx status).
    Status(u16),
    /// A media type other than `application/dns-message`.
    ContentType,
    /// A body longer than any DNS message.
    TooLong,
    /// A body that is not a DNS response. Which rule it broke is not kept: a server that sends
    /// something else is wrong whatever the octets.
    NotDns,
    /// A response with another message ID than the query's.
    WrongId,
}

impl DohQuery {
    /// The query for `name` (A-labels) and `rtype`. RFC 8484 §4.1: its ID is 0, so that HTTP
    /// caches can share the answer.
    pub fn new(name: &str, rtype: RecordType) -> Result<DohQuery, DnsError> {
        Ok(DohQuery {
            wire: build_query(0, name, rtype)?,
        })
    }

    /// The URL to send `method` to at `endpoint`.
    pub fn url(&self, endpoint: &str, method: DohMethod) -> String {
        match method {
            DohMethod::Get => doh_get_url(endpoint, &self.wire),
            DohMethod::Post => endpoint.to_owned(),
        }
    }

    /// The request headers, and the body, of `method`.
    pub fn request(&self, method: DohMethod) -> (&'static [(&'static str, &'static str)], &[u8]) {
        match method {
            DohMethod::Get => (&[("Accept", DNS_MESSAGE)], &[]),
            DohMethod::Post => (
                &[("Accept", DNS_MESSAGE), ("Content-Type", DNS_MESSAGE)],
                &self.wire,
            ),
        }
    }

    /// Reads the reply to `method`: its status, its `Content-Type` if it had one, and its body.
    ///
    /// A GET refused with a 4xx status (405 from a server that takes POST only, 414 for a long
    /// URL) or answered with something other than a DNS message is worth a POST, which RFC 8484
    /// §4.1 requires every server to take. A 5xx status says the server is in trouble, which a
    /// POST would not mend. A reply without a media type is judged by its body alone.
    pub fn read(
        &self,
        method: DohMethod,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> DohReply {
        let failed = |failure| match (method, failure) {
            (DohMethod::Get, DohFailure::Status(400..=499))
            | (DohMethod::Get, DohFailure::ContentType | DohFailure::TooLong)
            | (DohMethod::Get, DohFailure::NotDns | DohFailure::WrongId) => {
                DohReply::RetryAsPost(failure)
            }
            _ => DohReply::Failed(failure),
        };
        if !(200..300).contains(&status) {
            return failed(DohFailure::Status(status));
        }
        if content_type.is_some_and(|t| !is_dns_message(t)) {
            return failed(DohFailure::ContentType);
        }
        if body.len() > MAX_MESSAGE {
            return failed(DohFailure::TooLong);
        }
        let Ok(message) = parse_response(body) else {
            return failed(DohFailure::NotDns);
        };
        // The ID is the query's (0); a reply with another is not to this query.
        if self.wire[..2] != message.id.to_be_bytes() {
            return failed(DohFailure::WrongId);
        }
        DohReply::Answer(message)
    }
}

/// `application/dns-message`, in any case, with any parameters (RFC 9110 §8.3.1).
fn is_dns_message(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case(DNS_MESSAGE)
}

impl DohFailure {
    /// A stable snake_case code for logs.
    pub fn code(&self) -> &'static str {
        match self {
            DohFailure::Status(_) => "doh_status",
            DohFailure::ContentType => "doh_content_type",
            DohFailure::TooLong => "doh_too_long",
            DohFailure::NotDns => "doh_not_dns",
            DohFailure::WrongId => "doh_wrong_id",
        }
    }
}

impl fmt::Display for DohFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DohFailure::Status(status) => write!(f, "HTTP status {status}"),
            DohFailure::ContentType => f.write_str("the answer is not an application/dns-message"),
            DohFailure::TooLong => f.write_str("the answer is longer than any DNS message"),
            DohFailure::NotDns => f.write_str("the answer is not a DNS message"),
            DohFailure::WrongId => f.write_str("the answer is for another query (message ID)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query() -> DohQuery {
        DohQuery::new("example.com", RecordType::Mx).unwrap()
    }

    fn answer(id: u16) -> Vec<u8> {
        let mut m = Message::response_to(id, "example.com", RecordType::Mx);
        m.rcode = super::super::Rcode::ServFail;
        m.encode().unwrap()
    }

    #[test]
    fn requests_in_both_forms() {
        let q = query();
        let (headers, body) = q.request(DohMethod::Get);
        assert_eq!(headers, [("Accept", DNS_MESSAGE)]);
        assert!(body.is_empty());
        assert!(
            q.url("https://dns.example/dns-query", DohMethod::Get)
                .starts_with("https://dns.example/dns-query?dns=AAABAAAB")
        );
        let (headers, body) = q.request(DohMethod::Post);
        assert!(headers.contains(&("Content-Type", DNS_MESSAGE)));
        assert_eq!(body, build_query(0, "example.com", RecordType::Mx).unwrap());
        assert_eq!(
            q.url("https://dns.example/dns-query", DohMethod::Post),
            "https://dns.example/dns-query"
        );
        assert_eq!(
            DohQuery::new("a b", RecordType::A).map_err(|e| e.code()),
            Err("invalid_character")
        );
    }

    #[test]
    fn any_dns_answer_with_a_2xx_status_is_an_answer() {
        let q = query();
        for (status, content_type) in [
            (200, Some(DNS_MESSAGE)),
            (200, Some("Application/DNS-Message; charset=binary")),
            (203, None),
        ] {
            let reply = q.read(DohMethod::Get, status, content_type, &answer(0));
            assert!(matches!(reply, DohReply::Answer(_)), "{reply:?}");
        }
    }

    #[test]
    fn a_refused_or_odd_get_is_posted_and_a_failed_post_is_the_end() {
        let q = query();
        let cases = [
            (405, Some(DNS_MESSAGE), answer(0), DohFailure::Status(405)),
            (414, None, Vec::new(), DohFailure::Status(414)),
            (200, Some("text/html"), answer(0), DohFailure::ContentType),
            (200, None, vec![0; MAX_MESSAGE + 1], DohFailure::TooLong),
            (200, Some(DNS_MESSAGE), answer(7), DohFailure::WrongId),
        ];
        for (status, content_type, body, failure) in cases {
            assert_eq!(
                q.read(DohMethod::Get, status, content_type, &body),
                DohReply::RetryAsPost(failure)
            );
            assert_eq!(
                q.read(DohMethod::Post, status, content_type, &body),
                DohReply::Failed(failure)
            );
        }
        let garbage = q.read(DohMethod::Get, 200, Some(DNS_MESSAGE), b"hello");
        assert_eq!(garbage, DohReply::RetryAsPost(DohFailure::NotDns));
        // Server trouble is not mended by another method.
        for status in [500, 502, 503] {
            assert_eq!(
                q.read(DohMethod::Get, status, None, b""),
                DohReply::Failed(DohFailure::Status(status))
            );
        }
    }

    #[test]
    fn failures_have_codes_and_sentences() {
        let failures = [
            DohFailure::Status(503),
            DohFailure::ContentType,
            DohFailure::TooLong,
            DohFailure::NotDns,
            DohFailure::WrongId,
        ];
        let mut codes: Vec<&str> = failures.iter().map(DohFailure::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), failures.len());
        assert_eq!(DohFailure::Status(503).to_string(), "HTTP status 503");
    }
}
