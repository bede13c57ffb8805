//! Responses on the wire (RFC 1035 §4.1): the inverse of [`parse_response`], so that test DoH
//! servers and fuzz seeds say what they answer as a [`Message`] instead of as octets.
//!
//! [`parse_response`]: super::parse_response

use super::error::{DnsError, DnsErrorKind};
use super::message::{Message, Question, RData, Record};
use super::name::{MAX_LABEL, MAX_NAME};
use super::query::{CLASS_IN, EDNS_PAYLOAD, TYPE_OPT};
use super::{Rcode, RecordType};

/// RFC 1035 §4.1.4: a pointer holds a 14-bit offset, so only names that start below it can be
/// pointed at.
const MAX_POINTER_TARGET: usize = 0x3FFF;
/// RFC 1035 §4.2.2: a message is at most 65535 octets (its length field over TCP).
const MAX_MESSAGE: usize = 65_535;

impl Message {
    /// An empty NOERROR response to the question `name`/`rtype`, with recursion available: a
    /// start for a server to add records to before [`Message::encode`].
    pub fn response_to(id: u16, name: &str, rtype: RecordType) -> Message {
        Message {
            id,
            rcode: Rcode::NoError,
            truncated: false,
            authoritative: false,
            recursion_available: true,
            questions: vec![Question {
                name: name.to_owned(),
                rtype,
            }],
            answers: Vec::new(),
            authorities: Vec::new(),
            additionals: Vec::new(),
        }
    }

    /// The message as a response on the wire, names compressed (RFC 1035 §4.1.4).
    ///
    /// Names are read in presentation form, `\DDD` and `\X` escapes included (RFC 1035 §5.1).
    /// The header has QR and RD set, RD because mailvet's queries always ask for recursion and
    /// RFC 1035 §4.1.1 copies it into the response. Every record is of class IN. An OPT record
    /// (RFC 6891 §6.1.2) ends the additional section, as in a response to an EDNS query such as
    /// [`build_query`](super::build_query) makes; it carries the upper bits of an extended
    /// RCODE (RFC 6891 §6.1.3). The TYPE of a record comes from `rtype` and its RDATA from
    /// `data`, even when they disagree, so tests can build answers a parser must refuse.
    pub fn encode(&self) -> Result<Vec<u8>, DnsError> {
        let mut w = Writer {
            out: Vec::with_capacity(512),
            names: Vec::new(),
        };
        w.u16(self.id);
        let rcode = self.rcode.code();
        let mut flags = 0x8100 | (rcode & 0xF);
        for (set, bit) in [
            (self.authoritative, 0x0400),
            (self.truncated, 0x0200),
            (self.recursion_available, 0x0080),
        ] {
            if set {
                flags |= bit;
            }
        }
        w.u16(flags);
        w.count(self.questions.len())?;
        w.count(self.answers.len())?;
        w.count(self.authorities.len())?;
        w.count(self.additionals.len() + 1)?;
        for q in &self.questions {
            w.name(&q.name)?;
            w.u16(q.rtype.code());
            w.u16(CLASS_IN);
        }
        for record in self
            .answers
            .iter()
            .chain(&self.authorities)
            .chain(&self.additionals)
        {
            w.record(record)?;
        }
        // RFC 6891 §6.1.3: root owner, CLASS = payload size, TTL = the RCODE's upper 8 bits,
        // version 0 and no flags, no options.
        w.out.push(0);
        w.u16(TYPE_OPT);
        w.u16(EDNS_PAYLOAD);
        w.u32(u32::from(rcode >> 4) << 24);
        w.u16(0);
        if w.out.len() > MAX_MESSAGE {
            return Err(DnsErrorKind::MessageTooLong.into());
        }
        Ok(w.out)
    }
}

struct Writer {
    out: Vec<u8>,
    /// Names written so far, each as its labels in wire form, with the offset where it starts:
    /// the targets of compression pointers.
    names: Vec<(Vec<u8>, u16)>,
}

