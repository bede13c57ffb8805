//! Responses (RFC 1035 §4.1) and the records mailvet reads from them.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::error::{DnsError, DnsErrorKind};
use super::name::{normalize_name, read_name};
use super::query::{CLASS_IN, TYPE_OPT};
use super::{Rcode, RecordType};

/// More than any chain a resolver returns; bounds the work a hostile answer can cause.
const MAX_CNAME_HOPS: usize = 16;
/// The smallest resource record: root owner (1), TYPE, CLASS, TTL, RDLENGTH (10).
const MIN_RECORD_LEN: usize = 11;
/// The smallest question: root name (1), QTYPE, QCLASS (4).
const MIN_QUESTION_LEN: usize = 5;

/// A parsed DNS response. The OPT pseudo-record (RFC 6891) is not kept in `additionals`: its
/// extended RCODE is folded into `rcode`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub id: u16,
    pub rcode: Rcode,
    pub truncated: bool,
    pub authoritative: bool,
    pub recursion_available: bool,
    pub questions: Vec<Question>,
    pub answers: Vec<Record>,
    pub authorities: Vec<Record>,
    pub additionals: Vec<Record>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub name: String,
    pub rtype: RecordType,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub rtype: RecordType,
    pub ttl: u32,
    pub data: RData,
}

/// Record data. Types mailvet does not read, and any record not of class IN, keep their raw
/// RDATA in `Other`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(String),
    Ns(String),
    Ptr(String),
    /// RFC 1035 §3.3.9. A null MX (RFC 7505) has exchange `""`, the root.
    Mx {
        preference: u16,
        exchange: String,
    },
    /// RFC 1035 §3.3.14: one or more character-strings, kept apart and as octets.
    Txt(Vec<Vec<u8>>),
    Soa(Soa),
    Other(Vec<u8>),
}

/// RFC 1035 §3.3.13.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Soa {
    pub mname: String,
    pub rname: String,
    pub serial: u32,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    pub minimum: u32,
}

impl Message {
    /// The text of each TXT record in the answer section, its character-strings joined with
    /// nothing between them (RFC 7208 §3.3, RFC 7489 §6.6.3). Octets that are not UTF-8 become
    /// U+FFFD.
    pub fn txt_strings(&self) -> Vec<String> {
        self.answers
            .iter()
            .filter_map(|record| match &record.data {
                RData::Txt(parts) => Some(String::from_utf8_lossy(&parts.concat()).into_owned()),
                _ => None,
            })
            .collect()
    }

    /// The answer records of type `rtype` for `name`, following CNAME records from `name`
    /// through the answer section (RFC 1034 §3.6.2). Empty when the chain ends without them,
    /// loops, or is longer than 16 hops. Asking for [`RecordType::Cname`] returns the CNAME
    /// records of `name` itself.
    pub fn answers_for(&self, name: &str, rtype: RecordType) -> Vec<&Record> {
        let mut current = normalize_name(name);
        for _ in 0..=MAX_CNAME_HOPS {
            let found: Vec<&Record> = self
                .answers
                .iter()
                .filter(|r| r.rtype == rtype && r.name == current)
                .collect();
            if !found.is_empty() {
                return found;
            }
            let next = self.answers.iter().find_map(|r| match &r.data {
                RData::Cname(target) if r.name == current => Some(target),
                _ => None,
            });
            match next {
                Some(target) => current.clone_from(target),
                None => break,
            }
        }
        Vec::new()
    }

    /// The smallest TTL in the answer section: how long the whole answer may be cached
    /// (RFC 2181 §5.2 says the TTLs of one RRset agree; across RRsets the smallest bounds it).
    pub fn min_ttl(&self) -> Option<u32> {
        self.answers.iter().map(|r| r.ttl).min()
    }

    /// How long a negative answer may be cached: the smaller of the SOA record's TTL and its
    /// MINIMUM field, from the authority section (RFC 2308 §5). `None` without an SOA, in which
    /// case RFC 2308 §5 says the negative answer should not be cached.
    pub fn negative_ttl(&self) -> Option<u32> {
        self.authorities.iter().find_map(|r| match &r.data {
            RData::Soa(soa) => Some(r.ttl.min(soa.minimum)),
            _ => None,
        })
    }

    /// Whether this message answers the query `id`, `name`, `rtype`: same ID, and the
    /// question [echoed](Message::echoes).
    pub fn answers_query(&self, id: u16, name: &str, rtype: RecordType) -> bool {
        self.id == id && self.echoes(name, rtype)
    }

