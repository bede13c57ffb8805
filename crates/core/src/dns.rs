//! DNS messages without I/O: build a query, read a response.
//!
//! The caller owns the transport. Over DNS-over-HTTPS (RFC 8484) the bytes from [`build_query`]
//! are the body of a POST with `Content-Type: application/dns-message`, or the `dns` parameter
//! of a GET built by [`doh_get_url`]; the body of the answer goes to [`parse_response`].
//!
//! Names come out in presentation form (RFC 1035 §5.1): lowercased ASCII, no trailing dot, the
//! root as the empty string, and every octet other than a letter, digit, `-` or `_` written as
//! `\DDD`. Where mail for a domain goes is decided in [`route`], and found query by query by
//! the machine in [`resolve`]. What a DoH reply means is decided in [`doh`], how long any cache
//! keeps an answer in [`lifetime`]. [`Message::encode`] writes responses, for test servers.

pub mod doh;
mod encode;
mod error;
pub mod lifetime;
mod message;
mod name;
mod query;
pub mod resolve;
pub mod route;

pub use error::{DnsError, DnsErrorKind};
pub use message::{Message, Question, RData, Record, Soa, parse_query, parse_response};
pub use name::normalize_name;
pub use query::{base64url, build_query, doh_get_url};
pub use route::{
    DnsFailure, HostEvidence, Lookup, MailRoute, MxHost, RouteDecision, RouteEvidence, cache_ttl,
    check_mx_hosts, follow_up_queries, host_addresses, mail_route,
};

use core::fmt;

/// The record types mailvet reads (RFC 1035 §3.2.2, RFC 3596 §2.1 for AAAA).
///
/// [`RecordType::from_code`] maps every known code to its named variant, so `Other` only ever
/// holds a code without a name here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordType {
    A,
    Ns,
    Cname,
    Soa,
    /// RFC 1035 §3.3.12, for SPF's `ptr` and `%{p}` (RFC 7208 §5.5).
    Ptr,
    Mx,
    Txt,
    Aaaa,
    Other(u16),
}

impl RecordType {
    /// The TYPE value on the wire.
    pub fn code(self) -> u16 {
        match self {
            RecordType::A => 1,
            RecordType::Ns => 2,
            RecordType::Cname => 5,
            RecordType::Soa => 6,
            RecordType::Ptr => 12,
            RecordType::Mx => 15,
            RecordType::Txt => 16,
            RecordType::Aaaa => 28,
            RecordType::Other(code) => code,
        }
    }

    pub fn from_code(code: u16) -> Self {
        match code {
            1 => RecordType::A,
            2 => RecordType::Ns,
            5 => RecordType::Cname,
            6 => RecordType::Soa,
            12 => RecordType::Ptr,
            15 => RecordType::Mx,
            16 => RecordType::Txt,
            28 => RecordType::Aaaa,
            other => RecordType::Other(other),
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordType::A => f.write_str("A"),
            RecordType::Ns => f.write_str("NS"),
            RecordType::Cname => f.write_str("CNAME"),
            RecordType::Soa => f.write_str("SOA"),
            RecordType::Ptr => f.write_str("PTR"),
            RecordType::Mx => f.write_str("MX"),
            RecordType::Txt => f.write_str("TXT"),
            RecordType::Aaaa => f.write_str("AAAA"),
            // RFC 3597 §5: the generic presentation of an unnamed type.
            RecordType::Other(code) => write!(f, "TYPE{code}"),
        }
    }
}

/// The response code (RFC 1035 §4.1.1), extended by the OPT record when present (RFC 6891 §6.1.3).
///
/// [`Rcode::from_code`] maps known codes to named variants. Extended codes above 255 are not
/// assigned to anything a resolver sends to a stub; they saturate to `Other(255)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rcode {
    NoError,
    FormErr,
    ServFail,
    NxDomain,
    NotImp,
    Refused,
    Other(u8),
}

impl Rcode {
    pub fn code(self) -> u16 {
        match self {
            Rcode::NoError => 0,
            Rcode::FormErr => 1,
            Rcode::ServFail => 2,
            Rcode::NxDomain => 3,
            Rcode::NotImp => 4,
            Rcode::Refused => 5,
            Rcode::Other(code) => u16::from(code),
        }
    }

    pub fn from_code(code: u16) -> Self {
        match code {
            0 => Rcode::NoError,
            1 => Rcode::FormErr,
            2 => Rcode::ServFail,
            3 => Rcode::NxDomain,
            4 => Rcode::NotImp,
            5 => Rcode::Refused,
            other => Rcode::Other(u8::try_from(other).unwrap_or(u8::MAX)),
        }
    }
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rcode::NoError => f.write_str("NOERROR"),
            Rcode::FormErr => f.write_str("FORMERR"),
            Rcode::ServFail => f.write_str("SERVFAIL"),
            Rcode::NxDomain => f.write_str("NXDOMAIN"),
            Rcode::NotImp => f.write_str("NOTIMP"),
            Rcode::Refused => f.write_str("REFUSED"),
            Rcode::Other(code) => write!(f, "RCODE{code}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_type_codes_round_trip() {
        for code in 0..=u16::MAX {
            assert_eq!(RecordType::from_code(code).code(), code);
        }
        assert_eq!(RecordType::from_code(15), RecordType::Mx);
        assert_eq!(RecordType::from_code(28), RecordType::Aaaa);
        assert_eq!(RecordType::from_code(99), RecordType::Other(99));
        assert_eq!(RecordType::Other(99).to_string(), "TYPE99");
        assert_eq!(RecordType::Mx.to_string(), "MX");
    }

    #[test]
    fn rcode_codes_round_trip() {
        for code in 0..=255 {
            assert_eq!(Rcode::from_code(code).code(), code);
        }
        assert_eq!(Rcode::from_code(3), Rcode::NxDomain);
        assert_eq!(Rcode::from_code(16), Rcode::Other(16));
        assert_eq!(Rcode::from_code(4095), Rcode::Other(255));
        assert_eq!(Rcode::ServFail.to_string(), "SERVFAIL");
    }
}