impl Writer {
    fn u16(&mut self, value: u16) {
        self.out.extend_from_slice(&value.to_be_bytes());
    }

    fn u32(&mut self, value: u32) {
        self.out.extend_from_slice(&value.to_be_bytes());
    }

    fn count(&mut self, n: usize) -> Result<(), DnsError> {
        let n = u16::try_from(n).map_err(|_| DnsErrorKind::MessageTooLong)?;
        self.u16(n);
        Ok(())
    }

    fn record(&mut self, record: &Record) -> Result<(), DnsError> {
        self.name(&record.name)?;
        self.u16(record.rtype.code());
        self.u16(CLASS_IN);
        self.u32(record.ttl);
        let length_at = self.out.len();
        self.u16(0);
        // RFC 3597 §4: names in the RDATA of the types of RFC 1035 may be compressed.
        match &record.data {
            RData::A(ip) => self.out.extend_from_slice(&ip.octets()),
            RData::Aaaa(ip) => self.out.extend_from_slice(&ip.octets()),
            RData::Cname(name) | RData::Ns(name) | RData::Ptr(name) => self.name(name)?,
            RData::Mx {
                preference,
                exchange,
            } => {
                self.u16(*preference);
                self.name(exchange)?;
            }
            RData::Txt(parts) => {
                for part in parts {
                    let len = u8::try_from(part.len()).map_err(|_| DnsErrorKind::BadRdata)?;
                    self.out.push(len);
                    self.out.extend_from_slice(part);
                }
            }
            RData::Soa(soa) => {
                self.name(&soa.mname)?;
                self.name(&soa.rname)?;
                for field in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] {
                    self.u32(field);
                }
            }
            RData::Other(raw) => self.out.extend_from_slice(raw),
        }
        let length = self.out.len() - length_at - 2;
        let length = u16::try_from(length).map_err(|_| DnsErrorKind::MessageTooLong)?;
        self.out[length_at..length_at + 2].copy_from_slice(&length.to_be_bytes());
        Ok(())
    }

    /// Writes `name`, ending in a pointer to the longest suffix written before.
    fn name(&mut self, name: &str) -> Result<(), DnsError> {
        let labels = labels(name)?;
        for i in 0..labels.len() {
            let suffix: Vec<u8> = labels[i..].concat();
            if let Some(&(_, at)) = self.names.iter().find(|(s, _)| *s == suffix) {
                for label in &labels[..i] {
                    self.out.extend_from_slice(label);
                }
                self.u16(0xC000 | at);
                return Ok(());
            }
        }
        for (i, label) in labels.iter().enumerate() {
            if let Ok(at) = u16::try_from(self.out.len())
                && usize::from(at) <= MAX_POINTER_TARGET
            {
                self.names.push((labels[i..].concat(), at));
            }
            self.out.extend_from_slice(label);
        }
        self.out.push(0);
        Ok(())
    }
}