    /// Whether the question section is that of a query for `name` and `rtype`. RFC 1035 §7.3: a
    /// response whose question differs is not an answer to ours. Some DoH gateways leave the
    /// question out; that alone is no reason to reject an answer.
    pub fn echoes(&self, name: &str, rtype: RecordType) -> bool {
        match self.questions.as_slice() {
            [] => true,
            [q] => q.rtype == rtype && q.name == normalize_name(name),
            _ => false,
        }
    }
}

/// Reads a DNS response. Never panics: any input that is not a well-formed response is an error.
///
/// Trailing octets after the last record are ignored. The ID is not checked here: compare it,
/// and the question, with [`Message::answers_query`].
pub fn parse_response(msg: &[u8]) -> Result<Message, DnsError> {
    parse(msg, true)
}

/// Reads a DNS query, as a server does: its questions, and the records a query may carry such
/// as OPT. The flags of a response read as false.
pub fn parse_query(msg: &[u8]) -> Result<Message, DnsError> {
    parse(msg, false)
}

fn parse(msg: &[u8], response: bool) -> Result<Message, DnsError> {
    let mut r = Reader { msg, pos: 0 };
    let id = r.u16()?;
    let flags = r.u16()?;
    let qdcount = r.u16()?;
    let ancount = r.u16()?;
    let nscount = r.u16()?;
    let arcount = r.u16()?;

    // RFC 1035 §4.1.1 header flags: QR tells a response from a query.
    match (flags & 0x8000 != 0, response) {
        (false, true) => return Err(DnsErrorKind::NotAResponse.into()),
        (true, false) => return Err(DnsErrorKind::NotAQuery.into()),
        _ => {}
    }
    if (flags >> 11) & 0xF != 0 {
        return Err(DnsErrorKind::UnexpectedOpcode.into());
    }

    let mut questions = Vec::with_capacity(r.capacity(qdcount, MIN_QUESTION_LEN));
    for _ in 0..qdcount {
        let name = r.name()?;
        let rtype = RecordType::from_code(r.u16()?);
        r.u16()?;
        questions.push(Question { name, rtype });
    }
    let answers = r.records(ancount, &mut None)?;
    let authorities = r.records(nscount, &mut None)?;
    let mut opt_ttl = None;
    let additionals = r.records(arcount, &mut opt_ttl)?;

    // RFC 6891 §6.1.3: the upper 8 bits of the extended RCODE live in the OPT TTL.
    let extended = opt_ttl.map_or(0, |ttl| (ttl >> 24) as u16);
    let rcode = Rcode::from_code(extended << 4 | (flags & 0xF));

    Ok(Message {
        id,
        rcode,
        truncated: flags & 0x0200 != 0,
        authoritative: flags & 0x0400 != 0,
        recursion_available: flags & 0x0080 != 0,
        questions,
        answers,
        authorities,
        additionals,
    })
}

struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DnsError> {
        let bytes = self
            .msg
            .get(self.pos..self.pos + n)
            .ok_or(DnsErrorKind::UnexpectedEnd)?;
        self.pos += n;
        Ok(bytes)
    }

    fn u16(&mut self) -> Result<u16, DnsError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, DnsError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn name(&mut self) -> Result<String, DnsError> {
        let (name, end) = read_name(self.msg, self.pos)?;
        self.pos = end;
        Ok(name)
    }

    /// Capacity for `count` items of at least `min_len` octets: never more than the rest of the
    /// message could hold, whatever the header claims.
    fn capacity(&self, count: u16, min_len: usize) -> usize {
        usize::from(count).min(self.msg.len().saturating_sub(self.pos) / min_len)
    }

    /// Reads `count` records; an OPT record is not returned but its TTL goes to `opt_ttl`.
    fn records(&mut self, count: u16, opt_ttl: &mut Option<u32>) -> Result<Vec<Record>, DnsError> {
        let mut records = Vec::with_capacity(self.capacity(count, MIN_RECORD_LEN));
        for _ in 0..count {
            let name = self.name()?;
            let code = self.u16()?;
            let class = self.u16()?;
            let raw_ttl = self.u32()?;
            let rdlength = usize::from(self.u16()?);
            let start = self.pos;
            let raw = self.take(rdlength)?;
            if code == TYPE_OPT {
                if opt_ttl.replace(raw_ttl).is_some() {
                    return Err(DnsErrorKind::DuplicateOpt.into());
                }
                continue;
            }
            let rtype = RecordType::from_code(code);
            let data = if class == CLASS_IN {
                rdata(self.msg, start, rdlength, rtype)?
            } else {
                RData::Other(raw.to_vec())
            };
            // RFC 2181 §8: a TTL with the most significant bit set is treated as zero.
            let ttl = if raw_ttl & 0x8000_0000 != 0 {
                0
            } else {
                raw_ttl
            };
            records.push(Record {
                name,
                rtype,
                ttl,
                data,
            });
        }
        Ok(records)
    }
}

