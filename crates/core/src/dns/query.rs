//! Queries and their DNS-over-HTTPS form.

use super::RecordType;
use super::error::DnsError;
use super::name::write_name;

/// CLASS IN (RFC 1035 §3.2.4).
pub(crate) const CLASS_IN: u16 = 1;
/// TYPE OPT (RFC 6891 §6.1.1).
pub(crate) const TYPE_OPT: u16 = 41;
/// The UDP payload size recommended by DNS Flag Day 2020, which avoids IP fragmentation.
pub(crate) const EDNS_PAYLOAD: u16 = 1232;

/// Builds a standard query for `name` (ASCII A-labels, trailing dot optional, `.` for the root).
///
/// The query asks for recursion (RD=1, RFC 1035 §4.1.1), has one question of class IN, and an
/// EDNS0 OPT record advertising a 1232-octet payload (RFC 6891 §6.1.2). Over DoH, RFC 8484 §4.1
/// asks for `id` 0 so that HTTP caches can share answers.
///
/// ```text
///                                 1  1  1  1  1  1
///   0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
/// +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
/// |                      ID                       |
/// |QR|   Opcode  |AA|TC|RD|RA|   Z    |   RCODE   |
/// |                    QDCOUNT                    |
/// |                    ANCOUNT                    |
/// |                    NSCOUNT                    |
/// |                    ARCOUNT                    |
/// +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
/// ```
pub fn build_query(id: u16, name: &str, rtype: RecordType) -> Result<Vec<u8>, DnsError> {
    let mut out = Vec::with_capacity(12 + name.len() + 2 + 4 + 11);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&0x0100u16.to_be_bytes());
    // QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 1.
    out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 1]);
    write_name(&mut out, name)?;
    out.extend_from_slice(&rtype.code().to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    // RFC 6891 §6.1.2: root owner, CLASS = payload size, TTL = extended RCODE, version 0, flags 0.
    out.push(0);
    out.extend_from_slice(&TYPE_OPT.to_be_bytes());
    out.extend_from_slice(&EDNS_PAYLOAD.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    Ok(out)
}

/// RFC 4648 §5 base64url without padding, as RFC 8484 §4.1 requires for `?dns=`.
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        // A chunk of k octets carries k * 8 bits: k + 1 characters.
        for i in 0..=chunk.len() {
            let index = (n >> (18 - 6 * i)) & 0x3F;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

/// The GET form of a DoH request (RFC 8484 §4.1): `endpoint` plus the `dns` parameter.
pub fn doh_get_url(endpoint: &str, query: &[u8]) -> String {
    let encoded = base64url(query);
    let separator = if endpoint.ends_with(['?', '&']) {
        ""
    } else if endpoint.contains('?') {
        "&"
    } else {
        "?"
    };
    let mut url = String::with_capacity(endpoint.len() + 5 + encoded.len());
    url.push_str(endpoint);
    url.push_str(separator);
    url.push_str("dns=");
    url.push_str(&encoded);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_matches_rfc_8484_example_apart_from_edns() {
        // RFC 8484 §4.1.1: id 0, RD, "www.example.com" A.
        let q = build_query(0, "www.example.com", RecordType::A).unwrap();
        let mut expected = vec![0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1];
        expected.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
        expected.extend_from_slice(&[0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(q, expected);
    }

    #[test]
    fn query_carries_id_and_type() {
        let q = build_query(0xBEEF, "example.com.", RecordType::Mx).unwrap();
        assert_eq!(&q[..2], &[0xBE, 0xEF]);
        assert_eq!(&q[12 + 13..12 + 15], &[0, 15]);
        let q = build_query(1, "example.com", RecordType::Other(64)).unwrap();
        assert_eq!(&q[12 + 13..12 + 15], &[0, 64]);
    }

    #[test]
    fn query_rejects_bad_names() {
        for (name, code) in [
            ("", "empty_name"),
            ("a..com", "empty_label"),
            ("exa mple.com", "invalid_character"),
            ("example.com\r\nX", "invalid_character"),
        ] {
            assert_eq!(
                build_query(0, name, RecordType::A).map_err(|e| e.code()),
                Err(code)
            );
        }
    }

    #[test]
    fn base64url_matches_rfc_4648_vectors_without_padding() {
        // RFC 4648 §10, with '=' removed.
        for (input, output) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64url(input.as_bytes()), output);
        }
        // The URL-safe alphabet: 62 and 63 are '-' and '_'.
        assert_eq!(base64url(&[0xFB, 0xFF]), "-_8");
    }

    #[test]
    fn doh_get_url_matches_rfc_8484_example() {
        let q = build_query(0, "www.example.com", RecordType::A).unwrap();
        // RFC 8484 §4.1.1 has no OPT record: drop it and set ARCOUNT back to 0.
        let mut without_opt = q[..q.len() - 11].to_vec();
        without_opt[11] = 0;
        assert_eq!(
            doh_get_url("https://dnsserver.example.net/dns-query", &without_opt),
            "https://dnsserver.example.net/dns-query?dns=AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB"
        );
    }

    #[test]
    fn doh_get_url_joins_existing_parameters() {
        assert_eq!(
            doh_get_url("http://127.0.0.1:1/q?ct", b"\0"),
            "http://127.0.0.1:1/q?ct&dns=AA"
        );
        assert_eq!(
            doh_get_url("http://127.0.0.1:1/q?", b"\0"),
            "http://127.0.0.1:1/q?dns=AA"
        );
        assert_eq!(
            doh_get_url("http://127.0.0.1:1/q?a=1&", b"\0"),
            "http://127.0.0.1:1/q?a=1&dns=AA"
        );
    }
}