/// The labels of a name in presentation form, each with its length octet (RFC 1035 §3.1). The
/// root (`""` or `"."`) has none.
fn labels(name: &str) -> Result<Vec<Vec<u8>>, DnsError> {
    let mut labels = Vec::new();
    if name == "." {
        return Ok(labels);
    }
    let mut label = vec![0];
    let mut wire_len = 1;
    let mut finish = |label: &mut Vec<u8>, labels: &mut Vec<Vec<u8>>| {
        let len = label.len() - 1;
        let octet = u8::try_from(len)
            .ok()
            .filter(|&l| l != 0 && usize::from(l) <= MAX_LABEL);
        let Some(octet) = octet else {
            let kind = if len == 0 {
                DnsErrorKind::EmptyLabel
            } else {
                DnsErrorKind::LabelTooLong
            };
            return Err(DnsError::from(kind));
        };
        wire_len += 1 + len;
        if wire_len > MAX_NAME {
            return Err(DnsErrorKind::NameTooLong.into());
        }
        label[0] = octet;
        labels.push(core::mem::replace(label, vec![0]));
        Ok(())
    };
    let mut chars = name.bytes();
    while let Some(b) = chars.next() {
        match b {
            b'.' => finish(&mut label, &mut labels)?,
            b'\\' => {
                let first = chars.next().ok_or(DnsErrorKind::InvalidCharacter)?;
                let octet = if first.is_ascii_digit() {
                    let digits = [first, next_digit(&mut chars)?, next_digit(&mut chars)?];
                    let value = digits
                        .iter()
                        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
                    u8::try_from(value).map_err(|_| DnsErrorKind::InvalidCharacter)?
                } else {
                    first
                };
                label.push(octet);
            }
            b if b.is_ascii_graphic() => label.push(b),
            _ => return Err(DnsErrorKind::InvalidCharacter.into()),
        }
    }
    // A name without its final dot ends in a label still open.
    if label.len() > 1 {
        finish(&mut label, &mut labels)?;
    }
    Ok(labels)
}