/// Decodes the RDATA at `start..start + len`. Names inside may point anywhere earlier in the
/// message, but must end inside the RDATA.
fn rdata(msg: &[u8], start: usize, len: usize, rtype: RecordType) -> Result<RData, DnsError> {
    rdata_fields(msg, start, len, rtype).map_err(|e| match e.kind() {
        DnsErrorKind::UnexpectedEnd => DnsErrorKind::BadRdata.into(),
        _ => e,
    })
}

fn rdata_fields(
    msg: &[u8],
    start: usize,
    len: usize,
    rtype: RecordType,
) -> Result<RData, DnsError> {
    let end = start + len;
    let mut r = Reader {
        msg: msg.get(..end).ok_or(DnsErrorKind::UnexpectedEnd)?,
        pos: start,
    };
    let data = match rtype {
        RecordType::A => {
            let b = r.take(4)?;
            RData::A(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
        }
        RecordType::Aaaa => {
            let mut octets = [0; 16];
            octets.copy_from_slice(r.take(16)?);
            RData::Aaaa(Ipv6Addr::from(octets))
        }
        RecordType::Cname => RData::Cname(r.name()?),
        RecordType::Ns => RData::Ns(r.name()?),
        RecordType::Ptr => RData::Ptr(r.name()?),
        RecordType::Mx => RData::Mx {
            preference: r.u16()?,
            exchange: r.name()?,
        },
        RecordType::Txt => {
            let mut parts = Vec::new();
            while r.pos < end {
                let n = usize::from(r.take(1)?[0]);
                parts.push(r.take(n)?.to_vec());
            }
            RData::Txt(parts)
        }
        RecordType::Soa => RData::Soa(Soa {
            mname: r.name()?,
            rname: r.name()?,
            serial: r.u32()?,
            refresh: r.u32()?,
            retry: r.u32()?,
            expire: r.u32()?,
            minimum: r.u32()?,
        }),
        RecordType::Other(_) => RData::Other(r.take(len)?.to_vec()),
    };
    if r.pos != end {
        return Err(DnsErrorKind::BadRdata.into());
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::build_query;

    /// A response header: RD, RA and the QR bit set, plus `flags`.
    fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
        let mut out = id.to_be_bytes().to_vec();
        out.extend_from_slice(&(0x8180 | flags).to_be_bytes());
        for count in counts {
            out.extend_from_slice(&count.to_be_bytes());
        }
        out
    }

    fn name(out: &mut Vec<u8>, name: &str) {
        for label in name.split('.').filter(|l| !l.is_empty()) {
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
        out.push(0);
    }

    fn question(out: &mut Vec<u8>, qname: &str, rtype: u16) {
        name(out, qname);
        out.extend_from_slice(&rtype.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
    }

    /// A record whose owner is given in wire form (so tests can use pointers).
    fn rr(out: &mut Vec<u8>, owner: &[u8], rtype: u16, class: u16, ttl: u32, rdata: &[u8]) {
        out.extend_from_slice(owner);
        out.extend_from_slice(&rtype.to_be_bytes());
        out.extend_from_slice(&class.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(rdata);
    }

    fn wire(n: &str) -> Vec<u8> {
        let mut out = Vec::new();
        name(&mut out, n);
        out
    }

    fn opt(out: &mut Vec<u8>, ttl: u32) {
        rr(out, b"\0", 41, 1232, ttl, b"");
    }

    fn soa_rdata(minimum: u32) -> Vec<u8> {
        let mut out = wire("ns1.example.com");
        out.extend_from_slice(b"\x0Ahostmaster\xC0\x0C");
        for field in [2024010101u32, 7200, 3600, 1209600, minimum] {
            out.extend_from_slice(&field.to_be_bytes());
        }
        out
    }

    /// example.com MX: two MX records whose exchanges point back to the question name at 12.
    fn mx_response() -> Vec<u8> {
        let mut msg = header(0x1234, 0, [1, 2, 0, 1]);
        question(&mut msg, "Example.COM", 15);
        rr(
            &mut msg,
            b"\xC0\x0C",
            15,
            1,
            300,
            b"\x00\x14\x03mx2\xC0\x0C",
        );
        rr(
            &mut msg,
            b"\xC0\x0C",
            15,
            1,
            3600,
            b"\x00\x0A\x03MX1\xC0\x0C",
        );
        opt(&mut msg, 0);
        msg
    }

    fn err(msg: &[u8]) -> &'static str {
        parse_response(msg)
            .map(|_| ())
            .map_err(|e| e.code())
            .unwrap_err()
    }

    #[test]
    fn parses_compressed_mx_answer() {
        let m = parse_response(&mx_response()).unwrap();
        assert_eq!(m.id, 0x1234);
        assert_eq!(m.rcode, Rcode::NoError);
        assert!(m.recursion_available && !m.authoritative && !m.truncated);
        assert_eq!(
            m.questions,
            vec![Question {
                name: "example.com".into(),
                rtype: RecordType::Mx
            }]
        );
        let exchanges: Vec<(u16, &str)> = m
            .answers
            .iter()
            .map(|r| match &r.data {
                RData::Mx {
                    preference,
                    exchange,
                } => (*preference, exchange.as_str()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            exchanges,
            [(20, "mx2.example.com"), (10, "mx1.example.com")]
        );
        assert!(m.answers.iter().all(|r| r.name == "example.com"));
        assert!(m.additionals.is_empty(), "the OPT record is not a record");
        assert_eq!(m.min_ttl(), Some(300));
        assert!(m.answers_query(0x1234, "example.com.", RecordType::Mx));
        assert!(!m.answers_query(0x1235, "example.com", RecordType::Mx));
        assert!(!m.answers_query(0x1234, "example.org", RecordType::Mx));
        assert!(!m.answers_query(0x1234, "example.com", RecordType::A));
    }

    #[test]
    fn queries_are_read_only_as_queries() {
        let query = build_query(0x4242, "Example.com", RecordType::Mx).unwrap();
        let m = parse_query(&query).unwrap();
        assert_eq!(m.id, 0x4242);
        assert!(m.answers_query(0x4242, "example.com", RecordType::Mx));
        assert!(m.additionals.is_empty(), "the OPT record is not a record");
        assert_eq!(err(&query), "not_a_response");
        assert_eq!(
            parse_query(&mx_response()).map_err(|e| e.code()),
            Err("not_a_query")
        );
    }

    #[test]
    fn parses_null_mx() {
        let mut msg = header(1, 0x0400, [1, 1, 0, 0]);
        question(&mut msg, "nomail.example", 15);
        rr(&mut msg, b"\xC0\x0C", 15, 1, 86400, b"\x00\x00\x00");
        let m = parse_response(&msg).unwrap();
        assert!(m.authoritative);
        assert_eq!(
            m.answers[0].data,
            RData::Mx {
                preference: 0,
                exchange: String::new()
            }
        );
    }

    #[test]
    fn parses_nxdomain_with_soa_and_negative_ttl() {
        let mut msg = header(7, 0x0003, [1, 0, 1, 0]);
        question(&mut msg, "example.com", 1);
        rr(&mut msg, &wire("example.com"), 6, 1, 900, &soa_rdata(300));
        let m = parse_response(&msg).unwrap();
        assert_eq!(m.rcode, Rcode::NxDomain);
        assert_eq!(m.min_ttl(), None);
        assert_eq!(m.negative_ttl(), Some(300));
        let RData::Soa(soa) = &m.authorities[0].data else {
            panic!()
        };
        assert_eq!(soa.mname, "ns1.example.com");
        assert_eq!(soa.rname, "hostmaster.example.com");
        assert_eq!(
            (soa.serial, soa.refresh, soa.retry, soa.expire),
            (2024010101, 7200, 3600, 1209600)
        );

        // The SOA TTL wins when it is the smaller one.
        let mut msg = header(7, 0x0003, [1, 0, 1, 0]);
        question(&mut msg, "example.com", 1);
        rr(&mut msg, &wire("example.com"), 6, 1, 60, &soa_rdata(3600));
        assert_eq!(parse_response(&msg).unwrap().negative_ttl(), Some(60));

        let mut msg = header(7, 0x0003, [1, 0, 0, 0]);
        question(&mut msg, "example.com", 1);
        assert_eq!(parse_response(&msg).unwrap().negative_ttl(), None);
    }

    #[test]
    fn reads_addresses_and_text() {
        let mut msg = header(2, 0, [0, 4, 0, 0]);
        rr(&mut msg, &wire("h.example"), 1, 1, 5, &[192, 0, 2, 1]);
        rr(
            &mut msg,
            &wire("h.example"),
            28,
            1,
            5,
            &Ipv6Addr::LOCALHOST.octets(),
        );
        rr(
            &mut msg,
            &wire("h.example"),
            16,
            1,
            5,
            b"\x06v=spf1\x05 -all\x00",
        );
        rr(&mut msg, &wire("h.example"), 16, 1, 5, b"\x02\xFFa");
        let m = parse_response(&msg).unwrap();
        assert_eq!(m.answers[0].data, RData::A(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(m.answers[1].data, RData::Aaaa(Ipv6Addr::LOCALHOST));
        assert_eq!(
            m.answers[2].data,
            RData::Txt(vec![b"v=spf1".to_vec(), b" -all".to_vec(), Vec::new()])
        );
        assert_eq!(m.txt_strings(), ["v=spf1 -all", "\u{FFFD}a"]);
    }

    #[test]
    fn keeps_other_types_and_classes_raw() {
        let mut msg = header(2, 0, [0, 2, 0, 0]);
        rr(&mut msg, &wire("h.example"), 99, 1, 5, b"xyz");
        // CLASS CH (RFC 1035 §3.2.4): an "A" there is not an IPv4 address.
        rr(&mut msg, &wire("h.example"), 1, 3, 5, b"\x01\x02");
        let m = parse_response(&msg).unwrap();
        assert_eq!(m.answers[0].rtype, RecordType::Other(99));
        assert_eq!(m.answers[0].data, RData::Other(b"xyz".to_vec()));
        assert_eq!(m.answers[1].data, RData::Other(vec![1, 2]));
    }

    #[test]
    fn rejects_rdata_that_does_not_fit_its_type() {
        for (rtype, rdata) in [
            (1u16, &b"\x01\x02\x03"[..]),
            (1, b"\x01\x02\x03\x04\x05"),
            (28, b"\x00\x01"),
            (15, b"\x00"),
            (15, b"\x00\x0A\x01a\x00\x00"),
            (5, b"\x01a"),
            (16, b"\x05abc"),
            (6, b"\x00\x00\x00\x00\x00"),
        ] {
            let mut msg = header(2, 0, [0, 1, 0, 0]);
            rr(&mut msg, &wire("h.example"), rtype, 1, 5, rdata);
            assert_eq!(err(&msg), "bad_rdata", "type {rtype} {rdata:?}");
        }
    }

    #[test]
    fn ttl_with_top_bit_set_is_zero() {
        let mut msg = header(2, 0, [0, 1, 0, 0]);
        rr(
            &mut msg,
            &wire("h.example"),
            1,
            1,
            0x8000_0001,
            &[192, 0, 2, 1],
        );
        assert_eq!(parse_response(&msg).unwrap().answers[0].ttl, 0);
    }

    #[test]
    fn folds_extended_rcode_from_opt() {
        // BADVERS (RFC 6891 §9): extended RCODE 1, header RCODE 0, so 16.
        let mut msg = header(2, 0, [0, 0, 0, 1]);
        opt(&mut msg, 0x0100_0000);
        assert_eq!(parse_response(&msg).unwrap().rcode, Rcode::Other(16));
        let mut msg = header(2, 0x0002, [0, 0, 0, 1]);
        opt(&mut msg, 0);
        assert_eq!(parse_response(&msg).unwrap().rcode, Rcode::ServFail);
        let mut msg = header(2, 0, [0, 0, 0, 2]);
        opt(&mut msg, 0);
        opt(&mut msg, 0);
        assert_eq!(err(&msg), "duplicate_opt");
    }

    #[test]
    fn reads_refused_and_truncated_flags() {
        let msg = header(2, 0x0205, [0, 0, 0, 0]);
        let m = parse_response(&msg).unwrap();
        assert_eq!(m.rcode, Rcode::Refused);
        assert!(m.truncated);
    }

    #[test]
    fn rejects_queries_and_other_opcodes() {
        let query = build_query(9, "example.com", RecordType::Mx).unwrap();
        assert_eq!(err(&query), "not_a_response");
        let mut as_response = query.clone();
        as_response[2] |= 0x80;
        let m = parse_response(&as_response).unwrap();
        assert_eq!(m.questions[0].name, "example.com");
        assert!(m.answers_query(9, "example.com", RecordType::Mx));
        // Opcode 2, STATUS.
        let mut status = as_response;
        status[2] |= 0x10;
        assert_eq!(err(&status), "unexpected_opcode");
    }

    #[test]
    fn follows_cname_chain_in_answers() {
        let mut msg = header(3, 0, [1, 4, 0, 0]);
        question(&mut msg, "www.example.com", 1);
        rr(&mut msg, b"\xC0\x0C", 5, 1, 60, &wire("a.example.net"));
        rr(&mut msg, &wire("b.example.org"), 1, 1, 30, &[192, 0, 2, 7]);
        rr(
            &mut msg,
            &wire("a.example.net"),
            5,
            1,
            60,
            &wire("B.example.org"),
        );
        rr(
            &mut msg,
            &wire("unrelated.example"),
            1,
            1,
            30,
            &[192, 0, 2, 8],
        );
        let m = parse_response(&msg).unwrap();
        let found = m.answers_for("WWW.example.com.", RecordType::A);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].data, RData::A(Ipv4Addr::new(192, 0, 2, 7)));
        assert_eq!(m.answers_for("a.example.net", RecordType::A).len(), 1);
        assert!(
            m.answers_for("www.example.com", RecordType::Aaaa)
                .is_empty()
        );
        let cname = m.answers_for("www.example.com", RecordType::Cname);
        assert_eq!(cname[0].data, RData::Cname("a.example.net".into()));
        assert!(m.answers_for("other.example", RecordType::A).is_empty());
    }

    #[test]
    fn cname_loops_and_long_chains_end() {
        let mut msg = header(3, 0, [0, 2, 0, 0]);
        rr(&mut msg, &wire("a.example"), 5, 1, 60, &wire("b.example"));
        rr(&mut msg, &wire("b.example"), 5, 1, 60, &wire("a.example"));
        let m = parse_response(&msg).unwrap();
        assert!(m.answers_for("a.example", RecordType::A).is_empty());

        // c0 -> c1 -> ... -> cN, then an A record at cN.
        let chain = |hops: u16| {
            let mut msg = header(3, 0, [0, hops + 1, 0, 0]);
            for i in 0..hops {
                rr(
                    &mut msg,
                    &wire(&format!("c{i}.example")),
                    5,
                    1,
                    60,
                    &wire(&format!("c{}.example", i + 1)),
                );
            }
            rr(
                &mut msg,
                &wire(&format!("c{hops}.example")),
                1,
                1,
                60,
                &[192, 0, 2, 1],
            );
            parse_response(&msg).unwrap()
        };
        assert_eq!(chain(16).answers_for("c0.example", RecordType::A).len(), 1);
        assert!(
            chain(17)
                .answers_for("c0.example", RecordType::A)
                .is_empty()
        );
    }

    #[test]
    fn every_strict_prefix_is_an_error() {
        let msg = mx_response();
        assert!(parse_response(&msg).is_ok());
        for end in 0..msg.len() {
            assert!(
                parse_response(&msg[..end]).is_err(),
                "prefix of {end} octets"
            );
        }
        assert_eq!(err(&msg[..11]), "unexpected_end");
    }

    #[test]
    fn huge_counts_in_a_small_message_are_errors() {
        let msg = header(1, 0, [u16::MAX; 4]);
        assert_eq!(err(&msg), "unexpected_end");
    }

    #[test]
    fn never_panics_on_mutated_or_random_input() {
        let base = mx_response();
        for i in 0..base.len() {
            for value in [0x00, 0x01, 0x3F, 0x40, 0x80, 0xC0, 0xFF, base[i] ^ 0x20] {
                let mut msg = base.clone();
                msg[i] = value;
                let _ = parse_response(&msg);
            }
        }
        // xorshift32: a fixed sequence of bytes, with real headers so parsing gets past them.
        let mut state = 0x9E37_79B9u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 96) as usize;
            let mut msg = header(0, 0, [1, 3, 1, 1]);
            msg.extend((0..len).map(|_| {
                let byte = next() as u8;
                if byte >= 0xF0 { 0xC0 } else { byte % 24 }
            }));
            let _ = parse_response(&msg);
        }
    }
}