fn next_digit(chars: &mut impl Iterator<Item = u8>) -> Result<u8, DnsError> {
    chars
        .next()
        .filter(u8::is_ascii_digit)
        .ok_or_else(|| DnsErrorKind::InvalidCharacter.into())
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::dns::message::Soa;
    use crate::dns::parse_response;

    fn record(name: &str, rtype: RecordType, ttl: u32, data: RData) -> Record {
        Record {
            name: name.into(),
            rtype,
            ttl,
            data,
        }
    }

    fn every_kind_of_record() -> Message {
        let mut m = Message::response_to(0xBEEF, "example.com", RecordType::Mx);
        m.authoritative = true;
        m.answers = vec![
            record(
                "example.com",
                RecordType::Cname,
                60,
                RData::Cname("mail.provider.example".into()),
            ),
            record(
                "mail.provider.example",
                RecordType::Mx,
                300,
                RData::Mx {
                    preference: 10,
                    exchange: "mx1.provider.example".into(),
                },
            ),
            record(
                "mail.provider.example",
                RecordType::Mx,
                300,
                RData::Mx {
                    preference: 0,
                    exchange: String::new(),
                },
            ),
            record(
                "example.com",
                RecordType::Txt,
                5,
                RData::Txt(vec![b"v=spf1 ".to_vec(), b"-all".to_vec(), Vec::new()]),
            ),
            record(
                "2.0.0.192.in-addr.arpa",
                RecordType::Ptr,
                300,
                RData::Ptr("mail.example.com".into()),
            ),
            record(
                "odd\\046label\\000.example",
                RecordType::Other(99),
                5,
                RData::Other(b"xyz".to_vec()),
            ),
        ];
        m.authorities = vec![
            record(
                "example.com",
                RecordType::Ns,
                3600,
                RData::Ns("ns1.example.com".into()),
            ),
            record(
                "example.com",
                RecordType::Soa,
                900,
                RData::Soa(Soa {
                    mname: "ns1.example.com".into(),
                    rname: "hostmaster.example.com".into(),
                    serial: 2024010101,
                    refresh: 7200,
                    retry: 3600,
                    expire: 1209600,
                    minimum: 300,
                }),
            ),
        ];
        m.additionals = vec![
            record(
                "mx1.provider.example",
                RecordType::A,
                60,
                RData::A(Ipv4Addr::new(192, 0, 2, 25)),
            ),
            record(
                "mx1.provider.example",
                RecordType::Aaaa,
                60,
                RData::Aaaa(Ipv6Addr::LOCALHOST),
            ),
        ];
        m
    }

    #[test]
    fn every_record_kind_round_trips() {
        let m = every_kind_of_record();
        let wire = m.encode().unwrap();
        assert_eq!(parse_response(&wire), Ok(m));
    }

    #[test]
    fn flags_and_rcodes_round_trip() {
        for rcode in [
            Rcode::NoError,
            Rcode::ServFail,
            Rcode::NxDomain,
            Rcode::Refused,
            Rcode::Other(16),
            Rcode::Other(255),
        ] {
            for (truncated, authoritative, recursion_available) in [
                (false, false, false),
                (true, true, true),
                (true, false, true),
            ] {
                let mut m = Message::response_to(7, "example.com", RecordType::A);
                m.rcode = rcode;
                m.truncated = truncated;
                m.authoritative = authoritative;
                m.recursion_available = recursion_available;
                assert_eq!(parse_response(&m.encode().unwrap()), Ok(m));
            }
        }
        let mut empty = Message::response_to(0, ".", RecordType::Ns);
        empty.questions.clear();
        assert_eq!(parse_response(&empty.encode().unwrap()), Ok(empty));
    }

    #[test]
    fn matches_a_response_written_by_hand() {
        let mut m = Message::response_to(0, "example.com", RecordType::Mx);
        m.answers.push(record(
            "example.com",
            RecordType::Mx,
            3600,
            RData::Mx {
                preference: 10,
                exchange: "mx.example.com".into(),
            },
        ));
        let mut expected = vec![0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 1];
        expected.extend_from_slice(b"\x07example\x03com\x00\x00\x0F\x00\x01");
        // The owner and the exchange's suffix point back at the question's name (offset 12).
        expected.extend_from_slice(b"\xC0\x0C\x00\x0F\x00\x01\x00\x00\x0E\x10\x00\x07");
        expected.extend_from_slice(b"\x00\x0A\x02mx\xC0\x0C");
        expected.extend_from_slice(&[0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(m.encode().unwrap(), expected);
    }

    #[test]
    fn names_in_presentation_form() {
        let wire = |name: &str| {
            let mut w = Writer {
                out: Vec::new(),
                names: Vec::new(),
            };
            w.name(name).map(|()| w.out).map_err(|e| e.code())
        };
        assert_eq!(wire(""), Ok(vec![0]));
        assert_eq!(wire("."), Ok(vec![0]));
        assert_eq!(wire("a.b."), Ok(b"\x01a\x01b\x00".to_vec()));
        assert_eq!(wire("a\\.b\\092"), Ok(b"\x04a.b\\\x00".to_vec()));
        assert_eq!(wire("\\255\\000"), Ok(b"\x02\xFF\x00\x00".to_vec()));
        assert_eq!(wire("a..b"), Err("empty_label"));
        assert_eq!(wire(".a"), Err("empty_label"));
        assert_eq!(wire("\\256"), Err("invalid_character"));
        assert_eq!(wire("a\\1"), Err("invalid_character"));
        assert_eq!(wire("a b"), Err("invalid_character"));
        assert_eq!(wire("bücher"), Err("invalid_character"));
        assert_eq!(wire(&"a".repeat(64)), Err("label_too_long"));
        let l61 = "b".repeat(61);
        assert_eq!(
            wire(&format!("{l61}.{l61}.{l61}.{l61}.cccccc")),
            Err("name_too_long")
        );
    }

    #[test]
    fn what_does_not_fit_is_an_error() {
        let mut m = Message::response_to(0, "example.com", RecordType::Txt);
        m.answers.push(record(
            "example.com",
            RecordType::Txt,
            5,
            RData::Txt(vec![vec![b'x'; 256]]),
        ));
        assert_eq!(m.encode().map_err(|e| e.code()), Err("bad_rdata"));
        m.answers[0].data = RData::Other(vec![0; 65_536]);
        assert_eq!(m.encode().map_err(|e| e.code()), Err("message_too_long"));
        m.answers[0].data = RData::Txt(vec![vec![b'x'; 255]; 255]);
        m.answers = vec![m.answers[0].clone(); 2];
        assert_eq!(m.encode().map_err(|e| e.code()), Err("message_too_long"));
    }
}
